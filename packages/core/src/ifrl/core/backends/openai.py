"""``OpenAIGenerator``: completions from any OpenAI-compatible HTTP server (vLLM, SGLang, OpenAI).

Only the standard library is used (``urllib.request`` and a thread pool), so this backend adds no
dependency to ifrl-core. One HTTP request is made per prompt (``n`` samples in it); at most
``concurrency`` requests are in flight at once.

- A :class:`~ifrl.core.records.Conversation` is sent to ``/chat/completions`` as chat messages,
  with its tools as OpenAI ``tools``; the server applies the model's chat template. When it ends
  with an assistant message, that message is continued: the request carries vLLM's
  ``continue_final_message: true`` and ``add_generation_prompt: false``.
  A :class:`~ifrl.core.records.RawText` goes to ``/completions`` as the raw prompt, in either
  mode. A plain string (deprecated) goes to ``/completions`` in ``mode="completions"`` (the
  class default) or as one user message in ``mode="chat"``.
- With ``params.logprobs`` the log-probabilities of the sampled tokens are requested and returned;
  with ``top_logprobs=k`` (and ``vocab_size``) the top-``k`` alternatives at each position are
  requested too and turned into an entropy estimate with
  :func:`ifrl.core.backends.vllm.topk_entropy` (see there for the approximation and its bounds).
- Token ids are filled only when the server reports tokens as ``token_id:N`` (vLLM does with
  ``extra_body={"return_tokens_as_token_ids": True}``); otherwise ``token_ids`` stays empty.
- Connection errors (refused, reset, truncated answers), timeouts, HTTP 429 and 5xx are retried
  up to ``max_retries`` times with exponential backoff (``backoff * 2**attempt`` seconds, capped by
  ``max_backoff``; a ``Retry-After`` header in seconds is honoured within that cap). Other 4xx
  and redirects fail at once: a redirect is never followed, so the API key never reaches another
  origin. Each attempt has one deadline (``timeout``) from connecting to the last byte, however
  slowly a server answers, and answers are capped at ``max_response_bytes``. Every failure
  raises a subclass of :class:`OpenAIBackendError` carrying the status and the server's message.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from ifrl.core.backends.vllm import topk_entropy
from ifrl.core.chat import continues, portable_ids, warn_str_prompt
from ifrl.core.config import check_choice
from ifrl.core.errors import IfrlError
from ifrl.core.generation import Prompt, register_backend
from ifrl.core.records import (
    Completion,
    Conversation,
    RawText,
    SamplingParams,
    openai_reply_text,
)

Mode = Literal["chat", "completions"]


class OpenAIBackendError(IfrlError):
    """A request to an OpenAI-compatible server failed; ``url`` is the endpoint."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(f"{url}: {message}")


class ServerError(OpenAIBackendError):
    """The server answered with an HTTP error: ``status`` and the server's ``message``."""

    def __init__(self, url: str, status: int, message: str, attempts: int) -> None:
        self.status = status
        self.message = message
        self.attempts = attempts
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        super().__init__(url, f"HTTP {status}: {message}{tries}")


class ConnectionFailed(OpenAIBackendError):
    """The server could not be reached (refused, reset, DNS) within the allowed attempts."""

    def __init__(self, url: str, reason: str, attempts: int) -> None:
        self.reason = reason
        self.attempts = attempts
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        super().__init__(url, f"connection failed: {reason}{tries}")


class RequestTimeout(ConnectionFailed):
    """No answer within ``timeout`` seconds, on every allowed attempt."""


class _DeadlineExceeded(Exception):
    """An attempt ran past the client's ``timeout`` (internal: becomes :class:`RequestTimeout`)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


def _recorded(conn: Any, sockets: list[socket.socket]) -> Any:
    """``conn`` with its socket recorded in ``sockets`` once connected (urllib lets go of the
    connection object once the answer's headers are in; the socket lives on in the answer)."""
    connect = conn.connect

    def connect_and_record() -> None:
        connect()
        sockets.append(conn.sock)

    conn.connect = connect_and_record
    return conn


def _opener(sockets: list[socket.socket]) -> urllib.request.OpenerDirector:
    """A urllib opener (proxies from the environment, TLS) that follows no redirects and records
    the sockets it opens, so a watchdog can shut them down at the deadline."""

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> Any:
            def make(*args: Any, **kwargs: Any) -> Any:
                return _recorded(http.client.HTTPConnection(*args, **kwargs), sockets)

            return self.do_open(make, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> Any:
            def make(*args: Any, **kwargs: Any) -> Any:
                return _recorded(http.client.HTTPSConnection(*args, **kwargs), sockets)

            return self.do_open(make, req, context=self._context)  # type: ignore[attr-defined]

    return urllib.request.build_opener(_NoRedirect, Http, Https)


class BadResponse(OpenAIBackendError):
    """The server answered 2xx with a body that is not the expected JSON; ``field`` says where."""

    def __init__(self, url: str, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(url, f"bad response: {field or '<body>'}: {problem}")


@register_backend("openai")
class OpenAIGenerator:
    """Sample completions from an OpenAI-compatible server at ``base_url`` (``.../v1``).

    ``api_key`` is sent as a bearer token, to ``base_url`` only: redirects are never followed.
    ``timeout`` (seconds) bounds one whole attempt, connecting to the last byte of the answer;
    an answer longer than ``max_response_bytes`` is refused. ``extra_body`` is merged into every
    request body (server-specific options).
    ``top_logprobs`` > 0 requests that many alternatives per position and fills
    ``Completion.entropies`` with the top-k estimate, which needs the model's ``vocab_size``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        mode: Mode = "completions",
        *,
        timeout: float = 60.0,
        max_response_bytes: int = 64 * 1024 * 1024,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        concurrency: int = 8,
        top_logprobs: int = 0,
        vocab_size: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        check_choice("mode", mode, ("chat", "completions"))
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        if max_response_bytes < 1:
            raise ValueError(f"max_response_bytes must be >= 1, got {max_response_bytes}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if top_logprobs < 0:
            raise ValueError(f"top_logprobs must be >= 0, got {top_logprobs}")
        if top_logprobs and vocab_size is None:
            raise ValueError("top_logprobs > 0 needs vocab_size to estimate entropies")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.mode: Mode = mode
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.concurrency = concurrency
        self.top_logprobs = top_logprobs
        self.vocab_size = vocab_size
        self.extra_body = dict(extra_body or {})
        self._sleep = sleep

    # ----------------------------------------------------------------------------------------
    # Public API

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        """Return ``params.n`` completions per prompt, in prompt order (one request per prompt)."""
        if not prompts:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
            return list(pool.map(lambda p: self._generate_one(p, params), prompts))

    # ----------------------------------------------------------------------------------------
    # Requests

    def _generate_one(self, prompt: Prompt, params: SamplingParams) -> list[Completion]:
        raw = prompt.text if isinstance(prompt, RawText) else None
        if isinstance(prompt, str):
            warn_str_prompt()
        if isinstance(prompt, str) and self.mode == "completions":
            raw = prompt
        if raw is not None:
            url = f"{self.base_url}/completions"
            body = self._body(params, chat=False)
            body["prompt"] = raw
            data = self._post(url, body)
            return self._parse(url, data, params, chat=False)
        url = f"{self.base_url}/chat/completions"
        body = self._body(params, chat=True)
        if isinstance(prompt, str):
            body["messages"] = [{"role": "user", "content": prompt}]
        elif isinstance(prompt, Conversation):
            row = portable_ids(prompt).to_openai()
            body["messages"] = row["messages"]
            if row["tools"]:
                body["tools"] = row["tools"]
            if continues(prompt):
                if prompt.messages[-1].tool_calls:
                    raise ValueError(
                        "the last message is an assistant turn with tool calls: there is "
                        "nothing to continue"
                    )
                body["continue_final_message"] = True
                body["add_generation_prompt"] = False
        else:
            raise TypeError(
                f"a prompt must be a Conversation, RawText or str, got {type(prompt).__name__}"
            )
        data = self._post(url, body)
        return self._parse(url, data, params, chat=True)

    def _body(self, params: SamplingParams, *, chat: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "n": _request_n(params),
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
        }
        if params.top_k:
            body["top_k"] = params.top_k  # not in OpenAI's API; vLLM and SGLang accept it
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if params.logprobs:
            if chat:
                body["logprobs"] = True
                if self.top_logprobs:
                    body["top_logprobs"] = self.top_logprobs
            else:
                body["logprobs"] = self.top_logprobs
        body.update(self.extra_body)
        return body

    def _post(self, url: str, body: Mapping[str, Any]) -> Any:
        """POST JSON with retries; return the decoded JSON answer."""
        payload = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        attempts = 0
        while True:
            attempts += 1
            retry_after: float | None = None
            try:
                raw = self._send(url, payload, headers)
            except urllib.error.HTTPError as err:
                status = err.code
                if 300 <= status < 400:
                    # Never follow: a redirect would carry the request (and its key) elsewhere.
                    where = err.headers.get("Location", "?") if err.headers else "?"
                    raise ServerError(
                        url,
                        status,
                        f"redirect to {where} not followed (give the final URL as the base URL)",
                        attempts,
                    ) from None
                message = _error_message(err)
                retryable = status == 429 or status >= 500
                if not retryable or attempts > self.max_retries:
                    raise ServerError(url, status, message, attempts) from None
                retry_after = _retry_after(err.headers.get("Retry-After") if err.headers else None)
            except (_DeadlineExceeded, TimeoutError):
                if attempts > self.max_retries:
                    raise RequestTimeout(
                        url, f"no complete answer within {self.timeout} s", attempts
                    ) from None
            except urllib.error.URLError as err:
                if attempts > self.max_retries:
                    if isinstance(err.reason, TimeoutError):
                        raise RequestTimeout(
                            url, f"no complete answer within {self.timeout} s", attempts
                        ) from None
                    raise ConnectionFailed(url, str(err.reason), attempts) from None
            except (OSError, http.client.HTTPException) as err:  # reset, truncated, garbled
                if attempts > self.max_retries:
                    reason = str(err) or type(err).__name__
                    raise ConnectionFailed(url, reason, attempts) from None
            else:
                try:
                    return json.loads(raw)
                except (ValueError, RecursionError) as err:
                    raise BadResponse(url, "", f"not JSON ({type(err).__name__}: {err})") from None
            delay = min(self.max_backoff, self.backoff * 2 ** (attempts - 1))
            if retry_after is not None:
                delay = min(self.max_backoff, max(delay, retry_after))
            self._sleep(delay)

    def _send(self, url: str, payload: bytes, headers: Mapping[str, str]) -> bytes:
        """One attempt: the answer's body, read within ``timeout`` seconds in all (a watchdog
        closes the connection at the deadline, however slowly the server trickles) and at most
        ``max_response_bytes`` long. Raises ``_DeadlineExceeded``, ``HTTPError`` (also for
        redirects, which are never followed), ``URLError`` or ``OSError``."""
        sockets: list[socket.socket] = []
        deadline = time.monotonic() + self.timeout
        expired = threading.Event()

        def abort() -> None:
            expired.set()
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        opener = _opener(sockets)
        request = urllib.request.Request(url, data=payload, headers=dict(headers), method="POST")
        watchdog = threading.Timer(self.timeout, abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            with opener.open(request, timeout=self.timeout) as response:
                header = response.headers.get("Content-Length") or ""
                declared = int(header) if header.isdigit() else None
                if declared is not None and declared > self.max_response_bytes:
                    raise BadResponse(url, "", self._too_large(declared))
                chunks: list[bytes] = []
                size = 0
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise BadResponse(url, "", self._too_large(size))
                    chunks.append(chunk)
                if expired.is_set() or time.monotonic() > deadline:
                    raise _DeadlineExceeded
                body = b"".join(chunks)
                if declared is not None and size < declared:
                    raise http.client.IncompleteRead(body, declared - size)
                return body
        except (OSError, http.client.HTTPException) as err:
            if expired.is_set() and not isinstance(err, urllib.error.HTTPError):
                raise _DeadlineExceeded from None
            raise
        finally:
            watchdog.cancel()
            for sock in sockets:
                sock.close()

    def _too_large(self, size: int) -> str:
        return (
            f"the answer has {size} bytes, more than max_response_bytes={self.max_response_bytes}"
        )

    # ----------------------------------------------------------------------------------------
    # Responses

    def _parse(
        self, url: str, data: Any, params: SamplingParams, *, chat: bool
    ) -> list[Completion]:
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise BadResponse(url, "choices", "missing or not a list")
        choices: list[Any] = data["choices"]
        n = _request_n(params)
        if len(choices) != n:
            raise BadResponse(url, "choices", f"expected {n} choices, got {len(choices)}")
        ordered: list[Completion | None] = [None] * n
        for pos, choice in enumerate(choices):
            where = f"choices[{pos}]"
            if not isinstance(choice, dict):
                raise BadResponse(url, where, "not an object")
            index = choice.get("index", pos)
            if not isinstance(index, int) or not (0 <= index < n) or ordered[index]:
                raise BadResponse(url, f"{where}.index", f"invalid or repeated index {index!r}")
            parse = self._parse_chat_choice if chat else self._parse_text_choice
            ordered[index] = parse(url, where, choice, params)
        # Greedy decoding asks for one choice (vLLM rejects n > 1 there) and copies it n times.
        return [c for c in ordered if c is not None] * (params.n // n)

    def _parse_text_choice(
        self, url: str, where: str, choice: dict[str, Any], params: SamplingParams
    ) -> Completion:
        text = choice.get("text")
        if not isinstance(text, str):
            raise BadResponse(url, f"{where}.text", "missing or not a string")
        tokens: list[str] = []
        logprobs: list[float] = []
        tops: list[list[float]] = []
        lp = choice.get("logprobs")
        if params.logprobs and lp is not None:
            if not isinstance(lp, dict):
                raise BadResponse(url, f"{where}.logprobs", "not an object")
            tokens = _str_list(url, f"{where}.logprobs.tokens", lp.get("tokens"))
            logprobs = _float_list(
                url, f"{where}.logprobs.token_logprobs", lp.get("token_logprobs")
            )
            raw_tops = lp.get("top_logprobs") or []
            if self.top_logprobs:
                if not isinstance(raw_tops, list):
                    raise BadResponse(url, f"{where}.logprobs.top_logprobs", "not a list")
                for i, top in enumerate(raw_tops):
                    field = f"{where}.logprobs.top_logprobs[{i}]"
                    if not isinstance(top, dict):
                        raise BadResponse(url, field, "not an object")
                    tops.append(_float_list(url, field, list(top.values())))
        return self._completion(url, where, text, tokens, logprobs, tops, choice)

    def _parse_chat_choice(
        self, url: str, where: str, choice: dict[str, Any], params: SamplingParams
    ) -> Completion:
        message = choice.get("message")
        if not isinstance(message, dict):
            raise BadResponse(url, f"{where}.message", "missing or not an object")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise BadResponse(url, f"{where}.message.content", "not a string")
        text = openai_reply_text(message)
        tokens: list[str] = []
        logprobs: list[float] = []
        tops: list[list[float]] = []
        lp = choice.get("logprobs")
        if params.logprobs and lp is not None:
            field = f"{where}.logprobs.content"
            content_lp = lp.get("content") if isinstance(lp, dict) else None
            if not isinstance(content_lp, list):
                raise BadResponse(url, field, "missing or not a list")
            for i, entry in enumerate(content_lp):
                at = f"{field}[{i}]"
                if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
                    raise BadResponse(url, f"{at}.token", "missing or not a string")
                tokens.append(entry["token"])
                logprobs.append(_float(url, f"{at}.logprob", entry.get("logprob")))
                if self.top_logprobs:
                    alts = entry.get("top_logprobs")
                    if not isinstance(alts, list):
                        raise BadResponse(url, f"{at}.top_logprobs", "missing or not a list")
                    tops.append(
                        [
                            _float(url, f"{at}.top_logprobs[{j}].logprob", (a or {}).get("logprob"))
                            for j, a in enumerate(alts)
                        ]
                    )
        return self._completion(url, where, text, tokens, logprobs, tops, choice)

    def _completion(
        self,
        url: str,
        where: str,
        text: str,
        tokens: list[str],
        logprobs: list[float],
        tops: list[list[float]],
        choice: dict[str, Any],
    ) -> Completion:
        if len(logprobs) != len(tokens):
            raise BadResponse(
                url, f"{where}.logprobs", f"{len(logprobs)} logprobs for {len(tokens)} tokens"
            )
        entropies: tuple[float, ...] = ()
        if self.top_logprobs and tops:
            if len(tops) != len(tokens):
                raise BadResponse(
                    url, f"{where}.logprobs", f"{len(tops)} top_logprobs for {len(tokens)} tokens"
                )
            assert self.vocab_size is not None
            entropies = tuple(topk_entropy(t[: self.top_logprobs], self.vocab_size) for t in tops)
        token_ids = _token_ids(tokens)
        finish = choice.get("finish_reason")
        return Completion(
            text=text,
            token_ids=token_ids,
            logprobs=tuple(logprobs),
            entropies=entropies,
            finish_reason=finish if isinstance(finish, str) else None,
        )


# --------------------------------------------------------------------------------------------
# Helpers


def _request_n(params: SamplingParams) -> int:
    return 1 if params.greedy else params.n


def _token_ids(tokens: list[str]) -> tuple[int, ...]:
    """Ids from vLLM's ``token_id:N`` token strings; empty unless every token has that form."""
    ids: list[int] = []
    for token in tokens:
        head, sep, tail = token.partition("token_id:")
        if head or not sep or not tail.isdigit():
            return ()
        ids.append(int(tail))
    return tuple(ids)


def _float(url: str, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadResponse(url, where, f"expected a number, got {value!r}")
    out = float(value)
    if math.isnan(out):
        raise BadResponse(url, where, "is NaN")
    return out


def _float_list(url: str, where: str, value: Any) -> list[float]:
    if not isinstance(value, list):
        raise BadResponse(url, where, "missing or not a list")
    out: list[float] = []
    for i, v in enumerate(value):
        # OpenAI-style servers put null at position 0 when the prompt is echoed; we never echo.
        out.append(_float(url, f"{where}[{i}]", v))
    return out


def _str_list(url: str, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadResponse(url, where, "missing or not a list of strings")
    return list(value)


def _error_message(err: urllib.error.HTTPError) -> str:
    """The server's own error message (OpenAI's ``{"error": {"message": ...}}`` or raw text)."""
    try:
        raw = err.read().decode("utf-8", "replace")
    except OSError:
        return err.reason if isinstance(err.reason, str) else str(err)
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.strip()[:500] or str(err.reason)
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(data.get("message"), str):
            return str(data["message"])
    return raw.strip()[:500]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
    return seconds if seconds >= 0 else None


__all__ = [
    "BadResponse",
    "ConnectionFailed",
    "OpenAIBackendError",
    "OpenAIGenerator",
    "RequestTimeout",
    "ServerError",
]

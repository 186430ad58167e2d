"""OpenAIGenerator against a real HTTP server on 127.0.0.1 that plays back scripted answers."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ifrl.core.backends.openai import (
    BadResponse,
    ConnectionFailed,
    OpenAIGenerator,
    RequestTimeout,
    ServerError,
)
from ifrl.core.backends.vllm import topk_entropy
from ifrl.core.errors import IfrlError
from ifrl.core.generation import Generator, make_generator
from ifrl.core.records import Conversation, Message, SamplingParams, ToolCall, ToolSpec


@dataclass
class Reply:
    """One scripted answer: HTTP status, JSON body (or raw bytes), headers, a delay, or a drop."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering
    trickle: float = 0.0  # seconds between the body's bytes (a slow server)
    declared_length: int | None = None  # a Content-Length other than the body's (truncation)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class ScriptedServer:
    """A threaded HTTP server answering POSTs from a script (a list, or a function of the body)."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                finished = False

                def done() -> None:
                    nonlocal finished
                    with server._lock:
                        if not finished:
                            server.in_flight -= 1
                            finished = True

                with server._lock:
                    server.seen.append(Seen(self.path, dict(self.headers), body))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    reply = server.script.pop(0) if server.script else None
                try:
                    if reply is None:
                        assert server.responder is not None, "the script ran out"
                        reply = server.responder(body)
                    time.sleep(reply.delay)
                    if reply.drop:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    raw = (
                        reply.body
                        if isinstance(reply.body, bytes)
                        else json.dumps(reply.body).encode()
                    )
                    length = reply.declared_length if reply.declared_length else len(raw)
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(length))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    # No longer in flight once the answer leaves: the client may send its next
                    # request as soon as it has read this one.
                    done()
                    self.end_headers()
                    if reply.trickle:
                        for byte in raw:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(reply.trickle)
                    else:
                        self.wfile.write(raw)
                    if reply.declared_length:
                        self.close_connection = True
                except OSError:
                    pass  # the client gave up (timeout tests)
                finally:
                    done()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


def text_choice(text: str, index: int = 0, **extra: Any) -> dict[str, Any]:
    return {"index": index, "text": text, "finish_reason": "stop", **extra}


def completions(*choices: dict[str, Any]) -> dict[str, Any]:
    return {"id": "cmpl-1", "object": "text_completion", "choices": list(choices)}


def chat(*choices: dict[str, Any]) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "choices": list(choices)}


def chat_choice(content: str | None, index: int = 0, **extra: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": content}
    message.update(extra.pop("message", {}))
    return {"index": index, "message": message, "finish_reason": "stop", **extra}


def make(server: ScriptedServer, **kwargs: Any) -> tuple[OpenAIGenerator, list[float]]:
    """A generator on ``server`` whose backoff sleeps are recorded, not slept."""
    sleeps: list[float] = []
    kwargs.setdefault("timeout", 5.0)
    gen = OpenAIGenerator(server.base_url, "tiny", sleep=sleeps.append, **kwargs)
    return gen, sleeps


GREEDY = SamplingParams(temperature=0.0, max_new_tokens=8, logprobs=False)


# ---------------------------------------------------------------------------------- requests


def test_registered_and_satisfies_the_protocol(server: ScriptedServer) -> None:
    gen = make_generator("openai", base_url=server.base_url, model="tiny")
    assert isinstance(gen, OpenAIGenerator)
    assert isinstance(gen, Generator)


def test_completions_request_carries_the_sampling_params(server: ScriptedServer) -> None:
    server.script = [Reply(body=completions(text_choice(" a", 0), text_choice(" b", 1)))]
    gen, _ = make(server, api_key="sk-test", extra_body={"return_tokens_as_token_ids": True})
    params = SamplingParams(
        n=2, temperature=0.7, top_p=0.9, top_k=5, max_new_tokens=12, stop=("\n",), seed=3,
        logprobs=False,
    )  # fmt: skip
    [out] = gen.generate(["Once upon"], params)
    assert [c.text for c in out] == [" a", " b"]
    [seen] = server.seen
    assert seen.path == "/v1/completions"
    assert seen.headers["Authorization"] == "Bearer sk-test"
    assert seen.body == {
        "model": "tiny",
        "prompt": "Once upon",
        "n": 2,
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 5,
        "max_tokens": 12,
        "stop": ["\n"],
        "seed": 3,
        "return_tokens_as_token_ids": True,
    }


def test_conversation_goes_to_chat_with_tools_and_json_arguments(server: ScriptedServer) -> None:
    server.script = [Reply(body=chat(chat_choice("It is sunny.")))]
    gen, _ = make(server)  # completions mode: conversations still go to the chat endpoint
    weather = ToolSpec(
        "get_weather", "Weather for a city", {"type": "object", "properties": {"city": {}}}
    )
    conv = Conversation(
        (
            Message("user", "Weather in Paris?"),
            Message("assistant", "", (ToolCall("get_weather", {"city": "Paris"}),)),
            Message("tool", '{"sky": "clear"}', tool_call_id="call_1_0"),
        ),
        (weather,),
    )
    [[c]] = gen.generate([conv], GREEDY)
    assert c.text == "It is sunny."
    body = server.seen[0].body
    assert server.seen[0].path == "/v1/chat/completions"
    assert body["tools"] == [weather.to_openai()]
    call = body["messages"][1]["tool_calls"][0]
    # Ids are nine letters and digits (Mistral's template refuses others); a tool result that
    # names an id-less call as call_<message>_<index> follows it.
    assert call == {
        "id": "call00000",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    assert body["messages"][2] == {
        "role": "tool",
        "content": '{"sky": "clear"}',
        "tool_call_id": "call00000",
    }
    assert "logprobs" not in body


def test_chat_mode_sends_strings_as_a_user_message(server: ScriptedServer) -> None:
    server.script = [Reply(body=chat(chat_choice("hi")))]
    gen, _ = make(server, mode="chat")
    assert gen.generate(["hello"], GREEDY)[0][0].text == "hi"
    assert server.seen[0].path == "/v1/chat/completions"
    assert server.seen[0].body["messages"] == [{"role": "user", "content": "hello"}]


def test_greedy_with_n_asks_once_and_copies(server: ScriptedServer) -> None:
    server.script = [Reply(body=completions(text_choice(" same")))]
    gen, _ = make(server)
    [out] = gen.generate(["p"], GREEDY.replace(n=3))
    assert [c.text for c in out] == [" same"] * 3
    assert server.seen[0].body["n"] == 1


def test_empty_prompt_list_makes_no_request(server: ScriptedServer) -> None:
    gen, _ = make(server)
    assert gen.generate([], GREEDY) == []
    assert server.seen == []


# ---------------------------------------------------------------------------------- parsing


def test_completions_logprobs_token_ids_and_entropies(server: ScriptedServer) -> None:
    tops = [
        {"token_id:5": -0.1, "token_id:6": -2.5, "token_id:7": -3.0},
        {"token_id:9": -0.7, "token_id:5": -0.9, "token_id:1": -4.0},
    ]
    lp = {
        "tokens": ["token_id:5", "token_id:9"],
        "token_logprobs": [-0.1, -0.7],
        "top_logprobs": tops,
        "text_offset": [0, 1],
    }
    server.script = [Reply(body=completions(text_choice("ab", logprobs=lp)))]
    gen, _ = make(server, top_logprobs=3, vocab_size=50)
    [[c]] = gen.generate(["x"], SamplingParams(temperature=1.0, max_new_tokens=2, seed=0))
    assert server.seen[0].body["logprobs"] == 3
    assert c.token_ids == (5, 9)
    assert c.logprobs == (-0.1, -0.7)
    assert c.entropies == pytest.approx(
        [topk_entropy(t.values(), 50) for t in tops], rel=0, abs=1e-12
    )
    assert c.finish_reason == "stop"


def test_plain_token_strings_leave_token_ids_empty(server: ScriptedServer) -> None:
    lp = {"tokens": [" a", "b"], "token_logprobs": [-1.0, -2.0], "top_logprobs": None}
    server.script = [Reply(body=completions(text_choice(" ab", logprobs=lp)))]
    gen, _ = make(server)
    [[c]] = gen.generate(["x"], SamplingParams(max_new_tokens=2))
    assert server.seen[0].body["logprobs"] == 0  # the sampled tokens' logprobs only
    assert c.token_ids == ()
    assert c.logprobs == (-1.0, -2.0)
    assert c.entropies == ()


def test_chat_logprobs_top_logprobs_and_tool_calls(server: ScriptedServer) -> None:
    content = [
        {
            "token": "Hi",
            "logprob": -0.2,
            "top_logprobs": [{"token": "Hi", "logprob": -0.2}, {"token": "Yo", "logprob": -1.8}],
        }
    ]
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]
    choice = chat_choice("Hi", message={"tool_calls": calls}, logprobs={"content": content})
    server.script = [Reply(body=chat(choice))]
    gen, _ = make(server, mode="chat", top_logprobs=2, vocab_size=10)
    [[c]] = gen.generate(["q"], SamplingParams(max_new_tokens=1))
    body = server.seen[0].body
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert c.text == 'Hi[{"name": "f", "arguments": {"a": 1}}]'
    assert c.logprobs == (-0.2,)
    assert c.entropies == (pytest.approx(topk_entropy([-0.2, -1.8], 10)),)


def test_choices_are_put_back_in_index_order(server: ScriptedServer) -> None:
    body = completions(text_choice("second", 1), text_choice("first", 0))
    server.script = [Reply(body=body)]
    gen, _ = make(server)
    [out] = gen.generate(["x"], SamplingParams(n=2, logprobs=False))
    assert [c.text for c in out] == ["first", "second"]


def test_results_follow_prompt_order(server: ScriptedServer) -> None:
    server.responder = lambda body: Reply(body=completions(text_choice(body["prompt"].upper())))
    gen, _ = make(server, concurrency=3)
    prompts = [f"p{i}" for i in range(7)]
    out = gen.generate(prompts, GREEDY)
    assert [row[0].text for row in out] == [p.upper() for p in prompts]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "<body>"),
        ({"object": "text_completion"}, "choices"),
        (completions(text_choice("a"), text_choice("b", 1)), "choices"),  # 2 choices for n=1
        (completions({"index": 0, "text": 3}), "choices[0].text"),
        (completions({"index": 4, "text": "a"}), "choices[0].index"),
        (
            completions(text_choice("a", logprobs={"tokens": ["a"], "token_logprobs": ["x"]})),
            "choices[0].logprobs.token_logprobs[0]",
        ),
    ],
)
def test_malformed_answers_raise_bad_response_naming_the_field(
    server: ScriptedServer, body: Any, field: str
) -> None:
    server.script = [Reply(body=body)]
    gen, sleeps = make(server)
    with pytest.raises(BadResponse) as info:
        gen.generate(["x"], SamplingParams(max_new_tokens=1))
    assert info.value.field == ("" if field == "<body>" else field)
    assert field in str(info.value) and server.base_url in str(info.value)
    assert sleeps == []  # a malformed 200 is not retried


# ---------------------------------------------------------------------------------- retries


def test_5xx_is_retried_with_exponential_backoff(server: ScriptedServer) -> None:
    server.script = [
        Reply(503, {"error": {"message": "overloaded"}}),
        Reply(502, b"bad gateway"),
        Reply(body=completions(text_choice("ok"))),
    ]
    gen, sleeps = make(server, max_retries=3, backoff=0.25)
    assert gen.generate(["x"], GREEDY)[0][0].text == "ok"
    assert len(server.seen) == 3
    assert sleeps == [0.25, 0.5]


def test_429_honours_retry_after_within_the_cap(server: ScriptedServer) -> None:
    server.script = [
        Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "3"}),
        Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "60"}),
        Reply(body=completions(text_choice("ok"))),
    ]
    gen, sleeps = make(server, max_retries=2, backoff=0.5, max_backoff=10.0)
    assert gen.generate(["x"], GREEDY)[0][0].text == "ok"
    assert sleeps == [3.0, 10.0]


def test_retries_are_bounded_and_the_error_keeps_status_and_message(
    server: ScriptedServer,
) -> None:
    server.script = [Reply(500, {"error": {"message": f"boom {i}"}}) for i in range(3)]
    gen, sleeps = make(server, max_retries=2, backoff=1.0)
    with pytest.raises(ServerError) as info:
        gen.generate(["x"], GREEDY)
    err = info.value
    assert (err.status, err.message, err.attempts) == (500, "boom 2", 3)
    assert isinstance(err, IfrlError)
    assert "HTTP 500: boom 2 (after 3 attempts)" in str(err)
    assert sleeps == [1.0, 2.0]
    assert len(server.seen) == 3


def test_4xx_fails_at_once_with_the_server_message(server: ScriptedServer) -> None:
    message = "This model's maximum context length is 512 tokens."
    server.script = [Reply(400, {"object": "error", "message": message, "code": 400})]
    gen, sleeps = make(server, max_retries=5)
    with pytest.raises(ServerError) as info:
        gen.generate(["x"], GREEDY)
    assert (info.value.status, info.value.message, info.value.attempts) == (400, message, 1)
    assert sleeps == [] and len(server.seen) == 1


def test_dropped_connections_are_retried(server: ScriptedServer) -> None:
    server.script = [Reply(drop=True), Reply(body=completions(text_choice("ok")))]
    gen, sleeps = make(server, max_retries=1, backoff=0.1)
    assert gen.generate(["x"], GREEDY)[0][0].text == "ok"
    assert sleeps == [0.1]


def test_refused_connection_raises_connection_failed_after_retries() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    gen = OpenAIGenerator(
        f"http://127.0.0.1:{port}/v1", "tiny", max_retries=2, backoff=0.5, sleep=sleeps.append
    )
    with pytest.raises(ConnectionFailed) as info:
        gen.generate(["x"], GREEDY)
    assert not isinstance(info.value, RequestTimeout)
    assert info.value.attempts == 3
    assert sleeps == [0.5, 1.0]


def test_timeout_raises_request_timeout(server: ScriptedServer) -> None:
    slow = completions(text_choice("late"))
    server.script = [Reply(body=slow, delay=1.0), Reply(body=slow, delay=1.0)]
    gen, sleeps = make(server, timeout=0.2, max_retries=1, backoff=0.0)
    start = time.monotonic()
    with pytest.raises(RequestTimeout) as info:
        gen.generate(["x"], GREEDY)
    assert info.value.attempts == 2
    assert len(server.seen) == 2
    assert sleeps == [0.0]
    assert time.monotonic() - start < 1.5  # it gave up at the timeout, not at the answer


# ---------------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("limit", [1, 3])
def test_concurrency_limit_bounds_requests_in_flight(server: ScriptedServer, limit: int) -> None:
    server.responder = lambda body: Reply(body=completions(text_choice("x")), delay=0.1)
    gen, _ = make(server, concurrency=limit)
    gen.generate([f"p{i}" for i in range(8)], GREEDY)
    assert len(server.seen) == 8
    assert server.max_in_flight == limit


# ---------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "stream"}, "mode"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"concurrency": 0}, "concurrency"),
        ({"top_logprobs": 5}, "vocab_size"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OpenAIGenerator("http://127.0.0.1:1/v1", "tiny", **kwargs)


def test_topk_entropy_is_exact_when_the_top_k_cover_everything() -> None:
    probs = [0.5, 0.3, 0.2]
    exact = -sum(p * math.log(p) for p in probs)
    assert topk_entropy([math.log(p) for p in probs], 3) == pytest.approx(exact, abs=1e-12)


# --------------------------------------------------------------------------------------------
# A server you would not trust: redirects, trickles, floods, nests and truncates.


def test_redirects_are_not_followed_and_the_key_stays_home(server: ScriptedServer) -> None:
    with ScriptedServer() as elsewhere:
        elsewhere.script = [Reply(body=completions(text_choice("stolen")))]
        server.script = [
            Reply(status=302, headers={"Location": elsewhere.base_url + "/completions"})
        ]
        gen = OpenAIGenerator(
            server.base_url, "m", api_key="sk-secret", max_retries=2, sleep=lambda s: None
        )
        with pytest.raises(ServerError, match=r"redirect to .* not followed") as info:
            gen.generate(["hi"], SamplingParams(logprobs=False))
        assert info.value.status == 302 and info.value.attempts == 1
        assert elsewhere.seen == []


def test_a_trickling_server_cannot_outlive_the_deadline(server: ScriptedServer) -> None:
    body = json.dumps(completions(text_choice("x" * 200))).encode()
    server.script = [Reply(body=body, trickle=0.05)]  # about 13 s for the whole answer
    gen = OpenAIGenerator(server.base_url, "m", timeout=1.0, max_retries=0)
    start = time.monotonic()
    with pytest.raises(RequestTimeout, match=r"within 1\.0 s"):
        gen.generate(["hi"], SamplingParams(logprobs=False))
    assert time.monotonic() - start < 3.0


def test_answers_larger_than_the_cap_are_refused(server: ScriptedServer) -> None:
    big = completions(text_choice("y" * 5000))
    server.script = [Reply(body=big)]
    gen = OpenAIGenerator(server.base_url, "m", max_response_bytes=1000, max_retries=0)
    with pytest.raises(BadResponse, match="more than max_response_bytes=1000"):
        gen.generate(["hi"], SamplingParams(logprobs=False))


def test_nested_and_truncated_answers_raise_the_clients_own_errors(
    server: ScriptedServer,
) -> None:
    server.script = [Reply(body=b"[" * 200_000)]
    gen = OpenAIGenerator(server.base_url, "m", max_retries=0)
    with pytest.raises(BadResponse, match="not JSON"):
        gen.generate(["hi"], SamplingParams(logprobs=False))
    raw = json.dumps(completions(text_choice("ok"))).encode()
    # A truncated answer is a connection failure: retried, and the retry succeeds.
    server.script = [Reply(body=raw[:10], declared_length=len(raw)), Reply(body=raw)]
    gen = OpenAIGenerator(server.base_url, "m", max_retries=1, sleep=lambda s: None)
    [[c]] = gen.generate(["hi"], SamplingParams(logprobs=False))
    assert c.text == "ok" and len(server.seen) == 3
    server.script = [Reply(body=raw[:10], declared_length=len(raw))]
    gen = OpenAIGenerator(server.base_url, "m", max_retries=0)
    with pytest.raises(ConnectionFailed):
        gen.generate(["hi"], SamplingParams(logprobs=False))


def test_raw_text_goes_to_completions_in_either_mode(server: ScriptedServer) -> None:
    from ifrl.core.records import RawText

    server.script = [Reply(body=completions(text_choice(" x")))]
    gen, _ = make(server, mode="chat")  # chat mode wraps strings, never RawText
    assert gen.generate([RawText("<|im_start|>user\nhi")], GREEDY)[0][0].text == " x"
    assert server.seen[0].path == "/v1/completions"
    assert server.seen[0].body["prompt"] == "<|im_start|>user\nhi"


def test_a_trailing_assistant_message_is_continued(server: ScriptedServer) -> None:
    server.script = [Reply(body=chat(chat_choice("Paris.")))]
    gen, _ = make(server)
    conv = Conversation((Message("user", "Capital of France?"), Message("assistant", "It is")))
    assert gen.generate([conv], GREEDY)[0][0].text == "Paris."
    body = server.seen[0].body
    assert server.seen[0].path == "/v1/chat/completions"
    assert body["messages"][-1] == {"role": "assistant", "content": "It is"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    # A conversation that asks for a new turn carries neither flag.
    server.script = [Reply(body=chat(chat_choice("ok")))]
    gen.generate([Conversation((Message("user", "hi"),))], GREEDY)
    assert "continue_final_message" not in server.seen[1].body
    # An assistant turn that made tool calls is finished: there is nothing to continue.
    done = Conversation((Message("user", "hi"), Message("assistant", "", (ToolCall("f", {}),))))
    with pytest.raises(ValueError, match="nothing to continue"):
        gen.generate([done], GREEDY)

"""A scripted teacher for end-to-end tests (issue 17): an OpenAI-compatible server on 127.0.0.1
that plays a competent model for each role prompt the project sends, and on request the
realistic failures of real models.

It reads each ``/v1/chat/completions`` request (messages, tools, the role instructions), works
out which role is asked for — API designer, domain-tree expander, the user, assistant and tool
agents, the verification judge, the ToolACE-DEV proposer and invoker, the constraints judge —
and answers as a careful model would: API definitions that validate, user requests that state
the values a call needs, calls built from those values (returned as OpenAI ``tool_calls``, as a
vLLM server with a tool parser does), results that fit the response schema, verdicts in the
requested grammar (the toolgen judge really checks that call values were stated).

``failure`` switches one realistic failure on, for every answer of the role it concerns:

* ``prose`` — the assistant wraps its call in prose, as text (``Sure! <tool_call>...``);
* ``wrong_types`` — the assistant writes every number as a string;
* ``hallucinated_function`` — the assistant calls a function that is not offered;
* ``truncated_json`` — JSON answers (calls, APIs, tool results, verdicts) are cut short;
* ``yes_judge`` — judges pass everything.

Used as a context manager (``with TeacherServer() as teacher: teacher.base_url``); it binds an
ephemeral port and stops its thread on exit.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAILURES = ("prose", "wrong_types", "hallucinated_function", "truncated_json", "yes_judge")
_VALUE_START = re.compile(r'(\w+) (?=["{\[\-\d]|true|false)')
_DECODER = json.JSONDecoder()


def _said_values(text: str) -> dict[str, Any]:
    """The ``name <JSON value>`` pairs of a user message (strings, numbers, booleans, objects
    and lists, as the scripted user writes them)."""
    said: dict[str, Any] = {}
    for match in _VALUE_START.finditer(text):
        try:
            value, _end = _DECODER.raw_decode(text, match.end())
        except ValueError:
            continue
        said[match.group(1)] = value
    return said


def _snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "do_it"


class TeacherServer:
    """See the module docstring."""

    def __init__(self, failure: str | None = None, seed: int = 0) -> None:
        if failure is not None and failure not in FAILURES:
            raise ValueError(f"unknown failure {failure!r}; choose from {FAILURES}")
        self.failure = failure
        self.rng = random.Random(seed)
        self.roles: Counter[str] = Counter()
        self._names: Counter[str] = Counter()
        self._lock = threading.Lock()
        teacher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                if self.path.endswith("/v1/completions"):
                    with teacher._lock:
                        out = teacher.complete(body)
                    data, status = json.dumps(out).encode(), 200
                elif self.path.endswith("/chat/completions"):
                    with teacher._lock:
                        choices = [teacher.answer(body) for _ in range(int(body.get("n", 1)))]
                    out = {
                        "id": "teacher",
                        "object": "chat.completion",
                        "choices": [
                            {"index": i, "message": m, "finish_reason": "stop"}
                            for i, m in enumerate(choices)
                        ],
                    }
                    data, status = json.dumps(out).encode(), 200
                else:
                    data = json.dumps({"error": {"message": f"no route {self.path}"}}).encode()
                    status = 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> TeacherServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------------ raw completions

    def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``/v1/completions``: continue a prompt rendered with a ChatML template (tools in
        ``<tools>``, the user's request, the assistant's generation prompt and the start of its
        answer) with the rest of the Hermes call a careful model would write. With a
        temperature above 0, about one sample in three gets one argument value wrong (as a
        sampled model does), so a search finds better and worse continuations."""
        self.roles["completion"] += 1
        prompt = str(body.get("prompt", ""))
        head, _, prefix = prompt.rpartition("<|im_start|>assistant\n")
        tools = [
            json.loads(line)
            for block in re.findall(r"<tools>\n(.*?)\n</tools>", head, re.S)
            for line in block.splitlines()
            if line.startswith("{")
        ]
        users = re.findall(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", head, re.S)
        messages = [{"role": "user", "content": u} for u in users]
        turn = self.assistant_turn(messages, tools) if tools and users else {"content": "OK."}
        self.roles["assistant"] -= 1  # counted as a completion
        calls = [
            (c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in turn.get("tool_calls") or []
        ]
        hot = float(body.get("temperature", 1.0)) > 0
        choices = []
        for i in range(int(body.get("n", 1))):
            wrong = hot and calls and self.rng.random() < 1 / 3
            shown = [(n, dict(a)) for n, a in calls]
            if wrong:
                args = shown[0][1]
                key = self.rng.choice(sorted(args)) if args else None
                if key is not None:
                    value = args[key]
                    args[key] = value + 1 if isinstance(value, int) else f"{value}x"
            text = (
                "\n".join(
                    "<tool_call>\n" + json.dumps({"name": n, "arguments": a}) + "\n</tool_call>"
                    for n, a in shown
                )
                if shown
                else str(turn.get("content") or "")
            )
            rest = text[len(prefix) :] if text.startswith(prefix) else text[:8]
            tokens = re.findall(r"\s+|[^\s\"]+|\"", rest) or [""]
            choices.append(
                {
                    "index": i,
                    "text": rest,
                    "finish_reason": "stop",
                    "logprobs": {
                        "tokens": tokens,
                        "token_logprobs": [-2.0 if wrong else -0.1 for _ in tokens],
                    },
                }
            )
        return {"id": "teacher", "object": "text_completion", "choices": choices}

    # ---------------------------------------------------------------------------------- roles

    def answer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The assistant message answering one chat request."""
        from ifrl.toolgen.apis import _API_SYSTEM
        from ifrl.toolgen.dialogs.model_agents import _TOOL_SYSTEM, _USER_SYSTEM
        from ifrl.toolgen.judges import SYSTEM as TOOL_JUDGE
        from ifrl.toolgen.selfevolve import QUERY_TOOLS_SYSTEM, TOOL_DOC_SYSTEM

        messages = list(body.get("messages", []))
        system = (
            messages[0].get("content", "") if messages and messages[0]["role"] == "system" else ""
        )
        user = next((m.get("content") or "" for m in reversed(messages) if m["role"] == "user"), "")
        if system == _API_SYSTEM:
            return self._text("api", self._json(self.api(user)))
        if user.startswith("List new subdomains"):
            return self._text("tree", self._json(self.subdomains(user)))
        if system == _USER_SYSTEM:
            return self._text("user", self.user_turn(user))
        if system == _TOOL_SYSTEM:
            return self._text("tool", self._json(self.tool_result(user)))
        if system == TOOL_JUDGE:
            return self._text("judge", self._json(self.tool_verdict(user)))
        if system == QUERY_TOOLS_SYSTEM:
            return self._text("proposal", self._json([self.proposed_tool(user)]))
        if system == TOOL_DOC_SYSTEM:
            return self._text("doc", self._json(self.proposed_tool(user)))
        if "constraint" in system.lower() and "Reply with one word" in system:
            return self._text("constraints_judge", self.constraint_verdict(user))
        if body.get("tools"):
            return self.assistant_turn(messages, body["tools"])
        return self._text("other", "OK.")

    def _text(self, role: str, text: str) -> dict[str, Any]:
        self.roles[role] += 1
        return {"role": "assistant", "content": text}

    def _json(self, value: Any) -> str:
        text = json.dumps(value, ensure_ascii=False)
        if self.failure == "truncated_json":
            return text[: max(1, len(text) // 2)]
        return text

    def api(self, request: str) -> dict[str, Any]:
        found = re.search(r"Functionalities the API must provide: (.+)", request)
        name = _snake((found.group(1) if found else "do something").split(";")[0])
        self._names[name] += 1
        if self._names[name] > 1:
            name = f"{name}_{self._names[name]}"
        return {
            "name": name,
            "description": f"{name.replace('_', ' ').capitalize()} for the given record.",
            "parameters": {
                "type": "object",
                "properties": {
                    "record_id": {"type": "string", "description": "Identifier of the record"},
                    "limit": {"type": "integer", "description": "Maximum number of results"},
                },
                "required": ["record_id"],
            },
            "responses": {
                "type": "object",
                "properties": {"status": {"type": "string", "description": "Outcome"}},
            },
        }

    def subdomains(self, request: str) -> dict[str, list[str]]:
        domain = re.search(r'domain "([^"]+)"', request)
        base = domain.group(1) if domain else "misc"
        return {f"{base} archive": ["list archived items", "restore archived item"]}

    # -- the three dialog agents

    def user_turn(self, prompt: str) -> str:
        from ifrl.toolgen.tool_schema import sample_value

        if prompt.startswith("Earlier you asked:"):
            question = re.search(r"The assistant asked: (.*)", prompt)
            arg = re.search(r"\b([a-z_]+)\b\?", question.group(1) if question else "")
            name = arg.group(1) if arg else "value"
            return f"Use {name} {json.dumps(self._guess(name))}."
        if prompt.startswith("Say thanks"):
            return "Thanks, goodbye."
        if prompt.startswith("The conversation so far:"):
            wanted = re.search(r"Write your next request: (.*?)\.(?: Refer|$)", prompt, re.S)
            return f"Next, {wanted.group(1) if wanted else 'one more thing'}."
        tools = [json.loads(line) for line in prompt.splitlines() if line.startswith("{")]
        missing = re.search(r"except the value of '([^']+)'", prompt)
        instead = re.search(r"; ask to (.*?) instead", prompt)
        if instead:
            return f"Could you {instead.group(1)}?"
        if missing:  # the tool the user leaves a value out of comes first
            tools.sort(
                key=lambda t: missing.group(1) not in t.get("parameters", {}).get("required", [])
            )
        parts = []
        for tool in tools[: 2 if "several independent" in prompt else 1]:
            params = tool.get("parameters", {})
            for arg in params.get("required", []):
                if missing and arg == missing.group(1):
                    continue
                schema = params.get("properties", {}).get(arg, {"type": "string"})
                value = sample_value(schema, self.rng)
                parts.append(f"{arg} {json.dumps(value, ensure_ascii=False)}")
            parts.append(f"({tool['description'].rstrip('.').lower()})")
        return "Please help me: " + ", ".join(parts) + "."

    def _guess(self, name: str) -> Any:
        """A value for an argument known only by its name (a clarifying question)."""
        if "date" in name:
            return "2025-05-05"
        if "email" in name:
            return "ann.lee@example.com"
        if name.endswith("_id"):
            return "AB12345"
        if name in ("limit", "count", "quantity", "guests", "days", "nights"):
            return 2
        if name.endswith("_list") or name in ("tags", "items", "ids", "names"):
            return ["Paris"]
        return "Paris"

    def assistant_turn(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self.roles["assistant"] += 1
        last = messages[-1]
        if last["role"] == "tool":
            results = [m.get("content") or "" for m in messages if m["role"] == "tool"][-1:]
            return {"role": "assistant", "content": f"Here is the result: {results[0]}"}
        said: dict[str, Any] = {}
        for m in messages:
            if m["role"] == "user":
                said.update(_said_values(m.get("content") or ""))
        request = next(m.get("content") or "" for m in reversed(messages) if m["role"] == "user")
        said.setdefault("query", request)  # ToolACE-DEV's proposed tools take the request itself
        fns = [t.get("function", t) for t in tools]
        asked = " ".join(m.get("content") or "" for m in messages if m["role"] == "user").lower()
        named = [f for f in fns if str(f.get("description", "")).rstrip(".").lower() in asked]
        ready, short = [], []
        for fn in named or fns:
            params = fn.get("parameters", {})
            required = list(params.get("required", []))
            props = params.get("properties", {})
            gaps = [a for a in required if a not in said]
            args = {a: said[a] for a in props if a in said}
            if required and not gaps:
                ready.append((fn["name"], args))
            elif required and len(gaps) == 1 and (named or len(gaps) < len(required)):
                short.append(gaps[0])
        if not ready and short:
            return {"role": "assistant", "content": f"Which {short[0]}?"}
        if not ready:
            return {"role": "assistant", "content": "Sorry, none of my tools can do that."}
        calls = ready
        if self.failure == "hallucinated_function":
            calls = [("lookup_everything", args) for _, args in calls]
        if self.failure == "wrong_types":
            calls = [
                (n, {k: str(v) if isinstance(v, int | float) else v for k, v in a.items()})
                for n, a in calls
            ]
        if self.failure == "prose":
            body = "\n".join(
                "<tool_call>\n" + json.dumps({"name": n, "arguments": a}) + "\n</tool_call>"
                for n, a in calls
            )
            return {
                "role": "assistant",
                "content": f"Sure! Let me look that up.\n{body}\nOne moment.",
            }
        if self.failure == "truncated_json":
            text = json.dumps([{"name": n, "arguments": a} for n, a in calls])
            return {"role": "assistant", "content": text[: len(text) // 2]}
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"chatcmpl-tool-{i}",
                    "type": "function",
                    "function": {"name": n, "arguments": json.dumps(a)},
                }
                for i, (n, a) in enumerate(calls)
            ],
        }

    def tool_result(self, prompt: str) -> Any:
        from ifrl.toolgen.tool_schema import sample_value

        if "This call fails" in prompt:
            return {"error": {"code": "unavailable", "message": "the service is down"}}
        api = json.loads(prompt.split("\n", 1)[0].removeprefix("API: "))
        schema = api.get("responses") or {"type": "object", "properties": {}}
        value = sample_value(schema, self.rng)
        value = value if isinstance(value, dict) else {"result": value}
        call = json.loads(prompt.split("\nCall: ", 1)[1].split("\n", 1)[0])
        call = call[0] if isinstance(call, list) else call
        for key, given in dict(call.get("arguments", {})).items():
            if key in value:  # a result repeats the ids and names its call was given
                value[key] = given
        return value

    # -- judges and ToolACE-DEV

    def tool_verdict(self, prompt: str) -> dict[str, str]:
        if self.failure == "yes_judge" or "Property: every argument" not in prompt:
            return {"verdict": "pass", "reason": "looks right"}
        dialog = prompt.split("Dialog:\n", 1)[1].split("\n\nProperty:", 1)[0]
        stated = "\n".join(
            line for line in dialog.splitlines() if re.match(r"\[\d+\] (user|tool result)", line)
        )
        for line in dialog.splitlines():
            if " assistant calls: " not in line:
                continue
            for start in (m.end() for m in re.finditer(r"\w\(", line)):
                args, _ = json.JSONDecoder().raw_decode(line, start)
                for key, value in args.items():
                    shown = value if isinstance(value, str) else json.dumps(value)
                    if str(shown) not in stated:
                        return {"verdict": "fail", "reason": f"{key}={shown} was never stated"}
        return {"verdict": "pass", "reason": "every value was stated"}

    def constraint_verdict(self, prompt: str) -> str:
        """``yes``/``no`` for one constraint (pointwise): the fenced response is read back and
        checked for what the constraint text asks about (commas, case); other constraints
        pass. The yes-judge passes everything."""
        from ifrl.core.judging import restore

        if self.failure == "yes_judge":
            return "yes"
        found = re.search(r"<<<BEGIN RESPONSE (\S+)>>>\n(.*)\n<<<END RESPONSE \1>>>", prompt, re.S)
        response = restore(found.group(2)) if found else ""
        asked = re.sub(r"<<<BEGIN (\w+) (\S+)>>>.*?<<<END \1 \2>>>", "", prompt, flags=re.S)
        asked = asked.lower()
        ok = True
        if "comma" in asked:
            ok = "," not in response
        elif "lowercase" in asked:
            ok = response == response.lower()
        elif "capital letters" in asked or "uppercase" in asked:
            ok = response == response.upper()
        return "yes" if ok else "no"

    def proposed_tool(self, prompt: str) -> dict[str, Any]:
        query = prompt.split("\n", 1)[0].removeprefix("Instruction: ")
        words = re.findall(r"[a-z]+", query.lower())[:3]
        return {
            "name": _snake(" ".join(words) or "handle request"),
            "description": f"Handle requests like: {query[:60]}",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string", "description": "The request"}},
                "required": ["query"],
            },
        }

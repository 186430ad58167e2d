"""End-to-end runs: rescoring BFCL result files, generating with backends, resuming, comparing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifrl.core.generation import Prompt
from ifrl.core.records import Completion, Conversation, SamplingParams
from ifrl.evals.benchmark import Example, get_benchmark, run
from ifrl.evals.bfcl import BFCLDataError, find_data_dir, load_category
from ifrl.evals.bfcl.mutations import mutation_cases
from ifrl.evals.cli import cli
from ifrl.evals.results import load_result


@pytest.fixture(scope="module")
def bfcl_data() -> Path:
    try:
        return find_data_dir()
    except BFCLDataError as err:
        pytest.skip(f"BFCL data not installed ({err})")


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _check_png(path: Path) -> None:
    import matplotlib.image

    image = matplotlib.image.imread(str(path))
    assert image.shape[0] > 100 and image.shape[1] > 300
    assert float(image.std()) > 0.01  # not a blank canvas


def test_rescoring_bfcl_result_files(tmp_path: Path, bfcl_data: Path) -> None:
    lines, expected = [], {}
    for category in ("simple_python", "live_parallel", "irrelevance"):
        for i, entry in enumerate(load_category(category, bfcl_data)[:6]):
            cases = mutation_cases(entry, category)
            case = cases[i % len(cases)]
            lines.append({"id": entry.id, "result": case.output})
            expected[entry.id] = (case.valid, case.error_type or None)
    responses = tmp_path / "R.jsonl"
    responses.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "out"
    printed = _invoke(["bfcl", "--responses", str(responses), "--out", str(out)])
    assert "| accuracy |" in printed
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert {s["id"]: (s["valid"], s["error_type"]) for s in samples} == expected
    result = load_result(out)
    assert set(result.breakdowns["category"]) == {"simple_python", "live_parallel", "irrelevance"}
    assert result.metrics["accuracy"].n == len(lines)
    report = (out / "report.md").read_text()
    assert "![category](plots/category.png)" in report
    assert "## Failure examples" in report
    _check_png(out / "plots" / "category.png")
    _check_png(out / "plots" / "error_type.png")


def test_bad_response_lines_name_file_line_and_field(tmp_path: Path, bfcl_data: Path) -> None:
    responses = tmp_path / "R.jsonl"
    responses.write_text(
        '{"id": "simple_python_0", "result": "[f()]"}\n{"id": "simple_python_1"}\n'
    )
    result = CliRunner().invoke(
        cli, ["bfcl", "--responses", str(responses), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    assert "R.jsonl:2: result: missing" in result.output
    result = CliRunner().invoke(
        cli,
        [
            "bfcl",
            "--category",
            "simple_pyton",
            "--responses",
            str(responses),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert "did you mean 'simple_python'" in result.output


class CountingGenerator:
    """Answers every prompt with its ground truth when known, else text; counts prompts."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.prompts = 0

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        self.prompts += len(prompts)
        out = []
        for prompt in prompts:
            assert isinstance(prompt, Conversation)
            text = self.answers.get(prompt.messages[-1].content or "", "no idea")
            out.append([Completion(text) for _ in range(params.n)])
        return out


def test_generation_runs_resume_and_score(tmp_path: Path, bfcl_data: Path) -> None:
    bench = get_benchmark("bfcl", categories=["multiple"], limit=5)
    examples: list[Example] = bench.examples()
    answers = {}
    for e in examples[:3]:
        case = mutation_cases(e.data, "multiple")[0]
        answers[e.data.messages[-1]["content"]] = case.output
    gen = CountingGenerator(answers)
    result = run(bench, tmp_path, generator=gen, params=SamplingParams(n=2), batch_size=2)
    assert gen.prompts == 5
    assert result.metrics["accuracy"].value == pytest.approx(0.6)
    assert result.metrics["accuracy"].n == 10
    # A rerun finds every response in generations.jsonl and generates nothing.
    again = run(bench, tmp_path, generator=gen, params=SamplingParams(n=2))
    assert gen.prompts == 5
    assert again.metrics["accuracy"] == result.metrics["accuracy"]


def test_compare_puts_runs_side_by_side(tmp_path: Path, bfcl_data: Path) -> None:
    dirs = []
    for k, n_right in enumerate((1, 2)):
        entries = load_category("simple_python", bfcl_data)[:3]
        lines = [
            {
                "id": e.id,
                "result": mutation_cases(e, "simple_python")[0].output if i < n_right else "no",
            }
            for i, e in enumerate(entries)
        ]
        responses = tmp_path / f"r{k}.jsonl"
        responses.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
        out = tmp_path / f"run{k}"
        _invoke(["bfcl", "--responses", str(responses), "--out", str(out)])
        dirs.append(str(out))
    printed = _invoke(["compare", *dirs, "--out", str(tmp_path / "cmp")])
    assert "| metric | run0 | run1 |" in printed
    assert "| bfcl accuracy | 33.33" in printed and "| 66.67" in printed
    assert "bfcl category: simple_python" in printed
    _check_png(tmp_path / "cmp" / "compare.png")


@pytest.mark.slow
def test_bfcl_with_the_tiny_model_on_the_hf_backend(
    tmp_path: Path, tiny_model_dir: Path, bfcl_data: Path
) -> None:
    out = tmp_path / "run"
    printed = _invoke(
        [
            "bfcl",
            "--model",
            str(tiny_model_dir),
            "--backend",
            "hf",
            "--limit",
            "20",
            "--category",
            "simple_python",
            "--max-new-tokens",
            "8",
            "--out",
            str(out),
        ]
    )
    assert "| accuracy |" in printed
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 20 and all(isinstance(s["response"], str) for s in samples)
    assert all(s["valid"] is False or s["error_type"] is None for s in samples)
    assert load_result(out).config["backend"] == "hf"
    _check_png(out / "plots" / "category.png")


@pytest.mark.slow
def test_gsm8k_majority_vote_with_the_tiny_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    from ifrl_testdata import shared_data

    data = shared_data("gsm8k", "test.jsonl")
    _invoke(
        [
            "gsm8k",
            "--data",
            str(data),
            "--model",
            str(tiny_model_dir),
            "--limit",
            "2",
            "--n",
            "3",
            "--temperature",
            "1.0",
            "--max-new-tokens",
            "6",
            "--out",
            str(tmp_path),
        ]
    )
    result = load_result(tmp_path)
    assert result.metrics["maj@3"].n == 2 and result.metrics["pass@1"].n == 6


@pytest.mark.vllm
def test_bfcl_with_the_tiny_model_on_the_vllm_backend(
    tmp_path: Path, tiny_model_dir: Path, bfcl_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # vLLM's CPU backend reserves 92% of memory by default; the tiny model needs 1 GiB of KV cache.
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
    # Some live_irrelevance prompts are 2.7k tokens with the tiny tokenizer, over the tiny model's
    # 2048-token context: vLLM refuses them, and they must be recorded as errors, not fail the run.
    out = tmp_path / "run"
    _invoke(
        [
            "bfcl",
            "--model",
            str(tiny_model_dir),
            "--backend",
            "vllm",
            "--limit",
            "20",
            "--category",
            "simple_python",
            "--category",
            "irrelevance",
            "--category",
            "live_irrelevance",
            "--max-new-tokens",
            "16",
            "--out",
            str(out),
        ]
    )
    result = load_result(out)
    assert result.metrics["accuracy"].n == 60
    assert result.info["generation_errors"] >= 1
    messages = result.info["generation_error_examples"]
    assert all("maximum context length" in m for m in messages.values()), messages
    assert (out / "report.md").exists()
    _check_png(out / "plots" / "category.png")


def test_bfcl_leaderboard_summaries(tmp_path: Path, bfcl_data: Path) -> None:
    lines = []
    right = {"simple_python": 4, "multiple": 2, "parallel": 1, "parallel_multiple": 0}
    for category, n_right in right.items():
        for i, entry in enumerate(load_category(category, bfcl_data)[:4]):
            output = mutation_cases(entry, category)[0].output if i < n_right else "none"
            lines.append({"id": entry.id, "result": output})
    responses = tmp_path / "R.jsonl"
    responses.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    _invoke(["bfcl", "--responses", str(responses), "--out", str(tmp_path / "o")])
    metrics = load_result(tmp_path / "o").metrics
    assert metrics["non_live_ast_python"].value == pytest.approx((1 + 0.5 + 0.25 + 0) / 4)
    assert metrics["non_live_ast_python"].n == 16
    assert "live_ast" not in metrics  # its categories were not run


def test_bfcl_through_an_openai_compatible_server(tmp_path: Path, bfcl_data: Path) -> None:
    """``--backend openai`` against a local stand-in server that answers with tool calls."""
    import http.server
    import threading

    entries = load_category("simple_python", bfcl_data)[:4]
    answers = {
        e.messages[-1]["content"]: mutation_cases(e, "simple_python")[0].output for e in entries[:3]
    }
    seen: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            text = answers.get(body["messages"][-1]["content"], "I cannot help.")
            reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        out = tmp_path / "run"
        printed = _invoke(
            [
                "bfcl",
                "--model",
                "served-model",
                "--backend",
                "openai",
                "--base-url",
                url,
                "--category",
                "simple_python",
                "--limit",
                "4",
                "--out",
                str(out),
            ]
        )
    finally:
        server.shutdown()
    assert "| accuracy | 75.00 |" in printed
    assert len(seen) == 4 and all(b["model"] == "served-model" for b in seen)
    assert seen[0]["messages"][0]["role"] == "system"  # BFCL's prompting format


class RejectingGenerator(CountingGenerator):
    """Rejects, like vLLM does for a prompt over the context, the prompts in ``reject``."""

    def __init__(self, answers: dict[str, str], reject: set[str], error: Exception) -> None:
        super().__init__(answers)
        self.reject = reject
        self.error = error

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        for prompt in prompts:
            assert isinstance(prompt, Conversation)
            if prompt.messages[-1].content in self.reject:
                raise self.error
        return super().generate(prompts, params)


def test_a_rejected_prompt_is_recorded_not_fatal(tmp_path: Path, bfcl_data: Path) -> None:
    bench = get_benchmark("bfcl", categories=["multiple"], limit=4)
    examples: list[Example] = bench.examples()
    answers = {
        e.data.messages[-1]["content"]: mutation_cases(e.data, "multiple")[0].output
        for e in examples
    }
    too_long = examples[1].data.messages[-1]["content"]
    err = ValueError("The decoder prompt (length 9000) is longer than the maximum model length")
    gen = RejectingGenerator(answers, {too_long}, err)
    result = run(bench, tmp_path, generator=gen, params=SamplingParams(n=1), batch_size=4)
    # The other three are generated (one by one after the batch failed) and right.
    assert result.metrics["accuracy"].value == pytest.approx(0.75)
    assert result.info["generation_errors"] == 1
    assert "longer than the maximum model length" in str(
        result.info["generation_error_examples"][examples[1].id]
    )
    rows = [json.loads(x) for x in (tmp_path / "generations.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows if "error" in r] == [examples[1].id]
    # A rerun keeps the recorded error and generates nothing.
    gen.prompts = 0
    again = run(bench, tmp_path, generator=gen, params=SamplingParams(n=1))
    assert gen.prompts == 0 and again.info["generation_errors"] == 1


def test_a_backend_failure_still_stops_the_run(tmp_path: Path, bfcl_data: Path) -> None:
    bench = get_benchmark("bfcl", categories=["multiple"], limit=2)
    examples: list[Example] = bench.examples()
    first = examples[0].data.messages[-1]["content"]
    down = ConnectionError("connection refused")
    with pytest.raises(ConnectionError):
        run(bench, tmp_path, generator=RejectingGenerator({}, {first}, down))


class VLLMClientError(Exception):
    """Stands in for ``vllm.exceptions.VLLMClientError`` (matched by class name)."""


class VLLMValidationError(VLLMClientError):
    pass


class HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


@pytest.mark.parametrize(
    ("err", "prompt_fault"),
    [
        (VLLMValidationError("prompt (length 2700) is longer than the maximum model length"), True),
        (ValueError("too long"), True),
        (HTTPError(400), True),
        (HTTPError(429), False),
        (HTTPError(503), False),
        (ConnectionError("refused"), False),
        (RuntimeError("CUDA out of memory"), False),
    ],
)
def test_which_errors_are_a_prompts_fault(err: Exception, prompt_fault: bool) -> None:
    from ifrl.evals.generate import is_prompt_error

    assert is_prompt_error(err) is prompt_fault

"""The model-driven path on the real tiny model: through HFGenerator (slow) and through the vLLM
OpenAI-compatible server (vllm). The tiny model writes near-garbage: what matters is that every
output is either used or rejected with a reason, and nothing crashes. (ToolACE-DEV rounds on the
tiny model, with SFT through ifrl.rltrain, run as the toolace-dev recipe:
tests/pipelines/test_toolace_dev_recipe.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from toolgen_helpers import pool

from ifrl.core.generation import Generator
from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.core.records import Conversation, Message, SamplingParams, ToolCall, ToolSpec
from ifrl.toolgen import (
    DialogGenerator,
    JudgeVerifier,
    ModelAssistant,
    ModelTool,
    ModelUser,
    Planner,
    verify_file,
)
from ifrl.toolgen.apis import ModelApiGenerator

SHORT = SamplingParams(temperature=1.0, max_new_tokens=24, seed=0)


def model_driven_pipeline(gen: Generator, tmp_path: Path) -> None:
    # API pool: every reply kept or rejected with a reason
    api_gen = ModelApiGenerator(gen, params=SHORT, batch_size=2, max_attempts_factor=1)
    made = list(api_gen.generate(2))
    assert (
        len(made)
        + sum(v for k, v in api_gen.stats.items() if k.startswith("rejected:"))
        + sum(v for k, v in api_gen.stats.items() if k.startswith("duplicate"))
        == 2
    )
    # dialogs with all three agents played by the model
    agents: dict[str, Any] = {
        "user": ModelUser(gen, SHORT),
        "assistant": ModelAssistant(gen, SHORT),
        "tool": ModelTool(gen, SHORT),
    }
    results = list(
        DialogGenerator(Planner(pool(40), 0), batch_size=5, max_turns=2, **agents).run(
            list(range(5))
        )
    )
    assert len(results) == 5
    for r in results:
        assert (r.dialog is None) == bool(r.reason)
    # verify (rules + the model as judge): garbage is rejected with reasons
    src = tmp_path / "dialogs.jsonl"
    rows = [r.dialog.to_json() for r in results if r.dialog is not None]
    rows.append({"type": "single", "tools": [], "messages": [{"role": "user", "content": "hi"}]})
    write_jsonl(src, rows)
    rep = verify_file(
        src,
        tmp_path / "kept.jsonl",
        tmp_path / "rejected.jsonl",
        report=tmp_path / "r.md",
        judge=JudgeVerifier(gen, SamplingParams(temperature=0.0, max_new_tokens=24, seed=0)),
    )
    assert rep.total == len(rows)
    rejected = list(read_jsonl(tmp_path / "rejected.jsonl"))
    assert len(rejected) == rep.total - rep.kept >= 1
    assert all(
        r["rejected"] and all(i["code"] and i["message"] for i in r["rejected"]) for r in rejected
    )


@pytest.mark.slow
def test_model_driven_path_on_tiny_model_hf(tiny_model_dir: Path, tmp_path: Path) -> None:
    from ifrl.core.backends.hf import HFGenerator

    model_driven_pipeline(HFGenerator(tiny_model_dir), tmp_path)


@pytest.mark.vllm
def test_model_driven_path_against_vllm_server(vllm_server: str, tmp_path: Path) -> None:
    from ifrl.core.backends.openai import OpenAIGenerator

    gen = OpenAIGenerator(vllm_server, "tiny", mode="chat", timeout=60.0, concurrency=2)
    model_driven_pipeline(gen, tmp_path)
    # the CLI path through the same server
    from click.testing import CliRunner

    from ifrl.toolgen.cli import cli

    apis = tmp_path / "apis.jsonl"
    write_jsonl(apis, [a.to_dict() for a in pool(20)])
    result = CliRunner().invoke(
        cli,
        [
            "dialogs",
            "--apis",
            str(apis),
            "-n",
            "3",
            "-o",
            str(tmp_path / "d.jsonl"),
            "--rejected",
            str(tmp_path / "dr.jsonl"),
            "--backend",
            "openai",
            "--model",
            "tiny",
            "--base-url",
            vllm_server,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    done = len(list(read_jsonl(tmp_path / "d.jsonl"))) + len(
        list(read_jsonl(tmp_path / "dr.jsonl"))
    )
    assert done == 3
    assert all(
        json.loads(line)["reason"] for line in (tmp_path / "dr.jsonl").read_text().splitlines()
    )


@pytest.mark.slow
def test_hf_loss_scorer_matches_transformers_loss(tiny_model_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ifrl.toolgen import ComplexityEvaluator, HFLossScorer

    scorer = HFLossScorer(str(tiny_model_dir))
    weather = ToolSpec("get_weather", "Weather.", {"type": "object", "properties": {}})
    samples = [
        Conversation(
            (
                Message("user", "weather in Paris?"),
                Message("assistant", None, (ToolCall("get_weather", {"city": "Paris"}),)),
            ),
            (weather,),
        ),
        Conversation((Message("user", "hi"), Message("assistant", "there"))),
    ]
    losses = scorer.losses(samples)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    for sample, got in zip(samples, losses):
        # x: the chat template's prompt (tools in the system block, generation prompt);
        # t: the turn as the template writes it, through its end-of-turn token.
        chat = sample.to_openai(arguments_as="object")
        prompt = tok.apply_chat_template(
            chat["messages"][:-1],
            tools=chat["tools"] or None,
            add_generation_prompt=True,
            tokenize=False,
        )
        whole = tok.apply_chat_template(
            chat["messages"], tools=chat["tools"] or None, tokenize=False
        )
        target = whole[len(prompt) :].rstrip()
        assert prompt.startswith("<|im_start|>") and target.endswith("<|im_end|>")
        assert scorer.texts(sample) == (prompt, target)
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        t = tok(target, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p + t])
        labels = torch.tensor([[-100] * len(p) + t])
        with torch.no_grad():
            expected = float(model(ids, labels=labels).loss)
        assert got == pytest.approx(expected, rel=1e-5)
    assert "# Tools" in scorer.texts(samples[0])[0]
    assert scorer.texts(samples[0])[1].startswith("<tool_call>")
    # the evaluator runs on real dialogs with the real scorer
    dialogs = [
        r.dialog for r in DialogGenerator(Planner(pool(30), 0)).run(list(range(5))) if r.dialog
    ]
    judged = ComplexityEvaluator(scorer, low=0.0, high=1e9).judge(dialogs)
    assert all(h is not None and h > 0 and reason is None for h, reason in judged)


@pytest.mark.slow
def test_dialogs_cli_with_complexity_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ifrl.toolgen.cli import cli

    apis = tmp_path / "apis.jsonl"
    write_jsonl(apis, [a.to_dict() for a in pool(30)])
    out, rej = tmp_path / "d.jsonl", tmp_path / "r.jsonl"
    args = ["dialogs", "--apis", str(apis), "-n", "6", "-o", str(out), "--rejected", str(rej)]
    result = CliRunner().invoke(
        cli, [*args, "--complexity-model", str(tiny_model_dir), "--high", "1e9"]
    )
    assert result.exit_code == 0, result.output
    assert "complexity loss: min" in result.output
    kept = list(read_jsonl(out))
    assert len(kept) == 6 and all(row["meta"]["complexity_loss"] > 0 for row in kept)
    # a band nothing fits: every sample is dropped with its loss recorded
    out2, rej2 = tmp_path / "d2.jsonl", tmp_path / "r2.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "dialogs",
            "--apis",
            str(apis),
            "-n",
            "3",
            "-o",
            str(out2),
            "--rejected",
            str(rej2),
            "--complexity-model",
            str(tiny_model_dir),
            "--high",
            "0.001",
        ],
    )
    assert result.exit_code == 0, result.output
    dropped = list(read_jsonl(rej2))
    assert [r["reason"] for r in dropped] == ["too_hard"] * 3
    assert all(r["complexity_loss"] > 0.001 for r in dropped)

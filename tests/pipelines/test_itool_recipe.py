"""The itool recipe: its stages per iteration, config errors, data conversion, the held-out
evaluation and summary, and tiny runs (warm-up, resume, reruns of changed stages only, the
shipped tiny example, an engine that receives each new model's weights)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch

from ifrl.core.config import ConfigError, from_mapping, load_config
from ifrl.core.generation import Prompt, register_backend
from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.core.records import (
    Completion,
    Conversation,
    Message,
    PreferencePair,
    RawText,
    SamplingParams,
    ToolCall,
    ToolSpec,
)
from ifrl.pipelines.recipe import RecipeError, get_recipe, run_recipe
from ifrl.pipelines.recipes.itool import (
    ItoolConfig,
    evaluate_heldout,
    heldout_cases,
    plot_accuracy,
    to_conversation,
)
from ifrl.rltrain import ToolSample, load_tokenizer
from ifrl.toolgen import DIALOG_TYPES, DialogGenerator, Planner, ProgrammaticApiGenerator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _cfg(mapping: dict[str, Any]) -> ItoolConfig:
    return from_mapping(ItoolConfig, mapping, "itool.yaml")


def test_four_stages_per_iteration() -> None:
    recipe = get_recipe("itool")
    cfg = _cfg(
        {"start": {"model": "m"}, "data": {"train": "t", "eval": "e"}, "itool": {"iterations": 2}}
    )
    assert recipe.stage_names(cfg) == [
        "data",
        "warmup",
        "eval-0",
        "deficiency-1",
        "mcts-1",
        "simpo-1",
        "eval-1",
        "deficiency-2",
        "mcts-2",
        "simpo-2",
        "eval-2",
        "summary",
    ]
    assert recipe.stage_names()[-2:] == ["eval-1", "summary"]  # the default: one iteration
    with pytest.raises(RecipeError, match="did you mean 'mcts-1'"):
        run_recipe(recipe, _cfg({"start": {"model": "m"}}), "unused", from_stage="mcts-3")


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"start\.model: give a model or a toolace_run"):
        _cfg({})
    with pytest.raises(ConfigError, match="itool: model is set by the recipe"):
        _cfg({"start": {"model": "m"}, "itool": {"model": "x"}})
    with pytest.raises(ConfigError, match="did you mean 'mcts_iterations'"):
        _cfg({"start": {"model": "m"}, "itool": {"mcts_iteration": 3}})
    with pytest.raises(ConfigError, match="deficiency: expected perplexity or sampling"):
        _cfg({"start": {"model": "m"}, "itool": {"deficiency": "loss"}})
    with pytest.raises(ConfigError, match=r"itool\.train_pairs: expected mcts, baseline or both"):
        _cfg({"start": {"model": "m"}, "itool": {"train_pairs": "all"}})
    with pytest.raises(ConfigError, match=r"itool\.backend: unknown backend 'vlm'"):
        _cfg({"start": {"model": "m"}, "itool": {"backend": "vlm"}})
    cfg = _cfg({"start": {"model": "m"}, "itool": {"backend": "vllm"}})
    assert cfg.itool.backend == "vllm" and cfg.evaluation["backend"] == "vllm"


def test_the_keys_of_the_former_itool_command_are_the_section(tmp_path: Path) -> None:
    """Every setting `ifrl rl itool` read (but model, data, eval_data, output_dir) is a key of
    the `itool:` section, typed; `--set itool.key=value` overrides one."""
    path = tmp_path / "itool.yaml"
    path.write_text(
        "start: {model: m}\nitool:\n  iterations: 2\n  sft_steps: 4\n  sft_curriculum: tool_calls\n"
        "  mcts_split_markers: [', ', ': ']\n  pair_min_gap: 0.0\n  lora_r: 16\n  device: cpu\n"
        "  baseline: false\n  train_pairs: both\n  mcts_chunk: 2\n  eval_limit: 3\n"
    )
    cfg = load_config(ItoolConfig, path, {"itool.max_steps": "7"})
    it = cfg.itool
    assert (it.iterations, it.sft_steps, it.lora_r, it.max_steps) == (2, 4, 16, 7)
    assert it.mcts_config(1).split_markers == (", ", ": ") and it.pair_config().min_gap == 0.0
    assert it.sft_config("m", "d", "o").curriculum == "tool_calls"
    assert it.dpo_config("m", "d", "o").lora_r == 16
    assert cfg.prep == {"last_turn_only": False, "eval_limit": 3}


def _toolgen_dialogs(tmp_path: Path, n: int) -> Path:
    apis = [a for a in ProgrammaticApiGenerator(seed=0).generate(60) if len(a.properties) <= 2]
    planner = Planner(apis[:6], seed=0, max_tools=2)
    planner.weights = {t: 1.0 if t == "single" else 0.0 for t in DIALOG_TYPES}
    rows = [r.dialog.to_json() for r in DialogGenerator(planner).run(range(n)) if r.dialog]
    write_jsonl(tmp_path / "dialogs.jsonl", rows)
    return tmp_path / "dialogs.jsonl"


def test_toolgen_dialogs_become_first_turn_conversations(tmp_path: Path) -> None:
    row = next(iter(read_jsonl(_toolgen_dialogs(tmp_path, 2))))
    full = to_conversation(row, first_turn=False)
    first = to_conversation(row, first_turn=True)
    assert full is not None and first is not None
    assert [m.role for m in first.messages] == ["user", "assistant"]
    assert first.messages[1].tool_calls  # the call the eval checks
    assert len(full.messages) > 2 and full.tools == first.tools
    assert to_conversation({"messages": [{"role": "user", "content": "hi"}]}, True) is None
    plain = to_conversation(full.to_openai(), first_turn=False)  # an OpenAI row
    assert plain is not None and plain.messages == full.messages
    assert [t.definition() for t in plain.tools] == [t.definition() for t in full.tools]


class Echo:
    """Answers each prompt with a fixed text per prompt."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        assert params.greedy
        # The rendered held-out prompts are sent as raw text, never re-templated.
        assert all(isinstance(p, RawText) for p in prompts)
        return [[Completion(self.answers[p.text])] for p in prompts]  # type: ignore[union-attr]


def test_evaluate_scores_tool_calls_and_text() -> None:
    call = ToolCall("f", {"a": 1})
    samples = [
        ToolSample("1", "p1", "", (call,)),
        ToolSample("2", "p2", "", (call,)),
        ToolSample("3", "p3", "", (call,)),
        ToolSample("4", "p4", "", ()),
    ]
    gen = Echo({"p1": "[f(a=1)]", "p2": "[f(a=2)]", "p3": "[f(a=", "p4": "Sure."})
    tool = ToolSpec("f", "", {"type": "object", "properties": {"a": {"type": "integer"}}})
    conv = Conversation((Message("user", "q"), Message("assistant", None, (call,))), (tool,))
    for s in samples:
        s.meta.update(conversation="eval0", turn=1)
    cases = heldout_cases([conv], samples)
    assert [c.gold for c in cases] == [(call,), (call,), (call,), ()]
    scores, result = evaluate_heldout(gen, samples, cases)
    assert scores["tool_call_accuracy"] == pytest.approx(1 / 3)
    assert scores["tool_call_score"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert scores["tool_call_parse_errors"] == pytest.approx(1 / 3)
    assert scores["tool_call_bfcl_accuracy"] == pytest.approx(1 / 3)  # BFCL's AST rules agree
    assert scores["text_accuracy"] == 1.0 and scores["tool_samples"] == 3
    assert result.metrics["accuracy"].n == 4  # every case through ifrl.evals, with its interval


def test_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rows = [
        {"iteration": 0, "tool_call_accuracy": 0.2, "tool_call_score": 0.5},
        {"iteration": 1, "tool_call_accuracy": 0.3, "tool_call_score": 0.6},
    ]
    assert plot_accuracy(rows, tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_tiny_itool_run_resumes_and_reruns_only_changed_stages(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    dialogs = _toolgen_dialogs(tmp_path, 6)
    mapping: dict[str, Any] = {
        "start": {"model": str(tiny_model_dir)},
        "data": {"train": str(dialogs), "eval": str(dialogs), "eval_limit": 2},
        "itool": {
            "iterations": 1,
            "deficiency_fraction": 0.5,
            "mcts_iterations": 1,
            "mcts_actions": 2,
            "mcts_max_new_tokens": 6,
            "max_steps": 1,
            "per_device_batch_size": 2,
            "eval_max_new_tokens": 6,
            "progress": False,
        },
    }
    recipe = get_recipe("itool")
    run = tmp_path / "run"
    lines: list[str] = []
    states = run_recipe(recipe, _cfg(mapping), run, echo=lines.append)
    done = [k for k, v in states.items() if v["status"] == "done"]
    assert done == ["data", "eval-0", "deficiency-1", "mcts-1", "simpo-1", "eval-1", "summary"]
    rows = states["summary"]["result"]["rows"]
    assert [r["iteration"] for r in rows] == [0, 1]
    for r in rows:
        assert 0.0 <= r["tool_call_score"] <= 1.0
    assert states["data"]["result"]["train_samples"] == 6 * 2  # call turn + answer turn
    assert states["data"]["result"]["eval_samples"] == 2
    mcts = json.loads((run / "iter_1/pairs.json").read_text())
    assert mcts["mcts"]["model_calls"] > 0 and "baseline" in mcts
    assert (run / "summary.md").read_text().startswith("# iTool summary")
    # A simpo-1 that trained has a merged model of its own; one without pairs keeps the model.
    assert states["eval-1"]["result"]["model"] == states["simpo-1"]["result"]["model"]

    again = run_recipe(recipe, _cfg(mapping), run, echo=lines.append)
    assert again == states  # nothing reran
    mapping["itool"]["learning_rate"] = 3e-4  # a training setting: the iterations rerun
    lines.clear()
    run_recipe(recipe, _cfg(mapping), run, echo=lines.append)
    skipped = [line.split(": ")[1].split(" ")[0] for line in lines if "up to date" in line]
    assert skipped == ["data", "eval-0"]


@pytest.mark.slow
def test_itool_with_warmup_end_to_end_and_resume(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A warm-up SFT, one iteration, and a rerun that recomputes nothing (ported from the former
    ``ifrl rl itool`` loop, which the recipe replaces)."""
    dialogs = _toolgen_dialogs(tmp_path, 8)
    rows = list(read_jsonl(dialogs))
    write_jsonl(tmp_path / "train.jsonl", rows[:6])
    write_jsonl(tmp_path / "eval.jsonl", rows[6:])
    mapping: dict[str, Any] = {
        "start": {"model": str(tiny_model_dir)},
        "data": {"train": str(tmp_path / "train.jsonl"), "eval": str(tmp_path / "eval.jsonl")},
        "itool": {
            "device": "cpu",
            "sft_steps": 4,
            "sft_batch_size": 2,
            "sft_learning_rate": 1e-3,
            "sft_curriculum": "tool_calls",
            "max_steps": 2,
            "per_device_batch_size": 2,
            "learning_rate": 1e-4,
            "deficiency_fraction": 0.5,
            "mcts_iterations": 2,
            "mcts_actions": 2,
            "mcts_max_new_tokens": 16,
            "mcts_chunk": 2,
            "pair_min_gap": 0.0,
            "eval_max_new_tokens": 16,
            "progress": False,
            "seed": 3,
        },
    }
    out = tmp_path / "run"
    states = run_recipe(get_recipe("itool"), _cfg(mapping), out, echo=lambda _: None)
    rows = states["summary"]["result"]["rows"]
    assert [r["iteration"] for r in rows] == [0, 1]
    assert rows[0]["model"].endswith("warmup/final")
    for r in rows:
        assert 0.0 <= r["tool_call_accuracy"] <= 1.0
    it = out / "iter_1"
    deficient = list(read_jsonl(it / "deficiency.jsonl", ToolSample.from_dict))
    train_samples = list(read_jsonl(out / "data" / "train_samples.jsonl", ToolSample.from_dict))
    assert 0 < len(deficient) < len(train_samples)
    pairs = list(read_jsonl(it / "pairs.jsonl", PreferencePair))
    costs = json.loads((it / "pairs.json").read_text())
    assert costs["mcts"]["pairs"] == len(pairs) and costs["mcts"]["model_calls"] > 0
    searched = [s for s in deficient if s.gold_calls]
    assert costs["baseline"]["model_calls"] == costs["baseline"]["n"] * len(searched)
    assert len(list((it / "mcts").glob("chunk_*.json"))) == -(-len(searched) // 2)
    # Every searched tree gives a pair (the warm-up model never writes the exact call, so the gold
    # continuation is chosen), every chosen side is exact, and SimPO trains on all of them.
    assert len(pairs) >= len(searched) > 0
    assert costs["mcts"]["chosen_exact_share"] == 1.0 and rows[1]["mcts_chosen_exact_share"] == 1.0
    _assert_trained_on(it, pairs, start=rows[0]["model"], steps=2)
    assert rows[1]["model"].endswith("simpo/final")
    summary = (out / "summary.md").read_text()
    assert "MCTS pairs/1k calls" in summary and summary.count("\n| ") >= 2
    # A rerun resumes: every stage is read back, nothing is recomputed (the run's own
    # config.json and state.json are rewritten by every run).
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.json") if p.parent != out}
    again = run_recipe(get_recipe("itool"), _cfg(mapping), out, echo=lambda _: None)
    rows_again = again["summary"]["result"]["rows"]
    assert [r["tool_call_accuracy"] for r in rows_again] == [r["tool_call_accuracy"] for r in rows]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def _weights(model: str | Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    return dict(AutoModelForCausalLM.from_pretrained(model).state_dict())


def _assert_trained_on(it: Path, pairs: list[PreferencePair], start: str, steps: int) -> None:
    """SimPO trained ``steps`` steps on exactly ``pairs`` and saved a model that differs."""
    simpo = json.loads((it / "simpo.json").read_text())
    assert simpo["pairs"] == len(pairs) > 0 and simpo["step"] == steps
    assert list(read_jsonl(it / "train_pairs.jsonl", PreferencePair)) == pairs
    metrics = [json.loads(line) for line in (it / "simpo/metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(1, steps + 1))
    assert all(math.isfinite(m["loss"]) for m in metrics)
    before, after = _weights(start), _weights(simpo["model"])
    assert any(not torch.equal(before[k], after[k]) for k in before)


@pytest.mark.slow
def test_the_tiny_example_yields_pairs_every_iteration_and_simpo_trains_on_them(
    tmp_path: Path,
) -> None:
    """examples/toolace-tiny.yaml, then examples/itool-tiny.yaml as shipped (run directories
    under tmp_path)."""
    toolace = tmp_path / "toolace-tiny"
    run_recipe(
        get_recipe("toolace"),
        load_config(get_recipe("toolace").config_cls, EXAMPLES / "toolace-tiny.yaml"),
        toolace,
        echo=lambda _: None,
    )
    cfg = load_config(
        ItoolConfig, EXAMPLES / "itool-tiny.yaml", {"start.toolace_run": str(toolace)}
    )
    run = tmp_path / "itool-tiny"
    states = run_recipe(get_recipe("itool"), cfg, run, echo=lambda _: None)
    rows = states["summary"]["result"]["rows"]
    assert [r["iteration"] for r in rows] == list(range(cfg.itool.iterations + 1)) == [0, 1, 2]
    data = states["data"]["result"]
    assert (data["train_conversations"], data["eval_conversations"]) == (16, 8)  # the limits
    for k in (1, 2):
        it = run / f"iter_{k}"
        searched = [
            s for s in read_jsonl(it / "deficiency.jsonl", ToolSample.from_dict) if s.gold_calls
        ]
        pairs = list(read_jsonl(it / "pairs.jsonl", PreferencePair))
        assert len(pairs) >= len(searched) > 0  # at least one pair per tree, every iteration
        assert rows[k]["mcts_pairs"] == len(pairs) and rows[k]["mcts_chosen_exact_share"] == 1.0
        _assert_trained_on(it, pairs, start=rows[k - 1]["model"], steps=cfg.itool.max_steps)
        # The pairs' responses fit the model's context: SimPO sees every chosen side.
        tok = load_tokenizer(rows[k - 1]["model"])
        for p in pairs:
            n = len(tok(p.prompt + p.chosen, add_special_tokens=False)["input_ids"])
            assert n <= cfg.itool.max_length


class FakeEngine:
    """An engine backend that holds its own model copy: answers with a fixed text and records
    the weights it is loaded with (what ``load_weights`` of vLLM receives)."""

    built: ClassVar[list[str]] = []
    loads: ClassVar[list[dict[str, torch.Tensor]]] = []
    closed: ClassVar[list[bool]] = []

    def __init__(self, model: str, **options: Any) -> None:
        FakeEngine.built.append(model)
        self.tokenizer = load_tokenizer(model)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        return [[Completion("I am not sure.")] * params.n for _ in prompts]

    def load_weights(self, weights: dict[str, torch.Tensor] | Iterable[Any]) -> None:
        FakeEngine.loads.append(dict(weights))

    def close(self) -> None:
        FakeEngine.closed.append(True)


register_backend("test-recipe-engine")(FakeEngine)


@pytest.mark.slow
def test_an_engine_backend_is_built_once_and_gets_each_new_model(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    """The recipe's vLLM path (``itool.backend: vllm``) with a stand-in engine: one engine for
    the run, each SimPO model loaded into it before it samples, closed at the summary."""
    dialogs = _toolgen_dialogs(tmp_path, 4)
    mapping: dict[str, Any] = {
        "start": {"model": str(tiny_model_dir)},
        "data": {"train": str(dialogs), "eval": str(dialogs), "eval_limit": 2},
        "itool": {
            "backend": "test-recipe-engine",
            "iterations": 2,
            "deficiency_fraction": 0.5,
            "mcts_iterations": 1,
            "mcts_actions": 2,
            "mcts_max_new_tokens": 6,
            "max_steps": 1,
            "per_device_batch_size": 2,
            "eval_max_new_tokens": 6,
            "baseline": False,
            "device": "cpu",
            "progress": False,
        },
    }
    FakeEngine.built.clear()
    FakeEngine.loads.clear()
    FakeEngine.closed.clear()
    states = run_recipe(get_recipe("itool"), _cfg(mapping), tmp_path / "run", echo=lambda _: None)
    assert FakeEngine.built == [str(tiny_model_dir)]  # one engine, on the starting model
    models = [states[f"simpo-{k}"]["result"]["model"] for k in (1, 2)]
    assert all(m.endswith("simpo/final") for m in models)
    assert len(FakeEngine.loads) == 2  # iteration 1's model, then iteration 2's
    for loaded, model in zip(FakeEngine.loads, models):
        want = _weights(model)
        assert set(loaded) == set(want) and all(torch.equal(loaded[k], want[k]) for k in want)
    assert FakeEngine.closed == [True]
    for k in (1, 2):  # the perplexity selector ran (on transformers) and pairs came in
        assert states[f"deficiency-{k}"]["result"]["selector"] == "perplexity"
        assert states[f"mcts-{k}"]["result"]["mcts"]["pairs"] > 0

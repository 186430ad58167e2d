"""Micro policies (`ifrl tiny build`): deterministic, cached by content hash, with a card whose
metrics are measured on held-out splits disjoint from training. Tiny settings only (seconds)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ifrl.core.cli import main
from ifrl.pipelines.micro import build_micro, get_spec, micro_root
from ifrl.pipelines.micro.build import cache_key, domain_data
from ifrl.pipelines.micro.instructions import _values, held_out_value
from ifrl.pipelines.micro.tools import split_pool

METRICS = {
    "tool-tiny": ("exact_seen", "exact_unseen"),
    "if-tiny": ("strict_seen", "strict_unseen"),
    "arith-tiny": ("answer_heldout", "solution_heldout"),
}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IFRL_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", sorted(METRICS))
def test_tiny_build_is_deterministic_cached_and_carded(name: str, tmp_path: Path) -> None:
    first = build_micro(name)
    assert not first.cached
    assert first.path.parent == micro_root()
    assert first.path.name == f"{name}-{first.card['key'][:16]}"
    again = build_micro(name)
    assert again.cached and again.path == first.path and again.card == first.card

    rebuilt = build_micro(name, out_dir=tmp_path / "rebuilt", force=True)
    assert not rebuilt.cached
    assert rebuilt.card["key"] == first.card["key"]
    for file in ("model.safetensors", "config.json", "tokenizer.json"):
        assert (rebuilt.path / file).read_bytes() == (first.path / file).read_bytes(), file
    for split in first.card["data"]["splits"]:
        data = f"data/{split}.jsonl"
        assert (rebuilt.path / data).read_bytes() == (first.path / data).read_bytes()

    card = json.loads((first.path / "card.json").read_text())
    assert card["name"] == name and card["data"]["held_out"]
    assert card["model"]["parameters"] > 0 and card["training"]["steps"] > 0
    assert card["time"]["total_seconds"] > 0
    spec = get_spec(name)
    for metric in METRICS[name]:
        m = card["metrics"][metric]
        assert m["n"] == spec.eval_examples
        assert 0.0 <= m["ci95"][0] <= m["value"] <= m["ci95"][1] <= 1.0
        assert m["value"] == m["successes"] / m["n"]
    markdown = (first.path / "CARD.md").read_text()
    assert all(f"| {metric} |" in markdown for metric in METRICS[name])


def test_key_follows_settings_and_data() -> None:
    spec = get_spec("tool-tiny")
    key = cache_key(spec, "data-a", "code")
    assert key == cache_key(spec, "data-a", "code")
    assert key != cache_key(dataclasses.replace(spec, steps=spec.steps + 1), "data-a", "code")
    assert key != cache_key(spec, "data-b", "code")
    assert key != cache_key(spec, "data-a", "code-2")


def test_held_out_tools_never_in_training() -> None:
    spec = get_spec("tool-tiny")
    _, held = split_pool(spec)
    held_names = {a.name for a in held}
    data = domain_data(spec)
    train_tools = {t["function"]["name"] for r in data["train"] for t in r["tools"]}
    unseen_calls = {
        c["function"]["name"] for r in data["eval_unseen"] for c in r["messages"][1]["tool_calls"]
    }
    assert train_tools and unseen_calls
    assert not train_tools & held_names
    assert unseen_calls <= held_names
    train_users = {r["messages"][0]["content"] for r in data["train"]}
    assert not train_users & {r["messages"][0]["content"] for r in data["eval_seen"]}


def test_domain_tokenizer_is_trained_on_training_conversations_only() -> None:
    from ifrl.core.tiny import build_tokenizer
    from ifrl.pipelines.micro.build import _conversation, _length, domain_tokenizer
    from ifrl.pipelines.micro.tools import COMPACT_TEMPLATE

    data = domain_data(get_spec("tool-tiny"))
    train = [_conversation(r) for r in data["train"]]
    tiny = domain_tokenizer(train, 0, COMPACT_TEMPLATE)
    assert tiny.backend_tokenizer.to_str() == build_tokenizer().backend_tokenizer.to_str()
    assert tiny.chat_template == COMPACT_TEMPLATE
    domain = domain_tokenizer(train, 2048, COMPACT_TEMPLATE)
    again = domain_tokenizer(train, 2048, COMPACT_TEMPLATE)
    assert domain.backend_tokenizer.to_str() == again.backend_tokenizer.to_str()
    assert domain.chat_template == COMPACT_TEMPLATE
    assert len(tiny) < len(domain) <= 2048 + 6  # + the tag tokens added after training

    def tokens(tok: object, rows: list[dict]) -> int:
        return sum(_length(tok, _conversation(r)) for r in rows)

    # Shorter on the conversations it was trained on, and on held-out ones as well
    assert tokens(domain, data["train"]) < 0.8 * tokens(tiny, data["train"])
    assert tokens(domain, data["eval_unseen"]) < tokens(tiny, data["eval_unseen"])
    # The built policy's tokenizer is exactly the one trained on the training split
    spec = get_spec("tool-tiny")
    assert spec.vocab_size > 0
    built = json.loads((build_micro("tool-tiny").path / "tokenizer.json").read_text())
    expected = json.loads(
        domain_tokenizer(train, spec.vocab_size, COMPACT_TEMPLATE).backend_tokenizer.to_str()
    )
    assert built["model"]["vocab"] == expected["model"]["vocab"]
    assert built["model"]["merges"] == expected["model"]["merges"]


def test_held_out_kwargs_never_in_training() -> None:
    from ifrl.core.records import ConstraintSpec

    spec = get_spec("if-tiny")
    data = domain_data(spec)

    def values(row: dict) -> list[str]:
        return [
            v for c in row["constraints"] for v in _values(ConstraintSpec(c["id"], c["kwargs"]))
        ]

    share = spec.holdout_share
    assert not any(held_out_value(v, share) for r in data["train"] for v in values(r))
    assert all(any(held_out_value(v, share) for v in values(r)) for r in data["eval_unseen"])
    train_prompts = {r["messages"][0]["content"] for r in data["train"]}
    for split in ("eval_seen", "eval_unseen"):
        assert not train_prompts & {r["messages"][0]["content"] for r in data[split]}


def test_cli_build_and_list(tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = CliRunner().invoke(main, ["tiny", "build", "if-tiny", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    assert "strict_unseen:" in result.output and "95% CI" in result.output
    assert (out / "card.json").is_file()
    listed = CliRunner().invoke(main, ["tiny", "list"])
    assert listed.exit_code == 0 and "tool-tiny (tool)" in listed.output
    unknown = CliRunner().invoke(main, ["tiny", "build", "tol"])
    assert unknown.exit_code == 1 and "did you mean 'tool'" in unknown.output


@pytest.mark.parametrize("name", ["tool", "if"])
def test_default_eval_budget_covers_every_target(name: str) -> None:
    """Greedy evaluation stops after ``max_new_tokens``: a reference answer longer than that
    could never be matched, so every held-out target of the default spec must fit."""
    from ifrl.core.chat import render_prompt
    from ifrl.core.records import Conversation
    from ifrl.pipelines.micro.build import _conversation, _rendered, domain_tokenizer
    from ifrl.pipelines.micro.tools import COMPACT_TEMPLATE

    spec = get_spec(name)
    data = domain_data(spec)
    train = [_conversation(r) for r in data["train"]]
    template = COMPACT_TEMPLATE if spec.domain == "tool" else None
    tok = domain_tokenizer(train, spec.vocab_size, template)

    def answer_tokens(row: dict) -> int:
        conv = _conversation(row)
        full = _rendered(tok, conv)
        # the prompt exactly as the evaluation renders it
        prompt = render_prompt(tok, Conversation(messages=conv.messages[:1], tools=conv.tools))
        assert full.startswith(prompt)
        return len(tok(full[len(prompt) :], add_special_tokens=False)["input_ids"])

    longest = max(answer_tokens(r) for s in ("eval_seen", "eval_unseen") for r in data[s])
    assert longest <= spec.max_new_tokens, (longest, spec.max_new_tokens)


def test_recipes_take_a_micro_policy_as_their_model() -> None:
    from ifrl.core.config import ConfigError, from_mapping
    from ifrl.pipelines.common import ModelSection, resolve_model

    path = resolve_model(from_mapping(ModelSection, {"path": "micro:arith-tiny"}))
    assert Path(path) == build_micro("arith-tiny").path  # the cached build, not a second one
    assert (Path(path) / "model.safetensors").exists()
    with pytest.raises(ConfigError, match="no micro policy 'tool-tiyn'"):
        from_mapping(ModelSection, {"path": "micro:tool-tiyn"})

"""Issue 17: every model-driven toolgen path end to end on the openai backend against a scripted
teacher (tests/support/teacher_server.py: a loopback OpenAI-compatible server that plays a
competent model for each role prompt, and on request a real model's failures), and each
failure rejected with its documented reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from teacher_server import TeacherServer  # tests/support
from toolgen_helpers import pool  # tests/toolgen

from ifrl.core.backends.openai import OpenAIGenerator
from ifrl.core.jsonl import read_jsonl, write_jsonl
from ifrl.core.records import SamplingParams
from ifrl.toolgen import (
    DialogGenerator,
    JudgeAuditConfig,
    JudgeVerifier,
    ModelAssistant,
    ModelTool,
    ModelUser,
    Planner,
    plant_items,
    run_judge_audit,
)
from ifrl.toolgen.apis import ModelApiGenerator, expand_tree
from ifrl.toolgen.dialog import Dialog
from ifrl.toolgen.seeds import SEED_TREE
from ifrl.toolgen.selfevolve import RoundConfig, run_round
from ifrl.toolgen.verify import rule_issues, verify_file

GREEDY = SamplingParams(temperature=0.0, max_new_tokens=64, seed=0)
POOL = pool(60)


def _teacher(failure: str | None) -> Iterator[tuple[TeacherServer, OpenAIGenerator]]:
    with TeacherServer(failure) as teacher:
        yield teacher, OpenAIGenerator(teacher.base_url, "teacher", mode="chat", timeout=10.0)


@pytest.fixture()
def competent() -> Iterator[tuple[TeacherServer, OpenAIGenerator]]:
    yield from _teacher(None)


def _dialogs(gen: OpenAIGenerator, n: int = 14) -> list[Any]:
    agents: dict[str, Any] = {
        "user": ModelUser(gen, GREEDY),
        "assistant": ModelAssistant(gen, GREEDY),
        "tool": ModelTool(gen, GREEDY),
    }
    return list(DialogGenerator(Planner(POOL, 0), batch_size=7, **agents).run(range(n)))


def test_every_stage_runs_against_a_competent_teacher(
    competent: tuple[TeacherServer, OpenAIGenerator], tmp_path: Path
) -> None:
    teacher, gen = competent
    # API pool and domain tree
    apis = ModelApiGenerator(gen, params=GREEDY, batch_size=4, max_attempts_factor=1)
    assert len(list(apis.generate(4))) == 4 and apis.stats["kept"] == 4
    _tree, stats = expand_tree(gen, SEED_TREE[:2], params=GREEDY)
    assert stats["added_subdomain"] == 2
    # Dialogs with all three agents played by the model: every type is produced, and the
    # rule layer passes the ones a careful single-step model can make.
    results = _dialogs(gen)
    made = [r.dialog for r in results if r.dialog is not None]
    assert len(made) == 14 and {d.type for d in made} == {
        "single", "parallel", "dependent", "non_tool", "clarify", "multi_request", "tool_error"
    }  # fmt: skip
    clean = [d for d in made if not rule_issues(d)]
    assert {d.type for d in clean} >= {"single", "parallel", "non_tool", "clarify", "tool_error"}
    # Dual-layer verification with the teacher as the judge model: nothing more is rejected.
    src = tmp_path / "dialogs.jsonl"
    write_jsonl(src, [d.to_json() for d in made])
    report = verify_file(
        src, tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl", judge=JudgeVerifier(gen, GREEDY)
    )
    assert report.kept == len(clean)
    assert not any(code.startswith("model.") for code in report.codes)
    # ToolACE-DEV: proposals, invocations, majority vote and grounding.
    round_stats, rows = run_round(
        gen, ["tide times for Brest", "book a table"], RoundConfig(k=3), 1
    )
    assert round_stats.survived == 2 and {r["task"] for r in rows} >= {"invocation", "query_tools"}
    # Every role was asked, through chat requests.
    assert set(teacher.roles) >= {"api", "tree", "user", "assistant", "tool", "judge", "proposal"}


def test_the_constraints_judge_runs_against_the_teacher(
    competent: tuple[TeacherServer, OpenAIGenerator],
) -> None:
    from ifrl.constraints.judge import JudgedConstraint, JudgeQuery, LLMJudge
    from ifrl.core.records import ConstraintSpec

    teacher, gen = competent
    spec = ConstraintSpec("soft:tone", {}, "soft")
    query = JudgeQuery("Write a haiku.", "An old pond.", (JudgedConstraint(spec, "Be polite."),))
    [[verdict]] = LLMJudge(gen).judge([query])
    assert verdict.status == "yes" and teacher.roles["constraints_judge"] == 1


def test_the_constraints_audit_exposes_a_judge_that_says_yes_to_everything() -> None:
    """``ifrl constraints audit``'s core on the openai backend: the honest teacher fails every
    non-compliant response (commas where none are allowed), the yes-judge none."""
    from ifrl.constraints.audit import run_audit
    from ifrl.constraints.judge import LLMJudge
    from ifrl.core.records import ConstrainedPrompt, ConstraintSpec

    no_comma = (ConstraintSpec("punctuation:no_comma", {}, "hard"),)
    items = [
        ConstrainedPrompt(f"p{i}", "Describe the sea without commas.", no_comma, response)
        for i, response in enumerate(
            ["The sea is wide and blue.", "The sea is wide, deep, and blue.", "Waves roll in.",
             "Salt, wind, foam."]
        )
    ]  # fmt: skip
    rates = {}
    for failure in (None, "yes_judge"):
        for _server, gen in _teacher(failure):
            report, _ = run_audit(items, {"teacher": LLMJudge(gen, mode="pointwise")})
            rates[failure] = report["judges"]["teacher"]["overall"]["recall_noncompliant"]
    assert rates == {None: 1.0, "yes_judge": 0.0}


def test_a_judge_that_says_yes_to_everything_is_exposed_by_the_audit() -> None:
    clean = [r.dialog for r in DialogGenerator(Planner(POOL, 1)).run(range(30)) if r.dialog]
    clean = [d for d in clean if not rule_issues(d)]
    items = plant_items(clean, JudgeAuditConfig(dialogs=30, per_class=4))
    recall = {}
    for failure in (None, "yes_judge"):
        for _teacher_server, gen in _teacher(failure):
            verifier = JudgeVerifier(gen, GREEDY, checks=("hallucination",))
            row = run_judge_audit(items, verifier).to_dict()["checks"]["hallucination"]
            recall[failure] = row["recall"]["value"]
    assert recall["yes_judge"] == 0.0 < recall[None]


@pytest.mark.parametrize(
    ("failure", "reasons"),
    [
        ("hallucinated_function", {"assistant called unknown function 'lookup_everything'"}),
        ("truncated_json", {"assistant tool calls do not parse"}),
    ],
)
def test_broken_assistant_turns_fail_their_dialogs_with_the_reason(
    failure: str, reasons: set[str]
) -> None:
    for _server, gen in _teacher(failure):
        results = _dialogs(gen)
        failed = Counter(
            next(r for r in reasons if r in (x.reason or "")) for x in results if x.dialog is None
        )
        kept = [x.dialog for x in results if x.dialog is not None]
        # Only dialogs whose assistant never calls (non_tool) survive.
        assert {d.type for d in kept} <= {"non_tool"} and sum(failed.values()) >= 10


def test_truncated_json_is_rejected_everywhere_it_is_read(tmp_path: Path) -> None:
    for _server, gen in _teacher("truncated_json"):
        apis = ModelApiGenerator(gen, params=GREEDY, batch_size=4, max_attempts_factor=1)
        assert list(apis.generate(4)) == [] and apis.stats["rejected_output"] == 4
        _, stats = expand_tree(gen, SEED_TREE[:2], params=GREEDY)
        assert stats["rejected_not_json"] == 2
        dialog = next(r.dialog for r in DialogGenerator(Planner(POOL, 0)).run([0]) if r.dialog)
        verdicts = JudgeVerifier(gen, GREEDY).issues([dialog])[0]
        assert verdicts and {i.code for i in verdicts} == {"model.judge_unparseable"}
        stats_, rows = run_round(gen, ["tide times for Brest"], RoundConfig(k=2), 1)
        assert rows == [] and stats_.reasons["no_valid_tool_proposal"] == 1


def test_wrong_argument_types_are_rejected_by_the_rule_layer(tmp_path: Path) -> None:
    for _server, gen in _teacher("wrong_types"):
        made = [r.dialog for r in _dialogs(gen) if r.dialog is not None]
        src = tmp_path / "dialogs.jsonl"
        write_jsonl(src, [d.to_json() for d in made])
        report = verify_file(src, tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl")

        def numbers_as_strings(d: Dialog) -> bool:
            schemas = {t.name: t.properties for t in d.tools}
            return any(
                isinstance(value, str)
                and schemas.get(call.name, {}).get(arg, {}).get("type") in ("integer", "number")
                for m in d.messages
                for call in m.tool_calls
                for arg, value in call.arguments.items()
            )

        bad = [d for d in made if numbers_as_strings(d)]
        assert bad and report.codes["call.wrong_type"] >= len(bad)
        kept = [Dialog.from_json(row) for row in read_jsonl(tmp_path / "kept.jsonl")]
        # Every dialog with a number argument written as a string is rejected; what survives
        # has no rule issue at all.
        assert not any(numbers_as_strings(d) for d in kept)
        assert all(not rule_issues(d) for d in kept)


def test_prose_around_a_call_is_tolerated_the_call_extracted() -> None:
    """Documented behaviour: text around Hermes <tool_call> blocks is dropped and the calls
    kept (as vLLM's hermes parser does), so such dialogs pass like clean ones."""
    for _server, gen in _teacher("prose"):
        made = [r.dialog for r in _dialogs(gen) if r.dialog is not None]
        assert len(made) == 14
        calls = [m for d in made for m in d.messages if m.tool_calls]
        assert calls and all(m.content is None for m in calls)  # no prose kept with a call


def test_itool_mcts_on_the_openai_backend_finds_pairs(tiny_model_dir: Path) -> None:
    """iTool's search against the teacher's /v1/completions: the rendered prompt plus each
    node's prefix goes out as raw text, continuations come back with log-probabilities, and
    the tree yields pairs whose chosen side is the correct call."""
    import transformers

    from ifrl.core.matcher import match_text
    from ifrl.core.records import Conversation, Message, ToolCall, ToolSpec
    from ifrl.rltrain.deficiency import samples_from_conversation
    from ifrl.rltrain.mcts import MCTSConfig, SearchTree, search
    from ifrl.rltrain.pairs import tree_pairs

    weather = ToolSpec(
        "get_weather",
        "Weather forecast for a city.",
        {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    )
    gold = ToolCall("get_weather", {"city": "Paris", "days": 3})
    conv = Conversation(
        (
            Message("user", 'Please help me: city "Paris", days 3 (weather forecast for a city).'),
            Message("assistant", None, (gold,)),
        ),
        (weather,),
    )
    tok = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    [sample] = samples_from_conversation(tok, conv, "c0")
    for teacher, gen in _teacher(None):
        trees = [SearchTree(sample.prompt, {"gold_calls": [gold]}) for _ in range(3)]
        search(trees, gen, MCTSConfig(iterations=8, num_actions=4, seed=0))
        assert teacher.roles["completion"] >= 3
        pairs = [p for tree in trees for p in tree_pairs(tree)]
        assert pairs
        for pair in pairs:  # step-level: the pair's prompt holds the shared prefix
            assert pair.prompt.startswith(sample.prompt)
            prefix = pair.prompt[len(sample.prompt) :]
            assert match_text(prefix + pair.chosen, [gold]).exact
            assert not match_text(prefix + pair.rejected, [gold]).exact

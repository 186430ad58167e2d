"""Issue 17: a model sees a prompt only through its chat template.

Every call site that builds a model prompt is walked with :class:`TemplateSpy`, a generator that
does what the ``hf`` and ``vllm`` backends do with a prompt (``ifrl.core.chat.render_prompt``
with the tiny model's tokenizer) and records it. A plain ``str`` — which those backends would
send raw, without the template — fails the test. A ``Conversation`` is rendered by the template;
a ``RawText`` must be text the policy's own template wrote (the sampling prompt of a turn,
possibly followed by the start of the response a search continues).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

from ifrl.core.chat import render_prompt  # noqa: E402
from ifrl.core.generation import Prompt  # noqa: E402
from ifrl.core.records import (  # noqa: E402
    Completion,
    Conversation,
    Message,
    RawText,
    SamplingParams,
    ToolCall,
    ToolSpec,
)

GEN_PROMPT = "<|im_start|>assistant\n"  # the tiny template's generation prompt
WEATHER = ToolSpec(
    "get_weather",
    "Weather in a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
)
CALL = ToolCall("get_weather", {"city": "Paris"})
DIALOG = Conversation(
    (
        Message("user", "Weather in Paris?"),
        Message("assistant", None, (CALL,)),
        Message("tool", '{"temp": 12}'),
        Message("assistant", "12 degrees in Paris."),
    ),
    (WEATHER,),
)


class TemplateSpy:
    """Renders every prompt as a local backend would, records it under the current ``site``
    and answers with ``reply(prompt)``."""

    def __init__(self, tok: Any, reply: Callable[[Prompt], str] = lambda p: "ok") -> None:
        self.tok = tok
        self.reply = reply
        self.site = ""
        self.seen: dict[str, list[tuple[Prompt, str]]] = defaultdict(list)
        self.eos = int(tok.eos_token_id)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        out = []
        for p in prompts:
            assert not isinstance(p, str), f"{self.site}: a plain string prompt: {p[:80]!r}"
            assert isinstance(p, Conversation | RawText), f"{self.site}: {type(p).__name__}"
            self.seen[self.site].append((p, render_prompt(self.tok, p)))
            text = self.reply(p)
            ids = (*self.tok(text, add_special_tokens=False)["input_ids"][:3], self.eos)
            out.append(
                [
                    Completion(text, tuple(ids), tuple(-0.5 for _ in ids), finish_reason="stop")
                    for _ in range(params.n)
                ]
            )
        return out


@pytest.fixture(scope="module")
def tok(tiny_model_dir: Path) -> Any:
    return transformers.AutoTokenizer.from_pretrained(tiny_model_dir)


def _check(spy: TemplateSpy, site: str, raw_prefixes: Sequence[str] = ()) -> None:
    seen = spy.seen.get(site, [])
    assert seen, f"{site}: no prompt reached the model"
    for prompt, text in seen:
        assert text.startswith("<|im_start|>"), f"{site}: not rendered by the template"
        assert GEN_PROMPT in text, f"{site}: no generation prompt"
        if isinstance(prompt, Conversation):
            assert text.endswith(GEN_PROMPT), f"{site}: does not ask for the assistant turn"
        else:  # RawText: the policy's own rendering of a sampling prompt (+ a response prefix)
            assert any(text.startswith(p) for p in raw_prefixes), f"{site}: foreign raw text"


def _toolgen_reply(prompt: Prompt) -> str:
    """Answers good enough that each toolgen stage goes on to its next model call."""
    from ifrl.toolgen.apis import _API_SYSTEM
    from ifrl.toolgen.judges import SYSTEM as JUDGE_SYSTEM
    from ifrl.toolgen.selfevolve import QUERY_TOOLS_SYSTEM

    assert isinstance(prompt, Conversation)
    system = prompt.messages[0].content if prompt.messages[0].role == "system" else ""
    if system == _API_SYSTEM:
        return json.dumps(
            {
                "name": "get_tide_times",
                "description": "Get the tide times for a harbour on a day.",
                "parameters": {
                    "type": "object",
                    "properties": {"harbour": {"type": "string", "description": "Harbour"}},
                    "required": ["harbour"],
                },
                "responses": {"type": "object", "properties": {"high": {"type": "string"}}},
            }
        )
    if system == JUDGE_SYSTEM:
        return '{"verdict": "pass", "reason": "ok"}'
    if system == QUERY_TOOLS_SYSTEM:
        return json.dumps([WEATHER.definition()])
    if system and "simulate an API" in system:
        return '{"temp": 12}'
    if prompt.tools:  # the assistant: call the first tool
        return '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    return "Weather in Paris please, for 2025-05-05."


def test_every_toolgen_prompt_goes_through_the_chat_template(
    tok: Any, tiny_model_dir: Path
) -> None:
    from ifrl.toolgen.apis import ModelApiGenerator, ProgrammaticApiGenerator, expand_tree
    from ifrl.toolgen.dialog import Dialog
    from ifrl.toolgen.dialogs.agents import DialogState
    from ifrl.toolgen.dialogs.complexity import HFLossScorer, complexity_sample
    from ifrl.toolgen.dialogs.model_agents import ModelAssistant, ModelTool, ModelUser
    from ifrl.toolgen.dialogs.plans import Planner
    from ifrl.toolgen.judges import JudgeVerifier
    from ifrl.toolgen.seeds import SEED_TREE
    from ifrl.toolgen.selfevolve import RoundConfig, run_round

    spy = TemplateSpy(tok, _toolgen_reply)
    short = SamplingParams(max_new_tokens=8, seed=0)
    spy.site = "api_generator"
    list(ModelApiGenerator(spy, params=short, batch_size=2, max_attempts_factor=1).generate(1))
    spy.site = "expand_tree"
    expand_tree(spy, SEED_TREE[:1], params=short)

    planner = Planner(list(ProgrammaticApiGenerator(0).generate(40)), 0)
    user, assistant, tool = ModelUser(spy, short), ModelAssistant(spy, short), ModelTool(spy, short)
    spy.site = "user.open"
    user.open([DialogState(planner.plan(i)) for i in range(3)])
    ask = DialogState(planner.plan(0, "clarify"))
    ask.messages = [Message("user", "Book it"), Message("assistant", "For which date?")]
    spy.site = "user.clarify"
    user.clarify([ask])
    spy.site = "user.follow_up"
    user.follow_up([DialogState(planner.plan(0, "multi_request"))])
    state = DialogState(planner.plan(0, "single"))
    state.messages = [Message("user", "Please do it")]
    spy.site = "assistant.respond"
    assistant.respond([state])
    api = state.plan.tools[0]
    spy.site = "tool.execute"
    tool.execute([(state, api, ToolCall(api.name, {}, id="call_0"))])

    spy.site = "verification_judge"
    dialog = Dialog("single", DIALOG.tools, DIALOG.messages)
    JudgeVerifier(spy, short).verdicts([dialog])

    spy.site = "selfevolve"
    run_round(spy, ["weather in Paris"], RoundConfig(k=2, proposals=1), 1)
    proposals = [p for p, _ in spy.seen["selfevolve"] if not p.tools]  # type: ignore[union-attr]
    samples = [p for p, _ in spy.seen["selfevolve"] if p.tools]  # type: ignore[union-attr]
    assert proposals and samples  # both the tool proposal and the invocation sampling

    for site in (
        "api_generator",
        "expand_tree",
        "user.open",
        "user.clarify",
        "user.follow_up",
        "assistant.respond",
        "tool.execute",
        "verification_judge",
        "selfevolve",
    ):
        _check(spy, site)

    # The complexity evaluator scores the first assistant turn after the target model's own
    # sampling prompt (not a hand-made "tools: ...\nassistant: " text).
    scorer = HFLossScorer(str(tiny_model_dir))
    sample = complexity_sample(dialog)
    assert sample is not None
    x, t = scorer.texts(sample)
    assert x == render_prompt(tok, Conversation(sample.messages[:-1], sample.tools))
    assert x.endswith(GEN_PROMPT) and "get_weather" in x and t.startswith("<tool_call>")


def test_every_constraints_judge_prompt_goes_through_the_chat_template(tok: Any) -> None:
    from ifrl.constraints.judge import JudgedConstraint, JudgeQuery, LLMJudge
    from ifrl.core.records import ConstraintSpec

    spy = TemplateSpy(tok, lambda p: "YES")
    spy.site = "constraints_judge"
    spec = ConstraintSpec("soft:tone", {}, "soft")
    query = JudgeQuery("Write a haiku.", "An old pond.", (JudgedConstraint(spec, "Be polite."),))
    LLMJudge(spy).judge([query])
    _check(spy, "constraints_judge")


@pytest.mark.filterwarnings("ignore::UserWarning")  # one scripted GRPO step learns nothing
def test_every_rltrain_prompt_is_a_template_rendering(
    tok: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from ifrl.rltrain.deficiency import samples_from_conversation, select_by_sampling
    from ifrl.rltrain.grpo import GRPOConfig, GRPOTrainer
    from ifrl.rltrain.mcts import MCTSConfig, SearchTree, search
    from ifrl.rltrain.pairs import best_vs_worst

    spy = TemplateSpy(tok, lambda p: 'get_weather(city="Paris")')
    samples = samples_from_conversation(tok, DIALOG, "c0")
    prompts = [s.prompt for s in samples]
    # Each sample's prompt is the template's sampling prompt of its turn.
    assert prompts[0] == render_prompt(tok, Conversation(DIALOG.messages[:1], DIALOG.tools))
    spy.site = "deficiency"
    select_by_sampling(samples, spy, k=2, min_wrong=1)
    gold = [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    spy.site = "mcts_expansion"
    trees = [SearchTree(prompts[0], {"gold_calls": gold})]
    search(trees, spy, MCTSConfig(iterations=3, num_actions=2, seed=0))
    spy.site = "best_vs_worst"
    best_vs_worst(prompts[:1], spy, 2, columns=[{"gold_calls": gold}])
    for site in ("deficiency", "mcts_expansion", "best_vs_worst"):
        _check(spy, site, prompts)

    # GRPO rollouts: chat rows through the template, string rows explicitly raw (TRL's
    # "standard" format).
    spy.site = "grpo"
    cfg = GRPOConfig(
        model=str(tiny_model_dir),
        output_dir=str(tmp_path / "grpo"),
        per_device_batch_size=2,
        num_generations=2,
        max_completion_length=4,
        max_steps=1,
        progress=False,
        save_final_model=False,
    )
    rows = [{"prompt": [{"role": "user", "content": "Say hi"}]}]
    GRPOTrainer(
        cfg,
        reward_funcs=[lambda prompts, completions, **_: [1.0] * len(completions)],
        train_data=rows,
        generator=spy,
    ).train()
    _check(spy, "grpo")
    assert all(isinstance(p, Conversation) for p, _ in spy.seen["grpo"])


def test_every_eval_prompt_goes_through_the_chat_template(tok: Any, tmp_path: Path) -> None:
    from ifrl.evals.benchmark import get_benchmark, run
    from ifrl.evals.tool_use import ToolUseCase, evaluate_tool_calls
    from ifrl.pipelines.recipes.itool import evaluate_heldout, heldout_cases
    from ifrl.rltrain.deficiency import samples_from_conversation

    spy = TemplateSpy(tok, lambda p: "The answer is 4.")
    ifeval = tmp_path / "ifeval.jsonl"
    ifeval.write_text(
        json.dumps(
            {
                "key": 1,
                "prompt": "Write a poem without commas.",
                "instruction_id_list": ["punctuation:no_comma"],
                "kwargs": [{}],
            }
        )
        + "\n"
    )
    gsm8k = tmp_path / "gsm8k.jsonl"
    gsm8k.write_text(json.dumps({"question": "What is 2+2?", "answer": "2+2=4\n#### 4"}) + "\n")
    for name, data in (("ifeval", ifeval), ("ifbench", ifeval), ("gsm8k", gsm8k)):
        spy.site = name
        run(get_benchmark(name, data=str(data)), tmp_path / name, generator=spy, batch_size=1)
        _check(spy, name)
    spy.site = "tool_use"
    case = ToolUseCase("c0", Conversation(DIALOG.messages[:1], DIALOG.tools), (CALL,))
    evaluate_tool_calls([case], generator=spy)
    _check(spy, "tool_use")
    # iTool's held-out evaluation: the rendered sampling prompts, as raw text.
    samples = samples_from_conversation(tok, DIALOG, "eval0")
    spy.site = "itool_heldout"
    evaluate_heldout(spy, samples, heldout_cases([DIALOG], samples))
    _check(spy, "itool_heldout", [s.prompt for s in samples])

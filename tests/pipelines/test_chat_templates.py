"""Issue 17: real tool-calling chat templates (tests/fixtures/chat_templates: Qwen2.5,
Llama-3.1, Mistral v0.3, Hermes-2-Pro) under exports, SFT loss masks and train/run-time parity.

* Every export format round-trips through import, and the rows render under every template
  with each call's arguments written exactly once-encoded.
* SFT labels cover exactly the assistant turns under each template.
* Parity: for every task the project trains and later samples from (SFT rows, the ToolACE-DEV
  sub-tasks, iTool samples, GRPO prompts), the run-time prompt's tokens are a prefix of the
  training row's tokens and the trained tokens start right after it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

from toolgen_helpers import pool  # noqa: E402  (tests/toolgen)

from ifrl.core.chat import encode_prompt, render_chat  # noqa: E402
from ifrl.core.records import Conversation, Message, RawText  # noqa: E402
from ifrl.rltrain.deficiency import samples_from_conversation  # noqa: E402
from ifrl.rltrain.models import prompt_token_ids  # noqa: E402
from ifrl.rltrain.sft import IGNORE, tokenize_conversation  # noqa: E402
from ifrl.toolgen import DialogGenerator, Planner  # noqa: E402
from ifrl.toolgen.dialog import Dialog  # noqa: E402
from ifrl.toolgen.exports import IMPORTERS, export, to_openai  # noqa: E402
from ifrl.toolgen.selfevolve import doc_prompt, proposal_prompt, subtask_rows  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "chat_templates"
TEMPLATES = ["qwen2_5", "llama3_1", "mistral_v0_3", "hermes_2_pro"]
DIALOGS = [r.dialog for r in DialogGenerator(Planner(pool(80), 1)).run(range(28)) if r.dialog]


@pytest.fixture(scope="module")
def toks(tiny_model_dir: Path) -> dict[str, Any]:
    out = {}
    for name in TEMPLATES:
        tok = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
        tok.chat_template = (FIXTURES / f"{name}.jinja").read_text()
        out[name] = tok
    return out


def _portable(dialog: Dialog) -> Conversation:
    """The dialog as its ``openai`` export carries it (9-character call ids)."""
    return Conversation.from_openai(to_openai(dialog))


def _renders(name: str, conv: Conversation) -> bool:
    """Llama-3.1's template takes one call per assistant turn (it raises otherwise)."""
    return name != "llama3_1" or all(len(m.tool_calls) <= 1 for m in conv.messages)


def _same(a: Dialog, b: Dialog) -> None:
    def turns(d: Dialog) -> list[Any]:
        return [
            (
                m.role,
                m.content or None,
                [(c.name, c.arguments) for c in m.tool_calls],
                json.loads(m.content or "null") if m.role == "tool" else None,
            )
            for m in d.messages
        ]

    assert turns(a) == turns(b)
    assert [(t.name, t.parameters.get("properties")) for t in a.tools] == [
        (t.name, t.parameters.get("properties")) for t in b.tools
    ]


def test_the_dialogs_cover_every_shape() -> None:
    kinds = {d.type for d in DIALOGS}
    assert kinds >= {"single", "parallel", "dependent", "non_tool", "clarify", "tool_error"}


@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "hermes", "xlam", "toolace"])
def test_every_export_format_round_trips_through_import(fmt: str) -> None:
    rows = list(export(DIALOGS, fmt))  # type: ignore[arg-type]
    written = [(d, r) for d, r in zip(DIALOGS, rows) if isinstance(r, dict)]
    if fmt == "xlam":  # one request and its calls: the dialogs whose first turn calls
        for d, r in zip(DIALOGS, rows):
            first = next(m for m in d.messages if m.role == "assistant")
            assert isinstance(r, dict) == bool(first.tool_calls), d.type
        assert len(written) >= len(DIALOGS) // 2
    else:
        assert len(written) == len(DIALOGS)
    for dialog, row in written:
        back = IMPORTERS[fmt](json.loads(json.dumps(row)))  # through JSON, as a file holds it
        if fmt == "xlam":
            first = next(i for i, m in enumerate(dialog.messages) if m.role == "assistant")
            dialog = dialog.replace(messages=dialog.messages[: first + 1])
        _same(dialog, back)
        if fmt != "xlam":
            assert back.type == dialog.type


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "hermes", "xlam"])
def test_exported_rows_render_their_arguments_once_encoded(
    toks: dict[str, Any], name: str, fmt: str
) -> None:
    tok = toks[name]
    rendered = 0
    for row in export(DIALOGS, fmt):  # type: ignore[arg-type]
        if isinstance(row, Exception):
            continue
        # What a trainer reads: the openai row itself; the other formats through import.
        conv = (
            Conversation.from_openai(row) if fmt == "openai" else _portable(IMPORTERS[fmt](row))  # type: ignore[index]
        )
        if not _renders(name, conv):
            with pytest.raises(Exception, match="single tool-calls"):
                render_chat(tok, conv, len(conv.messages), False)
            continue
        text = render_chat(tok, conv, len(conv.messages), False)
        for call in (c for m in conv.messages for c in m.tool_calls):
            once = json.dumps(call.arguments, ensure_ascii=False)
            assert once in text, (name, fmt, once)
            assert json.dumps(once, ensure_ascii=False) not in text  # never a JSON string
        rendered += 1
    assert rendered >= 5
    # The bug the default avoids: arguments exported as strings are double-encoded.
    strings = next(
        r
        for r in export(DIALOGS, "openai", arguments="string")
        if isinstance(r, dict) and any(m.get("tool_calls") for m in r["messages"])
    )
    first_call = next(m for m in strings["messages"] if m.get("tool_calls"))["tool_calls"][0]
    text = tok.apply_chat_template(strings["messages"], tools=strings["tools"], tokenize=False)
    doubled = json.dumps(first_call["function"]["arguments"], ensure_ascii=False)
    assert (doubled in text) == (name != "hermes_2_pro")  # Hermes writes a string as it is


@pytest.mark.parametrize("name", TEMPLATES)
def test_sft_labels_cover_exactly_the_assistant_turns(toks: dict[str, Any], name: str) -> None:
    tok = toks[name]
    checked = 0
    for dialog in DIALOGS:
        conv = dialog.conversation()  # ids like call_0: rendering makes them portable
        if not _renders(name, conv):
            continue
        ex = tokenize_conversation(tok, conv, 8192)
        kept = tok.decode([t for t, lab in zip(ex.input_ids, ex.labels) if lab != IGNORE])
        dropped = tok.decode([t for t, lab in zip(ex.input_ids, ex.labels) if lab == IGNORE])
        for m in conv.messages:
            if m.role == "assistant":
                for c in m.tool_calls:
                    assert json.dumps(c.arguments, ensure_ascii=False) in kept
                if m.content:
                    assert m.content.strip() in kept
            elif m.content and len(m.content) > 12:
                assert m.content.strip() not in kept, (name, m.role)
        for marker in ("<tools>", "[AVAILABLE_TOOLS]", "Environment: ipython", "<tool_response>"):
            assert marker not in kept
        assert "user" not in kept.replace("user_", "")  # no role header of a user turn
        assert dropped  # the prompt side is there, unlabelled
        checked += 1
    assert checked >= 10


def _prefix_and_start(tok: Any, prompt: Any, row: Conversation) -> None:
    """The run-time prompt's tokens are a prefix of the training row's tokens, and the row's
    last turn is trained from the token right after it (the prompt's own end is not)."""
    ids = encode_prompt(tok, prompt)
    ex = tokenize_conversation(tok, row, 8192)
    assert list(ex.input_ids[: len(ids)]) == ids
    assert ex.labels[len(ids) - 1] == IGNORE and ex.labels[len(ids)] != IGNORE
    if sum(m.role == "assistant" for m in row.messages) == 1:
        assert next(i for i, lab in enumerate(ex.labels) if lab != IGNORE) == len(ids)


@pytest.mark.parametrize("name", TEMPLATES)
def test_sft_and_itool_rows_start_with_their_sampling_prompt(
    toks: dict[str, Any], name: str
) -> None:
    """Each assistant turn's training row (the conversation through that turn) starts with the
    very prompt the model answers at sampling time (iTool samples it as RawText)."""
    tok = toks[name]
    for dialog in DIALOGS[:14]:
        conv = _portable(dialog)
        if not _renders(name, conv):
            continue
        for sample in samples_from_conversation(tok, conv, "c"):
            turn = int(sample.meta["turn"])
            row = Conversation(conv.messages[: turn + 1], conv.tools)
            asked = Conversation(conv.messages[:turn], conv.tools)
            assert encode_prompt(tok, RawText(sample.prompt)) == encode_prompt(tok, asked)
            _prefix_and_start(tok, asked, row)


@pytest.mark.parametrize("name", TEMPLATES)
def test_whole_sft_rows_extend_each_turns_prompt_except_under_mistral(
    toks: dict[str, Any], name: str
) -> None:
    """A multi-turn SFT row trains every assistant turn at once. Under Qwen2.5, Llama-3.1 and
    Hermes the row extends each turn's sampling prompt; Mistral v0.3 moves its tool list to the
    latest user message, so a turn before a later request is trained in a context that differs
    from the one it is sampled in (the masks still find every turn)."""
    tok = toks[name]
    sessions = [_portable(d) for d in DIALOGS if d.type in ("multi_request", "clarify")]
    sessions = [c for c in sessions if _renders(name, c)]
    assert sessions
    diverged = 0
    for conv in sessions:
        full = render_chat(tok, conv, len(conv.messages), False)
        for i, m in enumerate(conv.messages):
            if m.role == "assistant":
                prompt = render_chat(tok, conv, i, True)
                diverged += not full.startswith(prompt)
    assert (diverged > 0) == (name == "mistral_v0_3")


@pytest.mark.parametrize("name", TEMPLATES)
def test_toolace_dev_subtasks_are_asked_as_they_are_trained(
    toks: dict[str, Any], name: str
) -> None:
    tok = toks[name]
    dialog = next(d for d in DIALOGS if d.type == "single")
    conv = _portable(dialog)
    query = conv.messages[0].content or ""
    calls = [c for m in conv.messages for c in m.tool_calls]
    rows = {r["task"]: r for r in subtask_rows(query, conv.tools, calls)}
    run_time = {
        "invocation": Conversation((Message("user", query),), conv.tools),
        "query_tools": proposal_prompt(query),
        "tool_doc": doc_prompt(query, calls[0]),
    }
    for task, prompt in run_time.items():
        row = Conversation.from_openai({k: v for k, v in rows[task].items() if k != "task"})
        _prefix_and_start(tok, prompt, row)


@pytest.mark.parametrize("name", TEMPLATES)
def test_grpo_prompts_are_the_prefix_of_what_the_loss_sees(toks: dict[str, Any], name: str) -> None:
    """GRPO samples from ``prompt_token_ids`` and scores prompt + completion tokens with the
    same ids; the chat row of that answer (as SFT would render it) starts with them too."""
    tok = toks[name]
    asked = Conversation((Message("user", "Write a haiku about rain."),))
    ids = prompt_token_ids(tok, asked)
    assert ids == encode_prompt(tok, asked)
    _prefix_and_start(tok, asked, Conversation((*asked.messages, Message("assistant", "Rain."))))


def test_trl_sft_trainer_tokenises_an_exported_file_as_we_render_it(
    toks: dict[str, Any], tiny_model_dir: Path, tmp_path: Path
) -> None:
    """``ifrl toolgen export --format openai`` feeds TRL's SFTTrainer unchanged: it loads the
    file with ``datasets`` and tokenises every row to exactly the tokens of our own rendering
    (Qwen2.5 template), arguments once-encoded."""
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    tok = toks["qwen2_5"]
    rows = [r for r in export(DIALOGS[:8], "openai") if isinstance(r, dict)]
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = datasets.load_dataset("json", data_files=str(path), split="train")
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    args = trl.SFTConfig(
        output_dir=str(tmp_path / "trl"),
        max_steps=1,
        report_to=[],
        max_length=8192,
        per_device_train_batch_size=1,
        use_cpu=True,
        bf16=False,
    )
    trainer = trl.SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok)
    assert len(trainer.train_dataset) == len(rows)
    for i, row in enumerate(rows):
        conv = Conversation.from_openai(row)
        ours = tok(render_chat(tok, conv, len(conv.messages), False), add_special_tokens=False)
        assert list(trainer.train_dataset[i]["input_ids"]) == list(ours["input_ids"])
        text = tok.decode(trainer.train_dataset[i]["input_ids"])
        for call in (c for m in conv.messages for c in m.tool_calls):
            assert f'"arguments": {json.dumps(call.arguments, ensure_ascii=False)}' in text

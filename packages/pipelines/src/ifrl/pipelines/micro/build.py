"""Build, cache and describe micro policies (see the package docstring)."""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import platform
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifrl.core.jsonl import atomic_dir
from ifrl.core.records import Conversation
from ifrl.core.stats import proportion
from ifrl.core.tiny import cache_root, portable_tokenizer_config
from ifrl.pipelines.micro.spec import MicroSpec, get_spec

if TYPE_CHECKING:
    from ifrl.rltrain.sft import SFTConfig

CARD_JSON = "card.json"
CARD_MD = "CARD.md"
CARD_VERSION = 1
#: Modules whose source decides the built weights, per domain: their text enters the cache key
#: (the spec's values enter it as settings, so ``spec.py`` itself is not hashed).
CODE_MODULES = {
    "tool": (
        "ifrl.pipelines.micro.tools",
        "ifrl.pipelines.micro.circuits",
        "ifrl.rltrain.sft",
        "ifrl.rltrain.loop",
    ),
    "if": (
        "ifrl.pipelines.micro.instructions",
        "ifrl.pipelines.micro.circuits",
        "ifrl.rltrain.sft",
        "ifrl.rltrain.loop",
    ),
    "arith": ("ifrl.pipelines.micro.arith", "ifrl.prm.synthetic", "ifrl.prm.fit"),
}
SHARED_MODULES = (
    "ifrl.pipelines.micro.build",
    "ifrl.core.tiny",
    "ifrl.core.chat",
    "ifrl.rltrain.data",
)
#: Libraries whose versions decide the built weights.
LIBRARIES = ("torch", "transformers", "tokenizers", "safetensors")


@dataclass(frozen=True)
class BuildResult:
    """Where a micro policy is, whether it came from the cache, and its card."""

    path: Path
    cached: bool
    card: dict[str, Any]


def code_version(domain: str) -> str:
    """A hash of the source of the domain's :data:`CODE_MODULES`, :data:`SHARED_MODULES` and
    the versions of :data:`LIBRARIES`."""
    h = hashlib.sha256()
    for name in (*SHARED_MODULES, *CODE_MODULES[domain]):
        module = importlib.import_module(name)
        source = Path(module.__file__ or "").read_bytes()
        h.update(name.encode() + b"\0" + source + b"\0")
    for lib in LIBRARIES:
        try:
            h.update(f"{lib}=={version(lib)}\0".encode())
        except PackageNotFoundError:
            h.update(f"{lib}==missing\0".encode())
    return h.hexdigest()


def _jsonl_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(r, sort_keys=True, ensure_ascii=False).encode() + b"\n" for r in rows
    )


def domain_data(spec: MicroSpec) -> dict[str, list[dict[str, Any]]]:
    """The spec's data as JSON rows per split (``train`` and one or more ``eval_*``)."""
    if spec.domain == "tool":
        from ifrl.pipelines.micro.tools import tool_data

        return {
            k: [c.to_openai(arguments_as="object") for c in v] for k, v in tool_data(spec).items()
        }
    if spec.domain == "if":
        from ifrl.pipelines.micro.instructions import if_data

        return if_data(spec)
    if spec.domain == "arith":
        from ifrl.pipelines.micro.arith import arith_data

        return arith_data(spec)
    raise ValueError(f"unknown domain {spec.domain!r}")


def cache_key(spec: MicroSpec, data_hash: str, code: str | None = None) -> str:
    """The content hash a build is cached under: settings + code version + data."""
    payload = {
        "card_version": CARD_VERSION,
        "spec": spec.to_dict(),
        "code": code or code_version(spec.domain),
        "data": data_hash,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def micro_root() -> Path:
    """``$IFRL_CACHE/micro``."""
    return cache_root() / "micro"


def _planned(
    spec: MicroSpec,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, bytes], str, str, str]:
    """The spec's data, its JSONL bytes per split, their hash, the code version and the key."""
    data = domain_data(spec)
    blobs = {k: _jsonl_bytes(v) for k, v in data.items()}
    data_hash = hashlib.sha256(
        b"".join(k.encode() + b"\0" + hashlib.sha256(b).digest() for k, b in sorted(blobs.items()))
    ).hexdigest()
    code = code_version(spec.domain)
    return data, blobs, data_hash, code, cache_key(spec, data_hash, code)


@functools.cache
def policy_key(name: str) -> str:
    """The cache key the registered micro policy ``name`` has with the code, settings and data
    as they stand (seconds: it generates the data to hash it; computed once per process)."""
    return _planned(get_spec(name))[-1]


def is_built(name_or_spec: str | MicroSpec) -> bool:
    """Whether the cache holds a build of these exact settings, data and code (seconds: it
    generates the data to hash it)."""
    spec = get_spec(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    key = _planned(spec)[-1]
    card = read_card(micro_root() / f"{spec.name}-{key[:16]}")
    return card is not None and card.get("key") == key


def build_micro(
    name_or_spec: str | MicroSpec,
    *,
    out_dir: str | Path | None = None,
    force: bool = False,
    echo: Callable[[str], None] | None = None,
    progress: bool = False,
) -> BuildResult:
    """Build (or reuse) the micro policy ``name_or_spec`` and return where it is.

    ``echo`` receives one line per step (with the time the last build of the same name took
    here, when one is cached); ``progress`` shows the training's progress bar.

    The directory is ``$IFRL_CACHE/micro/<name>-<key[:16]>`` (or ``out_dir``); a directory
    holding a card with the same key is reused unless ``force``. The build happens in a
    temporary directory renamed into place, so no reader sees a half-written model.
    """
    spec = get_spec(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    say = echo or (lambda _m: None)
    started = time.perf_counter()
    data, blobs, data_hash, code, key = _planned(spec)
    target = Path(out_dir) if out_dir is not None else micro_root() / f"{spec.name}-{key[:16]}"
    card = read_card(target)
    if card is not None and card.get("key") == key and not force:
        say(f"cached: {target}")
        return BuildResult(target, True, card)
    if target.exists() and card is None and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and holds no micro policy")
    last = last_build_seconds(spec.name)
    about = f", about {last / 60:.1f} min (the last build here)" if last else ""
    say(f"building {spec.name} ({spec.domain}) into {target}{about}")
    with atomic_dir(target) as tmp:
        (tmp / "data").mkdir()
        for split, blob in blobs.items():
            (tmp / "data" / f"{split}.jsonl").write_bytes(blob)
        prep_seconds = time.perf_counter() - started
        report = _train_and_evaluate(spec, data, tmp, say, progress)
        card = {
            "card_version": CARD_VERSION,
            "name": spec.name,
            "domain": spec.domain,
            "description": spec.description,
            "key": key,
            "code_version": code,
            "settings": spec.to_dict(),
            "data": {
                "sha256": data_hash,
                "splits": {k: len(v) for k, v in data.items()},
                "files": {k: f"data/{k}.jsonl" for k in data},
                "held_out": report.pop("held_out"),
            },
            **report,
            "time": {
                "data_seconds": round(prep_seconds, 2),
                "train_seconds": round(report.pop("train_seconds"), 2),
                "eval_seconds": round(report.pop("eval_seconds"), 2),
                "total_seconds": round(time.perf_counter() - started, 2),
                "threads": spec.threads,
            },
            "environment": {
                "python": platform.python_version(),
                **{lib: _version(lib) for lib in LIBRARIES},
            },
        }
        (tmp / CARD_JSON).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
        (tmp / CARD_MD).write_text(card_markdown(card))
    say(f"built {target} in {card['time']['total_seconds']:.0f} s")
    return BuildResult(target, False, card)


def _version(lib: str) -> str:
    try:
        return version(lib)
    except PackageNotFoundError:
        return "missing"


def read_card(path: str | Path) -> dict[str, Any] | None:
    """The card of the micro policy at ``path`` (``None`` when there is none)."""
    file = Path(path) / CARD_JSON
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _train_and_evaluate(
    spec: MicroSpec,
    data: dict[str, list[dict[str, Any]]],
    out: Path,
    say: Callable[[str], None],
    progress: bool = False,
) -> dict[str, Any]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(spec.threads)
    try:
        if spec.domain == "arith":
            from ifrl.pipelines.micro.arith import build_arith

            return build_arith(spec, data, out, say)
        return _build_chat(spec, data, out, say, progress)
    finally:
        torch.set_num_threads(threads)


# -- chat domains (tool calling, instruction following): a model from scratch, SFT through
# ifrl.rltrain ------------------------------------------------------------------------------


def _conversation(row: dict[str, Any]) -> Conversation:
    return Conversation.from_openai({k: row[k] for k in ("messages", "tools") if k in row})


def _rendered(tokenizer: Any, conv: Conversation) -> str:
    """``conv`` (its tools included) as the tokenizer's chat template writes it."""
    tools = [t.to_openai() for t in conv.tools] or None
    return str(tokenizer.apply_chat_template(conv.chat(), tools=tools, tokenize=False))


def _length(tokenizer: Any, conv: Conversation) -> int:
    return len(tokenizer(_rendered(tokenizer, conv), add_special_tokens=False)["input_ids"])


def new_model(spec: MicroSpec, tokenizer: Any) -> Any:
    """A seeded, untrained Qwen2 causal LM of the spec's size over ``tokenizer``; with
    ``spec.init == "induction"`` it starts with the hand-written induction circuit."""
    from transformers import Qwen2Config

    from ifrl.core.tiny import seeded_model

    settings: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "hidden_size": spec.hidden_size,
        "intermediate_size": spec.intermediate_size,
        "num_hidden_layers": spec.num_layers,
        "num_attention_heads": spec.num_heads,
        "num_key_value_heads": spec.num_kv_heads,
        "head_dim": spec.hidden_size // spec.num_heads,
        "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-6,
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "torch_dtype": "float32",
    }
    model = seeded_model(Qwen2Config(**settings), tokenizer, spec.seed)
    if spec.init == "induction":
        from ifrl.pipelines.micro.circuits import InductionCircuit, write_induction_circuit

        write_induction_circuit(model, InductionCircuit(seed=spec.seed))
    elif spec.init != "random":
        raise ValueError(f"unknown init {spec.init!r} (random, induction)")
    return model


def domain_tokenizer(
    train: Sequence[Conversation], vocab_size: int, template: str | None = None
) -> Any:
    """The micro policy's tokenizer: the ``ifrl.core.tiny`` tokenizer when ``vocab_size`` is 0,
    else one trained on the tiny corpus plus the ``train`` conversations as ``template`` renders
    them (at most ``vocab_size`` entries); its chat template is ``template`` (or the tiny one)."""
    from ifrl.core.tiny import build_tokenizer

    base = build_tokenizer()
    if template is not None:
        base.chat_template = template
    if vocab_size <= 0:
        return base
    tokenizer = build_tokenizer([_rendered(base, c) for c in train], vocab_size)
    tokenizer.chat_template = base.chat_template
    return tokenizer


def sft_config(spec: MicroSpec, run_dir: str | Path, progress: bool = False) -> SFTConfig:
    """The SFT settings a chat-domain micro policy trains with: the spec's steps, batch, peak
    learning rate and warmup, then cosine; packed rows of ``spec.max_length``; no final save."""
    from ifrl.rltrain.sft import SFTConfig

    return SFTConfig(
        output_dir=str(run_dir),
        seed=spec.seed,
        max_steps=spec.steps,
        per_device_batch_size=spec.batch_size,
        learning_rate=spec.learning_rate,
        lr_scheduler="cosine",
        warmup_steps=spec.warmup_steps,
        weight_decay=0.0,
        max_length=spec.max_length,
        packing=True,
        progress=progress,
        save_final_model=False,
        save_total_limit=1,
    )


def _build_chat(
    spec: MicroSpec,
    data: dict[str, list[dict[str, Any]]],
    out: Path,
    say: Callable[[str], None],
    progress: bool = False,
) -> dict[str, Any]:
    import torch

    from ifrl.pipelines.micro.tools import COMPACT_TEMPLATE
    from ifrl.rltrain.sft import SFTTrainer

    every = [_conversation(r) for r in data["train"]]
    template = COMPACT_TEMPLATE if spec.domain == "tool" else None
    tokenizer = domain_tokenizer(every, spec.vocab_size, template)
    model = new_model(spec, tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    train = [c for c in every if _length(tokenizer, c) <= spec.max_length]
    with tempfile.TemporaryDirectory(prefix="sft.", dir=out) as run_dir:
        config = sft_config(spec, run_dir, progress)
        t0 = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)
            trainer = SFTTrainer(config, model=model, tokenizer=tokenizer, train_data=train)
            result = trainer.train()
        train_seconds = time.perf_counter() - t0
        metrics_rows = [
            json.loads(line)
            for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
            if line.strip()
        ]
    trained: Any = trainer.policy
    trained.eval()
    trained.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    portable_tokenizer_config(out / "tokenizer_config.json")
    tokens = sum(len(e.input_ids) for e in trainer.examples)  # one pass over the packed rows
    rows_seen = spec.steps * spec.batch_size
    say(f"trained {spec.steps} steps in {train_seconds:.0f} s; evaluating")
    t1 = time.perf_counter()
    if spec.domain == "tool":
        metrics = evaluate_tool_model(trained, tokenizer, data, spec.max_new_tokens)
    else:
        metrics = evaluate_if_model(trained, tokenizer, data, spec.max_new_tokens)
    eval_seconds = time.perf_counter() - t1
    return {
        "model": {
            "architecture": "qwen2",
            "parameters": n_params,
            "hidden_size": spec.hidden_size,
            "layers": spec.num_layers,
            "vocab_size": len(tokenizer),
            "tokenizer": (
                f"BPE on the tiny corpus + the {len(every)} training conversations"
                if spec.vocab_size > 0
                else "ifrl.core.tiny BPE"
            ),
            "chat_template": "ifrl.core.tiny ChatML"
            + (", tools as one signature a line" if spec.domain == "tool" else ""),
        },
        "training": {
            "trainer": "ifrl.rltrain.SFTTrainer (assistant tokens only, packed)",
            "steps": spec.steps,
            "batch_size": spec.batch_size,
            "learning_rate": spec.learning_rate,
            "schedule": f"warmup {spec.warmup_steps} then cosine",
            "conversations": len(train),
            "dropped_over_max_length": len(every) - len(train),
            "packed_rows": len(trainer.examples),
            "epochs": round(rows_seen / max(len(trainer.examples), 1), 2),
            "tokens_seen": round(tokens * rows_seen / max(len(trainer.examples), 1)),
            "first_loss": metrics_rows[0]["loss"] if metrics_rows else None,
            "loss_curve": {
                str(r["step"]): round(float(r["loss"]), 4)
                for r in metrics_rows
                if int(r["step"]) % max(1, spec.steps // 10) == 0
            },
            "final_loss": result.metrics.get("loss"),
        },
        "metrics": metrics,
        "held_out": HELD_OUT[spec.domain].format(share=spec.holdout_share),
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
    }


HELD_OUT = {
    "tool": (
        "APIs split by a hash of their name ({share:.0%} held out); eval_unseen uses only "
        "held-out APIs (never in training), eval_seen uses seen APIs from dialog indices and "
        "user messages training never used"
    ),
    "if": (
        "kwarg values (keywords, forbidden words, end phrases, postscript markers, highlight "
        "counts) split by a hash ({share:.0%} held out); training prompts hold none, "
        "eval_unseen prompts hold at least one, eval_seen prompts hold none and never occur in "
        "training"
    ),
}


def greedy(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
    """Greedy continuations of rendered ``prompts`` (batches of 16, left-padded)."""
    import torch

    outs: list[str] = []
    tokenizer.padding_side = "left"
    for i in range(0, len(prompts), 16):
        batch = tokenizer(
            list(prompts[i : i + 16]), return_tensors="pt", padding=True, add_special_tokens=False
        )
        with torch.no_grad():
            ids = model.generate(
                **batch,
                do_sample=False,
                max_new_tokens=max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
            )
        for row in ids[:, batch["input_ids"].shape[1] :]:
            outs.append(tokenizer.decode(row, skip_special_tokens=True))
    return outs


def evaluate_tool_model(
    model: Any, tokenizer: Any, data: dict[str, list[dict[str, Any]]], max_new_tokens: int
) -> dict[str, Any]:
    """Exact tool-call accuracy (``ifrl.core.matcher``) of greedy first turns per eval split."""
    from ifrl.core.chat import render_prompt
    from ifrl.core.matcher import match_text

    metrics: dict[str, Any] = {}
    for split in sorted(k for k in data if k.startswith("eval_")):
        convs = [_conversation(r) for r in data[split]]
        prompts = [
            render_prompt(tokenizer, Conversation(messages=c.messages[:1], tools=c.tools))
            for c in convs
        ]
        texts = greedy(model, tokenizer, prompts, max_new_tokens)
        results = [match_text(t, c.messages[1].tool_calls) for t, c in zip(texts, convs)]
        exact = sum(r.exact for r in results)
        reasons: dict[str, int] = {}
        for r in results:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
        metrics[f"exact_{split[5:]}"] = {
            **proportion(exact, len(results)).to_dict(),
            "successes": exact,
            "mean_score": round(sum(r.score for r in results) / max(len(results), 1), 4),
            "reasons": dict(sorted(reasons.items())),
            "example": texts[0] if texts else "",
        }
    return metrics


def evaluate_if_model(
    model: Any, tokenizer: Any, data: dict[str, list[dict[str, Any]]], max_new_tokens: int
) -> dict[str, Any]:
    """Prompt-level strict compliance of greedy responses per eval split, and per type."""
    from ifrl.core.chat import render_prompt
    from ifrl.core.records import ConstraintSpec
    from ifrl.pipelines.micro.instructions import complies

    metrics: dict[str, Any] = {}
    for split in sorted(k for k in data if k.startswith("eval_")):
        rows = data[split]
        convs = [_conversation(r) for r in rows]
        prompts = [render_prompt(tokenizer, Conversation(messages=c.messages[:1])) for c in convs]
        texts = greedy(model, tokenizer, prompts, max_new_tokens)
        per_type: dict[str, list[int]] = {}
        ok = 0
        for text, row in zip(texts, rows):
            specs = tuple(ConstraintSpec(c["id"], c["kwargs"], "hard") for c in row["constraints"])
            passed = complies(text.strip(), specs)
            ok += passed
            for s in specs:
                hit = per_type.setdefault(s.id, [0, 0])
                hit[0] += complies(text.strip(), (s,))
                hit[1] += 1
        metrics[f"strict_{split[5:]}"] = {
            **proportion(ok, len(rows)).to_dict(),
            "successes": ok,
            "per_type": {k: f"{a}/{b}" for k, (a, b) in sorted(per_type.items())},
            "example": texts[0] if texts else "",
        }
    return metrics


# -- the card -------------------------------------------------------------------------------


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown."""
    lines = [
        f"# Micro policy `{card['name']}` ({card['domain']})",
        "",
        card["description"],
        "",
        f"- key: `{card['key'][:16]}` (settings + code `{card['code_version'][:12]}` + data "
        f"`{card['data']['sha256'][:12]}`)",
    ]
    model = card.get("model", {})
    if model:
        lines.append("- model: " + ", ".join(f"{k} {v}" for k, v in model.items()))
    training = card.get("training", {})
    if training:
        lines.append("- training: " + ", ".join(f"{k} {v}" for k, v in training.items()))
    splits = ", ".join(f"{k} {v}" for k, v in card["data"]["splits"].items())
    lines += [
        f"- data: {splits}",
        f"- held out: {card['data']['held_out']}",
        f"- time: {card['time']['total_seconds']} s in all ({card['time']['train_seconds']} s "
        f"training, {card['time']['eval_seconds']} s evaluation, {card['time']['threads']} "
        "thread(s))",
        "",
        "| metric | value | n | 95% interval (Wilson) |",
        "| --- | --- | --- | --- |",
    ]
    for name, m in card["metrics"].items():
        low, high = m["ci95"]
        lines.append(f"| {name} | {m['value']:.3f} | {m['n']} | [{low:.3f}, {high:.3f}] |")
    return "\n".join(lines) + "\n"


def last_build_seconds(name: str) -> float | None:
    """How long the newest cached build named ``name`` took (any settings), or None."""
    times = [
        ((path / "card.json").stat().st_mtime, float(card["time"]["total_seconds"]))
        for path, card in list_builds()
        if card.get("name") == name
        and isinstance(card.get("time", {}).get("total_seconds"), (int, float))
    ]
    return max(times)[1] if times else None


def list_builds() -> list[tuple[Path, dict[str, Any]]]:
    """Cached micro policies and their cards."""
    root = micro_root()
    out = []
    for path in sorted(root.glob("*")) if root.is_dir() else []:
        card = read_card(path)
        if card is not None and re.fullmatch(r"[\w.-]+-[0-9a-f]{16}", path.name):
            out.append((path, card))
    return out

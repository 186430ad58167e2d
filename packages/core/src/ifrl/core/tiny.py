"""Seeded tiny causal LMs for tests and demos, built locally (no downloads) and cached.

:func:`build_tiny_model` writes a Hugging Face model directory (``config.json``,
``generation_config.json``, ``model.safetensors``, ``tokenizer.json``, ``tokenizer_config.json``,
``chat_template.jinja``) that loads with ``AutoModelForCausalLM`` / ``AutoTokenizer`` and with vLLM:

* architecture ``qwen2`` or ``llama``: hidden size 256, 2 layers, 4 attention heads of size 64
  (2 key/value heads), float32 weights drawn with ``torch.manual_seed(seed)`` (normal, std
  :data:`INITIALIZER_RANGE`), untrained;
* a byte-level BPE tokenizer (digits split one by one) trained with the ``tokenizers`` library on
  :func:`ifrl.core.data.corpus.tokenizer_corpus` (at most :data:`VOCAB_SIZE` entries), with the
  special tokens :data:`SPECIAL_TOKENS` (eos ``<|endoftext|>``, pad ``<|pad|>``, bos
  ``<|startoftext|>`` never added automatically, ChatML markers) and the atomic, non-special
  tags :data:`TAG_TOKENS`; generation stops at ``<|endoftext|>`` or ``<|im_end|>``;
* a ChatML-style chat template (:data:`CHAT_TEMPLATE`) rendering a system prompt, ``tools=``
  (OpenAI JSON schemas), user / assistant / tool turns, assistant tool calls as
  ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` and ``add_generation_prompt``.

The same ``(arch, seed)`` always gives byte-identical files. Without ``out_dir`` the model is cached
at ``$IFRL_CACHE/tiny/<arch>-seed<seed>-v<FORMAT_VERSION>`` (``$IFRL_CACHE`` defaults to
``~/.cache/ifrl``); it is built in a temporary directory and renamed into place, so concurrent
processes never see a half-written model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ifrl.core.errors import MissingExtraError, RecordError

FORMAT_VERSION = 2
ARCHITECTURES = ("qwen2", "llama")
VOCAB_SIZE = 2048
HIDDEN_SIZE = 256
NUM_LAYERS = 2
NUM_HEADS = 4
NUM_KV_HEADS = 2
HEAD_DIM = 64
INTERMEDIATE_SIZE = 512
MAX_POSITIONS = 2048
# Wider than transformers' default 0.02, so that the untrained model's next-token distributions
# are not near-uniform: greedy decoding varies and entropies spread (about 4-6.5 nats).
INITIALIZER_RANGE = 0.1
MANIFEST = "ifrl_tiny.json"

BOS, EOS, PAD = "<|startoftext|>", "<|endoftext|>", "<|pad|>"
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = (PAD, BOS, EOS, IM_START, IM_END)
# Atomic but *not* special: they survive ``decode(..., skip_special_tokens=True)``, so generated
# text keeps its tool-call and reasoning tags (as in Qwen2.5's tokenizer).
TAG_TOKENS = (
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
)

# ChatML turns. Tools go into the system turn as one JSON schema per line; assistant tool calls
# are Hermes-style tags holding {"name", "arguments"}; tool results are wrapped in
# <tool_response> tags inside a "tool" turn. Arguments given as a JSON string are emitted as is.
CHAT_TEMPLATE = (
    "{%- set has_system = messages and messages[0]['role'] == 'system' -%}\n"
    "{%- if tools or has_system -%}\n"
    "{{- '<|im_start|>system\\n' -}}\n"
    "{%- if has_system -%}{{- messages[0]['content'] -}}"
    "{%- else -%}{{- 'You are a helpful assistant.' -}}{%- endif -%}\n"
    "{%- if tools -%}\n"
    "{{- '\\n\\n# Tools\\n\\nYou may call one or more of these functions:\\n<tools>' -}}\n"
    "{%- for tool in tools -%}{{- '\\n' + (tool | tojson) -}}{%- endfor -%}\n"
    '{{- \'\\n</tools>\\n\\nFor each call, reply with <tool_call>{"name": <function name>, '
    '"arguments": <arguments as a JSON object>}</tool_call>.\' -}}\n'
    "{%- endif -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endif -%}\n"
    "{%- for message in messages -%}\n"
    "{%- if not (loop.first and has_system) -%}\n"
    "{%- if message['role'] == 'tool' -%}\n"
    "{{- '<|im_start|>tool\\n<tool_response>\\n' + (message['content'] or '') "
    "+ '\\n</tool_response><|im_end|>\\n' -}}\n"
    "{%- else -%}\n"
    "{{- '<|im_start|>' + message['role'] + '\\n' + (message['content'] or '') -}}\n"
    "{%- if message['role'] == 'assistant' and message.get('tool_calls') -%}\n"
    "{%- for call in message['tool_calls'] -%}\n"
    "{%- set fn = call['function'] if call.get('function') else call -%}\n"
    "{%- if (message['content'] or '') or not loop.first -%}{{- '\\n' -}}{%- endif -%}\n"
    "{{- '<tool_call>\\n{\"name\": ' + (fn['name'] | tojson) + ', \"arguments\": ' -}}\n"
    "{%- if fn['arguments'] is string -%}{{- fn['arguments'] -}}"
    "{%- else -%}{{- fn['arguments'] | tojson -}}{%- endif -%}\n"
    "{{- '}\\n</tool_call>' -}}\n"
    "{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endif -%}\n"
    "{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n"
)


def cache_root() -> Path:
    """``$IFRL_CACHE`` when set, else ``~/.cache/ifrl``."""
    env = os.environ.get("IFRL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ifrl"


def tiny_model_path(arch: str = "qwen2", seed: int = 0) -> Path:
    """Where :func:`build_tiny_model` caches the model for ``(arch, seed)``."""
    _check_arch(arch)
    return cache_root() / "tiny" / f"{arch}-seed{seed}-v{FORMAT_VERSION}"


def build_tiny_model(arch: str = "qwen2", seed: int = 0, out_dir: str | Path | None = None) -> Path:
    """Build (or reuse) the tiny model for ``(arch, seed)`` and return its directory.

    With ``out_dir`` the model is written there (reused when that directory already holds the
    same build; an existing non-empty directory holding anything else is an error). Without it,
    the cache path :func:`tiny_model_path` is used. Either way the files appear atomically.
    """
    _check_arch(arch)
    target = Path(out_dir) if out_dir is not None else tiny_model_path(arch, seed)
    if _is_build(target, arch, seed):
        return target
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(
            f"{target} exists and does not hold the tiny {arch} seed-{seed} build"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _write_model(tmp, arch, seed)
        try:
            if target.exists():
                target.rmdir()  # empty directory: replace it
            os.replace(tmp, target)
        except OSError:
            if not _is_build(target, arch, seed):  # someone else won the race with the same build
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _check_arch(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise RecordError("arch", f"must be one of {list(ARCHITECTURES)}, got {arch!r}")


def _is_build(path: Path, arch: str, seed: int) -> bool:
    manifest = path / MANIFEST
    if not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(data == _manifest(arch, seed))


def _manifest(arch: str, seed: int) -> dict[str, Any]:
    return {"arch": arch, "seed": seed, "format_version": FORMAT_VERSION}


def seeded_model(config: Any, tokenizer: Any, seed: int) -> Any:
    """A new causal LM of ``config`` whose weights are initialised from ``seed`` (the global
    RNG state is left as it was), with the tiny models' sampling defaults: it stops at the
    tokenizer's EOS or ``<|im_end|>`` and samples at temperature 1 without top-p/top-k."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, GenerationConfig
    except ImportError as err:
        raise MissingExtraError(err.name or "torch", "ifrl-core", "hf") from err

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=[tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids(IM_END)],
        pad_token_id=tokenizer.pad_token_id,
        do_sample=True,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
    )
    return model


def _write_model(directory: Path, arch: str, seed: int) -> None:
    tokenizer = build_tokenizer()
    model = seeded_model(_model_config(arch, tokenizer), tokenizer, seed)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    portable_tokenizer_config(directory / "tokenizer_config.json")
    (directory / MANIFEST).write_text(json.dumps(_manifest(arch, seed)) + "\n", encoding="utf-8")


def portable_tokenizer_config(path: Path) -> None:
    """Name the generic fast-tokenizer class so transformers 4.x and 5.x (and vLLM) load it."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    if "extra_special_tokens" in config:
        config["additional_special_tokens"] = config.pop("extra_special_tokens")
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build_tokenizer(extra_texts: Sequence[str] = (), vocab_size: int = VOCAB_SIZE) -> Any:
    """The tiny models' tokenizer (a ``PreTrainedTokenizerFast``); independent of the seed.

    With ``extra_texts`` the BPE is trained on :func:`ifrl.core.data.corpus.tokenizer_corpus`
    followed by those texts, with at most ``vocab_size`` entries: a domain tokenizer whose merges
    cover the domain's words (the micro policies use it to shorten their sequences). The same
    arguments always give the same tokenizer.
    """
    try:
        from tokenizers import (
            AddedToken,
            Tokenizer,
            decoders,
            models,
            pre_tokenizers,
            processors,
            trainers,
        )
        from transformers import PreTrainedTokenizerFast
    except ImportError as err:
        raise MissingExtraError(err.name or "tokenizers", "ifrl-core", "hf") from err
    from ifrl.core.data.corpus import tokenizer_corpus

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([*tokenizer_corpus(), *extra_texts], trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAG_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=[IM_START, IM_END],
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
        model_max_length=MAX_POSITIONS,
        padding_side="left",
    )


def _model_config(arch: str, tokenizer: Any) -> Any:
    from transformers import LlamaConfig, Qwen2Config

    common: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "hidden_size": HIDDEN_SIZE,
        "intermediate_size": INTERMEDIATE_SIZE,
        "num_hidden_layers": NUM_LAYERS,
        "num_attention_heads": NUM_HEADS,
        "num_key_value_heads": NUM_KV_HEADS,
        "head_dim": HEAD_DIM,
        "max_position_embeddings": MAX_POSITIONS,
        "rms_norm_eps": 1e-6,
        "initializer_range": INITIALIZER_RANGE,
        "tie_word_embeddings": True,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "torch_dtype": "float32",
    }
    if arch == "qwen2":
        return Qwen2Config(**common)
    return LlamaConfig(**common)


__all__ = [
    "ARCHITECTURES",
    "CHAT_TEMPLATE",
    "FORMAT_VERSION",
    "SPECIAL_TOKENS",
    "TAG_TOKENS",
    "build_tiny_model",
    "build_tokenizer",
    "cache_root",
    "portable_tokenizer_config",
    "seeded_model",
    "tiny_model_path",
]

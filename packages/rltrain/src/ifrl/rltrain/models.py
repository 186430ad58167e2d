"""Loading the policy (full weights, LoRA or QLoRA), its reference, and saving the result."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ifrl.core.chat import encode_prompt
from ifrl.core.config import ConfigError, check_choice
from ifrl.core.errors import require
from ifrl.core.generation import Prompt
from ifrl.rltrain.trainconfig import TrainConfig

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _dtype(name: str) -> torch.dtype:
    check_choice("dtype", name, tuple(DTYPES))
    return DTYPES[name]


def load_tokenizer(path: str) -> Any:
    """The tokenizer at ``path`` with a pad token (falls back to EOS)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def prompt_token_ids(tokenizer: Any, prompt: Prompt) -> list[int]:
    """The token ids a model sees for ``prompt``, exactly as every generation backend computes
    them (:func:`ifrl.core.chat.encode_prompt`): a conversation rendered by its chat template
    (whose text already holds the special tokens), raw text tokenized as is."""
    return encode_prompt(tokenizer, prompt)


def load_base_model(config: TrainConfig) -> torch.nn.Module:
    """The causal LM at ``config.model`` in ``config.dtype`` (4-bit nf4 with ``load_in_4bit``)."""
    from transformers import AutoModelForCausalLM

    if not config.model:
        raise ConfigError("", "model", "no model path given")
    kwargs: dict[str, Any] = {"dtype": _dtype(config.dtype)}
    if config.load_in_4bit:
        require("bitsandbytes", "ifrl-rltrain", "qlora")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=_dtype(config.dtype),
        )
        kwargs["device_map"] = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(config.model, **kwargs)
    return model


def wrap_policy(model: torch.nn.Module, config: TrainConfig) -> torch.nn.Module:
    """Apply k-bit preparation, LoRA and gradient checkpointing as the config asks."""
    if config.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing
        )
    if config.use_lora or config.load_in_4bit:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(config.lora_target_modules),
            task_type="CAUSAL_LM",
        )
        torch.manual_seed(config.seed)
        model = get_peft_model(model, lora)
    if config.gradient_checkpointing and not config.load_in_4bit:
        model.gradient_checkpointing_enable()  # type: ignore[operator]
        if config.use_lora:
            model.enable_input_require_grads()  # type: ignore[operator]
    return model


def load_policy(config: TrainConfig) -> tuple[torch.nn.Module, Any]:
    """The trainable policy and its tokenizer."""
    torch.manual_seed(config.seed)
    model = wrap_policy(load_base_model(config), config)
    return model, load_tokenizer(config.model)


def is_peft(model: torch.nn.Module) -> bool:
    return hasattr(model, "disable_adapter") and hasattr(model, "peft_config")


def load_reference(config: TrainConfig, policy: torch.nn.Module) -> torch.nn.Module | None:
    """A frozen copy of the base model for KL / DPO; ``None`` with LoRA (adapters get disabled)."""
    if is_peft(policy):
        return None
    ref = load_base_model(config)
    ref.eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref


@contextlib.contextmanager
def reference_mode(
    policy: torch.nn.Module, reference: torch.nn.Module | None
) -> Iterator[torch.nn.Module]:
    """Yield the module computing reference log-probs: ``reference``, or ``policy`` without adapters."""
    if reference is not None:
        yield reference
        return
    if not is_peft(policy):
        raise ValueError("no reference model: pass one, or train with LoRA")
    with policy.disable_adapter():  # type: ignore[operator]
        yield policy


def save_model(
    model: torch.nn.Module, tokenizer: Any, out: str | Path, *, merge: bool = False
) -> Path:
    """Save the model (the adapter alone with LoRA, unless ``merge``) and tokenizer to ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if merge and is_peft(model):
        model = model.merge_and_unload()  # type: ignore[operator]
    model.save_pretrained(out)  # type: ignore[operator]
    if tokenizer is not None:
        tokenizer.save_pretrained(out)
    return out


def merge_and_save(adapter_dir: str | Path, out: str | Path) -> Path:
    """Load a saved LoRA adapter with its base model, merge it, and save a plain model to ``out``."""
    from peft import AutoPeftModelForCausalLM

    model = AutoPeftModelForCausalLM.from_pretrained(str(adapter_dir))
    merged = model.merge_and_unload()
    merged.save_pretrained(out)
    tok_files = Path(adapter_dir) / "tokenizer_config.json"
    if tok_files.exists():
        load_tokenizer(str(adapter_dir)).save_pretrained(out)
    return Path(out)


def eval_mode(model: torch.nn.Module) -> None:
    """``model.eval()``, except that bitsandbytes 4-bit linears stay in training mode.

    On CPUs with AVX512-BF16, bitsandbytes repacks a 4-bit weight for inference on the first
    forward pass in eval mode, and the repacked layout cannot be trained afterwards; 4-bit linears
    have no dropout, so keeping their training flag changes nothing else.
    """
    model.eval()
    for module in model.modules():
        if type(module).__name__ in ("Linear4bit", "LinearNF4", "LinearFP4"):
            module.train(True)


def policy_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The policy's full weights under the base model's parameter names, LoRA merged in.

    For an inference engine that holds its own copy of the model (vLLM): with PEFT the adapters
    are merged temporarily (``merge_adapter``/``unmerge_adapter``) and PEFT's name prefixes removed.
    """
    if not is_peft(model):
        return {n: t.detach().clone() for n, t in model.state_dict().items()}
    model.merge_adapter()  # type: ignore[operator]
    try:
        out: dict[str, torch.Tensor] = {}
        for name, tensor in model.state_dict().items():
            if "lora_" in name or "modules_to_save" in name:
                continue
            clean = name.removeprefix("base_model.model.").replace(".base_layer", "")
            out[clean] = tensor.detach().clone()
        return out
    finally:
        model.unmerge_adapter()  # type: ignore[operator]

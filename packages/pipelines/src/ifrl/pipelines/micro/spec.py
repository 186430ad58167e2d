"""The micro policies' settings: one :class:`MicroSpec` per name, registered in :data:`SPECS`."""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from ifrl.core.errors import RecordError

Domain = Literal["tool", "if", "arith"]


@dataclass(frozen=True)
class MicroSpec:
    """How one micro policy is built: its domain, model size, data and training.

    Every field enters the cache key (:func:`ifrl.pipelines.micro.build.cache_key`), so two
    specs that differ in anything build to different directories.
    """

    name: str
    domain: Domain
    description: str
    seed: int = 0
    # model (ignored by ``arith``, which warms up the seeded ``ifrl.core.tiny`` model)
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    intermediate_size: int = 768
    # "random": seeded random weights; "induction": the same, then a hand-written induction
    # circuit (``ifrl.pipelines.micro.circuits``) that copies tokens from earlier in the context
    init: Literal["random", "induction"] = "random"
    # 0: the ``ifrl.core.tiny`` tokenizer; > 0: a BPE of at most this many entries trained on the
    # tiny corpus plus the rendered training conversations (never the held-out ones)
    vocab_size: int = 0
    # data
    train_examples: int = 4000
    eval_examples: int = 100
    holdout_share: float = 0.25
    # training
    steps: int = 300
    batch_size: int = 16
    max_length: int = 512
    learning_rate: float = 2e-3
    warmup_steps: int = 20
    threads: int = 1
    # generation at evaluation
    max_new_tokens: int = 96
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SPECS: dict[str, MicroSpec] = {}


def register(spec: MicroSpec) -> MicroSpec:
    SPECS[spec.name] = spec
    return spec


#: The ``-tiny`` builds' chat model and training: seconds on one thread (no competence expected).
_TINY_CHAT: dict[str, Any] = {
    "hidden_size": 64,
    "num_layers": 1,
    "num_heads": 2,
    "num_kv_heads": 1,
    "intermediate_size": 128,
    "steps": 4,
    "batch_size": 4,
    "learning_rate": 3e-3,
    "warmup_steps": 0,
    "init": "random",
}


def register_tiny(spec: MicroSpec, description: str, **changes: Any) -> MicroSpec:
    """Register ``spec`` scaled down for tests and CI as ``<name>-tiny``: 64 training and 8
    evaluation examples, 24 new tokens at evaluation, and ``changes``."""
    return register(
        replace(
            spec,
            name=f"{spec.name}-tiny",
            description=description,
            train_examples=64,
            eval_examples=8,
            max_new_tokens=24,
            **changes,
        )
    )


TOOL = MicroSpec(
    name="tool",
    domain="tool",
    description=(
        "One Hermes-style tool call with scalar arguments, over the toolgen API pool; "
        "held-out APIs never seen."
    ),
    init="induction",
    train_examples=3000,
    eval_examples=100,
    steps=1400,
    batch_size=4,
    max_length=320,
    learning_rate=5e-4,
    warmup_steps=20,
    max_new_tokens=160,
    extra={"pool_size": 80, "max_calls": 1, "scalar_only": True},
)
register(TOOL)
register_tiny(
    TOOL,
    "Seconds-long tool-calling build for tests and CI (competence not expected).",
    vocab_size=1600,
    max_length=384,
    extra={"pool_size": 60, "max_calls": 1, "scalar_only": True},
    **_TINY_CHAT,
)
IF = MicroSpec(
    name="if",
    domain="if",
    description="Responses satisfying 1-2 synthesized IFEval constraints; held-out kwargs.",
    train_examples=3000,
    eval_examples=100,
    steps=300,
    batch_size=8,
    max_length=256,
    learning_rate=2e-3,
    warmup_steps=10,
    max_new_tokens=256,
)
register(IF)
register_tiny(IF, "Seconds-long instruction-following build for tests and CI.", **_TINY_CHAT)
ARITH = MicroSpec(
    name="arith",
    domain="arith",
    description="Step-by-step arithmetic (ifrl.prm.synthetic's warm-up), held-out questions.",
    train_examples=16000,
    eval_examples=120,
    holdout_share=0.2,
    steps=0,
    batch_size=32,
    learning_rate=3e-3,
    max_new_tokens=48,
    extra={"min_ops": 2, "max_ops": 2, "max_value": 9, "max_operand": 9},
)
register(ARITH)
register_tiny(
    ARITH,
    "Seconds-long arithmetic build for tests and CI (competence not expected).",
    batch_size=16,
)


def get_spec(name: str) -> MicroSpec:
    """The registered spec ``name``; unknown names fail with "did you mean ..."."""
    if name not in SPECS:
        close = difflib.get_close_matches(name, list(SPECS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {sorted(SPECS)}"
        raise RecordError("name", f"no micro policy {name!r}{hint}")
    return SPECS[name]

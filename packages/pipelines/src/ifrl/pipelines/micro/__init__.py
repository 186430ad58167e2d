"""Micro policies: small causal LMs built locally on CPU, seeded, byte-identical on rebuild,
cached by a content hash of their settings, code and data, each with a card.

>>> from ifrl.pipelines.micro import build_micro
>>> result = build_micro("tool-tiny")          # doctest: +SKIP
>>> result.card["metrics"]["exact_unseen"]     # doctest: +SKIP

Domains: ``tool`` (Hermes tool calls over the toolgen API pool, held-out APIs never seen in
training) and ``arith`` (ifrl.prm.synthetic's step-by-step arithmetic warm-up, held-out
questions). Each has a ``-tiny`` setting that builds in seconds for tests.
"""

from ifrl.pipelines.micro.build import (
    BuildResult,
    build_micro,
    cache_key,
    code_version,
    list_builds,
    micro_root,
    read_card,
)
from ifrl.pipelines.micro.spec import SPECS, MicroSpec, get_spec

__all__ = [
    "SPECS",
    "BuildResult",
    "MicroSpec",
    "build_micro",
    "cache_key",
    "code_version",
    "get_spec",
    "list_builds",
    "micro_root",
    "read_card",
]

"""Score one BFCL model output: decode it, then apply the AST or the relevance rule."""

from __future__ import annotations

from typing import Any, Literal

from ifrl.core.toolcalls import ToolCallParseError
from ifrl.evals.bfcl.checker import CheckResult, check_ast
from ifrl.evals.bfcl.data import MULTI_TURN_CATEGORIES, RELEVANCE_CATEGORIES, BFCLEntry
from ifrl.evals.bfcl.decode import Style, attempts_call, contains_call, decode_output
from ifrl.evals.bfcl.multi_turn import score_multi_turn

__all__ = ["SEMANTICS", "Semantics", "score_output"]

Semantics = Literal["reference", "fixed"]
SEMANTICS: tuple[Semantics, ...] = ("reference", "fixed")


def score_output(
    entry: BFCLEntry,
    result: str | list[Any],
    category: str,
    *,
    style: Style = "python",
    underscore_to_dot: bool = False,
    semantics: Semantics = "reference",
) -> CheckResult:
    """The verdict on ``result`` (a raw model output, or BFCL's decoded call list) for ``entry``.

    Relevance categories: ``irrelevance``/``live_irrelevance`` pass when the output holds no
    call, ``live_relevance`` when it holds at least one. AST categories: a decoding failure is
    ``ast_decoder:decoder_failed``; otherwise :func:`~ifrl.evals.bfcl.checker.check_ast` decides.

    ``semantics="reference"`` decides as bfcl-eval does, where an output that tries to call but
    does not decode counts as an abstention. ``"fixed"`` counts such an output as a call in the
    irrelevance categories (``irrelevance_error:undecodable_call``): a broken call is not a
    refusal, and scoring it as one inflates irrelevance accuracy.

    Multi-turn categories (``result``: one list of step outputs per user turn) are checked on
    the calls, turn by turn (:func:`~ifrl.evals.bfcl.multi_turn.score_multi_turn`).
    """
    if category in MULTI_TURN_CATEGORIES:
        return score_multi_turn(entry, result, style=style, semantics=semantics)
    if category in RELEVANCE_CATEGORIES:
        has_call = contains_call(result, style)
        if "irrelevance" in category:
            if has_call:
                return CheckResult(
                    False, "irrelevance_error:decoder_success", "made a call where none was due"
                )
            if semantics == "fixed" and attempts_call(result):
                return CheckResult(
                    False,
                    "irrelevance_error:undecodable_call",
                    "tried to call (the output does not decode) where no call was due",
                )
            return CheckResult(True)
        if not has_call:
            return CheckResult(False, "relevance_error:decoder_failed", "made no function call")
        return CheckResult(True)
    if entry.ground_truth is None:
        raise ValueError(f"{entry.id}: no ground truth for AST category {category!r}")
    try:
        calls = decode_output(result, style)
    except ToolCallParseError as err:
        return CheckResult(False, "ast_decoder:decoder_failed", str(err))
    return check_ast(
        entry.functions, calls, entry.ground_truth, category, underscore_to_dot=underscore_to_dot
    )

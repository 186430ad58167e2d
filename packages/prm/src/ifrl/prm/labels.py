"""Monte Carlo step labels from EDU trees, and exports that current trainers consume.

Each step (tree node) is labeled by its descendant leaves (complete solutions): the **soft**
label is the fraction that reach the correct answer, the **hard** label is 1 when any does.
Pruned subtrees (P-EDU) take no part. One :class:`~ifrl.core.records.StepSample` is produced per
leaf: the steps on its path with their labels (``label="soft"`` or ``"hard"`` picks which go into
``labels``; both are kept in ``meta``), and the step cut in ``meta["split"]``: ``newline`` (the
default, lines, where :func:`ifrl.prm.score.split_solution` cuts solutions to score) or
``anchor`` (the tree's nodes). :func:`sample_split` reads it back and :func:`check_split` refuses
a file cut otherwise than asked.

Exports: :func:`to_trl` (TRL's ``stepwise_supervision`` dataset type: ``prompt``,
``completions``, boolean ``labels``; a dataset, tied to no trainer), :func:`to_openrlhf`
(OpenRLHF's process reward dataset: an ``input`` text with a placeholder token after every step
and a ``value`` list of reward tokens or floats, read with ``--input_key input --label_key
value --placeholder_token ки --reward_tokens + -``) and :func:`to_qwen_prm` (a separator after
each step, the Qwen2.5-Math-PRM convention).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ifrl.core.records import StepSample
from ifrl.prm.branching import BranchTree
from ifrl.prm.checkers import Checker

LabelKind = Literal["soft", "hard"]


@dataclass(frozen=True, slots=True)
class StepLabel:
    """The Monte Carlo statistics of one step: leaves below it and how many are correct."""

    leaves: int
    correct: int

    @property
    def soft(self) -> float:
        return self.correct / self.leaves if self.leaves else 0.0

    @property
    def hard(self) -> float:
        return 1.0 if self.correct > 0 else 0.0


def decode_solution(tokenizer: Any, token_ids: Sequence[int], stop: Sequence[str] = ()) -> str:
    """The text of a solution's tokens (special tokens dropped), cut at the first stop string."""
    text = str(tokenizer.decode(list(token_ids), skip_special_tokens=True))
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return text[: min(cuts)] if cuts else text


def solution_text(tree: BranchTree, leaf_id: int, tokenizer: Any, stop: Sequence[str] = ()) -> str:
    """The decoded solution ending at ``leaf_id`` (see :func:`decode_solution`)."""
    return decode_solution(tokenizer, tree.solution_ids(leaf_id), stop)


def grade_leaves(
    tree: BranchTree, tokenizer: Any, checker: Checker, stop: Sequence[str] = ()
) -> dict[int, bool]:
    """Correctness of every (unpruned) leaf's solution against the tree's reference."""
    if tree.reference is None:
        raise ValueError(f"question {tree.question_id!r} has no reference answer to check against")
    return {
        leaf.id: checker(solution_text(tree, leaf.id, tokenizer, stop), tree.reference)
        for leaf in tree.leaves()
    }


def mc_labels(tree: BranchTree, correct: dict[int, bool]) -> dict[int, StepLabel]:
    """The Monte Carlo label of every node that has at least one graded leaf below it."""
    counts: dict[int, list[int]] = {}
    for leaf_id, ok in correct.items():
        for node in tree.path(leaf_id):
            c = counts.setdefault(node.id, [0, 0])
            c[0] += 1
            c[1] += int(ok)
    return {nid: StepLabel(c[0], c[1]) for nid, c in sorted(counts.items())}


StepSplit = Literal["anchor", "newline"]
SPLITS: tuple[StepSplit, ...] = ("newline", "anchor")


def sample_split(sample: StepSample) -> str | None:
    """The step cut a sample records (``meta["split"]``), None for files written before it."""
    split = sample.meta.get("split")
    return str(split) if split is not None else None


def check_split(samples: Iterable[StepSample], split: str, where: str = "the data") -> None:
    """Raise ``ValueError`` when a sample records another step cut than ``split``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    for i, sample in enumerate(samples):
        found = sample_split(sample)
        if found is not None and found != split:
            raise ValueError(
                f"{where}: sample {i} was cut at {found} steps, not {split} "
                f"(pass --split {found}, or relabel with --split {split})"
            )


def split_steps(token_ids: Sequence[int], tokenizer: Any) -> list[tuple[int, int]]:
    """Token spans of newline-separated steps: a step ends after a token containing ``\\n``.

    Spans cover the tokens exactly; a trailing span of special / whitespace tokens only is
    merged into the previous step.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for i, t in enumerate(token_ids):
        if "\n" in tokenizer.decode([t]):
            spans.append((start, i + 1))
            start = i + 1
    if start < len(token_ids):
        tail = str(tokenizer.decode(list(token_ids[start:]), skip_special_tokens=True))
        if tail.strip() or not spans:
            spans.append((start, len(token_ids)))
        else:
            spans[-1] = (spans[-1][0], len(token_ids))
    return spans


def step_samples(
    tree: BranchTree,
    tokenizer: Any,
    correct: dict[int, bool],
    *,
    label: LabelKind = "soft",
    method: str = "edu",
    split: StepSplit = "newline",
) -> list[StepSample]:
    """One sample per graded leaf: its path's non-empty steps and their labels.

    ``split="anchor"``: the steps are the tree's nodes (cut at entropy anchors). ``"newline"``:
    the leaf's solution is cut after every token holding a newline
    (:func:`split_steps`, as :func:`ifrl.prm.score.split_solution` cuts texts to score), and each
    such step takes the Monte Carlo label of the tree node holding its last token: the deepest
    node whose leaves all extend that prefix.
    """
    labels = mc_labels(tree, correct)
    out = []
    for leaf_id in sorted(correct):
        nodes = [n for n in tree.path(leaf_id) if n.token_ids]
        if split == "anchor":
            steps = tuple(
                str(tokenizer.decode(n.token_ids, skip_special_tokens=True)) for n in nodes
            )
            owners = [n.id for n in nodes]
        elif split == "newline":
            tokens = [t for n in nodes for t in n.token_ids]
            owner_of = [n.id for n in nodes for _ in n.token_ids]
            spans = split_steps(tokens, tokenizer)
            steps = tuple(
                str(tokenizer.decode(tokens[a:b], skip_special_tokens=True)) for a, b in spans
            )
            owners = [owner_of[b - 1] for _, b in spans]
        else:
            raise ValueError(f"split must be 'anchor' or 'newline', got {split!r}")
        stats = [labels[nid] for nid in owners]
        out.append(
            StepSample(
                prompt=tree.prompt,
                steps=steps,
                labels=tuple(s.soft if label == "soft" else s.hard for s in stats),
                meta={
                    "method": method,
                    "split": split,
                    "question_id": tree.question_id,
                    "leaf": leaf_id,
                    "node_ids": owners,
                    "correct": bool(correct[leaf_id]),
                    "soft": [s.soft for s in stats],
                    "hard": [s.hard for s in stats],
                    "leaves": [s.leaves for s in stats],
                },
            )
        )
    return out


def to_trl(sample: StepSample, threshold: float = 0.5) -> dict[str, Any]:
    """TRL's ``stepwise_supervision`` dataset type (standard format): ``prompt``,
    ``completions`` (the steps), ``labels`` (one bool per step).

    A label is ``True`` when it is at least ``threshold`` (so hard labels pass through).
    """
    return {
        "prompt": sample.prompt,
        "completions": list(sample.steps),
        "labels": [label >= threshold for label in sample.labels],
    }


OPENRLHF_PLACEHOLDER = "ки"


def to_openrlhf(
    sample: StepSample,
    *,
    placeholder: str = OPENRLHF_PLACEHOLDER,
    reward_tokens: tuple[str, str] = ("+", "-"),
    soft: bool = False,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """OpenRLHF's process reward dataset row: ``input`` (prompt and steps, ``placeholder`` after
    each step's text, before its trailing whitespace) and ``value`` (one label per placeholder:
    ``reward_tokens[0]`` when the label is at least ``threshold``, else ``reward_tokens[1]``;
    the float labels themselves with ``soft``)."""
    parts = [sample.prompt]
    for step in sample.steps:
        body = step.rstrip()
        parts.append(f"{body} {placeholder}{step[len(body) :]}")
    value: list[Any] = (
        [float(x) for x in sample.labels]
        if soft
        else [reward_tokens[0] if x >= threshold else reward_tokens[1] for x in sample.labels]
    )
    return {"input": "".join(parts), "value": value}


def to_qwen_prm(sample: StepSample, separator: str = "<extra_0>") -> dict[str, Any]:
    """Qwen2.5-Math-PRM convention: each step followed by ``separator``; one label per separator."""
    return {
        "prompt": sample.prompt,
        "response": "".join(step + separator for step in sample.steps),
        "labels": list(sample.labels),
    }


def count_steps(trees: Iterable[BranchTree], correct: Sequence[dict[int, bool]]) -> int:
    """Distinct labeled steps (non-empty nodes with a graded leaf below) over all trees."""
    total = 0
    for tree, graded in zip(trees, correct):
        labels = mc_labels(tree, graded)
        total += sum(1 for nid in labels if tree.nodes[nid].token_ids)
    return total


__all__ = [
    "OPENRLHF_PLACEHOLDER",
    "SPLITS",
    "LabelKind",
    "StepLabel",
    "StepSplit",
    "check_split",
    "count_steps",
    "decode_solution",
    "grade_leaves",
    "mc_labels",
    "sample_split",
    "solution_text",
    "split_steps",
    "step_samples",
    "to_openrlhf",
    "to_qwen_prm",
    "to_trl",
]

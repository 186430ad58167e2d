"""Comparing the EDU and uniform labelers on the same questions: agreement on shared steps.

Both labelers start from the same greedy solution (EDU's all-greedy path *is* the greedy
decode), so their labels can be compared on it. A **shared step** is a uniform step boundary
``p`` (the prefix of the first ``p`` solution tokens) other than the solution's end: uniform
labels it from rollouts after ``p``; EDU labels the greedy-path node holding token ``p - 1``,
whose descendant leaves all extend that same prefix. The solution's end is left out because both
methods label it by the solution's own correctness, so it always agrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ifrl.prm.branching import BranchNode, BranchTree
from ifrl.prm.labels import StepLabel
from ifrl.prm.uniform import UniformResult


def greedy_path(tree: BranchTree) -> list[BranchNode]:
    """The root-to-leaf path that always takes the greedy (rank 0) child."""
    node = tree.nodes[0]
    path = [node]
    while node.children:
        node = next(tree.nodes[c] for c in node.children if tree.nodes[c].rank == 0)
        path.append(node)
    return path


@dataclass(frozen=True)
class Agreement:
    """Shared steps compared, how many hard / soft labels agree, and skipped questions."""

    shared: int
    hard_agree: int
    soft_abs_diff: float
    skipped_questions: int

    @property
    def hard_rate(self) -> float:
        return self.hard_agree / self.shared if self.shared else float("nan")

    @property
    def mean_soft_diff(self) -> float:
        return self.soft_abs_diff / self.shared if self.shared else float("nan")


def label_agreement(
    trees: Sequence[BranchTree],
    edu_labels: Sequence[dict[int, StepLabel]],
    uniform: Sequence[UniformResult],
) -> Agreement:
    """Compare labels on shared steps (see the module docstring), question by question.

    A question whose two greedy solutions differ (e.g. different budgets) or whose greedy leaf
    was pruned is skipped and counted.
    """
    shared = agree = skipped = 0
    diff = 0.0
    for tree, labels, res in zip(trees, edu_labels, uniform):
        path = greedy_path(tree)
        tokens = [t for n in path for t in n.token_ids]
        if tokens != res.solution_ids or any(n.id not in labels for n in path):
            skipped += 1
            continue
        for (_, end), ulabel in zip(res.spans[:-1], res.labels[:-1]):
            node = next(n for n in path if n.start <= end - 1 < n.end)
            elabel = labels[node.id]
            shared += 1
            agree += int(elabel.hard == ulabel.hard)
            diff += abs(elabel.soft - ulabel.soft)
    return Agreement(shared, agree, diff, skipped)


__all__ = ["Agreement", "greedy_path", "label_agreement"]

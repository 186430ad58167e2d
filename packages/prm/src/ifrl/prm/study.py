"""The labelling cost–quality study: both labelers on the same solutions, in one step unit.

The unit is the **line step**: a solution cut after every token holding a newline
(:func:`ifrl.prm.labels.split_steps`), and a step is identified by its token prefix, so a line
prefix several solutions of a question share is one step (labelled once by either method).

* EDU labels every line step of its tree's leaves by the Monte Carlo label of the tree node that
  holds the line's last token (:func:`edu_line_labels`, what ``step_samples(split="newline")``
  trains on).
* Uniform Monte Carlo labels the lines of given solutions (some of the same leaves) by rollouts
  from every inner line prefix (:func:`ifrl.prm.uniform.label_solutions`,
  :func:`uniform_line_labels`).
* Exact step truth, where the task has one (the synthetic arithmetic task:
  :func:`ifrl.prm.synthetic.line_truth`), says for every line prefix whether all its lines are
  right (:func:`line_truth_labels`).

What each labeler costs (:class:`LabelCost`) is counted in generated tokens, forward tokens and
model calls, per labelled line step and per question. EDU pays for its tree (which also makes
its solutions); uniform pays for sampling the solutions it labels (one call and their tokens
each, what drawing them itself would cost: :func:`sampling_cost`) plus its rollouts. The quality
of a label set against the truth (:func:`label_quality`) is the accuracy of its hard labels and
Cohen's kappa, with percentile-bootstrap intervals over questions (the steps of a question are
not independent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ifrl.core.records import Cost, StepSample
from ifrl.core.stats import Metric, bootstrap
from ifrl.prm.branching import BranchTree
from ifrl.prm.checkers import Checker
from ifrl.prm.labels import StepLabel, grade_leaves, mc_labels, split_steps
from ifrl.prm.uniform import UniformResult

Prefix = tuple[int, ...]
#: ``(prompt, steps) -> truth of every step`` (prefix correctness), e.g. the synthetic task's.
TruthFn = Callable[[str, Sequence[str]], Sequence[bool]]


def line_prefixes(solution: Sequence[int], tokenizer: Any) -> list[Prefix]:
    """The token prefixes ending each line step of a solution."""
    return [tuple(solution[:b]) for _, b in split_steps(list(solution), tokenizer)]


def edu_line_labels(
    tree: BranchTree, tokenizer: Any, correct: Mapping[int, bool]
) -> dict[Prefix, StepLabel]:
    """EDU's label of every distinct line step of the graded leaves: the Monte Carlo label of
    the node holding the line's last token."""
    labels = mc_labels(tree, dict(correct))
    out: dict[Prefix, StepLabel] = {}
    for leaf in correct:
        owner = [n.id for n in tree.path(leaf) for _ in n.token_ids]
        tokens = tree.solution_ids(leaf)
        for prefix in line_prefixes(tokens, tokenizer):
            out.setdefault(prefix, labels[owner[len(prefix) - 1]])
    return out


def uniform_line_labels(results: Sequence[UniformResult]) -> dict[Prefix, StepLabel]:
    """Uniform's label of every distinct line step of its solutions (one question's)."""
    out: dict[Prefix, StepLabel] = {}
    for r in results:
        for (_, b), label in zip(r.spans, r.labels):
            out.setdefault(tuple(r.solution_ids[:b]), label)
    return out


def line_truth_labels(
    prompt: str, solutions: Sequence[Sequence[int]], tokenizer: Any, truth: TruthFn
) -> dict[Prefix, bool]:
    """Exact truth of every distinct line step of ``solutions`` (``truth`` judges decoded
    lines)."""
    out: dict[Prefix, bool] = {}
    for sol in solutions:
        spans = split_steps(list(sol), tokenizer)
        steps = [str(tokenizer.decode(list(sol[a:b]), skip_special_tokens=True)) for a, b in spans]
        for (_, b), ok in zip(spans, truth(prompt, steps)):
            out.setdefault(tuple(sol[:b]), bool(ok))
    return out


def sampling_cost(prompt_tokens: int, solutions: Sequence[Sequence[int]]) -> Cost:
    """What sampling ``solutions`` independently costs: one call each, their tokens."""
    generated = sum(len(s) for s in solutions)
    return Cost(len(solutions), generated, generated + prompt_tokens * len(solutions))


@dataclass(frozen=True)
class LabelCost:
    """A labeler's model usage over ``questions``, ``solutions`` and ``line_steps`` labelled."""

    method: str
    cost: Cost
    questions: int
    solutions: int
    line_steps: int

    def per_line(self) -> dict[str, float]:
        return self.cost.per(self.line_steps)

    def per_question(self) -> dict[str, float]:
        return self.cost.per(self.questions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            **self.cost.to_dict(),
            "questions": self.questions,
            "solutions": self.solutions,
            "line_steps": self.line_steps,
            "per_line_step": self.per_line(),
            "per_question": self.per_question(),
        }


def cost_ratios(uniform: LabelCost, edu: LabelCost) -> dict[str, float | None]:
    """Uniform's cost over EDU's, per labelled line step and per question, in generated tokens
    (``line``, ``question``) and model calls (``calls_line``, ``calls_question``); None where
    EDU's is 0."""

    def ratio(a: float, b: float) -> float | None:
        return a / b if b else None

    ul, el, uq, eq = uniform.per_line(), edu.per_line(), uniform.per_question(), edu.per_question()
    return {
        "line": ratio(ul["generated_tokens"], el["generated_tokens"]),
        "question": ratio(uq["generated_tokens"], eq["generated_tokens"]),
        "calls_line": ratio(ul["calls"], el["calls"]),
        "calls_question": ratio(uq["calls"], eq["calls"]),
        "forward_line": ratio(ul["forward_tokens"], el["forward_tokens"]),
    }


@dataclass(frozen=True)
class QuestionCost:
    """One question's generated tokens and labelled line steps under both labellers."""

    edu_tokens: int
    uniform_tokens: int
    edu_lines: int
    uniform_lines: int


def cost_ratio_intervals(
    questions: Sequence[QuestionCost],
    *,
    resamples: int = 1000,
    seed: int = 0,
    min_questions: int = 5,
) -> dict[str, list[float] | None]:
    """95% bootstrap intervals over questions of uniform's generated tokens over EDU's, per
    labelled line step (``cost_ratio_line_ci95``) and per question (``cost_ratio_question_ci95``):
    each resample sums both labellers' tokens and line steps over the drawn questions, as the
    point ratios sum them over all; None when EDU generated no token or fewer than
    ``min_questions`` questions were labelled by both (too few to resample)."""

    def per_line(qs: Sequence[QuestionCost]) -> float:
        edu = sum(q.edu_tokens for q in qs) / max(1, sum(q.edu_lines for q in qs))
        uni = sum(q.uniform_tokens for q in qs) / max(1, sum(q.uniform_lines for q in qs))
        return uni / edu if edu else float("nan")

    def per_question(qs: Sequence[QuestionCost]) -> float:
        edu = sum(q.edu_tokens for q in qs)
        return sum(q.uniform_tokens for q in qs) / edu if edu else float("nan")

    out: dict[str, list[float] | None] = {}
    for key, stat in (
        ("cost_ratio_line_ci95", per_line),
        ("cost_ratio_question_ci95", per_question),
    ):
        if len(questions) < min_questions or sum(q.edu_tokens for q in questions) == 0:
            out[key] = None
            continue
        m = bootstrap(list(questions), stat, resamples=resamples, seed=seed)
        out[key] = [m.ci_low, m.ci_high]
    return out


def cohens_kappa(pairs: Sequence[tuple[bool, bool]]) -> float:
    """Cohen's kappa of two binary ratings; 0 when chance agreement is total (one class only
    on both sides), NaN with no pairs."""
    n = len(pairs)
    if n == 0:
        return float("nan")
    observed = sum(a == b for a, b in pairs) / n
    pa = sum(a for a, _ in pairs) / n
    pb = sum(b for _, b in pairs) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected >= 1.0:
        return 0.0
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class LabelQuality:
    """Hard labels against exact truth: accuracy and Cohen's kappa (bootstrap over questions),
    and the share of wrong steps labelled right (``false_positive_rate``) and of right steps
    labelled wrong (``false_negative_rate``)."""

    steps: int
    accuracy: Metric
    kappa: Metric
    false_positive_rate: float
    false_negative_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "accuracy": self.accuracy.to_dict(),
            "kappa": self.kappa.to_dict(),
            "false_positive_rate": self.false_positive_rate,
            "false_negative_rate": self.false_negative_rate,
        }


def label_quality(
    questions: Sequence[Sequence[tuple[bool, bool]]], *, resamples: int = 1000, seed: int = 0
) -> LabelQuality:
    """Quality of hard labels: ``questions[q]`` holds ``(label, truth)`` per line step."""

    def pooled(qs: Sequence[Sequence[tuple[bool, bool]]]) -> list[tuple[bool, bool]]:
        return [p for q in qs for p in q]

    def accuracy(qs: Sequence[Sequence[tuple[bool, bool]]]) -> float:
        pairs = pooled(qs)
        return sum(a == b for a, b in pairs) / len(pairs) if pairs else 0.0

    def kappa(qs: Sequence[Sequence[tuple[bool, bool]]]) -> float:
        value = cohens_kappa(pooled(qs))
        return 0.0 if value != value else value

    items = [list(q) for q in questions if q]
    pairs = pooled(items)
    acc = bootstrap(items, accuracy, resamples=resamples, seed=seed)
    kap = bootstrap(items, kappa, resamples=resamples, seed=seed)
    wrong = [a for a, t in pairs if not t]
    right = [a for a, t in pairs if t]
    return LabelQuality(
        len(pairs),
        Metric(acc.value, len(pairs), acc.ci_low, acc.ci_high),
        Metric(kap.value, len(pairs), kap.ci_low, kap.ci_high),
        sum(wrong) / len(wrong) if wrong else 0.0,
        sum(not a for a in right) / len(right) if right else 0.0,
    )


def paired(
    labels: Mapping[Prefix, StepLabel], truth: Mapping[Prefix, bool], keys: Sequence[Prefix]
) -> list[tuple[bool, bool]]:
    """``(hard label, truth)`` of the steps ``keys`` (those both sides know)."""
    return [(labels[k].hard == 1.0, truth[k]) for k in keys if k in labels and k in truth]


@dataclass
class UniformSet:
    """What uniform Monte Carlo labelled for one question: its solutions (token ids), the label
    of every distinct line step, and what it cost (sampling the solutions and the rollouts)."""

    solutions: list[list[int]]
    labels: dict[Prefix, StepLabel]
    cost: Cost


def uniform_set(results: Sequence[UniformResult], cost: Cost) -> UniformSet:
    """One question's :class:`UniformSet` from :func:`ifrl.prm.uniform.label_solutions`."""
    return UniformSet([list(r.solution_ids) for r in results], uniform_line_labels(results), cost)


def uniform_sets_from_samples(
    samples: Sequence[StepSample], trees: Sequence[BranchTree], tokenizer: Any
) -> dict[str, UniformSet]:
    """Rebuild the :class:`UniformSet` of each question from ``ifrl prm uniform --trees``
    output (``meta``: question_id, leaf, rollouts, soft, cost) and the trees it labelled."""
    by_id = {t.question_id: t for t in trees}
    out: dict[str, UniformSet] = {}
    for s in samples:
        qid, leaf = str(s.meta.get("question_id")), s.meta.get("leaf")
        tree = by_id.get(qid)
        if tree is None or leaf is None:
            raise ValueError(f"uniform sample of {qid!r} has no tree leaf: label with --trees")
        sol = tree.solution_ids(int(leaf))
        cost = Cost.from_dict(s.meta.get("cost") or {})
        entry = out.setdefault(qid, UniformSet([], {}, cost))
        entry.solutions.append(sol)
        rollouts, soft = s.meta.get("rollouts", []), s.meta.get("soft", [])
        for prefix, n, share in zip(line_prefixes(sol, tokenizer), rollouts, soft):
            entry.labels.setdefault(prefix, StepLabel(int(n), round(float(share) * int(n))))
    return out


def labelling_report(
    trees: Sequence[BranchTree],
    uniform: Mapping[str, UniformSet],
    tokenizer: Any,
    checker: Checker,
    *,
    truth: TruthFn | None = None,
    stop: Sequence[str] = (),
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Cost and label quality of EDU (its trees) and uniform MC (``uniform``, on leaves of the
    same trees), on the questions both labelled.

    ``headline``: uniform's cost over EDU's per labelled line step and per question (generated
    tokens and calls) and, with ``truth``, Cohen's kappa of each labeler's hard labels against
    it on the same line steps (uniform's; ``kappa_edu_all``: on all of EDU's).
    """
    shared = [t for t in trees if t.question_id in uniform]
    edu_cost, uni_cost = Cost(), Cost()
    edu_lines = uni_lines = edu_solutions = uni_solutions = single = 0
    q_edu_shared: list[list[tuple[bool, bool]]] = []
    q_edu_all: list[list[tuple[bool, bool]]] = []
    q_uni: list[list[tuple[bool, bool]]] = []
    per_question: list[QuestionCost] = []
    for tree in shared:
        graded = grade_leaves(tree, tokenizer, checker, stop)
        edu = edu_line_labels(tree, tokenizer, graded)
        uni = uniform[tree.question_id]
        edu_cost += tree.cost
        uni_cost += uni.cost
        edu_lines += len(edu)
        uni_lines += len(uni.labels)
        edu_solutions += len(graded)
        uni_solutions += len(uni.solutions)
        single += sum(1 for label in edu.values() if label.leaves == 1)
        per_question.append(
            QuestionCost(
                tree.cost.generated_tokens, uni.cost.generated_tokens, len(edu), len(uni.labels)
            )
        )
        if truth is not None:
            leaves = [tree.solution_ids(leaf) for leaf in graded]
            known = line_truth_labels(tree.prompt, [*leaves, *uni.solutions], tokenizer, truth)
            q_edu_all.append(paired(edu, known, list(edu)))
            q_edu_shared.append(paired(edu, known, list(uni.labels)))
            q_uni.append(paired(uni.labels, known, list(uni.labels)))
    e = LabelCost("edu", edu_cost, len(shared), edu_solutions, edu_lines)
    u = LabelCost("uniform", uni_cost, len(shared), uni_solutions, uni_lines)
    ratios = cost_ratios(u, e)
    headline: dict[str, Any] = {
        "questions": len(shared),
        "cost_ratio_line": ratios["line"],
        "cost_ratio_question": ratios["question"],
        "calls_ratio_line": ratios["calls_line"],
        "calls_ratio_question": ratios["calls_question"],
        **cost_ratio_intervals(per_question, resamples=resamples, seed=seed),
    }
    report: dict[str, Any] = {
        "edu": e.to_dict(),
        "uniform": u.to_dict(),
        "ratios": ratios,
        "edu_single_leaf_step_share": single / edu_lines if edu_lines else None,
    }
    if truth is not None:
        quality = {
            "edu": label_quality(q_edu_shared, resamples=resamples, seed=seed),
            "uniform": label_quality(q_uni, resamples=resamples, seed=seed),
            "edu_all": label_quality(q_edu_all, resamples=resamples, seed=seed),
        }
        report["quality"] = {k: v.to_dict() for k, v in quality.items()}
        for key, name in (("edu", "kappa_edu"), ("uniform", "kappa_uniform")):
            k = quality[key].kappa
            headline[name] = k.value
            headline[f"{name}_ci95"] = [k.ci_low, k.ci_high]
        headline["kappa_edu_all"] = quality["edu_all"].kappa.value
    report["headline"] = headline
    return report


__all__ = [
    "LabelCost",
    "LabelQuality",
    "Prefix",
    "QuestionCost",
    "TruthFn",
    "UniformSet",
    "cohens_kappa",
    "cost_ratio_intervals",
    "cost_ratios",
    "edu_line_labels",
    "label_quality",
    "labelling_report",
    "line_prefixes",
    "line_truth_labels",
    "paired",
    "sampling_cost",
    "uniform_line_labels",
    "uniform_set",
    "uniform_sets_from_samples",
]

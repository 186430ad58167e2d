"""Monte Carlo labels on a hand-built tree, the exports, and the uniform baseline's labels."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ifrl.core.records import Cost, SamplingParams, StepSample
from ifrl.prm.branching import BranchNode, BranchTree
from ifrl.prm.checkers import get_checker
from ifrl.prm.decoding import GreedyTrace, call_cost
from ifrl.prm.labels import (
    StepLabel,
    check_split,
    count_steps,
    grade_leaves,
    mc_labels,
    split_steps,
    step_samples,
    to_openrlhf,
    to_qwen_prm,
    to_trl,
)
from ifrl.prm.questions import Question
from ifrl.prm.uniform import UniformConfig, uniform_label


class CharTokenizer:
    """One token per character (id = code point); id 0 is the special end-of-sequence."""

    all_special_ids = (0,)
    eos_token_id = 0

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return "".join(chr(i) for i in ids if not (skip_special_tokens and i == 0))

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]


def ids(text: str) -> list[int]:
    return [ord(c) for c in text]


def hand_tree() -> BranchTree:
    r"""root "A" -> {x: "B" -> {p: "=1", q: "=2"}, y: "C" -> {r: "=2", s: "=3"}} plus a pruned z.

    The reference answer is 2: leaves q and r are correct.
    """
    nodes = [
        BranchNode(0, None, 0, 0, 0, ids("A"), [0.5], [1, 2, 7]),
        BranchNode(1, 0, 1, 0, 1, ids("B"), [2.0], [3, 4]),
        BranchNode(2, 0, 1, 1, 1, ids("C"), [2.0], [5, 6]),
        BranchNode(3, 1, 2, 0, 2, ids("=1"), [1.5, 0.1], finish_reason="stop"),
        BranchNode(4, 1, 2, 1, 2, ids("=2"), [1.5, 0.1], finish_reason="stop"),
        BranchNode(5, 2, 2, 0, 2, ids("=2"), [1.7, 0.1], finish_reason="stop"),
        BranchNode(6, 2, 2, 1, 2, ids("=3"), [1.7, 0.1], finish_reason="stop"),
        BranchNode(7, 0, 1, 2, 1, ids("Z=2"), [2.0, 0, 0], finish_reason="pruned", pruned=True),
    ]
    return BranchTree("q1", "Q: ", "2", ids("Q: "), nodes)


def test_mc_labels_on_a_hand_built_tree() -> None:
    tree = hand_tree()
    tok = CharTokenizer()
    correct = grade_leaves(tree, tok, get_checker("gsm8k"))
    assert correct == {3: False, 4: True, 5: True, 6: False}  # pruned leaf 7 is not graded
    labels = mc_labels(tree, correct)
    assert {k: (v.leaves, v.correct) for k, v in labels.items()} == {
        0: (4, 2),
        1: (2, 1),
        2: (2, 1),
        3: (1, 0),
        4: (1, 1),
        5: (1, 1),
        6: (1, 0),
    }
    assert labels[0].soft == 0.5 and labels[3].hard == 0.0 and labels[4].hard == 1.0
    samples = step_samples(tree, tok, correct, split="anchor")
    assert all(s.meta["split"] == "anchor" for s in samples)
    assert [s.steps for s in samples] == [
        ("A", "B", "=1"),
        ("A", "B", "=2"),
        ("A", "C", "=2"),
        ("A", "C", "=3"),
    ]
    assert [s.labels for s in samples] == [
        (0.5, 0.5, 0.0),
        (0.5, 0.5, 1.0),
        (0.5, 0.5, 1.0),
        (0.5, 0.5, 0.0),
    ]
    hard = step_samples(tree, tok, correct, label="hard", split="anchor")
    assert hard[0].labels == (1.0, 1.0, 0.0)
    assert hard[0].meta["soft"] == [0.5, 0.5, 0.0] and hard[0].meta["correct"] is False
    assert count_steps([tree], [correct]) == 7


def test_all_wrong_and_all_right_subtrees() -> None:
    tree = hand_tree()
    tok = CharTokenizer()
    tree.reference = "7"
    labels = mc_labels(tree, grade_leaves(tree, tok, get_checker("gsm8k")))
    assert all(v.soft == 0.0 and v.hard == 0.0 for v in labels.values())
    tree.reference = None
    with pytest.raises(ValueError, match="no reference"):
        grade_leaves(tree, tok, get_checker("gsm8k"))


def test_exports_to_trl_and_qwen_prm() -> None:
    tree = hand_tree()
    tok = CharTokenizer()
    graded = grade_leaves(tree, tok, get_checker("gsm8k"))
    sample = step_samples(tree, tok, graded, split="anchor")[1]
    assert to_trl(sample) == {
        "prompt": "Q: ",
        "completions": ["A", "B", "=2"],
        "labels": [True, True, True],
    }
    assert to_trl(sample, threshold=0.75)["labels"] == [False, False, True]
    qwen = to_qwen_prm(sample)
    assert qwen["response"] == "A<extra_0>B<extra_0>=2<extra_0>"
    assert qwen["labels"] == [0.5, 0.5, 1.0]
    # OpenRLHF's process reward dataset: a placeholder after each step's text (before its
    # trailing newline), one reward token (or float) per placeholder.
    lines = StepSample("Q: 1 + 2\n", ("Step 1: 1 + 2 = 3\n", "#### 3"), (0.75, 0.0))
    row = to_openrlhf(lines)
    assert row == {"input": "Q: 1 + 2\nStep 1: 1 + 2 = 3 ки\n#### 3 ки", "value": ["+", "-"]}
    assert row["input"].count("ки") == len(row["value"])
    assert to_openrlhf(lines, soft=True)["value"] == [0.75, 0.0]
    assert to_openrlhf(lines, threshold=0.8, placeholder="<s>")["value"] == ["-", "-"]


def test_split_steps_on_newlines() -> None:
    tok = CharTokenizer()
    assert split_steps(ids("a\nbc\nd"), tok) == [(0, 2), (2, 5), (5, 6)]
    assert split_steps(ids("a\nb\n"), tok) == [(0, 2), (2, 4)]
    assert split_steps([*ids("a\nb\n"), 0], tok) == [(0, 2), (2, 5)]  # trailing eos merges
    assert split_steps(ids("abc"), tok) == [(0, 3)]
    assert split_steps([], tok) == []


class ScriptedDecoder:
    """Greedy solution "1\\n2\\n#### 3"; rollouts after step i are scripted answers."""

    tokenizer = CharTokenizer()
    eos_ids = frozenset({0})

    def __init__(self, rollouts: dict[int, list[str]]) -> None:
        self.rollouts = rollouts
        self.cost = Cost()

    def encode(self, text: str) -> list[int]:
        return ids(text)

    def greedy(
        self, prefixes: Sequence[Sequence[int]], budgets: Sequence[int], top_n: int
    ) -> list[GreedyTrace]:
        t = tuple(ids("1\n2\n#### 3"))
        self.cost += call_cost(prefixes, [[t]] * len(prefixes))
        return [GreedyTrace(t, (1.0,) * len(t), (), "stop") for _ in prefixes]

    def sample(
        self, prefixes: Sequence[Sequence[int]], budgets: Sequence[int], params: SamplingParams
    ) -> list[list[tuple[int, ...]]]:
        out = []
        for p in prefixes:
            done = len(p) - len(ids("Q: "))
            row = [tuple(ids(a)) for a in self.rollouts[done]][: params.n]
            out.append(row)
        self.cost += call_cost(prefixes, out)
        return out


def test_uniform_labels_and_cost() -> None:
    decoder = ScriptedDecoder({2: ["#### 3", "#### 4", "#### 3", "#### 5"], 4: ["#### 9"] * 4})
    results = uniform_label(
        decoder, [Question("q", "Q: ", "3")], get_checker("gsm8k"), UniformConfig(rollouts=4)
    )
    (res,) = results
    assert res.steps(decoder.tokenizer) == ["1\n", "2\n", "#### 3"]
    assert [(s.leaves, s.correct) for s in res.labels] == [(4, 2), (4, 0), (1, 1)]
    sample = res.sample(decoder.tokenizer, label="hard")
    assert sample.labels == (1.0, 0.0, 1.0) and sample.meta["soft"] == [0.5, 0.0, 1.0]
    # One greedy solution (10 tokens) + 4 rollouts from each of the 2 inner steps (6 tokens each).
    assert decoder.cost.calls == 1 + 2 * 4
    assert decoder.cost.generated_tokens == 10 + 8 * 6
    assert decoder.cost.forward_tokens == (3 + 10) + 4 * (5 + 6) + 4 * (7 + 6)


def test_agreement_on_shared_steps_of_the_greedy_solution() -> None:
    from ifrl.prm.agreement import greedy_path, label_agreement
    from ifrl.prm.uniform import UniformResult

    tree = hand_tree()
    tok = CharTokenizer()
    labels = mc_labels(tree, grade_leaves(tree, tok, get_checker("gsm8k")))
    assert [n.id for n in greedy_path(tree)] == [0, 1, 3]
    solution = tree.solution_ids(3)  # "AB=1"
    q = Question("q1", "Q: ", "2")
    # Uniform steps "A" | "B=" | "1": boundaries after token 1 (node 0) and token 3 (node 3).
    res = UniformResult(
        q, solution, [(0, 1), (1, 3), (3, 4)], [StepLabel(4, 0), StepLabel(4, 3), StepLabel(1, 0)]
    )
    got = label_agreement([tree], [labels], [res])
    # Step 1 ends in node 0 (EDU 2/4 -> hard 1; uniform 0/4 -> hard 0): disagree.
    # Step 2 ends in node 3 ("=1", EDU 0/1 -> hard 0; uniform 3/4 -> hard 1): disagree.
    assert (got.shared, got.hard_agree, got.skipped_questions) == (2, 0, 0)
    assert got.mean_soft_diff == pytest.approx((0.5 + 0.75) / 2)
    other = UniformResult(q, [*solution, 5], res.spans, res.labels)
    assert label_agreement([tree], [labels], [other]).skipped_questions == 1


def test_newline_steps_take_the_label_of_the_node_holding_their_last_token() -> None:
    r"""root "S1 =" -> {a: "4\nS2 =" -> {c: "6\n#6", d: "7\n#7"}, b: "5\nS2 =" -> {e: "6\n#6"}}.

    Reference 6: leaves c and e are correct. Newline steps cut mid-node: "S1 =4\n" ends inside
    node a (or b), so it takes a's (b's) label; "S2 =6\n" ends inside the leaf.
    """
    nodes = [
        BranchNode(0, None, 0, 0, 0, ids("S1 ="), [0.0] * 4, [1, 2]),
        BranchNode(1, 0, 1, 0, 4, ids("4\nS2 ="), [1.5] + [0.0] * 5, [3, 4]),
        BranchNode(2, 0, 1, 1, 4, ids("5\nS2 ="), [1.5] + [0.0] * 5, [5]),
        BranchNode(3, 1, 2, 0, 10, [*ids("6\n#6"), 0], [1.2] + [0.0] * 4, finish_reason="stop"),
        BranchNode(4, 1, 2, 1, 10, [*ids("7\n#7"), 0], [1.2] + [0.0] * 4, finish_reason="stop"),
        BranchNode(5, 2, 2, 0, 10, [*ids("6\n#6"), 0], [0.3] + [0.0] * 4, finish_reason="stop"),
    ]
    tree = BranchTree("q", "Q\n", "6", ids("Q\n"), nodes)
    tok = CharTokenizer()
    correct = grade_leaves(tree, tok, get_checker("gsm8k"))
    assert correct == {3: True, 4: False, 5: True}
    soft = step_samples(tree, tok, correct, split="newline")
    assert [s.steps for s in soft] == [
        ("S1 =4\n", "S2 =6\n", "#6"),
        ("S1 =4\n", "S2 =7\n", "#7"),
        ("S1 =5\n", "S2 =6\n", "#6"),
    ]
    assert [s.meta["node_ids"] for s in soft] == [[1, 3, 3], [1, 4, 4], [2, 5, 5]]
    assert [s.labels for s in soft] == [(0.5, 1.0, 1.0), (0.5, 0.0, 0.0), (1.0, 1.0, 1.0)]
    hard = step_samples(tree, tok, correct, split="newline", label="hard")
    assert [s.labels for s in hard] == [(1.0, 1.0, 1.0), (1.0, 0.0, 0.0), (1.0, 1.0, 1.0)]
    # The default cut is at newlines (where solutions are scored); at anchors: one step per node.
    assert step_samples(tree, tok, correct) == soft and soft[0].meta["split"] == "newline"
    anchor = step_samples(tree, tok, correct, split="anchor")
    assert anchor[0].steps == ("S1 =", "4\nS2 =", "6\n#6") and anchor[0].meta["split"] == "anchor"
    check_split(soft, "newline")
    with pytest.raises(ValueError, match="sample 0 was cut at anchor steps, not newline"):
        check_split(anchor, "newline", "steps.jsonl")
    with pytest.raises(ValueError, match="split must be"):
        step_samples(tree, tok, correct, split="sentence")  # type: ignore[arg-type]

"""JudgedReward: hard verdicts by code, soft by a judge (or every verdict by the judge), TRL
convention, source counts."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from ifrl.constraints.codec import batch_specs
from ifrl.constraints.judge import JudgeQuery, JudgeVerdict
from ifrl.constraints.judged_rewards import JudgedReward
from ifrl.constraints.params import ConstraintSpecError
from ifrl.constraints.rewards import prompt_text, strict_all, strict_fraction

NO_COMMA = {"id": "punctuation:no_comma", "kwargs": {}}
LOWER = {"id": "change_case:english_lowercase", "kwargs": {}}
TONE = {"id": "soft:tone", "kwargs": {"tone": "formal"}, "kind": "soft"}


class FormalJudge:
    """Says yes iff the response contains the word 'dear'; records what it was asked."""

    name = "formal"

    def __init__(self, p_yes: float | None = None) -> None:
        self.asked: list[JudgeQuery] = []
        self.p_yes = p_yes

    def judge(self, queries: Sequence[JudgeQuery]) -> list[list[JudgeVerdict]]:
        self.asked += queries
        out = []
        for q in queries:
            label = "yes" if "dear" in q.response else "no"
            out.append([JudgeVerdict(label, self.p_yes) for _ in q.constraints])  # type: ignore[arg-type]
        return out


def test_all_mode_rules_first_then_judge() -> None:
    judge = FormalJudge()
    reward = JudgedReward(judge)
    completions = ["dear sir no commas", "dear sir, a comma", "nothing formal here", "plain"]
    constraints = [[NO_COMMA, TONE], [NO_COMMA, TONE], [TONE], []]
    prompts = ["p1", "p2", [{"role": "user", "content": "p3"}], "p4"]
    out = reward(prompts, completions, constraints=constraints)
    assert out == [1.0, 0.0, 0.0, None]
    # the second row failed a hard constraint: the judge was not asked about it
    assert [q.prompt for q in judge.asked] == ["p1", "p3"]
    assert (
        judge.asked[0].constraints[0].text == "The response is written in a formal tone throughout."
    )
    assert reward.stats.to_dict() == {
        "rewards": 4,
        "no_constraints": 1,
        "hard_only": 0,
        "soft_only": 1,
        "hard_and_soft": 2,
        "hard_short_circuit": 1,
        "hard_verdicts": 2,
        "judge_verdicts": 2,
        "judge_unparseable": 0,
    }


def test_fraction_mode_and_probabilities() -> None:
    reward = JudgedReward(FormalJudge(p_yes=0.8), mode="fraction", soft_score="probability")
    out = reward(["p"], ["Dear sir, hello"], constraints=[[NO_COMMA, LOWER, TONE]])
    assert out == [pytest.approx((0 + 0 + 0.8) / 3)]
    all_prob = JudgedReward(FormalJudge(p_yes=0.8), soft_score="probability")
    assert all_prob(["p"], ["dear sir"], constraints=[[NO_COMMA, TONE]]) == [pytest.approx(0.8)]


def test_hard_only_rows_match_the_plain_reward() -> None:
    completions = ["all lower no comma", "Upper, comma", "lower, comma"]
    constraints = [[NO_COMMA, LOWER]] * 3
    judged = JudgedReward(FormalJudge())
    assert judged(["p"] * 3, completions, constraints=constraints) == strict_all(
        ["p"] * 3, completions, constraints=constraints
    )
    assert judged.stats.hard_only == 3 and judged.stats.judge_verdicts == 0


def test_unparseable_counts_as_failed() -> None:
    class Mumbling:
        name = "m"

        def judge(self, queries: Sequence[JudgeQuery]) -> list[list[JudgeVerdict]]:
            return [[JudgeVerdict("unparseable") for _ in q.constraints] for q in queries]

    reward = JudgedReward(Mumbling(), mode="fraction")
    assert reward(["p"], ["fine"], constraints=[[NO_COMMA, TONE]]) == [0.5]
    assert reward.stats.judge_unparseable == 1


def test_ifeval_columns_with_kinds_json_and_conversational_completions() -> None:
    reward = JudgedReward(FormalJudge())
    out = reward(
        [[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]],
        [[{"role": "assistant", "content": "<think>x, y</think>dear all"}]],
        instruction_id_list=[json.dumps(["punctuation:no_comma", "soft:rubric"])],
        kwargs=[json.dumps([{}, {"rubric": "Is polite.", "unused": None}])],
    )
    assert out == [0.0]  # the thinking has a comma and is scored without strip_think
    reward = JudgedReward(FormalJudge(), strip_think=True)
    out = reward(
        ["u"],
        ["<think>x, y</think>dear all"],
        instruction_id_list=[["punctuation:no_comma", "punctuation:no_comma"]],
        kwargs=[[{}, {}]],
        kinds=[["hard", "soft"]],
    )
    assert out == [1.0]
    assert (
        prompt_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])
        == "q"
    )


def test_bad_columns_name_the_field() -> None:
    with pytest.raises(ConstraintSpecError, match="instruction_id_list"):
        batch_specs({"other": [1]}, 0)
    with pytest.raises(ConstraintSpecError, match="kind"):
        batch_specs({"constraints": [[{"id": "a", "kind": "judged"}]]}, 0)
    with pytest.raises(ConstraintSpecError, match="kinds"):
        batch_specs({"instruction_id_list": [["a"]], "kinds": [["hard", "soft"]]}, 0)
    with pytest.raises(ValueError, match="soft_score"):
        JudgedReward(FormalJudge(), soft_score="logit")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="judged"):
        JudgedReward(FormalJudge(), judged="hard")  # type: ignore[arg-type]


def test_simulated_reward_hacking_with_a_noisy_judge() -> None:
    """Hard constraints marked kind="soft" are judged; a NoisyJudge with 30% recall on
    non-compliant responses then rewards about 70% of the violations a verifier would catch."""
    from ifrl.constraints.noisy import NoisyJudge

    judged_no_comma = {**NO_COMMA, "kind": "soft"}
    completions = [f"answer {i}, with a comma" for i in range(1000)] + [
        f"answer {i} clean" for i in range(1000)
    ]
    constraints = [[judged_no_comma]] * len(completions)
    noisy = JudgedReward(NoisyJudge(recall_noncompliant=0.3, seed=0))
    rewards = noisy(["p"] * len(completions), completions, constraints=constraints)
    exact = strict_all(
        ["p"] * len(completions), completions, constraints=[[NO_COMMA]] * len(completions)
    )
    hacked = sum(r == 1.0 and e == 0.0 for r, e in zip(rewards, exact))
    assert hacked / 1000 == pytest.approx(0.7, abs=0.05)
    assert rewards[1000:] == [1.0] * 1000
    assert noisy.stats.soft_only == 2000 and noisy.stats.hard_verdicts == 0


def test_a_judge_of_every_constraint_gives_the_share_it_says_are_met() -> None:
    """``judged="all"``: the judge reads the hard constraints too (as their instruction text);
    a perfect judge then equals the verifiers, a lenient one overrates."""
    from ifrl.constraints.noisy import NoisyJudge
    from ifrl.constraints.soft import describe_hard
    from ifrl.core.records import ConstraintSpec

    prompts = ["Write about rain without commas.", "Describe snow in lowercase, no commas."]
    columns = {
        "instruction_id_list": [
            ["punctuation:no_comma"],
            ["change_case:english_lowercase", "punctuation:no_comma"],
        ],
        "kwargs": [[{}], [{}, {}]],
    }
    completions = ["Rain falls, softly.", "snow is white and cold"]
    perfect = JudgedReward(NoisyJudge(), "fraction", judged="all")
    truth = strict_fraction(prompts, completions, **columns)
    assert perfect(prompts, completions, **columns) == truth == [0.0, 1.0]
    assert perfect.stats.hard_verdicts == 0 and perfect.stats.judge_verdicts == 3
    lenient = JudgedReward(NoisyJudge(recall_noncompliant=0.0), "fraction", judged="all")
    assert lenient(prompts, completions, **columns) == [1.0, 1.0]
    judge = FormalJudge()
    JudgedReward(judge, judged="all")(["p"], ["x"], constraints=[[NO_COMMA]])
    assert judge.asked[0].constraints[0].text == describe_hard(
        ConstraintSpec("punctuation:no_comma")
    )

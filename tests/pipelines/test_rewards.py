"""The if-rlvr recipe's judge reward: ``JudgedReward(judged="all")``, a judge's share of
constraints met, in TRL's reward calling convention."""

from __future__ import annotations

from ifrl.constraints import JudgedReward, NoisyJudge, strict_fraction

PROMPTS = ["Write about rain without commas.", "Describe snow in lowercase, no commas."]
COLUMNS = {
    "instruction_id_list": [
        ["punctuation:no_comma"],
        ["change_case:english_lowercase", "punctuation:no_comma"],
    ],
    "kwargs": [[{}], [{}, {}]],
}
COMPLETIONS = ["Rain falls, softly.", "snow is white and cold"]


def judge_reward(judge: NoisyJudge, name: str | None = None) -> JudgedReward:
    return JudgedReward(judge, "fraction", judged="all", name=name)


def test_perfect_judge_equals_the_verifiers() -> None:
    reward = judge_reward(NoisyJudge())
    assert reward(PROMPTS, COMPLETIONS, **COLUMNS) == strict_fraction(
        PROMPTS, COMPLETIONS, **COLUMNS
    )
    assert reward(PROMPTS, COMPLETIONS, **COLUMNS) == [0.0, 1.0]


def test_lenient_judge_overrates_and_rows_without_constraints_get_none() -> None:
    lenient = judge_reward(NoisyJudge(recall_noncompliant=0.0), name="lenient")
    assert lenient(PROMPTS, COMPLETIONS, **COLUMNS) == [1.0, 1.0]  # passes the comma too
    assert lenient.__name__ == "lenient"
    out = lenient(["hi"], ["x"], instruction_id_list=[[]], kwargs=[[]])
    assert out == [None]
    chat = lenient(
        [[{"role": "user", "content": PROMPTS[0]}]],
        [[{"role": "assistant", "content": "a, b"}]],
        instruction_id_list=[["punctuation:no_comma"]],
        kwargs=[[{}]],
    )
    assert chat == [1.0]

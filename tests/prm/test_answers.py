"""Answer checkers, including GSM8K extraction on every gold answer of the real GSM8K files."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from ifrl_testdata import shared_data

from ifrl.core.answers import extract_answer
from ifrl.core.registry import UnknownNameError
from ifrl.prm import get_checker


@pytest.mark.parametrize("split", ["test", "train"])
def test_gsm8k_gold_answers_are_all_extracted(split: str) -> None:
    path = shared_data("gsm8k", f"{split}.jsonl")
    check = get_checker("gsm8k")
    n = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            answer = json.loads(line)["answer"]
            gold_text = answer.rsplit("####", 1)[1].strip()
            gold = Fraction(gold_text.replace(",", ""))
            got = extract_answer(answer)
            assert got is not None and Fraction(got) == gold, (answer, got)
            assert check(answer, answer)
            # A solution whose last line states the answer differently still counts.
            assert check(f"So the answer is {gold_text}.", answer)
            assert not check(f"#### {gold + 1}", answer)
            n += 1
    assert n == {"test": 1319, "train": 7473}[split]


def test_gsm8k_checker_normalises_numbers() -> None:
    check = get_checker("gsm8k")
    assert check("She pays $1,200.00 dollars in total.", "1200")
    assert check("#### 18", "Janet ... #### 18")
    assert check("The answer is 0.50", "0.5")
    assert not check("no number here", "3")


def test_exact_and_regex_checkers_and_unknown_names() -> None:
    assert get_checker("exact")(" yes \n", "yes")
    assert not get_checker("exact")("yes.", "yes")
    assert get_checker("regex")("final: B", r"final:\s*B\b")
    assert not get_checker("regex")("final: BC", r"final:\s*B\b")
    with pytest.raises(UnknownNameError, match="gsm8k"):
        get_checker("gsm8")

"""GSM8K-style final-answer extraction and numeric comparison (ifrl.core.answers)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from ifrl_testdata import shared_data

from ifrl.core.answers import (
    answers_match,
    extract_answer,
    gold_answer,
    is_correct,
    normalize_number,
    parse_number,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18.\n#### 18", "18"),
        ("so the profit is $70,000\n#### 70,000", "70000"),
        ("#### 1,450,000", "1450000"),
        ("Thus the total is \\boxed{42}.", "42"),
        ("We get \\boxed{\\frac{3}{4}} of the cake", "0.75"),
        ("So it costs \\boxed{\\$18.50}", "18.5"),
        ("\\boxed{18 \\text{ dollars}}", "18"),
        ("The answer is 42.", "42"),
        ("The answer is $1,200.", "1200"),
        ("**Answer**: 7 apples", "7"),
        ("Final answer: -3", "-3"),
        ("She pays 4 + 5 = 9 dollars in total.", "9"),
        ("It took 2.50 hours", "2.5"),
        ("The temperature dropped to -12 degrees", "-12"),
        ("16-3 is what remains", "3"),
        ("Half: 50% of them", "50"),
        ("no numbers here", None),
        ("", None),
    ],
)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


def test_priority_gsm8k_mark_over_boxed_over_phrase_over_last_number() -> None:
    assert extract_answer("The answer is 5. \\boxed{6} 7\n#### 8 later 9") == "8"
    assert extract_answer("The answer is 5. \\boxed{6} then 7") == "6"
    assert extract_answer("The answer is 5, not 7") == "5"
    # The last "answer is" wins over earlier ones.
    assert extract_answer("First the answer is 5; correcting: the answer is 6.") == "6"


def test_thousands_separators_need_groups_of_three() -> None:
    assert normalize_number("1,000") == "1000"
    assert normalize_number("12,345,678.90") == "12345678.9"
    # "1, 2, 3" is a list, not one number; the last one is 3.
    assert extract_answer("the values are 1, 2, 3") == "3"
    assert normalize_number("1,2345") == "1"


def test_parse_number_is_exact() -> None:
    assert parse_number("$0.10") == Fraction(1, 10)
    assert parse_number("1/3") == Fraction(1, 3)
    assert parse_number("−4") == -4  # unicode minus
    assert parse_number("nothing") is None
    assert normalize_number("2/6") == "1/3"
    assert normalize_number("3/0") is None


@pytest.mark.parametrize(
    ("predicted", "gold", "same"),
    [
        ("18", "18", True),
        ("18.00", "18", True),
        ("$18", "18", True),
        ("1,000", "1000", True),
        ("0.5", "1/2", True),
        ("18.01", "18", False),
        ("-18", "18", False),
        (None, "18", False),
        ("eighteen", "18", False),
    ],
)
def test_answers_match(predicted: str | None, gold: str, same: bool) -> None:
    assert answers_match(predicted, gold) is same


def test_is_correct_with_bare_and_full_gold() -> None:
    solution = "He sprints 3*3=<<3*3=9>>9 times\nSo he runs 9*60=<<9*60=540>>540 meters\n#### 540"
    assert is_correct("So he runs 540 meters per week.", solution)
    assert is_correct("The answer is 540", "540")
    assert not is_correct("So he runs 541 meters per week.", solution)


def test_gold_answer_requires_mark() -> None:
    assert gold_answer("blah\n#### 5,600") == "5600"
    with pytest.raises(ValueError, match="####"):
        gold_answer("no marker 5")
    with pytest.raises(ValueError, match="no number"):
        gold_answer("#### none")


def test_gold_solutions_of_the_gsm8k_test_set_extract_to_100_percent() -> None:
    path = shared_data("gsm8k", "test.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) == 1319
    wrong = []
    for row in rows:
        final = row["answer"].rsplit("####", 1)[1].strip()
        expected = Fraction(final.replace(",", ""))
        got = extract_answer(row["answer"])
        if got is None or parse_number(got) != expected or not is_correct(row["answer"], final):
            wrong.append((final, got))
    assert wrong == []
    # Without the "####" line the last number of the gold rationale is still the answer
    # for the vast majority (the rationale ends with the computation of the result).
    body_hits = sum(
        answers_match(extract_answer(r["answer"].rsplit("####", 1)[0]), gold_answer(r["answer"]))
        for r in rows
    )
    assert body_hits / len(rows) > 0.95

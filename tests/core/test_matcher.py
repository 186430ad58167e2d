"""The structured tool-call matcher on hand-written cases."""

from __future__ import annotations

import pytest

from ifrl.core.matcher import (
    MatcherConfig,
    ToolCallReward,
    call_score,
    match_calls,
    match_text,
    values_equal,
)
from ifrl.core.records import ToolCall
from ifrl.core.toolcalls import render_tool_calls

GOLD = [ToolCall("get_weather", {"city": "Paris", "days": 3})]


def test_right_call_is_exact() -> None:
    r = match_text('[get_weather(city="Paris", days=3)]', GOLD)
    assert r.exact and r.score == 1.0 and r.reason == "ok"


def test_right_call_in_every_format() -> None:
    for fmt in ("python", "json", "hermes"):
        text = render_tool_calls(GOLD, fmt)  # type: ignore[arg-type]
        assert match_text(text, GOLD).exact, fmt


def test_wrong_name_scores_zero() -> None:
    r = match_text('[get_forecast(city="Paris", days=3)]', GOLD)
    assert r.score == 0.0 and not r.exact and r.reason == "wrong_name"


def test_missing_argument() -> None:
    r = match_text('[get_weather(city="Paris")]', GOLD)
    # name 1, keys 1/2, values 1/2 -> (1 + 0.5 + 0.5) / 3
    assert r.score == pytest.approx(2 / 3)
    assert r.reason == "missing_argument" and not r.exact


def test_wrong_value() -> None:
    r = match_text('[get_weather(city="Lyon", days=3)]', GOLD)
    assert r.score == pytest.approx((1 + 1 + 0.5) / 3)
    assert r.reason == "wrong_value"


def test_extra_argument() -> None:
    r = match_text('[get_weather(city="Paris", days=3, unit="C")]', GOLD)
    assert r.score == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert r.reason == "extra_argument"


def test_parallel_calls_in_another_order() -> None:
    gold = [ToolCall("a", {"x": 1}), ToolCall("b", {"y": "z"})]
    assert match_text('[b(y="z"), a(x=1)]', gold).exact
    half = match_text('[b(y="q"), a(x=1)]', gold)
    assert half.score == pytest.approx((1 + (1 + 1 + 0) / 3) / 2)
    assert half.reason == "wrong_value"


def test_missing_and_extra_calls() -> None:
    gold = [ToolCall("a", {"x": 1}), ToolCall("b", {"y": "z"})]
    missing = match_text("[a(x=1)]", gold)
    assert missing.score == pytest.approx(0.5) and missing.reason == "missing_call"
    extra = match_text('[a(x=1), b(y="z"), a(x=2)]', gold)
    assert extra.score == pytest.approx(2 / 3) and extra.reason == "extra_call"


def test_parse_error_and_text_answers() -> None:
    assert match_text("[get_weather(city=]", GOLD).reason == "parse_error"
    assert match_text("The weather is nice.", GOLD).reason == "no_calls"
    assert match_text("Which city do you mean?", []).exact
    assert match_text('[get_weather(city="Paris")]', []).score == 0.0


def test_type_aware_values() -> None:
    assert values_equal(3, 3.0)
    assert not values_equal(True, 1) and not values_equal(1, True)
    assert not values_equal("3", 3)
    assert values_equal("3", 3, MatcherConfig(numeric_strings=True))
    assert values_equal(" Paris ", "Paris")
    assert not values_equal("paris", "Paris")
    assert values_equal("paris", "Paris", MatcherConfig(case_sensitive=False))
    assert values_equal([1, {"a": None}], [1.0, {"a": None}])
    assert not values_equal([1, 2], [2, 1])
    assert not values_equal({"a": 1}, {"a": 1, "b": 2})
    assert not values_equal(None, 0)


def test_call_score_without_arguments() -> None:
    assert call_score(ToolCall("f", {}), ToolCall("f", {})) == 1.0
    assert match_calls([ToolCall("f", {})], [ToolCall("f", {"a": 1})]).score == pytest.approx(1 / 3)


def test_reward_fn_convention() -> None:
    reward = ToolCallReward()
    out = reward(
        ["p", "p", "p"],
        ['[get_weather(city="Paris", days=3)]', [{"role": "assistant", "content": "hi"}], "x"],
        gold_calls=[
            [{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}],
            [],
            [{"function": {"name": "f", "arguments": '{"a": 1}'}}],
        ],
    )
    assert out == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="gold_calls"):
        reward(["p"], ["x"])

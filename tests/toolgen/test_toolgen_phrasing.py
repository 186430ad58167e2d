"""Phrasing of list arguments: ``city_list`` reads "for the cities Paris, Lima and Rome", never
"city list Paris, Lima and Rome", and the values stay exactly as ``render_value`` writes them."""

from __future__ import annotations

import random

import pytest

from ifrl.core.records import ToolSpec
from ifrl.toolgen import phrasing as ph


@pytest.mark.parametrize(
    ("noun", "expected"),
    [
        ("city", "cities"),
        ("query", "queries"),
        ("day", "days"),
        ("start date", "start dates"),
        ("address", "addresses"),
        ("box", "boxes"),
        ("phone", "phones"),
    ],
)
def test_plural(noun: str, expected: str) -> None:
    assert ph.plural(noun) == expected


def test_list_arguments_read_as_lists() -> None:
    api = ToolSpec(
        name="find_hotels",
        description="Find hotels in several cities.",
        parameters={
            "type": "object",
            "properties": {
                "city_list": {"type": "array", "items": {"type": "string"}},
                "query_list": {"type": "array", "items": {"type": "string"}},
            },
        },
    )
    rng = random.Random(0)
    cities = ["Paris", "Lima", "Rome"]
    seen = set()
    for _ in range(60):
        text = ph.phrase(api, "city_list", cities, rng=rng)
        assert "Paris, Lima and Rome" in text and "list" not in text
        seen.add(text.replace("Paris, Lima and Rome", "{v}"))
        q = ph.phrase(api, "query_list", ["jazz", "folk"], rng=rng)
        assert "jazz and folk" in q and "list" not in q and "quer" in q
    assert "for the cities {v}" in seen and "in {v}" in seen  # list forms and the base's own
    assert ph._list_forms("city") == () and ph._list_forms("_list") == ()

"""Phrasing of list arguments: ``city_list`` reads "for the cities Paris, Lima and Rome", never
"city list Paris, Lima and Rome", and the values stay exactly as ``render_value`` writes them."""

from __future__ import annotations

import random

import pytest

from ifrl.core.records import ToolSpec
from ifrl.toolgen import ApiInfo
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


def _search_api() -> tuple[ToolSpec, ApiInfo]:
    api = ToolSpec(
        name="search_hotels",
        description="Search hotels.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}, "max_price": {"type": "number"}},
        },
        meta={"domain": "lodging", "functionalities": ["search hotels"], "entity": "hotel"},
    )
    return api, ApiInfo.of(api)


def test_a_search_can_be_asked_without_a_verb_and_keeps_every_value() -> None:
    api, info = _search_api()
    rng = random.Random(0)
    forms = set()
    for _ in range(200):
        text = ph.noun_request(api, info, {"city": "Lima", "max_price": 180}, rng)
        assert text is not None and "Lima" in text and "180" in text, text
        assert "  " not in text and text[0].isupper() and text[-1] in ".?", text
        forms.add(text)
    assert len(forms) > 100
    # the left-out value of a clarify request is not said
    text = ph.noun_request(api, info, {"city": "Lima", "max_price": 180}, rng, skip=["city"])
    assert text is not None and "Lima" not in text
    # a request about one record (its id): no noun form
    assert ph.noun_request(api, info, {"hotel_id": "HO12345"}, rng) is None


def test_a_held_detail_becomes_its_own_sentence() -> None:
    api, info = _search_api()
    rng = random.Random(1)
    for _ in range(50):
        held: list[str] = []
        body = ph.request_body(api, info, {"city": "Lima", "max_price": 180}, rng, held=held)
        assert len(held) == 1
        said = body + ". " + ph.afterthought(held[0], rng)
        assert "Lima" in said and "180" in said and held[0] not in body

"""API pool: validity, uniqueness, diversity, determinism, resume and the model-driven path."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from toolgen_helpers import ScriptedGenerator, pool

from ifrl.core.errors import JSONLError
from ifrl.core.jsonl import write_jsonl
from ifrl.core.records import ToolSpec
from ifrl.toolgen.apis import (
    MUTATIONS,
    ApiInfo,
    Deduplicator,
    ModelApiGenerator,
    ProgrammaticApiGenerator,
    api_problems,
    build_pool,
    expand_tree,
    load_apis,
    read_api,
    signature,
)
from ifrl.toolgen.seeds import SEED_TREE
from ifrl.toolgen.tool_schema import (
    fast_valid,
    normalize_schema,
    sample_value,
    schema_problems,
    validator_for,
    value_issues,
)


def test_seed_tree_has_thirty_domains_with_functionalities() -> None:
    assert len(SEED_TREE) >= 30
    assert len({d.name for d in SEED_TREE}) == len(SEED_TREE)
    for domain in SEED_TREE:
        assert domain.subdomains and all(fns for fns in domain.subdomains.values())


def test_programmatic_pool_is_valid_unique_and_diverse() -> None:
    apis = pool(300)
    assert len(apis) == 300
    for api in apis:
        Draft202012Validator.check_schema(api.parameters)  # the meta-schema, independently
        Draft202012Validator.check_schema(api.responses)
        assert api.parameters["type"] == "object"
        assert not api_problems(api), api.name
    assert len({a.name for a in apis}) == 300
    assert len({signature(a) for a in apis}) == 300
    infos = [ApiInfo.of(a) for a in apis]
    assert len({i.domain for i in infos}) >= 30
    assert {i.complexity for i in infos} == {1, 2, 3}
    # adaptation: each API a distinct (functionality subset, complexity)
    assert len({(frozenset(i.functionalities), i.complexity) for i in infos}) == 300
    types = Counter(s.get("type") for a in apis for s in a.properties.values())
    assert {"string", "integer", "number", "boolean", "array", "object"} <= set(types)
    assert any("enum" in s for a in apis for s in a.properties.values())
    assert any("default" in s for a in apis for s in a.properties.values())
    assert any("format" in s for a in apis for s in a.properties.values())


def test_every_mutation_is_used_and_guided_by_diversity() -> None:
    gen = ProgrammaticApiGenerator(1)
    list(gen.generate(200))
    used = gen.diversity.mutations
    assert set(MUTATIONS) <= set(used)
    # inverse-usage weighting keeps the kinds balanced: no kind more than 3x another
    assert max(used.values()) <= 3 * min(used.values())


def test_same_seed_same_pool_other_seed_other_pool() -> None:
    a = [x.to_dict() for x in pool(50, seed=3)]
    b = [x.to_dict() for x in pool(50, seed=3)]
    c = [x.to_dict() for x in pool(50, seed=4)]
    assert a == b
    assert a != c


def test_signature_ignores_name_style() -> None:
    params = {"type": "object", "properties": {"city": {"type": "string", "description": "c"}}}
    one = ToolSpec("get_weather", "Get the weather in a city.", params)
    two = ToolSpec("GetWeather", "Returns weather for a city.", params)
    assert signature(one) == signature(two)
    dedup = Deduplicator()
    assert dedup.offer(one) is None
    assert dedup.offer(two) == "duplicate_signature"
    assert (
        dedup.offer(one.replace(parameters={"type": "object", "properties": {}}))
        == "duplicate_name"
    )


class BagOfWords:
    """A deterministic embedder: word counts over a fixed vocabulary."""

    def encode(self, texts: Any) -> list[list[float]]:
        out = []
        for text in texts:
            words = text.lower().replace(":", " ").replace(",", " ").split()
            vec = [0.0] * 64
            for w in words:
                vec[sum(map(ord, w)) % 64] += 1.0
            out.append(vec)
        return out


def test_embedding_near_duplicates_are_removed() -> None:
    dedup = Deduplicator(BagOfWords(), threshold=0.9)
    p1 = {"type": "object", "properties": {"city": {"type": "string", "description": "x"}}}
    p2 = {"type": "object", "properties": {"town": {"type": "string", "description": "x"}}}
    assert (
        dedup.offer(ToolSpec("fetch_weather_report", "Fetch the weather report for a city.", p1))
        is None
    )
    near = ToolSpec("weather_report_fetch", "Fetch the weather report for a city.", p2)
    assert dedup.offer(near) == "near_duplicate_embedding"
    other = ToolSpec("book_table", "Reserve a restaurant table for dinner tonight.", p1)
    assert dedup.offer(other) is None


def test_build_pool_resumes(tmp_path: Path) -> None:
    out = tmp_path / "apis.jsonl"
    assert build_pool(ProgrammaticApiGenerator(0), 30, out) == (0, 30)
    first = out.read_text().splitlines()
    assert build_pool(ProgrammaticApiGenerator(0), 50, out) == (30, 20)
    lines = out.read_text().splitlines()
    assert lines[:30] == first
    names = [json.loads(line)["name"] for line in lines]
    assert len(names) == len(set(names)) == 50
    assert [a.name for a in load_apis(out)] == names


def test_old_api_files_still_load(tmp_path: Path) -> None:
    """Pool lines of the older form (metadata beside the definition) and released definitions
    (``arguments``/``results``, loose types) load as ToolSpecs with their metadata in ``meta``."""
    legacy = {
        "name": "get_tides",
        "description": "Get tide times for a harbour.",
        "parameters": {"type": "object", "properties": {"harbour": {"type": "string"}}},
        "responses": {"type": "object"},
        "domain": "travel",
        "subdomain": "sea",
        "functionalities": ["get tides"],
        "complexity": 2,
        "role": "producer",
        "entity": "harbour",
        "meta": {"phrases": {"harbour": "in {v}"}, "pools": {"harbour": ["Brest"]}},
    }
    released = {
        "name": "Get Moon",
        "description": "Moon phase on a day.",
        "arguments": {"type": "dict", "properties": {"day": {"type": "str"}}, "required": None},
        "results": {"phase": {"type": "str"}},
    }
    path = tmp_path / "apis.jsonl"
    write_jsonl(path, [legacy, released, {"type": "function", "function": released}])
    old, new, wrapped = load_apis(path)
    assert ApiInfo.of(old) == ApiInfo(
        "travel",
        "sea",
        ("get tides",),
        2,
        "producer",
        "harbour",
        {"harbour": "in {v}"},
        {"harbour": ["Brest"]},
    )
    assert read_api(old.to_dict()) == old  # the new form round-trips
    assert new.parameters == {"type": "object", "properties": {"day": {"type": "string"}}}
    assert new.responses == {"type": "object", "properties": {"phase": {"type": "string"}}}
    assert ApiInfo.of(new) == ApiInfo() and wrapped == new
    write_jsonl(path, [{**legacy, "complexity": 5}])
    with pytest.raises(JSONLError, match=r"apis.jsonl:1: meta.complexity: must be 1, 2 or 3"):
        load_apis(path)


def test_schema_helpers() -> None:
    loose = {
        "type": "dict",
        "properties": {"n": {"type": "int"}, "xs": {"type": "list", "items": {"type": "str"}}},
        "required": None,
    }
    norm = normalize_schema(loose)
    assert norm == {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "xs": {"type": "array", "items": {"type": "string"}},
        },
    }
    assert schema_problems(norm) == []
    assert schema_problems({"type": "object", "properties": {"a": {"type": "strin"}}})
    assert (
        "not a property"
        in schema_problems({"type": "object", "properties": {}, "required": ["x"]})[0]
    )
    codes = {c for c, _, _ in value_issues({"type": "string", "format": "date"}, "2024-02-30")}
    assert codes == {"bad_format"}
    rng = random.Random(0)
    for schema in (
        {"type": "string", "pattern": "^[A-Z]{2}[0-9]{5}$"},
        {"type": "string", "format": "email"},
        {"type": "integer", "minimum": 3, "maximum": 4},
        {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 2},
        {"type": "object", "properties": {"a": {"enum": ["x", "y"]}}, "required": ["a"]},
    ):
        assert value_issues(schema, sample_value(schema, rng)) == []


GOOD_API = {
    "name": "get_tide_times",
    "description": "Get high and low tide times for a harbour on a date.",
    "parameters": {
        "type": "object",
        "properties": {
            "harbour": {"type": "string", "description": "Harbour name"},
            "date": {"type": "string", "description": "Day, YYYY-MM-DD", "format": "date"},
        },
        "required": ["harbour"],
    },
    "responses": {"type": "object", "properties": {"high": {"type": "string"}}},
}


def test_model_api_generator_keeps_valid_and_counts_rejections() -> None:
    replies = iter(
        [
            "Here you go: " + json.dumps(GOOD_API),
            "not json at all",
            json.dumps(
                {
                    **GOOD_API,
                    "parameters": {"type": "object", "properties": {"x": {"type": "nope"}}},
                }
            ),
            json.dumps(GOOD_API),  # a duplicate
            json.dumps(
                {
                    **GOOD_API,
                    "name": "get_moon_phase",
                    "description": "Get the moon phase for a date.",
                    "parameters": {
                        "type": "object",
                        "properties": {"day": {"type": "string", "description": "Day"}},
                    },
                }
            ),
        ]
        + ["garbage"] * 50
    )
    fake = ScriptedGenerator(lambda prompt, i: next(replies))
    gen = ModelApiGenerator(fake, batch_size=5, max_attempts_factor=5)
    made = list(gen.generate(2))
    assert [a.name for a in made] == ["get_tide_times", "get_moon_phase"]
    assert all(ApiInfo.of(a).domain and 1 <= ApiInfo.of(a).complexity <= 3 for a in made)
    assert gen.stats["kept"] == 2
    assert gen.stats["rejected_output"] == 2
    assert gen.stats["duplicate_name"] == 1
    first = fake.prompts[0]
    assert [m.role for m in first.messages] == ["system", "user"]
    user = first.messages[1].content or ""
    assert "Domain:" in user and "Examples of APIs" in user


def test_model_api_generator_gives_up_on_garbage() -> None:
    fake = ScriptedGenerator(lambda prompt, i: "}{ nothing useful")
    gen = ModelApiGenerator(fake, batch_size=4, max_attempts_factor=2)
    assert list(gen.generate(3)) == []
    assert gen.stats["rejected_output"] == 6  # n * max_attempts_factor attempts


def test_expand_tree_adds_well_formed_subdomains() -> None:
    reply = json.dumps({"tide tables": ["get tide times", "list harbours"], "bad": "x"})
    fake = ScriptedGenerator(
        lambda prompt, i: reply if "weather" in (prompt.messages[-1].content or "") else "nope"
    )
    tree, stats = expand_tree(fake, SEED_TREE[:3])
    weather = next(d for d in tree if d.name == "weather")
    assert weather.subdomains["tide_tables"] == ("get tide times", "list harbours")
    assert stats["added_subdomain"] == 1
    assert stats["rejected_not_json"] == 2


@pytest.mark.parametrize("name", ["", "   "])
def test_api_rejects_empty_name(name: str) -> None:
    from ifrl.core.errors import RecordError

    with pytest.raises(RecordError, match="name"):
        ToolSpec(name, "A description here.", {"type": "object"})


SCHEMAS = [
    s for a in pool(200, seed=9) for s in (a.parameters, a.responses, *a.properties.values())
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-100, 3000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def schema_and_value(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    schema = draw(st.sampled_from(SCHEMAS))
    value = sample_value(schema, random.Random(draw(st.integers(0, 10**6))))
    if draw(st.booleans()):
        if isinstance(value, dict) and value:
            key = draw(st.sampled_from([*sorted(value), "zz_extra"]))
            if draw(st.booleans()):
                value.pop(key, None)
            else:
                value[key] = draw(json_values)
        else:
            value = draw(json_values)
    return schema, value


@settings(max_examples=1500, deadline=None)
@given(schema_and_value())
def test_fast_validator_agrees_with_jsonschema(case: tuple[dict[str, Any], Any]) -> None:
    schema, value = case
    fast = fast_valid(schema, value)
    errors = list(validator_for(schema).iter_errors(value))
    if fast is True:
        assert not errors, (schema, value)
    elif fast is False:
        assert errors, (schema, value)

"""Value vocabularies that grow with the data (``ifrl.toolgen.lexicon``): many distinct values,
each a plausible one of its kind, the same ones for the same seed."""

from __future__ import annotations

import random
import re

from ifrl.toolgen import lexicon
from ifrl.toolgen.tool_schema import value_issues
from ifrl.toolgen.world import CITIES, Scene


def test_vocabularies_grow_with_the_number_of_draws() -> None:
    rng = random.Random(0)
    people = [" ".join(lexicon.person(rng)) for _ in range(3000)]
    streets = [lexicon.address(rng, "en") for _ in range(3000)]
    # the 0.1.x world had 50 x 50 names and 25 streets
    assert len(set(people)) > 2500 and len(set(streets)) > 2500
    queries = {lexicon.query("recipes", rng) for _ in range(3000)}
    assert len(queries) > 300


def test_the_same_seed_gives_the_same_values() -> None:
    def draw(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [" ".join(lexicon.person(rng)), lexicon.address(rng, "de"), lexicon.message(rng)]

    assert draw(7) == draw(7) and draw(7) != draw(8)


def test_addresses_are_written_as_the_city_language_writes_them() -> None:
    rng = random.Random(1)
    for _ in range(200):
        assert re.fullmatch(r"\d+ [A-Z]\w+ [A-Z]\w+", lexicon.address(rng, "en"))
        assert re.fullmatch(
            r"\S+(straße|weg|gasse|allee|platz|ring|ufer) \d+", lexicon.address(rng, "de")
        )
        assert re.fullmatch(
            r"\d+ (rue|avenue|boulevard|place|quai|allée|impasse) .+", lexicon.address(rng, "fr")
        )
        assert re.fullmatch(
            r"(Calle|Avenida|Paseo|Plaza|Camino|Ronda) .+ \d+", lexicon.address(rng, "es")
        )


def test_titles_fit_their_domain_and_tasks_pair_a_verb_with_its_objects() -> None:
    rng = random.Random(2)
    for _ in range(300):
        task = lexicon.title("tasks", rng)
        assert task is not None
        verb, _, thing = task.partition(" ")
        assert thing in lexicon._TASKS_SPLIT[verb], task  # never "Renew plumber"
    assert lexicon.title("weather", rng) is None and lexicon.query("weather", rng) is None


def test_a_scene_email_is_its_person_and_a_valid_address() -> None:
    rng = random.Random(3)
    email_schema = {"type": "string", "format": "email"}
    for _ in range(500):
        scene = Scene.draw(rng)
        local = scene.email.split("@")[0]
        assert local.startswith(scene.first.lower().replace("-", "") + ".")
        assert " " not in scene.email and not value_issues(email_schema, scene.email)
        assert scene.city in CITIES and scene.city != scene.other
        assert scene.companion.count(" ") >= 1

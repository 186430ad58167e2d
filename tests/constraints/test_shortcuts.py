"""The shortcuts that make verification fast give the results of the long way round.

Each shortcut skips work whose result cannot change a verdict: tokenizing sentences that
cannot hold a word in capitals, splitting a text whose candidate breaks already bound its
sentence count, and langdetect's ``Random.choice`` inlined as ``getrandbits`` draws.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ifrl.constraints.nlp import langid
from ifrl.constraints.nlp.sentences import count_sentences, max_sentences, split_sentences
from ifrl.constraints.text import Text

WORDS = st.sampled_from(
    [
        *("USA", "I", "a", "The", "DOn't", "don't", "CANnot", "cannot", "GONNA", "Gonna", "'s"),
        *("n't", "A.", "U.S.", "Mr.", "e.g.", "x", "X,", "(", '"', "'", ".", "!", "?", "...", "—"),
        *("iPhone", "NASA's", "Über", "É", "a-B", "''", "``", "*BOLD*", "2ND", "Ⓐ", "ǅ", "\n"),
    ]
)
TEXTS = st.lists(
    st.tuples(WORDS, st.sampled_from(["", " ", ". ", ", ", "! ", "\n"])), max_size=25
).map(lambda parts: "".join(w + sep for w, sep in parts))


@given(TEXTS)
@settings(max_examples=500, deadline=None)
def test_capital_count_skips_only_sentences_without_capital_words(text: str) -> None:
    assert Text(text).capital_token_count == sum(1 for t in Text(text).tokens if t.isupper())


@given(TEXTS)
@settings(max_examples=500, deadline=None)
def test_candidate_marks_bound_the_sentence_count(text: str) -> None:
    assert count_sentences(text) <= max_sentences(text)


def test_inlined_draws_are_random_choice() -> None:
    for n in (1, 2, 3, 7, 100, 2049, 70_000):
        ours, theirs = random.Random(0), random.Random(0)
        k = n.bit_length()
        for _ in range(200):
            r = ours.getrandbits(k)
            while r >= n:
                r = ours.getrandbits(k)
            assert r == theirs.choice(range(n))
    assert langid.detect_language("This is clearly an English sentence about the weather.") == "en"


def test_sentences_equal_nltk_punkt_of_the_version_ifbench_pins() -> None:
    nltk = pytest.importorskip("nltk", reason="NLTK is only a reference here")
    if tuple(int(x) for x in nltk.__version__.split(".")[:2]) >= (3, 10):
        pytest.skip("NLTK 3.10 changed Punkt; ours decides as 3.9 (the README says where)")
    import punkt
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    model = punkt.load_model("english")
    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = set(model.collocations)
    params.sent_starters = set(model.sent_starters)
    for word, flags in model.ortho_context.items():
        params.ortho_context[word] = flags
    reference = PunktSentenceTokenizer(params)
    rng = random.Random(0)
    atoms = ["Mr.", "U.S.", "e.g.", "J.", "No.", "3.", "1.5", "...", "?!", "!", "?", ".", '"']
    atoms += [")", "(", "--", ",", ";", "\n", "\n\n", " ", "A", "a", "The", "It", "5.", "”", "Inc."]
    for _ in range(3000):
        text = "".join(rng.choice(atoms) + rng.choice(["", " "]) for _ in range(rng.randint(1, 25)))
        assert split_sentences(text) == reference.tokenize(text), text

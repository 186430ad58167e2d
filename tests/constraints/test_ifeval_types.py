"""Every IFEval type: a synthesized constraint, a response that passes it and one that fails.

Also: kwargs schemas (None ignored, bad kwargs named), unknown ids, loose variants, and the
NLTK-free helpers against NLTK/langdetect where those are installed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from ifrl.constraints import (
    IFEVAL_IDS,
    REGISTRY,
    ConstraintSpecError,
    build,
    evaluate,
    get_type,
    loose_variants,
    verify,
)
from ifrl.constraints.codec import to_row
from ifrl.constraints.synth import synthesize_one
from ifrl.core.registry import UnknownNameError

LANGUAGE_SAMPLES = {
    "de": "Das Wetter ist heute sehr schön und wir gehen zusammen in den Park, um dort zu spazieren.",
    "es": "El tiempo está muy bonito hoy y vamos juntos al parque para pasear un rato por la tarde.",
    "fr": "Le temps est très beau aujourd'hui et nous allons ensemble au parc pour nous promener.",
    "it": "Oggi il tempo è molto bello e andiamo insieme al parco per fare una passeggiata.",
    "pt": "O tempo está muito bonito hoje e vamos juntos ao parque para passear um pouco.",
    "ru": "Сегодня очень хорошая погода, и мы вместе идём в парк, чтобы погулять.",
    "ja": "今日はとても良い天気なので、私たちは一緒に公園へ散歩に行きます。",
    "ko": "오늘은 날씨가 아주 좋아서 우리는 함께 공원에 산책하러 갑니다.",
    "ar": "الطقس جميل جدا اليوم ونحن نذهب معا إلى الحديقة للتنزه.",
    "hi": "आज मौसम बहुत अच्छा है और हम साथ में पार्क में टहलने जा रहे हैं।",
    "fi": "Tänään sää on todella kaunis ja menemme yhdessä puistoon kävelylle.",
    "vi": "Hôm nay thời tiết rất đẹp và chúng tôi cùng nhau đi dạo trong công viên.",
    "th": "วันนี้อากาศดีมากและเราจะไปเดินเล่นที่สวนสาธารณะด้วยกัน",
    "bg": "Днес времето е много хубаво и ние отиваме заедно в парка на разходка.",
}
ENGLISH = "The weather is very nice today and we are going to the park together for a walk."

Builder = Callable[[dict[str, Any], str], tuple[str, str]]


def _threshold(relation: str, n: int, hit: str, miss: str) -> tuple[str, str]:
    """(pass, fail) for a count that must be < n ("less than") or >= n ("at least")."""
    return (miss, hit) if relation == "less than" else (hit, miss)


def _paragraphs(k: dict[str, Any], first: str) -> str:
    paras = [f"Paragraph {i} talks about the weather." for i in range(1, k["num_paragraphs"] + 1)]
    paras[k["nth_paragraph"] - 1] = f"{first} starts this paragraph."
    return "\n\n".join(paras)


BUILDERS: dict[str, Builder] = {
    "keywords:existence": lambda k, p: (
        "We talk about " + " and ".join(k["keywords"]) + ".",
        "Nothing relevant is said here.",
    ),
    "keywords:frequency": lambda k, p: _threshold(
        k["relation"], k["frequency"], " ".join([k["keyword"]] * k["frequency"]), "Nothing here."
    ),
    "keywords:forbidden_words": lambda k, p: (
        "A calm and neutral reply.",
        f"This reply says {k['forbidden_words'][0]} anyway.",
    ),
    "keywords:letter_frequency": lambda k, p: _threshold(
        k["let_relation"], k["let_frequency"], k["letter"] * k["let_frequency"], "1234 5678"
    ),
    "language:response_language": lambda k, p: (
        LANGUAGE_SAMPLES[k["language"]],
        ENGLISH,
    ),
    "length_constraints:number_sentences": lambda k, p: _threshold(
        k["relation"], k["num_sentences"], "This is a sentence. " * k["num_sentences"], "Just one."
    ),
    "length_constraints:number_paragraphs": lambda k, p: (
        "\n***\n".join(["Some text."] * k["num_paragraphs"]),
        "\n***\n".join(["Some text."] * (k["num_paragraphs"] + 1)),
    ),
    "length_constraints:number_words": lambda k, p: _threshold(
        k["relation"], k["num_words"], "word " * k["num_words"], "word"
    ),
    "length_constraints:nth_paragraph_first_word": lambda k, p: (
        _paragraphs(k, k["first_word"].capitalize()),
        _paragraphs(k, "Otherwise"),
    ),
    "detectable_content:number_placeholders": lambda k, p: (
        "Dear [name], " + " ".join(f"[field{i}]" for i in range(k["num_placeholders"])),
        "Dear friend, no fields here.",
    ),
    "detectable_content:postscript": lambda k, p: (
        f"Main text.\n\n{k['postscript_marker']} Do not forget.",
        "Main text without a note.",
    ),
    "detectable_format:number_bullet_lists": lambda k, p: (
        "\n".join(f"* point {i}" for i in range(k["num_bullets"])),
        "\n".join(f"* point {i}" for i in range(k["num_bullets"] + 1)),
    ),
    "detectable_format:constrained_response": lambda k, p: ("My answer is maybe.", "Perhaps."),
    "detectable_format:number_highlighted_sections": lambda k, p: (
        " ".join(f"*part {i}*" for i in range(k["num_highlights"])),
        "No highlights at all.",
    ),
    "detectable_format:multiple_sections": lambda k, p: (
        "\n".join(f"{k['section_spliter']} {i}\ntext" for i in range(1, k["num_sections"] + 1)),
        "\n".join(f"{k['section_spliter']} {i}\ntext" for i in range(1, k["num_sections"])),
    ),
    "detectable_format:json_format": lambda k, p: (
        '```json\n{"answer": [1, 2, 3]}\n```',
        '{"answer": [1, 2, 3]',
    ),
    "detectable_format:title": lambda k, p: ("<<A Fine Day>>\nText.", "<< >>\nText."),
    "combination:two_responses": lambda k, p: (
        "First answer.\n******\nSecond answer.",
        "Same answer.\n******\nSame answer.",
    ),
    "combination:repeat_prompt": lambda k, p: (
        k["prompt_to_repeat"] + "\nHere is my answer.",
        "Here is my answer. " + k["prompt_to_repeat"],
    ),
    "startend:end_checker": lambda k, p: (
        "Some text. " + k["end_phrase"],
        k["end_phrase"] + " And more words.",
    ),
    "change_case:capital_word_frequency": lambda k, p: _threshold(
        k["capital_relation"],
        k["capital_frequency"],
        " ".join(["LOUD"] * k["capital_frequency"]) + " words.",
        "quiet words only.",
    ),
    "change_case:english_capital": lambda k, p: (ENGLISH.upper(), ENGLISH),
    "change_case:english_lowercase": lambda k, p: (ENGLISH.lower(), ENGLISH),
    "punctuation:no_comma": lambda k, p: ("No commas here at all.", "Commas, sadly, appear."),
    "startend:quotation": lambda k, p: ('"All of it is quoted."', 'Only "part" is quoted.'),
}


def test_the_25_ifeval_types_are_registered_with_ifeval_ids() -> None:
    assert len(IFEVAL_IDS) == 25
    assert set(IFEVAL_IDS) <= set(REGISTRY.names())
    assert set(BUILDERS) == set(IFEVAL_IDS)


@pytest.mark.parametrize("cid", IFEVAL_IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthesized_constraint_passes_and_fails(cid: str, seed: int) -> None:
    rng = random.Random(seed)
    rec = synthesize_one("Tell me about your favourite day out.", 1, rng, types=[cid])
    (spec,) = rec.constraints
    assert spec.id == cid
    good, bad = BUILDERS[cid](dict(spec.kwargs), rec.text)
    ok = verify(good, [cid], [spec.kwargs])[0]
    ko = verify(bad, [cid], [spec.kwargs])[0]
    assert ok.passed, (spec.kwargs, good, ok.reason)
    assert not ko.passed, (spec.kwargs, bad, ko.reason)
    assert ok.score == 1.0 and ko.score == 0.0
    # the instruction text is written for these kwargs and the record reads back unchanged
    assert rec.meta["checkers"][0].removeprefix("[rule] ") in rec.text
    row = to_row(rec, "ifeval")
    assert evaluate(good, row["instruction_id_list"], row["kwargs"]).strict == (True,)


def test_blank_responses_fail_every_type() -> None:
    rng = random.Random(0)
    for cid in IFEVAL_IDS:
        ctype = get_type(cid)
        c = ctype(ctype.sample_kwargs(rng, prompt="Say hi."))
        for blank in ("", "  \n\t "):
            assert c.check(blank).passed is False


def test_none_kwargs_are_ignored_as_ifeval_does() -> None:
    # IFEval's Hugging Face rows carry every kwarg name, unused ones null.
    nulls = {"num_highlights": None, "relation": None, "num_words": None, "keywords": None}
    v = verify("no commas", ["punctuation:no_comma"], [nulls])[0]
    assert v.passed
    words = {**nulls, "relation": "at least", "num_words": 2}
    assert verify("two words", ["length_constraints:number_words"], [words])[0].passed


@pytest.mark.parametrize(
    ("cid", "kwargs", "field"),
    [
        (
            "length_constraints:number_words",
            {"num_words": "ten", "relation": "at least"},
            "num_words",
        ),
        ("length_constraints:number_words", {"num_words": 10, "relation": "about"}, "relation"),
        ("length_constraints:number_words", {"num_words": 10}, "relation"),
        ("length_constraints:number_words", {"num_words": -1, "relation": "at least"}, "num_words"),
        ("keywords:existence", {"keywords": "river"}, "keywords"),
        ("keywords:existence", {"keywords": ["river", 3]}, "keywords[1]"),
        (
            "keywords:letter_frequency",
            {"letter": "ab", "let_frequency": 1, "let_relation": "at least"},
            "letter",
        ),
        ("punctuation:no_comma", {"extra": 1}, "extra"),
        ("language:response_language", {"language": "xx"}, "language"),
        (
            "length_constraints:nth_paragraph_first_word",
            {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "so"},
            "nth_paragraph",
        ),
    ],
)
def test_bad_kwargs_raise_a_clear_error(cid: str, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConstraintSpecError) as info:
        build(cid, kwargs)
    assert info.value.constraint_id == cid
    assert info.value.field == field
    assert str(info.value).startswith(f"{cid}.{field}: ")


def test_unknown_id_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'punctuation:no_comma'"):
        verify("x", ["punctuation:no_commas"], [{}])


def test_loose_variants_follow_ifeval() -> None:
    r = "Sure! Here it is:\n*hello*\nthanks"
    assert loose_variants(r) == [
        r,
        r.replace("*", ""),
        "*hello*\nthanks",
        "Sure! Here it is:\n*hello*",
        "*hello*",
        "hello\nthanks",
        "Sure! Here it is:\nhello",
        "hello",
    ]
    # the first line breaks the quotation; loose drops it
    quoted = 'Here you go:\n"all quoted"'
    assert verify(quoted, ["startend:quotation"], [{}], mode="strict")[0].passed is False
    loose = verify(quoted, ["startend:quotation"], [{}], mode="loose")[0]
    assert loose.passed and loose.reason.startswith("loose (no first line)")
    ev = evaluate(quoted, ["startend:quotation", "punctuation:no_comma"], [{}, {}], key=7)
    assert ev.to_dict() == {
        "key": 7,
        "instruction_id_list": ["startend:quotation", "punctuation:no_comma"],
        "strict": [False, True],
        "loose": [True, True],
        "follow_all_strict": False,
        "follow_all_loose": True,
    }


def test_verify_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        verify("x", ["punctuation:no_comma"], [{}], mode="lenient")  # type: ignore[arg-type]


def test_list_schema_is_json() -> None:
    for cid in IFEVAL_IDS:
        schema = get_type(cid).schema()
        assert schema["id"] == cid and schema["family"] == cid.split(":")[0]
        json.dumps(schema)


def test_treebank_tokens_equal_nltk_word_tokenize() -> None:
    nltk_tok = pytest.importorskip("nltk.tokenize", reason="NLTK is only a reference here")
    from ifrl.constraints.nlp.sentences import split_sentences
    from ifrl.constraints.nlp.treebank import tokenize_sentence, word_tokenize

    ref = nltk_tok.NLTKWordTokenizer()
    texts = [
        "I CAN'T believe it's \"THAT\" good... AT&T's (NYSE: T) cannot gonna 'tis -- fine!",
        "She said: 'No.' Then he left; the end? Yes! [1] {x} <y> «z» “q” ‘r’ 3:30, 4,5.",
        "DON'T stop*now* U.S.A. ... wanna go? more'n enough—really.",
    ]
    for text in texts:
        expected = [t for s in split_sentences(text) for t in ref.tokenize(s)]
        assert word_tokenize(text) == expected
        for s in split_sentences(text):
            assert tokenize_sentence(s) == ref.tokenize(s)


def test_language_ids_equal_langdetect_seeded() -> None:
    langdetect = pytest.importorskip("langdetect")
    from ifrl.constraints.nlp.langid import detect_language

    langdetect.DetectorFactory.seed = 0
    texts = [*LANGUAGE_SAMPLES.values(), ENGLISH, ENGLISH.upper(), "ok", "Ça va? Oui, très bien."]
    for text in texts:
        assert detect_language(text) == langdetect.detect(text)
    assert detect_language("1234 !!") is None

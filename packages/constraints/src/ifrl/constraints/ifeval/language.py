"""IFEval ``language:response_language``: the whole response must be in a given language.

Language identification is langdetect's algorithm with seed 0 (see
:mod:`ifrl.constraints.nlp.langid`), so verdicts are deterministic and equal IFEval's. A text
in which no language feature is found counts as following the instruction, as in IFEval.

Fixed semantics: the language is decided from every n-gram of the lower-cased text
(:attr:`Text.fixed_language`), not from langdetect's random draws, which skip the n-grams
inside words written in capitals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.params import Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

# The languages langdetect's profiles know (ISO 639-1, plus zh-cn / zh-tw).
LANGUAGE_NAMES = {
    "af": "Afrikaans",
    "ar": "Arabic",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "ca": "Catalan",
    "cs": "Czech",
    "cy": "Welsh",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "gu": "Gujarati",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "kn": "Kannada",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mk": "Macedonian",
    "ml": "Malayalam",
    "mr": "Marathi",
    "ne": "Nepali",
    "nl": "Dutch",
    "no": "Norwegian",
    "pa": "Punjabi",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "so": "Somali",
    "sq": "Albanian",
    "sv": "Swedish",
    "sw": "Swahili",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh-cn": "Simplified Chinese",
    "zh-tw": "Traditional Chinese",
}

# Languages drawn when synthesising (well-separated by the detector).
_SAMPLED = ("de", "es", "fr", "it", "pt", "ru", "ja", "ko", "ar", "hi", "fi", "vi", "th", "bg")


@register
class ResponseLanguage(Constraint):
    """langdetect (seed 0) must identify the response as ``language`` (fixed: every n-gram of
    the lower-cased response scored, no random draws)."""

    id: ClassVar[str] = "language:response_language"
    params = (
        Param(
            "language",
            "str",
            "ISO 639-1 code",
            choices=tuple(LANGUAGE_NAMES),
            sample=lambda rng: rng.choice(_SAMPLED),
        ),
    )
    conflicts = frozenset(
        {
            "language:response_language",
            "keywords:existence",
            "keywords:frequency",
            "keywords:forbidden_words",
            "startend:end_checker",
            "change_case:english_capital",
            "change_case:english_lowercase",
            "detectable_format:multiple_sections",
            "combination:repeat_prompt",
            "detectable_format:constrained_response",
            "change_case:capital_word_frequency",
        }
    )
    phrasings = (
        "Write your whole answer in {name}; no other language is allowed.",
        "Respond only in {name}.",
        "Your entire reply must be written in {name}.",
    )

    def _check(self, text: Text) -> Verdict:
        return self._verdict(text.language)

    def _check_fixed(self, text: Text) -> Verdict:
        return self._verdict(text.fixed_language)

    def _verdict(self, lang: str | None) -> Verdict:
        if lang is None:
            return Verdict.of(True, "no language features found; counted as followed")
        want = self.kwargs["language"]
        return Verdict.of(lang == want, f"detected {lang!r}, wanted {want!r}")

    @classmethod
    def render_kwargs(cls, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": LANGUAGE_NAMES[kwargs["language"]]}

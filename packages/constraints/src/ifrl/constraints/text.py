"""A response text with its analyses computed once and shared by every constraint.

Constraints receive a :class:`Text`; the first one that needs words, sentences, Treebank tokens
or the language computes them and the rest reuse the result.
"""

from __future__ import annotations

import re

from ifrl.constraints.nlp import langid, sentences, treebank

_WORD = re.compile(r"\w+")
_CAPS_END = re.compile(r"[A-Z](?![a-z])")  # in ASCII text: where a token in capitals can end


class Text:
    """``raw`` text plus lazily computed, cached analyses."""

    __slots__ = ("_language", "_lower", "_sentences", "_tokens", "_word_count", "raw")

    _UNSET = object()

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._lower: str | None = None
        self._word_count: int | None = None
        self._sentences: list[str] | None = None
        self._tokens: list[str] | None = None
        self._language: object = Text._UNSET

    @property
    def lower(self) -> str:
        """``raw.lower()``."""
        if self._lower is None:
            self._lower = self.raw.lower()
        return self._lower

    @property
    def word_count(self) -> int:
        """Number of ``\\w+`` runs (IFEval's ``count_words``)."""
        if self._word_count is None:
            self._word_count = len(_WORD.findall(self.raw))
        return self._word_count

    @property
    def sentences(self) -> list[str]:
        """Punkt (English) sentences, as IFEval's ``count_sentences`` splits them."""
        if self._sentences is None:
            self._sentences = sentences.split_sentences(self.raw)
        return self._sentences

    @property
    def sentence_bound(self) -> int:
        """An upper bound of :attr:`sentence_count` found without splitting: one more than
        the places where Punkt may break (the count itself once the text is split)."""
        if self._sentences is not None:
            return len(self._sentences)
        return sentences.max_sentences(self.raw)

    @property
    def sentence_count(self) -> int:
        """Number of Punkt (English) sentences (IFEval's ``count_sentences``)."""
        return len(self.sentences)

    @property
    def tokens(self) -> list[str]:
        """Treebank word tokens after Punkt sentence splitting (``nltk.word_tokenize``)."""
        if self._tokens is None:
            self._tokens = [t for s in self.sentences for t in treebank.sentence_tokens(s)]
        return self._tokens

    @property
    def capital_token_count(self) -> int:
        """How many of :attr:`tokens` are all capitals (``str.isupper``).

        Only sentences that can hold such a token are tokenized: in ASCII text a token in
        capitals ends with an upper-case letter that no lower-case letter follows, unless the
        Treebank rules split a run of letters there (``DOn't`` -> ``DO``, ``n't``; ``CANnot``
        -> ``CAN``, ``not``); other text is always tokenized.
        """
        if self._tokens is not None:
            return sum(1 for t in self._tokens if t.isupper())
        return sum(
            1
            for s in self.sentences
            if not s.isascii() or _CAPS_END.search(s) or treebank.splits_letters(s)
            for t in treebank.sentence_tokens(s)
            if t.isupper()
        )

    @property
    def language(self) -> str | None:
        """langdetect's language code (seed 0), ``None`` when the text has no features."""
        if self._language is Text._UNSET:
            self._language = langid.detect_language(self.raw)
        return self._language  # type: ignore[return-value]

    @property
    def fixed_language(self) -> str | None:
        """The fixed semantics' language code: every n-gram of the lower-cased text scored
        (:func:`ifrl.constraints.nlp.langid.score_language`, memoised per text)."""
        return langid.score_language(self.lower)


def as_text(response: str | Text) -> Text:
    """``response`` as a :class:`Text` (unchanged when it already is one)."""
    return response if isinstance(response, Text) else Text(response)

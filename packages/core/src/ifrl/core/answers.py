"""Final-answer extraction and numeric comparison for GSM8K-style maths problems.

:func:`extract_answer` finds the final number of a solution text, trying in order:

1. the GSM8K gold marker ``#### 42`` (its last occurrence),
2. a LaTeX ``\\boxed{42}`` (the last one; nested braces and ``\\frac{a}{b}`` are handled),
3. a phrase such as ``The answer is 42`` / ``Final answer: $42`` (the last one),
4. the last number anywhere in the text.

Numbers are normalised: thousands separators (``1,000``), currency signs (``$``, ``€``, ``£``),
units and words after the number (``18 dollars``), trailing periods (``18.``), trailing zeros
of decimals (``18.00``), percent signs, and simple fractions (``3/4``, ``\\frac{3}{4}``).
:func:`answers_match` compares two answers numerically and exactly (as fractions), so ``18``,
``18.0`` and ``$18.00`` are the same answer and ``0.1 + 0.2`` rounding never matters.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = [
    "answers_match",
    "extract_answer",
    "gold_answer",
    "is_correct",
    "normalize_number",
    "parse_number",
]

# A number as written in text: optional sign, digits with optional thousands separators, optional
# decimals; or a bare decimal such as ".5". A sign counts only when not glued to a previous digit
# or closing bracket (so "16-3" is 16 and 3, not 16 and -3).
_NUMBER = r"(?:(?<![\d)\]}])[-−])?(?:\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_NUMBER_RE = re.compile(rf"(?<![\w.]){_NUMBER}(?:\s*/\s*\d+(?![\d,]))?")
_GSM8K_MARK_RE = re.compile(r"####\s*([^\n]*)")
_ANSWER_PHRASE_RE = re.compile(
    r"answer\s*(?:\*\*)?\s*(?:is|was|=|:)\s*[:=]?\s*"
    r"(?:\*\*)?\s*(?:\\\(|\$\$?)?\s*(?:\\boxed\{)?\s*(?:[$€£¥]|\\\$|USD\s*)?\s*"
    rf"({_NUMBER}(?:\s*/\s*\d+)?)",
    re.IGNORECASE,
)
_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{\s*([^{}]+?)\s*\}\s*\{\s*([^{}]+?)\s*\}")
_TEXT_RE = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{[^{}]*\}")


def _to_fraction(token: str) -> Fraction | None:
    """A numeric token (as matched by ``_NUMBER_RE``) as an exact fraction."""
    token = token.replace("−", "-").replace(",", "").replace(" ", "")
    try:
        if "/" in token:
            num, den = token.split("/", 1)
            if Fraction(den) == 0:
                return None
            return Fraction(num) / Fraction(den)
        return Fraction(token)
    except (ValueError, ZeroDivisionError):
        return None


def parse_number(text: str) -> Fraction | None:
    """The first number of ``text`` as an exact fraction, or ``None`` when it has none.

    Handles ``$1,234.50``, ``-3``, ``18.``, ``50%`` (→ 50), ``3/4`` and ``\\frac{3}{4}``.
    """
    cleaned = _clean_latex(text)
    match = _NUMBER_RE.search(cleaned)
    if match is None:
        return None
    return _to_fraction(match.group(0))


def normalize_number(text: str) -> str | None:
    """The first number of ``text`` in canonical form (``"1,000.50"`` → ``"1000.5"``), or None.

    Integers print without a decimal point, other decimals without trailing zeros, and
    non-terminating fractions as ``p/q``.
    """
    value = parse_number(text)
    return None if value is None else _format(value)


def _format(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den != 1:  # not a terminating decimal
        return f"{value.numerator}/{value.denominator}"
    digits = 0
    scaled = value
    while scaled.denominator != 1:
        scaled *= 10
        digits += 1
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(scaled.numerator), 10**digits)
    return f"{sign}{whole}.{str(frac).rjust(digits, '0')}"


def _clean_latex(text: str) -> str:
    """Turn ``\\frac{a}{b}`` into ``a/b`` and drop ``\\text{...}``, ``\\$``, ``\\%`` and ``\\!``."""
    text = _FRAC_RE.sub(r"\1/\2", text)
    text = _TEXT_RE.sub(" ", text)
    return text.replace("\\$", "$").replace("\\%", "%").replace("\\!", "").replace("{,}", ",")


def _boxed_contents(text: str) -> list[str]:
    """The contents of every ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced."""
    out: list[str] = []
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth = 1
        i = match.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        if depth == 0:
            out.append(text[match.end() : i - 1])
    return out


def _last_number(text: str) -> str | None:
    cleaned = _clean_latex(text)
    last = None
    for match in _NUMBER_RE.finditer(cleaned):
        last = match.group(0)
    if last is None:
        return None
    value = _to_fraction(last)
    return None if value is None else _format(value)


def extract_answer(text: str) -> str | None:
    """The final numeric answer of a solution, normalised (see the module docstring), or None.

    The source is chosen by priority: ``#### N``, then ``\\boxed{N}``, then "the answer is N",
    then the last number in the text.
    """
    marks = _GSM8K_MARK_RE.findall(text)
    for mark in reversed(marks):
        found = normalize_number(mark)
        if found is not None:
            return found
    for content in reversed(_boxed_contents(text)):
        found = normalize_number(content)
        if found is not None:
            return found
    phrases = _ANSWER_PHRASE_RE.findall(_clean_latex(text))
    for phrase in reversed(phrases):
        value = _to_fraction(phrase)
        if value is not None:
            return _format(value)
    return _last_number(text)


def gold_answer(solution: str) -> str:
    """The final answer of a GSM8K gold solution (its ``#### N`` line); ValueError if absent."""
    marks = _GSM8K_MARK_RE.findall(solution)
    if not marks:
        raise ValueError("a GSM8K gold solution must end with a '#### <answer>' line")
    found = normalize_number(marks[-1])
    if found is None:
        raise ValueError(f"the '####' line holds no number: {marks[-1]!r}")
    return found


def answers_match(predicted: str | None, gold: str | None) -> bool:
    """Whether two answers are the same number (exact comparison as fractions).

    Either side may be raw text (``"$1,000.00"``) or a normalised answer; ``None`` or text
    without a number never matches.
    """
    if predicted is None or gold is None:
        return False
    p = parse_number(predicted)
    g = parse_number(gold)
    return p is not None and g is not None and p == g


def is_correct(response: str, gold: str) -> bool:
    """Whether the answer extracted from ``response`` equals ``gold``.

    ``gold`` is either a bare answer (``"18"``) or a full GSM8K solution ending ``#### 18``.
    """
    target = gold_answer(gold) if "####" in gold else gold
    return answers_match(extract_answer(response), target)

"""IFBench ``custom:*``: fixed tasks checked against their known answers: reversed answers,
CSV tables, Napoleon's battle dates, sorted capitals, multiple-choice questions, multiples of
7, African countries in reverse order and a 26-sentence alphabet story.

Each type's phrasing is the whole task (IFBench gives no kwargs), so they are exclusive:
synthesis never adds another constraint to them.

``_check`` decides as allenai/IFBench does (its answer keys and quirks are documented on each
type); ``_check_fixed`` (``semantics="fixed"``) checks the answer as the task asks for it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from itertools import pairwise
from typing import ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifbench import _facts
from ifrl.constraints.ifbench._common import (
    PUNCT,
    drop_punct,
    exclusive_conflicts,
    sentences,
    split_sentences,
    strip_punct,
    words,
)
from ifrl.constraints.ifbench.words import letters
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_EXCLUSIVE = exclusive_conflicts()
_US_SYMBOL = "What animal is the national symbol of the US? "


def _lower_words(text: str) -> list[str]:
    return [w.lower() for w in words(text)]


def _ascii(text: str) -> str:
    """NFKD-decomposed ``text`` with every non-ASCII character dropped (``São`` -> ``Sao``)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _csv(text: str, delimiter: str = ",") -> list[list[str]] | None:
    """``list(csv.reader(io.StringIO(text)))``; ``None`` where the csv module raises."""
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error:
        return None


@register
class CharacterReverse(Constraint):
    """The answer (the bald eagle) written backwards letter by letter.

    Reference: the lower-cased response contains ``elgae dlab`` (two spaces fail). Fixed: read
    backwards, the response's words say "bald eagle", and read forwards they do not.
    """

    id: ClassVar[str] = "custom:character_reverse"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = (
        _US_SYMBOL + "Respond to this query, but make your sentence in reverse order of what it "
        "should be, per letter.",
    )

    def _check(self, text: Text) -> Verdict:
        ok = "elgae dlab" in text.lower
        return Verdict.of(ok, "contains 'elgae dlab'" if ok else "no 'elgae dlab'")

    def _check_fixed(self, text: Text) -> Verdict:
        backwards = " ".join(_lower_words(text.raw[::-1]))
        forwards = " ".join(_lower_words(text.raw))
        if "bald eagle" not in backwards:
            return Verdict.of(False, "read backwards, the response does not say 'bald eagle'")
        if "eagle" in forwards.split():
            return Verdict.of(False, "the response is not reversed letter by letter")
        return Verdict.of(True, "the answer is reversed letter by letter")


@register
class WordReverse(Constraint):
    """The answer sentence with its words in reverse order.

    Reference: the lower-cased whitespace tokens (punctuation deleted) read backwards contain
    "bald eagle", and that reversed text is one of its own Punkt sentences. Fixed: the words
    read backwards contain "bald eagle", are spelt normally and are not already in normal
    order.
    """

    id: ClassVar[str] = "custom:word_reverse"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = (
        _US_SYMBOL + "Respond to this query, but make your sentence in reverse order of what it "
        "should be, per word.",
    )

    def _check(self, text: Text) -> Verdict:
        backwards = " ".join(drop_punct(text.lower.strip()).split()[::-1])
        if "bald eagle" not in backwards:
            return Verdict.of(False, "read backwards, the words do not say 'bald eagle'")
        ok = backwards in split_sentences(backwards)
        return Verdict.of(ok, "reversed words say 'bald eagle'")

    def _check_fixed(self, text: Text) -> Verdict:
        ws = _lower_words(text.raw)
        if "eagle" not in ws:
            return Verdict.of(False, "no word 'eagle' (letters reversed or wrong answer)")
        if "bald eagle" in " ".join(ws):
            return Verdict.of(False, "'bald eagle' in normal word order")
        if "bald eagle" not in " ".join(reversed(ws)):
            return Verdict.of(False, "read backwards, the words do not say 'bald eagle'")
        return Verdict.of(True, "the answer's words are in reverse order")


def _csv_rows(raw: str, delimiter: str) -> list[list[str]]:
    """Non-blank CSV rows with stripped fields; ``[]`` when the text is not valid CSV."""
    body = raw.strip().replace("\r\n", "\n").replace("\r", "\n")
    reader = csv.reader(io.StringIO(body), delimiter=delimiter, skipinitialspace=True)
    try:
        return [[f.strip() for f in row] for row in reader if any(f.strip() for f in row)]
    except csv.Error:
        return []


def _is_int(s: str) -> bool:
    return bool(re.fullmatch(r"-?\d+", s.replace(",", "")))


@register
class CsvCity(Constraint):
    """Comma-separated CSV with the header ``ID,Country,City,Year,Count`` and 7 rows.

    Reference: exactly 8 CSV rows (a blank line is a row), the first exactly the header (no
    space after a comma), the others 5 fields each. Fixed: blank lines and spaces after commas
    ignored; 7 rows of 5 non-empty fields, Year a 4-digit year and Count a whole number;
    nothing else.
    """

    id: ClassVar[str] = "custom:csv_city"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = (
        'Generate CSV data: The column names are ["ID", "Country", "City", "Year", "Count"], the '
        "data should be comma delimited. Please generate 7 rows.",
    )

    def _check(self, text: Text) -> Verdict:
        rows = _csv(text.raw)
        if rows is None or len(rows) != 8:
            return Verdict.of(False, f"{'no' if rows is None else len(rows)} CSV rows, not 8")
        if rows[0] != ["ID", "Country", "City", "Year", "Count"]:
            return Verdict.of(False, f"header {rows[0][:6]} is not the one asked")
        ok = all(len(row) == 5 for row in rows[1:])
        return Verdict.of(ok, "header and 7 rows of 5 fields" if ok else "a row without 5 fields")

    def _check_fixed(self, text: Text) -> Verdict:
        rows = _csv_rows(text.raw, ",")
        if not rows or rows[0] != ["ID", "Country", "City", "Year", "Count"]:
            return Verdict.of(False, f"header {rows[0] if rows else []} is not the one asked")
        if len(rows) != 8:
            return Verdict.of(False, f"{len(rows) - 1} data rows, not 7")
        for i, row in enumerate(rows[1:], 1):
            if len(row) != 5 or not all(row):
                return Verdict.of(False, f"row {i} has {len(row)} fields or an empty one")
            if not re.fullmatch(r"\d{4}", row[3]) or not _is_int(row[4]):
                return Verdict.of(False, f"row {i}: Year {row[3]!r} / Count {row[4]!r}")
        return Verdict.of(True, "header and 7 rows")


_QUOTED = re.compile(r'^"(?:[^"]|"")*"$')


def _header(names: tuple[str, ...], sep: str) -> re.Pattern[str]:
    """The reference's header pattern: each name bare or quoted, ``sep`` then spaces/tabs."""
    return re.compile("^" + sep.join(f'({n}|"{n}")' for n in names) + "$")


_QUOTES_HEADER = _header(("StudentID", "Subject", "Grade", "Semester", "Score"), "\t *")
_SPECIAL_HEADER = _header(("ProductID", "Category", "Brand", "Price", "Stock"), ",[ \t]*")
_SPECIAL_FIELD = re.compile(r'".*[^\d\w\s].*"')


@register
class CsvQuotes(Constraint):
    """Tab-separated, header ``StudentID Subject Grade Semester Score``, 3 rows, all quoted.

    Reference: the first line matches the header (names quoted or not, tabs and spaces), and,
    read as tab-separated CSV with every ``"`` tripled, there are 4 rows of 5 fields whose
    stripped values start and end with ``"`` (an empty field makes the reference raise
    ``IndexError``: here it fails). Fixed: exactly 4 non-blank lines of 5 tab-separated
    fields, each a non-empty quoted string, the header's names as asked.
    """

    id: ClassVar[str] = "custom:csv_quotes"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = (
        'Generate CSV data: The column names are ["StudentID", "Subject", "Grade", "Semester", '
        '"Score"], the data should be tab delimited. Please generate 3 rows and enclose each '
        "single field in double quotes.",
    )

    _HEADER = ("StudentID", "Subject", "Grade", "Semester", "Score")

    def _check(self, text: Text) -> Verdict:
        if not _QUOTES_HEADER.match(text.raw.split("\n")[0].strip()):
            return Verdict.of(False, "the first line is not the header asked")
        rows = _csv(text.raw.replace('"', '"""'), "\t")
        if rows is None or len(rows) != 4 or any(len(row) != 5 for row in rows):
            return Verdict.of(False, "not 4 tab-separated rows of 5 fields")
        fields = [f.strip() for row in rows for f in row]
        if not all(fields):
            return Verdict.of(False, "an empty field (the reference raises IndexError)")
        ok = all(f[0] == '"' and f[-1] == '"' for f in fields)
        return Verdict.of(ok, "every field quoted" if ok else "a field not in double quotes")

    def _check_fixed(self, text: Text) -> Verdict:
        lines = [line for line in text.raw.strip().split("\n") if line.strip()]
        if len(lines) != 4:
            return Verdict.of(False, f"{len(lines)} lines, not a header and 3 rows")
        for i, line in enumerate(lines):
            fields = [f.strip(" \r") for f in line.strip().split("\t")]
            if len(fields) != 5:
                return Verdict.of(False, f"line {i + 1} has {len(fields)} tab-separated fields")
            if not all(_QUOTED.match(f) and len(f) > 2 for f in fields):
                return Verdict.of(False, f"line {i + 1} has a field not in double quotes")
            if i == 0 and tuple(f[1:-1] for f in fields) != self._HEADER:
                return Verdict.of(False, "the header is not the one asked")
        return Verdict.of(True, "quoted tab-separated header and 3 rows")


_QUOTED_FIELD = re.compile(r'(?:^|,)\s*"((?:[^"]|"")*)"\s*(?=,|$)')


@register
class CsvSpecialCharacter(Constraint):
    """Comma-separated, header ``ProductID,Category,Brand,Price,Stock``, 14 rows, one quoted
    field with a special character.

    Reference: the first line matches the header; read as CSV with every ``"`` tripled there
    are 15 rows, and going through the data rows, each has 5 fields until one holds a quoted
    field with a special character (rows after it are not checked). Fixed: exactly 14 rows of
    5 fields, and at least one data field in double quotes that contains a special character
    (neither letter, digit nor space).
    """

    id: ClassVar[str] = "custom:csv_special_character"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = (
        'Generate CSV data: The column names are ["ProductID", "Category", "Brand", "Price", '
        '"Stock"], the data should be comma delimited. Please generate 14 rows. Add one field '
        "which contains a special character and enclose it in double quotes.",
    )

    def _check(self, text: Text) -> Verdict:
        if not _SPECIAL_HEADER.match(text.raw.split("\n")[0].strip()):
            return Verdict.of(False, "the first line is not the header asked")
        rows = _csv(text.raw.replace('"', '"""'))
        if rows is None or len(rows) != 15:
            return Verdict.of(False, f"{'no' if rows is None else len(rows)} CSV rows, not 15")
        for i, row in enumerate(rows[1:], 1):
            if len(row) != 5:
                return Verdict.of(False, f"row {i} has {len(row)} fields")
            if any(_SPECIAL_FIELD.match(f) for f in row):
                return Verdict.of(True, f"row {i} has a quoted field with a special character")
        return Verdict.of(False, "no quoted field with a special character")

    def _check_fixed(self, text: Text) -> Verdict:
        rows = _csv_rows(text.raw, ",")
        if not rows or rows[0] != ["ProductID", "Category", "Brand", "Price", "Stock"]:
            return Verdict.of(False, "the header is not the one asked")
        if len(rows) != 15:
            return Verdict.of(False, f"{len(rows) - 1} data rows, not 14")
        if any(len(r) != 5 for r in rows):
            return Verdict.of(False, "a row does not have 5 fields")
        lines = [line for line in text.raw.strip().split("\n") if line.strip()][1:]
        for line in lines:
            for m in _QUOTED_FIELD.finditer(line.strip()):
                value = m.group(1).replace('""', '"')
                if any(not (c.isalnum() or c.isspace()) for c in value):
                    return Verdict.of(True, f"quoted special field {value!r}")
        return Verdict.of(False, "no quoted field with a special character")


# Napoleon's military career: commissioned in 1785, last battle (Waterloo) in 1815.
_CAREER = (1785, 1815)
_MIN_BATTLES = 10
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REFERENCE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LONG = (1, 3, 5, 7, 8, 10, 12)
_SHORT = (4, 6, 9, 11)


@register
class DateFormatList(Constraint):
    """Napoleon's battle start dates, comma-separated, as ``YYYY-MM-DD``.

    Reference: every comma-separated item is ``YYYY-MM-DD`` with a year in 1769-1821, a month
    up to 12 and a day up to its month's length (29 for February; month and day 0 pass); one
    date passes. Fixed: real dates within Napoleon's career (1785-1815), at least 10
    different dates (he fought some 60 battles).
    """

    id: ClassVar[str] = "custom:date_format_list"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = (
        "List the start dates of all the battles Napoleon fought separated by commas, use the "
        "following date format: YYYY-MM-DD. Do not provide an explanation.",
    )

    def _check(self, text: Text) -> Verdict:
        for item in text.raw.strip().split(","):
            item = item.strip()
            if not _REFERENCE_DATE.match(item):
                return Verdict.of(False, f"{item[:30]!r} is not YYYY-MM-DD")
            year, month, day = (int(part) for part in item.split("-"))
            limit = 31 if month in _LONG else 30 if month in _SHORT else 29 if month == 2 else 99
            if not 1769 <= year <= 1821 or month > 12 or day > limit:
                return Verdict.of(False, f"{item} is out of range")
        return Verdict.of(True, "comma-separated dates")

    def _check_fixed(self, text: Text) -> Verdict:
        items = [i.strip() for i in text.raw.strip().rstrip(".").split(",")]
        seen = set()
        for item in items:
            if not _DATE.fullmatch(item):
                return Verdict.of(False, f"{item[:30]!r} is not a YYYY-MM-DD date")
            try:
                day = dt.date.fromisoformat(item)
            except ValueError:
                return Verdict.of(False, f"{item!r} is not a real date")
            if not _CAREER[0] <= day.year <= _CAREER[1]:
                return Verdict.of(False, f"{item} is outside Napoleon's career")
            seen.add(day)
        ok = len(seen) >= _MIN_BATTLES
        return Verdict.of(ok, f"{len(seen)} different battle dates")


def _capital_lookup() -> dict[str, tuple[str, float, bool]]:
    out = {}
    for table, required in (
        (_facts.EUROPEAN_CAPITALS_NORTH_OF_45, True),
        (_facts.OPTIONAL_CAPITALS, False),
    ):
        for names, lat in table:
            for name in names:
                out[_facts.norm_name(name)] = (names[0], lat, required)
    return out


_CAPITALS = _capital_lookup()

# The reference's answer key, in its order.
REFERENCE_CAPITALS = (
    "Reykjavik",
    "Helsinki",
    "Oslo",
    "Tallinn",
    "Stockholm",
    "Riga",
    "Moscow",
    "Copenhagen",
    "Vilnius",
    "Minsk",
    "Dublin",
    "Berlin",
    "Amsterdam",
    "Warsaw",
    "London",
    "Brussels",
    "Prague",
    "Luxembourg",
    "Paris",
    "Vienna",
    "Bratislava",
    "Budapest",
    "Vaduz",
    "Chisinau",
    "Bern",
    "Ljubljana",
    "Zagreb",
)


@register
class EuropeanCapitalsSort(Constraint):
    """The capitals of European countries north of 45°, comma-separated, north to south.

    Reference: exactly its answer key :data:`REFERENCE_CAPITALS` (27 cities, Kyiv not among
    them), accents dropped, each item stripped. Fixed: our table of the capitals north of 45°
    (Kyiv included), their usual alternative names accepted, sorted by latitude.
    """

    id: ClassVar[str] = "custom:european_capitals_sort"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = (
        "Give me the names of all capital cities of european countries whose latitude is higher "
        "than than 45 degrees? List the capital cities without country names, separated by "
        "commas, sorted by latitude, from highest to lowest.",
    )

    def _check(self, text: Text) -> Verdict:
        items = [i.strip() for i in _ascii(text.raw).split(",") if i.strip()]
        ok = tuple(items) == REFERENCE_CAPITALS
        return Verdict.of(ok, f"{len(items)} items {'equal' if ok else 'differ from'} the key")

    def _check_fixed(self, text: Text) -> Verdict:
        items = [i.strip() for i in text.raw.strip().rstrip(".").split(",") if i.strip()]
        found: list[tuple[str, float]] = []
        for item in items:
            hit = _CAPITALS.get(_facts.norm_name(item))
            if hit is None:
                return Verdict.of(False, f"{item[:40]!r} is not a capital north of 45°")
            found.append((hit[0], hit[1]))
        names = [n for n, _ in found]
        if len(set(names)) != len(names):
            return Verdict.of(False, "a capital is listed twice")
        required = {names[0] for names, _ in _facts.EUROPEAN_CAPITALS_NORTH_OF_45}
        missing = sorted(required - set(names))
        if missing:
            return Verdict.of(False, f"missing {missing}")
        lats = [lat for _, lat in found]
        if any(a <= b for a, b in pairwise(lats)):
            return Verdict.of(False, "not sorted from north to south")
        return Verdict.of(True, f"{len(names)} capitals sorted north to south")


_QUESTION = re.compile(r"^\s*Question\b")
_OPTION = re.compile(r"^\s*\(?([A-Ea-e])[\).:]\s*\S")
_ANSWER_LINE = re.compile(r"^\s*(?:Correct\s+)?Answer\s*[:\-]\s*\(?[A-Ea-e]\)?\W*$", re.I)
# The reference splits at r"\n*(?:Question \d+[\.|\):;]?\s*)"; the newlines before a label only
# shorten the (stripped) piece before it, so splitting at the label alone gives the same pieces
# without the quadratic backtracking over a long run of newlines.
_REFERENCE_LABEL = re.compile(r"Question \d+[\.|\):;]?\s*")
_REFERENCE_OPTION = re.compile(r"^[A-Ea-e][\.|\)]\s*\w+")


def _reference_stem_length(question: str) -> int | None:
    """The reference's reading of one question: the length of its text before the first
    option line, or ``None`` unless exactly 5 option lines (``A.``/``a)`` then a word) follow."""
    stem, options = "", 0
    for line in question.split("\n"):
        if _REFERENCE_OPTION.match(line.strip()):
            options += 1
        elif not options:
            stem += " " + line.strip()
    return len(stem.strip()) if options == 5 else None


@register
class McqCountLength(Constraint):
    """4 multiple-choice questions of 5 options, labelled "Question", growing longer.

    Reference: the response starts with ``Question``; split at ``Question <n>`` labels into
    exactly 4 questions, each with 5 option lines (text after the options is ignored, so an
    explanation there passes) and a question text longer than the one before. Fixed: 4 blocks
    each starting with a line that begins "Question", each with a stem and exactly 5 lettered
    options (A-E), stems strictly longer each time, nothing before the first question and no
    explanation (an "Answer: C" line is allowed).
    """

    id: ClassVar[str] = "custom:mcq_count_length"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = (
        'Generate 4 multiple choice questions with 5 options each about "20th century art '
        'history". Each question should start with the label "Question". The questions should '
        "get progressively longer. Do not provide an explanation.",
    )

    def _check(self, text: Text) -> Verdict:
        if not text.raw.startswith("Question"):
            return Verdict.of(False, "does not start with 'Question'")
        questions = [q.strip() for q in _REFERENCE_LABEL.split(text.raw) if q.strip()]
        if len(questions) != 4:
            return Verdict.of(False, f"{len(questions)} questions, not 4")
        stems = [_reference_stem_length(q) for q in questions]
        if None in stems:
            return Verdict.of(False, "a question without exactly 5 options")
        ok = all(a < b for a, b in pairwise(stems))  # type: ignore[operator]
        return Verdict.of(ok, f"question lengths {stems}")

    def _check_fixed(self, text: Text) -> Verdict:
        lines = [line for line in text.raw.strip().split("\n") if line.strip()]
        if not lines or not _QUESTION.match(lines[0]):
            return Verdict.of(False, "does not start with a 'Question' label")
        blocks: list[list[str]] = []
        for line in lines:
            if _QUESTION.match(line):
                blocks.append([line])
            else:
                blocks[-1].append(line)
        if len(blocks) != 4:
            return Verdict.of(False, f"{len(blocks)} questions, not 4")
        stems = []
        for i, block in enumerate(blocks, 1):
            label = re.sub(r"^\s*Question\s*\d*\s*[.:)\-]?\s*", "", block[0])
            stem_parts = [label] if label.strip() else []
            options = 0
            for line in block[1:]:
                if _OPTION.match(line):
                    options += 1
                elif options == 0:
                    stem_parts.append(line.strip())
                elif not _ANSWER_LINE.match(line):
                    return Verdict.of(False, f"question {i} has extra text {line.strip()[:40]!r}")
            if options != 5:
                return Verdict.of(False, f"question {i} has {options} options, not 5")
            stems.append(len(" ".join(stem_parts).strip()))
        if any(a >= b for a, b in pairwise(stems)) or not stems[0]:
            return Verdict.of(False, f"question lengths {stems} do not grow")
        return Verdict.of(True, f"4 questions of 5 options, lengths {stems}")


@register
class Multiples(Constraint):
    """The multiples of 7 from 10 to 50: 14, 21, 28, 35, 42, 49.

    Reference: the digit runs of the response are exactly these, in order (words around them
    pass). Fixed: and no words.
    """

    id: ClassVar[str] = "custom:multiples"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = ("Count from 10 to 50 but only print multiples of 7.",)

    def _check(self, text: Text) -> Verdict:
        runs = re.findall(r"\d+", text.raw)
        ok = runs == ["14", "21", "28", "35", "42", "49"]
        return Verdict.of(ok, f"numbers {runs[:10]}")

    def _check_fixed(self, text: Text) -> Verdict:
        numbers = [int(n) for n in re.findall(r"\d+", text.raw)]
        if numbers != [14, 21, 28, 35, 42, 49]:
            return Verdict.of(False, f"numbers {numbers[:10]}")
        if any(c.isalpha() for c in text.raw):
            return Verdict.of(False, "words besides the numbers")
        return Verdict.of(True, "the six multiples of 7")


_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])?\s*")


@register
class ReverseNewline(Constraint):
    """The countries of Africa in reverse alphabetical order, one per line.

    Reference: from the first line containing "Zimbabwe", at least 52 non-empty lines (outer
    punctuation stripped, accents dropped) in reverse sorted order; nothing checks that they
    are countries, or that all 54 appear. Fixed: all 54 African countries, one per line (list
    markers allowed), each once, in reverse alphabetical order of the names as written (a
    leading "The" may be counted or not); Western Sahara and Somaliland may appear; nothing
    else.
    """

    id: ClassVar[str] = "custom:reverse_newline"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = ("List the countries of Africa in reverse alphabetical order, each on a new line.",)

    def _check(self, text: Text) -> Verdict:
        lines = [strip_punct(line) for line in text.raw.split("\n") if strip_punct(line)]
        start = next((i for i, line in enumerate(lines) if "Zimbabwe" in line), None)
        if start is None:
            return Verdict.of(False, "no line with 'Zimbabwe'")
        names = [_ascii(line) for line in lines[start:]]
        if len(names) < 52:
            return Verdict.of(False, f"{len(names)} lines from Zimbabwe on, fewer than 52")
        ok = names == sorted(names, reverse=True)
        return Verdict.of(ok, f"{len(names)} lines {'in' if ok else 'not in'} reverse order")

    def _check_fixed(self, text: Text) -> Verdict:
        names: list[str] = []
        seen: set[str] = set()
        for line in text.raw.strip().split("\n"):
            item = _LIST_MARK.sub("", line).strip().strip(PUNCT + " ")
            if not item:
                continue
            key = _facts.norm_name(item)
            country = _facts.AFRICA_INDEX.get(key) or _facts.AFRICA_OPTIONAL_INDEX.get(key)
            if country is None:
                return Verdict.of(False, f"{item[:40]!r} is not an African country")
            if country in seen:
                return Verdict.of(False, f"{country} is listed twice")
            seen.add(country)
            names.append(key)
        missing = sorted(set(_facts.AFRICAN_COUNTRIES) - seen)
        if missing:
            return Verdict.of(False, f"{len(missing)} countries missing, e.g. {missing[:3]}")
        plain = names
        no_the = [n[4:] if n.startswith("the ") else n for n in names]
        if plain != sorted(plain, reverse=True) and no_the != sorted(no_the, reverse=True):
            return Verdict.of(False, "not in reverse alphabetical order")
        return Verdict.of(True, f"{len(names)} countries in reverse alphabetical order")


@register
class SentenceAlphabet(Constraint):
    """A 26-sentence story whose sentences start with A, B, ..., Z.

    Reference: exactly 26 ``nltk.sent_tokenize`` sentences; the first character of each one's
    first whitespace token is the next letter (a sentence opening with a quote or ``**``
    fails). Fixed: the first letter of the first word, line breaks ending sentences.
    """

    id: ClassVar[str] = "custom:sentence_alphabet"
    params = ()
    conflicts = _EXCLUSIVE
    phrasings = (
        "Tell me a 26-sentence story where each sentence's first word starts with the letters of "
        "the alphabet in order.",
    )

    def _check(self, text: Text) -> Verdict:
        sents = text.sentences
        if len(sents) != 26:
            return Verdict.of(False, f"{len(sents)} sentences, not 26")
        for k, s in enumerate(sents):
            tokens = s.lstrip().split()
            if not tokens or tokens[0].lower()[0] != chr(ord("a") + k):
                return Verdict.of(False, f"sentence {k + 1} starts {s.strip()[:20]!r}")
        return Verdict.of(True, "26 sentences from A to Z")

    def _check_fixed(self, text: Text) -> Verdict:
        sents = [s for s in sentences(text.raw) if words(s)]
        if len(sents) != 26:
            return Verdict.of(False, f"{len(sents)} sentences, not 26")
        for k, s in enumerate(sents):
            first = letters(words(s)[0][0])
            if first != chr(ord("a") + k):
                return Verdict.of(False, f"sentence {k + 1} starts with {words(s)[0]!r}")
        return Verdict.of(True, "26 sentences from A to Z")

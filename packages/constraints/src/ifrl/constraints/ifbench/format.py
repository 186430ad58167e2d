"""IFBench ``format:*``: emoji sentence ends, indentation stairs, custom list markers, one word
per line, prose then bullets, no whitespace, fixed options, a template, nested brackets and
quotes, quoted phrases with explanations, sub-bullets, HTML-italic theses and title case.

``_check`` decides as allenai/IFBench does (its quirks are documented on each type);
``_check_fixed`` (``semantics="fixed"``) checks the layout the instruction asks for.
"""

from __future__ import annotations

import re
import string
from collections import defaultdict, deque
from typing import Any, ClassVar

from ifrl.constraints.base import Constraint, register
from ifrl.constraints.ifbench import resources
from ifrl.constraints.ifbench._common import (
    HEADING,
    PUNCT,
    WORD,
    drop_punct,
    exclusive_conflicts,
    sentences,
    split_sentences,
    strip_punct,
    word_list,
    words,
)
from ifrl.constraints.params import ConstraintSpecError, Param
from ifrl.constraints.text import Text
from ifrl.core.records import Verdict

_LAYOUT = frozenset(
    {
        "format:line_indent",
        "format:newline",
        "format:list",
        "format:sub-bullets",
        "format:no_bullets_bullets",
        "format:thesis",
        "format:output_template",
        "words:paragraph_last_first",
        "detectable_format:number_bullet_lists",
        "detectable_format:json_format",
        "detectable_format:multiple_sections",
        "length_constraints:number_paragraphs",
        "length_constraints:nth_paragraph_first_word",
        "combination:two_responses",
    }
)


def _ends_with_emoji(sentence: str) -> bool | None:
    """The reference's test on one sentence with punctuation deleted: its last or second-last
    character is an emoji (``None`` when nothing is left of it)."""
    stripped = drop_punct(sentence).strip()
    if not stripped:
        return None
    return resources.is_emoji(stripped[-1]) or resources.is_emoji(stripped[-2:-1] or stripped)


def _emoji_spans(text: str) -> list[tuple[int, int]]:
    import emoji

    return [(m["match_start"], m["match_end"]) for m in emoji.emoji_list(text)]


@register
class EmojiEnd(Constraint):
    """Every sentence ends with an emoji (before or after its final punctuation).

    Reference: per ``nltk.sent_tokenize`` sentence with punctuation deleted, the last or
    second-last character is an emoji, or the next sentence starts with one; a sentence that
    is only punctuation fails; emoji are tested one code point at a time, so a flag or a
    keycap (two code points that are not emoji alone) does not count. Fixed: headings
    (``#`` lines, wholly bold lines) are not sentences; whole emoji sequences count; an emoji
    that Punkt puts at the start of the next sentence ("Done. 🎉 Next...") belongs to the
    sentence before it; emoji-only fragments are not sentences of their own.
    """

    id: ClassVar[str] = "format:emoji"
    params = ()
    conflicts = frozenset({"format:no_whitespace", "format:newline"})
    phrasings = (
        "Please use an emoji at the end of every sentence.",
        "End every sentence of your answer with an emoji.",
    )

    def _check(self, text: Text) -> Verdict:
        sents = text.sentences
        for i, sentence in enumerate(sents):
            ends = _ends_with_emoji(sentence)
            if ends is None:
                return Verdict.of(False, f"sentence {i + 1} is only punctuation")
            if ends:
                continue
            nxt = drop_punct(sents[i + 1]).strip() if i + 1 < len(sents) else ""
            if not nxt or not resources.is_emoji(nxt[0]):
                return Verdict.of(False, f"sentence {i + 1} does not end with an emoji")
        return Verdict.of(True, f"{len(sents)} sentences, each ending with an emoji")

    def _check_fixed(self, text: Text) -> Verdict:
        units = list(sentences(text.raw))
        if not units:
            return Verdict.of(False, "no sentence")
        carried = False  # the previous sentence still needs its emoji
        for i, sent in enumerate(units):
            spans = _emoji_spans(sent)
            body = sent
            if spans and spans[0][0] == 0 and i > 0:
                # leading emojis close the previous sentence
                end = spans[0][1]
                for a, b in spans[1:]:
                    if sent[end:a].strip():
                        break
                    end = b
                carried = False
                body = sent[end:].strip()
            if carried:
                return Verdict.of(False, f"sentence {i} does not end with an emoji")
            if not body.strip(PUNCT + " "):
                continue  # an emoji-only fragment
            stripped = body.rstrip(PUNCT + " \t")
            carried = resources.trailing_emoji(stripped) is None
        if carried:
            return Verdict.of(False, "the last sentence does not end with an emoji")
        return Verdict.of(True, f"{len(units)} sentences, each ending with an emoji")


def _indent(line: str) -> int:
    """Leading whitespace width (a tab counts 4)."""
    width = 0
    for ch in line:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += 4
        elif ch.isspace():
            width += 1
        else:
            break
    return width


def lines_left_by_removal(lines: list[str]) -> list[str]:
    """The lines the reference keeps from ``for line in lines: if not line.strip():
    lines.remove(line)``, computed in linear time.

    Each blank line the loop visits removes the *first* line equal to it (an earlier skipped
    one if there is any, else itself) and makes the loop skip the next line, which stays.
    """
    present = [True] * len(lines)
    earlier: dict[str, deque[int]] = defaultdict(deque)  # blank lines left behind, in order
    skip = False
    for i, line in enumerate(lines):
        if line.strip():
            skip = False
            continue
        if skip:
            skip = False
            earlier[line].append(i)
            continue
        queue = earlier[line]
        if queue:
            present[queue.popleft()] = False
            queue.append(i)
        else:
            present[i] = False
        skip = True
    return [line for line, keep in zip(lines, present) if keep]


@register
class LineIndent(Constraint):
    """Each line is indented (with spaces) more than the one before.

    Reference: blank lines are removed while the list of lines is iterated, which skips the
    line after each removed one, so a run of blank lines leaves every second blank line in
    (indentation 0: the stairs break); one line passes. Fixed: blank lines ignored, at least
    two lines, a tab counts as 4 spaces.
    """

    id: ClassVar[str] = "format:line_indent"
    params = ()
    conflicts = _LAYOUT | {"format:no_whitespace"}
    phrasings = (
        "Create stairs by incrementally indenting each new line.",
        "Indent every new line a little more than the previous one, like a staircase.",
    )

    def _check(self, text: Text) -> Verdict:
        lines = lines_left_by_removal(text.raw.split("\n"))
        widths = [len(line) - len(line.lstrip(" ")) for line in lines]
        for k in range(1, len(widths)):
            if widths[k] <= widths[k - 1]:
                return Verdict.of(False, f"line {k + 1} indented {widths[k]} after {widths[k - 1]}")
        return Verdict.of(True, f"{len(lines)} lines, each indented more")

    def _check_fixed(self, text: Text) -> Verdict:
        lines = [line for line in text.raw.split("\n") if line.strip()]
        if len(lines) < 2:
            return Verdict.of(False, "fewer than two lines: no stairs")
        widths = [_indent(line) for line in lines]
        for i in range(1, len(widths)):
            if widths[i] <= widths[i - 1]:
                return Verdict.of(False, f"line {i + 1} indented {widths[i]} after {widths[i - 1]}")
        return Verdict.of(True, f"{len(lines)} lines, indentation {widths[0]}..{widths[-1]}")


_STANDARD_BULLET = re.compile(r"^\s*(?:[*+•●▪◦‣]|-(?!-))\s")


@register
class CustomList(Constraint):
    """A list of at least two items marked with ``sep`` instead of bullet points.

    Reference: ``sep`` occurs at least twice anywhere (``-`` in ``well-known, long-term``
    passes). Fixed: items are the non-blank pieces between stand-alone markers (at line
    starts or inline); no line may start with an ordinary bullet (``*``, ``-``, ``+``, ``•``)
    unless that is ``sep``.
    """

    id: ClassVar[str] = "format:list"
    params = (
        Param(
            "sep",
            "str",
            "the item marker",
            sample=lambda rng: rng.choice(("!?!?", "SEPARATOR", "...", "-", ">>", "~")),
        ),
    )
    conflicts = _LAYOUT
    phrasings = (
        "Answer with a list of items, instead of bullet points use {sep}.",
        "Write your answer as a list, marking each item with {sep} instead of a bullet point.",
    )

    def setup(self) -> None:
        self._sep = self.kwargs["sep"].strip()
        if not self._sep:
            raise ConstraintSpecError(self.id, "sep", "must not be blank")
        # a marker stands alone: at a line start or after whitespace, and before whitespace
        self._marker = re.compile(r"(?:^|(?<=\s))" + re.escape(self._sep) + r"(?=\s|$)", re.M)

    def _check(self, text: Text) -> Verdict:
        n = text.raw.count(self.kwargs["sep"])
        return Verdict.of(n >= 2, f"{n} occurrences of {self.kwargs['sep']!r}")

    def _check_fixed(self, text: Text) -> Verdict:
        sep = self._sep
        for line in text.raw.split("\n"):
            if _STANDARD_BULLET.match(line) and not line.lstrip().startswith(sep):
                return Verdict.of(False, f"ordinary bullet point: {line.strip()[:40]!r}")
        pieces = self._marker.split(text.raw)
        if len(pieces) < 2:
            return Verdict.of(False, f"no {sep!r} marker")
        items = [p for p in pieces[1:] if p.strip(PUNCT + " \n\t")]
        return Verdict.of(len(items) >= 2, f"{len(items)} items marked with {sep!r}")


@register
class NewlineWords(Constraint):
    """Every line holds one word.

    Reference: with punctuation deleted and the text stripped, the number of non-empty lines
    equals the number of whitespace tokens (a line of spaces counts as a line, so it fails).
    Fixed: every non-blank line holds at most one word, and there is a word.
    """

    id: ClassVar[str] = "format:newline"
    params = ()
    conflicts = _LAYOUT | {"format:emoji", "format:quotes", "format:parentheses"}
    phrasings = ("Write each word on a new line.", "Put every word of your answer on its own line.")

    def _check(self, text: Text) -> Verdict:
        body = drop_punct(text.raw).strip()
        lines = [line for line in body.split("\n") if line != ""]
        n = len(body.split())
        return Verdict.of(len(lines) == n, f"{len(lines)} lines, {n} words")

    def _check_fixed(self, text: Text) -> Verdict:
        total = 0
        for i, line in enumerate(text.raw.split("\n"), 1):
            n = len(words(line))
            if n > 1:
                return Verdict.of(False, f"line {i} has {n} words: {line.strip()[:40]!r}")
            total += n
        return Verdict.of(total > 0, f"{total} words, one per line")


_BULLET_STAR = re.compile(r"^\s*\*(?!\*)\s+\S")


@register
class ProseThenBullets(Constraint):
    """At least two sentences ending in a period, then (below them) at least two ``*`` bullets.

    Reference: lines starting with ``*`` are bullets; before the first one, the sentences of
    each line are counted (any sentence, not only those ending in a period) and there must be
    two; after a blank line in the prose part, or after the bullets, any other line fails.
    Fixed: the sentences before the first bullet line that end in a period, at least two,
    and at least two ``*`` bullets; text after the bullets is allowed.
    """

    id: ClassVar[str] = "format:no_bullets_bullets"
    params = ()
    conflicts = _LAYOUT
    phrasings = (
        "Your answer must contain at least two sentences ending in a period followed by at least "
        "two bullet points denoted by *.",
    )

    def _check(self, text: Text) -> Verdict:
        prose: bool | list[str] = True
        n_sent = n_bullets = 0
        for line in text.raw.split("\n"):
            if line.strip().startswith("*"):
                prose = False
                if n_sent < 2:
                    return Verdict.of(False, f"a bullet after {n_sent} sentences")
                n_bullets += 1
            elif prose:
                prose = split_sentences(line.strip())  # a blank line ends the prose part
                n_sent += len(prose)
            else:
                return Verdict.of(False, f"text after the prose part: {line.strip()[:40]!r}")
        ok = n_bullets >= 2
        return Verdict.of(ok, f"{n_sent} sentences, then {n_bullets} bullets")

    def _check_fixed(self, text: Text) -> Verdict:
        lines = text.raw.split("\n")
        first = next((i for i, line in enumerate(lines) if _BULLET_STAR.match(line)), None)
        if first is None:
            return Verdict.of(False, "no bullet point denoted by *")
        prose = "\n".join(lines[:first])
        n_sent = sum(1 for s in sentences(prose) if s.rstrip(" *_\"'”’)").endswith("."))
        n_bullets = sum(1 for line in lines[first:] if _BULLET_STAR.match(line))
        ok = n_sent >= 2 and n_bullets >= 2
        return Verdict.of(ok, f"{n_sent} period-ended sentences, then {n_bullets} bullets")


@register
class NoWhitespace(Constraint):
    """No whitespace character (spaces, tabs, newlines, Unicode spaces).

    Reference: none anywhere, so a trailing newline fails. Fixed: none between the first and
    last visible characters, zero-width spaces included.
    """

    id: ClassVar[str] = "format:no_whitespace"
    params = ()
    conflicts = exclusive_conflicts()
    phrasings = (
        "The output should not contain any whitespace.",
        "Do not use any whitespace (spaces, tabs or line breaks) in your answer.",
    )

    def _check(self, text: Text) -> Verdict:
        for i, ch in enumerate(text.raw):
            if ch.isspace():
                return Verdict.of(False, f"whitespace {ch!r} at position {i}")
        return Verdict.of(True, "no whitespace")

    def _check_fixed(self, text: Text) -> Verdict:
        body = text.raw.strip()
        for i, ch in enumerate(body):
            if ch.isspace() or ch in "\u200b\u2060\ufeff":
                return Verdict.of(False, f"whitespace {ch!r} at position {i}")
        return Verdict.of(True, "no whitespace")


_OPTION_STRIP = PUNCT.replace(")", "").replace("(", "") + " \t\n*_`"


def _norm_option(s: str) -> str:
    s = s.strip().strip(_OPTION_STRIP).strip("()").strip(_OPTION_STRIP)
    return " ".join(s.lower().replace("’", "'").split())


def parse_options(options: str) -> list[str]:
    """``"yes/no/maybe"`` -> 3 options; ``"A or B"`` -> 2; ``"a), b), c)"`` -> 3."""
    if "/" in options:
        parts = options.split("/")
    elif re.search(r"\s+or\s+", options):
        parts = re.split(r"\s+or\s+", options)
    else:
        parts = options.split(",")
    return [p.strip() for p in parts if p.strip()]


@register
class Options(Constraint):
    """The whole response is exactly one of the options.

    Reference: options are split on ``/`` if present, else on the letters ``or`` wherever they
    occur (``Correct, Incorrect`` splits inside the words), else on commas; letter options
    (``a), b), c)``) must match exactly as written, others once case and outer punctuation are
    ignored. Fixed: ``or`` splits only as a word; case, surrounding punctuation, quotes,
    markdown emphasis and the bracket of ``a)`` are ignored for every option.
    """

    id: ClassVar[str] = "format:options"
    params = (
        Param(
            "options",
            "str",
            'the options: "yes/no/maybe", "A or B" or "a), b), c)"',
            sample=lambda rng: rng.choice(
                ("yes/no/maybe", "I know or I don't know", "a), b), c), d)", "true/false")
            ),
        ),
    )
    conflicts = exclusive_conflicts()
    phrasings = (
        "Answer with one of the following options: {options}. Do not give any explanation.",
        "Reply with exactly one of these options and nothing else: {options}.",
    )

    def setup(self) -> None:
        options = self.kwargs["options"]
        self._exact = re.match(r"\W*[aA]\W*[bB]\W*[cC]\W*", options) is not None
        sep = "/" if "/" in options else "or" if "or" in options else ","
        self._reference = [o.strip() for o in options.split(sep)]
        opts = parse_options(self.kwargs["options"])
        self._options = {_norm_option(o): o for o in opts if _norm_option(o)}
        if len(self._options) < 2:
            raise ConstraintSpecError(self.id, "options", "needs at least two options")

    def _check(self, text: Text) -> Verdict:
        if self._exact:
            ok = text.raw in self._reference
        else:
            got = strip_punct(text.raw).lower()
            ok = any(strip_punct(o).lower() == got for o in self._reference)
        return Verdict.of(ok, f"{text.raw.strip()[:60]!r} vs options {self._reference}")

    def _check_fixed(self, text: Text) -> Verdict:
        got = _norm_option(text.raw)
        if got in self._options:
            return Verdict.of(True, f"answered {self._options[got]!r}")
        return Verdict.of(False, f"{text.raw.strip()[:60]!r} is not one of {list(self._options)}")


_TEMPLATE = ("My Answer:", "My Conclusion:", "Future Outlook:")
_PLACEHOLDER = re.compile(r"^\s*\[(answer|conclusion|outlook)\]\s*$", re.IGNORECASE)


@register
class OutputTemplate(Constraint):
    """The template ``My Answer: [answer] My Conclusion: [conclusion] Future Outlook: [outlook]``.

    Reference: the three labels occur anywhere (placeholders left unfilled pass). Fixed: the
    response starts with ``My Answer:``, then ``My Conclusion:``, then ``Future Outlook:``,
    each label once, in that order, each followed by its own (non-placeholder) content.
    """

    id: ClassVar[str] = "format:output_template"
    params = ()
    conflicts = _LAYOUT | {"startend:quotation", "format:title_case"}
    phrasings = (
        "Use this exact template for your response: My Answer: [answer] My Conclusion: "
        "[conclusion] Future Outlook: [outlook]",
    )

    def _check(self, text: Text) -> Verdict:
        missing = [label for label in _TEMPLATE if label not in text.raw]
        return Verdict.of(not missing, f"missing {missing}" if missing else "all three labels")

    def _check_fixed(self, text: Text) -> Verdict:
        raw = text.raw.strip()
        if not raw.startswith(_TEMPLATE[0]):
            return Verdict.of(False, f"does not start with {_TEMPLATE[0]!r}")
        positions = []
        for label in _TEMPLATE:
            if raw.count(label) != 1:
                return Verdict.of(False, f"{label!r} occurs {raw.count(label)} times")
            positions.append(raw.index(label))
        if positions != sorted(positions):
            return Verdict.of(False, "labels out of order")
        ends = [*positions[1:], len(raw)]
        for label, start, end in zip(_TEMPLATE, positions, ends):
            body = raw[start + len(label) : end]
            if not body.strip() or _PLACEHOLDER.match(body):
                return Verdict.of(False, f"nothing filled in after {label!r}")
        return Verdict.of(True, "template followed")


_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


def reference_nesting(text: str) -> bool:
    """The reference's bracket test: after the depth reaches 5, the first matching close passes
    (one ``)`` after ``(((((`` suffices); a mismatched close resets the count."""
    stack: list[str] = []
    deepest = 0
    for ch in text:
        if ch in _OPEN:
            stack.append(ch)
            deepest = max(deepest, len(stack))
        elif ch in _CLOSE:
            if stack and stack[-1] == _CLOSE[ch]:
                stack.pop()
                if deepest >= 5 and len(stack) < deepest:
                    return True
            else:
                stack, deepest = [], 0
    return False


def max_closed_nesting(text: str) -> int:
    """The deepest nesting of correctly matched ``()[]{}`` groups (a mismatch breaks the chain;
    a closing bracket with nothing open is ignored)."""
    stack: list[list[Any]] = []  # [opening char, deepest closed depth inside, relative]
    best = 0
    for ch in text:
        if ch in _OPEN:
            stack.append([ch, 0])
        elif ch in _CLOSE:
            if not stack:
                continue
            if stack[-1][0] != _CLOSE[ch]:
                stack.clear()
                continue
            _, inner = stack.pop()
            depth = inner + 1
            best = max(best, depth)
            if stack:
                stack[-1][1] = max(stack[-1][1], depth)
    return best


@register
class Parentheses(Constraint):
    """Brackets of any kind (``()``, ``[]``, ``{}``) nested at least 5 levels deep.

    Reference: :func:`reference_nesting` (five opened brackets and one closed). Fixed: a group
    closed at every one of its 5 levels.
    """

    id: ClassVar[str] = "format:parentheses"
    params = ()
    phrasings = (
        "Nest parentheses (and [brackets {{and braces}}]) at least 5 levels deep.",
        "Somewhere in your answer, nest brackets ((), [] or {{}}) at least 5 levels deep.",
    )

    def _check(self, text: Text) -> Verdict:
        ok = reference_nesting(text.raw)
        return Verdict.of(ok, "5 levels opened, one closed" if ok else "not 5 levels deep")

    def _check_fixed(self, text: Text) -> Verdict:
        depth = max_closed_nesting(text.raw)
        return Verdict.of(depth >= 5, f"deepest closed nesting {depth}")


_NOT_DOUBLE_QUOTE = string.punctuation.replace('"', "")
_DOUBLE_OPEN = '"“«„'
_DOUBLE_CLOSE = '"”»“'


def _quoted_spans(text: str) -> list[tuple[int, int]] | None:
    """(start, end) of each double-quoted phrase; ``None`` when a quote is left open."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _DOUBLE_OPEN:
            closer = '"' if ch == '"' else ("»" if ch == "«" else "”“")
            j = next((k for k in range(i + 1, len(text)) if text[k] in closer), -1)
            if j < 0:
                return None
            spans.append((i, j + 1))
            i = j + 1
        else:
            i += 1
    return spans


@register
class QuoteUnquote(Constraint):
    """Every quoted phrase is followed by an unquoted explanation.

    Reference: with whitespace removed (and the text ``'"'`` taken out), no two ``"`` touch and
    the text does not end with ``"`` once digits and other punctuation are stripped from its
    end; a response without quotes passes, and a quote followed only by a comma and the next
    quote passes. Fixed: at least one double-quoted phrase, and every one is followed, before
    the next quote or the end, by unquoted text of at least two words.
    """

    id: ClassVar[str] = "format:quote_unquote"
    params = ()
    conflicts = frozenset({"startend:quotation"})
    phrasings = (
        "Every quoted phrase must be followed by an unquoted explanation.",
        'Whenever you quote a phrase in "double quotes", follow it with an explanation in your '
        "own words.",
    )

    def _check(self, text: Text) -> Verdict:
        squeezed = "".join(text.raw.replace("'\"'", "").split())
        if '""' in squeezed:
            return Verdict.of(False, "two quotation marks with nothing between them")
        end = squeezed.strip(string.digits + _NOT_DOUBLE_QUOTE)
        if end.endswith('"'):
            return Verdict.of(False, "the response ends with a quotation")
        return Verdict.of(True, "no quotation without text after it")

    def _check_fixed(self, text: Text) -> Verdict:
        spans = _quoted_spans(text.raw)
        if spans is None:
            return Verdict.of(False, "a quotation mark is never closed")
        if not spans:
            return Verdict.of(False, "no quoted phrase")
        ends = [s for s, _ in spans[1:]] + [len(text.raw)]
        for (start, end), nxt in zip(spans, ends):
            after = text.raw[end:nxt]
            if len(words(after)) < 2:
                return Verdict.of(False, f"{text.raw[start:end][:40]} has no explanation after it")
        return Verdict.of(True, f"{len(spans)} quoted phrases, each explained")


def _quote_role(text: str, i: int, top: str | None) -> tuple[str, str] | None:
    """(action, kind) of the quote character at ``i``: ("open"|"close", "d"|"s"), or ``None``
    for an apostrophe. Single quotes are read from their neighbours: inside a word they are
    apostrophes (``don't``); after a word they close an open single quote, else they are a
    possessive (``students'``); before a word they open."""
    ch = text[i]
    if ch in "“«„":
        return ("open", "d")
    if ch in "”»":
        return ("close", "d")
    if ch == '"':
        return ("close", "d") if top == "d" else ("open", "d")
    if ch == "‘":
        return ("open", "s")
    prev_word = i > 0 and text[i - 1].isalnum()
    next_word = i + 1 < len(text) and text[i + 1].isalnum()
    if prev_word and next_word:
        return None
    if prev_word:
        return ("close", "s") if top == "s" else None
    if next_word:
        return ("open", "s")
    return ("close", "s") if top == "s" else ("open", "s")


def reference_quote_nesting(text: str) -> bool:
    """The reference's quote test: every ``"`` or ``'`` closes the innermost open quote when it
    is of the same kind and opens a new one otherwise (apostrophes included); passes when a
    close leaves the depth 3 below the deepest depth reached."""
    stack: list[str] = []
    deepest = 0
    for ch in text:
        if stack and ch == stack[-1]:
            stack.pop()
            if deepest - len(stack) >= 3:
                return True
        elif ch in "\"'":
            stack.append(ch)
            deepest = max(deepest, len(stack))
    return False


def max_quote_depth(text: str) -> int:
    """Deepest nesting of alternating double and single quotes whose outermost quotation
    closes (a closing quote of the wrong kind breaks the chain)."""
    stack: list[str] = []  # "d" or "s"
    deepest_open = 0
    best = 0
    for i, ch in enumerate(text):
        if ch not in "\"“”«»„'‘’":
            continue
        role = _quote_role(text, i, stack[-1] if stack else None)
        if role is None:
            continue
        action, kind = role
        if action == "open":
            stack.append(kind)
            deepest_open = max(deepest_open, len(stack))
        elif stack and stack[-1] == kind:
            stack.pop()
            if not stack:
                best = max(best, deepest_open)
                deepest_open = 0
        else:
            stack.clear()
            deepest_open = 0
    return best


@register
class NestedQuotes(Constraint):
    """Quotes within quotes within quotes, at least 3 levels deep, double and single alternating.

    Reference: :func:`reference_quote_nesting` on straight quotes only, apostrophes read as
    quotes. Fixed: a closed quotation at least 3 levels deep, straight or typographic quotes,
    apostrophes (``don't``, ``students'``) told from quotes.
    """

    id: ClassVar[str] = "format:quotes"
    params = ()
    conflicts = frozenset({"startend:quotation"})
    phrasings = (
        "Include quotes within quotes within quotes, at least 3 levels deep, alternating between "
        "double quotes and single quotes.",
    )

    def _check(self, text: Text) -> Verdict:
        ok = reference_quote_nesting(text.raw)
        return Verdict.of(ok, "3 quote levels closed" if ok else "not 3 quote levels deep")

    def _check_fixed(self, text: Text) -> Verdict:
        depth = max_quote_depth(text.raw)
        return Verdict.of(depth >= 3, f"deepest closed quote nesting {depth}")


_SUB = re.compile(r"^\s*-(?!-)\s+\S")


@register
class SubBullets(Constraint):
    """``*`` bullet points, each with at least one ``-`` sub-bullet.

    Reference: every piece of the text after a ``*`` contains a ``-`` (a response without
    ``*`` passes; ``**bold**`` fails). Fixed: ``*`` bullet lines, each followed (before the
    next one) by at least one ``-`` sub-bullet line; no ``-`` item outside a ``*`` bullet.
    """

    id: ClassVar[str] = "format:sub-bullets"
    params = ()
    conflicts = _LAYOUT
    phrasings = (
        "Your response must include bullet points denoted by * and at least one sub-bullet point "
        "denoted by - for each bullet point.",
    )

    def _check(self, text: Text) -> Verdict:
        pieces = text.raw.split("*")[1:]
        bad = next((i for i, p in enumerate(pieces, 1) if "-" not in p), None)
        if bad is not None:
            return Verdict.of(False, f"no '-' after '*' number {bad}")
        return Verdict.of(True, f"{len(pieces)} '*' each followed by a '-'")

    def _check_fixed(self, text: Text) -> Verdict:
        bullets = 0
        subs_of_current = 0
        for line in text.raw.split("\n"):
            if _BULLET_STAR.match(line):
                if bullets and not subs_of_current:
                    return Verdict.of(False, f"bullet {bullets} has no sub-bullet")
                bullets += 1
                subs_of_current = 0
            elif _SUB.match(line):
                if not bullets:
                    return Verdict.of(False, "a - item outside any * bullet")
                subs_of_current += 1
        if not bullets:
            return Verdict.of(False, "no bullet point denoted by *")
        if not subs_of_current:
            return Verdict.of(False, f"bullet {bullets} has no sub-bullet")
        return Verdict.of(True, f"{bullets} bullets, each with sub-bullets")


_ITALIC_START = re.compile(r"^(?:<p>\s*)?<(i|em)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)


def sections(raw: str) -> list[tuple[str, str]]:
    """(heading line or "", body) per section: headings (markdown ``#`` lines or wholly bold
    lines) start sections when there are any, otherwise blank-line paragraphs are sections."""
    lines = raw.split("\n")
    if any(HEADING.match(line) for line in lines):
        out: list[tuple[str, list[str]]] = [("", [])]
        for line in lines:
            if HEADING.match(line):
                out.append((line.strip(), []))
            else:
                out[-1][1].append(line)
        result = [(h, "\n".join(b).strip()) for h, b in out]
        return [s for s in result if s[0] or s[1]]
    return [("", p.strip()) for p in re.split(r"\n\s*\n", raw) if p.strip()]


@register
class Thesis(Constraint):
    """Each section begins with a thesis statement in HTML italics.

    Reference: the first ``<i>`` (else ``<em>``) is followed by a closing tag, non-blank text
    inside and more text after it (offsets computed for ``<i>``, so ``<em>`` is read with a
    one-character shift). Fixed: every section's body (sections by headings, else by blank
    lines) begins with a non-empty ``<i>``/``<em>`` statement.
    """

    id: ClassVar[str] = "format:thesis"
    params = ()
    conflicts = _LAYOUT
    phrasings = (
        "Each section must begin with a thesis statement in italics, use HTML to indicate the "
        "italics.",
    )

    def _check(self, text: Text) -> Verdict:
        raw = text.raw
        start = raw.find("<i>")
        if start < 0:
            start = raw.find("<em>")
        if start < 0:
            return Verdict.of(False, "no <i> or <em>")
        raw = raw[start:]
        end = raw.find("</i>")
        if end < 0:
            end = raw.find("</em>")
        if end < 0:
            return Verdict.of(False, "the italics are not closed")
        if not raw[3:end].strip():
            return Verdict.of(False, "empty italics")
        ok = bool(raw[end + 4 :].strip())
        return Verdict.of(ok, "italic thesis followed by text" if ok else "nothing after it")

    def _check_fixed(self, text: Text) -> Verdict:
        secs = sections(text.raw)
        for i, (heading, body) in enumerate(secs, 1):
            m = _ITALIC_START.match(body)
            if not m or not m.group(2).strip():
                where = heading[:30] or body[:30]
                return Verdict.of(False, f"section {i} ({where!r}) does not open with <i>/<em>")
        return Verdict.of(True, f"{len(secs)} sections, each opening with an HTML-italic thesis")


MINOR_WORDS = frozenset(
    word_list(
        "a an the and but or nor for so yet as at by in of on to up via per off out from into "
        "onto over with than vs"
    )
)


@register
class TitleCase(Constraint):
    """Title case: every major word starts with a capital letter.

    Reference: every Treebank token starting with a letter is capitalised (a one-letter token
    upper case, minor words such as ``of`` and ``the`` included; ``iPhone`` passes). Fixed:
    minor words (articles, short prepositions and conjunctions: :data:`MINOR_WORDS`) may be
    lower case except as the first word of a line; words not starting with a letter are
    ignored.
    """

    id: ClassVar[str] = "format:title_case"
    params = ()
    conflicts = frozenset({"change_case:english_lowercase", "change_case:english_capital"})
    phrasings = (
        "Write the entire response in title case (capitalize the first letter of every major "
        "word).",
    )

    def _check(self, text: Text) -> Verdict:
        for tok in text.tokens:
            if not tok[0].isalpha():
                continue
            head, rest = tok[0], tok[1:]
            if head.islower() and (not rest or rest.isupper() or rest.islower()):
                return Verdict.of(False, f"{tok!r} is not capitalised")
        return Verdict.of(True, "every word capitalised")

    def _check_fixed(self, text: Text) -> Verdict:
        seen = 0
        for line in text.raw.split("\n"):
            for k, m in enumerate(WORD.finditer(line)):
                w = m.group()
                if not w[0].isalpha():
                    continue
                seen += 1
                if w[0].isupper() or (k > 0 and w.lower() in MINOR_WORDS):
                    continue
                return Verdict.of(False, f"{w!r} is not capitalised")
        return Verdict.of(seen > 0, f"{seen} words in title case")

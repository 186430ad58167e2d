"""Linear-time equivalents of IFEval's line-oriented regex counts.

IFEval counts bullets with ``^\\s*\\*[^\\*].*$`` / ``^\\s*-.*$`` (multiline), placeholders with
``\\[.*?\\]`` and titles with ``<<[^\\n]+>>``. Python's backtracking makes those quadratic on
adversarial input (a megabyte of newlines or of ``[``); these scans give the same counts and
matches in one pass. Their equality with the regexes is property-tested.
"""

from __future__ import annotations

import re

_NON_SPACE = re.compile(r"\S")


def _next_line_start(text: str, pos: int) -> int:
    """The first position >= ``pos`` where ``^`` (multiline) matches, or -1."""
    if pos == 0 or (pos <= len(text) and text[pos - 1] == "\n"):
        return pos
    nl = text.find("\n", pos)
    return -1 if nl < 0 else nl + 1


def count_bullets(text: str, marker: str) -> int:
    """``len(re.findall(r"^\\s*\\*[^\\*].*$", text, re.M))`` for ``marker="*"``,
    ``len(re.findall(r"^\\s*-.*$", text, re.M))`` for ``marker="-"``.

    From a line start, ``\\s*`` can only stop at the first non-space character, so a line start
    matches iff that character is the marker (for ``*``: followed by a character other than
    ``*``); the match then runs to the end of that character's line.
    """
    n = len(text)
    count = 0
    pos = 0
    while True:
        start = _next_line_start(text, pos)
        if start < 0 or start > n:
            return count
        m = _NON_SPACE.search(text, start)
        if m is None:
            return count
        c = m.start()
        if marker == "*":
            ok = text[c] == "*" and c + 1 < n and text[c + 1] != "*"
            body = c + 2
        else:
            ok = text[c] == "-"
            body = c + 1
        if not ok:
            # every line start up to c reaches the same character: skip past c's line start
            pos = c + 1
            continue
        count += 1
        end = text.find("\n", body) if body <= n else -1
        pos = n if end < 0 else end
        if pos >= n:
            return count


def count_placeholders(text: str) -> int:
    """``len(re.findall(r"\\[.*?\\]", text))``: each ``[`` closes at the next ``]`` on its line."""
    count = 0
    pos = 0
    while True:
        i = text.find("[", pos)
        if i < 0:
            return count
        j = text.find("]", i + 1)
        nl = text.find("\n", i + 1)
        if j >= 0 and (nl < 0 or j < nl):
            count += 1
            pos = j + 1
        elif nl < 0:
            return count
        else:
            pos = nl + 1  # no ']' before the line ends: no '[' on this line can close


def titles(text: str) -> list[str]:
    """``re.findall(r"<<[^\\n]+>>", text)``: per line, first ``<<`` to last ``>>``."""
    out = []
    for line in text.split("\n"):
        i = line.find("<<")
        if i < 0:
            continue
        j = line.rfind(">>")
        if j >= i + 3:
            out.append(line[i : j + 2])
    return out

"""Text of fixed-layout files (PDF, OFD) as paragraphs, without the layout.

A PDF gives lines, page by page. What the layout adds is not the document's text and must never
make a change: the running header and footer printed on every page, page numbers, and the line
breaks that wrap a sentence at the right margin (a changed word earlier in a paragraph moves
every later break). ``paragraphs(pages)`` removes the first two and joins wrapped lines:

- a line that comes back at the same place at the top or bottom of at least half of the pages
  (numbers replaced by ``#``, so "第 3 页" and "第 4 页" are the same line) is furniture, on
  documents of two pages or more;
- a line that is only a page number ("- 3 -", "第3页 共12页", "3/12", "3") is furniture;
- a line that runs to the right margin (at least ``FULL_LINE`` of the long lines' length) and
  does not end a sentence continues on the next line, across page breaks too; a short line,
  or one ending in 。！？；： (a closing quote may follow), ends its paragraph (headings stay
  their own lines); a line that begins with punctuation no printed line may begin with
  (。，、”）...) continues the one before it.
"""

from __future__ import annotations

import re
from collections import Counter

PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–－]\s*\d{1,4}\s*[-—–－]|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|page\s*\d{1,4}(?:\s*of\s*\d{1,4})?|\d{1,4})\s*$",
    re.I,
)
STOPS = "。！？；：!?;:…"
CLOSERS = "」』”’）)】》"
NO_LINE_START = "。，、；：？！…」』”’）)】》,.;:?!%"  # never begin a printed line: a continuation
EDGE_LINES = 2  # lines at the top and at the bottom of a page where furniture is looked for
FULL_LINE = 0.8
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"[ \t\u3000\xa0]+")


def _key(line: str) -> str:
    return _DIGITS.sub("#", _SPACE.sub("", line))


def _edges(lines: list[str]) -> list[tuple[int, str]]:
    """(place, key) of a page's edge lines: place 0, 1, 2 from the top, -1, -2, -3 from the
    bottom; furniture comes back at the same place."""
    n = len(lines)
    places = [*range(min(EDGE_LINES, n)), *range(-min(EDGE_LINES, n), 0)]
    return [(p, _key(lines[p])) for p in dict.fromkeys(places)]


def _furniture(pages: list[list[str]]) -> set[tuple[int, str]]:
    """(place, key) of lines repeated at the same edge place of at least half of the pages."""
    if len(pages) < 2:
        return set()
    seen: Counter[tuple[int, str]] = Counter()
    for lines in pages:
        seen.update(set(_edges(lines)))
    need = max(2, -(-len(pages) // 2))
    long_line = _long_line([x for lines in pages for x in lines])
    return {
        place
        for place, n in seen.items()
        # a full-width line seen twice can be the same sentence twice: wait for a third page
        if place[1] and n >= (max(need, 3) if _width(place[1]) >= FULL_LINE * long_line else need)
    }


def _long_line(lines: list[str]) -> int:
    """The width of a line that runs to the right margin (the 90th percentile; the longest
    line of a short text)."""
    widths = sorted(_width(x) for x in lines) or [0]
    return widths[int(0.9 * (len(widths) - 1))] if len(widths) >= 10 else widths[-1]


def _strip_pages(pages: list[list[str]]) -> list[str]:
    pages = [[x.strip() for x in lines if x.strip()] for lines in pages]
    repeated = _furniture(pages)
    out: list[str] = []
    for lines in pages:
        n = len(lines)
        for i, line in enumerate(lines):
            at_edge = i < EDGE_LINES or i >= n - EDGE_LINES
            if at_edge and (
                (i, _key(line)) in repeated
                or (i - n, _key(line)) in repeated
                or PAGE_NUMBER.match(line)
            ):
                continue
            out.append(line)
    return out


def _width(line: str) -> int:
    """Display width: a CJK character is two columns, as on the page."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in line)


def paragraphs(pages: list[list[str]]) -> str:
    """The pages' lines as paragraphs, one a line (see the module docstring)."""
    lines = _strip_pages(pages)
    if not lines:
        return ""
    long_line = _long_line(lines)
    out: list[str] = []
    current = ""
    for i, line in enumerate(lines):
        current = _join(current, line) if current else line
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if following[:1] and following[0] in NO_LINE_START:
            continue
        if _ends_sentence(line) or _width(line) < FULL_LINE * long_line:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return "\n".join(out)


def _ends_sentence(line: str) -> bool:
    """Ends in 。！？；： (or in one of them and a closing quote or bracket: 。” 。）)."""
    tail = line.rstrip(CLOSERS)
    return bool(tail) and tail[-1] in STOPS and (tail == line or len(line) - len(tail) <= 2)


def _join(left: str, right: str) -> str:
    """Two halves of a wrapped line: nothing between CJK or digits, a space between words."""
    if left[-1].isascii() and left[-1].isalpha() and right[0].isascii() and right[0].isalpha():
        return f"{left} {right}"
    return left + right


def split_lines(text: str) -> list[str]:
    """A page's text (any of \\r\\n, \\r, \\n) as lines."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

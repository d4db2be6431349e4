"""Decoding pages whose declared charset may be wrong.

Declarations are trusted in this order: the HTTP header, the byte-order mark, then
``<meta charset>`` (w3lib maps GB2312 and GBK to GB18030). Each declared charset and UTF-8,
GB18030 and Big5-HKSCS are tried strictly (no replacement characters), and each result is
scored for how much it reads like Chinese (pipelines.text.chinese.plausibility, minus Latin-1
mojibake marks). The most trusted declaration that decodes wins unless another charset reads
clearly better (by MARGIN): then the declaration was wrong.

A page that no charset decodes strictly is often a good page with a few broken byte sequences
(a truncated character at a buffer edge, one bad paste). Then the charset with the fewest
invalid sequences is used, as long as they are at most MAX_BROKEN of the text and the rest
reads as text: the broken sequences are dropped (never U+FFFD) and ``Decoded.broken`` says how
many. More than that, or no declaration and no readable decoding, raises ``UndecodablePage``:
an error of the run, never a version with U+FFFD or mojibake in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

from pipelines.text.chinese import plausibility_of

FALLBACKS = ("utf-8", "gb18030", "big5hkscs")
PLAUSIBLE = 0.5  # real Chinese text scores about 0.9, mojibake below 0.2
MARGIN = 0.3  # another charset must read this much better to overrule a declaration
MAX_BROKEN = 0.01  # share of broken sequences a page may have and still be read
MOJIBAKE_MARKS = "ÃÂâ€¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿ÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞß"
SCORED = 20000  # characters scored at the start of a text


class UndecodablePage(ValueError):
    """No charset decodes the body cleanly."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    declared: str | None  # what the page said, if anything
    corrected: bool  # the declaration was wrong (or missing) and another charset was used
    broken: int = 0  # invalid byte sequences dropped (only when no charset decodes strictly)


def _canonical(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name)
    return {"big5": "big5hkscs", "cp950": "big5hkscs"}.get(resolved or "", resolved)


def _score(text: str) -> float:
    """How much ``text`` reads like Chinese: the plausibility of its first SCORED characters
    less five times the share of them that are MOJIBAKE_MARKS (Latin-1 punctuation and
    letters, typical of GBK or UTF-8 bytes read as Latin-1). One pass over the code points
    for both."""
    import numpy as np

    points = np.frombuffer(text[:SCORED].encode("utf-32-le"), np.uint32)
    han = plausibility_of(points)
    base = 1.0 if han is None else han
    table = _marks()
    marks = int(table[np.minimum(points, len(table) - 1)].sum())
    return base - 5 * marks / max(1, points.size)


@cache
def _marks() -> Any:
    """MOJIBAKE_MARKS as a table by code point; its last entry (no mark) stands for every
    code point beyond."""
    import numpy as np

    top = max(map(ord, MOJIBAKE_MARKS)) + 2
    table = np.zeros(top, dtype=bool)
    table[[ord(ch) for ch in MOJIBAKE_MARKS]] = True
    return table


def decode_body(body: bytes, content_type: str | None = None) -> Decoded:
    header = _canonical(http_content_type_encoding(content_type) if content_type else None)
    bom, _ = read_bom(body)
    meta = _canonical(html_body_declared_encoding(body[:4096]))
    declared = list(dict.fromkeys(e for e in (header, _canonical(bom), meta) if e))
    scored: dict[str, tuple[float, str]] = {}
    for encoding in dict.fromkeys([*declared, *FALLBACKS]):
        try:
            text = body.decode(encoding).removeprefix("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
        scored[encoding] = (_score(text), text)
        if encoding in declared and len(scored) == 1 and scored[encoding][0] > 1 - MARGIN:
            # the most trusted declaration reads so well that no charset can read MARGIN
            # better (scores are at most 1): the others need not be tried
            first = declared[0]
            return Decoded(text, encoding, first, corrected=encoding != first)
    if not scored:
        return _decode_broken(body, declared)
    best = max(scored, key=lambda e: scored[e][0])
    trusted = next((e for e in declared if e in scored), None)
    if trusted is not None and scored[best][0] - scored[trusted][0] < MARGIN:
        best = trusted  # the page's own declaration, unless another reads clearly better
    elif trusted is None and scored[best][0] < PLAUSIBLE / 2:
        raise UndecodablePage("no declared charset, and no charset gives readable text")
    first = declared[0] if declared else None
    return Decoded(scored[best][1], best, first, corrected=best != first)


def _decode_broken(body: bytes, declared: list[str]) -> Decoded:
    """The least broken decoding of a body that no charset decodes strictly."""
    tried = list(dict.fromkeys([*declared, *FALLBACKS]))
    best: tuple[int, float, str, str] | None = None
    for encoding in tried:
        try:
            text = body.decode(encoding, errors="replace").removeprefix("\ufeff")
        except LookupError:
            continue
        broken = text.count("\ufffd")
        text = text.replace("\ufffd", "")
        if broken > MAX_BROKEN * max(len(text), 1) or _score(text) < PLAUSIBLE / 2:
            continue
        if best is None or (broken, -_score(text)) < (best[0], -best[1]):
            best = (broken, _score(text), encoding, text)
    if best is None:
        raise UndecodablePage(
            f"no charset decodes this page cleanly, nor with at most {MAX_BROKEN:.0%} broken "
            f"(tried {', '.join(tried)})"
        )
    broken, _, encoding, text = best
    first = declared[0] if declared else None
    return Decoded(text, encoding, first, corrected=encoding != first, broken=broken)

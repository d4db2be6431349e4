"""The form of a text that change detection compares.

The stored version keeps the text as published; comparison uses ``normalize(text)``: pinyin
annotations removed (現(xiàn)在 -> 現在), Unicode NFKC (full-width and half-width forms fold
together), Traditional characters folded to Simplified (OpenCC), volatile fragments removed
(visit and read counters, "today is ..." clocks), per-source ``ignore`` patterns removed, and
whitespace folded (none kept between Chinese characters, runs elsewhere become one space).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache, partial
from itertools import chain, pairwise

from pipelines.text.chinese import strip_pinyin, to_simplified

# Counters and clocks that change on every load without the document changing.
VOLATILE_PATTERNS = (
    # 访问量: 1234 / 浏览次数：56次 / 点击数 78 / 阅读 910
    r"(?:访问量|访问次数|浏览量|浏览次数|浏览|点击数|点击量|点击率|点击|阅读量|阅读数|阅读次数|阅读"
    r"|人气|views?|hits?)\s*[:：]?\s*[\[\(（]?\s*\d[\d,]*\s*[\]\)）]?\s*次?",
    r"(?:今天是|今日|当前时间|现在时间|北京时间)\s*[:：]?\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"(?:\s*(?:星期|周)[一二三四五六日天])?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?",
    r"\d{4}-\d{1,2}-\d{1,2}\s*(?:星期|周)[一二三四五六日天](?:\s*\d{1,2}:\d{2}(?::\d{2})?)?",
)

# Where a volatile fragment can start (the first characters of VOLATILE_PATTERNS): the
# pattern tries only there, a third of the time of trying at every character.
VOLATILE_STARTS = r"访浏点阅人vhVH今当现北\d"
_VOLATILE = re.compile(
    rf"(?=[{VOLATILE_STARTS}])(?:" + "|".join(f"(?:{p})" for p in VOLATILE_PATTERNS) + ")",
    re.IGNORECASE,
)

# Stable code points (Unicode's UAX #15): NFKC never changes them, and they never combine or
# compose with a neighbour (combining class 0, in no canonical pair; not Hangul). A text's NFKC
# is then the NFKC of its runs of other characters with these kept between them (``nfkc``).
# Line breaks, ASCII punctuation and digits that are such, CJK punctuation, Han characters.
NFKC_STABLE = (
    "\n !\"#$%&'()*+,\\-./0-9:;?@\\[\\\\\\]^_`{|}~"
    "\u00b7\u2014\u2018\u2019\u201c\u201d\u3001\u3002\u3008-\u3011\u3014\u3015\u4e00-\u9fff"
)
_UNSTABLE_RUNS = re.compile(f"([^{NFKC_STABLE}]+)")

_CJK = r"\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=256)
def _compile(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def fold_whitespace(text: str) -> str:
    """``text`` without whitespace between two Chinese characters (``_CJK``), other runs of
    whitespace one space, stripped: ``_fold_by_regex``, its definition, in a quarter of the
    time. The text is split at its runs of whitespace (``str.split`` and the regex's ``\\s``
    are the same characters) and the pieces joined by nothing or a space, by the characters
    on either side. A text holding U+3000, which is both whitespace and a Chinese character
    (normalize's NFKC makes it a space first), goes by the definition."""
    if "\u3000" in text:
        return _fold_by_regex(text)
    pieces = text.split()
    if len(pieces) < 2:
        return pieces[0] if pieces else ""
    joints = ["" if _cjk(a[-1]) and _cjk(b[0]) else " " for a, b in pairwise(pieces)]
    joints.append("")
    return "".join(chain.from_iterable(zip(pieces, joints, strict=True)))


def _cjk(char: str) -> bool:
    """Whether ``char`` is in ``_CJK`` (U+3000-U+303F lies inside U+2E80-U+9FFF)."""
    return (
        "\u2e80" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or "\uff00" <= char <= "\uffef"
    )


def _fold_by_regex(text: str) -> str:
    """fold_whitespace's definition."""
    return _SPACES.sub(" ", _SPACE_BETWEEN_CJK.sub("", text)).strip()


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, in a fraction of the time for Chinese text:
    only its runs of characters that are not stable (``NFKC_STABLE``: full-width punctuation,
    letters ...) are normalized, all in one call, apart by line breaks (themselves stable).
    Real pages' texts all hold full-width commas and colons: normalizing them whole took 0.2
    ms a thousand characters."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    parts = _UNSTABLE_RUNS.split(text)  # stable, unstable, stable, ... unstable, stable
    runs = parts[1::2]
    done = unicodedata.normalize("NFKC", "\n".join(runs)).split("\n")
    if len(done) != len(runs):  # (no NFKC form holds a line break: cannot happen)
        return unicodedata.normalize("NFKC", text)
    parts[1::2] = done
    return "".join(parts)


def normalize(text: str, ignore: Iterable[str] = ()) -> str:
    """The comparison form of ``text``; see the module docstring."""
    user = _compile(tuple(ignore))
    if user is not None:  # as the user wrote it, against the page as published ...
        text = user.sub(" ", text)
    text = strip_pinyin(text)
    text = nfkc(text)
    text = to_simplified(text)
    for pattern in (_VOLATILE, user):  # ... and against the folded form
        if pattern is not None:
            text = pattern.sub(" ", text)
    return fold_whitespace(text)


def normalizer(ignore: Iterable[str] = ()) -> Callable[[str], str]:
    """``normalize`` bound to a source's ignore patterns, e.g. as a diff's sentence key."""
    return partial(normalize, ignore=tuple(ignore))

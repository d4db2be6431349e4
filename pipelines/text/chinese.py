"""Chinese text helpers: Simplified forms, pinyin annotations, and a plausibility score.

- ``to_simplified``: OpenCC's Traditional-to-Simplified conversion (t2s), for comparison,
  search and matching; stored text keeps its published script.
- ``strip_pinyin``: removes pinyin annotations that mirrors add after characters, as in
  現(xiàn)在 -> 現在.
- ``plausibility``: the share of a text's Chinese characters (folded to Simplified) that are
  among the frequent characters of government and investment texts. Real text scores about
  0.9 or more; text decoded with the wrong charset (UTF-8 read as GBK, GBK as Big5, ...)
  scores below 0.2. The frequency table is built once from the seed pages shipped with the
  sample site (about 100,000 characters of real government and investment pages).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources
from typing import Any

# a pinyin annotation after a Han character: 現(xiàn)在. The bracket comes first and the
# look-behind after it, so the search jumps from bracket to bracket (a quarter of the time of
# a look-behind tried at every character).
PINYIN = re.compile(
    r"[(（](?<=[\u4e00-\u9fff][(（])\s*[a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹ]{1,7}\d?\s*[)）]"
)
HAN = re.compile(r"[\u4e00-\u9fff]")
MIN_COUNT = 2  # characters seen at least this often in the corpus count as frequent


@cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def _convert_cached(text: str) -> str:
    return _converter().convert(text)


def to_simplified(text: str) -> str:
    if not HAN.search(text):
        return text
    return _convert_cached(text) if len(text) < 200 else _converter().convert(text)


def strip_pinyin(text: str) -> str:
    return PINYIN.sub("", text)


FREQUENT_FILE = "frequent.txt"  # beside this module; '#' lines are comments


@cache
def frequent_characters() -> frozenset[str]:
    """The Han characters frequent in real government and investment pages (the sample
    site's seed pages, Simplified): read from FREQUENT_FILE, which ``count_frequent`` wrote
    (a test holds the two equal), instead of counting the seeds in every crawl process."""
    text = resources.files(__package__).joinpath(FREQUENT_FILE).read_text(encoding="utf-8")
    lines = (line for line in text.splitlines() if not line.startswith("#"))
    return frozenset("".join(lines).replace(" ", ""))


def count_frequent(texts: Iterable[str]) -> frozenset[str]:
    """The Han characters seen at least MIN_COUNT times in ``texts`` (as Simplified)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(HAN.findall(to_simplified(text)))
    return frozenset(ch for ch, n in counts.items() if n >= MIN_COUNT)


def write_frequent(chars: frozenset[str]) -> str:
    """FREQUENT_FILE's text for ``chars``: sorted, 50 a line, under a comment."""
    ordered = "".join(sorted(chars))
    lines = [ordered[i : i + 50] for i in range(0, len(ordered), 50)]
    head = (
        "# Frequent Han characters (pipelines.text.chinese.count_frequent of the sample site's\n"
        "# seed pages); rewrite with: python -m pipelines.text.chinese\n"
    )
    return head + "\n".join(lines) + "\n"


HAN_SAMPLE = 3000  # Han characters scored: plenty to tell Chinese from mojibake


def plausibility(text: str, sample: int = 20000) -> float | None:
    """Share of frequent characters among the (first ``HAN_SAMPLE``) Han characters of the
    first ``sample`` characters of ``text``; None if it has none."""
    import numpy as np

    return plausibility_of(np.frombuffer(text[:sample].encode("utf-32-le"), np.uint32))


def plausibility_of(points: Any) -> float | None:
    """``plausibility`` of a text given as its code points (a numpy uint32 array).

    Each character is folded to Simplified by itself (OpenCC's conversion of the character
    alone, made into a table once, ``_folded_frequent``), not by phrases as ``to_simplified``
    folds a text: every page is scored once or more as it is decoded, and the table is a
    third of the time of converting 3,000 characters (on real pages, Traditional and
    mis-decoded ones included, the two scores are at most 0.003 apart)."""
    han = points[(points >= HAN_FIRST) & (points <= HAN_LAST)][:HAN_SAMPLE]
    if not han.size:
        return None
    return int(_folded_frequent()[han - HAN_FIRST].sum()) / han.size


HAN_FIRST, HAN_LAST = 0x4E00, 0x9FFF  # the range of HAN; frequent characters are all in it


@cache
def _folded_frequent() -> Any:
    """For each Han character: is its Simplified form (OpenCC's, of the character alone)
    among the frequent characters? One conversion of the whole range, a character a line
    (20 ms, once a process)."""
    import numpy as np

    chars = "\n".join(chr(c) for c in range(HAN_FIRST, HAN_LAST + 1))
    folded = _converter().convert(chars).split("\n")
    frequent = frequent_characters()
    if len(folded) != HAN_LAST - HAN_FIRST + 1:  # (a conversion across the line breaks)
        folded = [_converter().convert(chr(c)) for c in range(HAN_FIRST, HAN_LAST + 1)]
    return np.array([f in frequent for f in folded], dtype=bool)


if __name__ == "__main__":  # rewrite FREQUENT_FILE from the seed pages
    from pathlib import Path

    seeds = resources.files("samplesite").joinpath("seeds")
    texts = [e.read_text(encoding="utf-8") for e in seeds.iterdir() if e.name.endswith(".txt")]
    Path(__file__).with_name(FREQUENT_FILE).write_text(
        write_frequent(count_frequent(texts)), encoding="utf-8"
    )

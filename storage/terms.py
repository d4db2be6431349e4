"""The search index's terms of a text (``index_terms``; see storage.search)."""

from __future__ import annotations

import functools

import numpy as np


def index_terms(text: str) -> str:
    """The distinct bigrams of ``text`` (lowercased) whose two characters are letters, digits
    or Han characters (``str.isalnum``), apart by spaces: what the index holds of a text, and
    what a term is looked up by. Each is one token of FTS5's ``ascii`` tokenizer (it splits
    on ASCII punctuation and spaces only, which these never hold). Sorted, so the same text
    always gives the same string (a contentless index takes a row out by the values it was
    given)."""
    points = np.frombuffer(text.lower().encode("utf-32-le"), np.uint32)
    if points.size < 2:
        return ""
    word = _word_table()[np.minimum(points, 0xFFFF)]
    beyond = points > 0xFFFF  # (rare: CJK extensions B and on, emoji)
    if beyond.any():
        word[beyond] = [chr(c).isalnum() for c in points[beyond].tolist()]
    pairs = (points[:-1].astype(np.uint64) << 32 | points[1:])[word[:-1] & word[1:]]
    pairs.sort()
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] if pairs.size else pairs
    out = np.empty((pairs.size, 3), np.uint32)
    out[:, 0], out[:, 1], out[:, 2] = pairs >> 32, pairs & 0xFFFFFFFF, 32
    return out.tobytes().decode("utf-32-le").rstrip()


@functools.cache
def _word_table() -> np.ndarray:
    """``str.isalnum`` of every character of the Basic Multilingual Plane, by code point."""
    return np.array([chr(i).isalnum() for i in range(0x10000)], dtype=bool)

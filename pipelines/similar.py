"""Near-duplicate signatures: MinHash over character 4-grams of the normalised, Simplified text,
punctuation and spaces removed, so that the same report in Traditional characters, with other
punctuation or other furniture, gets a close signature.

The signature is stored in the database and compared across versions of govwatch, so its
definition lives here, fixed: CRC-32 of each 4-gram, the MurmurHash3 32-bit finalizer, then 128
affine permutations ``a*h + b mod 2**32`` (``a`` odd) drawn from ``RandomState(1)``, the
minimum per permutation. These are the numbers datasketch 2.0's default ("affine32") MinHash
gives for the same hash function and seed, which is what earlier databases hold; datasketch
itself is no longer imported, because it pulls in SciPy (0.8 s of start-up in every crawl
process) and because its default scheme changed between releases, which would have changed
stored signatures silently.
"""

from __future__ import annotations

import re
import zlib
from functools import cache
from typing import Any

SHINGLE = 4
NUM_PERM = 128
SEED = 1
_KEEP = re.compile(r"[\u4e00-\u9fff0-9A-Za-z]+")


def shingles(norm_text: str) -> set[str]:
    core = "".join(_KEEP.findall(norm_text))
    return {core[i : i + SHINGLE] for i in range(max(0, len(core) - SHINGLE + 1))}


@cache
def _permutations() -> tuple[Any, Any]:
    import numpy as np

    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix32(h: Any) -> Any:
    import numpy as np

    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def signature(norm_text: str) -> tuple[bytes, int]:
    """``(MinHash values as bytes: 128 little-endian uint64, number of distinct shingles)``."""
    import numpy as np

    grams = shingles(norm_text)
    values = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    if grams:
        hashes = np.array([zlib.crc32(g.encode("utf-8")) for g in grams], dtype=np.uint32)
        a, b = _permutations()
        with np.errstate(over="ignore"):
            permuted = _fmix32(hashes).reshape(-1, 1) * a + b  # wraps: mod 2**32
        values = np.minimum(values, permuted.min(axis=0))
    return values.astype("<u8").tobytes(), len(grams)

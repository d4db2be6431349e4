"""Near-duplicate signatures: MinHash (datasketch) over character 4-grams of the normalised,
Simplified text, punctuation and spaces removed, so that the same report in Traditional
characters, with other punctuation or other furniture, gets a close signature.
"""

from __future__ import annotations

import re
import zlib

SHINGLE = 4
NUM_PERM = 128
_KEEP = re.compile(r"[\u4e00-\u9fff0-9A-Za-z]+")


def shingles(norm_text: str) -> set[str]:
    core = "".join(_KEEP.findall(norm_text))
    return {core[i : i + SHINGLE] for i in range(max(0, len(core) - SHINGLE + 1))}


def signature(norm_text: str) -> tuple[bytes, int]:
    """``(MinHash values as bytes, number of distinct shingles)``."""
    from datasketch import MinHash

    grams = shingles(norm_text)
    mh = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=zlib.crc32)  # stable across processes
    if grams:
        mh.update_batch([g.encode("utf-8") for g in grams])
    return mh.hashvalues.astype("uint64").tobytes(), len(grams)

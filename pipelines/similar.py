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

The CRC-32s are computed in numpy, all distinct 4-grams at once (CRC-32 being affine, a gram's
CRC is put together from one precomputed part per character, ``_char_tables``), and each
distinct gram is permuted once: the same numbers as ``zlib.crc32`` gram by gram, in about two
milliseconds for a long report instead of fifteen (``tests/test_diff_normalize.py`` checks
them against the plain definition, ``reference_signature``).
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


@cache
def _crc_table() -> Any:
    import numpy as np

    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1)
    return table.astype(np.uint32)


@cache
def _char_tables() -> tuple[Any, Any, Any]:
    """CRC-32 is affine in its message: for a message of L bytes, ``crc = crc(L zero bytes)
    XOR`` the register each byte leaves when run from zero and followed by zero bytes. So a
    gram's CRC is a constant for its length XOR one number per character, looked up by the
    character and how many bytes follow it in the gram (at most three characters of three).

    Returns (UTF-8 length of each BMP code point, ``(10, 65536)`` table of a character's part
    followed by 0-9 bytes, CRC of 0-12 zero bytes)."""
    import numpy as np

    table = _crc_table()

    def step(reg: Any, byte: Any) -> Any:
        return table[(reg ^ byte) & np.uint32(0xFF)] ^ (reg >> np.uint32(8))

    cp = np.arange(1 << 16, dtype=np.uint32)
    length = np.where(cp < 0x80, 1, np.where(cp < 0x800, 2, 3)).astype(np.uint8)
    one, two = length == 1, length == 2
    lead = np.where(one, cp, np.where(two, 0xC0 | (cp >> 6), 0xE0 | (cp >> 12)))
    reg = step(np.zeros_like(cp), lead)
    middle = np.where(two, 0x80 | (cp & 0x3F), 0x80 | ((cp >> 6) & 0x3F))
    reg = np.where(one, reg, step(reg, middle))
    reg = np.where(length < 3, reg, step(reg, 0x80 | (cp & 0x3F)))
    parts = np.empty((3 * (SHINGLE - 1) + 1, 1 << 16), dtype=np.uint32)
    for k in range(len(parts)):
        parts[k] = reg
        reg = step(reg, np.uint32(0))
    zeros = np.empty(3 * SHINGLE + 1, dtype=np.uint32)
    reg = np.full(1, 0xFFFFFFFF, dtype=np.uint32)
    for n in range(len(zeros)):
        zeros[n] = reg[0] ^ np.uint32(0xFFFFFFFF)
        reg = step(reg, np.uint32(0))
    return length, parts, zeros


def _gram_hashes(norm_text: str) -> tuple[Any, int]:
    """CRC-32 of the UTF-8 bytes of each distinct 4-gram of the kept characters, and how
    many distinct 4-grams there are. A gram is four BMP code points, so one uint64 is the
    gram itself (distinct grams are distinct numbers; its four 16-bit parts, little-endian,
    are its characters from the last); its CRC is put together from per-character parts
    (``_char_tables``)."""
    import numpy as np

    points = np.frombuffer(norm_text.encode("utf-32-le"), dtype=np.uint32)
    kept = _kept_table()[np.minimum(points, 0xFFFF)]  # (U+FFFF and beyond are not kept)
    points = points[kept].astype(np.uint64)  # the characters _KEEP matches, in order
    n = len(points) - SHINGLE + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint32), 0
    keys = points[:n] << np.uint64(16 * (SHINGLE - 1))
    for k in range(1, SHINGLE):
        keys |= points[k : k + n] << np.uint64(16 * (SHINGLE - 1 - k))
    keys.sort()  # distinct, in order: np.unique's hashing is three times slower here
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    chars = keys.astype("<u8", copy=False).view("<u2").reshape(-1, SHINGLE)
    length, parts, zeros = _char_tables()
    flat = parts.reshape(-1)
    crc = np.zeros(len(keys), dtype=np.uint32)
    after = np.zeros(len(keys), dtype=np.intp)  # bytes following the character
    for k in range(SHINGLE):  # from the gram's last character
        cp = chars[:, k].astype(np.intp)
        crc ^= flat[(after << 16) | cp]
        after += length[cp]
    return crc ^ zeros[after], len(keys)


@cache
def _kept_table() -> Any:
    """``_kept`` of every BMP code point but U+FFFF, by code point."""
    import numpy as np

    table = _kept(np.arange(1 << 16, dtype=np.uint32))
    table[0xFFFF] = False
    return table


def _kept(points: Any) -> Any:
    """Which code points _KEEP matches (Han U+4E00-U+9FFF, ASCII digits and letters), as a
    mask: the regex's runs joined, without making a string of each."""
    return (
        ((points >= 0x4E00) & (points <= 0x9FFF))
        | ((points >= 0x30) & (points <= 0x39))
        | (((points | 0x20) >= 0x61) & ((points | 0x20) <= 0x7A))  # A-Z and a-z
    )


def signature(norm_text: str) -> tuple[bytes, int]:
    """``(MinHash values as bytes: 128 little-endian uint64, number of distinct shingles)``."""

    hashes, count = _gram_hashes(norm_text)
    return _minhash(hashes), count


def _minhash(hashes: Any) -> bytes:
    """The minimum of each permutation of ``hashes``, sixteen permutations at a time: a block
    of a long text's values (16 x 7,000 x 4 bytes) stays in the processor's cache, where all
    128 at once (3.6 MB) would not, a sixth less time after the page's other work."""
    import numpy as np

    values = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    if len(hashes):
        a, b = _permutations()
        mixed = _fmix32(hashes)
        with np.errstate(over="ignore"):
            for i in range(0, NUM_PERM, 16):
                permuted = np.multiply.outer(a[i : i + 16], mixed)  # one row a permutation
                permuted += b[i : i + 16].reshape(-1, 1)  # wraps: mod 2**32
                values[i : i + 16] = permuted.min(axis=1)
    return values.astype("<u8").tobytes()


def reference_signature(norm_text: str) -> tuple[bytes, int]:
    """The definition, gram by gram with ``zlib.crc32`` (slow: for tests)."""
    import numpy as np

    grams = shingles(norm_text)
    a, b = (p.astype(np.uint64) for p in _permutations())
    values = [0xFFFFFFFF] * NUM_PERM
    for gram in grams:
        crc = np.array([zlib.crc32(gram.encode("utf-8"))], dtype=np.uint32)
        mixed = _fmix32(crc).astype(np.uint64)  # each a times it, plus b: below 2**64
        values = np.minimum(values, (a * mixed + b) % np.uint64(1 << 32))
    return np.asarray(values, dtype="<u8").tobytes(), len(grams)

"""URL identity: the canonical form that keys a document everywhere (store, spider, UI)."""

from __future__ import annotations

from functools import lru_cache

from w3lib.url import canonicalize_url


@lru_cache(maxsize=4096)  # a document's URL is keyed at its request and again at its answer
def canonical(url: str) -> str:
    """The URL that identifies a document: no fragment, sorted query."""
    return canonicalize_url(url, keep_fragments=False)

"""URL identity: the canonical form that keys a document everywhere (store, spider, UI)."""

from __future__ import annotations

from w3lib.url import canonicalize_url


def canonical(url: str) -> str:
    """The URL that identifies a document: no fragment, sorted query."""
    return canonicalize_url(url, keep_fragments=False)

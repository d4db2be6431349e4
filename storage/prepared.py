"""What the store derives from a version's texts, made ahead of it (``prepare``).

Recording a version packs its texts, hashes the text, writes the normalised text's character
pairs into the search index and, for a new document, counts its sentences: pure functions of
``text`` and ``norm_text``, a millisecond of Python a page. A crawl makes them in its
extraction process, beside the text itself, so that the crawl process (whose one thread of
Python also runs Scrapy) only writes them. ``VersionStore.record`` takes a Prepared made from
the very strings it records (``of``); for any other texts it derives all itself, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diff import split_sentences
from .packing import pack_norm, pack_text, text_hash
from .terms import index_terms


@dataclass
class Prepared:
    text: str  # the strings it was made from: record() uses it only for these very objects
    norm_text: str
    text_packed: bytes
    text_hash: str
    norm_packed: bytes | None
    body_terms: str | None  # index_terms(norm_text) } made for a new document only: a known
    sentences: int | None  # len(split_sentences(text)) } one's text seldom changes

    def of(self, text: str, norm_text: str) -> bool:
        """Whether this was made from ``text`` and ``norm_text`` themselves (the same objects:
        a Prepared that crossed a process did so with its texts, in one message)."""
        return self.text is text and self.norm_text is norm_text


def prepare(text: str, norm_text: str, *, new: bool = True) -> Prepared:
    """What record() derives from ``text`` and ``norm_text``; with ``new`` (a document the
    store does not hold yet), its search terms and count of sentences too."""
    return Prepared(
        text=text,
        norm_text=norm_text,
        text_packed=pack_text(text),
        text_hash=text_hash(text),
        norm_packed=pack_norm(norm_text, text),
        body_terms=index_terms(norm_text) if new else None,
        sentences=len(split_sentences(text)) if new else None,
    )

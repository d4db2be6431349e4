"""Items that spiders yield and pipelines consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(repr=False)
class DocumentItem:
    """A fetched document page, decoded, before extraction."""

    url: str
    source: str
    html: str
    encoding: str
    fetched_at: str
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    known_body_hash: str | None = None  # body hash of the last good fetch, if any
    broken: int = 0  # invalid byte sequences dropped when decoding (pipelines.text.charsets)
    list_url: str | None = None
    list_title: str | None = None  # the list's (or endpoint's) title and date: hints for
    list_date: str | None = None  # a page that shows none of its own
    # Attachments (pipelines.text.files): the page that links to one, the file's kind
    # (pdf, docx, ...) and bytes; content_type is the MIME type stored with the document
    parent: str | None = None
    file_kind: str | None = None
    body: bytes = b""
    content_type: str = "text/html"
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (url, link text) on a page
    # Filled by pipelines.extract (same_body: identical bytes, extraction skipped):
    same_body: bool = False
    text: str | None = None
    norm_text: str | None = None
    title: str | None = None
    published: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    signature: bytes | None = None
    shingles: int | None = None
    prepared: Any = None  # storage.Prepared: what the store derives from text and norm_text

    def __repr__(self) -> str:  # short: items appear in log lines
        return f"DocumentItem(url={self.url!r}, source={self.source!r}, title={self.title!r})"


@dataclass
class ErrorItem:
    """Something that went wrong for one URL: recorded in the run log, never a change."""

    url: str
    source: str
    kind: str  # gone | http | network | robots | blocked | list_http | no_links | extract | ...
    message: str
    status: int | None = None

"""The source registry's data model: what a validated ``sources.yaml`` entry is.

Plain data (no I/O): ``Source`` and its parts, the notification ``Rule``, ``SourceError`` and
duration parsing. Imports nothing of ours; ``crawler.sources`` loads and validates into these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

EVERY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
EVERY_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY = 1.0  # seconds: the shortest schedule interval or timeout
MAX_EVERY = 366 * 86400.0


class SourceError(ValueError):
    """The sources file is missing, not YAML, or a source in it is invalid."""


@dataclass(frozen=True)
class Selector:
    """A CSS or XPath expression, with optional URL filters for links."""

    css: str | None = None
    xpath: str | None = None
    allow: str | None = None
    deny: str | None = None

    def select(self, node: Any) -> Any:
        return node.css(self.css) if self.css else node.xpath(self.xpath)

    @property
    def spec(self) -> tuple[str, str]:
        """``("css", expr)`` or ``("xpath", expr)``: what the extraction takes as ``content``."""
        return ("css", self.css) if self.css else ("xpath", self.xpath or "")


@dataclass(frozen=True)
class Pages:
    template: str
    first: int
    last: int

    def urls(self) -> list[str]:
        return [self.template.format(n=n) for n in range(self.first, self.last + 1)]


@dataclass(frozen=True)
class Api:
    """A JSON list endpoint: ``{page}`` in url/form/json is the page number.

    ``items``, ``link``, ``title``, ``date`` and ``total_pages`` are JMESPath expressions: the
    array of list items in the answer, and per item the document URL, title and date.
    """

    url: str
    method: str = "GET"
    form: dict[str, str] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    items: str = "@"
    link: str = "url"
    title: str | None = None
    date: str | None = None
    first: int = 1
    last: int | None = None
    total_pages: str | None = None

    def page_url(self, page: int) -> str:
        return self.url.replace("{page}", str(page))

    def page_body(self, page: int) -> tuple[dict[str, str] | None, Any]:
        """(form, json) for ``page``, ``{page}`` filled in every string value."""
        return _fill(self.form, page), _fill(self.json, page)


def _fill(value: Any, page: int) -> Any:
    if isinstance(value, str):
        return value.replace("{page}", str(page))
    if isinstance(value, dict):
        return {k: _fill(v, page) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, page) for v in value]
    return value


RENDER_MODES = ("list", "all")


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    region: str
    category: str
    start_urls: tuple[str, ...]
    links: Selector | None
    next_page: Selector | None = None
    pages: Pages | None = None
    content: Selector | None = None
    schedule: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    enabled: bool = True
    max_pages: int | None = None
    timeout: float | None = None  # seconds a scheduled crawl may take before it is stopped
    api: Api | None = None
    render: str | None = None  # "list": list pages in Chromium; "all": documents too
    allowed_hosts: tuple[str, ...] = ()  # more hosts; "*.example.cn" takes its subdomains
    attachments: bool = True  # fetch the PDF, Word, OFD ... files a document page links to
    revisit_max: float = 7 * 86400.0  # longest wait before an unlisted document is re-checked
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property  # asked for every request by the off-site guard
    def hosts(self) -> frozenset[str]:
        """The hosts of the source's own URLs: start_urls, api, pages."""
        from urllib.parse import urlparse

        urls = [*self.start_urls]
        if self.api:
            urls.append(self.api.url.replace("{page}", "1"))
        if self.pages:
            urls.append(self.pages.template.replace("{n}", "1"))
        return frozenset((urlparse(u).hostname or "").lower() for u in urls) - {""}

    def allows(self, host: str) -> bool:
        """May the crawl of this source request ``host``? Its own hosts, and allowed_hosts."""
        host = host.lower().rstrip(".")
        if host in self.hosts:
            return True
        for rule in self.allowed_hosts:
            if rule.startswith("*."):
                if host == rule[2:] or host.endswith(rule[1:]):
                    return True
            elif host == rule:
                return True
        return False

    @property
    def revisit(self) -> tuple[float, float]:
        """(shortest, longest) seconds between re-checks of a document the lists no longer
        link to: the schedule's interval (6 hours for a cron schedule or none), and
        ``revisit_max``."""
        short = self.interval_seconds or 6 * 3600.0
        return short, max(short, self.revisit_max)

    @property
    def interval_seconds(self) -> float | None:
        every = self.schedule.get("every")
        return parse_every(every) if every is not None else None

    def as_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "region": self.region,
            "category": self.category,
        }


def parse_every(value: str | int | float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        m = EVERY_RE.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 6h or 1d")
        seconds = float(m.group(1)) * EVERY_UNITS[m.group(2)]
    if not MIN_EVERY <= seconds <= MAX_EVERY:
        raise ValueError(f"{value!r} is out of range: from 1s to 366d")
    return seconds


@dataclass(frozen=True)
class Rule:
    urls: tuple[str, ...]
    kinds: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    baseline: str = "summary"  # a first crawl: one "now watching N" message, or "notify" all

    def wants(self, change: dict[str, Any], text: str) -> bool:
        if self.kinds and change["kind"] not in self.kinds:
            return False
        if self.regions and change.get("region") not in self.regions:
            return False
        if self.sources and change["source"] not in self.sources:
            return False
        haystack = f"{change.get('title') or ''}\n{text}"
        return not self.keywords or any(k in haystack for k in self.keywords)

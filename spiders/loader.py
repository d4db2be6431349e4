"""Scrapy spider loader that makes one spider class per source in sources.yaml.

Reads SOURCES_FILE. A bad sources file stops the command with one readable line on stderr
(exit code 2) rather than a traceback, and nothing is crawled.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from crawler.sources import Source, SourceError, load_sources
from spiders.source import SourceSpider

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.settings import BaseSettings


def spider_class(source: Source) -> type[SourceSpider]:
    """A SourceSpider subclass for ``source``, with its per-source settings."""
    attrs = {
        "name": source.name,
        "source": source,
        "custom_settings": dict(source.settings),
        "__doc__": source.title,
    }
    return type(f"Spider_{source.name}", (SourceSpider,), attrs)


class SourceSpiderLoader:
    def __init__(self, settings: BaseSettings) -> None:
        self.path = settings.get("SOURCES_FILE")
        try:
            self.sources = load_sources(self.path)
        except SourceError as exc:
            sys.stderr.write(f"govwatch: {exc}\n")
            raise SystemExit(2) from None
        self._spiders = {name: spider_class(src) for name, src in self.sources.items()}

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls(settings)

    def load(self, spider_name: str) -> type[SourceSpider]:
        try:
            return self._spiders[spider_name]
        except KeyError:
            raise KeyError(
                f"Spider not found: {spider_name} (no such source in {self.path})"
            ) from None

    def list(self) -> list[str]:
        return sorted(self._spiders)

    def find_by_request(self, request: Request) -> list[str]:
        return [
            name
            for name, src in self.sources.items()
            if any(request.url.startswith(u) for u in src.start_urls)
        ]

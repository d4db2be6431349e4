"""A Scrapy extension for crawl_bench only: when a crawl's first document arrived and when the
crawl closed (its pipelines closed, the store's last batch written), written as JSON to
BENCH_TIMING_FILE. Their difference over the documents after the first is the cost of a
document once the crawl runs, without the fixed start (Python, Scrapy, opening the store and
the source, the first list page), which weighs more in a small crawl than in a large one.

    scrapy crawl NAME -s EXTENSIONS='{"bench.timing.CrawlTiming": 0}' \
        -s BENCH_TIMING_FILE=timing.json -s BENCH_DOCUMENT_PATH=/gen/doc/
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class CrawlTiming:
    def __init__(self, path: str, document_path: str) -> None:
        self.path = Path(path)
        self.document_path = document_path
        self.first: float | None = None
        self.documents = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlTiming:
        path = crawler.settings.get("BENCH_TIMING_FILE")
        if not path:
            raise NotConfigured
        timing = cls(path, crawler.settings.get("BENCH_DOCUMENT_PATH", "/doc/"))
        crawler.signals.connect(timing.response_received, signal=signals.response_received)
        crawler.signals.connect(timing.spider_closed, signal=signals.spider_closed)
        return timing

    def response_received(self, response: Any, request: Any, spider: Any = None) -> None:
        if self.document_path in response.url:
            self.documents += 1
            if self.first is None:
                self.first = time.monotonic()

    def spider_closed(self, spider: Any = None) -> None:
        times = {"first_document": self.first, "closed": time.monotonic()}
        self.path.write_text(json.dumps({**times, "documents": self.documents}))

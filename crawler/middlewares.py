"""Downloader middlewares of govwatch.

KnownDocumentsMiddleware: conditional requests and re-checks of known documents (see below).

HeadMetaRefreshMiddleware: Scrapy's meta-refresh redirects, without decoding every page whole
to look for a tag that can only be in its head.

RedirectLoopMiddleware: a redirect back to a URL already in the request's redirect chain is a
loop. Scrapy's duplicate filter would drop the looping request silently; we raise IgnoreRequest
instead, so that the spider's errback records it as an error of the run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.exceptions import DontCloseSpider, IgnoreRequest, NotConfigured
from w3lib.url import safe_url_string

from crawler.urls import canonical
from storage import VersionStore

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)


REDIRECTS = {301, 302, 303, 307, 308}
WHOLE_REQUESTS = "govwatch/documents_fetched_whole"  # stat: document requests without validators


class RedirectLoopError(IgnoreRequest):
    """The page redirects back to itself or to an earlier URL of its chain."""


# Scrapy reads a meta refresh in a page's first 4,096 characters, after decoding the whole body
# (the spider decodes every page itself, charset by charset: that decoding was Scrapy's alone)
REFRESH_HEAD_BYTES = 4 * 4096  # 4,096 characters of UTF-8 or GB18030 take at most 4 bytes each


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware, which passes a page over when its first 4,096 characters
    cannot hold a refresh: w3lib reads one only from a tag whose attributes spell "refresh"
    (in any case, not as character references), and the bytes lack it and hold no NUL byte
    (a UTF-16 page's letters are not ASCII bytes). Otherwise Scrapy's own reading."""

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        head = response.body[:REFRESH_HEAD_BYTES]
        if b"refresh" not in head.lower() and b"\0" not in head:
            return response
        return super().process_response(request, response)


class RedirectLoopMiddleware:
    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in REDIRECTS or not location:
            return response
        target = safe_url_string(response.urljoin(location.decode("latin-1")))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise RedirectLoopError(f"redirect loop: {' -> '.join([*chain, target])}")
        return response


class KnownDocumentsMiddleware:
    """Conditional re-checks of documents the store already holds.

    At spider open it reads, once, each known document's ETag, Last-Modified and body hash.
    A document request then carries If-None-Match / If-Modified-Since (a 304 means unchanged,
    without a body) and the last body hash (so that identical bytes skip extraction). When the
    crawl goes idle, documents the source no longer lists are requested once more if they are
    due (the store's adaptive schedule: one that keeps not changing is checked less and less
    often, up to the source's ``revisit_max``; one that changed or went missing comes back to
    every run), so that a document that is gone is noticed (404/410), one that merely left the
    list is not, and a run's cost follows change rather than the size of the archive.

    Settings: KNOWN_DOCUMENTS_ENABLED, KNOWN_DOCUMENTS_RECHECK_UNLISTED, VERSIONS_DB_PATH.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("KNOWN_DOCUMENTS_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.path = settings.get("VERSIONS_DB_PATH")
        self.recheck = settings.getbool("KNOWN_DOCUMENTS_RECHECK_UNLISTED")
        self.states: dict[str, dict[str, Any]] = {}
        self.requested: set[str] = set()
        self.rechecked = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self, spider: Any = None) -> None:
        spider = self.crawler.spider
        with VersionStore(self.path) as store:
            self.states = store.http_states(spider.name)
        logger.info(
            "%(n)d known documents of %(source)s", {"n": len(self.states), "source": spider.name}
        )

    def process_request(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("page_kind") != "document":
            return
        url = canonical(request.url)
        self.requested.add(url)
        state = self.states.get(url)
        if not state or state["status"] == "removed":
            # a removed document is fetched whole: its return is news. (ExtractPipeline starts
            # its processes early when many documents are fetched whole: a first crawl)
            self.crawler.stats.inc_value(WHOLE_REQUESTS)
            return
        if state["etag"]:
            request.headers.setdefault(b"If-None-Match", state["etag"])
        if state["last_modified"]:
            request.headers.setdefault(b"If-Modified-Since", state["last_modified"])
        request.meta["known_body_hash"] = state["body_hash"]

    def spider_idle(self, spider: Any = None) -> None:
        if self.rechecked or not self.recheck or getattr(self.crawler.spider, "refused", None):
            return
        self.rechecked = True
        spider = self.crawler.spider
        from storage import now_iso

        now = now_iso()
        unlisted = [
            u for u, s in self.states.items() if u not in self.requested and s["status"] == "active"
        ]
        missing = [u for u in unlisted if (self.states[u].get("next_check") or "") <= now]
        self.crawler.stats.set_value("govwatch/not_due", len(unlisted) - len(missing))
        if not missing:
            return
        logger.info("Re-checking %(n)d documents no longer listed", {"n": len(missing)})
        for url in missing:
            self.crawler.engine.crawl(spider.document_request(url, unlisted=True))
        raise DontCloseSpider

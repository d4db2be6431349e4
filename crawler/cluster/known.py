"""Conditional requests in a cluster worker (the local crawl's KnownDocumentsMiddleware reads
the database; a worker has none)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler.cluster import KEYS, loads
from crawler.urls import canonical

if TYPE_CHECKING:
    import scrapy
    from scrapy.crawler import Crawler


class ClusterKnownDocumentsMiddleware:
    """Conditional requests in a worker: the writer put each known document's validators and
    body hash in the run's ``known`` hash; a document request carries them, and its URL is
    noted as requested (what is due and was not requested is re-checked at the end)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterKnownDocumentsMiddleware:
        return cls(crawler)

    def process_request(self, request: scrapy.Request, spider: Any = None) -> None:
        run = request.meta.get("gw_run")
        if request.meta.get("page_kind") != "document" or run is None:
            return
        server = self.crawler.spider.server
        url = canonical(request.url)
        pipe = server.pipeline()
        pipe.sadd(KEYS.run(run, "requested"), url)
        pipe.hget(KEYS.run(run, "known"), url)
        _, raw = pipe.execute()
        if raw is None:
            return
        state = loads(raw)
        if state.get("status") == "removed":
            return  # a removed document is fetched whole: its return is news
        if state.get("etag"):
            request.headers.setdefault(b"If-None-Match", state["etag"])
        if state.get("last_modified"):
            request.headers.setdefault(b"If-Modified-Since", state["last_modified"])
        request.meta["known_body_hash"] = state.get("body_hash")

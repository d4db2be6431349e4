"""Conditional requests in a cluster worker (the local crawl's KnownDocumentsMiddleware reads
the database; a worker has none)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

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


class ClusterResponseCounter:
    """Every response a run's requests received (redirects, retried errors, 304s), counted in
    the run as a local crawl's ``response_received_count`` is; each host's robots.txt once a
    run, as a local crawl reads it. Placed before the redirect and retry middlewares see the
    response."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.robots = crawler.settings.getbool("ROBOTSTXT_OBEY")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterResponseCounter:
        return cls(crawler)

    def process_response(self, request: scrapy.Request, response: Any, spider: Any = None) -> Any:
        run = request.meta.get("gw_run")
        if run is None or not self.crawler.spider.run_active(run):
            return response
        server = self.crawler.spider.server
        key = KEYS.run(run)
        pages = 1
        if self.robots:
            pages += server.sadd(KEYS.run(run, "hosts"), urlparse(response.url).netloc)
        pipe = server.pipeline()
        pipe.hincrby(key, "pages", pages)
        if response.status == 304:
            pipe.hincrby(key, "not_modified", 1)
        pipe.execute()
        return response

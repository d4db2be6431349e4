"""Per-site limits for the whole cluster, not per worker.

A request may start when fewer than the site's concurrency limit are in flight (from any
worker) and at least the site's delay has passed since the last start (from any worker). Both
are decided by one Lua script with Redis's own clock, so the machines' clocks do not matter.
An in-flight slot is a lease that expires after DOWNLOAD_TIMEOUT plus a margin: a worker killed
mid-request frees its slots by itself.

The limits of a request are its source's ``settings:`` CONCURRENT_REQUESTS_PER_DOMAIN and
DOWNLOAD_DELAY (else the worker's), and a robots.txt Crawl-delay, which forces one request at
a time. Scrapy's own per-worker delay is off in a worker: this middleware is the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from redis.exceptions import RedisError
from scrapy import signals

from crawler.cluster import KEYS, connect
from crawler.politeness import crawl_delay

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

# KEYS: slots (zset token -> lease end, ms), next start (ms). ARGV: limit, delay ms, lease ms,
# token. Returns 0 when the slot is taken, else how many ms to wait (-1: wait for a release).
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < nxt then return nxt - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 60000)
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[2], now + tonumber(ARGV[2]), 'PX', tonumber(ARGV[2]) + 1000)
end
return 0
"""
POLL = 0.05  # seconds between tries while every slot of a site is taken


class ClusterHostLimitsMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        s = crawler.settings
        self.server = connect(s.get("REDIS_URL"))
        self.acquire = self.server.register_script(ACQUIRE)
        self.limit = max(1, s.getint("CLUSTER_CONCURRENT_REQUESTS_PER_DOMAIN") or 1)
        self.delay = max(0.0, s.getfloat("CLUSTER_DOWNLOAD_DELAY"))
        self.lease_ms = int((s.getfloat("DOWNLOAD_TIMEOUT") + 30) * 1000)
        self.user_agent = s.get("ROBOTSTXT_USER_AGENT") or s.get("USER_AGENT")
        self.crawl_delays: dict[str, float] = {}
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        delay = crawl_delay(robotparser, self.user_agent)
        if delay:
            self.crawl_delays[urlparse(request.url).netloc] = delay

    def limits(self, request: Request) -> tuple[int, float]:
        """(concurrency, delay in seconds) for the request's site."""
        spider = self.crawler.spider
        source = spider.source_of(request) if hasattr(spider, "source_of") else None
        if source is not None:
            sources = [source]
        else:  # robots.txt: the strictest limits of the sources this worker crawls there
            host = urlparse(request.url).hostname or ""
            sources = [c.source for c in getattr(spider, "runs", {}).values()]
            sources = [s for s in sources if s.allows(host)]
        limit, delay = self.limit, self.delay
        if sources:
            limit = min(int(s.settings.get("CONCURRENT_REQUESTS_PER_DOMAIN") or self.limit)
                        for s in sources)  # fmt: skip
            delay = max(float(s.settings.get("DOWNLOAD_DELAY", self.delay)) for s in sources)
        crawl_delay = self.crawl_delays.get(urlparse(request.url).netloc)
        if crawl_delay:
            return 1, max(delay, crawl_delay)
        return max(1, limit), max(0.0, delay)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        netloc = urlparse(request.url).netloc
        limit, delay = self.limits(request)
        # a lease names its worker: the one that finds the worker dead frees its slots
        token = f"{getattr(self.crawler.spider, 'worker_id', '')}|{uuid.uuid4().hex}"
        keys = [KEYS.host(netloc, "slots"), KEYS.host(netloc, "next")]
        args = [limit, int(delay * 1000), self.lease_ms, token]
        waited = 0.0
        while True:
            try:
                wait = self.acquire(keys=keys, args=args)
            except RedisError as exc:  # Redis restarting: wait for it rather than overrun a site
                logger.warning("Redis unreachable for the site limits: %(error)s", {"error": exc})
                wait = 1000
            if wait == 0:
                break
            pause = POLL if wait < 0 else min(wait / 1000, 5.0)
            waited += pause
            await asyncio.sleep(pause)
        request.meta["_cluster_slot"] = (keys[0], token)
        self.crawler.stats.inc_value("govwatch/cluster/slot_wait_ms", int(waited * 1000))

    def _release(self, request: Request) -> None:
        held = request.meta.pop("_cluster_slot", None)
        if held is None:
            return
        with contextlib.suppress(RedisError):  # else the lease expires by itself
            self.server.zrem(*held)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        self._release(request)

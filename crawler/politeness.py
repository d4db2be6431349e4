"""Downloader middlewares that keep a crawl where it was sent and within each site's limits.

OffsiteGuardMiddleware (first in the chain): only http(s) URLs, only the hosts of the source
(``Source.allows``: its start_urls, api and pages hosts, plus ``allowed_hosts:``), and nothing
more to a host that answered with an anti-bot block earlier in the run (``HostBlocked``). Links,
redirects and meta refreshes elsewhere are dropped and counted (``govwatch/offsite``), never
fetched: a ``file://`` link is never read, a private address never reached unless listed.

RobotsTxtMiddleware: Scrapy's, with RFC 9309's status rules: a robots.txt answering 5xx, or
not reachable at all, disallows the whole site for this run; 4xx allows it.

HostLimitsMiddleware (last before the download): at most CONCURRENT_REQUESTS_PER_DOMAIN
requests in flight to one host; with a robots.txt ``Crawl-delay``, one at a time, each starting
that long after the previous answer. Scrapy 2.19's downloader can start every queued request of
a slot at once when no delay is set: its slot loop checks ``len(slot.transferring)``, which the
downloads it has only scheduled (``_schedule_coro``) have not raised yet. This guard holds the
limit whatever the Scrapy version.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobots
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.misc import build_from_crawler

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)
DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"
MAX_CRAWL_DELAY = 60.0  # a larger Crawl-delay is held at this (one request a minute)


def crawl_delay(robotparser: Any, user_agent: str) -> float | None:
    """The robots.txt ``Crawl-delay`` for ``user_agent`` (Scrapy's Protego parser), at most
    MAX_CRAWL_DELAY; None when there is none."""
    protego = getattr(robotparser, "rp", None)
    delay = protego.crawl_delay(user_agent) if hasattr(protego, "crawl_delay") else None
    return min(float(delay), MAX_CRAWL_DELAY) if delay else None


class OffsiteRequest(IgnoreRequest):
    """A request outside the source's hosts, or not http(s): skipped and counted."""


class HostBlocked(IgnoreRequest):
    """A request to a host that answered with an anti-bot block earlier in this run."""


class OffsiteGuardMiddleware:
    """Decides, for every request, whether its host may be asked at all in this run."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        parsed = urlparse(request.url)
        spider = self.crawler.spider
        source = spider.source_of(request) if hasattr(spider, "source_of") else None
        if hasattr(spider, "host_blocked") and spider.host_blocked(request):
            # it answered with an anti-bot block: no loop against a gateway, one error per host
            raise HostBlocked(f"host blocked earlier in this run: {request.url}")
        if parsed.scheme not in ("http", "https"):
            reason = f"not an http(s) URL: {request.url[:200]}"
        elif source is not None and not source.allows(parsed.hostname or ""):
            reason = f"off-site host {parsed.hostname}: {request.url[:200]}"
        else:
            return
        self.crawler.stats.inc_value("govwatch/offsite")
        logger.debug("Skipped %(reason)s", {"reason": reason})
        raise OffsiteRequest(reason)


class RobotsTxtMiddleware(ScrapyRobots):
    """RFC 9309 section 2.3.1: 4xx is "unavailable" (allow all), 5xx or no answer is
    "unreachable" (disallow all)."""

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            logger.warning(
                "robots.txt of %(netloc)s answered %(status)s: the site is disallowed this run",
                {"netloc": netloc, "status": response.status},
            )
            response = response.replace(body=DISALLOW_ALL)
        elif response.status >= 400:
            response = response.replace(body=b"")
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):  # off-site or otherwise refused: decide nothing
            super()._robots_error(exc, netloc)
            return
        logger.warning(
            "robots.txt of %(netloc)s unreachable (%(error)s): the site is disallowed this run",
            {"netloc": netloc, "error": exc},
        )
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        deferred = self._parsers[netloc]
        parser = build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL)
        self._parsers[netloc] = parser
        deferred.callback(parser)


@dataclass
class _Host:
    limit: int
    in_flight: int = 0
    crawl_delay: float = 0.0
    next_start: float = 0.0
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class HostLimitsMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.limit = max(1, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") or 1)
        self.user_agent = settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT")
        self.hosts: dict[str, _Host] = {}
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _host(self, request: Request) -> _Host:
        name = urlparse(request.url).netloc
        if name not in self.hosts:
            self.hosts[name] = _Host(self.limit)
        return self.hosts[name]

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        delay = crawl_delay(robotparser, self.user_agent)
        if delay:
            host = self._host(request)
            host.crawl_delay = delay
            logger.info(
                "Crawl-delay %(delay)s s for %(host)s (robots.txt)",
                {"delay": host.crawl_delay, "host": urlparse(request.url).netloc},
            )

    async def process_request(self, request: Request, spider: Any = None) -> None:
        host = self._host(request)
        # with a Crawl-delay, one request at a time, each starting that long after the last
        # answer: a floor on the gap the site sees, whatever the network does in between
        while host.in_flight >= (1 if host.crawl_delay else host.limit):
            waiter = asyncio.get_running_loop().create_future()
            host.waiters.append(waiter)
            await waiter
        host.in_flight += 1
        request.meta["_host_slot_held"] = True
        self.crawler.stats.max_value("govwatch/max_in_flight_per_host", host.in_flight)
        wait = host.next_start - time.monotonic()
        if host.crawl_delay and wait > 0:
            await asyncio.sleep(wait)

    def _release(self, request: Request) -> None:
        if not request.meta.pop("_host_slot_held", False):
            return
        host = self._host(request)
        host.in_flight -= 1
        if host.crawl_delay:
            host.next_start = time.monotonic() + host.crawl_delay
        while host.waiters:
            waiter = host.waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                break

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        self._release(request)

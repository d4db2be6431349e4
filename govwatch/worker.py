"""A crawl worker: one Scrapy process that takes requests of any source's run from the shared
frontier, fetches and extracts them, and hands documents and errors to the writer.

The source's own spider (``spiders.source.SourceSpider``) does the parsing, one instance per run
(its definition comes with the run, from the writer: workers need no sources file). What it
yields is handled here, in order: child requests go to the frontier, documents through the
extraction (``pipelines.extract.ExtractPipeline``) and, with errors, into the writer's inbox;
only then is the request counted as handled. A worker runs until SIGTERM; what it still holds
then goes back to the frontier.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import scrapy
from redis.exceptions import RedisError
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from crawler.cluster import (
    HEARTBEAT,
    KEYS,
    RUN_TTL,
    WORKER_SPIDER,
    Outage,
    connect,
    loads,
    serial,
)
from crawler.cluster.frontier import (
    finish_script,
    heartbeat,
    register_worker,
    requeue_dead_workers,
    unregister_worker,
)
from crawler.cluster.state import RedisRunState
from crawler.items import DocumentItem, ErrorItem
from crawler.sources import SourceError, parse_source
from spiders.loader import spider_class

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.crawler import Crawler

    from crawler.sources import Source
    from spiders.source import SourceSpider

logger = logging.getLogger(__name__)
ENDED_RUNS_KEPT = 256


def worker_settings(redis_url: str, concurrency: int) -> dict[str, Any]:
    """Settings a worker runs with, on top of crawler.settings."""
    from crawler import settings as base

    middlewares = dict(base.DOWNLOADER_MIDDLEWARES)
    middlewares["crawler.politeness.HostLimitsMiddleware"] = None
    middlewares["crawler.cluster.limits.ClusterHostLimitsMiddleware"] = 1000
    middlewares["crawler.middlewares.KnownDocumentsMiddleware"] = None
    middlewares["crawler.cluster.known.ClusterKnownDocumentsMiddleware"] = 560
    middlewares["crawler.cluster.known.ClusterResponseCounter"] = 950
    return {
        "REDIS_URL": redis_url,
        "SCHEDULER": "crawler.cluster.frontier.ClusterScheduler",
        "CONCURRENT_REQUESTS": concurrency,
        # the cluster limiter holds the per-site limits for all workers; Scrapy's are per worker
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "CLUSTER_CONCURRENT_REQUESTS_PER_DOMAIN": base.CONCURRENT_REQUESTS_PER_DOMAIN,
        "CLUSTER_DOWNLOAD_DELAY": base.DOWNLOAD_DELAY,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOADER_MIDDLEWARES": middlewares,
        "ITEM_PIPELINES": {},  # the spider hands items over itself, in order (see above)
        "EXTENSIONS": {**base.EXTENSIONS, "govwatch.notify.NotifyExtension": None},
        "EXTRACT_WORKERS": 0,  # a worker is one process (extraction in a thread of it)
        "ROBOTSTXT_MAX_AGE": 86400.0,  # seconds a worker keeps a site's robots.txt
        "LOG_LEVEL": "INFO",
    }


class RunContext:
    """One run as this worker sees it: its source and that source's spider instance."""

    def __init__(self, run_id: int, source: Source, helper: SourceSpider) -> None:
        self.run_id, self.source, self.helper = run_id, source, helper


class ClusterSpider(scrapy.Spider):
    name = WORKER_SPIDER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        self.runs: dict[int, RunContext] = {}
        self.by_source: dict[str, RunContext] = {}
        self.ended: set[int] = set()
        self.extract: Any = None
        self.server: Any = None
        self.loop_task: Any = None
        self.stopping = False
        self.outage = Outage(logger)
        self.tasks: set[asyncio.Future[None]] = set()
        self.stopped = threading.Event()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ClusterSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.opened, signal=signals.spider_opened)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.closed_, signal=signals.spider_closed)
        return spider

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        return
        yield  # requests come from the frontier

    def opened(self, spider: Any = None) -> None:
        from pipelines.extract import ExtractPipeline

        self.server = connect(self.settings.get("REDIS_URL"))
        self.finish_run_request = finish_script(self.server)
        self.extract = ExtractPipeline.from_crawler(self.crawler)
        # beside the reactor, in a thread: requests keep being sent (a slot taken in the site
        # limits is used at once) while a page is extracted; one process a worker all the same
        self.extract.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
        info = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                "concurrency": self.settings.getint("CONCURRENT_REQUESTS")}  # fmt: skip
        self.info = info
        register_worker(self.server, self.worker_id, info)
        self.loop_task = asyncio.ensure_future(self._loop())
        # in a thread: a long extraction that holds the reactor never looks like a dead worker
        self.beating = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self.beating.start()
        logger.info("Worker %(id)s takes requests from the frontier", {"id": self.worker_id})

    def idle(self, spider: Any = None) -> None:
        if not self.stopping:
            raise DontCloseSpider  # a worker never stops by itself

    def closed_(self, spider: Any = None, reason: str = "") -> None:
        self.stopping = True
        self.stopped.set()
        if self.loop_task is not None:
            self.loop_task.cancel()
        if self.extract is not None:
            self.extract.close_spider()
        try:
            unregister_worker(self.server, self.worker_id)
        except RedisError as exc:  # what it held comes back when its heartbeat expires
            logger.error("Could not hand back taken requests: %(error)s", {"error": exc})
        logger.info("Worker %(id)s stopped (%(reason)s)", {"id": self.worker_id, "reason": reason})

    def _beat(self) -> None:
        """Heartbeat, and recovery of what dead workers had taken."""
        while not self.stopped.wait(HEARTBEAT):
            try:
                heartbeat(self.server, self.worker_id, self.info)
                requeue_dead_workers(self.server)
            except RedisError:  # said by the loop below; the next beat tries again
                pass
            except Exception:
                logger.exception("Heartbeat error")

    async def _loop(self) -> None:
        """Start tokens, and a nudge to the engine so that requests other workers add are taken
        without waiting for Scrapy's 5 s tick."""
        robots_read = time.monotonic()
        while not self.stopping:
            if time.monotonic() - robots_read > self.settings.getfloat("ROBOTSTXT_MAX_AGE"):
                self._forget_robots()
                robots_read = time.monotonic()
            try:
                self._take_starts()
                self.outage.ok()
            except RedisError as exc:
                self.outage.failed(exc)
            except Exception:  # never a dead loop without a word
                logger.exception("Worker loop error")
            slot = getattr(self.crawler.engine, "_slot", None)
            if slot is not None and not self.crawler.engine.needs_backout():
                slot.nextcall.schedule()
            await asyncio.sleep(0.2)

    def _forget_robots(self) -> None:
        """RFC 9309 2.4: a cached robots.txt is not used for more than 24 hours. A local crawl
        reads it each run; a worker runs for weeks, so it reads it again once a day."""
        from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware

        for mw in self.crawler.engine.downloader.middleware.middlewares:
            if isinstance(mw, RobotsTxtMiddleware) and hasattr(mw, "_parsers"):
                mw._parsers.clear()
                logger.info("robots.txt files will be read again")

    # -- runs ---------------------------------------------------------------------------------

    def run_active(self, run_id: Any) -> bool:
        if run_id is None:
            return False
        if int(run_id) in self.ended:
            return False
        if self.server.sismember(KEYS.runs, str(run_id)):
            return True
        self._forget(int(run_id))
        return False

    def _forget(self, run_id: int) -> None:
        ctx = self.runs.pop(run_id, None)
        if ctx is not None and self.by_source.get(ctx.source.name) is ctx:
            del self.by_source[ctx.source.name]
        self.ended.add(run_id)
        if len(self.ended) > ENDED_RUNS_KEPT:
            self.ended.discard(min(self.ended))

    def context(self, run_id: int) -> RunContext:
        ctx = self.runs.get(run_id)
        if ctx is None:
            raw = self.server.hget(KEYS.run(run_id), "source")
            if raw is None:
                raise SourceError(f"run {run_id} has no source definition in Redis")
            source = parse_source(loads(raw))
            helper = spider_class(source)()
            helper.crawler, helper.settings = self.crawler, self.settings  # not its own crawl
            helper.state = RedisRunState(self.server, run_id)
            ctx = self.runs[run_id] = RunContext(run_id, source, helper)
            self.by_source[source.name] = ctx
        return ctx

    def source_of(self, what: Any) -> Source | None:
        """The source of a request (by its run) or of an item (by its source name)."""
        meta = getattr(what, "meta", None)
        if meta is not None and meta.get("gw_run") is not None:
            return self.context(int(meta["gw_run"])).source
        ctx = self.by_source.get(getattr(what, "source", None))
        return ctx.source if ctx else None

    def host_blocked(self, request: scrapy.Request) -> bool:
        run = request.meta.get("gw_run")
        if run is None:
            return False
        return self.context(int(run)).helper.host_blocked(request)

    def _take_starts(self) -> None:
        """Start tokens: the writer opened a run; make its start requests."""
        for _ in range(8):
            data = self.server.rpop(KEYS.starts)
            if data is None:
                return
            token = loads(data)
            run_id = int(token["run"])
            taken = KEYS.worker(self.worker_id, "taken")
            self.server.hset(taken, f"start:{run_id}", data)
            task = asyncio.ensure_future(self._start_run(run_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _start_run(self, run_id: int) -> None:
        try:
            if self.run_active(run_id):
                ctx = self.context(run_id)
                async for request in ctx.helper.start():
                    self._crawl(request, run_id)
        except Exception as exc:  # a broken definition fails the run, it does not hang it
            logger.exception("Run %(run)s could not start", {"run": run_id})
            self._ship_error(run_id, None, "spider", f"run could not start: {exc}", None)
        self._finish(run_id, f"start:{run_id}")

    # -- callbacks: the source spider's, with its output handled in order ---------------------

    async def parse_list(self, response: Any) -> AsyncIterator[Any]:
        await self._handle(response.request, lambda h: h.parse_list(response), response)
        return
        yield

    async def parse_api(self, response: Any) -> AsyncIterator[Any]:
        await self._handle(response.request, lambda h: h.parse_api(response), response)
        return
        yield

    async def parse_document(self, response: Any) -> AsyncIterator[Any]:
        await self._handle(response.request, lambda h: h.parse_document(response), response)
        return
        yield

    async def on_error(self, failure: Any) -> AsyncIterator[Any]:
        await self._handle(failure.request, lambda h: h.on_error(failure), failure)
        return
        yield

    async def _handle(self, request: scrapy.Request, call: Any, result: Any) -> None:
        run_id = int(request.meta["gw_run"])
        try:
            if self.run_active(run_id):
                ctx = self.context(run_id)
                self._count_result(run_id, result)
                await self._handle_output(ctx, request, call(ctx.helper) or ())
        except RedisError as exc:
            logger.error("Redis error on %(url)s: %(error)s", {"url": request.url, "error": exc})
            return  # not counted as handled: taken again when this worker's state is recovered
        except Exception as exc:  # a bug or an unexpected page: an error of the run, never silent
            logger.exception("Callback failed on %(url)s", {"url": request.url})
            self._ship_error(run_id, request.url, "spider", repr(exc), None)
        self.finish(request)

    async def _handle_output(
        self, ctx: RunContext, request: scrapy.Request, output: Iterable[Any]
    ) -> None:
        from scrapy.exceptions import DropItem

        items = []
        for out in output:  # requests first: in the frontier before this one is handled
            if isinstance(out, scrapy.Request):
                self._crawl(out, ctx.run_id)
            else:
                items.append(out)
        for item in items:
            if isinstance(item, DocumentItem):
                try:
                    item = await self.extract.process_item(item)
                except DropItem as exc:
                    kind = getattr(exc, "kind", "extract")
                    self._ship_error(ctx.run_id, item.url, kind, str(exc), None)
                    continue
                self._ship(ctx.run_id, "document", _document_payload(item))
            elif isinstance(item, ErrorItem):
                self._ship(ctx.run_id, "error", asdict(item))
        self._bump("pages")

    def _count_result(self, run_id: int, result: Any) -> None:
        """Requests that never left: counted as a local crawl's stats count them (the pages
        received are counted by crawler.cluster.known.ClusterResponseCounter)."""
        from crawler.politeness import OffsiteRequest

        if not isinstance(result, scrapy.http.Response) and result.check(OffsiteRequest):
            self.server.hincrby(KEYS.run(run_id), "offsite", 1)

    def _crawl(self, request: scrapy.Request, run_id: int) -> None:
        """Into the frontier, as a request of ``run_id`` with this spider's callbacks."""
        request.meta["gw_run"] = run_id
        for attr in ("callback", "errback"):
            fn = getattr(request, attr)
            if fn is not None:
                setattr(request, attr, getattr(self, fn.__name__))
        self.crawler.engine.crawl(request)

    def _ship(self, run_id: int, op: str, payload: dict[str, Any]) -> None:
        self.server.rpush(KEYS.inbox, serial.dumps({"op": op, "run": run_id, **payload}))
        self._bump("items")

    def _ship_error(
        self, run_id: int, url: str | None, kind: str, message: str, status: int | None
    ) -> None:
        source = self.runs[run_id].source.name if run_id in self.runs else ""
        self._ship(run_id, "error", {"url": url, "source": source, "kind": kind,
                                     "message": message, "status": status})  # fmt: skip

    def _bump(self, counter: str) -> None:
        self.server.hincrby(KEYS.worker(self.worker_id, "stats"), counter, 1)

    def finish(self, request: scrapy.Request) -> None:
        """``request`` is handled: its outputs are in the frontier and the inbox."""
        self._finish(int(request.meta["gw_run"]), request.meta.get("gw_token", ""))

    def _finish(self, run_id: int, token: str) -> None:
        taken = KEYS.worker(self.worker_id, "taken")
        try:
            phase = self.finish_run_request(keys=[KEYS.run(run_id), taken], args=[run_id, token])
            if phase == 1:
                self._recheck(run_id)
            elif phase >= 2:
                self.server.rpush(KEYS.inbox, serial.dumps({"op": "end", "run": run_id}))
                self.server.expire(KEYS.run(run_id), RUN_TTL)
        except RedisError as exc:
            logger.error("Run %(run)s: Redis error: %(error)s", {"run": run_id, "error": exc})

    def _recheck(self, run_id: int) -> None:
        """The listed documents are done: request the known documents due for a re-check that
        no list linked to in this run, then close this phase like any request."""
        self.server.hincrby(KEYS.run(run_id), "pending", 1)
        try:
            if self.run_active(run_id) and self.settings.getbool(
                "KNOWN_DOCUMENTS_RECHECK_UNLISTED"
            ):
                helper = self.context(run_id).helper
                due = [u.decode() for u in self.server.smembers(KEYS.run(run_id, "due"))]
                seen = set()
                if due:
                    flags = self.server.smismember(KEYS.run(run_id, "requested"), due)
                    seen = {u for u, f in zip(due, flags, strict=True) if f}
                missing = sorted(u for u in due if u not in seen)
                if missing:
                    logger.info(
                        "Run %(run)s: re-checking %(n)d documents no longer listed",
                        {"run": run_id, "n": len(missing)},
                    )
                for url in missing:
                    self._crawl(helper.document_request(url, unlisted=True), run_id)
        finally:
            self._finish(run_id, "")


def _document_payload(item: DocumentItem) -> dict[str, Any]:
    data = asdict(item)
    for heavy in ("html", "body", "attachments", "prepared"):  # (the writer derives these)
        data.pop(heavy, None)
    return data

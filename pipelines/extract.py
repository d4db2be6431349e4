"""The extraction step of a crawl: ExtractPipeline fills each document item from its page or
file (``pipelines.extractor``: decoded HTML -> clean text, title, publication date, metadata).

Extraction is CPU-heavy, so ExtractPipeline runs it in EXTRACT_WORKERS processes beside the
crawl (0: in the crawl's own process), started after the first EXTRACT_POOL_AFTER bodies and
sent the bodies that wait for them in batches (``_in_pool``). An extraction shorter than
EXTRACT_MIN_CHARS is "nothing usable": the item is dropped with ``DropItem`` and counted as
``extract/empty``, never stored as a version.

Settings: EXTRACT_WORKERS, EXTRACT_MIN_CHARS, EXTRACT_POOL_AFTER.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from crawler.items import DocumentItem
from crawler.middlewares import WHOLE_REQUESTS
from pipelines.extractor import (
    Extracted,
    ExtractorFailed,
    attachment_lines,
    call_batch,
    extract,
    extract_call,
    extract_file,
    file_call,
    own_text,
    warm_up,
    worker_ready,
)
from pipelines.text.files import FileError
from pipelines.text.metadata import date_from_list
from pipelines.text.normalize import normalize

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

__all__ = ["ExtractPipeline", "Extracted", "ExtractionError", "extract", "extract_file", "own_text"]

logger = logging.getLogger(__name__)

EXTRACT_BATCH = 16  # most bodies sent to an extraction process at once


class ExtractionError(DropItem):
    """An item that gives no version; ``kind`` is the run's error kind (extract, no_text ...)."""

    def __init__(self, message: str, kind: str = "extract") -> None:
        super().__init__(message)
        self.kind = kind


class ExtractPipeline:
    """Fills a DocumentItem's text, title, published and meta; drops empty extractions."""

    def __init__(self, crawler: Crawler, workers: int, min_chars: int, pool_after: int = 0) -> None:
        self.crawler = crawler
        self.workers = workers
        self.min_chars = min_chars
        self.pool_after = max(0, pool_after)
        self.in_process_left = self.pool_after  # extracted here before the pool starts
        self.pool: Executor | None = None  # processes; a cluster worker sets a thread
        self._ready: Any = None  # the started pool's first call: it has warmed up once done
        self._waiting: list[tuple[tuple, asyncio.Future]] = []  # calls for the next batch
        self._batches = 0  # batches sent and not yet returned

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        return cls(
            crawler,
            s.getint("EXTRACT_WORKERS"),
            s.getint("EXTRACT_MIN_CHARS"),
            s.getint("EXTRACT_POOL_AFTER"),
        )

    def open_spider(self, spider: Any = None) -> None:
        """Nothing to start yet: the first EXTRACT_POOL_AFTER bodies are extracted in this
        process and the pool starts with the next one, so a re-check answered by 304s and
        identical bodies, or one that finds a handful of new documents, never pays for
        starting a process (about half a second of CPU: Python, trafilatura, the dictionaries).
        The pool starts with the first body instead when EXTRACT_POOL_AFTER documents or more
        are already requested without validators (a first crawl: each will be extracted).
        While the pool's process starts, bodies are still extracted here: the crawl does not
        wait for it. (The collector is tuned for the crawl by crawler.collector.)"""

    def _start_pool(self) -> Executor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=warm_up,
            )
            self._ready = self.pool.submit(worker_ready)  # done once a worker has warmed up
        return self.pool

    def _pool_ready(self) -> bool:
        """Whether the pool takes this body: it runs, or it is started now (and the body is
        extracted here, as the next ones are until it has started)."""
        if self.pool is None:
            self._start_pool()
            return False
        return self._ready is None or self._ready.done()

    def _in_pool(self, *call: Any) -> asyncio.Future:
        """``(True, result)`` or ``(False, exception)`` of ``call`` in the pool, sent in a batch.

        At most one batch runs in each worker and one more waits for it; the calls that come
        meanwhile wait here and go together as the next batch (up to EXTRACT_BATCH). So a
        crawl that is ahead of its extraction sends few, larger messages (each costs the
        executor's threads and pipes about a millisecond of the crawl's CPU), and a slow one
        sends each body as it comes, as before."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((call, done))
        self._send()
        return done

    def _send(self) -> None:
        while self._waiting and self._batches < max(1, self.workers) + 1:
            batch, self._waiting = self._waiting[:EXTRACT_BATCH], self._waiting[EXTRACT_BATCH:]
            try:
                sent = self._start_pool().submit(call_batch, [call for call, _ in batch])
            except (BrokenProcessPool, RuntimeError) as exc:  # a pool that died or shut down
                self._settle(batch, exc)
                continue
            self._batches += 1
            self.crawler.stats.inc_value("extract/pool_batches")
            asyncio.wrap_future(sent).add_done_callback(lambda f, b=batch: self._returned(b, f))

    def _returned(self, batch: list, sent: asyncio.Future) -> None:
        self._batches -= 1
        if sent.cancelled():  # the pool was shut down
            self._settle(batch, RuntimeError("extraction cancelled"))
        else:
            self._settle(batch, sent.exception() or sent.result())
        self._send()

    @staticmethod
    def _settle(batch: list, outcome: list | BaseException) -> None:
        """Each call's ``(ok, value)``; ``(False, exception)`` for all when the batch failed
        whole (its worker died)."""
        results = outcome if isinstance(outcome, list) else [(False, outcome)] * len(batch)
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)

    def close_spider(self, spider: Any = None) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, DocumentItem) or item.status == 304:
            return item
        if item.body_hash and item.body_hash == item.known_body_hash:
            item.same_body, item.html, item.body = True, "", b""
            self.crawler.stats.inc_value("extract/skipped_same_body")
            return item
        source = self.crawler.spider.source_of(item)
        kwargs = {
            "ignore": source.ignore,
            "source_region": source.region,
            "source_category": source.category,
            "with_signature": True,
            "new": item.known_body_hash is None,  # what the store derives: see extract_call
        }
        if item.file_kind:
            kwargs["title_hint"] = item.list_title
        else:
            kwargs["content"] = source.content.spec if source.content is not None else None
            kwargs["min_chars"] = 0 if item.attachments else self.min_chars
        result = await self._run(item, kwargs)
        item.html, item.body = "", b""  # the page or file is not needed past this point
        if result is not None and item.attachments:
            own = own_text(result.text, item.attachments)
            if len(own) < self.min_chars:  # only links to its attachments: not an empty page
                lines = attachment_lines(item.attachments)
                text = "\n".join(x for x in (own, lines) if x)
                result.text, result.norm_text = text, normalize(text, source.ignore)
                result.meta["attachment_only"] = True
        if result is None or len(result.text) < self.min_chars:
            self.crawler.stats.inc_value("extract/empty")
            raise ExtractionError(f"empty extraction: {item.url}")
        item.text, item.norm_text = result.text, result.norm_text
        item.title = result.title or item.list_title
        item.published = result.published or date_from_list(item.list_date)
        item.meta = {**result.meta, "encoding": item.encoding} if item.encoding else result.meta
        if item.broken:  # the page had invalid byte sequences: dropped, and counted here
            item.meta["broken_bytes"] = item.broken
        item.facts, item.signature, item.shingles = result.facts, result.signature, result.shingles
        item.prepared = result.prepared  # (the store uses it only for these very texts)
        return item

    async def _run(self, item: DocumentItem, kwargs: dict[str, Any]) -> Extracted | None:
        call, what = (
            (file_call, (item.body, item.file_kind))
            if item.file_kind
            else (extract_call, item.html)
        )
        try:
            if self.pool is None and self.workers > 0 and self.in_process_left > 0:
                whole = self.crawler.stats.get_value(WHOLE_REQUESTS) or 0
                if whole >= self.pool_after:
                    self._start_pool()  # many bodies to come: no need to wait for them
            if self.pool is None and (self.workers <= 0 or self.in_process_left > 0):
                self.in_process_left -= 1
                self.crawler.stats.inc_value("extract/in_process")
                return call(what, item.url, kwargs)
            if not self._pool_ready():
                self.crawler.stats.inc_value("extract/in_process")
                return call(what, item.url, kwargs)
            self.crawler.stats.inc_value("extract/in_pool")
            ok, value = await self._in_pool(call, what, item.url, kwargs)
            if not ok:
                raise value
            return value
        except FileError as exc:
            self.crawler.stats.inc_value(f"extract/{exc.kind}")
            raise ExtractionError(f"{item.file_kind} file: {exc}", exc.kind) from None
        except BrokenProcessPool:
            logger.error(
                "Extraction worker died on %(url)s; restarting the pool", {"url": item.url}
            )
            self.close_spider()
            raise ExtractionError(f"extraction worker died: {item.url}") from None
        except Exception as exc:  # a page that breaks the extractor is an error, not a crash
            what = {"url": item.url}
            if isinstance(exc, ExtractorFailed):  # in a worker: its traceback is the one to read
                logger.error("Extraction failed on %(url)s\n%(tb)s", {**what, "tb": exc.details})
            else:
                logger.exception("Extraction failed on %(url)s", what)
            self.crawler.stats.inc_value("extract/failed")
            said = str(exc) if isinstance(exc, ExtractorFailed) else repr(exc)
            raise ExtractionError(f"extraction failed: {item.url}: {said}") from None

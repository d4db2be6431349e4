"""Version pipeline: records each checked document in the version store, and the run.

A run row is opened when the spider opens (or the one named by VERSIONS_RUN_ID is filled),
updated every VERSIONS_PROGRESS_INTERVAL seconds so that ``govwatch crawl`` can show progress,
and closed with its outcome and counts when the spider closes.

What reaches the store: a good fetch (``record``: new, changed, unchanged, held suspect,
restored); a 304 or identical bytes (``seen_unchanged``); a 404/410 (``mark_missing``: removed
on the second consecutive miss). Errors (ErrorItem, dropped items) and suspects go to the
run's error log: they are never changes.

Settings: VERSIONS_DB_PATH, VERSIONS_BUSY_TIMEOUT, VERSIONS_RUN_ID, VERSIONS_RUN_TRIGGER,
VERSIONS_PROGRESS_INTERVAL, VERSIONS_SHRINK_GUARD, VERSIONS_MISSES_TO_REMOVE,
VERSIONS_KEEP_ERRORS_DAYS, VERSIONS_BATCH, VERSIONS_BATCH_WAIT.

While the crawl runs, the writes go through a thread of their own, in transactions of up to
VERSIONS_BATCH documents, gathered for up to VERSIONS_BATCH_WAIT seconds (pipelines.storewriter);
a document is counted once its transaction has committed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task

from crawler.items import DocumentItem, ErrorItem
from pipelines.storewriter import StoreWriter
from pipelines.text.normalize import normalizer
from storage import Change, StoreError, VersionStore

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

CLOSE_BUSY_TIMEOUT = 30.0  # seconds the run's closing write waits for another's lock
OUTCOMES = {"finished": "ok", "shutdown": "interrupted", "closespider_timeout": "timed_out"}
COUNTED = {
    "new": "new",
    "changed": "changed",
    "unchanged": "unchanged",
    "removed": "removed",
    "restored": "restored",
    "suspect": "suspects",
}


class VersionPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.settings = crawler.settings
        self.store: VersionStore | None = None
        self.run_id: int | None = None
        self.counts = dict.fromkeys([*COUNTED.values(), "errors"], 0)
        self.locked_out = False
        self.store_failures = 0  # writes the database refused: the run cannot be ok
        self.writer: StoreWriter | None = None
        self._progress: task.LoopingCall | None = None
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def source(self) -> Any:
        return self.crawler.spider.source

    def open_spider(self, spider: Any = None) -> None:
        try:
            self._open()
        except StoreError as exc:  # locked past the busy timeout, read-only, full, newer
            logger.error("Crawl not started: %(error)s", {"error": exc})
            self.crawler.spider.refused = str(exc)
            if self.store is not None:
                self.store.close()
            self.store = None

    def _open(self) -> None:
        s = self.settings
        self.store = VersionStore(
            s.get("VERSIONS_DB_PATH"),
            timeout=s.getfloat("VERSIONS_BUSY_TIMEOUT"),
            sentence_key=normalizer(self.source.ignore),
            shrink_guard=s.getfloat("VERSIONS_SHRINK_GUARD"),
            misses_to_remove=s.getint("VERSIONS_MISSES_TO_REMOVE"),
            revisit=self.source.revisit,
        )
        self.store.reap_stale_runs()
        keep = s.getint("VERSIONS_KEEP_ERRORS_DAYS")
        if keep > 0:
            cutoff = datetime.now(UTC) - timedelta(days=keep)
            self.store.prune_errors(cutoff.isoformat(timespec="seconds"))
        self.store.sync_sources([self.source.as_row()])
        run_id = s.get("VERSIONS_RUN_ID")
        self.run_id = (
            int(run_id)
            if run_id
            else self.store.start_run(
                self.source.name, s.get("VERSIONS_RUN_TRIGGER"), log_path=s.get("LOG_FILE")
            )
        )
        self.crawler.stats.set_value("govwatch/run_id", self.run_id)  # for the notify extension
        holder = self.store.acquire_source_lock(self.source.name, self.run_id)
        if holder is not None:
            message = (
                f"another crawl of {self.source.name} is running: run {holder['run_id']} "
                f"(pid {holder['pid']} on {holder['host']}, since {holder['acquired_at']})"
            )
            self.locked_out = True
            self.crawler.spider.refused = message  # the spider starts nothing
            self._error(None, "locked", message)
            logger.error("%(message)s; this crawl stops", {"message": message})
            return
        logger.info(
            "Run %(run)s of %(source)s into %(db)s",
            {"run": self.run_id, "source": self.source.name, "db": self.store.path},
        )
        self.writer = StoreWriter(
            self.store, s.getint("VERSIONS_BATCH"), gather=s.getfloat("VERSIONS_BATCH_WAIT")
        )
        self.writer.start()
        interval = s.getfloat("VERSIONS_PROGRESS_INTERVAL")
        if interval > 0:
            self._progress = task.LoopingCall(self._report_progress)
            self._progress.start(interval, now=False)

    def close_spider(self, spider: Any = None) -> None:
        if self._progress is not None and self._progress.running:
            self._progress.stop()
        if self.writer is not None:  # what is queued is written; from here on, directly
            self.writer.stop()
            self.store_failures += self.writer.failed
            self.crawler.stats.set_value("govwatch/store_transactions", self.writer.batches)
            self.writer = None
        if self.store is None:
            return
        reason = self.crawler.stats.get_value("finish_reason") or "finished"
        outcome = OUTCOMES.get(reason, "failed")
        if self.locked_out:
            outcome, reason = "failed", "locked"
        elif self.store_failures and outcome == "ok":
            outcome, reason = "failed", "store"
        problems = [] if self.locked_out else self._run_problems()
        if problems and outcome == "ok":
            outcome = "failed"
            reason = problems[0][0]
        # the run's end is worth waiting for: a run left "running" is only closed (as
        # interrupted, its counts lost) by the next one
        self.store.wait_for_lock(
            max(CLOSE_BUSY_TIMEOUT, self.settings.getfloat("VERSIONS_BUSY_TIMEOUT"))
        )
        try:
            if self.store_failures:
                self.store.record_error(
                    url=None, kind="store", run_id=self.run_id, source=self.source.name,
                    message=f"{self.store_failures} document(s) could not be written",
                )  # fmt: skip
            self.store.finish_run(self.run_id, outcome, finish_reason=reason, **self._run_counts())
            if not self.locked_out:
                self.store.release_source_lock(self.source.name, self.run_id)
        except StoreError as exc:  # the next run marks this one interrupted and carries on
            logger.error("Run %(run)s not closed: %(error)s", {"run": self.run_id, "error": exc})
        logger.info(
            "Run %(run)s done: %(counts)s", {"run": self.run_id, "counts": self._run_counts()}
        )
        self.store.close()

    def _run_problems(self) -> list[tuple[str, str, str]]:
        """The spider's verdict on the run as a whole; ``no_links`` is recorded here (blocked and
        failed list pages were recorded page by page as they happened)."""
        problems = getattr(self.crawler.spider, "run_problems", list)()
        for kind, url, message in problems:
            if kind == "no_links":
                self._error(url, kind, message)
            logger.error("Run %(run)s failed: %(msg)s", {"run": self.run_id, "msg": message})
        return problems

    def _run_counts(self) -> dict[str, int]:
        stats = self.crawler.stats
        return {
            **self.counts,
            "pages": stats.get_value("response_received_count", 0),
            "not_modified": stats.get_value("govwatch/not_modified", 0),
            "offsite": stats.get_value("govwatch/offsite", 0),
        }

    def _report_progress(self) -> None:
        def failed(_: Any) -> None:  # best effort; the final counts are written at close
            logger.warning("Could not update progress of run %(run)s", {"run": self.run_id})

        if self.writer is not None:
            self.writer.submit_best_effort(
                self.store.update_run, self.run_id, **self._run_counts()
            ).addErrback(failed)

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if self.writer is None or not isinstance(item, (ErrorItem, DocumentItem)):
            return item
        if isinstance(item, ErrorItem):
            d = self.writer.submit(record_gone, self.store, item, self.run_id)
            d.addCallback(self._gone_recorded, item)
        else:
            d = self.writer.submit(record_item, self.store, item, self.run_id)
            d.addCallback(lambda change: self._count(change, item.url))
        d.addErrback(self._not_recorded, item)
        d.addCallback(lambda _: item)
        return await maybe_deferred_to_future(d)

    def _gone_recorded(self, change: Change | None, item: ErrorItem) -> None:
        if change is not None and change.kind == "removed":
            self._count(change, item.url)
            return
        self._error(item.url, "http" if item.kind == "gone" else item.kind, item.message)

    def _not_recorded(self, failure: Any, item: Any) -> Any:
        if not failure.check(StoreError):  # a bug: Scrapy logs it with its traceback
            return failure
        self.counts["errors"] += 1  # locked past the busy timeout, disk full, read-only
        logger.error("Not recorded: %(url)s: %(error)s", {"url": item.url, "error": failure.value})
        return None

    def _count(self, change: Change, url: str) -> None:
        if change.kind in COUNTED:
            self.counts[COUNTED[change.kind]] += 1
            self.crawler.stats.inc_value(f"govwatch/{change.kind}")
        if change.kind == "suspect":
            self._error(url, "suspect", change.summary, count=False)
        else:
            log_change(change, url)

    def item_dropped(
        self, item: Any, response: Any, exception: Exception, spider: Any = None
    ) -> None:
        url = getattr(item, "url", None) or getattr(response, "url", None)
        self._error(url, getattr(exception, "kind", "extract"), str(exception))

    def spider_error(self, failure: Any, response: Any, spider: Any = None) -> None:
        """A bug or an unexpected page broke a callback: an error of the run, never silent."""
        self._error(getattr(response, "url", None), "spider", failure.getErrorMessage())

    def _error(self, url: str | None, kind: str, message: str, count: bool = True) -> None:
        if count:
            self.counts["errors"] += 1
            self.crawler.stats.inc_value("govwatch/errors")
        row = {"url": url, "kind": kind, "message": message, "run_id": self.run_id,
               "source": self.source.name}  # fmt: skip

        def failed(failure: Any) -> None:
            logger.error("Error not recorded (%(error)s): %(message)s",
                         {"error": failure.value, "message": message})  # fmt: skip

        if self.writer is not None:  # (a refused write is counted by the writer)
            self.writer.submit(self.store.record_error, **row).addErrback(failed)
        elif self.store is not None:
            try:
                self.store.record_error(**row)
            except StoreError as exc:
                self.store_failures += 1
                logger.error("Error not recorded (%(error)s): %(message)s",
                             {"error": exc, "message": message})  # fmt: skip


def record_item(store: VersionStore, item: DocumentItem, run_id: int | None) -> Change:
    """Record one fetched document: a 304 or identical bytes is a check, anything else a
    version to compare (new, changed, unchanged, suspect, restored)."""
    http = {"etag": item.etag, "last_modified": item.last_modified}
    if item.status == 304 or item.same_body:
        return store.seen_unchanged(item.url, checked_at=item.fetched_at, run_id=run_id, **http)
    return store.record(
        item.url, source=item.source, text=item.text, norm_text=item.norm_text,
        title=item.title, published=item.published, fetched_at=item.fetched_at,
        run_id=run_id, meta=item.meta, body_hash=item.body_hash, facts=item.facts,
        signature=item.signature, shingles=item.shingles, parent=item.parent,
        content_type=item.content_type, prepared=item.prepared, **http,
    )  # fmt: skip


def record_gone(store: VersionStore, item: ErrorItem, run_id: int | None) -> Change | None:
    """A 404/410 is a miss (``removed`` on the second in a row); its message says so. Other
    errors: None (they are recorded as errors of the run)."""
    if item.kind != "gone":
        return None
    change = store.mark_missing(item.url, status=item.status, run_id=run_id)
    if change.kind == "missing":
        item.message = change.summary or item.message
    return change


def log_change(change: Change, url: str) -> None:
    if change.kind not in ("unchanged", "unknown", "suspect"):
        logger.info(
            "%(kind)s: %(url)s %(summary)s",
            {"kind": change.kind, "url": url, "summary": change.summary},
        )

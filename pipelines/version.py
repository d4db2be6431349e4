"""Version pipeline: records each extracted document in the version store, and the run.

A run row is opened when the spider opens (or the one named by VERSIONS_RUN_ID is filled),
updated every VERSIONS_PROGRESS_INTERVAL seconds so that ``govwatch crawl`` can show progress,
and closed with its outcome and counts when the spider closes. Errors (ErrorItem, dropped
items) go to the run's error log; they are never changes.

Settings: VERSIONS_DB_PATH, VERSIONS_RUN_ID, VERSIONS_RUN_TRIGGER, VERSIONS_PROGRESS_INTERVAL.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from twisted.internet import task

from crawler.items import DocumentItem, ErrorItem
from pipelines.normalize import normalizer
from storage import VersionStore

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

OUTCOMES = {"finished": "ok", "shutdown": "interrupted", "closespider_timeout": "timed_out"}


class VersionPipeline:
    def __init__(self, crawler: Crawler, path: str) -> None:
        self.crawler = crawler
        self.path = path
        self.store: VersionStore | None = None
        self.run_id: int | None = None
        self.counts = {"new": 0, "changed": 0, "unchanged": 0, "errors": 0}
        self._progress: task.LoopingCall | None = None
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawler.settings.get("VERSIONS_DB_PATH"))

    @property
    def source(self) -> Any:
        return self.crawler.spider.source

    def open_spider(self, spider: Any = None) -> None:
        settings = self.crawler.settings
        self.store = VersionStore(self.path, sentence_key=normalizer(self.source.ignore))
        self.store.reap_stale_runs()
        self.store.sync_sources([self.source.as_row()])
        run_id = settings.get("VERSIONS_RUN_ID")
        if run_id:
            self.run_id = int(run_id)
        else:
            self.run_id = self.store.start_run(
                self.source.name,
                settings.get("VERSIONS_RUN_TRIGGER"),
                log_path=settings.get("LOG_FILE"),
            )
        logger.info(
            "Run %(run)s of %(source)s into %(db)s",
            {"run": self.run_id, "source": self.source.name, "db": self.path},
        )
        interval = settings.getfloat("VERSIONS_PROGRESS_INTERVAL")
        if interval > 0:
            self._progress = task.LoopingCall(self._report_progress)
            self._progress.start(interval, now=False)

    def close_spider(self, spider: Any = None) -> None:
        if self._progress is not None and self._progress.running:
            self._progress.stop()
        reason = self.crawler.stats.get_value("finish_reason") or "finished"
        if self.store is None:
            return
        self.store.finish_run(
            self.run_id, OUTCOMES.get(reason, "failed"), finish_reason=reason, **self._run_counts()
        )
        self.store.close()

    def _run_counts(self) -> dict[str, int]:
        stats = self.crawler.stats
        return {
            **self.counts,
            "pages": stats.get_value("response_received_count", 0),
            "not_modified": stats.get_value("govwatch/not_modified", 0),
        }

    def _report_progress(self) -> None:
        try:
            self.store.update_run(self.run_id, **self._run_counts())
        except Exception:  # progress is best effort; the final counts are written at close
            logger.warning("Could not update progress of run %(run)s", {"run": self.run_id})

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, ErrorItem):
            self._error(item.url, item.kind, item.message)
            return item
        if not isinstance(item, DocumentItem):
            return item
        change = self.store.record(
            item.url,
            source=item.source,
            text=item.text,
            norm_text=item.norm_text,
            title=item.title,
            published=item.published,
            fetched_at=item.fetched_at,
            run_id=self.run_id,
            meta=item.meta,
            etag=item.etag,
            last_modified=item.last_modified,
            body_hash=item.body_hash,
        )
        self.counts[change.kind] += 1
        self.crawler.stats.inc_value(f"govwatch/{change.kind}")
        if change.kind != "unchanged":
            logger.info(
                "%(kind)s: %(url)s %(summary)s",
                {"kind": change.kind, "url": item.url, "summary": change.summary},
            )
        return item

    def item_dropped(
        self, item: Any, response: Any, exception: Exception, spider: Any = None
    ) -> None:
        url = getattr(item, "url", None) or getattr(response, "url", None)
        self._error(url, "extract", str(exception))

    def _error(self, url: str | None, kind: str, message: str) -> None:
        self.counts["errors"] += 1
        self.crawler.stats.inc_value("govwatch/errors")
        if self.store is not None:
            self.store.record_error(
                url=url, kind=kind, message=message, run_id=self.run_id, source=self.source.name
            )

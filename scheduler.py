"""govwatch's scheduler: one APScheduler job per source, each run a child `scrapy crawl`.

    python scheduler.py [--db PATH] [--sources FILE]      (the same as `govwatch schedule`)

- Interval (``every``) or cron schedules, time zone Asia/Shanghai unless the source sets one,
  random jitter so that sources do not start together.
- At most one crawl of a source at a time (max_instances=1), at most ``--max-concurrent`` crawls
  at once (the executor's threads), missed runs coalesced into one.
- The next run of each source is derived from the run log (govwatch.schedules): a run missed
  while the scheduler was down runs once at start-up.
- sources.yaml is reloaded on SIGHUP and when its modification time changes; a bad edit keeps
  the last good configuration and logs one clear error.
- SIGTERM/SIGINT: no new crawls; running crawls are asked to finish, killed after ``--grace``
  seconds, and recorded as interrupted.
- One log line per run start and end, with its counts; the log file rotates.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import logging.handlers
import os
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from crawler.cluster import ClusterError
from crawler.sources import Source, SourceError, parse_sources_text
from govwatch.runner import run_crawls
from govwatch.schedules import backoff_seconds, make_trigger, next_run, parse_time, spread
from storage import StoreError, VersionStore

logger = logging.getLogger("govwatch.scheduler")

DEFAULT_TIMEOUT = 2 * 3600.0
MISFIRE_GRACE = 3600


class Scheduler:
    def __init__(
        self,
        db_path: str | Path,
        sources_path: str | Path,
        *,
        max_concurrent: int = 2,
        timeout: float = DEFAULT_TIMEOUT,
        grace: float = 30.0,
        watch: float = 5.0,
        settings: dict[str, Any] | None = None,
        redis_url: str | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.redis_url = redis_url  # set: runs are seeded into the cluster, not crawled here
        self.sources_path = Path(sources_path)
        self.timeout = timeout
        self.grace = grace
        self.watch = watch
        self.settings = settings or {}
        self.sources: dict[str, Source] = {}
        self.snapshot = self.sources_path
        self.stopping = threading.Event()
        self._mtime = 0.0
        self._lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max_concurrent)},
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": MISFIRE_GRACE,
            },
            timezone="Asia/Shanghai",
        )

    # -- configuration -----------------------------------------------------------------------

    def load(self) -> None:
        """First load: a bad file is fatal here (SourceError), later ones are not."""
        self._mtime = self.sources_path.stat().st_mtime if self.sources_path.exists() else 0.0
        sources = self._read_validated()
        with VersionStore(self.db_path) as store:
            if not self.redis_url:  # in a cluster the writer owns the runs and the sources
                store.reap_stale_runs()
                store.sync_sources(s.as_row() for s in sources.values())
        self._apply(sources)

    def reload(self) -> bool:
        """Re-read sources.yaml; on error keep the running configuration."""
        try:
            self._mtime = self.sources_path.stat().st_mtime
            sources = self._read_validated()
        except (OSError, UnicodeDecodeError, SourceError) as exc:
            logger.error(
                "Reload refused, keeping the last good configuration: %(error)s", {"error": exc}
            )
            return False
        self._apply(sources)
        logger.info(
            "Reloaded %(path)s: %(n)d sources", {"path": self.sources_path, "n": len(sources)}
        )
        return True

    def _read_validated(self) -> dict[str, Source]:
        """Validate the file and keep a snapshot of exactly what was validated: child crawls
        read the snapshot, so a later bad edit on disk never reaches them."""
        if not self.sources_path.exists():
            raise SourceError(f"{self.sources_path}: sources file not found")
        text = self.sources_path.read_text(encoding="utf-8")
        sources = parse_sources_text(text, str(self.sources_path))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        snapshot = self.db_path.parent / "config" / f"sources-{digest}.yaml"
        if not snapshot.exists():
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            partial = snapshot.with_suffix(".tmp")
            partial.write_text(text, encoding="utf-8")
            partial.replace(snapshot)
        self.snapshot = snapshot
        return sources

    def _apply(self, sources: dict[str, Source]) -> None:
        with self._lock:
            wanted = {n: s for n, s in sources.items() if s.enabled}
            for name in set(self.sources) - set(wanted):
                if self.scheduler.get_job(name):
                    self.scheduler.remove_job(name)
                    logger.info("Job removed: %(source)s", {"source": name})
            last = self._last_starts()
            for name, source in wanted.items():
                if self.sources.get(name) == source and self.scheduler.get_job(name):
                    continue
                when = next_run(source, last.get(name), blocked_runs=self._blocked_runs(name))
                if when <= datetime.now(UTC):
                    when = spread(when, source)
                self.scheduler.add_job(
                    self._job,
                    make_trigger(source, start=when),
                    args=[name],
                    id=name,
                    name=name,
                    next_run_time=when,
                    replace_existing=True,
                )
                logger.info(
                    "Job %(source)s: %(schedule)s, next run %(when)s",
                    {
                        "source": name,
                        "schedule": source.schedule or "daily",
                        "when": when.isoformat(timespec="seconds"),
                    },
                )
            self.sources = dict(sources)

    def _blocked_runs(self, name: str) -> int:
        with VersionStore(self.db_path) as store:
            return store.health(name)["blocked_runs"]

    def _back_off(self, name: str, source: Source) -> None:
        """A blocked source waits: its interval doubled per blocked run in a row, up to a day,
        until a run gets through (then its own schedule applies again)."""
        blocked = self._blocked_runs(name)
        delay = backoff_seconds(source, blocked)
        if delay is None or self.stopping.is_set():
            return
        when = datetime.now(UTC) + timedelta(seconds=delay)
        try:
            self.scheduler.modify_job(name, next_run_time=when)
        except JobLookupError:
            return
        logger.warning(
            "Backing off %(source)s: blocked %(n)d run(s) in a row, next run %(when)s",
            {"source": name, "n": blocked, "when": when.isoformat(timespec="seconds")},
        )

    def _last_starts(self) -> dict[str, datetime]:
        with VersionStore(self.db_path) as store:
            rows = store.db.query("select source, max(started_at) as at from runs group by source")
            return {r["source"]: parse_time(r["at"]) for r in rows}

    def _changed_on_disk(self) -> bool:
        try:
            return self.sources_path.stat().st_mtime != self._mtime
        except OSError:
            return False

    # -- running -----------------------------------------------------------------------------

    def _job(self, name: str) -> None:
        if self.stopping.is_set():
            return
        source = self.sources.get(name)
        if source is None:
            return
        logger.info("Run start: %(source)s", {"source": name})
        crawls = run_crawls
        if self.redis_url:
            from functools import partial

            from govwatch.cluster import cluster_crawls

            crawls = partial(cluster_crawls, redis_url=self.redis_url)
        try:
            (run,) = crawls(
                [name],
                db_path=self.db_path,
                sources_path=self.snapshot,  # what was validated, not what is on disk now
                trigger="scheduled",
                jobs=1,
                settings=self.settings,
                timeout=source.timeout or self.timeout,
                stop=self.stopping,
                grace=self.grace,
            )
        except Exception:  # one failing source never stops the others
            logger.exception("Run of %(source)s failed to start", {"source": name})
            return
        if run["outcome"] == "failed" and run.get("finish_reason") == "blocked":
            self._back_off(name, source)
        logger.info(
            "Run end: %(source)s run %(id)s %(outcome)s: %(pages)s pages, %(not_modified)s not "
            "modified, %(new)s new, %(changed)s changed, %(removed)s removed, %(errors)s errors; "
            "log %(log_path)s",
            run,
        )

    def start(self) -> None:
        self.load()
        self.scheduler.start()

    def run_forever(self) -> None:
        """Start, then serve signals until SIGTERM/SIGINT."""
        # handlers first: a signal that comes while jobs start must not kill the process
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=self.reload).start())
        self.start()
        logger.info(
            "Scheduler started: %(n)d jobs, database %(db)s",
            {"n": len(self.scheduler.get_jobs()), "db": self.db_path},
        )
        while not self.stopping.wait(self.watch):
            if self._changed_on_disk():
                self.reload()
        self.stop()

    def stop(self) -> None:
        logger.info("Stopping: running crawls get %(grace)s s to finish", {"grace": self.grace})
        self.stopping.set()
        self.scheduler.shutdown(wait=True)
        logger.info("Scheduler stopped")


def setup_logging(log_file: Path | None, level: str = "INFO") -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=5 * 2**20, backupCount=5, encoding="utf-8"
            )
        )
    logging.basicConfig(
        level=level,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # "skipped: maximum number of running instances" is the no-overlap rule working, not news
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run every source on its schedule.")
    parser.add_argument("--db", default=os.environ.get("GOVWATCH_DB", "data/govwatch.db"))
    parser.add_argument("--sources", default=os.environ.get("GOVWATCH_SOURCES", "sources.yaml"))
    parser.add_argument("--max-concurrent", type=int, default=2, help="crawls at once")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds a crawl may run unless its source sets timeout",
    )
    parser.add_argument(
        "--grace", type=float, default=30.0, help="seconds running crawls get to finish on SIGTERM"
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        default=None,
        help="rotating log file (default: logs/scheduler.log beside the db)",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("GOVWATCH_REDIS"),
        metavar="URL",
        help="seed due runs into the cluster at this Redis instead of crawling here",
    )
    parser.add_argument(
        "-s",
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Scrapy setting for every crawl",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log_file = args.log_file or Path(args.db).resolve().parent / "logs" / "scheduler.log"
    try:
        setup_logging(log_file)
    except OSError as exc:
        sys.stderr.write(f"govwatch: cannot write the log {log_file}: {exc.strerror or exc}\n")
        return 2
    settings = dict(o.split("=", 1) for o in args.overrides if "=" in o)
    scheduler = Scheduler(
        args.db,
        args.sources,
        max_concurrent=args.max_concurrent,
        timeout=args.timeout,
        grace=args.grace,
        settings=settings,
        redis_url=args.redis,
    )
    try:
        if args.redis:
            from crawler.cluster import connect

            connect(args.redis)  # unreachable: one line now, not an error every run
        scheduler.run_forever()
    except (SourceError, StoreError, OSError, ClusterError) as exc:
        sys.stderr.write(f"govwatch: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

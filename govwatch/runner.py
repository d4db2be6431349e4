"""Runs crawls as child ``scrapy crawl`` processes (Twisted's reactor cannot restart in one
process), at most ``jobs`` at a time, each recorded as a run row that the child fills in.

A crawl over its time limit is recorded as ``timed_out`` and stopped; when ``stop`` is set
(SIGTERM to the scheduler, Ctrl-C), running crawls are asked to finish (SIGTERM: Scrapy closes
the spider and the version pipeline closes its run), killed after ``grace`` seconds, and
recorded as ``interrupted``. Each document is written in its own transaction, so a killed
crawl leaves nothing half-written. Crawl logs beyond the newest ``keep_logs`` of a source are
deleted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage import VersionStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CrawlJob:
    source: str
    run_id: int
    log_path: Path
    process: subprocess.Popen[bytes]
    timeout: float | None
    started: float = field(default_factory=time.monotonic)

    @property
    def expired(self) -> bool:
        return self.timeout is not None and time.monotonic() - self.started > self.timeout


def child_env(db_path: Path, sources_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOVWATCH_DB=str(db_path),
        GOVWATCH_SOURCES=str(sources_path),
        SCRAPY_SETTINGS_MODULE="crawler.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
    )
    return env


def crawl_command(source: str, settings: dict[str, Any]) -> list[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", source]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


class Runner:
    """Launches and watches crawl processes writing into one database."""

    def __init__(
        self,
        db_path: str | Path,
        sources_path: str | Path,
        *,
        settings: dict[str, Any] | None = None,
        grace: float = 10.0,
        keep_logs: int = 20,
    ) -> None:
        self.db_path = Path(db_path).resolve()
        self.env = child_env(self.db_path, Path(sources_path).resolve())
        self.log_dir = self.db_path.parent / "logs"
        self.settings = settings or {}
        self.grace = grace
        self.keep_logs = keep_logs

    def launch(
        self, store: VersionStore, source: str, trigger: str, timeout: float | None
    ) -> CrawlJob:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        run_id = store.start_run(source, trigger)
        log_path = self.log_dir / f"{source}-{run_id}.log"
        store.update_run(run_id, log_path=str(log_path))
        cmd = crawl_command(
            source,
            {
                "VERSIONS_RUN_ID": run_id,
                "LOG_FILE": log_path,
                "VERSIONS_RUN_TRIGGER": trigger,
                **self.settings,
            },
        )
        with log_path.open("ab") as log:  # early errors (before logging starts) land there too
            process = subprocess.Popen(
                cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )
        store.update_run(run_id, pid=process.pid)
        self._prune_logs(source)
        return CrawlJob(source, run_id, log_path, process, timeout)

    def end(self, store: VersionStore, job: CrawlJob, outcome: str) -> None:
        """Stop ``job`` with ``outcome`` (timed_out, interrupted), recorded before the child
        closes its run so that the child's own close keeps it."""
        store.finish_run(job.run_id, outcome)
        stop_process(job.process, self.grace)

    def reap(self, store: VersionStore, job: CrawlJob) -> None:
        """Record how a finished child ended, if the child could not say it itself."""
        if job.process.returncode != 0:
            message = _last_line(job.log_path) or f"exit code {job.process.returncode}"
            store.record_error(
                url=None, kind="crawl", message=message, run_id=job.run_id, source=job.source
            )
            store.finish_run(job.run_id, "failed", errors=store.run(job.run_id)["errors"] + 1)
        elif store.run(job.run_id)["outcome"] == "running":
            store.finish_run(job.run_id, "failed")

    def _prune_logs(self, source: str) -> None:
        logs = sorted(self.log_dir.glob(f"{source}-*.log"), key=lambda p: p.stat().st_mtime)
        for old in logs[: max(0, len(logs) - self.keep_logs)]:
            old.unlink(missing_ok=True)


def run_crawls(
    names: Sequence[str],
    *,
    db_path: str | Path,
    sources_path: str | Path,
    trigger: str = "manual",
    jobs: int = 2,
    settings: dict[str, Any] | None = None,
    timeout: float | None = None,
    timeouts: dict[str, float | None] | None = None,
    on_progress: Callable[[list[dict[str, Any]]], None] | None = None,
    stop: threading.Event | None = None,
    grace: float = 10.0,
    poll: float = 0.1,
) -> list[dict[str, Any]]:
    """Crawl ``names``; returns their run rows once all have ended."""
    runner = Runner(db_path, sources_path, settings=settings, grace=grace)
    stop = stop or threading.Event()
    store = VersionStore(runner.db_path)
    pending, active, done = list(names), [], []
    try:
        while (pending or active) and not stop.is_set():
            while pending and len(active) < max(1, jobs):
                name = pending.pop(0)
                limit = (timeouts or {}).get(name) or timeout
                active.append(runner.launch(store, name, trigger, limit))
            stop.wait(poll)
            for job in list(active):
                if job.process.poll() is None and not job.expired:
                    continue
                if job.process.poll() is None:
                    runner.end(store, job, "timed_out")
                else:
                    runner.reap(store, job)
                active.remove(job)
                done.append(job)
            if on_progress:
                on_progress([store.run(j.run_id) for j in [*done, *active]])
    finally:
        for job in active:  # stopped, or interrupted (Ctrl-C): end children, record their runs
            runner.end(store, job, "interrupted")
        rows = [store.run(j.run_id) for j in [*done, *active]]
        store.close()
    return rows


def stop_process(process: subprocess.Popen[bytes], grace: float) -> None:
    """Ask a crawl to finish (SIGTERM), then kill it after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""

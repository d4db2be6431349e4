"""Runs crawls as child ``scrapy crawl`` processes (Twisted's reactor cannot restart in one
process), at most ``jobs`` at a time, each recorded as a run row that the child fills in.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
    process: subprocess.Popen[bytes] | None = None
    started: float = field(default_factory=time.monotonic)


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


def run_crawls(
    names: Sequence[str],
    *,
    db_path: str | Path,
    sources_path: str | Path,
    trigger: str = "manual",
    jobs: int = 2,
    settings: dict[str, Any] | None = None,
    timeout: float | None = None,
    on_progress: Callable[[list[dict[str, Any]]], None] | None = None,
    poll: float = 0.5,
) -> list[dict[str, Any]]:
    """Crawl ``names``; returns their run rows once all have finished."""
    db_path, sources_path = Path(db_path).resolve(), Path(sources_path).resolve()
    log_dir = db_path.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = child_env(db_path, sources_path)
    store = VersionStore(db_path)
    pending = list(names)
    active: list[CrawlJob] = []
    done: list[CrawlJob] = []
    try:
        while pending or active:
            while pending and len(active) < max(1, jobs):
                active.append(_launch(store, pending.pop(0), trigger, log_dir, env, settings))
            time.sleep(poll)
            for job in list(active):
                if job.process.poll() is None and not _expired(job, timeout):
                    continue
                _reap(store, job, timeout)
                active.remove(job)
                done.append(job)
            if on_progress:
                on_progress([store.run(j.run_id) for j in [*done, *active]])
    finally:
        for job in active:  # interrupted (Ctrl-C): stop children, record their runs
            _stop(job.process)
            store.finish_run(job.run_id, "interrupted")
        rows = [store.run(j.run_id) for j in [*done, *active]]
        store.close()
    return rows


def _launch(
    store: VersionStore,
    source: str,
    trigger: str,
    log_dir: Path,
    env: dict[str, str],
    settings: dict[str, Any] | None,
) -> CrawlJob:
    run_id = store.start_run(source, trigger)
    log_path = log_dir / f"{source}-{run_id}.log"
    store.update_run(run_id, log_path=str(log_path))
    cmd = crawl_command(
        source,
        {
            "VERSIONS_RUN_ID": run_id,
            "LOG_FILE": log_path,
            "VERSIONS_RUN_TRIGGER": trigger,
            **(settings or {}),
        },
    )
    with log_path.open("ab") as log:  # early errors (before logging starts) land there too
        process = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
        )
    store.update_run(run_id, pid=process.pid)
    return CrawlJob(source, run_id, log_path, process)


def _expired(job: CrawlJob, timeout: float | None) -> bool:
    return timeout is not None and time.monotonic() - job.started > timeout


def _stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _reap(store: VersionStore, job: CrawlJob, timeout: float | None) -> None:
    if job.process.poll() is None:  # over its time limit
        _stop(job.process)
        store.finish_run(job.run_id, "timed_out")
        return
    if job.process.returncode != 0:
        message = _last_line(job.log_path) or f"exit code {job.process.returncode}"
        store.record_error(
            url=None, kind="crawl", message=message, run_id=job.run_id, source=job.source
        )
        store.finish_run(job.run_id, "failed", errors=store.run(job.run_id)["errors"] + 1)
    elif store.run(job.run_id)["outcome"] == "running":
        store.finish_run(job.run_id, "failed")


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""

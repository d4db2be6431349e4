"""The scheduler with real APScheduler and real crawls of the sample site, bounded in time."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from crawler.sources import load_sources
from scheduler import Scheduler
from storage import VersionStore
from tests.conftest import ROOT, crawl_command, env_for, scrapy_crawl, write_sources

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}


def entries(site, names, every="1s", **extra):
    chosen = [s for s in site.sources() if s["name"] in names]
    for s in chosen:
        s["schedule"] = {"every": every, "jitter": 0}
        s["settings"] = {**FAST, **s.get("settings", {})}
        s.update(extra)
    return chosen


def wait_for(predicate, timeout=60.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def runs(db, source=None):
    if not db.exists():
        return []
    with VersionStore(db) as store:
        return list(reversed(store.runs(source, limit=None)))


def test_runs_happen_on_schedule_and_never_overlap(site, tmp_path, db_path):
    chosen = entries(site, ["sample_mirror", "sample_aggregator"])
    chosen[1]["settings"]["DOWNLOAD_DELAY"] = 1  # slower than its 1 s interval
    sources = write_sources(tmp_path / "s.yaml", chosen)
    sched = Scheduler(db_path, sources, grace=5)
    sched.start()
    try:
        wait_for(
            lambda: all(
                len([r for r in runs(db_path, n) if r["outcome"] == "ok"]) >= 2
                for n in ("sample_mirror", "sample_aggregator")
            ),
            timeout=60,
        )
    finally:
        sched.stop()
    for name in ("sample_mirror", "sample_aggregator"):
        rows = runs(db_path, name)
        assert {r["trigger"] for r in rows} == {"scheduled"}
        for earlier, later in itertools.pairwise(rows):
            assert later["started_at"] >= earlier["finished_at"], (earlier, later)
    assert not [r for r in runs(db_path) if r["outcome"] == "running"]


def test_hung_crawl_is_stopped_at_its_time_limit(site, tmp_path, db_path):
    hung = {
        **site.broken_source(),
        "name": "hung",
        "start_urls": [site.base_url + "/broken/hang.html"],
        "schedule": {"every": "1h", "jitter": 0},
        "settings": FAST,
        "timeout": "3s",
    }
    sources = write_sources(tmp_path / "s.yaml", [hung])
    sched = Scheduler(db_path, sources, grace=2)
    started = time.monotonic()
    sched.start()
    try:
        run = wait_for(lambda: [r for r in runs(db_path) if r["outcome"] != "running"], 30)[0]
    finally:
        sched.stop()
    assert run["outcome"] == "timed_out"
    assert time.monotonic() - started < 20


def test_missed_run_runs_once_at_start_up(site, tmp_path, db_path):
    chosen = entries(site, ["sample_mirror", "sample_aggregator"], every="1h")
    sources = write_sources(tmp_path / "s.yaml", chosen)
    now = datetime.now(UTC)
    with VersionStore(db_path) as store:  # mirror: last run 5 h ago; aggregator: 10 min ago
        for name, ago in (("sample_mirror", 5 * 3600), ("sample_aggregator", 600)):
            run = store.start_run(
                name, "scheduled", started_at=(now - timedelta(seconds=ago)).isoformat()
            )
            store.finish_run(run, "ok")
    sched = Scheduler(db_path, sources, grace=2)
    sched.start()
    try:
        wait_for(
            lambda: (
                len(runs(db_path, "sample_mirror")) == 2
                and runs(db_path, "sample_mirror")[-1]["outcome"] == "ok"
            ),
            30,
        )
        time.sleep(2)
        jobs = {j.id: j.next_run_time for j in sched.scheduler.get_jobs()}
    finally:
        sched.stop()
    assert len(runs(db_path, "sample_mirror")) == 2  # once, not once per missed hour
    assert len(runs(db_path, "sample_aggregator")) == 1  # not due yet
    assert jobs["sample_mirror"] - datetime.now(UTC) > timedelta(minutes=55)
    assert timedelta(minutes=45) < jobs["sample_aggregator"] - now < timedelta(minutes=55)


class SchedulerProcess:
    """`python scheduler.py` as a service runs it, stopped at the end of the test."""

    def __init__(self, db, sources, log, grace=5):
        cmd = [
            sys.executable,
            str(ROOT / "scheduler.py"),
            "--db",
            str(db),
            "--sources",
            str(sources),
            "--grace",
            str(grace),
            "--log-file",
            str(log),
        ]
        self.log = log
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def text(self):
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout)


@pytest.fixture
def service(tmp_path, db_path):
    started = []

    def start(sources, **kw):
        started.append(SchedulerProcess(db_path, sources, tmp_path / "scheduler.log", **kw))
        return started[-1]

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait()


def test_sigterm_stops_cleanly_and_leaves_a_consistent_database(site, tmp_path, db_path, service):
    chosen = entries(site, ["sample_invest"])
    chosen[0]["settings"]["DOWNLOAD_DELAY"] = 0.3  # a crawl of a few seconds
    proc = service(write_sources(tmp_path / "s.yaml", chosen))
    wait_for(lambda: any(r["outcome"] == "running" and r["pages"] for r in runs(db_path)), 60)
    proc.signal(signal.SIGTERM)
    assert proc.stop(timeout=60) == 0  # grace is 5 s; a loaded 2-core machine once took over 30
    rows = runs(db_path)
    assert rows
    assert rows[-1]["outcome"] in ("interrupted", "ok")
    assert not [r for r in rows if r["outcome"] == "running"]
    with VersionStore(db_path) as store:
        assert store.db.execute("pragma integrity_check").fetchone()[0] == "ok"
        orphans = store.db.execute(
            "select count(*) from documents d left join versions v on v.id = d.latest_version_id"
            " where v.id is null"
        ).fetchone()[0]
        assert orphans == 0
        assert store.counts()["changes"] == store.counts()["documents"]  # one `new` each
    assert "Scheduler stopped" in proc.text()


def test_config_edit_adds_a_job_and_a_bad_edit_is_refused(site, tmp_path, db_path, service):
    path = write_sources(tmp_path / "s.yaml", entries(site, ["sample_mirror"], every="2s"))
    proc = service(path)
    wait_for(lambda: runs(db_path, "sample_mirror"), 60)
    write_sources(path, entries(site, ["sample_mirror", "sample_docshare"], every="2s"))
    proc.signal(signal.SIGHUP)
    wait_for(lambda: [r for r in runs(db_path, "sample_docshare") if r["outcome"] == "ok"], 60)
    path.write_text("sources:\n  - name: broken\n    title: [unclosed\n", encoding="utf-8")
    proc.signal(signal.SIGHUP)
    wait_for(lambda: "Reload refused, keeping the last good configuration" in proc.text(), 30)
    count = len(runs(db_path, "sample_docshare"))
    wait_for(lambda: len(runs(db_path, "sample_docshare")) > count + 1, 30)  # still scheduled
    # and its crawls read the validated snapshot, not the broken file now on disk
    later = [r for r in runs(db_path, "sample_docshare")[count:] if r["finished_at"]]
    assert later
    assert {r["outcome"] for r in later} == {"ok"}
    assert proc.proc.poll() is None
    assert proc.stop() == 0


def test_bad_sources_file_at_start_is_one_line(tmp_path, db_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("sources: 3\n", encoding="utf-8")
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scheduler.py"),
            "--db",
            str(db_path),
            "--sources",
            str(bad),
            "--log-file",
            str(tmp_path / "l.log"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert (
        out.stderr.strip().splitlines()[-1]
        == f"govwatch: {bad}: must be a mapping with a 'sources:' list"
    )


def test_concurrent_crawls_never_lock_or_lose_a_version(tmp_path, db_path):
    from samplesite import SampleSite

    with SampleSite(generated=150) as site:
        sources = write_sources(tmp_path / "s.yaml", site.sources())
        # four sources at once (a second crawl of the same source is refused: test_safety)
        names = ["sample_generated", "sample_invest", "sample_wujiang", "sample_mirror"]
        procs = [
            subprocess.Popen(
                crawl_command(name, VERSIONS_PROGRESS_INTERVAL="0.2"),
                env=env_for(db_path, sources),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in names
        ]
        outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert "database is locked" not in err
    with VersionStore(db_path) as store:
        counts = store.counts()
        assert counts["documents"] == 150 + 10 + 2 + 1
        assert counts["versions"] == counts["documents"]
        assert counts["changes"] == counts["documents"]  # each `new` exactly once
        assert counts["errors"] == 0
        assert {r["outcome"] for r in store.runs()} == {"ok"}


def test_scrapy_crawl_and_scheduler_share_sources(site, tmp_path, db_path):
    """A manual `scrapy crawl` beside the scheduler is a `manual` run of the same log."""
    sources = write_sources(tmp_path / "s.yaml", entries(site, ["sample_mirror"], every="1h"))
    assert scrapy_crawl("sample_mirror", db_path, sources).returncode == 0
    assert load_sources(sources)["sample_mirror"].interval_seconds == 3600
    (run,) = runs(db_path)
    assert run["trigger"] == "manual"


def test_blocked_source_is_backed_off(site, tmp_path, db_path):
    (blocked,) = [e for e in site.cms_sources() if e["name"] == "cms_blocked"]
    blocked.update(schedule={"every": "2s", "jitter": 0}, settings=FAST)
    sources = write_sources(tmp_path / "s.yaml", [blocked])
    sched = Scheduler(db_path, sources, grace=5)
    sched.start()
    try:
        wait_for(lambda: len([r for r in runs(db_path) if r["finished_at"]]) >= 2, timeout=60)
    finally:
        sched.stop()
    first, second = runs(db_path)[:2]
    assert (first["outcome"], first["finish_reason"]) == ("failed", "blocked")
    ended = datetime.fromisoformat(first["finished_at"])
    # every 2 s, blocked once: the next run waits 4 s after the blocked one
    assert datetime.fromisoformat(second["started_at"]) >= ended + timedelta(seconds=3.5)

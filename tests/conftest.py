"""Shared fixtures: the sample site on 127.0.0.1, sources files, and real crawls.

Crawls run ``python -m scrapy crawl`` in a child process (Twisted's reactor cannot restart),
each bounded by CRAWL_TIMEOUT seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from govwatch.runner import child_env
from samplesite import SampleSite

ROOT = Path(__file__).resolve().parent.parent
CRAWL_TIMEOUT = 120
FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "RETRY_TIMES": "0",
    "VERSIONS_PROGRESS_INTERVAL": "0.5",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The few slow end-to-end cases (marked ``slow``) first, so that the two workers do not
    end with one of them running alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def site():
    """A fresh sample site (tests may edit it), stopped at the end."""
    with SampleSite() as s:
        yield s


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # sources files may not use aliases
        return True


def write_sources(path: Path, entries: list[dict[str, Any]]) -> Path:
    text = yaml.dump({"sources": entries}, Dumper=_NoAliases, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def sources_file(tmp_path, site) -> Path:
    return write_sources(tmp_path / "sources.yaml", site.sources())


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "govwatch.db"


def env_for(db: Path, sources: Path) -> dict[str, str]:
    """The environment of a crawl child process, as `govwatch crawl` sets it."""
    return child_env(db, sources)


def crawl_command(name: str, **settings: str) -> list[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", name]
    for key, value in {**FAST, **settings}.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def scrapy_crawl(
    name: str, db: Path, sources: Path, **settings: str
) -> subprocess.CompletedProcess[str]:
    """A real ``scrapy crawl NAME`` into ``db``; fails the test if it does not end in time."""
    return subprocess.run(
        crawl_command(name, **settings),
        env=env_for(db, sources),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CRAWL_TIMEOUT,
        check=False,
    )


def govwatch(
    *args: str,
    db: Path | None = None,
    sources: Path | None = None,
    cwd: Path | None = None,
    timeout: float = CRAWL_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """The ``govwatch`` command as a user runs it."""
    cmd = [sys.executable, "-m", "govwatch.cli"]
    if db:
        cmd += ["--db", str(db)]
    if sources:
        cmd += ["--sources", str(sources)]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("GOVWATCH_DB", None)
    env.pop("GOVWATCH_SOURCES", None)
    return subprocess.run(
        [*cmd, *args],
        env=env,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

"""Crawl throughput: fetch-only Scrapy vs the full govwatch crawl, in the same run.

Serves the sample site with N generated documents (seed paragraphs recombined) on 127.0.0.1,
then crawls it with
  (a) fetch-only: the same spider with no item pipelines (download, decode, follow links);
  (b) govwatch:   extraction in EXTRACT_WORKERS processes + the SQLite version store,
                  for each worker count asked for (0 = extraction inside the crawl process);
and reports documents/second (wall clock of the whole `scrapy crawl` process), the ratio to
(a), peak RSS of the crawl's process tree, and the database size.

    python bench/crawl_bench.py [--docs 1000] [--workers 0,1,2] [--json bench/out/crawl.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samplesite import SampleSite  # noqa: E402
from storage import VersionStore  # noqa: E402

COMMON = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "LOG_LEVEL": "WARNING",
    "VERSIONS_PROGRESS_INTERVAL": "0",
}


def tree_rss_kib(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for proc_dir in Path("/proc").iterdir():
        entry = proc_dir.name
        if not entry.isdigit():
            continue
        try:
            status = (proc_dir / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid, ppid = int(entry), int(fields.get("PPid", "0").strip())
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def crawl(name: str, db: Path, sources: Path, settings: dict[str, str]) -> dict[str, float]:
    env = dict(
        os.environ,
        GOVWATCH_DB=str(db),
        GOVWATCH_SOURCES=str(sources),
        SCRAPY_SETTINGS_MODULE="crawler.settings",
    )
    cmd = [sys.executable, "-m", "scrapy", "crawl", name]
    for key, value in {**COMMON, **settings}.items():
        cmd += ["-s", f"{key}={value}"]
    peak = 0
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kib(proc.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate(timeout=1800)
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"seconds": seconds, "peak_rss_mib": peak / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--workers", default="0,1,2", help="EXTRACT_WORKERS values to run")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "crawl.json")
    args = parser.parse_args()

    results = []
    with SampleSite(generated=args.docs) as site, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sources = tmp / "sources.yaml"
        sources.write_text(site.sources_yaml(), encoding="utf-8")
        print(
            f"sample site: {args.docs} generated documents at {site.base_url}; "
            f"{os.cpu_count()} CPUs"
        )
        base = crawl("sample_generated", tmp / "fetch.db", sources, {"ITEM_PIPELINES": "{}"})
        base["docs_per_s"] = args.docs / base["seconds"]
        results.append({"variant": "fetch-only", **base})
        for workers in [int(w) for w in args.workers.split(",") if w.strip()]:
            db = tmp / f"full-{workers}.db"
            full = crawl("sample_generated", db, sources, {"EXTRACT_WORKERS": str(workers)})
            with VersionStore(db) as store:
                versions = store.counts()["versions"]
                run = store.runs(limit=1)[0]
            if versions != args.docs or run["errors"]:
                raise SystemExit(f"full crawl stored {versions} versions, {run['errors']} errors")
            size = sum(p.stat().st_size for p in tmp.glob(f"full-{workers}.db*"))
            full.update(
                docs_per_s=args.docs / full["seconds"],
                db_mib=size / 2**20,
                ratio_to_fetch_only=(args.docs / full["seconds"]) / base["docs_per_s"],
            )
            results.append({"variant": f"govwatch EXTRACT_WORKERS={workers}", **full})

    print(f"{'variant':<30} {'s':>7} {'docs/s':>8} {'ratio':>6} {'peak RSS MiB':>13} {'DB MiB':>7}")
    for r in results:
        print(
            f"{r['variant']:<30} {r['seconds']:>7.1f} {r['docs_per_s']:>8.1f} "
            f"{r.get('ratio_to_fetch_only', 1.0):>6.2f} {r['peak_rss_mib']:>13.0f} "
            f"{r.get('db_mib', 0):>7.1f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"docs": args.docs, "results": results}, indent=2))


if __name__ == "__main__":
    main()

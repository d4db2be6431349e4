"""Cluster throughput: the same cold crawl locally and through 1, 2 and 4 workers.

Serves the sample site with N generated documents (seed paragraphs recombined, seed length)
on 127.0.0.1, starts a redis-server on an ephemeral port, and crawls the site cold:
  (a) local:     `govwatch crawl` (one Scrapy process, extraction in EXTRACT_WORKERS=1);
  (b) cluster:   the writer and K workers already running, `govwatch crawl --redis`, for each K;
each into a fresh database, with the same per-site limits (16 at once, no delay). Reports
documents/second (wall clock of the `crawl` command) and the ratio to (a), and checks that
every run stored N versions with no error.

    python bench/cluster_bench.py [--docs 400] [--workers 1,2,4] [--json bench/out/cluster.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samplesite import SampleSite  # noqa: E402
from storage import VersionStore  # noqa: E402

LIMITS = {"CONCURRENT_REQUESTS_PER_DOMAIN": 16, "DOWNLOAD_DELAY": 0}
LOCAL = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "VERSIONS_PROGRESS_INTERVAL=0"]


def govwatch(
    db: Path, sources: Path, *args: str, **kw
) -> subprocess.Popen | subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "govwatch.cli", "--db", str(db), "--sources", str(sources), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if kw.pop("background", False):
        return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=kw.pop("stderr", subprocess.DEVNULL))  # fmt: skip
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)


def timed_crawl(db: Path, sources: Path, *args: str) -> float:
    start = time.perf_counter()
    r = govwatch(db, sources, "crawl", "sample_generated", "--json", *args)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"crawl failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return seconds


def check(db: Path, docs: int) -> None:
    with VersionStore(db) as store:
        versions = store.counts()["versions"]
        run = store.runs(limit=1)[0]
    if versions != docs or run["errors"] or run["outcome"] != "ok":
        raise SystemExit(f"{db.name}: {versions} versions, {run['errors']} errors")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "cluster.json")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server missing (Debian package redis-server; `make redis`)")
    results = []
    with SampleSite(generated=args.docs) as site, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        entry = next(e for e in site.sources() if e["name"] == "sample_generated")
        entry["settings"] = LIMITS
        sources = tmp / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True))
        print(f"sample site: {args.docs} generated documents; {os.cpu_count()} CPUs")
        seconds = timed_crawl(tmp / "local.db", sources, *LOCAL)
        check(tmp / "local.db", args.docs)
        base = args.docs / seconds
        results.append({"variant": "local crawl", "seconds": seconds, "docs_per_s": base})
        port = free_port()
        redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        try:
            for count in [int(w) for w in args.workers.split(",") if w.strip()]:
                db = tmp / f"cluster-{count}.db"
                procs = [govwatch(db, sources, "writer", "--redis", url, background=True)]
                procs += [
                    govwatch(db, sources, "worker", "--redis", url, "-s", "LOG_LEVEL=WARNING",
                             background=True)
                    for _ in range(count)
                ]  # fmt: skip
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    status = govwatch(db, sources, "cluster", "status", "--redis", url, "--json")
                    info = json.loads(status.stdout or "{}")
                    alive = [w for w in info.get("workers", []) if w["alive"]]
                    if info.get("writer") and len(alive) == count:
                        break
                    time.sleep(0.3)
                cpu0 = [cpu_seconds(p.pid) for p in procs]
                seconds = timed_crawl(db, sources, "--redis", url)
                cpu = [cpu_seconds(p.pid) - c for p, c in zip(procs, cpu0, strict=True)]
                check(db, args.docs)
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.wait(60)
                results.append({"variant": f"cluster, {count} worker(s)", "seconds": seconds,
                                "docs_per_s": args.docs / seconds,
                                "ratio_to_local": args.docs / seconds / base,
                                "writer_cpu_s": cpu[0], "workers_cpu_s": sum(cpu[1:])})  # fmt: skip
        finally:
            redis.terminate()
            redis.wait(10)
    print(f"{'variant':<24} {'s':>7} {'docs/s':>8} {'ratio':>6} {'writer CPU s':>13} "
          f"{'workers CPU s':>14}")  # fmt: skip
    for r in results:
        print(f"{r['variant']:<24} {r['seconds']:>7.1f} {r['docs_per_s']:>8.1f} "
              f"{r.get('ratio_to_local', 1.0):>6.2f} {r.get('writer_cpu_s', 0):>13.1f} "
              f"{r.get('workers_cpu_s', 0):>14.1f}")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"docs": args.docs, "results": results}, indent=2))


if __name__ == "__main__":
    main()

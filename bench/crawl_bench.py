"""Crawl throughput: fetch-only Scrapy vs the full govwatch crawl, in the same run.

Serves the sample site with N generated documents (seed paragraphs recombined) on 127.0.0.1,
then crawls it with
  (0) Scrapy's own fetch-only spider (bench/fetch_spider.py: follow the lists, fetch the
      documents, nothing else), the baseline the ratios are against;
  (a) fetch-only: govwatch's spider with no item pipelines (download, decode, follow links);
  (b) govwatch:   extraction in EXTRACT_WORKERS processes + the SQLite version store,
                  for each worker count asked for (0 = extraction inside the crawl process);
and reports documents/second (wall clock of the whole `scrapy crawl` process), the ratio to
(0), the milliseconds a document once the crawl runs (from its first document to its close,
bench/timing.py: without the fixed start, which weighs more at small N), the CPU time of the
crawl's process tree and of the sample site (this process, beside it on the same cores) per
document, peak RSS of the crawl's process tree and of the crawl process alone, the tree's
peak PSS (shared pages, such as libraries' code, counted once), and the database size, also
as a multiple of the UTF-8 bytes of the texts it holds.

``--portal`` serves the documents in the shape of real portals (8,400 characters on average,
every third one GBK, a visit counter on every page); ``--docs`` takes a list to sweep N.
``--repeat K`` crawls each variant K times, the variants taking turns, and reports the run of
median time of each (the ratio is that of the medians; each turn's ratio is listed beside it):
a machine's speed can drift by several percent within minutes. ``--recheck`` adds, per N, an
unchanged re-check on the same documents without counters (so they carry validators):
govwatch's second crawl against Scrapy's spider sending the validators the first crawl stored
(all 304), and the rows the re-check added to versions, changes and errors (target 0).

    python bench/crawl_bench.py [--docs 1000[,3000]] [--workers 0,1,2] [--portal] [--repeat 3]
                                [--json bench/out/crawl.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler import settings as project_settings  # noqa: E402
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


def tree_rss_kib(root_pid: int, pss: bool = True) -> tuple[int, int, int]:
    """Resident memory of a process and all its descendants, and of the process alone, in
    KiB, and (with ``pss``) the tree's proportional share (PSS: a page shared by processes,
    such as the code of libraries they both load, counted once in all) (Linux /proc).

    Cheap, as it runs beside the crawl on the same cores: the tree is found through each
    thread's list of children, not by reading every process of the machine (10 ms a sample,
    5% of a core at five samples a second), and the PSS (1 ms a process) is asked for less
    often by the caller."""
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    total = shared = alone = 0
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        try:
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page_kib
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        total += resident
        alone = resident if pid == root_pid else alone
        shared += _pss_kib(pid) if pss else 0
        with contextlib.suppress(OSError, ValueError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
    return total, alone, shared


def _pss_kib(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/smaps_rollup").open() as rollup:
            return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    except (OSError, ValueError):
        return 0


def crawl(
    name: str, db: Path, sources: Path, settings: dict[str, str], validators: Path | None = None
) -> dict[str, float]:
    env = dict(
        os.environ,
        GOVWATCH_DB=str(db),
        GOVWATCH_SOURCES=str(sources),
        SCRAPY_SETTINGS_MODULE="crawler.settings",
        PYTHONPATH=str(ROOT),  # bench.timing, for Scrapy's own spider too
    )
    cmd, cwd = [sys.executable, "-m", "scrapy", "crawl", name], ROOT
    timing = db.with_name(f"{db.stem}-timing.json")
    extensions = {} if name.startswith("http") else dict(project_settings.EXTENSIONS)
    settings = {
        **settings, "EXTENSIONS": json.dumps({**extensions, "bench.timing.CrawlTiming": 0}),
        "BENCH_TIMING_FILE": str(timing), "BENCH_DOCUMENT_PATH": "/gen/doc/",
    }  # fmt: skip
    if name.startswith("http"):  # Scrapy's own spider, outside the project's settings
        env.pop("SCRAPY_SETTINGS_MODULE")
        spider = str(ROOT / "bench" / "fetch_spider.py")
        cmd = [sys.executable, "-m", "scrapy", "runspider", spider, "-a", f"start={name}"]
        if validators is not None:
            cmd += ["-a", f"validators={validators}"]
        cwd = db.parent  # no scrapy.cfg there: Scrapy's defaults
    for key, value in {**COMMON, **settings}.items():
        cmd += ["-s", f"{key}={value}"]
    peak = own = pss = 0
    children, site = (
        resource.getrusage(w) for w in (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF)
    )
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, own, pss
        samples = 0
        while not done.is_set():
            tree, alone, shared = tree_rss_kib(proc.pid, pss=samples % 5 == 0)
            peak, own, pss = max(peak, tree), max(own, alone), max(pss, shared)
            samples += 1
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate(timeout=1800)
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{stderr[-3000:]}")
    times = json.loads(timing.read_text())
    timing.unlink()
    return {
        "running_ms_per_doc": 1000 * (times["closed"] - times["first_document"])
        / max(1, times["documents"] - 1),
        "seconds": seconds, "peak_rss_mib": peak / 1024, "own_rss_mib": own / 1024,
        "peak_pss_mib": pss / 1024,
        "cpu_s": _cpu(resource.RUSAGE_CHILDREN) - _cpu(children),  # the crawl and its pool
        "site_cpu_s": _cpu(resource.RUSAGE_SELF) - _cpu(site),  # the sample site (+ sampler)
    }  # fmt: skip


def _cpu(usage: int | resource.struct_rusage) -> float:
    if isinstance(usage, int):
        usage = resource.getrusage(usage)
    return usage.ru_utime + usage.ru_stime


def run_n(docs: int, workers: list[int], portal: bool, repeat: int = 1) -> list[dict]:
    """The cold crawls of ``docs`` documents, each variant ``repeat`` times, the variants taking
    turns (so that a slow spell of the machine falls on all of them): for each variant the run
    of median time, its ratio the ratio of the medians, and the ratios of each turn beside it."""
    runs: dict[str, list[dict]] = {}
    with (
        SampleSite(generated=docs, portal_shape=portal) as site,
        tempfile.TemporaryDirectory() as tmp,
    ):
        tmp = Path(tmp)
        sources = tmp / "sources.yaml"
        sources.write_text(site.sources_yaml(), encoding="utf-8")
        text_bytes = sum(
            len(site.doc(f"/gen/doc/{i}.html").text.encode()) for i in range(1, docs + 1)
        )
        plain = f"{site.base_url}/gen/list.html"
        for turn in range(repeat):
            base = crawl(plain, tmp / f"plain-{turn}.db", sources, {"ROBOTSTXT_OBEY": "False"})
            runs.setdefault("Scrapy fetch-only", []).append(base)
            ours = crawl(
                "sample_generated", tmp / f"fetch-{turn}.db", sources, {"ITEM_PIPELINES": "{}"}
            )
            runs.setdefault("govwatch spider, no pipelines", []).append(ours)
            for n in workers:
                db = tmp / f"full-{n}-{turn}.db"
                full = crawl("sample_generated", db, sources, {"EXTRACT_WORKERS": str(n)})
                with VersionStore(db) as store:
                    versions = store.counts()["versions"]
                    run = store.runs(limit=1)[0]
                if versions != docs or run["errors"]:
                    raise SystemExit(
                        f"full crawl stored {versions} versions, {run['errors']} errors"
                    )
                size = sum(p.stat().st_size for p in tmp.glob(f"full-{n}-{turn}.db*"))
                full.update(db_mib=size / 2**20, db_to_text=size / text_bytes)
                runs.setdefault(f"govwatch EXTRACT_WORKERS={n}", []).append(full)
                for path in tmp.glob(f"full-{n}-{turn}.db*"):
                    path.unlink()
    bases = runs["Scrapy fetch-only"]
    base = _median(bases)
    results = []
    for variant, turns in runs.items():
        chosen = {"docs": docs, "variant": variant, **_median(turns), "repeats": len(turns)}
        chosen["docs_per_s"] = docs / chosen["seconds"]
        if variant != "Scrapy fetch-only":
            chosen.update(
                ms_per_doc=1000 * chosen["seconds"] / docs,
                ratio_to_fetch_only=base["seconds"] / chosen["seconds"],
                turn_ratios=[
                    b["seconds"] / t["seconds"] for b, t in zip(bases, turns, strict=True)
                ],
            )
        results.append(chosen)
    return results


def _median(turns: list[dict]) -> dict:
    """The run of median time (the lower middle one of an even number)."""
    return dict(sorted(turns, key=lambda t: t["seconds"])[(len(turns) - 1) // 2])


def recheck(docs: int, portal: bool) -> list[dict]:
    """An unchanged re-check: govwatch's second crawl against Scrapy sending validators."""
    with (
        SampleSite(generated=docs, portal_shape=portal, counters=False) as site,
        tempfile.TemporaryDirectory() as tmp,
    ):
        tmp = Path(tmp)
        sources = tmp / "sources.yaml"
        sources.write_text(site.sources_yaml(), encoding="utf-8")
        db = tmp / "g.db"
        crawl("sample_generated", db, sources, {})
        with VersionStore(db) as store:
            states = store.http_states("sample_generated")
            before = store.counts()
        validators = tmp / "validators.json"
        validators.write_text(json.dumps(states))
        plain = crawl(
            f"{site.base_url}/gen/list.html", tmp / "plain.db", sources,
            {"ROBOTSTXT_OBEY": "False"}, validators,
        )  # fmt: skip
        ours = crawl("sample_generated", db, sources, {})
        with VersionStore(db) as store:
            after = store.counts()
            run = store.runs(limit=1)[0]
        added = {k: after[k] - before[k] for k in ("versions", "changes", "errors")}
        return [
            {"docs": docs, "variant": "re-check: Scrapy with validators", **plain,
             "docs_per_s": docs / plain["seconds"]},
            {"docs": docs, "variant": "re-check: govwatch", **ours,
             "docs_per_s": docs / ours["seconds"],
             "ratio_to_fetch_only": plain["seconds"] / ours["seconds"],
             "not_modified": run["not_modified"], "rows_added": added},
        ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="1000", help="document counts to sweep: 1000,3000")
    parser.add_argument("--workers", default="0,1,2", help="EXTRACT_WORKERS values to run")
    parser.add_argument("--portal", action="store_true", help="documents shaped as portals'")
    parser.add_argument("--recheck", action="store_true", help="also an unchanged re-check")
    parser.add_argument(
        "--repeat", type=int, default=1, help="cold crawls of each variant, taking turns"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "crawl.json")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, not {args.repeat}")
    counts = [int(n) for n in args.docs.split(",") if n.strip()]
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    shape = "portal-shaped" if args.portal else "seed-length"
    print(f"sample site: {args.docs} {shape} generated documents; {os.cpu_count()} CPUs")
    results = [r for n in counts for r in run_n(n, workers, args.portal, args.repeat)]
    if args.recheck:
        results += [r for n in counts for r in recheck(n, args.portal)]
    print(
        f"{'N':>5} {'variant':<34} {'s':>7} {'docs/s':>7} {'ratio':>6} {'ms/doc':>7} "
        f"{'running':>7} {'CPU ms/doc':>10} {'site':>5} {'RSS tree':>8} {'RSS own':>7} {'PSS':>5} "
        f"{'DB MiB':>7} {'DB/text':>7}"
    )
    for r in results:
        print(
            f"{r['docs']:>5} {r['variant']:<34} {r['seconds']:>7.1f} {r['docs_per_s']:>7.1f} "
            f"{r.get('ratio_to_fetch_only', 1.0):>6.2f} {r.get('ms_per_doc', 0):>7.1f} "
            f"{r['running_ms_per_doc']:>7.1f} {1000 * r['cpu_s'] / r['docs']:>10.1f} "
            f"{1000 * r['site_cpu_s'] / r['docs']:>5.1f} "
            f"{r['peak_rss_mib']:>8.0f} {r['own_rss_mib']:>7.0f} {r['peak_pss_mib']:>5.0f} "
            f"{r.get('db_mib', 0):>7.1f} "
            f"{r.get('db_to_text', 0):>7.2f}"
            + (f"  {r['not_modified']} answered 304, rows added {r['rows_added']}"
               if "rows_added" in r else "")
            + ("  turns: " + ", ".join(f"{x:.2f}" for x in r["turn_ratios"])
               if len(r.get("turn_ratios", ())) > 1 else "")
        )  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"docs": counts, "results": results}, indent=2))


if __name__ == "__main__":
    main()

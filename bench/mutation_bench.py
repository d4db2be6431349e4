"""Accuracy of change flags on a mutating sample site, and the cost of re-checks.

The site serves N generated documents whose pages change on every request (a hit counter, a
"今天是…" clock that moves each round, a shuffled sidebar). Each round, a known set of documents
is edited in varied ways (a figure changed, a sentence added, a paragraph removed, a paragraph
moved, a title changed), one page is removed (flagged `removed` on its second miss) and later
restored, one page answers 503 for a whole check and one serves a near-empty maintenance page
once (neither may be flagged). Flags are compared with the known edits: precision, recall,
false alarms. Then:
  - bytes added to the database by a re-check of the unchanged site (after a WAL checkpoint);
  - re-check time of the unchanged site against the first crawl, on the volatile site (bodies
    always differ: full extraction, no flag) and on a site with validators (304s).

    python bench/mutation_bench.py [--docs 300] [--rounds 5] [--json bench/out/mutation.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samplesite import SampleSite  # noqa: E402
from storage import VersionStore  # noqa: E402

FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "LOG_LEVEL": "INFO",
    "VERSIONS_PROGRESS_INTERVAL": "0",
}
EDITS = ("figure", "sentence_added", "paragraph_removed", "paragraph_moved", "title")


def crawl(db: Path, sources: Path) -> tuple[float, float]:
    """``(wall seconds of the process, Scrapy's elapsed_time_seconds)`` of one crawl."""
    env = dict(
        os.environ,
        GOVWATCH_DB=str(db),
        GOVWATCH_SOURCES=str(sources),
        SCRAPY_SETTINGS_MODULE="crawler.settings",
    )
    cmd = [sys.executable, "-m", "scrapy", "crawl", "sample_generated"]
    for key, value in FAST.items():
        cmd += ["-s", f"{key}={value}"]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    elapsed = re.search(r"'elapsed_time_seconds': ([\d.]+)", proc.stderr)
    return time.perf_counter() - start, float(elapsed.group(1)) if elapsed else float("nan")


def edit(site: SampleSite, path: str, how: str) -> None:
    doc = site.doc(path)
    paras = list(doc.paragraphs)
    if how == "figure":
        i = next(i for i, p in enumerate(paras) if re.search(r"\d", p))
        m = re.search(r"\d+", paras[i])
        paras[i] = paras[i][: m.start()] + str(int(m.group()) + 7) + paras[i][m.end() :]
        site.mutate(path, paragraphs=paras)
    elif how == "sentence_added":
        paras[0] += "新增内容：该项目计划于年底前竣工投产，预计新增就业岗位一千余个。"
        site.mutate(path, paragraphs=paras)
    elif how == "paragraph_removed":
        site.mutate(path, paragraphs=paras[:1] + paras[2:])
    elif how == "paragraph_moved":
        site.mutate(path, paragraphs=paras[1:] + paras[:1])
    elif how == "title":
        site.mutate(path, title=doc.title + "（修订）")


def flags(db: Path) -> set[tuple[str, str]]:
    with VersionStore(db) as store:
        run = store.runs(limit=1)[0]
        return {
            ("/" + c["url"].split("/", 3)[3], c["kind"])
            for c in store.changes()
            if c["run_id"] == run["id"]
        }


def db_bytes(db: Path) -> int:
    with VersionStore(db) as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def accuracy_run(docs: int, rounds: int, tmp: Path) -> dict:
    site = SampleSite(generated=docs)
    site.volatile = True
    site.start()
    try:
        sources = tmp / "sources.yaml"
        sources.write_text(site.sources_yaml(), encoding="utf-8")
        db = tmp / "mutation.db"
        first = crawl(db, sources)
        tp = fp = fn = 0
        per_round = []
        doc_ids = iter(range(2, docs + 1, 7))
        for r in range(1, rounds + 1):
            site.day = r
            expected: set[tuple[str, str]] = set()
            for how in EDITS:
                path = f"/gen/doc/{next(doc_ids)}.html"
                edit(site, path, how)
                expected.add((path, "changed"))
            gone = f"/gen/doc/{docs - r}.html"  # removed at round r, restored at round r + 2
            site.remove(gone)
            if r >= 2:
                expected.add((f"/gen/doc/{docs - r + 1}.html", "removed"))
            if r >= 3:
                back = f"/gen/doc/{docs - r + 2}.html"
                site.restore(back)
                expected.add((back, "restored"))
            site.fail(f"/gen/doc/{next(doc_ids)}.html", 503, times=3)  # more than the retries
            site.serve_maintenance(f"/gen/doc/{next(doc_ids)}.html", times=1)
            crawl(db, sources)
            got = flags(db)
            tp += len(got & expected)
            fp += len(got - expected)
            fn += len(expected - got)
            per_round.append(
                {
                    "round": r,
                    "expected": len(expected),
                    "flagged": len(got),
                    "false_alarms": sorted(got - expected),
                    "missed": sorted(expected - got),
                }
            )
        for path in list(site.removed):  # a quiet re-check: nothing may be flagged
            site.restore(path)
        crawl(db, sources)
        before = db_bytes(db)
        site.day += 1
        quiet = crawl(db, sources)
        quiet_flags = flags(db)
        growth = db_bytes(db) - before
    finally:
        site.stop()
    return {
        "docs": docs,
        "rounds": rounds,
        "true_positives": tp,
        "false_alarms": fp,
        "missed": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "per_round": per_round,
        "quiet_recheck_flags": len(quiet_flags),
        "bytes_per_unchanged_recheck": growth,
        "first_crawl_s": first,
        "volatile_recheck_s": quiet,
    }


def validators_run(docs: int, tmp: Path) -> dict:
    with SampleSite(generated=docs) as site:
        sources = tmp / "stable.yaml"
        sources.write_text(site.sources_yaml(), encoding="utf-8")
        db = tmp / "stable.db"
        first = crawl(db, sources)
        before = db_bytes(db)
        recheck = crawl(db, sources)
        with VersionStore(db) as store:
            run = store.runs(limit=1)[0]
        growth = db_bytes(db) - before
    return {
        "first_crawl_s": first,
        "recheck_s": recheck,
        "not_modified": run["not_modified"],
        "bytes_per_unchanged_recheck": growth,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "mutation.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        acc = accuracy_run(args.docs, args.rounds, Path(tmp))
        val = validators_run(args.docs, Path(tmp))
    print(f"{args.docs} documents, {args.rounds} rounds of edits on a volatile site")
    print(
        f"  precision {acc['precision']:.1%}  recall {acc['recall']:.1%}  "
        f"({acc['true_positives']} flags right, {acc['false_alarms']} false alarms, "
        f"{acc['missed']} missed)"
    )
    for r in acc["per_round"]:
        print(
            f"  round {r['round']}: expected {r['expected']}, flagged {r['flagged']}"
            + (f", false alarms {r['false_alarms']}" if r["false_alarms"] else "")
            + (f", missed {r['missed']}" if r["missed"] else "")
        )
    print(
        f"  quiet re-check: {acc['quiet_recheck_flags']} flags, "
        f"{acc['bytes_per_unchanged_recheck']} bytes added to the database"
    )
    print("  unchanged re-check vs first crawl (wall s incl. process start | crawl s):")
    for label, first, again in (
        ("volatile site, no validators", acc["first_crawl_s"], acc["volatile_recheck_s"]),
        ("site with ETag/Last-Modified", val["first_crawl_s"], val["recheck_s"]),
    ):
        print(
            f"    {label:<30} {first[0]:5.1f} | {first[1]:5.2f}  ->  {again[0]:5.1f} | "
            f"{again[1]:5.2f}   ({first[0] / again[0]:.1f}x wall, {first[1] / again[1]:.1f}x crawl)"
        )
    print(
        f"    ({val['not_modified']} answered 304; "
        f"{val['bytes_per_unchanged_recheck']} bytes added to the database)"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"accuracy": acc, "validators": val}, indent=2, ensure_ascii=False)
    )


if __name__ == "__main__":
    main()

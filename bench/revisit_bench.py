"""Re-check cost against archive size: requests per run with the adaptive revisit schedule.

A source with N known documents runs every 6 hours for four weeks. Each run requests the documents
its list pages link to (the 20 newest) and the unlisted ones the store says are due (the same
rule as the crawl's KnownDocumentsMiddleware: ``next_check <= now``); 1% of the documents
checked in a run changed since the last check. Printed per archive size: requests in the
first run, mean requests per run over the last week (every document has then reached the
7-day maximum), the time those take at DOWNLOAD_DELAY 2 s
against the 6-hour interval, and the same for re-requesting every known document (the old
behaviour). The store is the real one (sqlite file), with its clock given per run.

    python bench/revisit_bench.py [--sizes 1000,3000,10000] [--json bench/out/revisit.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage import VersionStore  # noqa: E402

HOUR = 3600
INTERVAL = 6 * HOUR
RUNS = 4 * 28  # four weeks of runs every 6 hours
LISTED = 20
CHANGED_SHARE = 0.01
DELAY = 2.0


def simulate(size: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=datetime.now().astimezone().tzinfo).astimezone()
    with (
        tempfile.TemporaryDirectory() as tmp,
        VersionStore(Path(tmp) / "g.db", revisit=(INTERVAL, 7 * 24 * HOUR)) as store,
    ):
        at = start.isoformat(timespec="seconds")
        urls = [f"http://x.test/doc/{n}.html" for n in range(size)]
        for n, url in enumerate(urls):
            store.record(url, source="s", text=f"第{n}篇文件。正文。", fetched_at=at)
        per_run = []
        for run in range(1, RUNS + 1):
            now = (start + timedelta(seconds=run * INTERVAL)).isoformat(timespec="seconds")
            listed = set(urls[-LISTED:])
            due = {
                r[0]
                for r in store.db.execute(
                    "select url from documents where source = 's' and status = 'active' "
                    "and (next_check is null or next_check <= ?)",
                    [now],
                )
            }
            checked = listed | due
            for url in checked:
                if rng.random() < CHANGED_SHARE:
                    store.record(url, source="s", text=f"{url} 修改于第{run}次。", fetched_at=now)
                else:
                    store.seen_unchanged(url, checked_at=now)
            per_run.append(len(checked))
    last_week = per_run[-28:]
    mean = sum(last_week) / len(last_week)
    return {
        "documents": size,
        "first_run": per_run[0],
        "per_run_last_week": mean,
        "run_seconds_at_delay_2": mean * DELAY,
        "share_of_interval": mean * DELAY / INTERVAL,
        "every_document_seconds": size * DELAY,
        "every_document_share": size * DELAY / INTERVAL,
        "requests_per_run": per_run,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "revisit.json")
    args = parser.parse_args()
    rows = [simulate(int(n)) for n in args.sizes.split(",")]
    print(
        f"{'documents':>9} {'1st run':>8} {'per run (last week)':>19} {'run at 2 s/request':>19} "
        f"{'every document each run':>24}"
    )
    for r in rows:
        print(
            f"{r['documents']:>9} {r['first_run']:>8} {r['per_run_last_week']:>19.0f} "
            f"{r['run_seconds_at_delay_2'] / 60:>10.1f} min ({r['share_of_interval']:>4.0%}) "
            f"{r['every_document_seconds'] / 60:>12.0f} min ({r['every_document_share']:>5.0%})"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

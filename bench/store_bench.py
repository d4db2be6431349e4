"""The store alone: N seed-length documents recorded one transaction each, against batches of
50 in one transaction (``VersionStore.batch``, each document a savepoint), alternating, in the
same run; wall and CPU ms a document.

    python bench/store_bench.py [--docs 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.similar import signature  # noqa: E402
from samplesite import pages as P  # noqa: E402
from storage import VersionStore  # noqa: E402

BATCH = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    docs = [P.generated_doc(i) for i in range(1, args.docs + 1)]
    texts = ["\n".join(d.paragraphs) for d in docs]
    sigs = [signature(t) for t in texts]
    print(f"{'mode':<10} {'wall ms/doc':>12} {'CPU ms/doc':>11}")
    for _ in range(args.rounds):
        for mode in ("each", "batch"):
            with tempfile.TemporaryDirectory() as tmp, VersionStore(Path(tmp) / "x.db") as s:
                wall, cpu = time.perf_counter(), time.process_time()
                for start in range(0, args.docs, BATCH):
                    with s.batch() if mode == "batch" else contextlib.nullcontext():
                        for i in range(start, min(args.docs, start + BATCH)):
                            sig, grams = sigs[i]
                            s.record(
                                f"http://127.0.0.1/{i}", source="x", text=texts[i],
                                title=docs[i].title, signature=sig, shingles=grams,
                            )  # fmt: skip
                wall = (time.perf_counter() - wall) / args.docs * 1000
                cpu = (time.process_time() - cpu) / args.docs * 1000
            print(f"{mode:<10} {wall:>12.2f} {cpu:>11.2f}")


if __name__ == "__main__":
    main()

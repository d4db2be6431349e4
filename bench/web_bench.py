"""Web UI render times with a large change log (default 50,000 changes).

Fills a database with N changes through the storage API (generated sample-site documents,
recombined seed paragraphs: each recorded as `new`, then edited once: `changed`), then times
each page over HTTP on 127.0.0.1 (median and worst of repeated requests, warm). The baseline
in the same run is the Atom feed of an empty database: what Flask costs with no data.

    python bench/web_bench.py [--changes 50000] [--repeat 20] [--json bench/out/web.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402

from govwatch.web import create_app  # noqa: E402
from pipelines.text.normalize import normalizer  # noqa: E402
from samplesite.pages import generated_doc  # noqa: E402
from storage import VersionStore  # noqa: E402


def fill(db: Path, changes: int) -> None:
    key = normalizer()
    with VersionStore(db, sentence_key=key) as store:
        n = 0
        i = 0
        while n < changes:
            i += 1
            doc = generated_doc(i)
            url = f"http://127.0.0.1/gen/doc/{i}.html"
            facts = {
                "region": ["吴江区", "太仓市", "昆山市", "常熟市"][i % 4],
                "doc_type": "investment_news",
            }
            store.record(
                url,
                source=f"src{i % 12}",
                text=doc.text,
                norm_text=key(doc.text),
                title=doc.title,
                published=doc.date,
                facts=facts,
            )
            n += 1
            if n < changes:
                edited = doc.text.replace("。", "，并持续推进。", 1)
                store.record(
                    url,
                    source=f"src{i % 12}",
                    text=edited,
                    norm_text=key(edited),
                    title=doc.title,
                    published=doc.date,
                    facts=facts,
                )
                n += 1


def timed(url: str, repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as resp:
            resp.read()
        times.append((time.perf_counter() - start) * 1000)
    times = times[1:]  # the first request warms caches
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


def serve(db: Path) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, create_app(str(db)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "web.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty, db = Path(tmp) / "empty.db", Path(tmp) / "big.db"
        VersionStore(empty).close()
        start = time.perf_counter()
        fill(db, args.changes)
        print(f"filled {args.changes} changes in {time.perf_counter() - start:.0f} s")
        base_url, base_server = serve(empty)
        baseline = timed(base_url + "/feed.atom", args.repeat)
        base_server.shutdown()
        url, server = serve(db)
        q = urllib.parse.quote
        pages = {
            "change log, page 1": "/",
            "change log, page 500": "/?page=500",
            "filtered: region+kind+unreviewed": f"/?region={q('吴江区')}&kind=changed&reviewed=no",
            "filtered: source, page 20": "/?source=src3&page=20",
            "change page (diff)": f"/change/{args.changes - 1}",
            "document history": "/document/100",
            "Atom feed (100 entries)": "/feed.atom",
            "search, 3+ characters": "/search?q=" + q("招商引资"),
            "search, 2 characters": "/search?q=" + q("苏州"),
        }
        results = {name: timed(url + path, args.repeat) for name, path in pages.items()}
        server.shutdown()
    print(f"baseline (empty database, /feed.atom): {baseline['median_ms']:.1f} ms")
    print(f"{'page':<36} {'median ms':>10} {'max ms':>8} {'x baseline':>11}")
    for name, r in results.items():
        print(
            f"{name:<36} {r['median_ms']:>10.1f} {r['max_ms']:>8.1f} "
            f"{r['median_ms'] / baseline['median_ms']:>11.1f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {"changes": args.changes, "baseline": baseline, "pages": results},
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()

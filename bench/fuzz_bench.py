"""Fuzz the inputs govwatch reads from outside: sources.yaml texts and page bytes.

Mutates a valid sources file (fields deleted, retyped, set to odd values, YAML broken) and the
seed pages (bytes flipped, truncated, charsets mangled), feeds each to the same functions the
CLI and the crawl use, and counts outcomes: accepted, refused with one clear line
(SourceError / ValueError), and anything else, which is a bug (printed with its input).

    .venv/bin/python bench/fuzz_bench.py --sources 3000 --pages 600 --seed 1

Reports how many inputs were tried and how many gave a traceback (the target is 0).
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
import traceback
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.sources import SourceError, parse_sources_text  # noqa: E402
from govwatch.fetch import decode  # noqa: E402
from pipelines.extract import extract  # noqa: E402
from samplesite import SampleSite  # noqa: E402

ODD_VALUES = [
    None, "", " ", 0, -1, 1e308, 10**30, True, [], {}, [None], {"css": None}, "{m}", "{page}",
    "ftp://x/", "http://", "file:///etc/passwd", "../../etc", "\x00", "中文", "a" * 5000,
    {"xpath": "//a["}, {"css": "a[["}, "0.0001s", "-5m", "99999d", ["http://x.cn/{n}"],
    {"every": "0s"}, {"cron": "99 * * * *"}, {"template": "http://x/{m}", "last": 2},
    {"url": "http://x/a", "items": "[", "link": "u"}, {"DOWNLOAD_DELAY": "abc"},
    {"VERSIONS_DB_PATH": "/tmp/x"}, "*.x", ["*"],
]  # fmt: skip
BROKEN_YAML = ["a: [", "\t- x", "- &a [*a]", "{{", ": :", "!!python/object:os.system x", "%"]


def mutate_sources(rng: random.Random, base: dict) -> str:
    data = copy.deepcopy(base)
    for _ in range(rng.randint(1, 4)):
        entry = rng.choice(data["sources"])
        action = rng.random()
        key = rng.choice([*entry.keys(), "api", "pages", "schedule", "settings", "allowed_hosts"])
        if action < 0.3:
            entry.pop(key, None)
        elif action < 0.8:
            entry[key] = rng.choice(ODD_VALUES)
        elif action < 0.9:
            data["sources"].append(copy.deepcopy(entry))  # duplicate names
        else:
            data = rng.choice([[], "x", {"sources": None}, {"sources": [1, "a"]}, data])
            break
    text = yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data
    if rng.random() < 0.1:
        cut = rng.randint(0, len(text))
        text = text[:cut] + rng.choice(BROKEN_YAML) + text[cut:]
    return text


def mutate_page(rng: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    action = rng.random()
    if action < 0.3 and data:
        for _ in range(rng.randint(1, 50)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif action < 0.5:
        data = data[: rng.randint(0, len(data))]
    elif action < 0.7:
        data = bytearray(rng.randbytes(rng.randint(0, 4000)))
    elif action < 0.85:
        text = bytes(data).decode("utf-8", "replace")
        data = bytearray(
            text.encode(rng.choice(["gb18030", "big5", "utf-16", "latin-1"]), "replace")
        )
    else:
        data = bytearray(b"<html><body>" + b"<div>" * rng.randint(1, 5000) + b"x")
    return bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=3000)
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    site = SampleSite()
    base = {"sources": site.sources("http://127.0.0.1:9") + site.cms.sources("http://127.0.0.1:9")}
    bugs = 0
    counts = {"accepted": 0, "refused": 0}
    started = time.perf_counter()
    for _ in range(args.sources):
        text = mutate_sources(rng, base)
        try:
            parse_sources_text(text, "fuzz.yaml")
            counts["accepted"] += 1
        except SourceError as exc:
            counts["refused"] += 1
            if "\n" in str(exc):
                bugs += 1
                print(f"multi-line error: {exc!r}")
        except Exception:
            bugs += 1
            print(f"TRACEBACK on sources text:\n{text[:2000]}\n{traceback.format_exc()}")
    sources_seconds = time.perf_counter() - started
    pages = [site.render(path)[2] for path in list(site.docs)[:20]]
    page_counts = {"extracted": 0, "refused": 0, "empty": 0}
    started = time.perf_counter()
    for _ in range(args.pages):
        body = mutate_page(rng, rng.choice(pages))
        try:
            text, _ = decode(body, "http://127.0.0.1/x.html", {"Content-Type": "text/html"})
            result = extract(text, "http://127.0.0.1/x.html")
            page_counts["extracted" if result else "empty"] += 1
        except ValueError:
            page_counts["refused"] += 1
        except Exception:
            bugs += 1
            print(f"TRACEBACK on page bytes {body[:200]!r}\n{traceback.format_exc()}")
    pages_seconds = time.perf_counter() - started
    print(
        f"sources.yaml: {args.sources} inputs in {sources_seconds:.1f} s: "
        f"{counts['accepted']} accepted, {counts['refused']} refused with one line"
    )
    print(
        f"pages: {args.pages} inputs in {pages_seconds:.1f} s: {page_counts['extracted']} "
        f"extracted, {page_counts['empty']} empty, {page_counts['refused']} refused"
    )
    print(f"tracebacks or multi-line errors: {bugs}")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())

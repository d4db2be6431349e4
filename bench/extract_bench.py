"""Extraction quality on pages built from the five seeds, and on charset-mangled variants.

For each page: character-bigram precision, recall and F1 of the extracted text against the
page's main text (whitespace removed: Chinese has no word separators), and whether title,
date, region and type are right. govwatch (charset detection + trafilatura + Chinese rules)
is compared with plain trafilatura defaults given the same raw bytes.

Then the same for real pages with hand-made gold (``../shared/realpages``: raw bytes, gold text
and date), for govwatch and for plain trafilatura given the text decoded as the page declares
it (w3lib, as Scrapy decodes): mean bigram P/R/F1, dates right (of the pages whose gold has a
date), pages with mojibake, pages refused (no text at all).

    python bench/extract_bench.py [--json bench/out/extract.json] [--realpages DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from pipelines.extract import extract  # noqa: E402
from pipelines.text.charsets import UndecodablePage, decode_body  # noqa: E402
from samplesite import SampleSite  # noqa: E402

# path, expected title, date, region, type
PAGES = [
    ("/invest/news/1001.html", "香港苏州商会成立 搭建苏港产业科技文化合作新平台", "2025-07-16",
     "苏州市", "investment_news"),
    ("/invest/news/1002.html", "2018年太仓市人民政府工作报告", "2025-07-16", "太仓市",
     "work_report"),
    ("/wujiang/art/2019/1/30/art_8_1.html", "吴江区2019年政府工作报告", "2019-01-30", "吴江区",
     "work_report"),
    ("/bxw/baogao/huadong/12083.html", "(江苏省)苏州市吴中区人民政府工作报告(2025年1月6日)",
     "2025-01-06", "吴中区", "work_report"),
    ("/mirror/news/2024/0108/cs2024.html", "(江蘇?。?024年常熟市人民政府工作報告", "2024-01-09",
     "常熟市", "work_report"),
    ("/docshare/p-20230105.html", "太仓市2023年政府工作报告(20230105)", "2023-01-05", "太仓市",
     "work_report"),
]  # fmt: skip
# variant -> (how the bytes are made, Content-Type)
VARIANTS = {
    "as served": None,
    "GBK declared UTF-8": ("gb18030", "text/html; charset=utf-8"),
    "UTF-8 declared GBK": ("utf-8", "text/html; charset=gbk"),
    "Big5, no declaration": ("big5hkscs", "text/html"),
}
_WS = re.compile(r"\s+")
_META = re.compile(r"<meta[^>]+charset=[^>]+>", re.I)


def bigrams(text: str) -> Counter[str]:
    t = _WS.sub("", text)
    return Counter(t[i : i + 2] for i in range(len(t) - 1))


def prf(got: str, truth: str) -> tuple[float, float, float]:
    g, t = bigrams(got), bigrams(truth)
    common = sum((g & t).values())
    p = common / max(1, sum(g.values()))
    r = common / max(1, sum(t.values()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def variant_bytes(
    html: str, how: tuple[str, str] | None, served: tuple[bytes, str]
) -> tuple[bytes, str]:
    if how is None:
        return served
    encoding, ctype = how
    return _META.sub("", html).encode(encoding, "ignore"), ctype


def run_govwatch(body: bytes, ctype: str, url: str) -> dict:
    decoded = decode_body(body, ctype)
    result = extract(decoded.text, url)
    if result is None:
        return {"text": "", "title": None, "date": None, "region": None, "type": None}
    return {
        "text": result.text,
        "title": result.title,
        "date": result.published,
        "region": result.facts["region"],
        "type": result.facts["doc_type"],
    }


def run_trafilatura(body: bytes, url: str) -> dict:
    doc = trafilatura.bare_extraction(body, url=url, with_metadata=True)
    if doc is None:
        return {"text": "", "title": None, "date": None, "region": None, "type": None}
    return {
        "text": doc.text or "",
        "title": doc.title,
        "date": doc.date,
        "region": None,
        "type": None,
    }


MOJIBAKE = re.compile("[\ufffd]|[ÃÂâ][\x80-\xbf€™œ]|[¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿]{2}")


def realpages(folder: Path) -> list[dict]:
    """govwatch and decode-then-trafilatura on each real page against its gold."""
    import time

    from w3lib.encoding import html_to_unicode

    rows = []
    for page in sorted((folder / "pages").glob("*.html")):
        gold = json.loads((folder / "gold" / f"{page.stem}.json").read_text(encoding="utf-8"))
        body = page.read_bytes()
        url = f"http://127.0.0.1/{page.name}"
        started = time.perf_counter()
        try:
            decoded = decode_body(body, None)
            result = extract(decoded.text, url)
            ours = {
                "text": result.text if result else "",
                "date": result.published if result else None,
                "broken": decoded.broken,
            }
        except UndecodablePage:
            ours = {"text": "", "date": None, "broken": None}
        ms = 1000 * (time.perf_counter() - started)
        _, declared_text = html_to_unicode(None, body)
        doc = trafilatura.bare_extraction(declared_text, url=url, with_metadata=True)
        plain = {"text": (doc.text or "") if doc else "", "date": doc.date if doc else None}
        for tool, out in (("govwatch", ours), ("trafilatura", plain)):
            p, r, f = prf(out["text"], gold["text"])
            rows.append({
                "page": page.name, "tool": tool, "precision": p, "recall": r, "f1": f,
                "gold_date": gold_date(gold.get("date")),
                "date": (out["date"] or "")[:10] or None,
                "mojibake": bool(MOJIBAKE.search(out["text"])),
                "refused": not out["text"], "ms": ms if tool == "govwatch" else None,
            })  # fmt: skip
    return rows


def gold_date(value: str | None) -> str | None:
    """A gold date ("2005-5-7 2", "1998-3", "2018") as YYYY[-MM[-DD]], to the precision it has."""
    parts = re.findall(r"\d+", value or "")[:3]
    if not parts or len(parts[0]) != 4:
        return None
    return "-".join([parts[0], *(f"{int(x):02d}" for x in parts[1:])])


def date_right(found: str | None, gold: str | None) -> bool:
    return bool(found and gold and found[: len(gold)] == gold)


def print_realpages(rows: list[dict]) -> None:
    print(f"\n{'real page':<16} {'tool':<11} {'P':>5} {'R':>5} {'F1':>5} {'date':<10} gold")
    for r in rows:
        print(
            f"{r['page']:<16} {r['tool']:<11} {r['precision']:5.3f} {r['recall']:5.3f} "
            f"{r['f1']:5.3f} {r['date'] or '-':<10} {r['gold_date'] or '-'}"
        )
    for tool in ("govwatch", "trafilatura"):
        mine = [r for r in rows if r["tool"] == tool]
        n, dated = len(mine), [r for r in mine if r["gold_date"]]
        right = sum(date_right(r["date"], r["gold_date"]) for r in dated)
        mean = {k: sum(r[k] for r in mine) / n for k in ("precision", "recall", "f1")}
        timing = ""
        if tool == "govwatch":
            timing = f", {sum(r['ms'] for r in mine) / n:.1f} ms/page (decode + extract)"
        print(
            f"{tool:<11} real pages {n}: P {mean['precision']:.3f} R {mean['recall']:.3f} "
            f"F1 {mean['f1']:.3f}, dates {right}/{len(dated)}, mojibake "
            f"{sum(r['mojibake'] for r in mine)}, refused {sum(r['refused'] for r in mine)}"
            f"{timing}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "extract.json")
    parser.add_argument(
        "--realpages", type=Path, default=ROOT.parent / "shared" / "realpages",
        help="real pages with gold text (pages/*.html, gold/*.json); skipped when absent",
    )  # fmt: skip
    args = parser.parse_args()
    site = SampleSite()
    rows = []
    for path, title, date, region, kind in PAGES:
        doc = site.doc(path)
        truth = doc.text
        _, ctype, body, _ = site.render(path)
        html = decode_body(body, ctype).text
        for variant, how in VARIANTS.items():
            if variant.startswith("Big5") and doc.site != "mirror":
                continue
            vbody, vctype = variant_bytes(html, how, (body, ctype))
            url = "http://127.0.0.1" + path
            for tool, out in (
                ("govwatch", run_govwatch(vbody, vctype, url)),
                ("trafilatura", run_trafilatura(vbody, url)),
            ):
                p, r, f = prf(out["text"], truth)
                rows.append(
                    {
                        "page": path,
                        "variant": variant,
                        "tool": tool,
                        "precision": p,
                        "recall": r,
                        "f1": f,
                        "title_ok": out["title"] == title,
                        "date_ok": (out["date"] or "")[:10] == date,
                        "region_ok": out["region"] == region,
                        "type_ok": out["type"] == kind,
                        "mojibake": "\ufffd" in out["text"] or "Ã" in out["text"],
                    }
                )
    print(
        f"{'page':<38} {'variant':<22} {'tool':<11} {'P':>5} {'R':>5} {'F1':>5} "
        f"title date region type"
    )
    for r in rows:
        print(
            f"{r['page']:<38} {r['variant']:<22} {r['tool']:<11} {r['precision']:5.3f} "
            f"{r['recall']:5.3f} {r['f1']:5.3f} {'ok' if r['title_ok'] else '--':>5} "
            f"{'ok' if r['date_ok'] else '--':>4} {'ok' if r['region_ok'] else '--':>6} "
            f"{'ok' if r['type_ok'] else '--':>4}"
        )
    print()
    for tool in ("govwatch", "trafilatura"):
        mine = [r for r in rows if r["tool"] == tool]
        n = len(mine)
        print(
            f"{tool:<11} pages {n}: mean F1 {sum(r['f1'] for r in mine) / n:.3f}, "
            f"min F1 {min(r['f1'] for r in mine):.3f}, titles {sum(r['title_ok'] for r in mine)}"
            f"/{n}, dates {sum(r['date_ok'] for r in mine)}/{n}, regions "
            f"{sum(r['region_ok'] for r in mine)}/{n}, types {sum(r['type_ok'] for r in mine)}"
            f"/{n}, pages with mojibake {sum(r['mojibake'] for r in mine)}"
        )
    real = realpages(args.realpages) if (args.realpages / "pages").is_dir() else []
    if real:
        print_realpages(real)
    else:
        print(f"\n(no real pages at {args.realpages}: skipped)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    out = {"seed_pages": rows, "real_pages": real}
    args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

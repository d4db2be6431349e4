"""``govwatch demo``: the main job on the embedded sample site.

Starts the sample site on 127.0.0.1, crawls its sources (and the CMS-style portal's JSON, POST,
script-paged and rendered lists) into data/demo.db (started afresh),
edits three documents and a PDF attachment, crawls again and prints the change log: four
``changed`` entries with their diffs and nothing else, although the GBK portal's visit counter
changed on every request.
"""

from __future__ import annotations

from pathlib import Path

import click

from govwatch.runner import run_crawls
from samplesite import SampleSite
from storage import VersionStore

EDITS = [
    (
        "/wujiang/art/2019/1/30/art_8_1.html",
        "预计实现地区生产总值1930亿元",
        "预计实现地区生产总值1931亿元",
    ),
    (
        "/invest/news/1001.html",
        "标志着苏港合作进入更紧密的新阶段。",
        "标志着苏港合作进入更紧密的新阶段。首批23家会员企业在成立大会上现场签约。",
    ),
]
# The CMS-style portal's healthy columns: a JSON GET list, a POST list, createPageHTML lists
# and a list built by a script (rendered in Chromium).
DEMO_CMS = 4
# Local site: no need to wait between requests.
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}


def run_demo(data_dir: Path) -> int:
    from govwatch.textformat import format_change

    data_dir.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    site = SampleSite()
    base = site.start()
    sources_path = data_dir / "demo-sources.yaml"
    entries = site.sources() + site.cms_sources()[:DEMO_CMS]
    sources_path.write_text(site.sources_yaml(entries=entries), encoding="utf-8")
    names = [s["name"] for s in entries]
    try:
        click.echo(f"Sample site serving {len(site.docs)} documents at {base}")
        first = _crawl("First crawl", names, db_path, sources_path)
        # one on the POST-list portal: "第1号。" becomes "第1号（修订）。"; and one sentence of
        # the work report PDF that a createPageHTML-paged page links to (every later line
        # break moves: still one changed sentence)
        report = next(f for f in site.cms.files.values() if f.kind == "pdf")
        words = report.paragraphs[1][:10]
        edits = [
            *EDITS,
            (site.cms.columns["post"][0].path, "第1号。", "第1号（修订）。"),
            (report.path, words, words + "（修订）"),
        ]
        click.echo(f"\nEditing {len(edits)} documents on the site:")
        for path, old, new in edits:
            site.edit(path, old, new)
            click.echo(f"  {path}: {old[-12:]} -> {new[-16:]}")
        second = _crawl("Second crawl", names, db_path, sources_path)
    finally:
        site.stop()
    with VersionStore(db_path) as store:
        run_ids = {r["id"] for r in second}
        flagged = [c for c in store.changes() if c["run_id"] in run_ids]
        click.echo(f"\nChange log of the second crawl ({len(flagged)} entries):\n")
        for c in flagged:
            click.echo(format_change(store.change(c["id"])) + "\n")
    ok = all(r["outcome"] == "ok" for r in first + second)
    click.echo(f"Database: {db_path}  (try: govwatch --db {db_path} changes)")
    if not ok or len(flagged) != len(edits):
        click.echo("demo: unexpected result (see the run log above)", err=True)
        return 1
    return 0


def _crawl(label: str, names: list[str], db_path: Path, sources_path: Path) -> list[dict]:
    rows = run_crawls(names, db_path=db_path, sources_path=sources_path, settings=FAST)
    click.echo(f"\n{label}:")
    for r in rows:
        click.echo(
            f"  {r['source']:<18} {r['outcome']:<6} {r['pages']:>3} pages "
            f"{r['new']:>3} new {r['changed']:>3} changed {r['errors']:>3} errors"
        )
    return rows

"""Reviewing as a person does it: diffs in context, whole texts, numbered versions, bulk review
and un-review, aligned tables in one time zone, search with several terms, stable feed ids,
digests people can act on, and the sources/runs pages with "check now"."""

from __future__ import annotations

import json
import re
import time

import pytest
from wcwidth import wcswidth

from govwatch.notify import build_digest, notify_run, split_digest
from govwatch.web import create_app
from pipelines.text.normalize import normalizer
from storage import VersionStore
from tests.conftest import FAST, govwatch, write_sources

URL = "http://x.test/art/report.html"
OLD = (
    "一、2023年工作回顾\n今年全市经济运行总体平稳。地区生产总值1930亿元，增长5.1%。"
    "外贸进出口保持稳定。\n二、2024年主要目标\n就业保持稳定。居民收入稳步增长。"
    "物价总体平稳。生态环境持续改善。安全生产形势稳定。"
)
NEW = OLD.replace("1930亿元", "1931亿元").replace("安全生产形势稳定。", "安全生产形势稳定向好。")


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "g.db"
    key = normalizer()
    with VersionStore(path, sentence_key=key) as store:
        for text in (OLD, NEW):
            store.record(
                URL, source="wujiang", text=text, norm_text=key(text), title="政府工作报告"
            )
        store.record("http://x.test/art/2.html", source="太仓市政府网", text="太仓市签约重大项目。",
                     title="太仓市招商引资签约")  # fmt: skip
    return path


def lines(out):
    return [json.loads(x) for x in out.stdout.splitlines() if x.strip()]


def test_show_puts_each_change_in_its_place(db):
    out = govwatch("show", "2", "--context", "1", db=db)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "§ 一、2023年工作回顾" in text
    assert "§ 二、2024年主要目标" in text
    assert "▶ 地区生产总值 1930亿元 → 1931亿元" in text
    assert "  今年全市经济运行总体平稳。" in text  # one sentence of context before
    assert "unchanged sentence(s)" in text  # the run between the two changes, collapsed
    data = json.loads(govwatch("show", "2", "--json", db=db).stdout)
    assert [b["heading"] for b in data["blocks"]] == ["一、2023年工作回顾", "二、2024年主要目标"]
    new = json.loads(govwatch("show", "1", "--json", db=db).stdout)
    assert new["kind"] == "new"
    assert new["text"] == OLD
    page = create_app(str(db)).test_client().get("/change/2?context=1").get_data(as_text=True)
    assert "§ 二、2024年主要目标" in page
    assert "▶ 地区生产总值 1930亿元 → 1931亿元" in page
    assert "<details><summary>… 4 句未变" in page  # the unchanged run between, collapsed
    assert "居民收入稳步增长。" in page  # ... and there when opened


def test_versions_are_numbered_per_document_and_readable(db):
    history = lines(govwatch("history", URL, "--json", db=db))
    assert [v["version"] for v in history] == [1, 2]
    assert govwatch("text", URL, "--version", "1", db=db).stdout.splitlines()[1:] == OLD.split("\n")
    diff = govwatch("diff", URL, "1", "2", db=db).stdout
    assert "version 1 → 2: 2 modified" in diff
    assert "1931亿元" in diff
    bad = govwatch("text", URL, "--version", "3", db=db)
    assert bad.returncode == 1
    assert "no version 3" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_bulk_review_and_unreview(db):
    assert "Marked 1 change(s) reviewed." in govwatch("review", "2", db=db).stdout
    again = govwatch("review", "2", db=db).stdout
    assert "Marked 0 change(s) reviewed. Already reviewed: 2." in again
    done = govwatch("review", "--all", "--source", "wujiang", db=db).stdout
    assert "Marked 1 change(s) reviewed." in done  # change 1; 2 was already
    assert [c["id"] for c in lines(govwatch("changes", "--json", "--unreviewed", db=db))] == [3]
    assert "Marked 2 change(s) not reviewed." in govwatch("unreview", "1", "2", db=db).stdout
    both = govwatch("review", "1", "--all", db=db)
    assert both.returncode == 2
    assert "give change ids, or --all" in both.stderr


def test_tables_align_chinese_and_show_one_time_zone(db):
    out = govwatch("--tz", "Asia/Shanghai", "changes", db=db).stdout.splitlines()
    assert "detected (Asia/Shanghai)" in out[0]
    rows = [x for x in out[1:] if "#" in x]
    starts = {wcswidth(x[: x.index("+08")]) for x in rows}  # the time column ends alike
    assert len(starts) == 1
    assert all(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d \+08", x) for x in rows)
    assert govwatch("--tz", "Mars/Base", "changes", db=db).returncode == 2


def test_search_terms_phrases_filters_and_highlight(db):
    with VersionStore(db) as store:
        key = normalizer()
        assert [h["url"] for h in store.search("地区生产总值 居民收入", normalise=key)] == [URL]
        assert store.search("地区生产总值 签约", normalise=key) == []  # AND, not OR
        assert store.search('"居民收入稳步"', normalise=key)[0]["url"] == URL
        assert store.search("签约", normalise=key, source="wujiang") == []
    client = create_app(str(db)).test_client()
    page = client.get("/search?q=太仓 签约").get_data(as_text=True)
    assert "<mark>太仓</mark>" in page
    assert "<mark>签约</mark>" in page


def test_feed_ids_do_not_depend_on_the_host(db):
    client = create_app(str(db)).test_client()
    one = client.get("/feed.atom", base_url="http://127.0.0.1:8700").get_data(as_text=True)
    two = client.get("/feed.atom", base_url="http://10.0.0.5:9000").get_data(as_text=True)
    ids = re.findall(r"<entry><id>([^<]+)</id>", one)
    assert ids == re.findall(r"<entry><id>([^<]+)</id>", two)
    assert all(i.startswith("tag:govwatch,2024:") for i in ids)
    assert "&lt;ins&gt;安全生产形势稳定向好。&lt;/ins&gt;" in one  # the changed sentences


def test_digests_split_to_each_target_and_quote_sentences(db):
    with VersionStore(db) as store:
        change = store.change(2)
        digest = build_digest("吴江区", [change] * 60, "http://ui/", {2: change["diff"]})
    assert "+ 安全生产形势稳定向好。" in digest.body
    parts = split_digest(digest, 4000, "http://ui/?source=wujiang")
    assert 1 < len(parts) <= 5
    assert all(len((p.title + p.body).encode()) <= 4000 for p in parts)
    assert all(p.body.endswith("全部 full list: http://ui/?source=wujiang") for p in parts)
    assert split_digest(digest, 60_000, "x") == [digest]
    from govwatch.notify import limit_for

    assert limit_for("wecombot://KEY") < 2048 < limit_for("dingtalk://TOKEN/")


def test_a_first_crawl_is_one_baseline_message(tmp_path):
    from crawler.sources import Rule

    path = tmp_path / "g.db"
    with VersionStore(path) as store:
        run = store.start_run("s")
        for n in range(300):
            store.record(f"http://x.test/{n}.html", source="s", text=f"第{n}篇文件正文。",
                         title=f"文件{n}", run_id=run)  # fmt: skip
        rules = [Rule(("json://127.0.0.1:9/",)), Rule(("json://127.0.0.1:9/b",), baseline="notify")]
        notify_run(store, run_id=run, source="s", source_title="来源", rules=rules,
                   base_url="http://ui/", retries=1, pause=0)  # fmt: skip
        sent = store.db.execute("select title, body, target from notifications").fetchall()
    baseline = [t for t, _, _ in sent if "now watching 300 documents" in t]
    assert len(baseline) == 1
    backlog = [t for t, _, _ in sent if "300 new" in t]
    assert backlog  # the rule with baseline: notify gets the backlog, as before
    assert len(sent) == 1 + len(backlog)


@pytest.mark.slow
def test_sources_runs_and_check_now(site, tmp_path):
    db = tmp_path / "g.db"
    sources = write_sources(tmp_path / "s.yaml", [{**site.sources()[0], "settings": dict(FAST)}])
    name = site.sources()[0]["name"]
    assert govwatch("crawl", name, db=db, sources=sources).returncode == 0
    client = create_app(str(db), sources_path=str(sources)).test_client()
    page = client.get("/sources").get_data(as_text=True)
    assert name in page
    assert "立即检查 Check now" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    origin = {"Origin": "http://localhost"}
    started = client.post(f"/sources/{name}/check", data={"csrf_token": token}, headers=origin)
    assert started.status_code == 302
    again = client.post(f"/sources/{name}/check", data={"csrf_token": token}, headers=origin)
    assert "already running" in client.get("/sources").get_data(as_text=True) or again
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with VersionStore(db) as store:
            runs = store.runs(name)
        if len(runs) == 2 and runs[0]["outcome"] != "running":
            break
        time.sleep(0.5)
    assert [r["outcome"] for r in runs] == ["ok", "ok"]
    assert runs[0]["trigger"] == "manual"
    listing = client.get("/runs").get_data(as_text=True)
    assert f"#{runs[0]['id']}" in client.get("/sources").get_data(as_text=True)
    assert name in listing

"""The govwatch command: its JSON contracts and its one-line errors."""

from __future__ import annotations

import json

import pytest

from samplesite import SampleSite
from storage import VersionStore
from tests.conftest import govwatch, scrapy_crawl

CHANGE_KEYS = {"id", "kind", "url", "source", "title", "detected_at", "added", "removed"}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """The invest portal crawled, then one document edited and crawled again."""
    tmp = tmp_path_factory.mktemp("cli")
    with SampleSite() as site:
        sources = tmp / "sources.yaml"
        sources.write_text(site.sources_yaml(), encoding="utf-8")
        db = tmp / "g.db"
        assert scrapy_crawl("sample_invest", db, sources).returncode == 0
        site.edit("/invest/news/1003.html", "2023年", "2024年")
        assert scrapy_crawl("sample_invest", db, sources).returncode == 0
        yield {"db": db, "sources": sources, "base": site.base_url}


def lines(result):
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_changes_json_contract(crawled):
    rows = lines(govwatch("changes", "--json", db=crawled["db"]))
    assert len(rows) == 11
    assert all(set(r) >= CHANGE_KEYS for r in rows)
    assert rows[0]["kind"] == "changed"  # newest first
    assert rows[0]["url"] == crawled["base"] + "/invest/news/1003.html"
    assert rows[0]["removed"] == 0
    assert rows[0]["added"] == 0
    kinds = lines(
        govwatch(
            "changes",
            "--json",
            "--kind",
            "new",
            "--since",
            "1d",
            "--source",
            "sample_invest",
            db=crawled["db"],
        )
    )
    assert {r["kind"] for r in kinds} == {"new"}
    assert len(kinds) == 10
    assert lines(govwatch("changes", "--json", "--since", "2999-01-01", db=crawled["db"])) == []


def test_show_prints_the_diff(crawled):
    change_id = lines(govwatch("changes", "--json", "--kind", "changed", db=crawled["db"]))[0]["id"]
    out = govwatch("show", str(change_id), db=crawled["db"])
    assert out.returncode == 0
    assert "202[-3-]{+4+}年" in out.stdout  # the changed character, marked
    assert "\x1b[" not in out.stdout  # no colour codes when not on a terminal


def test_history_json(crawled):
    url = crawled["base"] + "/invest/news/1003.html"
    versions = lines(govwatch("history", url, "--json", db=crawled["db"]))
    assert len(versions) == 2
    assert {"id", "fetched_at", "title", "published", "text"} <= set(versions[0])
    assert "2023年" in versions[0]["text"]
    assert "2024年" in versions[1]["text"]


def test_review_and_unreviewed(crawled, tmp_path):
    db = tmp_path / "copy.db"
    with VersionStore(crawled["db"]) as store:
        store.db.execute("vacuum into ?", [str(db)])
    first = lines(govwatch("changes", "--json", "--unreviewed", db=db))
    assert govwatch("review", str(first[0]["id"]), db=db).returncode == 0
    assert len(lines(govwatch("changes", "--json", "--unreviewed", db=db))) == len(first) - 1
    assert "no change with id 9999" in govwatch("review", "9999", db=db).stderr


def test_runs_json(crawled):
    runs = lines(govwatch("runs", "--json", db=crawled["db"]))
    assert [r["outcome"] for r in runs] == ["ok", "ok"]
    assert {
        "id",
        "source",
        "trigger",
        "started_at",
        "finished_at",
        "pages",
        "new",
        "changed",
        "errors",
    } <= set(runs[0])


def test_extract_json_one_object_per_input(tmp_path):
    site = SampleSite()
    gbk = tmp_path / "gbk.html"
    gbk.write_bytes(site.render("/wujiang/art/2019/1/30/art_8_1.html")[2])
    bad = tmp_path / "bad.html"
    bad.write_bytes(b"")
    out = govwatch("extract", "--json", str(gbk), str(tmp_path / "missing.html"), str(bad))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 1  # some inputs failed
    assert [r["source"] for r in rows] == [str(gbk), str(tmp_path / "missing.html"), str(bad)]
    assert rows[0]["title"] == "吴江区2019年政府工作报告"
    assert rows[0]["published"] == "2019-01-30"
    assert "预计实现地区生产总值1930亿元" in rows[0]["text"]
    assert "error" in rows[1]
    assert "error" in rows[2]


def test_extract_url_from_local_server():
    with SampleSite() as site:
        out = govwatch("extract", "--json", site.base_url + "/docshare/p-20230105.html")
    (row,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert row["title"] == "太仓市2023年政府工作报告(20230105)"
    assert "客服" not in row["text"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "no_such_source"], "unknown source(s): no_such_source"),
        (["show", "12345"], "no change with id 12345"),
        (["history", "http://127.0.0.1/none"], "no document with url"),
        (["changes", "--since", "yesterday-ish"], "use 7d, 12h or a date"),
    ],
)
def test_one_line_errors(crawled, args, message):
    out = govwatch(*args, db=crawled["db"], sources=crawled["sources"])
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_unwritable_database_path(tmp_path, crawled):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = govwatch("crawl", db=blocker / "g.db", sources=crawled["sources"])
    assert out.returncode == 1
    assert out.stderr.startswith("Error: cannot open database")
    assert "Traceback" not in out.stderr


def test_bad_sources_file(tmp_path, crawled):
    bad = tmp_path / "s.yaml"
    bad.write_text("sources:\n  - name: x\n    title: t\n", encoding="utf-8")
    out = govwatch("crawl", db=crawled["db"], sources=bad)
    assert out.returncode == 1
    assert (
        out.stderr.strip() == f"Error: {bad}: source 'x': field 'region': is required and "
        "must be a non-empty string"
    )


@pytest.mark.slow
def test_demo(tmp_path):
    out = govwatch("demo", cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "Change log of the second crawl (4 entries)" in out.stdout
    assert out.stdout.count(" changed: ") == 4
    assert "第1号（修订）。" in out.stdout  # the POST-list portal's edited document
    with VersionStore(tmp_path / "data" / "demo.db") as store:
        changed = store.changes(kind="changed")
        assert len(changed) == 4
        (pdf,) = [c for c in changed if c["content_type"] == "application/pdf"]
        assert (pdf["modified"], pdf["added"], pdf["removed"]) == (1, 0, 0)  # one sentence
        site = SampleSite()
        cms = sum(len(site.cms.columns[c]) for c in ("json", "post", "ks", "trs", "script"))
        assert len(store.changes(kind="new")) == len(site.docs) + cms + len(site.cms.files)
        assert {r["outcome"] for r in store.runs(limit=None)} == {"ok"}

"""The portals as they are: JSON and POST list endpoints, createPageHTML paging, rendered lists,
blocked hosts, redesigned pages, source health, and the check/probe tools.

Crawls are real (``govwatch crawl`` / ``scrapy crawl`` child processes) against the sample
site's CMS-style portal under /cms/ on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import yaml

from crawler.sources import SourceError, load_sources
from samplesite.cms import CHANNEL, COLUMNS
from spiders.blocked import challenge_reason
from spiders.lists import api_entries, load_json, script_pages
from storage import VersionStore
from tests.conftest import FAST, govwatch, scrapy_crawl, write_sources
from tests.test_notify import Receiver


def cms_entries(site, *names):
    entries = {e["name"]: e for e in site.cms_sources()}
    return [{**entries[n], "settings": dict(FAST)} for n in names]


@pytest.fixture
def hook():
    receiver = Receiver()
    yield receiver
    receiver.stop()


# -- list reading, without a crawl --------------------------------------------------------------


def test_create_page_html_both_forms():
    base = "http://x.test/col/common_list.shtml"
    named = "createPageHTML('page_div', 4, 1, 'common_list', 'shtml', 40);"
    assert script_pages(named, base, 50) == [
        "http://x.test/col/common_list_2.shtml",
        "http://x.test/col/common_list_3.shtml",
        "http://x.test/col/common_list_4.shtml",
    ]
    trs = 'createPageHTML(22, 0, "index", "html");'
    pages = script_pages(trs, "http://x.test/col/index.html", 5)
    assert pages == [f"http://x.test/col/index_{k}.html" for k in range(1, 5)]  # 5 in all
    assert script_pages("<p>no paging</p>", base, 50) == []


def test_api_answer_encoded_twice_and_filtered_with_jmespath(tmp_path):
    inner = {"data": {"list": [{"title": "文件一", "url": "/a/1.shtml",
                                "published_time": "2024-01-02", "channel_name": "区政府文件"},
                               {"title": "别的", "url": "/b/2.shtml", "channel_name": "其他"}],
                      "totalPage": 3}}  # fmt: skip
    body = json.dumps(json.dumps(inner, ensure_ascii=False)).encode()
    data = load_json(body)
    entry = {
        "name": "x", "title": "x", "region": "吴江区", "category": "policy",
        "api": {"url": "http://x.test/api?currentPage={page}", "method": "POST",
                "items": "data.list[?channel_name=='区政府文件']", "link": "url",
                "title": "title", "date": "published_time", "total_pages": "data.totalPage"},
    }  # fmt: skip
    (source,) = load_sources(write_sources(tmp_path / "s.yaml", [entry])).values()
    (found,) = api_entries(data, source.api, source.api.page_url(1))
    assert (found.url, found.title, found.date) == (
        "http://x.test/a/1.shtml",
        "文件一",
        "2024-01-02",
    )


@pytest.mark.parametrize(
    ("api", "words"),
    [
        ({"url": "http://x.test/a", "items": "data.[", "link": "url"}, "api.items': invalid"),
        ({"url": "http://x.test/a", "form": {"p": "{page}"}, "items": "a", "link": "u"},
         "api.method': a form or json body needs method: POST"),
        ({"url": "http://x.test/a", "link": "u"}, "needs 'items'"),
        ({"url": "ftp://x.test/a", "items": "a", "link": "u"}, "not an http(s) URL"),
        ({"url": "http://x.test/a", "items": "a", "link": "u", "pages": {"last": "x"}},
         "api.pages.last': must be a whole number"),
    ],
)  # fmt: skip
def test_bad_api_block_is_one_line(tmp_path, api, words):
    entry = {"name": "x", "title": "x", "region": "x", "category": "news", "api": api}
    with pytest.raises(SourceError) as err:
        load_sources(write_sources(tmp_path / "s.yaml", [entry]))
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_challenges_are_recognised_and_real_pages_are_not():
    challenge = b"<script>document.cookie='__jsl_clearance=1';location.href=location.href</script>"
    assert "412" in challenge_reason(412, b"<script>$_ts=window['$_ts']</script>")
    assert "challenge" in challenge_reason(521, challenge)
    assert "challenge" in challenge_reason(200, challenge)
    assert challenge_reason(403, b"Forbidden")
    page = ("<html><body>" + "<p>苏州市政府工作报告全文。</p>" * 50 + "<script>"
            "document.cookie='a=1';location.href='/x'</script></body></html>").encode()  # fmt: skip
    assert challenge_reason(200, page) is None
    assert challenge_reason(404, challenge) is None  # gone is gone, not blocked


# -- crawls over HTTP -------------------------------------------------------------------------


def test_json_post_and_script_paged_lists_are_crawled(site, tmp_path, db_path):
    names = ("cms_json", "cms_post", "cms_script_pages")
    sources = write_sources(tmp_path / "s.yaml", cms_entries(site, *names))
    out = govwatch("crawl", *names, "--json", db=db_path, sources=sources)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = {r["source"]: r for r in map(json.loads, out.stdout.splitlines())}
    expected = {"cms_json": COLUMNS["json"][2], "cms_post": COLUMNS["post"][2]}
    # the trs column links attachments too (tests/test_attachments.py)
    expected["cms_script_pages"] = COLUMNS["ks"][2] + COLUMNS["trs"][2] + len(site.cms.files)
    assert {n: (r["outcome"], r["new"], r["errors"]) for n, r in runs.items()} == {
        n: ("ok", count, 0) for n, count in expected.items()
    }
    # every page of each structure was read, and the POST endpoint got POSTs with the form
    assert site.hits["/cms/appsearch/wjapi/list"] == 3  # totalPage 3: no fourth request
    assert site.hits["/cms/ks/common_list_3.shtml"] == 1
    assert site.hits["/cms/trs/index_1.html"] == 1
    with VersionStore(db_path) as store:
        docs = {d.path: d for d in site.cms.columns["json"]}
        for doc in store.db.query(
            "select d.url, v.title, v.published from documents d join versions v "
            "on v.id = d.latest_version_id where d.source = 'cms_json'"
        ):
            cms = docs["/" + doc["url"].split("/", 3)[3]]
            assert doc["title"] == cms.title
            assert doc["published"] == cms.date  # the page has no date: the list's is kept
    assert "scrapy_playwright" not in out.stderr  # no browser for sources without render:


@pytest.mark.slow
def test_list_built_by_a_script_is_rendered_in_chromium(site, tmp_path, db_path):
    sources = write_sources(tmp_path / "s.yaml", cms_entries(site, "cms_rendered"))
    result = scrapy_crawl("cms_rendered", db_path, sources)
    assert result.returncode == 0, result.stderr[-3000:]
    with VersionStore(db_path) as store:
        (run,) = store.runs()
        assert (run["outcome"], run["new"], run["errors"]) == ("ok", COLUMNS["script"][2], 0)
        titles = {r["title"] for r in store.db.query("select title from versions")}
    assert titles == {d.title for d in site.cms.columns["script"]}  # no mojibake either


def test_blocked_host_fails_the_run_is_never_a_change_and_backs_off(site, tmp_path, db_path):
    sources = write_sources(tmp_path / "s.yaml", cms_entries(site, "cms_blocked"))
    out = govwatch("crawl", "cms_blocked", db=db_path, sources=sources)
    assert out.returncode == 1
    assert "cms_blocked: failed (blocked)" in out.stderr + out.stdout
    assert site.hits.get("/cms/waf/list.html") == 1  # no retry loop against the gateway
    with VersionStore(db_path) as store:
        (run,) = store.runs()
        assert run["outcome"] == "failed"
        (error,) = store.errors(run["id"])
        assert error["kind"] == "blocked"
        assert "412" in error["message"]
        assert store.db["versions"].count == 0
        assert store.db["changes"].count == 0
    listed = json.loads(govwatch("sources", "--json", db=db_path, sources=sources).stdout)
    assert (listed["failing"], listed["failure"], listed["failed_runs"]) == (True, "blocked", 1)
    started = datetime.fromisoformat(run["started_at"])
    # every 6h, one blocked run: the next run waits twice the interval
    assert datetime.fromisoformat(listed["next_run"]) >= started + timedelta(hours=12)


def test_backoff_doubles_up_to_a_day(tmp_path):
    from govwatch.schedules import backoff_seconds

    entry = {"name": "x", "title": "x", "region": "x", "category": "news", "links": "a",
             "start_urls": ["http://x.test/"], "schedule": {"every": "2h"}}  # fmt: skip
    (source,) = load_sources(write_sources(tmp_path / "s.yaml", [entry])).values()
    hours = [backoff_seconds(source, n) / 3600 if n else None for n in range(5)]
    assert hours == [None, 4, 8, 16, 24]


def test_redesigned_list_fails_loudly_and_notifies_once_then_recovery(
    site, tmp_path, db_path, hook
):
    (entry,) = cms_entries(site, "cms_redesigned")
    entry["notify"] = {"urls": [hook.url]}
    sources = write_sources(tmp_path / "s.yaml", [entry])
    for _ in range(2):
        result = scrapy_crawl("cms_redesigned", db_path, sources, NOTIFY_RETRY_PAUSE="0.1")
        assert result.returncode == 0, result.stderr[-2000:]
    with VersionStore(db_path) as store:
        runs = store.runs()
        assert [r["outcome"] for r in runs] == ["failed", "failed"]
        (error,) = store.errors(runs[0]["id"])
        assert error["kind"] == "no_links"
        assert error["url"].endswith("/cms/redesign/list.html")
    assert len(hook.delivered) == 1  # one message when it starts failing, not one per run
    assert "stopped working (no_links)" in hook.delivered[0]["title"]
    text = govwatch("sources", db=db_path, sources=sources).stdout
    assert "FAILING since" in text
    assert "2 run(s) in a row: no_links" in text
    entry["links"] = {"xpath": "//div[@class='news-card']/h3/@data-href"}  # the fixed selector
    write_sources(sources, [entry])
    result = scrapy_crawl("cms_redesigned", db_path, sources, NOTIFY_RETRY_PAUSE="0.1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(hook.delivered) == 3  # the recovery, and the digest of the new documents
    titles = [m["title"] for m in hook.delivered[1:]]
    assert any("works again" in t for t in titles)
    with VersionStore(db_path) as store:
        assert store.runs()[0]["outcome"] == "ok"
        assert store.runs()[0]["new"] == COLUMNS["redesign"][2]
    listed = json.loads(govwatch("sources", "--json", db=db_path, sources=sources).stdout)
    assert listed["failing"] is False


# -- check and probe -------------------------------------------------------------------------


def test_check_is_a_dry_run(site, tmp_path, db_path):
    sources = write_sources(
        tmp_path / "s.yaml", cms_entries(site, "cms_post", "cms_redesigned", "cms_blocked")
    )
    out = govwatch("check", "cms_post", "--json", db=db_path, sources=sources)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is True
    assert [p["links"] for p in report["lists"]] == [3, 3]
    first = site.cms.columns["post"][0]
    assert report["document"]["title"] == first.title
    assert report["document"]["published"] == first.date
    assert report["document"]["opening"].startswith("吴江区政府文件第1号。")
    assert not db_path.exists()  # nothing written
    bad = govwatch("check", "cms_redesigned", db=db_path, sources=sources)
    assert bad.returncode == 1
    assert "no_links" in bad.stdout
    blocked = govwatch("check", "cms_blocked", db=db_path, sources=sources)
    assert blocked.returncode == 1
    assert "blocked: HTTP 412" in blocked.stdout


@pytest.mark.parametrize(
    ("path", "api", "paging"),
    [
        ("/cms/ks/common_list.shtml", False, "createPageHTML"),
        ("/invest/list.html", False, "next_page"),
        (f"/cms/szinf/info/getInfoCommon/?pagesize=3&currpage=1&channelid={CHANNEL}", True, "api"),
    ],
)
def test_probe_writes_an_entry_that_works(site, tmp_path, path, api, paging):
    args = ["probe", site.base_url + path, "--json", *(["--api"] if api else [])]
    out = govwatch(*args)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found["paging"]["kind"] == paging
    assert len(found["links"]) >= 3
    entry = {**found["entry"], "name": "probed", "title": "t", "region": "苏州市"}
    entry["category"] = "news"
    sources = write_sources(tmp_path / "s.yaml", [entry])
    check = govwatch("check", "probed", "--json", sources=sources, db=tmp_path / "x.db")
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["document"]["title"]
    if api:
        assert "{page}" in entry["api"]["url"]
        assert report["lists"][1]["links"] == 3  # the second page, by {page}
    # the printed form is a ready sources.yaml entry too
    text = govwatch(*[a for a in args if a != "--json"]).stdout
    (printed,) = yaml.safe_load(text.split("\n\n")[0])
    assert printed == found["entry"]


def test_a_malformed_link_is_skipped_not_fatal_to_its_list():
    from parsel import Selector as Doc

    from crawler.source_model import Selector
    from spiders.lists import html_links

    doc = Doc(text='<ul><li><a href="http://[bad/x">坏</a></li><li><a href="/ok.html">好</a></li>')
    assert html_links(doc, "http://x.test/list.html", Selector(css="li a")) == [
        "http://x.test/ok.html"
    ]

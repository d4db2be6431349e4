"""The crawl stays where it was sent and within each site's limits: off-site and file links,
redirects and meta refreshes, per-host concurrency, robots.txt status rules and Crawl-delay,
and one crawl of a source at a time. Real crawls against the sample site on 127.0.0.1."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time

import pytest

from crawler import settings
from storage import VersionStore
from tests.conftest import ROOT, crawl_command, env_for, govwatch, scrapy_crawl, write_sources

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}


def entry(site, name, path, **extra):
    return {
        "name": name, "title": "t", "region": "苏州市", "category": "other",
        "start_urls": [site.base_url + path], "links": {"css": "ul.list a, ul.news-list a"},
        "settings": dict(FAST), **extra,
    }  # fmt: skip


def test_offsite_and_file_links_redirects_and_refreshes_are_never_fetched(site, tmp_path, db_path):
    sources = write_sources(tmp_path / "s.yaml", [entry(site, "off", "/offsite/list.html")])
    out = govwatch("crawl", "off", db=db_path, sources=sources)
    assert out.returncode == 0, out.stderr[-2000:]
    # localhost is this very server under another name: anything followed there would show up
    # as a request for /invest/news/1002.html ... 1004.html
    assert set(site.hits) == {
        "/robots.txt", "/offsite/list.html", "/offsite/redirect.html", "/offsite/refresh.html",
        "/invest/news/1001.html",
    }  # fmt: skip
    with VersionStore(db_path) as store:
        (run,) = store.runs()
        assert (run["outcome"], run["new"], run["errors"]) == ("ok", 1, 0)
        assert run["offsite"] == 6  # file:, localhost, https and // elsewhere, redirect, refresh
        urls = [d["url"] for d in store.db["documents"].rows]
    assert urls == [site.base_url + "/invest/news/1001.html"]


@pytest.mark.parametrize(
    ("body", "encoding", "follows"),
    [
        ('<meta http-equiv="Refresh" content="0; url=/b.html">正文', "gb18030", True),
        ('<meta http-equiv="&#114;efresh" content="0; url=/b.html">正文', "utf-8", False),
        ('<meta http-equiv="refresh" content="0; url=/b.html">正文', "utf-16", True),
        ("<p>" + "正文" * 3000 + '</p><meta http-equiv="refresh" content="0; url=/b.html">',
         "utf-8", False),  # past the first 4,096 characters: Scrapy does not look there
        ("<p>正文，没有跳转。</p>", "gb18030", False),
    ],
)  # fmt: skip
def test_meta_refresh_is_read_as_scrapy_reads_it(body, encoding, follows):
    from scrapy import Request
    from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.middlewares import HeadMetaRefreshMiddleware

    def run(cls):
        request = Request("http://127.0.0.1/a.html")
        headers = {"Content-Type": f"text/html; charset={encoding}"}
        response = HtmlResponse(request.url, body=body.encode(encoding), headers=headers)
        out = cls.from_crawler(get_crawler()).process_response(request, response)
        return out.url if isinstance(out, Request) else None, response

    ours, response = run(HeadMetaRefreshMiddleware)
    assert ours == run(MetaRefreshMiddleware)[0]
    assert ours == ("http://127.0.0.1/b.html" if follows else None)
    if "efresh" not in body:  # not decoded at all when there can be no refresh
        assert getattr(response, "_cached_ubody", None) is None


def test_allowed_hosts_lets_a_listed_host_in(site, tmp_path, db_path):
    src = entry(site, "off", "/offsite/list.html", allowed_hosts=["localhost"])
    sources = write_sources(tmp_path / "s.yaml", [src])
    assert govwatch("crawl", "off", db=db_path, sources=sources).returncode == 0
    assert {"/invest/news/1002.html", "/invest/news/1003.html"} <= set(site.hits)
    assert "/etc/passwd" not in str(site.hits)


def test_requests_in_flight_per_host_stay_within_the_limit(tmp_path, db_path):
    from samplesite import SampleSite

    with SampleSite(generated=40) as site:
        site.slow = 0.15
        limit = {"CONCURRENT_REQUESTS_PER_DOMAIN": 2}
        src = entry(site, "gen", "/gen/list.html", max_pages=1, settings={**FAST, **limit})
        sources = write_sources(tmp_path / "s.yaml", [src])
        result = scrapy_crawl("gen", db_path, sources)
        assert result.returncode == 0, result.stderr[-2000:]
        assert len(site.hits) >= 20
        assert site.max_in_flight == 2


def test_robots_txt_answering_500_disallows_the_site(site, tmp_path, db_path):
    site.robots = (500, "<h1>Internal Server Error</h1>")
    sources = write_sources(tmp_path / "s.yaml", [entry(site, "inv", "/invest/list.html")])
    out = govwatch("crawl", "inv", db=db_path, sources=sources)
    assert out.returncode == 1
    assert set(site.hits) == {"/robots.txt"}
    with VersionStore(db_path) as store:
        (run,) = store.runs()
        assert run["outcome"] == "failed"
        assert [e["kind"] for e in store.errors(run["id"])] == ["robots"]


def test_robots_txt_404_allows_and_crawl_delay_is_a_floor(site, tmp_path, db_path):
    site.robots = (200, "User-agent: *\nCrawl-delay: 1\n")
    sources = write_sources(tmp_path / "s.yaml", [entry(site, "inv", "/invest/list.html")])
    assert govwatch("crawl", "inv", db=db_path, sources=sources).returncode == 0
    starts = [t for t, path in site.started if path != "/robots.txt"]
    assert len(starts) >= 4
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.9, gaps
    site.robots = (404, "not here")
    site.started.clear()
    assert govwatch("crawl", "inv", db=db_path, sources=sources).returncode == 0
    assert len(site.started) >= 4  # a missing robots.txt allows everything


def test_one_crawl_of_a_source_at_a_time_and_a_dead_holder_is_taken_over(site, tmp_path, db_path):
    site.slow = 2.0  # one request at a time: the first crawl takes at least 10 s
    sources = write_sources(tmp_path / "s.yaml", [entry(site, "inv", "/invest/list.html")])
    env = env_for(db_path, sources)
    first = subprocess.Popen(
        crawl_command("inv", CONCURRENT_REQUESTS_PER_DOMAIN="1"),
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not site.hits.get("/invest/list.html"):
            time.sleep(0.1)
        second = scrapy_crawl("inv", db_path, sources)
        assert second.returncode == 0
        assert first.poll() is None, "the first crawl ended before the second started"
        assert "another crawl of inv is running" in second.stderr
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    with VersionStore(db_path) as store:
        refused, done = store.runs()
        assert (refused["outcome"], refused["finish_reason"]) == ("failed", "locked")
        assert done["outcome"] == "ok"
        assert [e["kind"] for e in store.errors(refused["id"])] == ["locked"]
    # a crawl killed while holding the lock does not keep it
    site.slow = 1.0
    killed = subprocess.Popen(
        crawl_command("inv"), env=env, cwd=ROOT, stderr=subprocess.DEVNULL, start_new_session=True
    )
    time.sleep(4)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=10)
    site.slow = 0
    again = scrapy_crawl("inv", db_path, sources)
    assert again.returncode == 0
    assert "another crawl" not in again.stderr
    with VersionStore(db_path) as store:
        assert store.runs()[0]["outcome"] == "ok"


def test_remote_control_and_telnet_are_off():
    assert settings.REMOTE_CONTROL_ENABLED is False
    assert settings.TELNETCONSOLE_ENABLED is False
    # and never even imported: not in the extensions Scrapy loads
    from scrapy.settings import Settings

    loaded = Settings()
    loaded.setmodule(settings)
    names = set(loaded.getwithbase("EXTENSIONS"))
    assert not names & {"scrapy.extensions.remote_control.RemoteControl",
                        "scrapy.extensions.telnet.TelnetConsole"}  # fmt: skip
    assert "scrapy.extensions.corestats.CoreStats" in names  # the rest of the base is there


@pytest.mark.parametrize("host", ["ex ample.com", "http://x.cn", "*", "a..b"])
def test_bad_allowed_hosts_are_one_line(tmp_path, host):
    from crawler.sources import SourceError, load_sources

    src = {"name": "x", "title": "x", "region": "x", "category": "news", "links": "a",
           "start_urls": ["http://x.test/"], "allowed_hosts": [host]}  # fmt: skip
    with pytest.raises(SourceError, match="allowed_hosts"):
        load_sources(write_sources(tmp_path / "s.yaml", [src]))


def test_a_write_lock_held_too_long_fails_the_run_and_the_next_run_carries_on(
    site, tmp_path, db_path
):
    import sqlite3

    site.slow = 1.0
    sources = write_sources(tmp_path / "s.yaml", [entry(site, "inv", "/invest/list.html")])
    assert scrapy_crawl("inv", db_path, sources, VERSIONS_BUSY_TIMEOUT="0.5").returncode == 0
    for path, doc in list(site.docs.items()):  # edit every document: the next crawl writes
        if path.startswith("/invest/news/"):
            site.edit(path, doc.paragraphs[0][:6], doc.paragraphs[0][:6] + "（更新）")
    crawl = subprocess.Popen(
        crawl_command("inv", VERSIONS_BUSY_TIMEOUT="0.5"),
        env=env_for(db_path, sources), cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and site.hits.get("/invest/list.html", 0) < 2:
        time.sleep(0.05)
    holder = sqlite3.connect(db_path, timeout=10)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write
    time.sleep(4)
    holder.rollback()
    holder.close()
    _, err = crawl.communicate(timeout=60)
    assert crawl.returncode == 0
    assert "Traceback" not in err
    assert "Not recorded:" in err
    with VersionStore(db_path) as store:
        run = store.runs()[0]
        assert (run["outcome"], run["finish_reason"]) == ("failed", "store")
        assert "could not be written" in store.errors(run["id"])[0]["message"]
    site.slow = 0
    assert scrapy_crawl("inv", db_path, sources).returncode == 0
    with VersionStore(db_path) as store:
        assert store.runs()[0]["outcome"] == "ok"
        # nothing lost: every edit is recorded, once
        documents = store.db["documents"].count
        assert documents >= 4
        assert store.db["changes"].count_where("kind = 'changed'") == documents

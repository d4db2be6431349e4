"""Real crawls of the sample site over HTTP on 127.0.0.1 into SQLite files in tmp_path."""

from __future__ import annotations

import json
import weakref

import pytest

from storage import VersionStore
from tests.conftest import govwatch, scrapy_crawl, write_sources

WUJIANG_2019 = "/wujiang/art/2019/1/30/art_8_1.html"


def test_scrapy_crawl_gbk_portal_into_store(site, sources_file, db_path):
    result = scrapy_crawl("sample_wujiang", db_path, sources_file)
    assert result.returncode == 0, result.stderr[-2000:]
    with VersionStore(db_path) as store:
        docs = {d["url"]: d for d in store.db["documents"].rows}
        assert set(docs) == {
            site.base_url + WUJIANG_2019,
            site.base_url + "/wujiang/art/2018/1/12/art_8_2.html",
        }
        (v2019,) = store.history(site.base_url + WUJIANG_2019)
        assert v2019["title"] == "吴江区2019年政府工作报告"
        assert v2019["published"] == "2019-01-30"
        assert "预计实现地区生产总值1930亿元" in v2019["text"]
        assert "\ufffd" not in v2019["text"]
        assert v2019["meta"]["encoding"] in ("gb18030", "gbk")
        assert [c["kind"] for c in store.changes()] == ["new", "new"]
        (run,) = store.runs()
        assert run["outcome"] == "ok"
        assert (run["new"], run["changed"], run["errors"]) == (2, 0, 0)
        assert run["pages"] >= 4  # robots.txt, two list pages (template), two documents


def test_recrawl_of_unchanged_site_flags_nothing(site, sources_file, db_path):
    """The GBK portal's visit counter changes on every request: still nothing to flag."""
    for _ in range(2):
        assert scrapy_crawl("sample_wujiang", db_path, sources_file).returncode == 0
    with VersionStore(db_path) as store:
        assert store.counts()["versions"] == 2
        assert [c["kind"] for c in store.changes()] == ["new", "new"]
        assert [r["unchanged"] for r in store.runs()] == [2, 0]


@pytest.mark.slow
def test_edit_then_crawl_flags_exactly_that_document(site, sources_file, db_path):
    first = govwatch("crawl", db=db_path, sources=sources_file)
    assert first.returncode == 0, first.stderr
    assert f"Summary: {len(site.sources())} sources" in first.stdout
    site.edit(WUJIANG_2019, "1930亿元", "1931亿元")
    second = govwatch("crawl", "--json", db=db_path, sources=sources_file)
    assert second.returncode == 0, second.stderr
    runs = [json.loads(line) for line in second.stdout.splitlines()]
    assert sum(r["changed"] for r in runs) == 1
    assert sum(r["new"] for r in runs) == 0
    with VersionStore(db_path) as store:
        changed = store.changes(kind="changed")
        assert [c["url"] for c in changed] == [site.base_url + WUJIANG_2019]
        diff = store.change(changed[0]["id"])["diff"]
        assert diff[0]["op"] == "replace"
        assert "1930亿元" in diff[0]["old"][0]
        assert "1931亿元" in diff[0]["new"][0]
        assert store.counts()["versions"] == len(site.docs) + 1  # every document + 1 edit


def test_broken_pages_are_counted_errors_not_changes(site, tmp_path, db_path):
    sources = write_sources(tmp_path / "broken.yaml", [site.broken_source()])
    result = scrapy_crawl("sample_broken", db_path, sources)
    assert result.returncode == 0, result.stderr[-2000:]
    with VersionStore(db_path) as store:
        errors = {e["url"].rsplit("/", 1)[-1]: e["kind"] for e in store.errors()}
        assert errors == {
            "no-such-list.html": "list_http",  # a 404 list page: the list is broken
            "missing.html": "http",
            "error500.html": "http",
            "report.pdf": "bad_file",  # a truncated PDF: read as an attachment, and refused
            "secret.html": "robots",
            "huge.html": "too_large",
            "empty.html": "extract",
            "loop.html": "redirect_loop",
        }
        (run,) = store.runs()
        assert (run["outcome"], run["errors"], run["new"]) == ("ok", 8, 1)
        # the one good page is recorded; nothing else became a document or a change
        assert store.counts() == {"documents": 1, "versions": 1, "changes": 1, "errors": 8}


def test_callbacks_are_generators_without_return_values():
    """Scrapy's per-response check (WARN_ON_GENERATOR_RETURN_VALUE, off in our settings for
    its cost) made once: a `return value` inside a generator callback would drop the value."""
    from scrapy.utils.misc import is_generator_with_return_value

    from spiders.source import SourceSpider

    names = ("parse_list", "parse_api", "parse_document", "on_error")
    assert all(callable(getattr(SourceSpider, n)) for n in names)
    assert [n for n in names if is_generator_with_return_value(getattr(SourceSpider, n))] == []


def test_collector_is_tuned_for_the_crawl_and_restored_after():
    import gc

    from scrapy import signals
    from scrapy.utils.test import get_crawler

    from crawler import collector

    before = gc.get_threshold()
    crawler = get_crawler()
    tuning = collector.CollectorTuning.from_crawler(crawler)  # signals hold it weakly
    try:
        crawler.signals.send_catch_log(signals.spider_opened, spider=None)
        assert gc.get_threshold() == (max(collector.YOUNG_THRESHOLD, before[0]), *before[1:])
        assert gc.get_freeze_count() > 0  # what the start made, out of the collector's sight
        crawler.signals.send_catch_log(signals.spider_closed, spider=None)
        assert gc.get_threshold() == before
        # what the crawl left stays frozen: the process's last collection has nothing to walk
        assert gc.get_freeze_count() > 0
        assert collector.CollectorTuning.left_frozen

        # a next crawl in the same process first gets the leftovers back, and collects them
        class Cycle:
            pass

        cycle = Cycle()
        cycle.me = cycle
        gone = weakref.ref(cycle)
        gc.freeze()  # as if the first crawl had left it behind
        del cycle
        gc.collect()
        assert gone() is not None  # frozen: out of the collector's reach
        second = get_crawler()
        tuning = collector.CollectorTuning.from_crawler(second)
        second.signals.send_catch_log(signals.spider_opened, spider=None)
        assert gone() is None
        second.signals.send_catch_log(signals.spider_closed, spider=None)
    finally:
        tuning.spider_closed()
        collector.CollectorTuning.left_frozen = False
        gc.unfreeze()
        gc.set_threshold(*before)

"""Change flags a person can trust, over real HTTP: each event kind, each guard, cheap re-checks."""

from __future__ import annotations

import re

import pytest
from scrapy.utils.test import get_crawler

from crawler.items import DocumentItem
from pipelines import extractor as extract_module
from pipelines.extract import ExtractionError, ExtractPipeline
from storage import VersionStore
from tests.conftest import scrapy_crawl, write_sources

DOC = "/invest/news/1002.html"


def crawl(db, sources, name="sample_invest", **settings):
    result = scrapy_crawl(name, db, sources, **settings)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def stat(result, name):
    m = re.search(rf"'{re.escape(name)}': (\d+)", result.stderr)
    return int(m.group(1)) if m else 0


def last_run(db):
    with VersionStore(db) as store:
        return store.runs(limit=1)[0]


def kinds(db, run_id=None):
    with VersionStore(db) as store:
        return sorted(
            (c["kind"], c["url"].split("/")[-1])
            for c in store.changes()
            if run_id is None or c["run_id"] == run_id
        )


def errors(db, run_id):
    with VersionStore(db) as store:
        return sorted((e["kind"], (e["url"] or "").split("/")[-1]) for e in store.errors(run_id))


def test_new_documents(site, sources_file, db_path):
    crawl(db_path, sources_file)
    assert [k for k, _ in kinds(db_path)] == ["new"] * 10


def test_recheck_uses_conditional_requests(site, sources_file, db_path):
    crawl(db_path, sources_file)
    with VersionStore(db_path) as store:
        size_before = db_path.stat().st_size
        rows_before = store.counts()
    second = crawl(db_path, sources_file)
    run = last_run(db_path)
    assert (run["not_modified"], run["unchanged"], run["new"], run["changed"]) == (10, 10, 0, 0)
    assert stat(second, "downloader/response_status_count/304") == 10
    assert stat(second, "extract/skipped_same_body") == 0  # no body at all: nothing to extract
    with VersionStore(db_path) as store:
        assert store.counts() == rows_before  # no version, change or error row
    assert db_path.stat().st_size - size_before <= 8192  # the run row; documents updated in place


def test_identical_body_skips_extraction(site, sources_file, db_path):
    site.validators = False  # no ETag/Last-Modified: every re-check downloads the body
    first = crawl(db_path, sources_file)
    # a first crawl: all 10 documents are requested whole, so the pool starts with the first
    # body (bodies are extracted in the crawl's process until it has)
    assert stat(first, "govwatch/documents_fetched_whole") == 10
    in_process, in_pool = stat(first, "extract/in_process"), stat(first, "extract/in_pool")
    assert in_process >= 1
    assert in_process + in_pool == 10
    second = crawl(db_path, sources_file)
    assert stat(second, "extract/skipped_same_body") == 10
    assert last_run(db_path)["unchanged"] == 10
    assert len(kinds(db_path)) == 10


def test_identical_body_never_calls_the_extractor(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("extract() called for an identical body")

    monkeypatch.setattr(extract_module, "extract", fail)
    crawler = get_crawler(settings_dict={"EXTRACT_WORKERS": 0})
    pipeline = ExtractPipeline.from_crawler(crawler)
    item = DocumentItem(
        url="http://127.0.0.1/a",
        source="s",
        html="<p>正文</p>",
        encoding="utf-8",
        fetched_at="2026-01-01T00:00:00+00:00",
        body_hash="h",
        known_body_hash="h",
    )
    import asyncio

    out = asyncio.run(pipeline.process_item(item))
    assert out.same_body
    assert out.html == ""


def test_pool_takes_over_once_started_and_the_crawl_does_not_wait_for_it():
    """The first EXTRACT_POOL_AFTER bodies are extracted in the crawl's process; the next one
    starts the pool, and bodies are extracted here (not queued) until it has started; then
    the pool extracts them, with the same result."""
    import asyncio
    from types import SimpleNamespace

    crawler = get_crawler(settings_dict={"EXTRACT_WORKERS": 1, "EXTRACT_POOL_AFTER": 1})
    source = SimpleNamespace(ignore=(), region=None, category=None, content=None)
    crawler.spider = SimpleNamespace(source_of=lambda item: source)
    pipeline = ExtractPipeline.from_crawler(crawler)
    html = "<html><body><h1>招商公告</h1><p>" + "吴江区招商引资项目签约，总投资十亿元。" * 5
    html += "</p></body></html>"

    def item(i: int) -> DocumentItem:
        return DocumentItem(
            url=f"http://127.0.0.1/{i}", source="s", html=html, encoding="utf-8",
            fetched_at="2026-01-01T00:00:00+00:00", body_hash=str(i),
        )  # fmt: skip

    async def run() -> list:
        texts = [(await pipeline.process_item(item(i))).text for i in (1, 2)]
        assert pipeline.pool is not None  # started by the second body, which went on here
        in_process = crawler.stats.get_value("extract/in_process")
        assert in_process == 2
        assert not crawler.stats.get_value("extract/in_pool")
        for _ in range(600):  # the pool's process starts within a minute
            if pipeline._pool_ready():
                break
            await asyncio.sleep(0.1)
        texts.append((await pipeline.process_item(item(3))).text)
        assert crawler.stats.get_value("extract/in_pool") == 1
        # bodies that come while the worker is busy go to it together, each with its own
        # result; a file that cannot be read fails alone
        many = [item(i) for i in range(4, 16)]
        for i, it in enumerate(many):
            it.html = it.html.replace("十亿元", f"{i + 10}亿元")
        broken = item(99)
        broken.html, broken.file_kind, broken.body = "", "pdf", b"%PDF-1.4 not really"
        outcomes = await asyncio.gather(
            *(pipeline.process_item(x) for x in [*many, broken]), return_exceptions=True
        )
        assert [o.text.count(f"{i + 10}亿元") > 0 for i, o in enumerate(outcomes[:-1])] == [
            True
        ] * len(many)
        assert isinstance(outcomes[-1], ExtractionError)
        assert crawler.stats.get_value("extract/in_pool") == 1 + len(many) + 1
        assert crawler.stats.get_value("extract/pool_batches") < 1 + len(many)
        return texts

    try:
        texts = asyncio.run(run())
    finally:
        pipeline.close_spider()
    assert texts[0] == texts[1] == texts[2]
    assert "总投资十亿元" in texts[0]


def test_pool_starts_with_the_first_body_when_many_are_fetched_whole():
    """A re-check that finds a few new documents extracts them in the crawl's process; when
    EXTRACT_POOL_AFTER documents or more are requested without validators (a first crawl),
    the pool starts with the first body."""
    import asyncio
    from types import SimpleNamespace

    from crawler.middlewares import WHOLE_REQUESTS

    crawler = get_crawler(settings_dict={"EXTRACT_WORKERS": 1, "EXTRACT_POOL_AFTER": 8})
    source = SimpleNamespace(ignore=(), region=None, category=None, content=None)
    crawler.spider = SimpleNamespace(source_of=lambda item: source)
    pipeline = ExtractPipeline.from_crawler(crawler)
    html = "<html><body><p>" + "吴江区招商引资项目签约，总投资十亿元。" * 5 + "</p></body></html>"

    def item(i: int) -> DocumentItem:
        return DocumentItem(
            url=f"http://127.0.0.1/{i}", source="s", html=html, encoding="utf-8",
            fetched_at="2026-01-01T00:00:00+00:00", body_hash=str(i),
        )  # fmt: skip

    try:
        crawler.stats.set_value(WHOLE_REQUESTS, 7)
        asyncio.run(pipeline.process_item(item(1)))
        assert pipeline.pool is None  # a handful: extracted here, no process started
        crawler.stats.set_value(WHOLE_REQUESTS, 8)
        asyncio.run(pipeline.process_item(item(2)))
        assert pipeline.pool is not None
        assert crawler.stats.get_value("extract/in_process") == 2  # the pool is still starting
    finally:
        pipeline.close_spider()


def test_volatile_counters_clock_and_sidebar_flag_nothing(site, sources_file, db_path):
    site.volatile = True
    crawl(db_path, sources_file)
    for day in range(1, 3):
        site.day = day
        crawl(db_path, sources_file)
        run = last_run(db_path)
        assert (run["changed"], run["unchanged"], run["errors"]) == (0, 10, 0)
    with VersionStore(db_path) as store:
        assert store.counts()["versions"] == 10


def test_changed_figure(site, sources_file, db_path):
    crawl(db_path, sources_file)
    site.edit(DOC, "2018年1月3日", "2018年1月4日")
    crawl(db_path, sources_file)
    run = last_run(db_path)
    assert kinds(db_path, run["id"]) == [("changed", "1002.html")]


def test_removed_after_two_misses_then_restored(site, sources_file, db_path):
    crawl(db_path, sources_file)
    site.remove(DOC)  # 404, and gone from the list: found by the re-check of unlisted documents
    crawl(db_path, sources_file)
    first = last_run(db_path)
    assert kinds(db_path, first["id"]) == []
    assert errors(db_path, first["id"]) == [("http", "1002.html")]
    crawl(db_path, sources_file)
    second = last_run(db_path)
    assert kinds(db_path, second["id"]) == [("removed", "1002.html")]
    assert second["removed"] == 1
    site.restore(DOC)
    crawl(db_path, sources_file)
    third = last_run(db_path)
    assert kinds(db_path, third["id"]) == [("restored", "1002.html")]
    with VersionStore(db_path) as store:
        (restored,) = store.changes(kind="restored")
        assert "same as version" in restored["summary"]


def test_unlisted_but_still_there_is_not_removed(site, sources_file, db_path):
    crawl(db_path, sources_file)
    site.unlist(DOC)
    result = crawl(db_path, sources_file)  # re-checked: just seen, it is due every run
    run = last_run(db_path)
    assert (run["unchanged"], run["removed"], run["errors"]) == (10, 0, 0)
    result = crawl(db_path, sources_file)  # at once again: found unchanged, not due for hours
    run = last_run(db_path)
    assert (run["unchanged"], run["removed"], run["errors"]) == (9, 0, 0)
    assert stat(result, "govwatch/not_due") == 1
    with VersionStore(db_path) as store:  # some hours later it is due again
        store.db.execute("update documents set next_check = '2000-01-01T00:00:00+00:00'")
        store.db.conn.commit()
        assert store.due_counts("2001-01-01T00:00:00+00:00") == {"sample_invest": 10}
    crawl(db_path, sources_file)
    run = last_run(db_path)
    assert (run["unchanged"], run["removed"], run["errors"]) == (10, 0, 0)


def test_revisits_back_off_while_unchanged_and_return_after_a_change(tmp_path):
    hour = 3600
    with VersionStore(tmp_path / "g.db", revisit=(6 * hour, 7 * 24 * hour)) as store:
        url = "http://x.test/1.html"
        store.record(url, source="s", text="第一版正文。", fetched_at="2024-01-01T00:00:00+00:00")
        waits = []
        at = "2024-01-01T00:00:00+00:00"
        for _ in range(8):
            doc = store.document(url)
            waits.append(_hours(at, doc["next_check"]))
            at = doc["next_check"]
            store.seen_unchanged(url, checked_at=at)
        assert waits == [-3, 3, 9, 21, 45, 93, 165, 165]  # at once, then doubling to 7 days
        store.record(url, source="s", text="第二版正文。", fetched_at=at)
        assert _hours(at, store.document(url)["next_check"]) == -3  # changed: every run again


def _hours(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


def test_server_error_is_an_error_not_a_change(site, sources_file, db_path):
    crawl(db_path, sources_file)
    site.fail(DOC, 503, times=1)
    crawl(db_path, sources_file)
    run = last_run(db_path)
    assert kinds(db_path, run["id"]) == []
    assert errors(db_path, run["id"]) == [("http", "1002.html")]
    crawl(db_path, sources_file)
    assert kinds(db_path, last_run(db_path)["id"]) == []


def test_maintenance_page_is_held_as_suspect(site, sources_file, db_path):
    crawl(db_path, sources_file)
    site.serve_maintenance(DOC, times=1)
    crawl(db_path, sources_file)
    run = last_run(db_path)
    assert kinds(db_path, run["id"]) == []
    assert errors(db_path, run["id"]) == [("suspect", "1002.html")]
    assert run["suspects"] == 1
    crawl(db_path, sources_file)
    run = last_run(db_path)
    assert kinds(db_path, run["id"]) == []
    assert run["unchanged"] == 10
    with VersionStore(db_path) as store:
        assert store.counts()["versions"] == 10


@pytest.mark.parametrize("with_ignore", [False, True], ids=["no-ignore", "ignore"])
def test_ignore_patterns_from_sources_yaml(site, tmp_path, db_path, with_ignore):
    site.stamps = True
    entry = site.sources()[0]
    if with_ignore:
        entry["ignore"] = [r"页面生成：\w+"]
    sources = write_sources(tmp_path / "s.yaml", [entry])
    crawl(db_path, sources)
    crawl(db_path, sources)
    changed = [k for k, _ in kinds(db_path, last_run(db_path)["id"])]
    assert changed == ([] if with_ignore else ["changed"] * 10)


def test_content_selector_from_sources_yaml(site, tmp_path, db_path):
    entry = site.sources()[0]
    entry["content"] = ".article-content p:first-child"
    sources = write_sources(tmp_path / "s.yaml", [entry])
    crawl(db_path, sources)
    site.edit("/invest/news/1001.html", "为苏港共同繁荣发展注入新动能", "为苏港共同发展注入新动能")
    crawl(db_path, sources)
    assert kinds(db_path, last_run(db_path)["id"]) == []  # outside the selected body
    site.edit("/invest/news/1001.html", "2018年9月,香港苏州商会", "2018年10月,香港苏州商会")
    crawl(db_path, sources)
    assert kinds(db_path, last_run(db_path)["id"]) == [("changed", "1001.html")]

"""The version store on real SQLite files: versions, flags, transactions, runs."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

from pipelines.normalize import normalizer
from storage import StoreError, UnknownChange, UnknownDocument, VersionStore, ensure_schema

URL = "http://127.0.0.1/doc/1.html"
TEXT = "各位代表：\n预计实现地区生产总值1930亿元，同比增长7%。\n一般公共预算收入202.9亿元。"


@pytest.fixture
def store(tmp_path):
    with VersionStore(tmp_path / "g.db", sentence_key=normalizer()) as s:
        yield s


def record(store, text, **kw):
    return store.record(
        URL,
        source="s",
        text=text,
        norm_text=normalizer()(text),
        title=kw.pop("title", "报告"),
        **kw,
    )


def test_first_sight_is_new_and_same_text_adds_nothing(store):
    first = record(store, TEXT)
    again = record(store, TEXT)
    assert (first.kind, again.kind) == ("new", "unchanged")
    assert store.counts() == {"documents": 1, "versions": 1, "changes": 1, "errors": 0}


def test_normalised_equal_text_adds_no_version(store):
    record(store, TEXT + "\n访问量：100")
    again = record(store, TEXT.replace("，", ",") + "\n访问量：101")
    assert again.kind == "unchanged"
    assert store.counts()["versions"] == 1


def test_changed_text_adds_version_and_sentence_diff(store):
    record(store, TEXT)
    change = record(store, TEXT.replace("1930亿元", "1931亿元"))
    assert change.kind == "changed"
    row = store.change(change.change_id)
    assert (row["modified"], row["added"], row["removed"]) == (1, 0, 0)
    assert row["diff"] == [
        {
            "op": "replace",
            "at": 1,
            "old": ["预计实现地区生产总值1930亿元，同比增长7%。"],
            "new": ["预计实现地区生产总值1931亿元，同比增长7%。"],
        }
    ]
    assert "1931亿元" in row["summary"]
    versions = store.history(URL)
    assert [v["text"] for v in versions] == [TEXT, TEXT.replace("1930亿元", "1931亿元")]


def test_one_transaction_per_document(store, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("crash between version and change")

    monkeypatch.setattr(store, "_log_change", boom)
    with pytest.raises(RuntimeError):
        record(store, TEXT)
    assert store.counts() == {"documents": 0, "versions": 0, "changes": 0, "errors": 0}
    monkeypatch.undo()
    assert record(store, TEXT).kind == "new"


def test_changes_filters_and_review(store):
    record(store, TEXT)
    c = record(store, TEXT + "\n新增一句。")
    assert [r["kind"] for r in store.changes()] == ["changed", "new"]
    assert [r["kind"] for r in store.changes(kind="new")] == ["new"]
    assert store.changes(source="other") == []
    assert store.changes(since="2999-01-01T00:00:00+00:00") == []
    assert store.mark_reviewed([c.change_id, 999]) == [999]
    assert [r["id"] for r in store.changes(unreviewed=True)] == [c.change_id - 1]
    with pytest.raises(UnknownChange):
        store.change(12345)
    with pytest.raises(UnknownDocument):
        store.history("http://127.0.0.1/none")


def test_runs_and_stale_run_reaping(store):
    run = store.start_run("s", "scheduled")
    store.update_run(run, pages=3, new=1)
    store.finish_run(run, "ok", errors=0)
    dead = store.start_run("s", pid=2**22 + 12345)  # no such process
    assert store.reap_stale_runs() == 1
    rows = {r["id"]: r for r in store.runs("s")}
    assert rows[run]["outcome"] == "ok"
    assert rows[run]["pages"] == 3
    assert rows[dead]["outcome"] == "interrupted"


def test_reopen_keeps_data_and_schema_is_idempotent(tmp_path):
    path = tmp_path / "g.db"
    with VersionStore(path) as s:
        s.record(URL, source="s", text=TEXT)
        ensure_schema(s.db)
    with VersionStore(path) as s:
        assert s.counts()["versions"] == 1
        assert s.db.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert {r["name"] for r in s.db["_migrations"].rows} == {"m001_initial"}


def test_unwritable_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open database"):
        VersionStore(blocker / "sub" / "g.db")


def test_database_is_plain_sqlite(store):
    record(store, TEXT)
    conn = sqlite3.connect(store.path)
    assert conn.execute("select count(*) from versions").fetchone() == (1,)


def test_storage_imports_nothing_of_ours():
    ours = {"crawler", "spiders", "pipelines", "scheduler"}
    for path in (Path(__file__).parent.parent / "storage").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            assert not {n.split(".")[0] for n in names} & ours, (path, names)

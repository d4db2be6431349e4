"""The version store on real SQLite files: versions, flags, transactions, runs."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

from pipelines.text.normalize import normalizer
from storage import StoreError, UnknownChange, UnknownDocument, VersionStore, ensure_schema
from storage.schema import MIGRATIONS

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
            "to": 1,
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

    monkeypatch.setattr(store, "_log", boom)
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
    assert store.set_reviewed([c.change_id, 999])["missing"] == [999]
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
        assert [r["name"] for r in s.db["_migrations"].rows] == [n for n, _ in MIGRATIONS]


def test_upgrade_from_first_schema_keeps_data(tmp_path):
    from sqlite_utils import Database

    path = tmp_path / "old.db"
    old = Database(path)
    old["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    MIGRATIONS[0][1](old)
    old["_migrations"].insert({"name": MIGRATIONS[0][0], "applied_at": "2026-01-01"})
    old["documents"].insert({"url": URL, "source": "s", "status": "active"})
    old.close()
    with VersionStore(path) as s:
        assert s.document(URL)["missing_count"] is None
        assert "same_as_version_id" in s.db["changes"].columns_dict


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


LONG = "。".join(f"第{i}句内容比较长一些用来测试" for i in range(40)) + "。"


def test_title_change_is_a_change(store):
    record(store, TEXT, title="旧标题")
    change = record(store, TEXT, title="新标题")
    assert change.kind == "changed"
    assert change.summary.startswith("title: 旧标题 → 新标题")


def test_shrunken_text_is_held_until_confirmed(store):
    record(store, LONG)
    held = record(store, "系统维护中，请稍后访问。给您带来不便敬请谅解。")
    assert held.kind == "suspect"
    assert store.counts()["versions"] == 1
    assert record(store, LONG).kind == "unchanged"  # the maintenance page is gone again
    record(store, "系统维护中，请稍后访问。给您带来不便敬请谅解。")
    confirmed = record(store, "系统维护中，请稍后访问。给您带来不便敬请谅解。")
    assert confirmed.kind == "changed"  # seen twice in a row: a real shrink


def test_removed_after_two_misses_then_restored(store):
    record(store, TEXT)
    assert store.mark_missing(URL, status=404).kind == "missing"
    assert record(store, TEXT).kind == "unchanged"  # one miss, then back: nothing happened
    assert store.mark_missing(URL, status=404).kind == "missing"
    removed = store.mark_missing(URL, status=410)
    assert removed.kind == "removed"
    assert "HTTP 410 on 2 consecutive checks" in removed.summary
    assert store.mark_missing(URL, status=404).kind == "missing"  # logged once only
    restored = store.seen_unchanged(URL)
    assert restored.kind == "restored"
    assert [c["kind"] for c in store.changes()] == ["restored", "removed", "new"]
    assert store.mark_missing("http://127.0.0.1/never-seen", status=404).kind == "unknown"


def test_restored_with_other_text_names_the_matching_version(store):
    first = record(store, TEXT)
    record(store, TEXT + "\n补充一句。")
    store.mark_missing(URL, status=404)
    store.mark_missing(URL, status=404)
    back = record(store, TEXT)
    assert back.kind == "restored"
    assert back.version_id == first.version_id  # no duplicate version row
    assert f"back to version {first.version_id}" in back.summary
    assert store.counts()["versions"] == 2


def test_revert_reuses_the_older_version(store):
    first = record(store, TEXT)
    record(store, TEXT.replace("1930", "1931"))
    revert = record(store, TEXT)
    assert (revert.kind, revert.version_id) == ("changed", first.version_id)
    assert store.counts()["versions"] == 2


def test_processes_opening_a_new_database_at_once(tmp_path):
    """Schema creation is one transaction: concurrent first opens do not collide."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = "import sys; from storage import VersionStore; VersionStore(sys.argv[1]).close()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "new.db")],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    assert results == [(0, "")] * 6
    with VersionStore(tmp_path / "new.db") as s:
        assert [r["name"] for r in s.db["_migrations"].rows] == [n for n, _ in MIGRATIONS]


def test_search_index_keeps_one_row_per_document(store):
    record(store, TEXT)
    record(store, TEXT.replace("1930", "1931"))
    assert store.db.execute("select count(*) from search").fetchone()[0] == 1
    (hit,) = store.search("1931亿元", normalise=normalizer())
    assert hit["url"] == URL
    assert "1931亿元" in hit["match"]
    assert store.search("1930亿元", normalise=normalizer()) == []


def test_search_checks_every_candidate_for_the_whole_term(store):
    key = normalizer()
    apart = "政府工作会议召开。府工作人员说，工作报告已经写好，作报告的人来了。"  # all pairs
    whole = "市长作政府工作报告，回顾过去一年的工作。"
    for n, text in enumerate((apart, whole, "ABC Corp 投资 PDF 文件"), 1):
        store.record(f"{URL}?{n}", source="s", text=text, norm_text=key(text), title="t")
    assert [h["url"] for h in store.search("政府工作报告", normalise=key)] == [f"{URL}?2"]
    assert [h["url"] for h in store.search("abc corp", normalise=key)] == [f"{URL}?3"]
    assert [h["url"] for h in store.search("工作", normalise=key)] == [f"{URL}?1", f"{URL}?2"]
    assert [h["url"] for h in store.search("府 会", normalise=key)] == [f"{URL}?1"]  # scanned
    assert store.search("政府 不存在的词", normalise=key) == []


def test_index_terms_are_the_distinct_pairs_of_word_characters():
    from storage.search import index_terms

    assert index_terms("苏州，苏州市 GDP_2024年") == "02 20 24 4年 dp gd 州市 苏州"
    assert index_terms("苏州市") == index_terms("苏州市，苏州市")  # a set: repeats add nothing
    assert index_terms("，。a") == ""
    assert index_terms("") == ""
    rare = "𠀀𠀁"  # beyond the Basic Multilingual Plane: one character each
    assert index_terms(rare) == rare


def test_search_ranks_by_occurrences_then_newest(store):
    key = normalizer()
    texts = ["招商引资项目一个。", "招商引资项目签约，招商引资再创新高，招商引资成效显著。",
             "招商引资项目两个，招商引资。"]  # fmt: skip
    for n, text in enumerate(texts, 1):
        store.record(f"{URL}?{n}", source="s", text=text, norm_text=key(text), title="t")
    hits = store.search("招商引资", normalise=key)
    assert [h["url"][-1] for h in hits] == ["2", "3", "1"]
    assert [h["url"][-1] for h in store.search("招商引资", normalise=key, limit=1)] == ["2"]


def test_texts_are_stored_compressed_and_read_back_whole(store):
    text = "第一段，苏州市吴江区。\n" * 200 + "臺灣與蘇州的經濟交流。"
    store.record(URL, source="s", text=text, norm_text=normalizer()(text), title="報告")
    raw = store.db.execute("select text, norm_text from versions").fetchone()
    assert isinstance(raw[0], bytes)
    assert len(raw[0]) + len(raw[1]) < len(text.encode()) / 10
    (version,) = store.history(URL)
    assert version["text"] == text
    assert store.version(version["id"])["norm_text"] == normalizer()(text)
    assert store.search("台湾与苏州", normalise=normalizer())[0]["url"] == URL


def test_upgrade_compresses_texts_in_place_and_rebuilds_search(tmp_path):
    """A database written before texts were compressed (the migrations before m011) is
    migrated by the store that opens it: same versions and history, search works, and the
    file is smaller."""
    from sqlite_utils import Database

    path = tmp_path / "old.db"
    old = Database(path)
    old["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    for name, func in MIGRATIONS[: [n for n, _ in MIGRATIONS].index("m011_compact_text")]:
        func(old)
        old["_migrations"].insert({"name": name, "applied_at": "2026-01-01"})
    key = normalizer()
    texts = [f"第{n}号文件：吴江区招商引资项目签约。" + "全年新签约重大项目一百二十个。" * 300
             for n in range(30)]  # fmt: skip
    for n, text in enumerate(texts):
        doc = {"url": f"{URL}?{n}", "source": "s", "status": "active"}
        doc_id = old["documents"].insert(doc).last_pk
        version = {"document_id": doc_id, "title": "報告", "text": text, "norm_text": key(text)}
        version_id = old["versions"].insert(version).last_pk
        old["documents"].update(doc_id, {"latest_version_id": version_id})
        old.execute("insert into search (rowid, document_id, title, body) values (?, ?, ?, ?)",
                    [doc_id, doc_id, "报告", key(text)])  # fmt: skip
    old.conn.commit()
    old.close()
    before = path.stat().st_size
    with VersionStore(path, sentence_key=key) as s:
        assert [s.history(f"{URL}?{n}")[0]["text"] for n in range(30)] == texts
        assert [h["url"] for h in s.search("第7号文件", normalise=key)] == [f"{URL}?7"]
        assert len(s.search("招商引资项目", normalise=key)) == 30
        assert s.search("报告", normalise=key)  # the title, in its normalised form
        edited = texts[7].replace("招商引资", "产业投资")
        changed = s.record(f"{URL}?7", source="s", text=edited, norm_text=key(edited), title="報告")
        assert changed.kind == "changed"
        assert [h["url"] for h in s.search("产业投资", normalise=key)] == [f"{URL}?7"]
        assert len(s.search("招商引资项目", normalise=key)) == 29
        merges = "select v from search_config where k = 'automerge'"
        assert s.db.execute(merges).fetchone() == (8,)  # m013, kept in the index itself
    assert path.stat().st_size < before / 2


def test_signature_agreement_is_the_mean_of_equal_values():
    """The report index's Jaccard estimate against every candidate (bytes added as words) is
    ``(matrix == signature).mean(axis=1)``, for no, some and all values equal."""
    import numpy as np

    from storage.reports import _agreement

    rng = np.random.default_rng(7)
    for rows, width in ((0, 128), (1, 128), (300, 128), (40, 64), (9, 12), (5, 256)):
        matrix = rng.integers(0, 3, (rows, width), dtype=np.uint32)
        sig = rng.integers(0, 3, width, dtype=np.uint32)
        if rows:
            matrix[0] = sig  # every value equal
            matrix[-1] = sig + 1  # none
        expected = (matrix == sig).mean(axis=1)
        assert np.array_equal(_agreement(matrix, sig), expected)


def test_a_prepared_version_is_recorded_as_the_store_derives_it(tmp_path):
    """record() with what a crawl's extraction process prepared from the very texts: the same
    rows, changes and search as deriving all itself; one prepared from other strings (equal
    or not) is not used."""
    from storage import prepare

    key = normalizer()
    texts = [TEXT, TEXT.replace("1930", "1931"), TEXT.replace("1930", "1931"), TEXT + "\n附件一。"]
    tables = ("documents", "versions", "changes")

    def run(path, prepared) -> tuple:
        with VersionStore(path, sentence_key=key) as s:
            for n, text in enumerate(texts):
                norm = key(text)
                ready = prepared(text, norm, n)
                s.record(URL, source="s", text=text, norm_text=norm, title="报告",
                         fetched_at=f"2025-01-0{n + 1}T00:00:00", prepared=ready)  # fmt: skip
            rows = [[tuple(r) for r in s.db.execute(f"select * from {t}").fetchall()]
                    for t in tables]  # fmt: skip
            return rows, [h["url"] for h in s.search("附件一", normalise=key)]

    def copy(text: str) -> str:
        return "".join(list(text))  # equal, not the same object

    derived = run(tmp_path / "a.db", lambda text, norm, n: None)
    made = []
    prepared = run(tmp_path / "b.db", lambda t, nt, n: made.append(prepare(t, nt, new=n == 0))
                   or made[-1])  # fmt: skip
    other = run(tmp_path / "c.db", lambda t, nt, n: prepare(copy(t), copy(nt)))
    wrong = run(tmp_path / "d.db", lambda t, nt, n: prepare("别的文本。", "别的文本。"))
    assert derived[1] == [URL]
    assert [len(rows) for rows in derived[0]] == [1, 3, 3]
    assert prepared == derived
    assert other == derived
    assert wrong == derived
    assert made[0].of(texts[0], made[0].norm_text)
    assert made[0].body_terms
    assert made[0].sentences == 3
    assert made[1].body_terms is None  # a known document's: the store derives them if needed

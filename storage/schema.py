"""Schema of the govwatch database, as an ordered list of named migrations.

``ensure_schema(db)`` applies the migrations a database has not seen yet, each in its own
transaction, and records them in the ``_migrations`` table, like sqlite-utils' migrations. New
columns or tables are added by appending a migration, never by editing an applied one.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlite_utils import Database

MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = []


def migration(func: Callable[[Database], None]) -> Callable[[Database], None]:
    MIGRATIONS.append((func.__name__, func))
    return func


@migration
def m001_initial(db: Database) -> None:
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name", if_not_exists=True)
    db["sources"].create(
        {
            "name": str,
            "title": str,
            "region": str,
            "category": str,
            "updated_at": str,
        },
        pk="name",
        if_not_exists=True,
    )
    db["documents"].create(
        {
            "id": int,
            "url": str,
            "source": str,
            "first_seen": str,
            "last_seen": str,
            "last_checked": str,
            "latest_version_id": int,
            "status": str,  # active | removed
            "etag": str,
            "last_modified": str,
            "body_hash": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db["documents"].create_index(["url"], unique=True, if_not_exists=True)
    db["documents"].create_index(["source"], if_not_exists=True)
    db["versions"].create(
        {
            "id": int,
            "document_id": int,
            "fetched_at": str,
            "run_id": int,
            "title": str,
            "published": str,
            "text": str,
            "text_hash": str,
            "norm_text": str,
            "norm_hash": str,
            "meta": str,  # JSON: issuing body, encoding, ... (what extraction found)
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
        if_not_exists=True,
    )
    db["versions"].create_index(["document_id", "norm_hash"], if_not_exists=True)
    db["runs"].create(
        {
            "id": int,
            "source": str,
            "trigger": str,  # manual | scheduled
            "started_at": str,
            "finished_at": str,
            "outcome": str,  # running | ok | failed | timed_out | interrupted
            "pages": int,
            "not_modified": int,
            "new": int,
            "changed": int,
            "unchanged": int,
            "errors": int,
            "pid": int,
            "log_path": str,
            "finish_reason": str,
        },
        pk="id",
        defaults={
            "pages": 0,
            "not_modified": 0,
            "new": 0,
            "changed": 0,
            "unchanged": 0,
            "errors": 0,
        },
        if_not_exists=True,
    )
    db["runs"].create_index(["source", "started_at"], if_not_exists=True)
    db["changes"].create(
        {
            "id": int,
            "document_id": int,
            "kind": str,  # new | changed
            "version_id": int,
            "previous_version_id": int,
            "run_id": int,
            "detected_at": str,
            "added": int,
            "removed": int,
            "modified": int,
            "summary": str,
            "diff": str,  # JSON list of sentence operations, see storage.diff
            "reviewed_at": str,
        },
        pk="id",
        foreign_keys=[
            ("document_id", "documents", "id"),
            ("version_id", "versions", "id"),
        ],
        if_not_exists=True,
    )
    db["changes"].create_index(["detected_at"], if_not_exists=True)
    db["changes"].create_index(["document_id"], if_not_exists=True)
    db["errors"].create(
        {
            "id": int,
            "run_id": int,
            "source": str,
            "url": str,
            "kind": str,  # http | network | robots | extract | not_html | too_large | ...
            "message": str,
            "at": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db["errors"].create_index(["run_id"], if_not_exists=True)


@migration
def m002_removal_and_suspects(db: Database) -> None:
    """Consecutive misses (404/410) before a document counts as removed; held suspects."""
    docs = db["documents"]
    for column, kind in (
        ("missing_count", int),
        ("missing_since", str),
        ("suspect_hash", str),
        ("suspect_count", int),
    ):
        if column not in docs.columns_dict:
            docs.add_column(column, kind)
    if "same_as_version_id" not in db["changes"].columns_dict:
        db["changes"].add_column("same_as_version_id", int)
    db["changes"].create_index(["kind"], if_not_exists=True)


@migration
def m003_run_event_counts(db: Database) -> None:
    """Runs count removed and restored documents and held suspects."""
    for column in ("removed", "restored", "suspects"):
        if column not in db["runs"].columns_dict:
            db["runs"].add_column(column, int, not_null_default=0)


@migration
def m004_facts_and_reports(db: Database) -> None:
    """What each version is about, its near-duplicate signature, and reports across sites."""
    versions = db["versions"]
    for column, kind in (
        ("region", str),
        ("place", str),
        ("doc_type", str),
        ("report_year", int),
        ("issuer", str),
        ("signature", bytes),
        ("shingles", int),
    ):
        if column not in versions.columns_dict:
            versions.add_column(column, kind)
    db["reports"].create(
        {
            "id": int,
            "region": str,
            "year": int,
            "doc_type": str,
            "title": str,
            "document_id": int,
            "created_at": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db["report_copies"].create(
        {
            "document_id": int,
            "report_id": int,
            "relation": str,
            "similarity": float,
            "linked_at": str,
        },
        pk="document_id",
        foreign_keys=[("report_id", "reports", "id")],
        if_not_exists=True,
    )
    db["report_copies"].create_index(["report_id"], if_not_exists=True)


@migration
def m005_search_and_notifications(db: Database) -> None:
    """Full-text search over latest versions (FTS5 trigram: Chinese substrings match) and the
    log of notifications sent or still to send."""
    db.execute(
        "create virtual table if not exists search using fts5("
        "document_id unindexed, title, body, tokenize='trigram')"
    )
    db.execute(
        "insert into search (rowid, document_id, title, body) "
        "select d.id, d.id, v.title, v.norm_text "
        "from documents d join versions v on v.id = d.latest_version_id"
    )
    db["notifications"].create(
        {
            "id": int,
            "run_id": int,
            "source": str,
            "target": str,
            "url_hash": str,
            "title": str,
            "body": str,
            "status": str,
            "attempts": int,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        defaults={"attempts": 0},
        if_not_exists=True,
    )
    db["notifications"].create_index(["status"], if_not_exists=True)


@migration
def m006_review_indexes(db: Database) -> None:
    """Indexes for the review UI's filters and their choices at tens of thousands of changes."""
    for table, columns in (
        ("versions", ["region"]),
        ("versions", ["doc_type"]),
        ("changes", ["kind", "detected_at"]),
        ("changes", ["reviewed_at"]),
    ):
        db[table].create_index(columns, if_not_exists=True)


@migration
def m007_run_offsite_and_source_locks(db: Database) -> None:
    """Runs count the off-site links they skipped; one crawl of a source at a time."""
    if "offsite" not in db["runs"].columns_dict:
        db["runs"].add_column("offsite", int, not_null_default=0)
    db["source_locks"].create(
        {"source": str, "run_id": int, "pid": int, "host": str, "acquired_at": str},
        pk="source",
        if_not_exists=True,
    )


@migration
def m008_attachments(db: Database) -> None:
    """Attachments are documents with a parent (the page that links to them) and a MIME type;
    pages are ``text/html`` with no parent."""
    columns = db["documents"].columns_dict
    if "parent" not in columns:
        db["documents"].add_column("parent", str)
    if "content_type" not in columns:
        db["documents"].add_column("content_type", str)
    db.execute("update documents set content_type = 'text/html' where content_type is null")
    db["documents"].create_index(["parent"], if_not_exists=True)


@migration
def m009_instance_identity(db: Database) -> None:
    """A random identity for this database: feed entry ids stay the same whatever host or port
    the UI is reached at, and differ between databases."""
    import uuid

    db["settings"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["settings"].insert({"key": "instance_id", "value": str(uuid.uuid4())}, ignore=True)


@migration
def m010_adaptive_revisits(db: Database) -> None:
    """How many checks in a row found a document unchanged, and when it is due again: the
    documents a source no longer lists are re-checked on this adaptive schedule."""
    columns = db["documents"].columns_dict
    if "unchanged_checks" not in columns:
        db["documents"].add_column("unchanged_checks", int, not_null_default=0)
    if "next_check" not in columns:
        db["documents"].add_column("next_check", str)
    db["documents"].create_index(["source", "next_check"], if_not_exists=True)


@migration
def m011_compact_text(db: Database) -> None:
    """Version texts compressed, the normalised text kept only as its difference from the text
    (storage.base.pack_text/pack_norm), and the search index without its copy of the texts
    and without positions (FTS5 trigram, contentless, ``detail=none``; storage.search checks
    each candidate against the text). The store fills the new index when it opens the
    database (``documents.search_title`` is null until then), as the title is indexed in its
    normalised form, which only the store knows."""
    from .packing import pack_norm, pack_text

    if "search_title" not in db["documents"].columns_dict:
        db["documents"].add_column("search_title", str)
    rows = db.execute(
        "select id, text, norm_text from versions where typeof(text) = 'text' "
        "or typeof(norm_text) = 'text'"
    )
    while batch := rows.fetchmany(500):
        db.conn.executemany(
            "update versions set text = ?, norm_text = ? where id = ?",
            [(pack_text(t or ""), pack_norm(n if n is not None else t or "", t or ""), i)
             for i, t, n in batch],
        )  # fmt: skip
    db.execute("drop table if exists search")
    db.execute(
        "create virtual table search using fts5("
        "title, body, tokenize='trigram', detail=none, content='')"
    )
    db.execute("update documents set search_title = null")
    db.execute(  # the store looks for documents to index each time it opens: only these
        "create index if not exists documents_unindexed on documents(latest_version_id) "
        "where search_title is null"
    )


@migration
def m012_bigram_search(db: Database) -> None:
    """The search index holds each document's distinct character pairs (storage.search:
    ``index_terms``) instead of every trigram of its text: a third of the writing, less than
    half the size, and two-character terms (苏州, 招商) found through the index. Refilled by
    the store when it opens the database, as after m011."""
    db.execute("drop table if exists search")
    db.execute(
        "create virtual table search using fts5("
        "title, body, tokenize='ascii', detail=none, content='')"
    )
    db.execute("update documents set search_title = null")


@migration
def m013_search_merges(db: Database) -> None:
    """The search index merges its segments eight at a time instead of four (FTS5's
    ``automerge``, kept in the index itself): each document's terms are rewritten on about half
    as many merge levels. Writing 3,000 documents 16 at a time: 3.8 -> 3.4 ms a document, the
    index 4% larger, the same search results."""
    db.execute("insert into search (search, rank) values ('automerge', 8)")


VACUUM_AFTER = {
    "m011_compact_text",
    "m012_bigram_search",
}  # migrations that free much space: VACUUM after them


class NewerDatabase(Exception):
    """The database has migrations this govwatch does not know: it is from a newer version."""


def ensure_schema(db: Database) -> None:
    """Bring ``db`` up to the newest schema; a no-op when it is there already.

    The check and the migrations run in one ``BEGIN IMMEDIATE`` transaction, so that two
    processes opening a new database at once do not both apply a migration.
    """
    if db["_migrations"].exists():
        known = {name for name, _ in MIGRATIONS}
        newer = sorted({row["name"] for row in db["_migrations"].rows} - known)
        if newer:
            raise NewerDatabase(
                f"written by a newer govwatch (schema {newer[-1]}); upgrade govwatch to open it"
            )
    if _pending(db):
        db.conn.execute("BEGIN IMMEDIATE")
        applied = set()
        try:
            for name, func in _pending(db):
                applied.add(name)
                func(db)
                db["_migrations"].insert(
                    {"name": name, "applied_at": _now()}, pk="name", replace=True
                )
        except BaseException:
            db.rollback()
            raise
        db.commit()
        if applied & VACUUM_AFTER and db.execute("select count(*) from versions").fetchone()[0]:
            db.execute("VACUUM")  # give the freed pages back to the file system


def _pending(db: Database) -> list[tuple[str, Callable[[Database], None]]]:
    if not db["_migrations"].exists():
        return list(MIGRATIONS)
    applied = {row["name"] for row in db["_migrations"].rows}
    return [(name, func) for name, func in MIGRATIONS if name not in applied]


def _now() -> str:
    from datetime import datetime

    return datetime.now(UTC).isoformat(timespec="seconds")

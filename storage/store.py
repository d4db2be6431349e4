"""The version store: every distinct version of every document, and the change log.

A document is identified by its canonical URL. ``record()`` compares the new text with the
document's latest version through its normalised form (``norm_text``); an equal form adds no
version, a different one adds a version and a ``changed`` entry with a sentence diff, and the
first sight of a document adds a ``new`` entry. Each document is written in one transaction
(``BEGIN IMMEDIATE``), so concurrent crawls never interleave half-written documents, and a crawl
killed halfway leaves every document either fully recorded or untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from .diff import sentence_diff
from .schema import ensure_schema

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator


class StoreError(Exception):
    """The database cannot be opened or written."""


class UnknownDocument(KeyError):
    """No document has that URL."""


class UnknownChange(KeyError):
    """No change has that id."""


RUN_COUNTERS = ("pages", "not_modified", "new", "changed", "unchanged", "errors")


@dataclass(frozen=True)
class Change:
    """What ``record()`` did: kind is new, changed or unchanged."""

    kind: str
    document_id: int
    version_id: int
    change_id: int | None = None
    summary: str = ""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class VersionStore:
    """SQLite store of documents, versions, changes, runs and errors.

    ``sentence_key`` normalises a sentence before the diff compares it (see storage.diff).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 60.0,
        sentence_key: Callable[[str], str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.sentence_key = sentence_key
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False)
            self.db = Database(conn)
            self.db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if str(path) != ":memory:":
                self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            ensure_schema(self.db)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> VersionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Database]:
        """One write transaction that takes the write lock before it reads."""
        try:
            self.db.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write database {self.path}: {exc}") from exc
        try:
            yield self.db
        except BaseException:
            self.db.rollback()
            raise
        else:
            self.db.commit()

    # -- sources ---------------------------------------------------------------------------

    def sync_sources(self, sources: Iterable[dict[str, Any]]) -> None:
        rows = [
            {
                "name": s["name"],
                "title": s.get("title"),
                "region": s.get("region"),
                "category": s.get("category"),
                "updated_at": now_iso(),
            }
            for s in sources
        ]
        with self._write() as db:
            db["sources"].upsert_all(rows, pk="name")

    def sources(self) -> list[dict[str, Any]]:
        return list(self.db["sources"].rows_where(order_by="name"))

    # -- runs ------------------------------------------------------------------------------

    def start_run(
        self,
        source: str,
        trigger: str = "manual",
        *,
        pid: int | None = None,
        log_path: str | None = None,
        started_at: str | None = None,
    ) -> int:
        row = {
            "source": source,
            "trigger": trigger,
            "started_at": started_at or now_iso(),
            "outcome": "running",
            "pid": pid if pid is not None else os.getpid(),
            "log_path": log_path,
        }
        with self._write() as db:
            return db["runs"].insert(row).last_pk

    def update_run(self, run_id: int, **fields: Any) -> None:
        with self._write() as db:
            db["runs"].update(run_id, fields)

    def finish_run(self, run_id: int, outcome: str, **fields: Any) -> None:
        """Close a run; keeps the first outcome if the run was already closed."""
        with self._write() as db:
            current = db["runs"].get(run_id)
            fields = {"finished_at": now_iso(), **fields}
            if current["outcome"] == "running":
                fields["outcome"] = outcome
            db["runs"].update(run_id, fields)

    def run(self, run_id: int) -> dict[str, Any]:
        return self.db["runs"].get(run_id)

    def runs(self, source: str | None = None, limit: int | None = 50) -> list[dict[str, Any]]:
        where, args = ("source = ?", [source]) if source else (None, None)
        return list(self.db["runs"].rows_where(where, args, order_by="id desc", limit=limit))

    def reap_stale_runs(self) -> int:
        """Mark runs left 'running' by a process that no longer exists as interrupted."""
        stale = [
            r["id"]
            for r in self.db["runs"].rows_where("outcome = 'running'")
            if not _pid_alive(r["pid"])
        ]
        for run_id in stale:
            self.finish_run(run_id, "interrupted")
        return len(stale)

    def record_error(
        self,
        *,
        url: str | None,
        kind: str,
        message: str,
        run_id: int | None = None,
        source: str | None = None,
        at: str | None = None,
    ) -> int:
        row = {
            "run_id": run_id,
            "source": source,
            "url": url,
            "kind": kind,
            "message": message[:2000],
            "at": at or now_iso(),
        }
        with self._write() as db:
            return db["errors"].insert(row).last_pk

    def errors(self, run_id: int | None = None, limit: int | None = 100) -> list[dict]:
        where, args = ("run_id = ?", [run_id]) if run_id else (None, None)
        return list(self.db["errors"].rows_where(where, args, order_by="id desc", limit=limit))

    # -- documents and versions ------------------------------------------------------------

    def document(self, url: str) -> dict[str, Any] | None:
        rows = list(self.db["documents"].rows_where("url = ?", [url], limit=1))
        return rows[0] if rows else None

    def record(
        self,
        url: str,
        *,
        source: str,
        text: str,
        norm_text: str | None = None,
        title: str | None = None,
        published: str | None = None,
        fetched_at: str | None = None,
        run_id: int | None = None,
        meta: dict[str, Any] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        body_hash: str | None = None,
    ) -> Change:
        """Record one fetch of ``url``; returns what it was: new, changed or unchanged."""
        fetched_at = fetched_at or now_iso()
        norm_text = text if norm_text is None else norm_text
        norm_hash = text_hash(norm_text)
        with self._write() as db:
            doc = self.document(url)
            http_state = {"etag": etag, "last_modified": last_modified, "body_hash": body_hash}
            if doc is None:
                doc_id = (
                    db["documents"]
                    .insert(
                        {
                            "url": url,
                            "source": source,
                            "first_seen": fetched_at,
                            "last_seen": fetched_at,
                            "last_checked": fetched_at,
                            "status": "active",
                            **http_state,
                        }
                    )
                    .last_pk
                )
                previous = None
            else:
                doc_id = doc["id"]
                previous = db["versions"].get(doc["latest_version_id"])
                db["documents"].update(
                    doc_id,
                    {"last_seen": fetched_at, "last_checked": fetched_at, **http_state},
                )
            if previous is not None and previous["norm_hash"] == norm_hash:
                return Change("unchanged", doc_id, previous["id"])
            version_id = (
                db["versions"]
                .insert(
                    {
                        "document_id": doc_id,
                        "fetched_at": fetched_at,
                        "run_id": run_id,
                        "title": title,
                        "published": published,
                        "text": text,
                        "text_hash": text_hash(text),
                        "norm_text": norm_text,
                        "norm_hash": norm_hash,
                        "meta": json.dumps(meta or {}, ensure_ascii=False),
                    }
                )
                .last_pk
            )
            db["documents"].update(doc_id, {"latest_version_id": version_id})
            change = self._log_change(
                db, doc_id, version_id, previous, text, title, run_id, fetched_at
            )
            return change

    def _log_change(
        self,
        db: Database,
        doc_id: int,
        version_id: int,
        previous: dict[str, Any] | None,
        text: str,
        title: str | None,
        run_id: int | None,
        at: str,
    ) -> Change:
        if previous is None:
            diff = sentence_diff("", text, self.sentence_key)
            kind, summary = "new", f"new: {title or '(untitled)'} ({len(text)} chars)"
        else:
            diff = sentence_diff(previous["text"], text, self.sentence_key)
            kind = "changed"
            summary = diff.summary()
            if previous["title"] != title:
                summary = f"title: {previous['title']} → {title}; {summary}"
        change_id = (
            db["changes"]
            .insert(
                {
                    "document_id": doc_id,
                    "kind": kind,
                    "version_id": version_id,
                    "previous_version_id": previous["id"] if previous else None,
                    "run_id": run_id,
                    "detected_at": at,
                    "added": diff.added,
                    "removed": diff.removed,
                    "modified": diff.modified,
                    "summary": summary,
                    "diff": json.dumps(diff.ops if previous else [], ensure_ascii=False),
                }
            )
            .last_pk
        )
        return Change(kind, doc_id, version_id, change_id, summary)

    def touch(self, url: str, *, checked_at: str | None = None, **http_state: Any) -> None:
        """Note that ``url`` was checked and found unchanged (304 or the same body)."""
        fields = {"last_checked": checked_at or now_iso(), **http_state}
        fields["last_seen"] = fields["last_checked"]
        with self._write() as db:
            doc = self.document(url)
            if doc is not None:
                db["documents"].update(doc["id"], fields)

    # -- reading ---------------------------------------------------------------------------

    _CHANGE_SELECT = """
        select c.id, c.kind, d.url, d.source, v.title, v.published, c.detected_at,
               c.added, c.removed, c.modified, c.summary, c.run_id, c.reviewed_at,
               c.version_id, c.previous_version_id, c.document_id
        from changes c join documents d on d.id = c.document_id
        join versions v on v.id = c.version_id
    """

    def changes(
        self,
        *,
        since: str | None = None,
        source: str | None = None,
        kind: str | None = None,
        unreviewed: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The change log, newest first."""
        where, args = [], []
        if since:
            where.append("c.detected_at >= ?")
            args.append(since)
        if source:
            where.append("d.source = ?")
            args.append(source)
        if kind:
            where.append("c.kind = ?")
            args.append(kind)
        if unreviewed:
            where.append("c.reviewed_at is null")
        sql = self._CHANGE_SELECT
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by c.detected_at desc, c.id desc"
        if limit:
            sql += f" limit {int(limit)}"
        return list(self.db.query(sql, args))

    def change(self, change_id: int) -> dict[str, Any]:
        rows = list(self.db.query(self._CHANGE_SELECT + " where c.id = ?", [change_id]))
        if not rows:
            raise UnknownChange(change_id)
        row = rows[0]
        row["diff"] = json.loads(self.db["changes"].get(change_id)["diff"] or "[]")
        return row

    def mark_reviewed(self, change_ids: Iterable[int], at: str | None = None) -> list[int]:
        """Mark changes reviewed; returns the ids that do not exist."""
        ids = list(change_ids)
        with self._write() as db:
            found = (
                {
                    r["id"]
                    for r in db["changes"].rows_where(f"id in ({','.join('?' * len(ids))})", ids)
                }
                if ids
                else set()
            )
            for change_id in found:
                db["changes"].update(change_id, {"reviewed_at": at or now_iso()})
        return [i for i in ids if i not in found]

    def history(self, url: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Versions of the document at ``url``, oldest first."""
        doc = self.document(url)
        if doc is None:
            raise UnknownDocument(url)
        rows = self.db["versions"].rows_where(
            "document_id = ?", [doc["id"]], order_by="id", limit=limit
        )
        return [{**r, "meta": json.loads(r["meta"] or "{}")} for r in rows]

    def version(self, version_id: int) -> dict[str, Any]:
        return self.db["versions"].get(version_id)

    def counts(self) -> dict[str, int]:
        return {t: self.db[t].count for t in ("documents", "versions", "changes", "errors")}


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

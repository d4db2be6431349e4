"""The SQLite connection all parts of the store share, and small helpers."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from .schema import NewerDatabase, ensure_schema

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


class StoreError(Exception):
    """The database cannot be opened or written."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Connection:
    """Opens (and creates or upgrades) the database: WAL, busy timeout, foreign keys."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self._batching = False
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
        except (OSError, sqlite3.Error, NewerDatabase) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    def wait_for_lock(self, seconds: float) -> None:
        """From now on, a write waits up to ``seconds`` for another process's lock."""
        self.db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    # -- plain SQL for the hot path -------------------------------------------------------
    # Recording a document runs these a dozen times: prepared statements (sqlite3 caches them
    # by text), where sqlite-utils would read the table's schema and open a savepoint for
    # each call (and a savepoint makes FTS5 write its pending index data out each time).
    # Table and column names here come from the code, never from input.

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        cursor = self.db.conn.execute(sql, args)
        names = [d[0] for d in cursor.description]
        return (dict(zip(names, row, strict=True)) for row in cursor)

    def _row(self, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
        return next(self._rows(sql, args), None)

    def _insert(self, table: str, row: dict[str, Any], *, replace: bool = False) -> int:
        verb = "insert or replace" if replace else "insert"
        sql = f"{verb} into {table} ({', '.join(row)}) values ({', '.join('?' * len(row))})"
        return self.db.conn.execute(sql, list(row.values())).lastrowid

    def _update(self, table: str, row_id: int, fields: dict[str, Any]) -> None:
        sql = f"update {table} set {', '.join(f'{k} = ?' for k in fields)} where id = ?"
        self.db.conn.execute(sql, [*fields.values(), row_id])

    def _flush_index(self, db: Database) -> None:
        """Write what was queued for the search index (storage.search), before a commit."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many writes in one transaction (one commit, one lock): each write inside is a
        savepoint, so one that fails is undone alone and the others are kept. A process killed
        before the end leaves none of them, never part of one."""
        if self._batching:
            yield
            return
        with self._write():
            self._batching = True
            try:
                yield
            finally:
                self._batching = False

    @contextlib.contextmanager
    def _write(self) -> Iterator[Database]:
        """One write transaction that takes the write lock before it reads (inside a batch:
        a savepoint of the batch's transaction)."""
        if self._batching:
            queued = self._queued_index()
            try:
                with self.db.atomic():  # sqlite-utils: a savepoint when a transaction is open
                    yield self.db
            except BaseException:
                self._restore_index(queued)  # what the undone write queued is dropped too
                raise
            return
        try:
            self.db.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write database {self.path}: {exc}") from exc
        try:
            yield self.db
            self._flush_index(self.db)
        except BaseException:
            self._restore_index({})
            self.db.rollback()
            raise
        else:
            self.db.commit()

    def _queued_index(self) -> dict[int, Any]:
        return {}

    def _restore_index(self, queued: dict[int, Any]) -> None:
        pass

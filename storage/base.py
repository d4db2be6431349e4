"""The SQLite connection all parts of the store share, and small helpers."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from .schema import NewerDatabase, ensure_schema

if TYPE_CHECKING:
    from collections.abc import Iterator


class StoreError(Exception):
    """The database cannot be opened or written."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
            with self.db.atomic():  # sqlite-utils: a savepoint when a transaction is open
                yield self.db
            return
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

"""The run log: one row per crawl of a source, and the errors of each run."""

from __future__ import annotations

import os
from typing import Any

from .base import Connection, now_iso

FAILED_OUTCOMES = ("failed", "timed_out")


class RunLog(Connection):
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

    def health(self, source: str, lookback: int = 100, before: int | None = None) -> dict[str, Any]:
        """Whether ``source`` is failing: its newest finished runs that failed, in a row.

        ``failing`` (bool), ``failed_runs`` (how many in a row), ``failing_since`` (start of the
        first of them), ``reason`` (the newest one's finish reason: blocked, no_links, ...),
        ``blocked_runs`` (how many in a row were blocked: the scheduler's back-off). With
        ``before``, as it was before that run id.
        """
        rows = self.db.execute(
            "select started_at, outcome, finish_reason from runs where source = ? and outcome "
            "not in ('running', 'interrupted') and id < ? order by id desc limit ?",
            [source, before if before is not None else 1 << 62, lookback],
        ).fetchall()
        failed = 0
        while failed < len(rows) and rows[failed][1] in FAILED_OUTCOMES:
            failed += 1
        blocked = 0
        while blocked < failed and rows[blocked][2] == "blocked":
            blocked += 1
        return {
            "failing": failed > 0,
            "failed_runs": failed,
            "failing_since": rows[failed - 1][0] if failed else None,
            "reason": (rows[0][2] or rows[0][1]) if failed else None,
            "blocked_runs": blocked,
        }

    def acquire_source_lock(self, source: str, run_id: int) -> dict[str, Any] | None:
        """Take ``source``'s crawl lock for ``run_id``; the holder's row when another live crawl
        has it. A lock whose holder process is gone, or whose run has ended, is taken over."""
        import socket

        host, pid = socket.gethostname(), os.getpid()
        with self._write() as db:
            holder = next(db["source_locks"].rows_where("source = ?", [source]), None)
            if holder and holder["run_id"] != run_id and self._lock_alive(db, holder, host):
                return holder
            db["source_locks"].insert(
                {"source": source, "run_id": run_id, "pid": pid, "host": host,
                 "acquired_at": now_iso()},
                pk="source", replace=True,
            )  # fmt: skip
        return None

    @staticmethod
    def _lock_alive(db: Any, holder: dict[str, Any], host: str) -> bool:
        run = next(db["runs"].rows_where("id = ?", [holder["run_id"]]), None)
        if run is None or run["outcome"] != "running":
            return False
        return holder["host"] != host or _pid_alive(holder["pid"])

    def release_source_lock(self, source: str, run_id: int) -> None:
        with self._write() as db:
            db.execute("delete from source_locks where source = ? and run_id = ?", [source, run_id])

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

    def prune_errors(self, older_than: str) -> int:
        """Delete error rows recorded before ``older_than`` (ISO time); returns how many."""
        with self._write() as db:
            cursor = db.execute("delete from errors where at < ?", [older_than])
            return cursor.rowcount


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

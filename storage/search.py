"""Search over the latest version of every document, and the notification log.

Queries of three characters or more use the FTS5 trigram index (any Chinese substring
matches); shorter ones (苏州, 招商) fall back to a substring scan of the latest versions. The
query and the texts are compared in their normalised Simplified form; each hit carries the
first sentence that matches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Connection, now_iso
from .diff import split_sentences

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlite_utils import Database


class SearchIndex(Connection):
    def _index(self, db: Database, doc_id: int, title: str | None, norm_text: str) -> None:
        # rowid is the document id: a lookup, where the unindexed column would be a full scan
        db.execute("delete from search where rowid = ?", [doc_id])
        key = self.sentence_key or (lambda t: t)
        db.execute(
            "insert into search (rowid, document_id, title, body) values (?, ?, ?, ?)",
            [doc_id, doc_id, key(title or ""), norm_text],
        )

    def search(
        self, query: str, *, normalise: Callable[[str], str] | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        norm = (normalise or (lambda s: s))(query).strip()
        if not norm:
            return []
        if len(norm) >= 3:
            phrase = '"' + norm.replace('"', '""') + '"'
            ids = [r[0] for r in self.db.execute(
                "select document_id from search where search match ? order by rank limit ?",
                [phrase, limit])]  # fmt: skip
        else:
            like = f"%{norm}%"
            ids = [
                r[0]
                for r in self.db.execute(
                    "select document_id from search where body like ? or title like ? "
                    "order by rowid desc limit ?",
                    [like, like, limit],
                )
            ]  # newest first, stops early
        hits = []
        for doc_id in ids:
            row = next(
                self.db.query(
                    """select d.id as document_id, d.url, d.source, v.title, v.published, v.region,
                          v.doc_type, v.text from documents d
                   join versions v on v.id = d.latest_version_id where d.id = ?""",
                    [doc_id],
                )
            )
            sentences = split_sentences(row.pop("text"))
            key = normalise or (lambda s: s)
            row["match"] = next((s for s in sentences if norm in key(s)), "")
            hits.append(row)
        return hits

    # -- notifications ---------------------------------------------------------------------

    def queue_notification(
        self, *, run_id: int | None, source: str, target: str, url_hash: str, title: str, body: str
    ) -> int:
        with self._write() as db:
            return db["notifications"].insert({
                "run_id": run_id, "source": source, "target": target, "url_hash": url_hash,
                "title": title, "body": body, "status": "pending", "attempts": 0,
                "created_at": now_iso(),
            }).last_pk  # fmt: skip

    def notification_result(self, notification_id: int, ok: bool, error: str | None = None) -> None:
        with self._write() as db:
            row = db["notifications"].get(notification_id)
            db["notifications"].update(notification_id, {
                "attempts": row["attempts"] + 1, "status": "sent" if ok else "failed",
                "last_error": None if ok else (error or "not delivered"),
                "sent_at": now_iso() if ok else None,
            })  # fmt: skip

    def unsent_notifications(self, source: str, max_attempts: int) -> list[dict[str, Any]]:
        return list(self.db["notifications"].rows_where(
            "source = ? and status != 'sent' and attempts < ?", [source, max_attempts],
            order_by="id"))  # fmt: skip

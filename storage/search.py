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
        self,
        query: str,
        *,
        normalise: Callable[[str], str] | None = None,
        limit: int = 50,
        source: str | None = None,
        region: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]:
        """Documents whose latest version holds every term of ``query`` (terms apart by
        spaces; "quoted phrases" kept whole), optionally of one ``source`` or ``region`` and
        published from ``since`` to before ``until``. Each hit has ``match``, the sentence
        with the most terms, and ``terms``, the normalised terms (for highlighting)."""
        key = normalise or (lambda t: t)
        terms = [t for t in dict.fromkeys(key(x).strip() for x in query_terms(query)) if t]
        if not terms:
            return []
        fts = [t for t in terms if len(t) >= 3]  # the trigram index needs three characters
        where, args = [], []
        if fts:
            where.append("search match ?")
            args.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in fts))
        for term in (t for t in terms if len(t) < 3):
            where.append("(search.body like ? or search.title like ?)")
            args += [f"%{term}%", f"%{term}%"]
        for column, value, op in (
            ("d.source", source, "="),
            ("v.region", region, "="),
            ("v.published", since, ">="),
            ("v.published", until, "<"),
        ):
            if value:
                where.append(f"{column} {op} ?")
                args.append(value)  # fmt: skip
        order = "rank" if fts else "search.rowid desc"
        sql = (
            "select d.id as document_id, d.url, d.source, v.title, v.published, v.region, "
            "v.doc_type, v.text from search join documents d on d.id = search.rowid "
            "join versions v on v.id = d.latest_version_id where " + " and ".join(where)
            + f" order by {order} limit ?"
        )  # fmt: skip
        hits = []
        for row in self.db.query(sql, [*args, limit]):
            sentences = split_sentences(row.pop("text"))
            scored = [(sum(t in key(s) for t in terms), -n, s) for n, s in enumerate(sentences)]
            best = max(scored, default=(0, 0, ""))
            row["match"] = best[2] if best[0] else ""
            row["terms"] = terms
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


def query_terms(query: str) -> list[str]:
    """The terms of a search: words apart by spaces (full-width too), "quoted phrases" whole."""
    import re

    return [a or b for a, b in re.findall(r'"([^"]+)"|“([^”]+)”', query)] + [
        t for t in re.split(r"[\s\u3000]+", re.sub(r'"[^"]+"|“[^”]+”', " ", query)) if t
    ]


def highlight(sentence: str, terms: list[str], key: Callable[[str], str] | None = None) -> list:
    """``sentence`` as ``[(text, matched)]`` pieces, each term marked where it occurs (found
    in the normalised form when normalising keeps the length, as t2s does)."""
    norm = key(sentence) if key else sentence
    probe = norm if len(norm) == len(sentence) else sentence
    marked = [False] * len(sentence)
    for term in terms:
        start = probe.find(term)
        while start >= 0 and term:
            for i in range(start, min(len(sentence), start + len(term))):
                marked[i] = True
            start = probe.find(term, start + len(term))
    pieces: list[tuple[str, bool]] = []
    for ch, on in zip(sentence, marked, strict=True):
        if pieces and pieces[-1][1] == on:
            pieces[-1] = (pieces[-1][0] + ch, on)
        else:
            pieces.append((ch, on))
    return pieces

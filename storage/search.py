"""Search over the latest version of every document, and the notification log.

The index is an FTS5 index of the distinct character pairs (bigrams) of each document's
normalised title and latest text (``index_terms``: pairs of letters, digits or Han
characters, ASCII case ignored), contentless and without positions (``detail=none``): a
fraction of the size of the texts and cheap to write. A term of two characters or more finds
its candidates there (documents holding all of its pairs); every candidate is then checked
for the term itself in its text, so a hit always holds every term, as a substring, in the
title or the text. Queries of only one-character terms scan the latest versions and give the
newest hits. The query and the texts are compared in their normalised Simplified form, ASCII
case ignored. Hits of indexed terms are ranked by how often the terms occur (in the title
counting more), then newest first, among the newest ``MAX_CANDIDATES`` candidates; each hit
carries the sentence with the most terms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Connection, now_iso
from .diff import split_sentences
from .packing import unpack_norm, unpack_text
from .terms import index_terms

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlite_utils import Database


MAX_CANDIDATES = 2000  # index candidates checked and ranked per search (newest first)


class SearchIndex(Connection):
    def _index(
        self,
        db: Database,
        doc: dict[str, Any] | int,
        title: str | None,
        norm_text: str,
        indexed_body: str | None = None,
        terms: str | None = None,
    ) -> None:
        """(Re)index a document (its row, or the id of a new one) under ``title`` and
        ``norm_text``. The index is contentless: taking out what it held needs the very values
        it was given, the document's ``search_title`` and ``indexed_body`` (its latest
        version's normalised text). ``terms``: index_terms(norm_text), if made already.

        The index is written when the transaction ends (``_flush_index``), all its documents
        at once: FTS5 writes a segment each time a savepoint ends, so a document indexed
        among the other writes would cost a segment (and later merges) of its own."""
        doc_id = doc if isinstance(doc, int) else doc["id"]
        key = self.sentence_key or (lambda t: t)
        title_key = key(title or "")
        pending = self.__dict__.setdefault("_pending_index", {})
        if doc_id in pending:  # indexed twice in one transaction: the index holds the first
            old = pending[doc_id][:2]
        else:
            old_title = None if isinstance(doc, int) else doc.get("search_title")
            old = (old_title, indexed_body or "")
        pending[doc_id] = (*old, title_key, norm_text, terms)
        db.conn.execute("update documents set search_title = ? where id = ?", [title_key, doc_id])

    def _flush_index(self, db: Database) -> None:
        pending = self.__dict__.pop("_pending_index", None)
        if not pending:
            return
        db.conn.executemany(
            "insert into search (search, rowid, title, body) values ('delete', ?, ?, ?)",
            [(i, index_terms(t), index_terms(b)) for i, (t, b, _, _, _) in pending.items()
             if t is not None],
        )  # fmt: skip
        db.conn.executemany(
            "insert into search (rowid, title, body) values (?, ?, ?)",
            [(i, index_terms(t), index_terms(b) if terms is None else terms)
             for i, (_, _, t, b, terms) in pending.items()],
        )  # fmt: skip

    def _queued_index(self) -> dict[int, Any]:
        return dict(self.__dict__.get("_pending_index", {}))

    def _restore_index(self, queued: dict[int, Any]) -> None:
        self.__dict__["_pending_index"] = dict(queued)

    def _index_missing(self) -> int:
        """Index the documents that are not (a database just migrated): how many."""
        sql = (
            "select d.id, v.title, v.text, v.norm_text from documents d join versions v "
            "on v.id = d.latest_version_id where d.search_title is null"
        )
        if not self.db.execute(sql + " limit 1").fetchone():
            return 0
        n = 0
        with self._write() as db:
            for doc_id, title, text, norm in db.execute(sql).fetchall():
                self._index(db, doc_id, title, unpack_norm(norm, unpack_text(text)) or "")
                n += 1
        return n

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
        grams = sorted({g for t in terms for g in index_terms(t).split()})
        where, args = ["d.search_title is not null"], []
        if grams:
            where.append("search match ?")
            args.append(" AND ".join(f'"{g}"' for g in grams))  # (pairs hold no quote)
        for column, value, op in (
            ("d.source", source, "="),
            ("v.region", region, "="),
            ("v.published", since, ">="),
            ("v.published", until, "<"),
        ):
            if value:
                where.append(f"{column} {op} ?")
                args.append(value)  # fmt: skip
        source_table = "search join documents d on d.id = search.rowid" if grams else "documents d"
        sql = (
            "select d.id as document_id, d.url, d.source, d.search_title, v.title, "
            "v.published, v.region, v.doc_type, v.text, v.norm_text from " + source_table
            + " join versions v on v.id = d.latest_version_id where " + " and ".join(where)
            + " order by d.id desc"
        )  # fmt: skip
        lowered = [t.lower() for t in terms]
        scored = []
        for seen, row in enumerate(self.db.query(sql, args), 1):
            if grams and seen > MAX_CANDIDATES:
                break  # ranked among the newest candidates: the work stays bounded
            text = unpack_text(row["text"]) or ""
            body = (unpack_norm(row.pop("norm_text"), text) or "").lower()
            title = (row.pop("search_title") or "").lower()
            if not all(t in body or t in title for t in lowered):
                continue  # the index's candidate lacks a term (or its pairs are apart)
            row["text"] = text
            scored.append((sum(body.count(t) + 3 * title.count(t) for t in lowered), row))
            if not grams and len(scored) >= limit:
                break  # one-character terms only: the newest hits, as the scan goes
        if grams:  # (one-character terms only: newest first, as scanned)
            scored.sort(key=lambda x: (-x[0], -x[1]["document_id"]))
        hits = []
        for _, row in scored[:limit]:
            sentences = split_sentences(row.pop("text"))
            ranked = [(sum(t in key(s) for t in terms), -n, s) for n, s in enumerate(sentences)]
            best = max(ranked, default=(0, 0, ""))
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

"""Reports across sites: versions whose texts are near-duplicates are copies of one report.

Each new version with a MinHash signature is compared with the latest version of every other
document. Jaccard similarity at or above ``duplicate``, between texts of about the same size,
makes it a ``copy`` of that document's report; a smaller text mostly contained in a larger one
(containment at or above ``partial``) is a ``partial`` copy, and the larger text of such a pair
is the ``full`` report. Anything
else starts a new report (relation ``first``). Containment is estimated from the Jaccard
estimate and the shingle counts: |A∩B| = J / (1 + J) · (|A| + |B|).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import Connection, now_iso

if TYPE_CHECKING:
    from sqlite_utils import Database

MIN_SHINGLES = 50  # shorter texts are not matched
SAME_SIZE = 0.8  # texts within this size ratio can be copies; otherwise one is partial


def _damaged(title: str | None) -> bool:
    """A title with charset damage (?, U+FFFD) gives way to a clean one from a copy."""
    return not title or "?" in title or "\ufffd" in title


def jaccard(a: bytes, b: bytes) -> float:
    return float(np.mean(np.frombuffer(a, "uint64") == np.frombuffer(b, "uint64")))


def _agreement(matrix: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """Share of each row of ``matrix`` equal to ``sig``, value by value: the Jaccard estimate
    against every candidate. The same numbers as ``(matrix == sig).mean(axis=1)`` in half the
    time: the equalities (one byte each) are added eight at a time as 64-bit words, then a
    word's bytes by a multiplication (exact while a row's count fits a byte)."""
    equal = matrix == sig
    width = equal.shape[1]
    if width % 8 or width > 255:
        return equal.mean(axis=1)
    words = equal.view(np.uint64).sum(axis=1, dtype=np.uint64)
    counts = (words * np.uint64(0x0101010101010101)) >> np.uint64(56)
    return counts.astype(np.float64) / width


class _Candidates:
    """Linked documents' signatures as one matrix (rows: documents, columns: permutations),
    grown by doubling, so that adding one document costs no copy of all the others. The
    values are 32-bit minima stored as uint64 (pipelines.similar): kept here as uint32, half
    the memory (512 bytes a document)."""

    def __init__(self) -> None:
        self.last_id = 0
        self.ids: list[int] = []
        self.urls: list[str] = []
        self.report_ids: list[int] = []
        self._rows = np.zeros((0, 0), dtype=np.uint32)
        self._shingles = np.zeros(0)

    @property
    def matrix(self) -> np.ndarray | None:
        return self._rows[: len(self.ids)] if self.ids else None

    @property
    def shingles(self) -> np.ndarray:
        return self._shingles[: len(self.ids)]

    def add(self, rows: list[dict[str, Any]]) -> None:
        block = np.vstack([np.frombuffer(r["signature"], "<u8") for r in rows]).astype(np.uint32)
        n, need = len(self.ids), len(self.ids) + len(rows)
        if need > len(self._rows):
            size = max(need, 2 * len(self._rows), 64)
            grown = np.zeros((size, block.shape[1]), dtype=np.uint32)
            if n:
                grown[:n] = self._rows[:n]
            self._rows, self._shingles = grown, np.resize(self._shingles, size)
        self._rows[n:need] = block
        self._shingles[n:need] = [r["shingles"] for r in rows]
        self.ids += [r["id"] for r in rows]
        self.urls += [r["url"] for r in rows]
        self.report_ids += [r["report_id"] for r in rows]
        self.last_id = rows[-1]["id"]


class ReportIndex(Connection):
    duplicate = 0.5
    partial = 0.7

    def _link_report(
        self,
        db: Database,
        doc_id: int,
        url: str,
        facts: dict[str, Any],
        signature: bytes | None,
        shingles: int | None,
        title: str | None,
    ) -> dict[str, Any] | None:
        """Link document ``doc_id`` to a report; returns its copy row (or None)."""
        if self._row("select 1 from report_copies where document_id = ?", [doc_id]):
            return None  # a document stays with the report it was first linked to
        if signature is None or (shingles or 0) < MIN_SHINGLES:
            return None
        relation, report_id, similarity, match_url = self._best_match(doc_id, signature, shingles)
        if report_id is None:
            report_id = self._insert("reports", {
                "region": facts.get("region"), "year": facts.get("report_year"),
                "doc_type": facts.get("doc_type"), "title": title, "document_id": doc_id,
                "created_at": now_iso(),
            })  # fmt: skip
            relation, similarity = "first", 1.0
        elif title and not _damaged(title):
            known = self._row("select title from reports where id = ?", [report_id])
            if _damaged(known["title"]):
                self._update("reports", report_id, {"title": title})
        row = {
            "document_id": doc_id,
            "report_id": report_id,
            "relation": relation,
            "similarity": round(min(similarity, 1.0), 3),  # MinHash estimates overshoot
            "linked_at": now_iso(),
        }
        self._insert("report_copies", row, replace=True)
        return {**row, "match_url": match_url}

    _candidates: _Candidates | None = None

    def _refresh_candidates(self) -> _Candidates:
        """Signatures of linked documents, kept in memory and topped up with the documents
        linked since (by this or another process): one vectorised comparison per new
        document instead of reading every signature from the database each time."""
        cands = self._candidates
        if cands is None:
            cands = self._candidates = _Candidates()
        newest = self.db.execute("select max(document_id) from report_copies").fetchone()[0]
        if not newest or newest <= cands.last_id:
            return cands  # nothing linked since: no need to read signatures
        rows = list(self._rows(
            """select d.id, d.url, v.signature, v.shingles, rc.report_id, rc.relation
               from report_copies rc join documents d on d.id = rc.document_id
               join versions v on v.id = d.latest_version_id
               where rc.document_id > ? and v.signature is not null order by rc.document_id""",
            [cands.last_id]))  # fmt: skip
        if rows:
            cands.add(rows)
        return cands

    def _best_match(
        self, doc_id: int, signature: bytes, shingles: int
    ) -> tuple[str | None, int | None, float, str | None]:
        cands = self._refresh_candidates()
        best: tuple[str | None, int | None, float, str | None] = (None, None, 0.0, None)
        if cands.matrix is None:
            return best
        sig = np.frombuffer(signature, "<u8").astype(np.uint32)
        j = _agreement(cands.matrix, sig)
        common = j / (1 + j) * (shingles + cands.shingles)
        small = np.minimum(shingles, cands.shingles)
        large = np.maximum(shingles, cands.shingles)
        inside = common / np.maximum(small, 1)  # containment of the smaller in the larger
        for i in np.flatnonzero((j >= self.duplicate) | (inside >= self.partial)):
            if cands.ids[i] == doc_id:
                continue
            if j[i] >= self.duplicate and small[i] / large[i] >= SAME_SIZE:
                candidate = ("copy", float(j[i]))
            elif inside[i] >= self.partial:
                relation = "partial" if shingles == small[i] else "full"
                candidate = (relation, float(inside[i]))
            else:
                continue
            if candidate[1] > best[2]:
                best = (candidate[0], cands.report_ids[i], candidate[1], cands.urls[i])
        return best

    def reports(
        self, limit: int | None = None, report_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Reports with their copies (url, source, relation, similarity), newest first;
        with ``report_id``, only that one (an empty list if there is none)."""
        where, args = ("id = ?", [report_id]) if report_id is not None else (None, None)
        reports = list(self.db["reports"].rows_where(where, args, order_by="id desc", limit=limit))
        only = " where rc.report_id = ?" if report_id is not None else ""
        copies = self.db.query(
            """select rc.report_id, rc.relation, rc.similarity, d.url, d.source, v.title,
                      v.published
               from report_copies rc join documents d on d.id = rc.document_id
               join versions v on v.id = d.latest_version_id"""
            + only
            + " order by rc.linked_at",
            [report_id] if only else [],
        )
        by_report: dict[int, list[dict[str, Any]]] = {}
        for c in copies:
            by_report.setdefault(c.pop("report_id"), []).append(c)
        return [{**r, "copies": by_report.get(r["id"], [])} for r in reports]

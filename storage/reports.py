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
        if db["report_copies"].count_where("document_id = ?", [doc_id]):
            return None  # a document stays with the report it was first linked to
        if signature is None or (shingles or 0) < MIN_SHINGLES:
            return None
        relation, report_id, similarity, match_url = self._best_match(doc_id, signature, shingles)
        if report_id is None:
            report_id = db["reports"].insert({
                "region": facts.get("region"), "year": facts.get("report_year"),
                "doc_type": facts.get("doc_type"), "title": title, "document_id": doc_id,
                "created_at": now_iso(),
            }).last_pk  # fmt: skip
            relation, similarity = "first", 1.0
        elif title and _damaged(db["reports"].get(report_id)["title"]) and not _damaged(title):
            db["reports"].update(report_id, {"title": title})
        row = {
            "document_id": doc_id,
            "report_id": report_id,
            "relation": relation,
            "similarity": round(min(similarity, 1.0), 3),  # MinHash estimates overshoot
            "linked_at": now_iso(),
        }
        db["report_copies"].insert(row, replace=True)
        return {**row, "match_url": match_url}

    def _best_match(
        self, doc_id: int, signature: bytes, shingles: int
    ) -> tuple[str | None, int | None, float, str | None]:
        rows = self.db.query(
            """select d.id, d.url, v.signature, v.shingles, rc.report_id, rc.relation
               from documents d join versions v on v.id = d.latest_version_id
               join report_copies rc on rc.document_id = d.id
               where d.id != ? and v.signature is not null""",
            [doc_id],
        )
        best: tuple[str | None, int | None, float, str | None] = (None, None, 0.0, None)
        for row in rows:
            j = jaccard(signature, row["signature"])
            common = j / (1 + j) * (shingles + row["shingles"])
            small, large = sorted((shingles, row["shingles"]))
            inside = common / small  # containment of the smaller text in the larger
            if j >= self.duplicate and small / large >= SAME_SIZE:
                candidate = ("copy", j)
            elif inside >= self.partial:
                candidate = ("partial" if shingles == small else "full", inside)
            else:
                continue
            if candidate[1] > best[2]:
                best = (candidate[0], row["report_id"], candidate[1], row["url"])
        return best

    def reports(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Reports with their copies (url, source, relation, similarity), newest first."""
        reports = list(self.db["reports"].rows_where(order_by="id desc", limit=limit))
        copies = self.db.query(
            """select rc.report_id, rc.relation, rc.similarity, d.url, d.source, v.title,
                      v.published
               from report_copies rc join documents d on d.id = rc.document_id
               join versions v on v.id = d.latest_version_id order by rc.linked_at"""
        )
        by_report: dict[int, list[dict[str, Any]]] = {}
        for c in copies:
            by_report.setdefault(c.pop("report_id"), []).append(c)
        return [{**r, "copies": by_report.get(r["id"], [])} for r in reports]

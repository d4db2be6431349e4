"""Exports for analysts: changes, documents and reports as CSV or JSON Lines."""

from __future__ import annotations

import csv
import json
from typing import TYPE_CHECKING, Any, TextIO

from storage.packing import unpack_text

if TYPE_CHECKING:
    from storage import VersionStore

CHANGE_COLUMNS = (
    "id",
    "kind",
    "detected_at",
    "source",
    "region",
    "doc_type",
    "report_year",
    "title",
    "published",
    "url",
    "added",
    "removed",
    "modified",
    "summary",
    "reviewed_at",
)
DOCUMENT_SQL = """
    select d.id, d.url, d.source, d.status, d.first_seen, d.last_seen, v.title, v.published,
           v.region, v.doc_type, v.report_year, v.issuer, null as chars,
           (select count(*) from versions x where x.document_id = d.id) as versions, v.text
    from documents d join versions v on v.id = d.latest_version_id order by d.id
"""


def export_rows(store: VersionStore, what: str, since: str | None = None) -> list[dict[str, Any]]:
    if what == "changes":
        return [{k: c[k] for k in CHANGE_COLUMNS} for c in store.changes(since=since)]
    if what == "documents":
        rows = []
        for row in store.db.query(DOCUMENT_SQL):
            row["text"] = unpack_text(row["text"]) or ""
            row["chars"] = len(row["text"])
            rows.append(row)
        return rows
    rows = []
    for r in store.reports():
        for c in r["copies"]:
            rows.append(
                {
                    "report_id": r["id"],
                    "region": r["region"],
                    "year": r["year"],
                    "doc_type": r["doc_type"],
                    "report_title": r["title"],
                    "relation": c["relation"],
                    "similarity": c["similarity"],
                    "source": c["source"],
                    "url": c["url"],
                    "title": c["title"],
                }
            )
    return rows


def write_rows(rows: list[dict[str, Any]], fmt: str, out: TextIO) -> None:
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return
    if not rows:
        return
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)

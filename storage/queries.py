"""Reading the change log and version history."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from .base import Connection, now_iso
from .packing import unpack_version


class UnknownDocument(KeyError):
    """No document has that URL."""


class UnknownChange(KeyError):
    """No change has that id."""


class ChangeLog(Connection):
    _CHANGE_SELECT = """
        select c.id, c.kind, d.url, d.source, d.parent, d.content_type, v.title, v.published,
               c.detected_at,
               c.added, c.removed, c.modified, c.summary, c.run_id, c.reviewed_at,
               c.version_id, c.previous_version_id, c.document_id, c.same_as_version_id,
               v.region, v.place, v.doc_type, v.report_year, v.issuer,
               rc.report_id, rc.relation as report_relation
        from changes c join documents d on d.id = c.document_id
        join versions v on v.id = c.version_id
        left join report_copies rc on rc.document_id = c.document_id
    """

    # filter name -> SQL condition on the change log's joined row
    _FILTERS: ClassVar[dict[str, str]] = {
        "since": "c.detected_at >= ?", "until": "c.detected_at < ?", "source": "d.source = ?",
        "kind": "c.kind = ?", "region": "v.region = ?", "doc_type": "v.doc_type = ?",
    }  # fmt: skip

    def _where(self, filters: dict[str, Any]) -> tuple[str, list[Any]]:
        where, args = [], []
        for name, value in filters.items():
            if value in (None, ""):
                continue
            if name == "unreviewed":
                where.append("c.reviewed_at is null" if value else "1")
            elif name == "reviewed":
                where.append("c.reviewed_at is not null" if value else "c.reviewed_at is null")
            else:
                where.append(self._FILTERS[name])
                args.append(value)
        return (" where " + " and ".join(where)) if where else "", args

    def changes(
        self, *, limit: int | None = None, offset: int = 0, **filters: Any
    ) -> list[dict[str, Any]]:
        """The change log, newest first. Filters: since, until (ISO times), source, kind,
        region, doc_type, unreviewed (bool), reviewed (True, False or None for both)."""
        where, args = self._where(filters)
        sql = self._CHANGE_SELECT + where + " order by c.detected_at desc, c.id desc"
        if limit:
            sql += f" limit {int(limit)} offset {int(offset)}"
        return list(self.db.query(sql, args))

    def count_changes(self, cap: int | None = None, **filters: Any) -> int:
        """How many changes match; with ``cap``, counting stops at ``cap`` (a page shows
        "10000+" rather than scanning a long log to the end)."""
        where, args = self._where(filters)
        joins = ""
        if filters.get("source"):
            joins += " join documents d on d.id = c.document_id"
        if filters.get("region") or filters.get("doc_type"):
            joins += " join versions v on v.id = c.version_id"
        inner = "select 1 from changes c" + joins + where
        if cap:
            inner += f" limit {int(cap)}"
        return self.db.execute(f"select count(*) from ({inner})", args).fetchone()[0]

    def facets(self) -> dict[str, list[str]]:
        """Values present for the change-log filters (for a form's choices)."""
        q = {
            "source": "select distinct source from documents order by 1",
            "region": "select distinct region from versions where region is not null order by 1",
            "doc_type": "select distinct doc_type from versions where doc_type is not null "
                        "order by 1",
            "kind": "select distinct kind from changes order by 1",
        }  # fmt: skip
        return {k: [r[0] for r in self.db.execute(sql)] for k, sql in q.items()}

    def change(self, change_id: int) -> dict[str, Any]:
        rows = list(self.db.query(self._CHANGE_SELECT + " where c.id = ?", [change_id]))
        if not rows:
            raise UnknownChange(change_id)
        row = rows[0]
        row["diff"] = json.loads(self.db["changes"].get(change_id)["diff"] or "[]")
        meta = json.loads(self.db["versions"].get(row["version_id"])["meta"] or "{}")
        files = self.attachments(row["url"])
        row["attachments"] = [
            {k: a[k] for k in ("url", "content_type", "title", "versions")} for a in files
        ]
        if meta.get("attachment_only"):  # the page is a link line: its body is the file's text
            row["body"] = "\n\n".join(a["text"] or "" for a in files)
        return row

    def readable(self, change: dict[str, Any], context: int = 2, key: Any = None) -> dict[str, Any]:
        """What a person reads for ``change``: for a ``new`` (or ``restored``/``removed``) entry,
        the version's text; for a ``changed`` one, its diff in blocks with ``context``
        sentences around each change, section headings and changed figures
        (storage.context)."""
        from .context import context_blocks
        from .diff import sentence_diff

        version = self.version(change["version_id"])
        if change["kind"] != "changed" or not change.get("previous_version_id"):
            return {"text": version["text"], "blocks": []}
        previous = self.version(change["previous_version_id"])
        diff = sentence_diff(previous["text"], version["text"], key)
        return {"blocks": context_blocks(previous["text"], version["text"], diff.ops, context)}

    def set_reviewed(
        self, change_ids: Iterable[int], *, reviewed: bool = True, at: str | None = None
    ) -> dict[str, list[int]]:
        """Mark changes reviewed (or not); ``{"changed": [...], "unchanged": [...] (already so),
        "missing": [...]}``, in one transaction."""
        ids = list(dict.fromkeys(change_ids))
        out: dict[str, list[int]] = {"changed": [], "unchanged": [], "missing": []}
        with self._write() as db:
            state = {}
            for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
                marks = ",".join("?" * len(chunk))
                for row in db.execute(
                    f"select id, reviewed_at from changes where id in ({marks})", chunk
                ):
                    state[row[0]] = row[1]
            for change_id in ids:
                if change_id not in state:
                    out["missing"].append(change_id)
                elif (state[change_id] is not None) == reviewed:
                    out["unchanged"].append(change_id)
                else:
                    out["changed"].append(change_id)
            value = (at or now_iso()) if reviewed else None
            db.conn.executemany(
                "update changes set reviewed_at = ? where id = ?",
                [(value, i) for i in out["changed"]],
            )
        return out

    def version_number(self, url: str, number: int) -> dict[str, Any]:
        """Version ``number`` (1 = first) of the document at ``url``; KeyError if none."""
        versions = self.history(url)
        if not 1 <= number <= len(versions):
            raise KeyError(f"{url} has versions 1 to {len(versions)}, not {number}")
        return versions[number - 1]

    def history(self, url: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Versions of the document at ``url``, oldest first."""
        doc = self.document(url)
        if doc is None:
            raise UnknownDocument(url)
        rows = self.db["versions"].rows_where(
            "document_id = ?", [doc["id"]], order_by="id", limit=limit
        )
        return [
            {
                **{k: v for k, v in unpack_version(r).items() if k != "signature"},
                "meta": json.loads(r["meta"] or "{}"),
                "parent": doc["parent"],
                "content_type": doc["content_type"],
                "version": number,  # 1, 2, 3 ... per document
            }
            for number, r in enumerate(rows, 1)
        ]

    def attachments(self, url: str) -> list[dict[str, Any]]:
        """The attachments whose parent is the page at ``url``, with their latest version."""
        return [unpack_version(r) for r in self.db.query(
            "select d.id, d.url, d.content_type, d.status, d.last_checked, v.title, v.text, "
            "v.fetched_at, (select count(*) from versions w where w.document_id = d.id) "
            "as versions from documents d left join versions v on v.id = d.latest_version_id "
            "where d.parent = ? order by d.url", [url])]  # fmt: skip

    def version(self, version_id: int) -> dict[str, Any]:
        """One version, its texts unpacked (storage.base)."""
        return unpack_version(self.db["versions"].get(version_id))

    def instance_id(self) -> str:
        """This database's random identity (feed entry ids are built on it)."""
        return self.db["settings"].get("instance_id")["value"]

    def source_counts(self) -> dict[str, dict[str, int]]:
        """Per source: ``documents`` and ``unreviewed`` changes."""
        out: dict[str, dict[str, int]] = {}
        for name, n in self.db.execute("select source, count(*) from documents group by source"):
            out.setdefault(name, {"documents": 0, "unreviewed": 0})["documents"] = n
        for name, n in self.db.execute(
            "select d.source, count(*) from changes c join documents d on d.id = c.document_id "
            "where c.reviewed_at is null group by d.source"
        ):
            out.setdefault(name, {"documents": 0, "unreviewed": 0})["unreviewed"] = n
        return out

    def version_changes(self, document_id: int) -> dict[int, list[dict[str, Any]]]:
        """The change-log entries of a document, by the version they recorded."""
        out: dict[int, list[dict[str, Any]]] = {}
        for row in self.db.query(
            "select id, kind, version_id, detected_at, summary from changes "
            "where document_id = ? order by id", [document_id]):  # fmt: skip
            out.setdefault(row["version_id"], []).append(row)
        return out

    def counts(self) -> dict[str, int]:
        return {t: self.db[t].count for t in ("documents", "versions", "changes", "errors")}

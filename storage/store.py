"""The version store: every distinct version of every document, and the change log.

A document is identified by its canonical URL. ``record()`` compares a fetch with the document's
latest version through a hash of its normalised title and text (``norm_text``), and returns
what it was:

- ``new``: first sight of the document;
- ``changed``: the text differs (a version is added, or an older identical one is reused, so
  there is one row per distinct text), with a sentence diff;
- ``unchanged``: nothing to log;
- ``suspect``: the text shrank by more than ``shrink_guard`` of the latest version (a
  maintenance or error page served with 200): held, not a version, until the same text is
  seen again on a later check, which confirms it as a change;
- ``restored``: a removed document answers again (say which version it matches).

``mark_missing()`` counts consecutive 404/410 answers; the ``misses_to_remove``-th logs
``removed``. Each call is one transaction (``BEGIN IMMEDIATE``), so concurrent crawls never
interleave half-written documents and a crawl killed halfway leaves each document either fully
recorded or untouched.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import StoreError, now_iso
from .diff import Diff, sentence_diff, split_sentences
from .packing import text_hash, unpack_version
from .prepared import Prepared, prepare
from .queries import ChangeLog
from .reports import ReportIndex
from .runs import RunLog
from .search import SearchIndex

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable

    from sqlite_utils import Database

HTTP_STATE = ("etag", "last_modified", "body_hash")


@dataclass(frozen=True)
class Change:
    """What the store did with one fetch: its kind and the rows it touched."""

    kind: str  # new | changed | unchanged | suspect | restored | removed | missing | unknown
    document_id: int | None = None
    version_id: int | None = None
    change_id: int | None = None
    summary: str = ""


FACTS = ("region", "place", "doc_type", "report_year", "issuer")


class VersionStore(RunLog, ChangeLog, ReportIndex, SearchIndex):
    """SQLite store of sources, documents, versions, changes, runs and errors.

    ``sentence_key`` normalises a sentence (and the title) before comparison (storage.diff).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 60.0,
        sentence_key: Callable[[str], str] | None = None,
        shrink_guard: float = 0.7,
        misses_to_remove: int = 2,
        revisit: tuple[float, float] = (6 * 3600.0, 7 * 86400.0),
    ) -> None:
        super().__init__(path, timeout=timeout)
        self.sentence_key = sentence_key
        self.shrink_guard = shrink_guard
        self.misses_to_remove = misses_to_remove
        self.revisit = revisit  # (shortest, longest) seconds between checks of a document
        try:
            self._index_missing()  # a database just migrated: search needs its titles' key
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"cannot index database {path}: {exc}") from exc

    def _due(self, at: str, unchanged_checks: int) -> dict[str, Any]:
        """When a document checked at ``at`` is due again: at once when it is new, changed or
        missing (every run checks it); then the shortest interval, doubling with each further
        check that found it unchanged, up to the longest; less half the shortest, so that a run
        one interval later, give or take its jitter, finds it due."""
        from datetime import datetime, timedelta

        short, longest = self.revisit
        wait = min(longest, short * 2 ** min(unchanged_checks - 1, 30)) if unchanged_checks else 0
        wait -= short / 2
        moment = datetime.fromisoformat(at) + timedelta(seconds=wait)
        return {"unchanged_checks": unchanged_checks,
                "next_check": moment.isoformat(timespec="seconds")}  # fmt: skip

    # -- sources ---------------------------------------------------------------------------

    def sync_sources(self, sources: Iterable[dict[str, Any]]) -> None:
        keys = ("name", "title", "region", "category")
        rows = [{**{k: s.get(k) for k in keys}, "updated_at": now_iso()} for s in sources]
        with self._write() as db:
            db["sources"].upsert_all(rows, pk="name")

    def sources(self) -> list[dict[str, Any]]:
        return list(self.db["sources"].rows_where(order_by="name"))

    # -- documents -------------------------------------------------------------------------

    def document(self, url: str) -> dict[str, Any] | None:
        return self._row("select * from documents where url = ?", [url])

    def http_states(self, source: str) -> dict[str, dict[str, Any]]:
        """Validators and body hash of the last good fetch of each document of ``source``,
        and when it is due for a re-check (``next_check``)."""
        rows = self.db["documents"].rows_where(
            "source = ?", [source],
            select="url, etag, last_modified, body_hash, status, next_check",
        )  # fmt: skip
        return {r.pop("url"): r for r in rows}

    def due_counts(self, at: str) -> dict[str, int]:
        """Per source: active documents due for a re-check at ``at`` (never checked on the
        adaptive schedule counts as due)."""
        sql = (
            "select source, count(*) from documents where status = 'active' and "
            "(next_check is null or next_check <= ?) group by source"
        )
        return dict(self.db.execute(sql, [at]).fetchall())

    def unchecked(self, source: str, since: str) -> list[str]:
        """URLs of ``source``'s documents not checked since ``since`` (no longer listed)."""
        rows = self.db["documents"].rows_where(
            "source = ? and status = 'active' and last_checked < ?",
            [source, since],
            select="url",
        )
        return [r["url"] for r in rows]

    def _compare_hash(self, title: str | None, norm_text: str) -> str:
        key = self.sentence_key or (lambda s: s)
        return text_hash(key(title or "") + "\x00" + norm_text)

    def record(
        self,
        url: str,
        *,
        source: str,
        text: str,
        norm_text: str | None = None,
        title: str | None = None,
        published: str | None = None,
        fetched_at: str | None = None,
        run_id: int | None = None,
        meta: dict[str, Any] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        body_hash: str | None = None,
        facts: dict[str, Any] | None = None,
        signature: bytes | None = None,
        shingles: int | None = None,
        parent: str | None = None,
        content_type: str | None = None,
        prepared: Prepared | None = None,
    ) -> Change:
        """Record one good fetch of ``url`` (see the module docstring for the outcomes).

        ``facts`` (region, place, doc_type, report_year, issuer) and the near-duplicate
        ``signature`` are stored with a new version; the signature links it to a report. An
        attachment names its ``parent`` page (kept when a later fetch does not know it) and its
        ``content_type``. ``prepared``: what the store derives from these texts, made ahead
        (storage.prepared); used only if made from these very strings.
        """
        facts = {k: (facts or {}).get(k) for k in FACTS}
        at = fetched_at or now_iso()
        norm_text = text if norm_text is None else norm_text
        ready = (  # what these texts give the store: made ahead, or derived here
            prepared
            if prepared is not None and prepared.of(text, norm_text)
            else prepare(text, norm_text, new=False)  # (terms and sentences when needed)
        )
        new_hash = self._compare_hash(title, norm_text)
        http = {"etag": etag, "last_modified": last_modified, "body_hash": body_hash}
        http["content_type"] = content_type or "text/html"
        if parent:
            http["parent"] = parent
        seen = {"last_seen": at, "last_checked": at, "missing_count": 0, "missing_since": None}
        version = {
            "fetched_at": at, "run_id": run_id, "title": title, "published": published,
            "text": ready.text_packed, "text_hash": ready.text_hash,
            "norm_text": ready.norm_packed,
            "norm_hash": new_hash, "meta": json.dumps(meta or {}, ensure_ascii=False),
            **facts, "signature": signature, "shingles": shingles,
        }  # fmt: skip
        with self._write() as db:
            doc = self.document(url)
            if doc is None:
                doc_id = self._insert("documents", {
                    "url": url, "source": source, "first_seen": at, "status": "active",
                    **seen, **http, **self._due(at, 0),
                })  # fmt: skip
                version_id = self._insert("versions", {"document_id": doc_id, **version})
                self._update("documents", doc_id, {"latest_version_id": version_id})
                self._index(db, doc_id, title, norm_text, terms=ready.body_terms)
                summary = f"new: {title or '(untitled)'} ({len(text)} chars)"
                link = self._link_report(db, doc_id, url, facts, signature, shingles, title)
                if link and link["relation"] != "first":
                    summary += (
                        f"; also published at {link['match_url']} ({link['relation']} "
                        f"of report #{link['report_id']})"
                    )
                sentences = ready.sentences
                if sentences is None:
                    sentences = len(split_sentences(text))
                diff = Diff(added=sentences)  # a new document: all added
                return self._log(db, "new", doc_id, version_id, None, run_id, at, summary, diff)
            latest = self._version_row(doc["latest_version_id"])
            if latest["norm_hash"] == new_hash:  # (the texts stay packed: not needed)
                due = self._due(at, (doc["unchanged_checks"] or 0) + 1)
                self._update(
                    "documents",
                    doc["id"],
                    {**seen, **http, "suspect_hash": None, "suspect_count": 0, **due},
                )
                if doc["status"] == "removed":
                    return self._restore(db, doc, latest, run_id, at)
                return Change("unchanged", doc["id"], latest["id"])
            latest = unpack_version(latest)
            if self._is_suspect(doc, latest, norm_text, new_hash):
                self._update("documents", doc["id"], {
                    "last_checked": at, "suspect_hash": new_hash,
                    "suspect_count": (doc["suspect_count"] or 0) + 1,
                })  # fmt: skip
                share = 1 - len(norm_text) / max(1, len(latest["norm_text"]))
                return Change(
                    "suspect",
                    doc["id"],
                    latest["id"],
                    None,
                    f"text shrank by {share:.0%}: held until a later check confirms",
                )
            same = self._version_with_hash(doc["id"], new_hash)
            version_id = (
                same["id"]
                if same
                else self._insert("versions", {"document_id": doc["id"], **version})
            )
            self._update("documents", doc["id"], {
                **seen, **http, "latest_version_id": version_id, "status": "active",
                "suspect_hash": None, "suspect_count": 0, **self._due(at, 0),
            })  # fmt: skip
            self._link_report(db, doc["id"], url, facts, signature, shingles, title)
            self._index(db, doc, title, norm_text, latest["norm_text"], ready.body_terms)
            kind = "restored" if doc["status"] == "removed" else "changed"
            diff = sentence_diff(latest["text"], text, self.sentence_key)
            summary = diff.summary()
            if (latest["title"] or "") != (title or ""):
                summary = f"title: {latest['title']} → {title}; {summary}"
            if same:
                summary = f"back to version {same['id']}; {summary}"
            return self._log(
                db,
                kind,
                doc["id"],
                version_id,
                latest,
                run_id,
                at,
                f"{kind}: {summary}" if kind != "changed" else summary,
                diff,
                same_as=same["id"] if same else None,
            )

    def _is_suspect(self, doc: dict, latest: dict, norm_text: str, new_hash: str) -> bool:
        if not self.shrink_guard or doc["suspect_hash"] == new_hash:
            return False  # off, or the same short text seen twice: confirmed
        return len(norm_text) < (1 - self.shrink_guard) * len(latest["norm_text"] or "")

    def _version_with_hash(self, doc_id: int, norm_hash: str) -> dict[str, Any] | None:
        return self._row(
            "select id from versions where document_id = ? and norm_hash = ? "
            "order by id desc limit 1", [doc_id, norm_hash],
        )  # fmt: skip

    def _version_row(self, version_id: int) -> dict[str, Any]:
        """A version's row as stored (texts packed)."""
        return self._row("select * from versions where id = ?", [version_id])

    def _restore(
        self, db: Database, doc: dict, latest: dict, run_id: int | None, at: str
    ) -> Change:
        self._update("documents", doc["id"], {"status": "active"})
        summary = f"restored: {latest['title']} (same as version {latest['id']})"
        return self._log(
            db,
            "restored",
            doc["id"],
            latest["id"],
            latest,
            run_id,
            at,
            summary,
            None,
            same_as=latest["id"],
        )

    def seen_unchanged(
        self, url: str, *, checked_at: str | None = None, run_id: int | None = None, **http: Any
    ) -> Change:
        """A check that found the document as it was (304, or the same body bytes)."""
        at = checked_at or now_iso()
        with self._write() as db:
            doc = self.document(url)
            if doc is None:
                return Change("unknown")
            fields = {
                "last_seen": at,
                "last_checked": at,
                "missing_count": 0,
                "missing_since": None,
                **{k: v for k, v in http.items() if v},
                **self._due(at, (doc["unchanged_checks"] or 0) + 1),
            }
            self._update("documents", doc["id"], fields)
            if doc["status"] == "removed":
                latest = self._version_row(doc["latest_version_id"])
                return self._restore(db, doc, latest, run_id, at)
            return Change("unchanged", doc["id"], doc["latest_version_id"])

    def mark_missing(
        self, url: str, *, status: int, run_id: int | None = None, at: str | None = None
    ) -> Change:
        """A 404/410 for ``url``: ``missing`` until it repeats, then ``removed`` (logged)."""
        at = at or now_iso()
        with self._write() as db:
            doc = self.document(url)
            if doc is None:
                return Change("unknown")
            if doc["status"] == "removed":
                self._update("documents", doc["id"], {"last_checked": at})
                return Change("missing", doc["id"], doc["latest_version_id"])
            misses = (doc["missing_count"] or 0) + 1
            self._update("documents", doc["id"], {
                "last_checked": at, "missing_count": misses,
                "missing_since": doc["missing_since"] or at, **self._due(at, 0),
            })  # fmt: skip
            if misses < self.misses_to_remove:
                return Change(
                    "missing",
                    doc["id"],
                    doc["latest_version_id"],
                    None,
                    f"HTTP {status}, miss {misses} of {self.misses_to_remove}",
                )
            self._update("documents", doc["id"], {"status": "removed"})
            latest = self._version_row(doc["latest_version_id"])
            summary = (
                f"removed: {latest['title']} (HTTP {status} on {misses} consecutive "
                f"checks since {doc['missing_since'] or at})"
            )
            return self._log(
                db, "removed", doc["id"], latest["id"], latest, run_id, at, summary, None
            )

    def _log(
        self,
        db: Database,
        kind: str,
        doc_id: int,
        version_id: int,
        previous: dict | None,
        run_id: int | None,
        at: str,
        summary: str,
        diff: Any,
        same_as: int | None = None,
    ) -> Change:
        counts = (
            {"added": diff.added, "removed": diff.removed, "modified": diff.modified}
            if diff is not None
            else {"added": 0, "removed": 0, "modified": 0}
        )
        ops = diff.ops if diff is not None and previous is not None else []
        change_id = self._insert("changes", {
            "document_id": doc_id, "kind": kind, "version_id": version_id,
            "previous_version_id": previous["id"] if previous else None, "run_id": run_id,
            "detected_at": at, **counts, "summary": summary,
            "diff": json.dumps(ops, ensure_ascii=False), "same_as_version_id": same_as,
        })  # fmt: skip
        return Change(kind, doc_id, version_id, change_id, summary)

"""The review web UI: change log with filters and paging, side-by-side sentence diffs, version
history with any two versions comparable, reports across sites, search, mark reviewed, and an
Atom feed. Server-side rendering with Flask; no front-end build step.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from flask import Flask, Response, abort, g, redirect, render_template, request, url_for

from crawler.urls import canonical
from govwatch.timeparse import parse_since
from govwatch.web import security
from pipelines.text.normalize import normalize
from storage import UnknownChange, VersionStore, mark_changes, sentence_diff

PER_PAGE = 50
COUNT_CAP = 10_000  # beyond this the list says "10000+" instead of counting to the end
FEED_ENTRIES = 100
FILTERS = ("source", "region", "doc_type", "kind")


def create_app(db_path: str, password: str | None = None) -> Flask:
    """The UI over ``db_path``; with ``password``, every page needs a login (security.py)."""
    app = Flask(__name__)
    app.config["DB_PATH"] = str(db_path)
    security.install(app, password)

    def store() -> VersionStore:
        if "store" not in g:
            g.store = VersionStore(app.config["DB_PATH"])
        return g.store

    @app.teardown_appcontext
    def close_store(exc: BaseException | None) -> None:
        s = g.pop("store", None)
        if s is not None:
            s.close()

    @app.template_filter("marks")
    def marks(pair: tuple[str, str], side: str) -> str:
        old, new = pair
        out = []
        for tag, text in mark_changes(old, new):
            if tag == "=":
                out.append(escape(text))
            elif tag == side:
                element = "del" if side == "-" else "ins"
                out.append(f"<{element}>{escape(text)}</{element}>")
        return "".join(out)

    @app.route("/")
    def changes() -> str:
        args = request.args
        filters: dict[str, Any] = {k: args.get(k) or None for k in FILTERS}
        reviewed = args.get("reviewed", "")
        filters["reviewed"] = {"yes": True, "no": False}.get(reviewed)
        try:
            filters["since"] = parse_since(args.get("since")) if args.get("since") else None
            filters["until"] = parse_since(args.get("until")) if args.get("until") else None
        except Exception:
            abort(400, "since/until: use 7d, 12h or a date like 2026-01-31")
        total = store().count_changes(cap=COUNT_CAP + 1, **filters)
        page = max(1, args.get("page", 1, type=int))
        if total <= COUNT_CAP:
            pages = max(1, math.ceil(total / PER_PAGE))
            page = min(page, pages)
        rows = store().changes(limit=PER_PAGE, offset=(page - 1) * PER_PAGE, **filters)
        if total > COUNT_CAP:  # not counted to the end: another page while this one is full
            pages = page + (1 if len(rows) == PER_PAGE else 0)
        return render_template(
            "changes.html",
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            cap=COUNT_CAP,
            facets=store().facets(),
            args=args,
        )

    @app.route("/change/<int:change_id>")
    def change(change_id: int) -> str:
        try:
            c = store().change(change_id)
        except UnknownChange:
            abort(404)
        return render_template("change.html", c=c, blocks=_blocks(c["diff"]))

    @app.post("/change/<int:change_id>/review")
    def review(change_id: int) -> Response:
        if store().mark_reviewed([change_id]):
            abort(404)
        fallback = url_for("change", change_id=change_id)
        return redirect(security.safe_next(request.form.get("next"), fallback))

    @app.route("/document/<int:doc_id>")
    def document(doc_id: int) -> str:
        rows = list(store().db["documents"].rows_where("id = ?", [doc_id]))
        if not rows:
            abort(404)
        doc = rows[0]
        versions = store().history(doc["url"])
        a, b = request.args.get("a", type=int), request.args.get("b", type=int)
        compare = None
        if a and b:
            va, vb = (next((v for v in versions if v["id"] == x), None) for x in (a, b))
            if va is None or vb is None:
                abort(404)
            diff = sentence_diff(va["text"], vb["text"], normalize)
            compare = {"a": va, "b": vb, "blocks": _blocks(diff.ops), "diff": diff}
        attachments = store().attachments(doc["url"])
        return render_template(
            "document.html", doc=doc, versions=versions, compare=compare, attachments=attachments
        )

    @app.route("/reports")
    def reports() -> str:
        return render_template("reports.html", reports=store().reports())

    @app.route("/report/<int:report_id>")
    def report(report_id: int) -> str:
        found = store().reports(report_id=report_id)
        if not found:
            abort(404)
        return render_template("report.html", r=found[0])

    @app.route("/search")
    def search() -> str:
        q = request.args.get("q", "").strip()
        hits = store().search(q, normalise=normalize) if q else []
        return render_template("search.html", q=q, hits=hits)

    @app.route("/url")
    def by_url() -> Response:
        doc = store().document(canonical(request.args.get("u", ""))) or abort(404)
        return redirect(url_for("document", doc_id=doc["id"]))

    @app.route("/feed.atom")
    def feed() -> Response:
        filters = {k: request.args.get(k) or None for k in ("source", "region", "kind")}
        rows = store().changes(limit=FEED_ENTRIES, **filters)
        return Response(_atom(rows, request.url_root, request.url), mimetype="application/atom+xml")

    return app


def _blocks(ops: list[dict]) -> list[dict]:
    """Diff operations as rows of (old, new) sentence pairs for side-by-side display."""
    blocks = []
    for op in ops:
        old, new = op["old"], op["new"]
        pairs = list(zip(old, new, strict=False)) if op["op"] == "replace" else []
        rows = [{"old": o, "new": n, "pair": (o, n)} for o, n in pairs]
        rows += [{"old": o, "new": None, "pair": None} for o in old[len(pairs) :]]
        rows += [{"old": None, "new": n, "pair": None} for n in new[len(pairs) :]]
        blocks.append({"op": op["op"], "rows": rows})
    return blocks


def _atom(rows: list[dict], root: str, self_url: str) -> str:
    updated = rows[0]["detected_at"] if rows else datetime.now(UTC).isoformat()
    entries = []
    for c in rows:
        link = f"{root.rstrip('/')}/change/{c['id']}"
        title = f"[{c['kind']}] {c['title'] or c['url']}"
        entries.append(
            f"<entry><id>{escape(link)}</id><title>{escape(title)}</title>"
            f'<link rel="alternate" type="text/html" href="{escape(link)}"/>'
            f"<updated>{c['detected_at']}</updated>"
            f"<summary>{escape(c['summary'] or '')}</summary>"
            f'<category term="{escape(c["kind"])}"/>'
            f"<author><name>{escape(c['source'])}</name></author></entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(self_url)}</id><title>govwatch changes</title>"
        f'<link rel="self" href="{escape(self_url)}"/><updated>{updated}</updated>'
        + "".join(entries)
        + "</feed>"
    )


def serve(db_path: str, host: str, port: int, password: str | None = None) -> None:
    """Serve the UI with waitress; refuses (LoginRequired) to listen beyond loopback without a
    password."""
    from waitress import serve as waitress_serve

    security.check_exposure(host, password)
    app = create_app(db_path, password)
    waitress_serve(app, host=host, port=port, threads=8, ident="govwatch")

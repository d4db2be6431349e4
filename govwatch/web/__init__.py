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
from govwatch.web import admin, security
from pipelines.text.normalize import normalize
from storage import UnknownChange, VersionStore, mark_changes, sentence_diff

PER_PAGE = 50
COUNT_CAP = 10_000  # beyond this the list says "10000+" instead of counting to the end
FEED_ENTRIES = 100
FILTERS = ("source", "region", "doc_type", "kind")


def create_app(db_path: str, password: str | None = None, sources_path: str | None = None) -> Flask:
    """The UI over ``db_path``; with ``password``, every page needs a login (security.py);
    with ``sources_path``, the sources page shows next runs and can start a crawl."""
    app = Flask(__name__)
    app.config["DB_PATH"] = str(db_path)
    app.config["SOURCES_PATH"] = str(sources_path) if sources_path else None
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

    def list_filters() -> dict[str, Any]:
        return admin.change_filters(request.values, FILTERS)

    admin.register(app, store, list_filters)

    @app.template_filter("diff_rows")
    def diff_rows(op: dict) -> list[dict]:
        return _blocks([op])[0]["rows"]

    @app.route("/")
    def changes() -> str:
        args = request.args
        filters = list_filters()
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
        context = min(max(request.args.get("context", 2, type=int), 0), 50)
        c.update(store().readable(c, context, normalize))
        return render_template("change.html", c=c, context=context)

    @app.post("/change/<int:change_id>/review")
    def review(change_id: int) -> Response:
        if store().set_reviewed([change_id])["missing"]:
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
        shown_id = request.args.get("v", type=int) or (versions[-1]["id"] if versions else None)
        shown = next((v for v in versions if v["id"] == shown_id), None)
        if request.args.get("v") and shown is None:
            abort(404)
        return render_template(
            "document.html", doc=doc, versions=versions, compare=compare, shown=shown,
            attachments=store().attachments(doc["url"]),
            changes_by_version=store().version_changes(doc["id"]),
        )  # fmt: skip

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
        args = request.args
        q = args.get("q", "").strip()
        since, until = (args.get(k, "").strip()[:10] or None for k in ("since", "until"))
        hits = (
            store().search(q, normalise=normalize, source=args.get("source") or None,
                           region=args.get("region") or None, since=since, until=until)
            if q else []
        )  # fmt: skip
        return render_template("search.html", q=q, hits=hits, facets=store().facets(), args=args)

    @app.template_filter("highlight")
    def highlight_filter(sentence: str, terms: list[str]) -> str:
        from storage.search import highlight

        return "".join(
            f"<mark>{escape(t)}</mark>" if on else escape(t)
            for t, on in highlight(sentence or "", terms, normalize)
        )

    @app.route("/url")
    def by_url() -> Response:
        doc = store().document(canonical(request.args.get("u", ""))) or abort(404)
        return redirect(url_for("document", doc_id=doc["id"]))

    @app.route("/feed.atom")
    def feed() -> Response:
        filters = {k: request.args.get(k) or None for k in ("source", "region", "kind")}
        rows = [store().change(r["id"]) for r in store().changes(limit=FEED_ENTRIES, **filters)]
        body = _atom(rows, request.url_root, request.url, store().instance_id())
        return Response(body, mimetype="application/atom+xml")

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


def _atom(rows: list[dict], root: str, self_url: str, instance: str) -> str:
    """An Atom feed of changes. Entry ids are tag URIs on the database's identity, so they stay
    the same whatever host or port serves the feed; each entry carries its changed sentences."""
    updated = rows[0]["detected_at"] if rows else datetime.now(UTC).isoformat()
    entries = []
    for c in rows:
        link = f"{root.rstrip('/')}/change/{c['id']}"
        title = f"[{c['kind']}] {c['title'] or c['url']}"
        entry_id = f"tag:govwatch,2024:{instance}/change/{c['id']}"
        entries.append(
            f"<entry><id>{escape(entry_id)}</id><title>{escape(title)}</title>"
            f'<link rel="alternate" type="text/html" href="{escape(link)}"/>'
            f"<updated>{c['detected_at']}</updated>"
            f"<summary>{escape(c['summary'] or '')}</summary>"
            f'<content type="html">{escape(_entry_html(c))}</content>'
            f'<category term="{escape(c["kind"])}"/>'
            f"<author><name>{escape(c['source'])}</name></author></entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>tag:govwatch,2024:{escape(instance)}/changes</id><title>govwatch changes</title>"
        f'<link rel="self" href="{escape(self_url)}"/><updated>{updated}</updated>'
        + "".join(entries)
        + "</feed>"
    )


def _entry_html(c: dict) -> str:
    """The changed sentences of a change as HTML: removed in <del>, added in <ins>."""
    parts = [f"<p>{escape(c['summary'] or '')}</p>"]
    for op in c.get("diff") or []:
        parts += [f"<p><del>{escape(s)}</del></p>" for s in op["old"]]
        parts += [f"<p><ins>{escape(s)}</ins></p>" for s in op["new"]]
    parts.append(f'<p><a href="{escape(c["url"])}">{escape(c["url"])}</a></p>')
    return "".join(parts)


def serve(
    db_path: str, host: str, port: int, password: str | None = None,
    sources_path: str | None = None,
) -> None:  # fmt: skip
    """Serve the UI with waitress; refuses (LoginRequired) to listen beyond loopback without a
    password."""
    from waitress import serve as waitress_serve

    security.check_exposure(host, password)
    app = create_app(db_path, password, sources_path)
    waitress_serve(app, host=host, port=port, threads=8, ident="govwatch")

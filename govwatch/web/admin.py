"""The UI's operational pages and bulk actions: ``/sources`` (each source's last run, outcome,
next run, documents, failing since, "check now"), ``/runs`` (each run with its errors), bulk
review (selected, all on the page, all matching the filters) and un-review.

"Check now" starts ``govwatch.runner.run_crawls`` for one source in a thread of the UI process:
the same runner as ``govwatch crawl``, so the run, its log and its source lock are the same; a
source that is already being crawled (from here, the CLI or the scheduler) shows as running and
gets no second crawl.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from flask import abort, flash, redirect, render_template, request, url_for

from govwatch.timeparse import parse_since
from govwatch.web import security

if TYPE_CHECKING:
    from collections.abc import Callable

    from flask import Flask, Response

    from storage import VersionStore

RUNS_SHOWN = 100
BULK_MAX = 100_000  # changes one "all matching" action may mark


def register(app: Flask, store: Callable[[], VersionStore], filters: Callable[[], dict]) -> None:
    checks: dict[str, threading.Thread] = {}
    lock = threading.Lock()

    def registry() -> dict[str, Any]:
        path = app.config.get("SOURCES_PATH")
        if not path:
            return {}
        from crawler.sources import SourceError, load_sources

        try:
            return load_sources(path)
        except SourceError:
            return {}

    @app.route("/sources")
    def sources() -> str:
        from govwatch.schedules import next_run, parse_time

        known = registry()
        rows = []
        names = sorted({s["name"] for s in store().sources()} | set(known))
        counts = store().source_counts()
        for name in names:
            last = store().runs(name, limit=1)
            health = store().health(name)
            source = known.get(name)
            started = parse_time(last[0]["started_at"]) if last else None
            nxt = None
            if source is not None and source.enabled:
                nxt = next_run(source, started, blocked_runs=health["blocked_runs"])
            running = (last and last[0]["outcome"] == "running") or _alive(checks, name)
            rows.append({
                "name": name, "title": source.title if source else name,
                "last": last[0] if last else None, "health": health,
                "next_run": nxt.isoformat(timespec="seconds") if nxt else None,
                "documents": counts.get(name, {}).get("documents", 0),
                "unreviewed": counts.get(name, {}).get("unreviewed", 0),
                "running": running, "can_check": source is not None,
            })  # fmt: skip
        return render_template("sources.html", rows=rows)

    @app.post("/sources/<name>/check")
    def check_now(name: str) -> Response:
        known = registry()
        if name not in known:
            abort(404)
        with lock:
            busy = _alive(checks, name) or any(
                r["outcome"] == "running" for r in store().runs(name, limit=1)
            )
            if busy:
                flash(f"{name}: a crawl is already running")
            else:
                thread = threading.Thread(
                    target=_crawl, args=(app, name), name=f"check-{name}", daemon=True
                )
                checks[name] = thread
                thread.start()
                flash(f"{name}: crawl started")
        return redirect(url_for("sources"))

    @app.route("/runs")
    def runs() -> str:
        source = request.args.get("source") or None
        rows = store().runs(source, limit=RUNS_SHOWN)
        errors = {r["id"]: store().errors(r["id"]) for r in rows if r["errors"]}
        return render_template("runs.html", rows=rows, errors=errors, source=source)

    @app.post("/review")
    def review_many() -> Response:
        """Mark reviewed (or not, with ``undo``) the changes named by ``ids``, or with
        ``scope=all`` every change matching the change list's filters."""
        form = request.form
        reviewed = not form.get("undo")
        if form.get("scope") == "all":
            found = filters()
            found["reviewed"] = not reviewed
            ids = [r["id"] for r in store().changes(limit=BULK_MAX, **found)]
        else:
            ids = [int(i) for i in form.getlist("ids") if i.isdigit()]
        done = store().set_reviewed(ids, reviewed=reviewed)
        word = "reviewed" if reviewed else "not reviewed"
        flash(f"{len(done['changed'])} change(s) marked {word}")
        return redirect(security.safe_next(form.get("next"), url_for("changes")))

    @app.post("/change/<int:change_id>/unreview")
    def unreview(change_id: int) -> Response:
        if store().set_reviewed([change_id], reviewed=False)["missing"]:
            abort(404)
        fallback = url_for("change", change_id=change_id)
        return redirect(security.safe_next(request.form.get("next"), fallback))

    @app.context_processor
    def unreviewed_counts() -> dict[str, Any]:
        """Unreviewed changes per source, for the header of every page."""

        def counts() -> list[tuple[str, int]]:
            per = store().source_counts()
            return [(n, c["unreviewed"]) for n, c in sorted(per.items()) if c["unreviewed"]]

        return {"unreviewed_by_source": counts}


def change_filters(args: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The change list's filters from request arguments (400 on a bad since/until)."""
    found: dict[str, Any] = {k: args.get(k) or None for k in names}
    found["reviewed"] = {"yes": True, "no": False}.get(args.get("reviewed", ""))
    try:
        found["since"] = parse_since(args.get("since")) if args.get("since") else None
        found["until"] = parse_since(args.get("until")) if args.get("until") else None
    except ValueError:
        abort(400, "since/until: use 7d, 12h or a date like 2026-01-31")
    return found


def _alive(checks: dict[str, threading.Thread], name: str) -> bool:
    thread = checks.get(name)
    return thread is not None and thread.is_alive()


def _crawl(app: Flask, name: str) -> None:
    from govwatch.runner import run_crawls

    try:
        run_crawls(
            [name], db_path=app.config["DB_PATH"], sources_path=app.config["SOURCES_PATH"],
            trigger="manual",
        )  # fmt: skip
    except Exception:  # the run row says what happened; the UI thread must not die loudly
        app.logger.exception("check now of %s failed", name)

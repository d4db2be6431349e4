"""``govwatch``: crawl sources, review the change log, inspect versions and extraction.

Errors from the layers below (a bad sources file, an unknown source, an unopenable database)
are shown as one line and a non-zero exit code.
"""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from crawler.sources import SourceError, load_sources
from storage import StoreError, UnknownChange, UnknownDocument, VersionStore, render_inline

SINCE_RE = re.compile(r"^(\d+)\s*([mhdw])$")


class Context:
    def __init__(self, db: str, sources: str) -> None:
        self.db_path = db
        self.sources_path = sources

    def store(self) -> VersionStore:
        try:
            return VersionStore(self.db_path)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None

    def sources(self) -> dict[str, Any]:
        try:
            return load_sources(self.sources_path)
        except SourceError as exc:
            raise click.ClickException(str(exc)) from None


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="GOVWATCH_DB",
    default="data/govwatch.db",
    show_default=True,
    help="SQLite database (env GOVWATCH_DB).",
)
@click.option(
    "--sources",
    envvar="GOVWATCH_SOURCES",
    default="sources.yaml",
    show_default=True,
    help="Source registry (env GOVWATCH_SOURCES).",
)
@click.version_option(package_name="govwatch")
@click.pass_context
def main(ctx: click.Context, db: str, sources: str) -> None:
    """govwatch: watch Chinese government and investment pages for new and changed documents."""
    ctx.obj = Context(db, sources)


def jsonl(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False, default=str))


def parse_since(value: str | None) -> str | None:
    """``7d``, ``12h``, ``30m``, ``2w`` or a date/datetime, as a UTC ISO timestamp."""
    if not value:
        return None
    m = SINCE_RE.match(value.strip())
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        when = datetime.now(UTC) - timedelta(**{unit: int(m.group(1))})
    else:
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise click.BadParameter(
                f"{value!r}: use 7d, 12h or a date like 2026-01-31", param_hint="--since"
            ) from None
        if when.tzinfo is None:
            when = when.astimezone()  # a bare date is the local date
    return when.astimezone(UTC).isoformat(timespec="seconds")


# -- crawling ----------------------------------------------------------------------------------


@main.command()
@click.argument("names", nargs=-1, metavar="[SOURCE]...")
@click.option("--jobs", "-j", default=2, show_default=True, help="Crawls at once.")
@click.option("--timeout", type=float, default=None, help="Stop a crawl after this many seconds.")
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Scrapy setting for these crawls (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run rows as JSON Lines.")
@pass_ctx
def crawl(
    obj: Context,
    names: tuple[str, ...],
    jobs: int,
    timeout: float | None,
    overrides: tuple[str, ...],
    as_json: bool,
) -> None:
    """Crawl SOURCEs now (all enabled sources when none is named)."""
    from crawler.runner import run_crawls

    sources = obj.sources()
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise click.ClickException(
            f"unknown source(s): {', '.join(unknown)} (known: {', '.join(sorted(sources))})"
        )
    chosen = list(names) or [n for n, s in sources.items() if s.enabled]
    settings = dict(o.split("=", 1) for o in overrides if "=" in o)
    store = obj.store()
    store.sync_sources(s.as_row() for s in sources.values())
    store.close()
    progress = _Progress(len(chosen), quiet=as_json)
    rows = run_crawls(
        chosen,
        db_path=obj.db_path,
        sources_path=obj.sources_path,
        jobs=jobs,
        settings=settings,
        timeout=timeout,
        on_progress=progress,
    )
    progress.finish(rows)
    if as_json:
        jsonl(rows)
    if any(r["outcome"] != "ok" for r in rows):
        sys.exit(1)


class _Progress:
    """One progress line (rewritten in a terminal), then a summary."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet = total, quiet
        self.tty = sys.stderr.isatty()
        self.reported: set[int] = set()

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        if self.quiet:
            return
        finished = [r for r in rows if r["outcome"] != "running"]
        for r in finished:
            if r["id"] not in self.reported and not self.tty:
                self.reported.add(r["id"])
                click.echo(f"[{len(self.reported)}/{self.total}] {_run_line(r)}", err=True)
        if self.tty:
            t = _totals(rows)
            click.echo(
                f"\rcrawling: {len(finished)}/{self.total} sources done, {t['pages']} pages,"
                f" {t['new']} new, {t['changed']} changed, {t['errors']} errors ",
                err=True,
                nl=False,
            )

    def finish(self, rows: list[dict[str, Any]]) -> None:
        if self.quiet:
            return
        if self.tty:
            click.echo("", err=True)
            for r in rows:
                click.echo(f"  {_run_line(r)}", err=True)
        t = _totals(rows)
        click.echo(
            f"Summary: {len(rows)} sources, {t['pages']} pages, {t['new']} new, "
            f"{t['changed']} changed, {t['errors']} errors"
        )


def _totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("pages", "new", "changed", "unchanged", "errors", "not_modified")
    return {k: sum(r.get(k) or 0 for r in rows) for k in keys}


def _run_line(r: dict[str, Any]) -> str:
    return (
        f"{r['source']}: {r['outcome']}, {r['pages']} pages, {r['new']} new, "
        f"{r['changed']} changed, {r['errors']} errors (run {r['id']}, log {r['log_path']})"
    )


# -- reviewing ---------------------------------------------------------------------------------

CHANGE_FIELDS = (
    "id",
    "kind",
    "url",
    "source",
    "title",
    "published",
    "detected_at",
    "added",
    "removed",
    "modified",
    "summary",
    "reviewed_at",
    "run_id",
    "region",
    "place",
    "doc_type",
    "report_year",
    "issuer",
    "report_id",
    "report_relation",
)
KINDS = ["new", "changed", "removed", "restored"]
VERSION_FIELDS = (
    "id",
    "fetched_at",
    "title",
    "published",
    "text",
    "meta",
    "run_id",
    "region",
    "place",
    "doc_type",
    "report_year",
    "issuer",
)


@main.command()
@click.option("--since", help="Only changes since 7d, 12h, ... or a date.")
@click.option("--source", help="Only this source.")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind.")
@click.option("--unreviewed", is_flag=True, help="Only changes not yet marked reviewed.")
@click.option("--limit", type=int, default=None, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines.")
@pass_ctx
def changes(
    obj: Context,
    since: str | None,
    source: str | None,
    kind: str | None,
    unreviewed: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """The change log, newest first."""
    with obj.store() as store:
        rows = store.changes(
            since=parse_since(since), source=source, kind=kind, unreviewed=unreviewed, limit=limit
        )
    if as_json:
        jsonl([{k: r[k] for k in CHANGE_FIELDS} for r in rows])
        return
    if not rows:
        click.echo("No changes.")
    for r in rows:
        mark = " " if r["reviewed_at"] else "*"
        click.echo(
            f"{mark}#{r['id']:<5} {r['kind']:<8} {r['detected_at'][:16]}  {r['source']}  "
            f"{r['title'] or r['url']}"
        )
        if r["kind"] == "changed":
            click.echo(f"         {r['summary']}")


@main.command()
@click.argument("change_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The change and its diff as JSON.")
@pass_ctx
def show(obj: Context, change_id: int, as_json: bool) -> None:
    """One change with its sentence diff."""
    with obj.store() as store:
        try:
            change = store.change(change_id)
        except UnknownChange:
            raise click.ClickException(f"no change with id {change_id}") from None
    if as_json:
        click.echo(json.dumps(change, ensure_ascii=False, default=str))
        return
    click.echo(format_change(change))


def format_change(c: dict[str, Any]) -> str:
    """A change as text with ANSI colours (click strips them when not on a terminal)."""
    lines = [
        click.style(f"#{c['id']} {c['kind']}: {c['title'] or ''}", bold=True),
        f"url:      {c['url']}",
        f"source:   {c['source']}   detected: {c['detected_at']}   published: {c['published']}",
        f"summary:  {c['summary']}",
        f"counts:   {c['modified']} modified, {c['added']} added, {c['removed']} removed",
    ]
    for op in c["diff"]:
        lines.append("")
        pairs = list(zip(op["old"], op["new"], strict=False)) if op["op"] == "replace" else []
        for old, new in pairs:
            lines.append(click.style("- ", fg="red") + _marked(old, new, "-"))
            lines.append(click.style("+ ", fg="green") + _marked(old, new, "+"))
            lines.append(click.style("~ " + render_inline(old, new), dim=True))
        for old in op["old"][len(pairs) :]:
            lines.append(click.style(f"- {old}", fg="red"))
        for new in op["new"][len(pairs) :]:
            lines.append(click.style(f"+ {new}", fg="green"))
    return "\n".join(lines)


def _marked(old: str, new: str, side: str) -> str:
    from storage import mark_changes

    colour = "red" if side == "-" else "green"
    out = []
    for tag, text in mark_changes(old, new):
        if tag == "=":
            out.append(text)
        elif tag == side:
            out.append(click.style(text, fg=colour, bold=True, underline=True))
    return "".join(out)


@main.command()
@click.argument("change_ids", nargs=-1, type=int, required=True)
@pass_ctx
def review(obj: Context, change_ids: tuple[int, ...]) -> None:
    """Mark changes as reviewed."""
    with obj.store() as store:
        missing = store.mark_reviewed(change_ids)
    if missing:
        raise click.ClickException(f"no change with id {', '.join(map(str, missing))}")
    click.echo(f"Marked {len(change_ids)} change(s) reviewed.")


@main.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one version a line.")
@pass_ctx
def history(obj: Context, url: str, as_json: bool) -> None:
    """The versions of the document at URL, oldest first."""
    from crawler.middlewares import canonical

    with obj.store() as store:
        try:
            versions = store.history(canonical(url))
        except UnknownDocument:
            try:
                versions = store.history(url)
            except UnknownDocument:
                raise click.ClickException(f"no document with url {url}") from None
    if as_json:
        jsonl([{k: v[k] for k in VERSION_FIELDS} for v in versions])
        return
    for v in versions:
        click.echo(
            f"v{v['id']}  {v['fetched_at']}  {v['title']}  published {v['published']}  "
            f"{len(v['text'])} chars"
        )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one report a line.")
@click.option("--limit", type=int, default=None)
@pass_ctx
def reports(obj: Context, as_json: bool, limit: int | None) -> None:
    """Reports (region, year, type, title) with every copy found across sites."""
    with obj.store() as store:
        rows = store.reports(limit=limit)
    if as_json:
        jsonl(rows)
        return
    if not rows:
        click.echo("No reports.")
    for r in rows:
        click.echo(
            click.style(
                f"#{r['id']} {r['region'] or '?'} {r['year'] or ''} {r['doc_type']}: {r['title']}",
                bold=True,
            )
        )
        for c in r["copies"]:
            click.echo(
                f"    {c['relation']:<8} {c['similarity']:.2f}  {c['source']:<18} {c['url']}"
            )


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="FILE_OR_URL...")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one object per input.")
def extract(inputs: tuple[str, ...], as_json: bool) -> None:
    """What the extraction pipeline gets from pages (files are decoded like responses)."""
    from crawler.fetch import extract_input

    failed = False
    for item in inputs:
        result = extract_input(item)
        failed |= "error" in result
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        elif "error" in result:
            click.echo(f"{item}: error: {result['error']}", err=True)
        else:
            click.echo(click.style(f"== {item}", bold=True))
            click.echo(f"title: {result['title']}\npublished: {result['published']}\n")
            click.echo(result["text"])
    if failed:
        sys.exit(1)


# -- sources, runs, demo -----------------------------------------------------------------------


@main.command("sources")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines.")
@pass_ctx
def list_sources(obj: Context, as_json: bool) -> None:
    """The sources in the registry, with their last run and next scheduled run."""
    from crawler.schedules import next_run, parse_time

    sources = obj.sources()
    with obj.store() as store:
        last = {}
        for name in sources:
            runs = store.runs(name, limit=1)
            last[name] = runs[0] if runs else None
    rows = []
    for name, s in sources.items():
        run = last[name]
        nxt = next_run(s, parse_time(run["started_at"]) if run else None) if s.enabled else None
        rows.append(
            {
                **s.as_row(),
                "schedule": s.schedule,
                "enabled": s.enabled,
                "last_run": run and run["started_at"],
                "last_outcome": run and run["outcome"],
                "next_run": nxt and nxt.isoformat(timespec="seconds"),
            }
        )
    if as_json:
        jsonl(rows)
        return
    for r in rows:
        click.echo(
            f"{r['name']:<24} {r['category']:<16} {r['region']:<6} "
            f"last: {r['last_run'] or 'never':<25} {r['last_outcome'] or '':<11} "
            f"next: {r['next_run'] or 'disabled'}  {r['title']}"
        )


RUN_FIELDS = (
    "id",
    "source",
    "trigger",
    "started_at",
    "finished_at",
    "outcome",
    "pages",
    "not_modified",
    "new",
    "changed",
    "unchanged",
    "removed",
    "restored",
    "suspects",
    "errors",
    "log_path",
)


@main.command()
@click.option("--source", help="Only this source.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--errors", "with_errors", is_flag=True, help="List each run's errors too.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines.")
@pass_ctx
def runs(obj: Context, source: str | None, limit: int, with_errors: bool, as_json: bool) -> None:
    """The run log, newest first."""
    with obj.store() as store:
        rows = [{k: r[k] for k in RUN_FIELDS} for r in store.runs(source, limit=limit)]
        errors = {r["id"]: store.errors(r["id"]) for r in rows} if with_errors else {}
    if as_json:
        jsonl([{**r, **({"error_list": errors[r["id"]]} if with_errors else {})} for r in rows])
        return
    for r in rows:
        click.echo(f"#{r['id']:<5} {r['started_at']}  {_run_line(r)}")
        for e in errors.get(r["id"], []):
            click.echo(f"        {e['kind']}: {e['url']} {e['message']}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True)
@pass_ctx
def serve(obj: Context, host: str, port: int) -> None:
    """The review web UI (change log, diffs, versions, reports, search, Atom feed)."""
    from crawler.web import serve as serve_app

    obj.store().close()  # one clear error now if the database cannot be opened
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"Warning: serving on {host}: anyone who reaches this address can read the "
            "change log and mark changes reviewed (there is no login).",
            err=True,
        )
    click.echo(f"govwatch at http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    serve_app(obj.db_path, host, port)


@main.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines.")
@pass_ctx
def search(obj: Context, query: str, limit: int, as_json: bool) -> None:
    """Full-text search of the latest versions (Chinese substrings, 2+ characters)."""
    from pipelines.normalize import normalize

    with obj.store() as store:
        hits = store.search(query, normalise=normalize, limit=limit)
    if as_json:
        jsonl(hits)
        return
    if not hits:
        click.echo("No documents match.")
    for h in hits:
        click.echo(
            click.style(f"{h['title'] or h['url']}", bold=True)
            + f"  [{h['region'] or ''} {h['source']}]  {h['url']}"
        )
        click.echo(f"    {h['match'][:160]}")


@main.command()
@click.argument("what", type=click.Choice(["changes", "documents", "reports"]))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option("--since", help="Only changes since 7d, 12h, ... or a date (changes only).")
@click.option("--bom", is_flag=True, help="Start CSV with a UTF-8 BOM (for Excel).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="-",
    help="File to write (default: standard output).",
)
@pass_ctx
def export(obj: Context, what: str, fmt: str, since: str | None, bom: bool, output: str) -> None:
    """Export changes, documents or reports as CSV or JSON Lines (UTF-8)."""
    from crawler.export import export_rows, write_rows

    with obj.store() as store:
        rows = export_rows(store, what, parse_since(since))
    buffer = io.StringIO(newline="")
    write_rows(rows, fmt, buffer)
    data = ("\ufeff" if bom and fmt == "csv" else "") + buffer.getvalue()
    if output == "-":
        sys.stdout.buffer.write(data.encode("utf-8"))
    else:
        Path(output).write_bytes(data.encode("utf-8"))
    if output != "-":
        click.echo(f"{len(rows)} {what} written to {output}", err=True)


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@pass_ctx
def schedule(obj: Context, args: tuple[str, ...]) -> None:
    """Run every source on its schedule until stopped (same as `python scheduler.py`).

    Options after the command go to the scheduler: --max-concurrent, --timeout, --grace,
    --log-file, -s NAME=VALUE.
    """
    import scheduler

    sys.exit(scheduler.main(["--db", obj.db_path, "--sources", obj.sources_path, *args]))


@main.command()
@pass_ctx
def demo(obj: Context) -> None:
    """The main job on the embedded sample site: crawl, edit two documents, crawl, report."""
    from crawler.demo import run_demo

    sys.exit(run_demo(Path("data")))


@main.command("sample-site")
@click.option("--port", default=8765, show_default=True)
@click.option("--generated", default=0, help="Also serve this many generated documents.")
@click.option(
    "--write-sources",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a sources file for the site here.",
)
def sample_site(port: int, generated: int, write_sources: str | None) -> None:
    """Serve the embedded sample site on 127.0.0.1 until interrupted."""
    import time

    from crawler.samplesite import SampleSite

    site = SampleSite(generated=generated)
    base = site.start(port=port)
    if write_sources:
        Path(write_sources).write_text(site.sources_yaml(), encoding="utf-8")
        click.echo(f"sources written to {write_sources}")
    click.echo(f"sample site at {base} (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        site.stop()


if __name__ == "__main__":
    main()

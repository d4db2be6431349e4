"""Reviewing commands: changes, show, review, history, reports, search, export."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from govwatch.cli.base import ID, LIMIT, Context, jsonl, main, pass_ctx, since_option
from govwatch.textformat import format_change
from storage import UnknownChange, UnknownDocument

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
    "parent",
    "content_type",
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
    "parent",
    "content_type",
)


@main.command()
@click.option("--since", help="Only changes since 7d, 12h, ... or a date.")
@click.option("--source", help="Only this source.")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind.")
@click.option("--unreviewed", is_flag=True, help="Only changes not yet marked reviewed.")
@click.option("--limit", type=LIMIT, default=None, help="At most this many.")
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
            since=since_option(since), source=source, kind=kind, unreviewed=unreviewed, limit=limit
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
@click.argument("change_id", type=ID)
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


@main.command()
@click.argument("change_ids", nargs=-1, type=ID, required=True)
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
    from crawler.urls import canonical

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
@click.option("--limit", type=LIMIT, default=None)
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
@click.argument("query")
@click.option("--limit", type=LIMIT, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines.")
@pass_ctx
def search(obj: Context, query: str, limit: int, as_json: bool) -> None:
    """Full-text search of the latest versions (Chinese substrings, 2+ characters)."""
    from pipelines.text.normalize import normalize

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
    from govwatch.export import export_rows, write_rows

    with obj.store() as store:
        rows = export_rows(store, what, since_option(since))
    buffer = io.StringIO(newline="")
    write_rows(rows, fmt, buffer)
    data = ("\ufeff" if bom and fmt == "csv" else "") + buffer.getvalue()
    if output == "-":
        sys.stdout.buffer.write(data.encode("utf-8"))
    else:
        try:
            Path(output).write_bytes(data.encode("utf-8"))
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    if output != "-":
        click.echo(f"{len(rows)} {what} written to {output}", err=True)

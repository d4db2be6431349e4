"""Reviewing commands: changes, show, review, unreview, reports, search, export."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from govwatch.cli.base import ID, LIMIT, Context, jsonl, main, pass_ctx, since_option, table
from govwatch.textformat import format_change
from storage import FACTS, UnknownChange

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
    *FACTS,  # region, place, doc_type, report_year, issuer
    "report_id",
    "report_relation",
    "parent",
    "content_type",
)
KINDS = ["new", "changed", "removed", "restored"]


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
        return
    lines = table(
        ["", "id", "kind", f"detected ({obj.tz})", "source", "title"],
        [["" if r["reviewed_at"] else "*", f"#{r['id']}", r["kind"], obj.when(r["detected_at"]),
          r["source"], r["title"] or r["url"]] for r in rows],
    ).splitlines()  # fmt: skip
    click.echo(lines[0])
    for line, r in zip(lines[1:], rows, strict=True):
        click.echo(line)
        if r["kind"] == "changed":
            click.echo(click.style(f"      {r['summary']}", dim=True))


CONTEXT = click.IntRange(0, 50)


@main.command()
@click.argument("change_id", type=ID)
@click.option(
    "--context", type=CONTEXT, default=2, show_default=True,
    help="Unchanged sentences shown around each change.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="The change and its diff as JSON.")
@pass_ctx
def show(obj: Context, change_id: int, context: int, as_json: bool) -> None:
    """One change: its diff in context (a new document: its text)."""
    from govwatch.textformat import format_blocks
    from pipelines.text.normalize import normalize

    with obj.store() as store:
        try:
            change = store.change(change_id)
        except UnknownChange:
            raise click.ClickException(f"no change with id {change_id}") from None
        change.update(store.readable(change, context, normalize))
    if as_json:
        click.echo(json.dumps(change, ensure_ascii=False, default=str))
        return
    click.echo(format_change({**change, "diff": []}))
    if change["blocks"]:
        click.echo("\n" + format_blocks(change["blocks"]))
    elif change.get("text"):
        click.echo("\n" + (change.get("body") or change["text"]))


def _filters(since: str | None, source: str | None, kind: str | None) -> dict:
    return {"since": since_option(since), "source": source, "kind": kind}


@main.command()
@click.argument("change_ids", nargs=-1, type=ID)
@click.option("--all", "all_", is_flag=True, help="Every unreviewed change matching the filters.")
@click.option("--since", help="With --all: only changes since 7d, 12h, ... or a date.")
@click.option("--source", help="With --all: only this source.")
@click.option("--kind", type=click.Choice(KINDS), help="With --all: only this kind.")
@pass_ctx
def review(
    obj: Context, change_ids: tuple[int, ...], all_: bool, since: str | None,
    source: str | None, kind: str | None,
) -> None:  # fmt: skip
    """Mark changes as reviewed: by id, or --all that match the filters."""
    if bool(change_ids) == all_:
        raise click.UsageError("give change ids, or --all (with --since/--source/--kind)")
    with obj.store() as store:
        if all_:
            rows = store.changes(unreviewed=True, **_filters(since, source, kind))
            change_ids = tuple(r["id"] for r in rows)
        done = store.set_reviewed(change_ids, reviewed=True)
    _report(done, "reviewed", "Already reviewed")


def _report(done: dict[str, list[int]], state: str, already: str) -> None:
    """One line for ``set_reviewed``'s result; unknown ids are an error."""
    if done["missing"]:
        raise click.ClickException(f"no change with id {', '.join(map(str, done['missing']))}")
    message = f"Marked {len(done['changed'])} change(s) {state}."
    if done["unchanged"]:
        message += f" {already}: {', '.join(map(str, done['unchanged']))}."
    click.echo(message)


@main.command()
@click.argument("change_ids", nargs=-1, type=ID, required=True)
@pass_ctx
def unreview(obj: Context, change_ids: tuple[int, ...]) -> None:
    """Mark reviewed changes as not reviewed again."""
    with obj.store() as store:
        done = store.set_reviewed(change_ids, reviewed=False)
    _report(done, "not reviewed", "Not reviewed already")


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
@click.option("--source", help="Only documents of this source.")
@click.option("--region", help="Only documents of this region (苏州市, 吴江区, ...).")
@click.option("--since", help="Only documents published since 30d or a date.")
@click.option("--until", help="Only documents published before this date.")
@click.option("--limit", type=LIMIT, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines.")
@pass_ctx
def search(
    obj: Context, query: str, source: str | None, region: str | None, since: str | None,
    until: str | None, limit: int, as_json: bool,
) -> None:  # fmt: skip
    """Full-text search of the latest versions: every term must match (苏州 签约), "quoted
    phrases" whole; Chinese substrings of 2+ characters."""
    from pipelines.text.normalize import normalize
    from storage.search import highlight

    since_day = (since_option(since) or "")[:10] or None
    until_day = (since_option(until, "--until") or "")[:10] or None
    with obj.store() as store:
        hits = store.search(query, normalise=normalize, limit=limit, source=source,
                            region=region, since=since_day, until=until_day)  # fmt: skip
    if as_json:
        jsonl(hits)
        return
    if not hits:
        click.echo("No documents match.")
    for h in hits:
        click.echo(
            click.style(f"{h['title'] or h['url']}", bold=True)
            + f"  [{h['region'] or ''} {h['source']} {h['published'] or ''}]  {h['url']}"
        )
        pieces = highlight(h["match"][:160], h["terms"], normalize)
        click.echo("    " + "".join(click.style(t, fg="yellow", bold=True) if on else t
                                    for t, on in pieces))  # fmt: skip


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

"""Writing and checking sources: ``probe`` (a URL -> a sources.yaml entry) and ``check`` (a dry
run of a configured source). Both read a few pages and write nothing to the database."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import yaml

from govwatch.cli.base import Context, main, pass_ctx


@main.command()
@click.argument("url")
@click.option("--api", "is_api", is_flag=True, help="URL is a JSON list endpoint (GET).")
@click.option("--json", "as_json", is_flag=True, help="What was found, as one JSON object.")
def probe(url: str, is_api: bool, as_json: bool) -> None:
    """Find the document list, paging and content of a list page; print a sources.yaml entry."""
    from govwatch.probe import ProbeError
    from govwatch.probe import probe as run_probe

    try:
        found = run_probe(url, api=is_api)
    except (ProbeError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, default=str))
        return
    click.echo("# sources.yaml entry (set name, title, region and category):")
    dumped = yaml.safe_dump([found["entry"]], allow_unicode=True, sort_keys=False, width=100)
    click.echo(dumped.rstrip())
    click.echo(f"\n# {len(found['links'])} document links; paging: {_paging(found['paging'])}")
    for link in found["links"][:5]:
        click.echo(f"#   {link.get('date') or '':<10} {link.get('title') or ''}  {link['url']}")
    doc = found.get("document")
    if doc:
        if doc.get("error"):
            click.echo(f"# first document: {doc['url']}: {doc['error']}")
        else:
            click.echo(
                f"# first document: {doc.get('title')} ({doc.get('published') or 'no date'}), "
                f"content: {doc.get('content') or 'whole page'}"
            )
            click.echo(f"#   {(doc.get('opening') or '').replace(chr(10), ' ')}")


def _paging(paging: dict[str, Any]) -> str:
    kind = paging["kind"]
    if kind == "createPageHTML":
        return f"createPageHTML, {paging['pages']} pages (paged automatically)"
    if kind == "next_page":
        return f"next link {paging['text']!r}"
    if kind == "pages":
        return f"page names {paging['template']} up to {paging['last']}"
    if kind == "api":
        return "endpoint pages ({page} in the URL or form)"
    return "none found (one page)"


@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The dry run as one JSON object.")
@pass_ctx
def check(obj: Context, name: str, as_json: bool) -> None:
    """Dry run of source NAME: its list pages, the links on each, and the first document."""
    from govwatch.check import check_source

    sources = obj.sources()
    if name not in sources:
        raise click.ClickException(f"unknown source {name!r} (known: {', '.join(sorted(sources))})")
    report = check_source(sources[name])
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, default=str))
    else:
        _print_check(report)
    if not report["ok"]:
        sys.exit(1)


def _print_check(report: dict[str, Any]) -> None:
    for page in report["lists"]:
        label = f"api page {page['api_page']}" if "api_page" in page else "list"
        if page.get("error"):
            click.echo(f"{label}: {page['url']}: {page['error']}")
            continue
        click.echo(f"{label}: {page['url']}: {page['links']} links ({page.get('paging', '')})")
        for link in page["first_links"]:
            click.echo(f"    {link}")
    if report.get("note"):
        click.echo(f"note: {report['note']}")
    doc = report["document"]
    if doc is None:
        click.echo("no document links found: the run would fail with no_links")
    elif doc.get("error"):
        click.echo(f"first document: {doc['url']}: {doc['error']}")
    else:
        click.echo(f"first document: {doc['url']}")
        click.echo(f"  title:     {doc['title']}")
        click.echo(f"  published: {doc['published'] or 'unknown'}")
        click.echo(f"  text:      {doc['opening'].replace(chr(10), ' ')} ({doc['chars']} chars)")
    click.echo("ok" if report["ok"] else "FAILED: the crawl of this source would not get through")

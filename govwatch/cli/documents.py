"""Document commands: ``history`` (versions 1, 2, 3 ...), ``text`` (one version's text) and
``diff`` (any two versions, in context)."""

from __future__ import annotations

import click

from govwatch.cli.base import Context, jsonl, main, pass_ctx
from storage import FACTS, UnknownDocument

VERSION_FIELDS = (
    "id",
    "fetched_at",
    "title",
    "published",
    "text",
    "meta",
    "run_id",
    *FACTS,  # region, place, doc_type, report_year, issuer
    "parent",
    "content_type",
    "version",
)
NUMBER = click.IntRange(1, 1_000_000)


def _history(store: object, url: str) -> tuple[str, list[dict]]:
    """The canonical URL (or the URL as given) and its versions; one line when unknown."""
    from crawler.urls import canonical

    for candidate in dict.fromkeys([canonical(url), url]):
        try:
            return candidate, store.history(candidate)  # type: ignore[attr-defined]
        except UnknownDocument:
            continue
    raise click.ClickException(f"no document with url {url}")


def _version(versions: list[dict], number: int) -> dict:
    if not 1 <= number <= len(versions):
        raise click.ClickException(f"no version {number}: this document has 1 to {len(versions)}")
    return versions[number - 1]


@main.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one version a line.")
@pass_ctx
def history(obj: Context, url: str, as_json: bool) -> None:
    """The versions of the document at URL, oldest first, numbered 1, 2, 3 ..."""
    with obj.store() as store:
        _, versions = _history(store, url)
    if as_json:
        jsonl([{k: v[k] for k in VERSION_FIELDS} for v in versions])
        return
    for v in versions:
        click.echo(
            f"{v['version']:>3}  {obj.when(v['fetched_at'])}  {v['title']}  "
            f"published {v['published']}  {len(v['text'])} chars"
        )


@main.command()
@click.argument("url")
@click.option("--version", "number", type=NUMBER, help="Version 1, 2, 3 ... (default: latest).")
@pass_ctx
def text(obj: Context, url: str, number: int | None) -> None:
    """The text of a version of the document at URL (the latest by default)."""
    with obj.store() as store:
        _, versions = _history(store, url)
    version = _version(versions, number) if number else versions[-1]
    where = f"version {version['version']} of {len(versions)}, {obj.when(version['fetched_at'])}"
    click.echo(click.style(f"{version['title']}  ({where})", bold=True))
    click.echo(version["text"])


@main.command()
@click.argument("url")
@click.argument("first", type=NUMBER)
@click.argument("second", type=NUMBER)
@click.option("--context", type=click.IntRange(0, 50), default=2, show_default=True,
              help="Unchanged sentences shown around each change.")  # fmt: skip
@pass_ctx
def diff(obj: Context, url: str, first: int, second: int, context: int) -> None:
    """The sentence diff between versions FIRST and SECOND of the document at URL."""
    from govwatch.textformat import format_blocks
    from pipelines.text.normalize import normalize
    from storage import sentence_diff
    from storage.context import context_blocks

    with obj.store() as store:
        _, versions = _history(store, url)
    a, b = _version(versions, first), _version(versions, second)
    found = sentence_diff(a["text"], b["text"], normalize)
    click.echo(click.style(f"version {first} → {second}: {found.summary()}", bold=True))
    if found.ops:
        click.echo(format_blocks(context_blocks(a["text"], b["text"], found.ops, context)))

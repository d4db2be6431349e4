"""The ``govwatch`` command group and what every command shares (context, JSON Lines, --since).

Errors from the layers below (a bad sources file, an unknown source, an unopenable database)
are shown as one line and a non-zero exit code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from crawler.sources import SourceError, load_sources
from govwatch.timeparse import parse_since
from storage import StoreError, VersionStore


class Context:
    def __init__(self, db: str, sources: str, tz: str = "Asia/Shanghai") -> None:
        self.db_path = db
        self.sources_path = sources
        self.tz = tz

    def when(self, iso: str | None) -> str:
        """A stored time (UTC ISO 8601) in the user's time zone, to the minute, zone shown:
        ``2024-01-05 17:30 +08``."""
        return local_time(iso, self.tz)

    def store(self, create: bool = False) -> VersionStore:
        """The database; read commands (``create`` False) never create one by mistake."""
        path = Path(self.db_path)
        if not create and not path.exists():
            raise click.ClickException(
                f"no database at {path} (crawl first with `govwatch crawl`, or check --db)"
            )
        if path.is_dir():
            raise click.ClickException(f"{path} is a folder, not a database file")
        try:
            return VersionStore(self.db_path)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None

    def has_store(self) -> bool:
        return Path(self.db_path).is_file()

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
@click.option(
    "--tz",
    envvar="GOVWATCH_TZ",
    default="Asia/Shanghai",
    show_default=True,
    help="Time zone of the times shown (env GOVWATCH_TZ).",
)
@click.version_option(package_name="govwatch")
@click.pass_context
def main(ctx: click.Context, db: str, sources: str, tz: str) -> None:
    """govwatch: watch Chinese government and investment pages for new and changed documents."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {tz!r}", param_hint="--tz") from None
    ctx.obj = Context(db, sources, tz)


def local_time(iso: str | None, tz: str = "Asia/Shanghai") -> str:
    """``iso`` (any offset) in ``tz``: ``2024-01-05 17:30 +08``; "-" for none."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not iso:
        return "-"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    here = moment.astimezone(ZoneInfo(tz))
    offset = here.strftime("%z")  # +0800
    short = offset[:3] if offset.endswith("00") else f"{offset[:3]}:{offset[3:]}"
    return here.strftime("%Y-%m-%d %H:%M ") + short


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Rows aligned in columns by display width (a CJK character takes two), with a header."""
    from wcwidth import wcswidth

    def width(text: str) -> int:
        w = wcswidth(text)
        return w if w >= 0 else len(text)

    widths = [max(width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for n, row in enumerate([headers, *rows]):
        cells = [str(c) + " " * (widths[i] - width(str(c))) for i, c in enumerate(row)]
        line = "  ".join(cells).rstrip()
        lines.append(click.style(line, bold=True) if n == 0 else line)
    return "\n".join(lines)


def jsonl(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False, default=str))


ID = click.IntRange(1, 2**63 - 1)  # a row id: SQLite's integer range
LIMIT = click.IntRange(1, 1_000_000)


def since_option(value: str | None, hint: str = "--since") -> str | None:
    """``parse_since`` for a command option: a bad value is click's one-line usage error."""
    try:
        return parse_since(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None

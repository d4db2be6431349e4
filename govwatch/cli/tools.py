"""Tools: ``extract`` (one page or file), ``serve`` (web UI), ``demo``, ``sample-site``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from govwatch.cli.base import Context, main, pass_ctx


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="FILE_OR_URL...")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one object per input.")
def extract(inputs: tuple[str, ...], as_json: bool) -> None:
    """What the extraction pipeline gets from pages (files are decoded like responses)."""
    from govwatch.fetch import extract_input

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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False),
    help="File whose first line is the UI password (else env GOVWATCH_PASSWORD).",
)
@pass_ctx
def serve(obj: Context, host: str, port: int, password_file: str | None) -> None:
    """The review web UI (change log, diffs, versions, reports, search, Atom feed).

    Beyond loopback it needs a password (GOVWATCH_PASSWORD or --password-file); on loopback
    a password, when given, turns the login on too.
    """
    from govwatch.web import serve as serve_app
    from govwatch.web.security import LoginRequired, check_exposure, read_password

    try:
        password = read_password(password_file)
        check_exposure(host, password)
    except (LoginRequired, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    obj.store().close()  # one clear error now if the database cannot be opened
    login = "login required" if password else "no login (loopback only)"
    click.echo(f"govwatch at http://{host}:{port}/ ({login}; Ctrl-C to stop)", err=True)
    try:
        serve_app(obj.db_path, host, port, password, obj.sources_path)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None


@main.command()
@pass_ctx
def demo(obj: Context) -> None:
    """The main job on the sample site: crawl, edit three pages and a PDF, crawl, report."""
    from govwatch.demo import run_demo

    sys.exit(run_demo(Path("data")))


@main.command("sample-site")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--generated",
    default=0,
    type=click.IntRange(0, 1_000_000),
    help="Also serve this many generated documents.",
)
@click.option(
    "--write-sources",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a sources file for the site here.",
)
def sample_site(port: int, generated: int, write_sources: str | None) -> None:
    """Serve the embedded sample site on 127.0.0.1 until interrupted."""
    import time

    from samplesite import SampleSite

    site = SampleSite(generated=generated)
    try:
        base = site.start(port=port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    if write_sources:
        from govwatch.demo import DEMO_CMS

        entries = site.sources() + site.cms_sources()[:DEMO_CMS]  # what the demo crawls
        Path(write_sources).write_text(site.sources_yaml(entries=entries), encoding="utf-8")
        click.echo(f"sources written to {write_sources}")
    click.echo(f"sample site at {base} (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        site.stop()


if __name__ == "__main__":
    main()

"""Crawling commands: ``crawl``, ``sources``, ``runs``, ``schedule``."""

from __future__ import annotations

import sys
from typing import Any

import click

from govwatch.cli.base import LIMIT, Context, jsonl, main, pass_ctx, table
from storage import StoreError

NEVER_RUN = {"failing": False, "failed_runs": 0, "failing_since": None, "reason": None,
             "blocked_runs": 0}  # fmt: skip


@main.command()
@click.argument("names", nargs=-1, metavar="[SOURCE]...")
@click.option(
    "--jobs", "-j", default=2, show_default=True, type=click.IntRange(1, 64), help="Crawls at once."
)
@click.option(
    "--timeout",
    type=click.FloatRange(1, 7 * 86400),
    default=None,
    help="Stop a crawl after this many seconds.",
)
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Scrapy setting for these crawls (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run rows as JSON Lines.")
@click.option(
    "--redis",
    "redis_url",
    envvar="GOVWATCH_REDIS",
    metavar="URL",
    help="Run through the cluster at this Redis (workers fetch, the writer writes).",
)
@pass_ctx
def crawl(
    obj: Context,
    names: tuple[str, ...],
    jobs: int,
    timeout: float | None,
    overrides: tuple[str, ...],
    as_json: bool,
    redis_url: str | None,
) -> None:
    """Crawl SOURCEs now (all enabled sources when none is named)."""
    from govwatch.runner import run_crawls

    sources = obj.sources()
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise click.ClickException(
            f"unknown source(s): {', '.join(unknown)} (known: {', '.join(sorted(sources))})"
        )
    chosen = list(names) or [n for n, s in sources.items() if s.enabled]
    settings = dict(o.split("=", 1) for o in overrides if "=" in o)
    if redis_url:
        _cluster_crawl(chosen, redis_url, timeout, {n: sources[n].timeout for n in chosen},
                       as_json)  # fmt: skip
        return
    store = obj.store(create=True)
    try:
        store.sync_sources(s.as_row() for s in sources.values())
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
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


def _cluster_crawl(
    chosen: list[str],
    redis_url: str,
    timeout: float | None,
    timeouts: dict[str, float | None],
    as_json: bool,
) -> None:
    """One run of each source through the cluster; rows and exit code as a local crawl."""
    from crawler.cluster import ClusterError
    from govwatch.cluster import cluster_crawls

    progress = _Progress(len(chosen), quiet=as_json)
    try:
        rows = cluster_crawls(
            chosen, redis_url=redis_url, timeout=timeout, timeouts=timeouts, on_progress=progress
        )
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("interrupted: the runs are closed as interrupted", err=True)
        sys.exit(130)
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
    why = f" ({r['finish_reason']})" if r["outcome"] == "failed" and r.get("finish_reason") else ""
    return (
        f"{r['source']}: {r['outcome']}{why}, {r['pages']} pages, {r['new']} new, "
        f"{r['changed']} changed, {r['errors']} errors (run {r['id']}, "
        + (f"log {r['log_path']})" if r.get("log_path") else "through the cluster)")
    )


@main.command("sources")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines.")
@pass_ctx
def list_sources(obj: Context, as_json: bool) -> None:
    """The sources in the registry, with their last run and next scheduled run."""
    from govwatch.schedules import next_run, parse_time

    sources = obj.sources()
    last: dict[str, Any] = dict.fromkeys(sources)
    health = dict.fromkeys(sources, NEVER_RUN)
    due: dict[str, int] = {}
    if obj.has_store():  # a registry with no database yet is listed as never run
        with obj.store() as store:
            from storage import now_iso

            due = store.due_counts(now_iso())
            for name in sources:
                runs = store.runs(name, limit=1)
                last[name] = runs[0] if runs else None
                health[name] = store.health(name)
    rows = []
    for name, s in sources.items():
        run, h = last[name], health[name]
        started = parse_time(run["started_at"]) if run else None
        nxt = next_run(s, started, blocked_runs=h["blocked_runs"]) if s.enabled else None
        rows.append(
            {
                **s.as_row(),
                "schedule": s.schedule,
                "enabled": s.enabled,
                "last_run": run and run["started_at"],
                "last_outcome": run and run["outcome"],
                "next_run": nxt and nxt.isoformat(timespec="seconds"),
                "failing": h["failing"],
                "failing_since": h["failing_since"],
                "failed_runs": h["failed_runs"],
                "failure": h["reason"],
                "due": due.get(name, 0),
            }
        )
    if as_json:
        jsonl(rows)
        return
    lines = table(
        ["", "source", "region", "category", f"last run ({obj.tz})", "outcome", "next run",
         "due", "title"],
        [["!" if r["failing"] else "", r["name"], r["region"], r["category"],
          obj.when(r["last_run"]) if r["last_run"] else "never", r["last_outcome"] or "",
          obj.when(r["next_run"]) if r["next_run"] else "disabled", str(r["due"]), r["title"]]
         for r in rows],
    ).splitlines()  # fmt: skip
    click.echo(lines[0])
    for line, r in zip(lines[1:], rows, strict=True):
        click.echo(line)
        if r["failing"]:
            click.echo(
                f"  FAILING since {obj.when(r['failing_since'])} ({r['failed_runs']} run(s) in a "
                f"row: {r['failure']}); see: govwatch runs --source {r['name']} --errors"
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
    "finish_reason",
)


@main.command()
@click.option("--source", help="Only this source.")
@click.option("--limit", type=LIMIT, default=50, show_default=True)
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

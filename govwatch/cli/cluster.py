"""Cluster commands: ``worker``, ``writer``, ``cluster status`` (see ``crawler.cluster``).
``crawl --redis`` and ``schedule --redis`` are the crawling commands' own options."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

from govwatch.cli.base import Context, jsonl, main, pass_ctx, table

REDIS = click.option(
    "--redis",
    "redis_url",
    envvar="GOVWATCH_REDIS",
    required=True,
    metavar="URL",
    help="The cluster's Redis: redis://[:password@]host:port/db (env GOVWATCH_REDIS).",
)


def _connect(redis_url: str) -> Any:
    from crawler.cluster import ClusterError, connect

    try:
        return connect(redis_url)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@REDIS
@click.option(
    "--concurrency",
    "-c",
    default=16,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Requests in flight in this worker (per-site limits hold across the cluster).",
)
@click.option("--log-file", type=click.Path(dir_okay=False), help="Log here, not to stderr.")
@click.option(
    "-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE", help="Scrapy setting."
)
def worker(redis_url: str, concurrency: int, log_file: str | None, overrides: tuple[str, ...]):
    """A crawl worker: fetch and extract requests of any source from the cluster's frontier
    until SIGTERM (what it holds then goes back to the frontier)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from govwatch.worker import ClusterSpider, worker_settings

    _connect(redis_url)
    import os

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.setdict(worker_settings(redis_url, concurrency), priority="cmdline")
    settings.set("SPIDER_LOADER_CLASS", "scrapy.spiderloader.SpiderLoader", priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
    for item in overrides:
        if "=" in item:
            key, value = item.split("=", 1)
            settings.set(key, value, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(ClusterSpider)
    process.start()


@main.command()
@REDIS
@click.option(
    "--base-url", envvar="GOVWATCH_BASE_URL", help="Where `govwatch serve` is, for digests."
)
@pass_ctx
def writer(obj: Context, redis_url: str, base_url: str | None) -> None:
    """The cluster's one database writer: versions, change log, run rows, digests."""
    import logging

    from crawler.cluster import redacted
    from govwatch.writer import Writer
    from storage import StoreError

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    obj.sources()  # a bad sources file: one line now
    _connect(redis_url)
    from crawler.settings import NOTIFY_BASE_URL

    try:
        w = Writer(obj.db_path, obj.sources_path, redis_url, base_url=base_url or NOTIFY_BASE_URL)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    logging.getLogger("govwatch.writer").info(
        "Writer of %s for the cluster at %s", obj.db_path, redacted(redis_url)
    )
    w.serve(stop)


@main.group()
def cluster() -> None:
    """The cluster: what is queued and who is working."""


@cluster.command("status")
@REDIS
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def cluster_status(redis_url: str, as_json: bool) -> None:
    """Queue lengths, open runs, workers with their rates, the writer."""
    from govwatch.cluster import status

    info = status(_connect(redis_url))
    if as_json:
        jsonl([info])
        return
    writer_line = f"pid {info['writer']['pid']}" if info["writer"] else "NOT RUNNING"
    click.echo(
        f"frontier: {info['frontier']} requests, {info['starts']} runs starting; "
        f"writer inbox: {info['inbox']} messages; writer: {writer_line}"
    )
    if info["runs"]:
        click.echo(table(["run", "source", "pending", "pages", "seconds"],
                         [[str(r["run"]), r["source"] or "", str(r["pending"]), str(r["pages"]),
                           str(r["seconds"])] for r in info["runs"]]))  # fmt: skip
    rows = [[w["id"], "yes" if w["alive"] else "NO", str(w.get("pages", 0)),
             str(w["pages_per_s"]), str(w["taken"])] for w in info["workers"]]  # fmt: skip
    if rows:
        click.echo(table(["worker", "alive", "pages", "pages/s", "taken"], rows))
    else:
        click.echo("no workers")
    if not info["writer"] or not any(w["alive"] for w in info["workers"]):
        sys.exit(1)

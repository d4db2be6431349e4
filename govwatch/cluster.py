"""The client side of the cluster: ``crawl --redis``, ``schedule --redis`` and
``cluster status`` (see ``crawler.cluster``; the writer is ``govwatch.writer``)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from crawler.cluster import KEYS, ClusterError, Outage, connect, dumps, loads
from crawler.cluster.frontier import worker_rows

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

logger = logging.getLogger("govwatch.cluster")


def writer_alive(server: Any) -> bool:
    return bool(server.exists(KEYS.writer))


def start_run(server: Any, source: str, trigger: str, wait: float = 30.0) -> int:
    """Ask the writer to open a run of ``source``; its run id."""
    if not writer_alive(server):
        raise ClusterError("no writer is running: start `govwatch writer --redis URL` first")
    token = uuid.uuid4().hex
    message = {"op": "start", "source": source, "trigger": trigger, "reply": token}
    server.rpush(KEYS.inbox, dumps(message))
    answer = server.blpop([KEYS.reply(token)], timeout=wait)
    if answer is None:
        raise ClusterError(f"the writer did not open a run of {source} within {wait:.0f} s")
    reply = loads(answer[1])
    if "error" in reply:
        raise ClusterError(reply["error"])
    return int(reply["run"])


def cancel_run(server: Any, run_id: int, outcome: str) -> None:
    server.rpush(KEYS.inbox, dumps({"op": "cancel", "run": run_id, "outcome": outcome}))


def run_row(server: Any, run_id: int) -> dict[str, Any] | None:
    """The final row of ``run_id`` once the writer closed it, else None."""
    raw = server.get(KEYS.result(run_id))
    return loads(raw) if raw else None


def cluster_crawls(
    names: Sequence[str],
    *,
    redis_url: str,
    trigger: str = "manual",
    timeout: float | None = None,
    timeouts: dict[str, float | None] | None = None,
    on_progress: Callable[[list[dict[str, Any]]], None] | None = None,
    stop: threading.Event | None = None,
    poll: float = 0.2,
    **_: Any,
) -> list[dict[str, Any]]:
    """Run ``names`` through the cluster; their run rows once the writer has closed them.
    Same shape as ``govwatch.runner.run_crawls``."""
    server = connect(redis_url)
    stop = stop or threading.Event()
    started = {name: (start_run(server, name, trigger), time.monotonic()) for name in names}
    rows: dict[int, dict[str, Any]] = {}
    cancelled: set[int] = set()
    outage = Outage(logger)
    try:
        while not stop.is_set():
            try:  # Redis restarting: the runs go on, or end interrupted
                _poll_rows(server, started, rows, cancelled, timeout, timeouts)
                outage.ok()
            except RedisError as exc:
                outage.failed(exc)
            if on_progress:
                on_progress([_full(r) for r in rows.values()])
            done = all(r["outcome"] != "running" for r in rows.values())
            if done and len(rows) == len(started):
                break
            stop.wait(poll)
        else:  # stopped (SIGTERM to the scheduler): runs still going are interrupted
            _interrupt(server, started, rows, poll)
    except KeyboardInterrupt:  # Ctrl-C on `crawl --redis`: the same, then the CLI says so
        _interrupt(server, started, rows, poll)
        raise
    return [_full(rows[run_id]) for run_id, _ in started.values()]


def _poll_rows(
    server: Any,
    started: dict[str, tuple[int, float]],
    rows: dict[int, dict[str, Any]],
    cancelled: set[int],
    timeout: float | None,
    timeouts: dict[str, float | None] | None,
) -> None:
    for name, (run_id, at) in started.items():
        if run_id in rows and rows[run_id]["outcome"] != "running":
            continue
        row = run_row(server, run_id)
        if row is None:
            progress = server.get(KEYS.run(run_id, "row"))
            row = loads(progress) if progress else {"id": run_id, "source": name,
                                                         "outcome": "running"}  # fmt: skip
        rows[run_id] = row
        limit = (timeouts or {}).get(name) or timeout
        expired = limit and time.monotonic() - at > limit
        if row["outcome"] == "running" and expired and run_id not in cancelled:
            cancel_run(server, run_id, "timed_out")
            cancelled.add(run_id)


def _interrupt(
    server: Any, started: dict[str, tuple[int, float]], rows: dict[int, dict[str, Any]], poll: float
) -> None:
    try:
        for run_id, _at in started.values():
            if rows.get(run_id, {}).get("outcome", "running") == "running":
                cancel_run(server, run_id, "interrupted")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
            run_row(server, r) is None for r, _ in started.values()
        ):
            time.sleep(poll)
        for run_id, _at in started.values():
            rows[run_id] = run_row(server, run_id) or rows.get(run_id) or {"id": run_id}
    except RedisError as exc:
        logger.error("Runs not interrupted, Redis unreachable: %(error)s", {"error": exc})


def _full(row: dict[str, Any]) -> dict[str, Any]:
    """A run row with every field a local crawl's row has."""
    fields = ("id", "source", "trigger", "started_at", "finished_at", "outcome", "pages",
              "not_modified", "new", "changed", "unchanged", "removed", "restored", "suspects",
              "errors", "log_path", "finish_reason")  # fmt: skip
    return {**{f: 0 if f in ("pages", "new", "changed", "errors") else None for f in fields},
            **row}  # fmt: skip


def status(server: Any) -> dict[str, Any]:
    """What to watch: queue lengths, open runs, workers and their rates, the writer."""
    runs = []
    for raw in sorted(server.smembers(KEYS.runs), key=int):
        run_id = int(raw)
        info = {k.decode(): v.decode() for k, v in server.hgetall(KEYS.run(run_id)).items()}
        runs.append(
            {
                "run": run_id,
                "source": info.get("name"),
                "pending": int(info.get("pending", 0)),
                "pages": int(info.get("pages", 0)),
                "seconds": round(time.time() - float(info.get("started", time.time()))),
            }
        )
    writer = server.get(KEYS.writer)
    return {
        "frontier": server.llen(KEYS.requests),
        "starts": server.llen(KEYS.starts),
        "inbox": server.llen(KEYS.inbox) + server.llen(KEYS.writing),
        "writer": loads(writer) if writer else None,
        "runs": runs,
        "workers": worker_rows(server),
    }

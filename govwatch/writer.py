"""The writer: the one process that writes the database of a cluster (see ``crawler.cluster``;
the client side, ``crawl --redis`` and the rest, is ``govwatch.cluster``).

The writer takes messages from the inbox one at a time, moving each to a ``writing`` list
while it writes it (a writer killed mid-message finds it there when it restarts):

- ``start``: open a run of a source (run row, crawl lock, the source's definition, known
  documents' validators, documents due for a re-check) and hand a start token to the workers.
- ``document`` / ``error``: what a worker fetched, recorded exactly as a local crawl records it
  (``pipelines.version``). A document written twice in a run (a dead worker's request taken
  again) is recorded and counted once.
- ``end``: every request of the run is handled and every document of it is written: decide the
  outcome from the list pages' verdict, close the run row, send the digests.
- ``cancel``: a run stopped from outside (``--timeout``, Ctrl-C): closed as such; its requests
  left in the frontier are dropped by the workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from redis.exceptions import RedisError

from crawler.cluster import KEYS, RUN_TTL, Outage, connect, dumps, loads, serial
from crawler.cluster.state import read_snapshot
from crawler.items import DocumentItem, ErrorItem
from crawler.sources import SourceError, load_sources
from pipelines.text.normalize import normalizer
from pipelines.version import COUNTED, log_change, record_gone, record_item
from spiders.runstate import run_problems
from storage import StoreError, VersionStore, now_iso

if TYPE_CHECKING:
    from crawler.sources import Source

logger = logging.getLogger("govwatch.writer")

WRITER_TTL = 10  # seconds: `crawl --redis` refuses to wait for a writer gone this long
PROGRESS_EVERY = 2.0
BATCH = 50  # messages written in one transaction at most
KEEP_ERRORS_DAYS = 90
RUN_KEY_PARTS = ("seen", "known", "due", "requested", "written", "blocked", "hosts")
DOC_FIELDS = {f for f in DocumentItem.__dataclass_fields__}
ERROR_FIELDS = {f for f in ErrorItem.__dataclass_fields__}


class OpenRun:
    """A run the writer is writing: its store (with the source's options). Its counts are in
    the run's Redis hash, so that a writer killed and restarted goes on counting."""

    def __init__(self, store: VersionStore, run_id: int, source: Source) -> None:
        self.store, self.run_id, self.source = store, run_id, source
        self.store_failures = 0
        self.dirty = False


class Writer:
    def __init__(
        self,
        db_path: str | Path,
        sources_path: str | Path,
        redis_url: str,
        *,
        base_url: str | None = None,
        notify: bool = True,
    ) -> None:
        self.db_path, self.sources_path = Path(db_path), Path(sources_path)
        self.redis_url = redis_url
        self.server = connect(redis_url)
        self.base_url = base_url
        self.notify = notify
        self.open: dict[int, OpenRun] = {}
        self.store: VersionStore | None = None  # one connection: one transaction at a time
        self.keys: dict[str, Any] = {}  # sentence keys (normalisers) of the sources
        self.ops: list[tuple[str, tuple[Any, ...]]] = []  # Redis writes due after the commit
        self.written: set[tuple[int, str]] = set()  # documents written in the open batch
        self.outage = Outage(logger)

    # -- the loop -----------------------------------------------------------------------------

    def serve(self, stop: threading.Event) -> None:
        self.store = VersionStore(self.db_path)  # the schema is migrated before any message
        self._recover()
        last = 0.0
        while not stop.is_set():
            try:
                self._write_all(self._take())
                if time.monotonic() - last >= PROGRESS_EVERY:
                    self._tick()
                    last = time.monotonic()
                self.outage.ok()
            except RedisError as exc:
                self.outage.failed(exc)
                stop.wait(1.0)
        with contextlib.suppress(RedisError):
            self._flush_all()
        self.store.close()
        with contextlib.suppress(RedisError):
            self.server.delete(KEYS.writer)

    def _take(self) -> list[bytes]:
        """The next messages, up to BATCH, each moved to the writing list (waits up to 1 s for
        the first, not at all for the others)."""
        first = self.server.blmove(KEYS.inbox, KEYS.writing, 1, "LEFT", "RIGHT")
        if first is None:
            return []
        taken = [first]
        while len(taken) < BATCH:
            more = self.server.lmove(KEYS.inbox, KEYS.writing, "LEFT", "RIGHT")
            if more is None:
                break
            taken.append(more)
        return taken

    def _write_all(self, raw: list[bytes]) -> None:
        """Documents and errors in one transaction, each message of a run's life (start, end,
        cancel) alone; each message leaves the writing list once its writes are committed."""
        group: list[tuple[bytes, dict[str, Any]]] = []
        for data in raw:
            try:
                msg = serial.loads(data)
            except ValueError:
                logger.error("Malformed message dropped: %(data)r", {"data": data[:200]})
                self.server.lrem(KEYS.writing, 1, data)
                continue
            if msg.get("op") in ("document", "error"):
                group.append((data, msg))
                continue
            self._write_group(group)
            group = []
            self.handle(msg)
            self._apply_ops()
            self.server.lrem(KEYS.writing, 1, data)
        self._write_group(group)

    def _write_group(self, group: list[tuple[bytes, dict[str, Any]]]) -> None:
        if not group:
            return
        try:
            with self.store.batch():
                for _data, msg in group:
                    self.handle(msg)
        except StoreError as exc:  # no lock or no commit: none of them is written
            logger.error("%(n)d message(s) not written: %(error)s", {"n": len(group), "error": exc})
            self.ops.clear()
            for _data, msg in group:
                self._failed(msg)
        self.written.clear()
        self._apply_ops()
        pipe = self.server.pipeline()
        for data, _msg in group:
            pipe.lrem(KEYS.writing, 1, data)
        pipe.execute()

    def _apply_ops(self) -> None:
        """The Redis side of what was just committed: documents marked written, counts."""
        if not self.ops:
            return
        pipe = self.server.pipeline()
        for name, args in self.ops:
            getattr(pipe, name)(*args)
        self.ops.clear()
        pipe.execute()

    def _recover(self) -> None:
        """Runs still open in Redis are this writer's now; other runs left `running` by a
        process that is gone are interrupted; a message the last writer was writing when it
        stopped is written first."""
        for row in self.store.db["runs"].rows_where("outcome = 'running'"):
            if self.server.sismember(KEYS.runs, row["id"]):
                self.store.update_run(row["id"], pid=os.getpid())
        self.store.reap_stale_runs()
        moved = 0
        while self.server.lmove(KEYS.writing, KEYS.inbox, "RIGHT", "LEFT") is not None:
            moved += 1
        if moved:
            logger.warning("%(n)d message(s) left by a stopped writer: written again", {"n": moved})
        self.server.set(KEYS.writer, dumps({"pid": os.getpid()}), ex=WRITER_TTL)

    def _tick(self) -> None:
        self.server.set(KEYS.writer, dumps({"pid": os.getpid()}), ex=WRITER_TTL)
        self._flush_all()
        for run_id in list(self.open):
            if not self.server.sismember(KEYS.runs, run_id):  # Redis lost it (restarted empty)
                logger.error("Run %(run)s is gone from Redis: interrupted", {"run": run_id})
                self._close(run_id, "interrupted", "redis")

    def handle(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        try:
            if op == "start":
                self._start(msg)
            elif op in ("document", "error"):
                self._record(msg)
            elif op == "end":
                self._end(int(msg["run"]))
            elif op == "cancel":
                self._close(int(msg["run"]), msg.get("outcome") or "interrupted", "cancelled")
            else:
                logger.error("Unknown message %(op)r ignored", {"op": op})
        except StoreError as exc:
            logger.error("Message %(op)s not written: %(error)s", {"op": op, "error": exc})
            self._failed(msg)
        except RedisError:
            raise  # the message stays in `writing` and is written again
        except Exception:  # a malformed message is dropped with its error, never a crash loop
            logger.exception(
                "Message %(op)s of run %(run)s dropped", {"op": op, "run": msg.get("run")}
            )
            self._failed(msg)

    def _failed(self, msg: dict[str, Any]) -> None:
        try:
            run = self.open.get(int(msg.get("run") or 0))
        except (TypeError, ValueError):
            return
        if run is not None:
            run.store_failures += 1

    # -- runs ---------------------------------------------------------------------------------

    def _store(self, source: Source) -> VersionStore:
        """The store, set for ``source``: its ignore rules and revisit interval."""
        if source.name not in self.keys:
            self.keys[source.name] = normalizer(source.ignore)
        self.store.sentence_key = self.keys[source.name]
        self.store.revisit = source.revisit
        return self.store

    def _start(self, msg: dict[str, Any]) -> None:
        reply = msg.get("reply")
        try:
            source, raw = self._source(msg["source"])
            if source.render:
                raise SourceError(
                    f"{source.name}: render: sources need a browser; crawl them locally"
                )
        except (SourceError, KeyError) as exc:
            self._reply(reply, {"error": str(exc)})
            return
        store = self._store(source)
        store.sync_sources([source.as_row()])
        cutoff = (datetime.now(UTC) - timedelta(days=KEEP_ERRORS_DAYS)).isoformat()
        store.prune_errors(cutoff)
        run_id = store.start_run(source.name, msg.get("trigger") or "manual")
        holder = store.acquire_source_lock(source.name, run_id)
        if holder is not None:
            message = (
                f"another crawl of {source.name} is running: run {holder['run_id']} "
                f"(pid {holder['pid']} on {holder['host']}, since {holder['acquired_at']})"
            )
            store.record_error(
                url=None, kind="locked", message=message, run_id=run_id, source=source.name
            )
            store.finish_run(run_id, "failed", finish_reason="locked", errors=1)
            self._publish(store, run_id)
            self._reply(reply, {"run": run_id})
            return
        states = store.http_states(source.name)
        now = now_iso()
        due = [u for u, s in states.items() if _due(s, now)]
        key = KEYS.run(run_id)
        pipe = self.server.pipeline()
        # keys left under this run id by another database (one recreated): not this run's
        stale = [KEYS.run(run_id, p) for p in ("", "row", "lists_ok", *RUN_KEY_PARTS)]
        pipe.delete(*stale, KEYS.result(run_id))
        pipe.hset(key, mapping={"source": dumps(raw), "name": source.name, "pending": 1,
                                "phase": 0, "started": time.time()})  # fmt: skip
        items = list(states.items())
        for i in range(0, len(items), 1000):
            chunk = {u: dumps(s) for u, s in items[i : i + 1000]}
            pipe.hset(KEYS.run(run_id, "known"), mapping=chunk)
        for i in range(0, len(due), 1000):
            pipe.sadd(KEYS.run(run_id, "due"), *due[i : i + 1000])
        for part in ("", "known", "due"):
            pipe.expire(KEYS.run(run_id, part), RUN_TTL)
        pipe.sadd(KEYS.runs, run_id)
        pipe.lpush(KEYS.starts, dumps({"run": run_id}))
        pipe.execute()
        self.open[run_id] = OpenRun(store, run_id, source)
        logger.info(
            "Run %(run)s of %(source)s: %(known)d known documents, %(due)d due",
            {"run": run_id, "source": source.name, "known": len(states), "due": len(due)},
        )
        self._reply(reply, {"run": run_id})

    def _source(self, name: str) -> tuple[Source, dict[str, Any]]:
        sources = load_sources(self.sources_path)
        if name not in sources:
            raise SourceError(f"unknown source: {name} (not in {self.sources_path})")
        data = yaml.safe_load(self.sources_path.read_text(encoding="utf-8")) or {}
        raw = next(e for e in data.get("sources") or [] if e.get("name") == name)
        return sources[name], raw

    def _run(self, run_id: int) -> OpenRun | None:
        """The open run ``run_id``; after a writer restart, rebuilt from Redis and the row."""
        run = self.open.get(run_id)
        if run is not None:
            return run
        if not self.server.sismember(KEYS.runs, str(run_id)):
            return None  # ended or cancelled: late messages are dropped
        raw = self.server.hget(KEYS.run(run_id), "source")
        if raw is None:
            return None
        from crawler.sources import parse_source

        source = parse_source(loads(raw))
        run = self.open[run_id] = OpenRun(self._store(source), run_id, source)
        return run

    def _record(self, msg: dict[str, Any]) -> None:
        run = self._run(int(msg["run"]))
        if run is None:
            return
        store = self._store(run.source)
        if msg["op"] == "document":
            fields = {k: v for k, v in msg.items() if k in DOC_FIELDS}
            item = DocumentItem(**{"html": "", "encoding": "", **fields})
            written = KEYS.run(run.run_id, "written")
            if (run.run_id, item.url) in self.written or self.server.sismember(written, item.url):
                return  # taken again after a worker died: written and counted once
            self.written.add((run.run_id, item.url))
            change = record_item(store, item, run.run_id)
            self._count(run, change, item.url, written=(written, item.url))
            return
        item = ErrorItem(**{k: v for k, v in msg.items() if k in ERROR_FIELDS})
        change = record_gone(store, item, run.run_id)
        if change is not None and change.kind == "removed":
            self._count(run, change, item.url)
            return
        kind = "http" if item.kind == "gone" else item.kind
        self._error(run, item.url, kind, item.message)

    def _count(
        self, run: OpenRun, change: Any, url: str, written: tuple[str, str] | None = None
    ) -> None:
        if written:  # marked written and counted once committed
            self.ops += [("sadd", written), ("expire", (written[0], RUN_TTL))]
        if change.kind in COUNTED:
            self.ops.append(("hincrby", (KEYS.run(run.run_id), COUNTED[change.kind], 1)))
            run.dirty = True
        if change.kind == "suspect":
            self._error(run, url, "suspect", change.summary, count=False)
        else:
            log_change(change, url)

    def _error(self, run: OpenRun, url: str | None, kind: str, message: str, count: bool = True):
        run.store.record_error(
            url=url, kind=kind, message=message, run_id=run.run_id, source=run.source.name
        )
        if count:
            self.ops.append(("hincrby", (KEYS.run(run.run_id), "errors", 1)))
            run.dirty = True

    def _run_counts(self, run: OpenRun) -> dict[str, int]:
        self._apply_ops()
        names = [*COUNTED.values(), "errors", "pages", "not_modified", "offsite"]
        values = self.server.hmget(KEYS.run(run.run_id), names)
        return {name: int(v or 0) for name, v in zip(names, values, strict=True)}

    def _flush_all(self) -> None:
        for run in list(self.open.values()):
            if run.dirty:
                try:
                    run.store.update_run(run.run_id, **self._run_counts(run))
                    self._publish(run.store, run.run_id, progress=True)
                    run.dirty = False
                except (StoreError, RedisError) as exc:
                    logger.warning("Progress of run %(run)s not written: %(error)s",
                                   {"run": run.run_id, "error": exc})  # fmt: skip

    def _end(self, run_id: int) -> None:
        run = self._run(run_id)
        if run is None:
            return
        problems = run_problems(read_snapshot(self.server, run_id))
        for kind, url, message in problems:
            if kind == "no_links":
                self._error(run, url, kind, message)
            logger.error("Run %(run)s failed: %(msg)s", {"run": run_id, "msg": message})
        outcome, reason = "ok", "finished"
        if run.store_failures:
            outcome, reason = "failed", "store"
            message = f"{run.store_failures} document(s) could not be written"
            self._error(run, None, "store", message)
        elif problems:
            outcome, reason = "failed", problems[0][0]
        self._close(run_id, outcome, reason)

    def _close(self, run_id: int, outcome: str, reason: str) -> None:
        run = self._run(run_id)
        if run is None:
            return
        store = run.store
        counts = self._run_counts(run) if reason != "redis" else {}  # lost: keep the last row's
        store.finish_run(run_id, outcome, finish_reason=reason, **counts)
        store.release_source_lock(run.source.name, run_id)
        pipe = self.server.pipeline()
        pipe.srem(KEYS.runs, run_id)
        pipe.delete(*(KEYS.run(run_id, part) for part in RUN_KEY_PARTS))
        pipe.expire(KEYS.run(run_id), 3600)
        pipe.execute()
        del self.open[run_id]
        logger.info("Run %(run)s of %(source)s: %(outcome)s %(counts)s",
                    {"run": run_id, "source": run.source.name, "outcome": outcome,
                     "counts": self._run_counts(run)})  # fmt: skip
        if self.notify:
            self._notify(run)
        self._publish(store, run_id)

    def _notify(self, run: OpenRun) -> None:
        from govwatch.notify import after_run

        after_run(run.store, self.sources_path, run.source, run.run_id, base_url=self.base_url)

    def _publish(self, store: VersionStore, run_id: int, progress: bool = False) -> None:
        """The run row, for `crawl --redis` on any machine: progress, then the final row."""
        key = KEYS.run(run_id, "row") if progress else KEYS.result(run_id)
        self.server.set(key, dumps(store.run(run_id)), ex=RUN_TTL)

    def _reply(self, token: str | None, value: dict[str, Any]) -> None:
        if token:
            self.server.rpush(KEYS.reply(token), dumps(value))
            self.server.expire(KEYS.reply(token), 600)


def _due(state: dict[str, Any], now: str) -> bool:
    """A known document the store wants re-checked in this run (if no list links to it)."""
    return state["status"] == "active" and (state["next_check"] or "") <= now

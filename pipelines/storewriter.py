"""The crawl's database writes, on a thread of their own and in batches.

``StoreWriter`` owns the store's connection while a crawl runs: the version pipeline hands it
calls (record a document, an error, the run's progress) and gets a Deferred for each. A
thread takes what has queued up, up to ``max_batch`` calls, and makes them in one
transaction, each call a savepoint (``VersionStore.batch``): a call that fails is undone
alone, and a process killed before the commit leaves every document of the batch untouched,
never half-written. Results are delivered (in the reactor's thread) only once the batch is
committed, so a document is counted only when it is durable.

Why a thread: much of a write is SQLite's own work (the search index, compression, the statements),
which runs without the GIL, beside the reactor; and a commit per batch instead of per
document. A batch waits up to ``gather`` seconds after its first call for more: the writer is
faster than the extraction that feeds it, so without the wait most batches would hold one
document, and each commit costs about as much again (the search index writes a segment, the
WAL its pages): 1,000 portal-shaped documents took 2-3 ms less CPU each with 0.3 s.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

from twisted.internet import defer, reactor

from storage import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from storage import VersionStore

logger = logging.getLogger(__name__)

_STOP = object()


class StoreWriter:
    def __init__(
        self,
        store: VersionStore,
        max_batch: int = 50,
        deliver: Callable[..., Any] | None = None,
        gather: float = 0.0,
    ) -> None:
        self.store = store
        self.deliver = deliver or reactor.callFromThread  # how results reach the caller
        self.max_batch = max(1, max_batch)
        self.gather = max(0.0, gather)  # seconds a batch waits for more calls after its first
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="govwatch-store", daemon=True)
        self.batches = 0
        self.calls = 0
        self.failed = 0  # calls the database refused (read it once stop() has returned)

    def start(self) -> None:
        self._thread.start()

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred:
        """``func(*args, **kwargs)`` in a batch; a Deferred fired with its result (or its
        exception: a database error as StoreError) once the batch is committed."""
        return self._put(func, args, kwargs, counted=True)

    def submit_best_effort(
        self, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> defer.Deferred:
        """As ``submit``, for a write whose failure is not the run's (its progress): not
        counted in ``failed``."""
        return self._put(func, args, kwargs, counted=False)

    def _put(self, func: Callable[..., Any], args: tuple, kwargs: dict, counted: bool) -> Any:
        d: defer.Deferred = defer.Deferred()
        self._queue.put((func, args, kwargs, d, counted))
        return d

    def stop(self) -> None:
        """Make every call queued so far, then end the thread (blocks until then)."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _take(self) -> tuple[list[tuple], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        jobs, stop = [first], False
        deadline = time.monotonic() + self.gather
        while len(jobs) < self.max_batch:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is _STOP:
                stop = True
                break
            jobs.append(job)
        return jobs, stop

    def _loop(self) -> None:
        stop = False
        while not stop:
            jobs, stop = self._take()
            if not jobs:
                continue
            results: list[tuple[defer.Deferred, bool, Any]] = []
            try:
                with self.store.batch():
                    for func, args, kwargs, d, counted in jobs:
                        try:
                            results.append((d, counted, True, func(*args, **kwargs)))
                        except sqlite3.Error as exc:
                            error = StoreError(f"cannot write: {exc}")
                            results.append((d, counted, False, error))
                        except Exception as exc:  # handed to the caller
                            results.append((d, counted, False, exc))
            except (StoreError, sqlite3.Error) as exc:  # the batch did not commit
                error = exc if isinstance(exc, StoreError) else StoreError(f"cannot write: {exc}")
                results = [(d, counted, False, error) for *_, d, counted in jobs]
            self.batches += 1
            self.calls += len(jobs)
            self.failed += sum(
                1 for _, counted, ok, v in results
                if counted and not ok and isinstance(v, StoreError)
            )  # fmt: skip
            for d, _, ok, value in results:
                self.deliver(_fire, d, ok, value)


def _fire(d: defer.Deferred, ok: bool, value: Any) -> None:
    if ok:
        d.callback(value)
    else:
        d.errback(value)

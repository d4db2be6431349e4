"""The crawl's store writer: batches in one transaction, each call a savepoint, results only
after the commit, on a real SQLite file."""

from __future__ import annotations

import sqlite3

from pipelines.storewriter import StoreWriter
from storage import StoreError, VersionStore

TEXT = "苏州市吴江区招商引资项目签约仪式举行，共签约项目十二个，总投资一百亿元。"


def test_queued_calls_are_written_in_batches_and_failures_stay_alone(tmp_path):
    path = tmp_path / "g.db"
    delivered: list[tuple[str, bool, object]] = []
    with VersionStore(path) as store:
        committed_at_delivery = []

        def deliver(fire, d, ok, value):
            # a result is handed over only when its batch is visible to another connection
            with sqlite3.connect(path) as other:
                committed_at_delivery.append(
                    other.execute("select count(*) from documents").fetchone()[0]
                )
            fire(d, ok, value)

        writer = StoreWriter(store, max_batch=50, deliver=deliver)

        def refused():
            raise StoreError("disk full")

        for n in range(120):
            url = f"http://127.0.0.1/doc/{n}"
            d = (
                writer.submit(refused)
                if n == 60
                else writer.submit(store.record, url, source="s", text=f"{n}{TEXT}")
            )
            d.addCallbacks(
                lambda change, n=n: delivered.append((str(n), True, change.kind)),
                lambda failure, n=n: delivered.append((str(n), False, str(failure.value))),
            )
        writer.start()  # all 120 were queued before: batches of 50, 50 and 20
        writer.stop()
        assert (writer.batches, writer.calls, writer.failed) == (3, 120, 1)
        assert len(delivered) == 120
        assert delivered[60] == ("60", False, "disk full")
        assert {kind for _, ok, kind in delivered if ok} == {"new"}
        assert store.counts()["documents"] == 119
        assert committed_at_delivery[0] == 50  # the first result came after 50 were committed


def test_a_batch_that_cannot_commit_fails_every_call_in_it(tmp_path):
    with VersionStore(tmp_path / "g.db") as store:
        blocker = sqlite3.connect(tmp_path / "g.db", timeout=0)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        store.db.execute("PRAGMA busy_timeout = 100")
        results = []
        writer = StoreWriter(store, deliver=lambda fire, d, ok, value: fire(d, ok, value))
        for n in range(3):
            writer.submit(store.record, f"http://127.0.0.1/{n}", source="s", text=TEXT).addErrback(
                lambda f: results.append(f.value)
            )
        progress = writer.submit_best_effort(store.update_run, 1, pages=3)
        progress.addErrback(lambda f: results.append(f.value))
        writer.start()
        writer.stop()
        blocker.rollback()
        assert len(results) == 4  # the progress update failed too, but is not counted
        results.pop()
        assert all(isinstance(e, StoreError) for e in results)
        assert writer.failed == 3
        assert store.counts()["documents"] == 0
        assert not writer._thread.is_alive()


def test_a_batch_waits_for_more_calls_up_to_its_gather_time(tmp_path):
    """With ``gather``, calls that arrive within that time after a batch's first one share
    its transaction; without, each is a batch of its own (the writer is idle when it comes)."""
    import time

    with VersionStore(tmp_path / "g.db") as store:
        for gather, batches in ((5.0, 1), (0.0, 3)):
            writer = StoreWriter(store, deliver=lambda fire, d, ok, value: fire(d, ok, value),
                                 gather=gather)  # fmt: skip
            writer.start()
            started = time.monotonic()
            for n in range(3):
                writer.submit(store.record, f"http://127.0.0.1/{gather}/{n}", source="s",
                              text=f"{n}{TEXT}")  # fmt: skip
                time.sleep(0.2)
            writer.stop()  # ends the wait: what is queued is written now
            assert (writer.batches, writer.calls) == (batches, 3)
            assert time.monotonic() - started < 4.0
        assert store.counts()["documents"] == 6

"""The shared frontier: scrapy-redis's Scheduler and duplicate filter, with runs, accounting and
recovery of what a dead worker had taken (see ``crawler.cluster``)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import FifoQueue
from scrapy_redis.scheduler import Scheduler

from crawler.cluster import DEAD_AFTER, KEYS, RUN_TTL, Keys, Outage, dumps, loads, serial

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# pending - 1 for a handled request and its taken entry dropped; at 0 the run's phase moves on
# (1: listed documents done, re-check what is due; 2: the run is complete). Returns the phase
# reached, 0 while requests are pending, -2 when the request was no longer this worker's (it
# was given back to the frontier, and whoever handles it there counts it).
FINISH = """
if ARGV[2] ~= '' and redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return -2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local left = redis.call('HINCRBY', KEYS[1], 'pending', -1)
if left > 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'phase', 1)
"""


class RunDupeFilter(RFPDupeFilter):
    """scrapy-redis's filter with one fingerprint set per run (``govwatch:run:N:seen``): a URL
    is fetched once in a run, and again in the next one."""

    def __init__(self, server: Any, keys: Keys = KEYS, debug: bool = False) -> None:
        super().__init__(server, key=keys.run(0, "seen"), debug=debug)
        self.keys = keys

    def request_seen(self, request: Request) -> bool:
        key = self.keys.run(request.meta.get("gw_run", 0), "seen")
        added = self.server.sadd(key, self.request_fingerprint(request))
        if added:
            self.server.expire(key, RUN_TTL)
        return added == 0

    def clear(self) -> None:  # a worker's close never clears runs that others still crawl
        pass


class ClusterScheduler(Scheduler):
    """The frontier of a worker. Requests of runs that have ended (timed out, cancelled) are
    dropped when taken; Redis errors are logged once per outage, never a traceback loop."""

    keys: Keys = KEYS

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        from crawler.cluster import connect

        server = connect(settings.get("REDIS_URL"))
        instance = cls(
            server=server,
            persist=True,  # the frontier is the cluster's, not this worker's
            queue_key=KEYS.requests,
            dupefilter=RunDupeFilter(server),
            serializer=serial,
        )
        instance.stats = crawler.stats
        instance.crawler = crawler
        instance.outage = Outage(logger)
        return instance

    @property
    def worker(self) -> Any:
        return self.spider  # the ClusterSpider: worker id, runs, accounting

    def open(self, spider: Any) -> None:
        """scrapy-redis's, without its call of the deprecated ``Spider.log``."""
        self.spider = spider
        self.queue = FifoQueue(self.server, spider, self.queue_key, self.serializer)
        waiting = len(self.queue)
        if waiting:
            logger.info("%(n)d requests waiting in the frontier", {"n": waiting})

    def enqueue_request(self, request: Request) -> bool:
        try:
            return self._enqueue(request)
        except RedisError as exc:
            self.outage.failed(exc)
            return False

    def _enqueue(self, request: Request) -> bool:
        run = request.meta.get("gw_run")
        token = request.meta.get("gw_token")
        if not request.dont_filter and self.df.request_seen(request):
            if token:  # a redirect or retry to a URL this run already has: the request ends
                self.worker.finish(request)
            return False
        if token is None:
            request.meta["gw_token"] = uuid.uuid4().hex
            self.server.hincrby(self.keys.run(run), "pending", 1)
        self.queue.push(request)
        if token is not None:  # back in the frontier (redirected, retried): no longer taken
            self.server.hdel(self.keys.worker(self.worker.worker_id, "taken"), token)
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        try:
            for _ in range(100):  # bounded: skip requests of runs that have ended
                data = self.server.rpop(self.queue.key)
                if data is None:
                    self.outage.ok()
                    return None
                request = self.queue._decode_request(data)
                run, token = request.meta.get("gw_run"), request.meta.get("gw_token")
                if not self.worker.run_active(run):
                    self.stats.inc_value("govwatch/cluster/dropped_ended_run")
                    continue
                self.server.hset(self.keys.worker(self.worker.worker_id, "taken"), token, data)
                self.stats.inc_value("scheduler/dequeued/redis")
                self.outage.ok()
                return request
        except RedisError as exc:
            self.outage.failed(exc)
        return None

    def has_pending_requests(self) -> bool:
        try:
            return len(self) > 0
        except RedisError as exc:
            self.outage.failed(exc)
            return False


def requeue_dead_workers(server: Any, keys: Keys = KEYS) -> int:
    """Put back in the frontier (or the start list) what workers that stopped heart-beating
    had taken; returns how many requests went back. Safe to run from any process at once: each
    dead worker is recovered by the one that takes its lock."""
    moved = 0
    for raw_id in server.hkeys(keys.workers):
        worker_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
        if server.exists(keys.worker(worker_id, "alive")):
            continue
        if not server.set(keys.worker(worker_id, "reaping"), 1, nx=True, ex=60):
            continue
        taken = server.hgetall(keys.worker(worker_id, "taken"))
        pipe = server.pipeline()
        for token, data in taken.items():
            # at the end the workers pop from: taken next, ahead of the rest
            pipe.rpush(keys.starts if token.startswith(b"start:") else keys.requests, data)
            moved += 1
        pipe.delete(keys.worker(worker_id, "taken"), keys.worker(worker_id, "stats"))
        pipe.hdel(keys.workers, worker_id)
        pipe.execute()
        freed = free_slots(server, worker_id, keys)
        if taken or freed:
            logger.warning(
                "Worker %(id)s stopped heart-beating: %(n)d request(s) it had taken are back in "
                "the frontier, %(slots)d site slot(s) it held are free",
                {"id": worker_id, "n": len(taken), "slots": freed},
            )
    return moved


def free_slots(server: Any, worker_id: str, keys: Keys = KEYS) -> int:
    """Free the site slots a dead worker held (crawler.cluster.limits), rather than leave its
    sites waiting for the leases to run out."""
    freed = 0
    for key in server.scan_iter(match=keys.host("*", "slots"), count=500):
        mine = [m for m in server.zrange(key, 0, -1) if m.startswith(f"{worker_id}|".encode())]
        if mine:
            freed += server.zrem(key, *mine)
    return freed


def worker_rows(server: Any, keys: Keys = KEYS) -> list[dict[str, Any]]:
    """Each registered worker: its registration, heartbeat and counters."""
    rows = []
    now = time.time()
    for raw_id, info in sorted(server.hgetall(keys.workers).items()):
        worker_id = raw_id.decode()
        counters = server.hgetall(keys.worker(worker_id, "stats"))
        stats = {k.decode(): int(v) for k, v in counters.items()}
        row = {"id": worker_id, **loads(info), **stats}
        row["alive"] = bool(server.exists(keys.worker(worker_id, "alive")))
        row["taken"] = server.hlen(keys.worker(worker_id, "taken"))
        seconds = max(1.0, now - row.get("started", now))
        row["pages_per_s"] = round(row.get("pages", 0) / seconds, 2)
        rows.append(row)
    return rows


def register_worker(server: Any, worker_id: str, info: dict[str, Any], keys: Keys = KEYS) -> None:
    heartbeat(server, worker_id, info, keys)


def heartbeat(server: Any, worker_id: str, info: dict[str, Any], keys: Keys = KEYS) -> None:
    """Alive for DEAD_AFTER seconds more; registered again if Redis restarted empty."""
    pipe = server.pipeline()
    pipe.hset(keys.workers, worker_id, dumps(info))
    pipe.set(keys.worker(worker_id, "alive"), 1, ex=DEAD_AFTER)
    pipe.execute()


def unregister_worker(server: Any, worker_id: str, keys: Keys = KEYS) -> None:
    """A worker that stops cleanly puts back what it still holds and leaves."""
    server.delete(keys.worker(worker_id, "alive"))
    requeue_dead_workers(server, keys)


def finish_script(server: Any) -> Any:
    return server.register_script(FINISH)


__all__ = [
    "ClusterScheduler",
    "RunDupeFilter",
    "finish_script",
    "heartbeat",
    "register_worker",
    "requeue_dead_workers",
    "unregister_worker",
    "worker_rows",
]

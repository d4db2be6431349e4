"""govwatch on many machines: crawl workers share one frontier in Redis, one writer owns SQLite.

The frontier is scrapy-redis's: its Scheduler keeps the request queue in Redis, its duplicate
filter a Redis set. What govwatch adds around it (``crawler.cluster.frontier``):

- Runs. ``govwatch crawl --redis`` and ``govwatch schedule --redis`` ask the writer for a run;
  the writer opens the run row, puts the source's definition, the known documents' validators
  and a start token in Redis. A worker takes the token, makes the source's start requests and
  from then on every request carries its run (``gw_run``) and a token (``gw_token``).
- Duplicates are filtered per run (one fingerprint set a run, deleted when it ends), so list
  pages and re-checks are fetched again in the next run.
- Accounting. Each run has a ``pending`` count: +1 for each request accepted into the frontier,
  -1 when a worker has handled it completely (its child requests are in the frontier and its
  documents and errors are in the writer's inbox). At zero the run's listed documents are all
  done: the worker that saw zero requests the due documents no longer listed (adaptive
  revisits), and at zero again puts the run's end in the writer's inbox, behind every document
  of the run.
- Faults. A request a worker has taken is kept in the worker's ``taken`` hash until it is
  handled; a worker that stops heart-beating (``kill -9``, a lost machine) has its taken
  requests put back in the frontier by the other workers. The writer moves each message to a
  ``writing`` list while it writes it, so a killed writer loses nothing either; a document
  written twice for one run is counted once.
- Politeness for the cluster (``crawler.cluster.limits``): a source's per-site concurrency and
  delay are held in Redis, with Redis's clock, across all workers.

Keys all start with ``govwatch:`` (``Keys``); values are JSON, never pickles.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

WORKER_SPIDER = "govwatch-worker"
HEARTBEAT = 2.0  # seconds between a worker's heartbeats
DEAD_AFTER = 10  # seconds without a heartbeat before a worker is taken for dead
RUN_TTL = 14 * 86400  # a run's keys expire this long after its last write, whatever happens


class ClusterError(Exception):
    """Redis cannot be reached or answers wrongly: one line for the user."""


class Outage:
    """Says once per outage that Redis is unreachable, and once that it is back: a process
    that retries never fills its log with the same traceback."""

    def __init__(self, log: logging.Logger) -> None:
        self.log, self.down = log, False

    def failed(self, exc: Exception) -> None:
        if not self.down:
            self.log.error("Redis unreachable (%(error)s); retrying", {"error": exc})
        self.down = True

    def ok(self) -> None:
        if self.down:
            self.log.info("Redis reachable again")
        self.down = False


@dataclass(frozen=True)
class Keys:
    prefix: str = "govwatch"

    @property
    def requests(self) -> str:
        return f"{self.prefix}:requests"

    @property
    def starts(self) -> str:
        return f"{self.prefix}:starts"

    @property
    def inbox(self) -> str:
        return f"{self.prefix}:inbox"

    @property
    def writing(self) -> str:
        return f"{self.prefix}:inbox:writing"

    @property
    def runs(self) -> str:
        return f"{self.prefix}:runs"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def writer(self) -> str:
        return f"{self.prefix}:writer"

    def run(self, run_id: int | str, part: str = "") -> str:
        return f"{self.prefix}:run:{run_id}" + (f":{part}" if part else "")

    def worker(self, worker_id: str, part: str) -> str:
        return f"{self.prefix}:worker:{worker_id}:{part}"

    def host(self, netloc: str, part: str) -> str:
        return f"{self.prefix}:host:{netloc}:{part}"

    def reply(self, token: str) -> str:
        return f"{self.prefix}:reply:{token}"

    def result(self, run_id: int | str) -> str:
        return f"{self.prefix}:result:{run_id}"


KEYS = Keys()


def connect(url: str, *, check: bool = True) -> Any:
    """A Redis client for ``url`` (redis://[:password@]host:port/db) that retries a dropped
    connection for a while before giving up; ClusterError with one line when it cannot."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=5,
            socket_timeout=30,
            health_check_interval=15,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 8),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
    except ValueError as exc:
        raise ClusterError(f"bad Redis URL {url!r}: {exc}") from None
    if check:  # at start: fail at once with one line, no retries
        probe = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
        try:
            probe.ping()
        except redis.RedisError as exc:
            raise ClusterError(f"Redis at {redacted(url)} cannot be reached: {exc}") from None
        finally:
            probe.close()
    return client


def redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
            f":{parts.port}" if parts.port else ""
        )
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def loads(data: bytes | str) -> Any:
    return json.loads(data)

"""A cluster run's list-page verdict, kept in Redis: the same methods as
``spiders.runstate.RunState``, shared by every worker that fetches the run's list pages."""

from __future__ import annotations

from typing import Any

from crawler.cluster import KEYS, Keys


class RedisRunState:
    def __init__(self, server: Any, run_id: int, keys: Keys = KEYS) -> None:
        self.server, self.run_id = server, run_id
        self.key = keys.run(run_id)
        self.blocked = keys.run(run_id, "blocked")

    @property
    def list_pages(self) -> int:
        return int(self.server.hget(self.key, "list_pages") or 0)

    def list_page(self) -> int:
        return int(self.server.hincrby(self.key, "list_pages", 1))

    def list_ok(self, where: str) -> None:
        self.server.hsetnx(self.key, "first_list_ok", where)
        self.server.hincrby(self.key, "lists_ok", 1)

    def list_failed(self) -> None:
        self.server.hincrby(self.key, "lists_failed", 1)

    def links(self, found: int) -> None:
        self.server.hincrby(self.key, "links_found", found)

    def block(self, host: str) -> None:
        self.server.sadd(self.blocked, host)

    def is_blocked(self, host: str) -> bool:
        return bool(self.server.sismember(self.blocked, host))

    def snapshot(self) -> dict[str, Any]:
        return read_snapshot(self.server, self.run_id)


def read_snapshot(server: Any, run_id: int, keys: Keys = KEYS) -> dict[str, Any]:
    row = {k.decode(): v.decode() for k, v in server.hgetall(keys.run(run_id)).items()}
    return {
        "list_pages": int(row.get("list_pages", 0)),
        "lists_ok": int(row.get("lists_ok", 0)),
        "first_list_ok": row.get("first_list_ok"),
        "lists_failed": int(row.get("lists_failed", 0)),
        "links_found": int(row.get("links_found", 0)),
        "blocked_hosts": sorted(h.decode() for h in server.smembers(keys.run(run_id, "blocked"))),
    }

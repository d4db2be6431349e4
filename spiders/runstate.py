"""What a run's list pages gave, and the run's verdict from it.

A local crawl keeps this in its spider (``RunState``); a cluster run keeps it in Redis
(``crawler.cluster.state.RedisRunState``, same methods) because its list pages are fetched by
several workers. ``run_problems`` reads a snapshot of either.
"""

from __future__ import annotations

from typing import Any


class RunState:
    def __init__(self) -> None:
        self.list_pages = 0  # list pages and endpoint pages requested
        self.lists_ok: list[str] = []  # list pages that answered
        self.lists_failed = 0
        self.links_found = 0
        self.blocked_hosts: set[str] = set()

    def list_page(self) -> int:
        """Count one more list page requested; returns the count."""
        self.list_pages += 1
        return self.list_pages

    def list_ok(self, where: str) -> None:
        self.lists_ok.append(where)

    def list_failed(self) -> None:
        self.lists_failed += 1

    def links(self, found: int) -> None:
        self.links_found += found

    def block(self, host: str) -> None:
        self.blocked_hosts.add(host)

    def is_blocked(self, host: str) -> bool:
        return host in self.blocked_hosts

    def snapshot(self) -> dict[str, Any]:
        return {
            "list_pages": self.list_pages,
            "lists_ok": len(self.lists_ok),
            "first_list_ok": self.lists_ok[0] if self.lists_ok else None,
            "lists_failed": self.lists_failed,
            "links_found": self.links_found,
            "blocked_hosts": sorted(self.blocked_hosts),
        }


def run_problems(state: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Why a run failed as a whole (the run log's errors), or [] when it got through.

    A blocked host, list pages that all failed, or lists that gave no document link at all:
    silence is never an ``ok``. Per-page errors are recorded as they happen; this adds the
    ``no_links`` error and decides the outcome.
    """
    problems = []
    if state["blocked_hosts"]:
        hosts = ", ".join(state["blocked_hosts"])
        problems.append(("blocked", hosts, f"blocked by an anti-bot gateway: {hosts}"))
    elif state["list_pages"] and not state["lists_ok"]:
        problems.append(("list_http", "", f"all {state['lists_failed']} list pages failed"))
    elif state["lists_ok"] and state["links_found"] == 0:
        first, pages = state["first_list_ok"], state["lists_ok"]
        problems.append(
            ("no_links", first, f"no document links on {pages} list page(s), first {first}")
        )
    return problems

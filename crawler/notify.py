"""Notifications: one digest per run of what is new or changed, through Apprise.

Rules come from ``sources.yaml``: a top-level ``notify:`` list (every source) and a source's
own ``notify:`` list. Each rule has ``urls`` (Apprise URLs: dingtalk://, wecombot://,
feishu://, mailto://, json://, ...) and optional filters ``kinds``, ``regions``, ``sources``
and ``keywords`` (notify only when the new text or title contains one of them).

A digest is recorded in the ``notifications`` table before it is sent, retried
NOTIFY_RETRIES times with a growing pause, and a failed one stays ``failed`` and is tried again
after the next run of its source: never lost silently, never failing the crawl. URLs carry
secrets (tokens, passwords): logs and the database only ever show ``scheme://***``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from crawler.sources import SourceError

if TYPE_CHECKING:
    from storage import VersionStore

logger = logging.getLogger(__name__)

RULE_KEYS = {"urls", "url", "kinds", "regions", "sources", "keywords"}
MAX_ATTEMPTS = 10  # a failed digest is retried after later runs until this many attempts


def mask(url: str) -> str:
    """What may be shown of a notification URL: its scheme only."""
    scheme = url.split("://", 1)[0] if "://" in url else "url"
    return f"{scheme}://***"


@dataclass(frozen=True)
class Rule:
    urls: tuple[str, ...]
    kinds: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()

    def wants(self, change: dict[str, Any], text: str) -> bool:
        if self.kinds and change["kind"] not in self.kinds:
            return False
        if self.regions and change.get("region") not in self.regions:
            return False
        if self.sources and change["source"] not in self.sources:
            return False
        haystack = f"{change.get('title') or ''}\n{text}"
        return not self.keywords or any(k in haystack for k in self.keywords)


def parse_rules(raw: Any, where: str) -> list[Rule]:
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise SourceError(f"{where}: field 'notify': must be a list of rules with urls")
    rules = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not (item.keys() & {"urls", "url"}):
            raise SourceError(f"{where}: field 'notify[{i}]': needs urls (Apprise URLs)")
        unknown = set(item) - RULE_KEYS
        if unknown:
            raise SourceError(f"{where}: field 'notify[{i}]': unknown key(s) {sorted(unknown)}")
        urls = item.get("urls", item.get("url"))
        urls = [urls] if isinstance(urls, str) else list(urls or [])
        if not urls or not all(isinstance(u, str) and "://" in u for u in urls):
            raise SourceError(f"{where}: field 'notify[{i}].urls': not Apprise URLs")
        rules.append(
            Rule(
                tuple(urls),
                *(frozenset(_list(item.get(k))) for k in ("kinds", "regions", "sources")),
                tuple(_list(item.get("keywords"))),
            )
        )
    return rules


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in ([value] if isinstance(value, str) else value)]


def load_rules(sources_path: str | Path, source: str) -> list[Rule]:
    """The rules that apply to ``source``: the global ones and the source's own."""
    data = yaml.safe_load(Path(sources_path).read_text(encoding="utf-8")) or {}
    rules = parse_rules(data.get("notify"), f"{sources_path}: notify")
    for entry in data.get("sources") or []:
        if isinstance(entry, dict) and entry.get("name") == source:
            rules += parse_rules(entry.get("notify"), f"{sources_path}: source {source!r}")
    return rules


@dataclass
class Digest:
    title: str
    lines: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n".join(self.lines)


def build_digest(source_title: str, changes: list[dict[str, Any]], base_url: str) -> Digest:
    counts: dict[str, int] = {}
    for c in changes:
        counts[c["kind"]] = counts.get(c["kind"], 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    digest = Digest(f"govwatch: {summary} — {source_title}")
    for c in changes:
        region = f" [{c['region']}]" if c.get("region") else ""
        digest.lines.append(f"• {c['kind']}: {c['title'] or c['url']}{region}")
        digest.lines.append(f"  {c['summary']}")
        digest.lines.append(f"  {base_url.rstrip('/')}/change/{c['id']}")
    return digest


def send(url: str, title: str, body: str, retries: int, pause: float) -> tuple[bool, str]:
    """Send through Apprise, retrying; ``(delivered, error)`` with the URL never in the error."""
    import apprise

    apobj = apprise.Apprise()
    if not apobj.add(url):
        return False, f"{mask(url)} is not a valid Apprise URL"
    for attempt in range(1, retries + 1):
        if apobj.notify(title=title, body=body):
            return True, ""
        if attempt < retries:
            time.sleep(pause * attempt)
    return False, f"{mask(url)} not delivered after {retries} attempts"


def notify_run(
    store: VersionStore,
    *,
    run_id: int,
    source: str,
    source_title: str,
    rules: list[Rule],
    base_url: str,
    retries: int = 3,
    pause: float = 1.0,
) -> int:
    """Queue and send the digests of run ``run_id``; returns how many were delivered."""
    logging.getLogger("apprise").setLevel(logging.WARNING)  # it may log URLs at debug level
    changes = [c for c in store.changes(source=source) if c["run_id"] == run_id]
    for rule in rules:
        chosen = [
            c for c in changes if rule.wants(c, store.version(c["version_id"])["norm_text"] or "")
        ]
        if not chosen:
            continue
        digest = build_digest(source_title, chosen, base_url)
        for url in rule.urls:
            store.queue_notification(
                run_id=run_id,
                source=source,
                target=mask(url),
                url_hash=_hash(url),
                title=digest.title,
                body=digest.body,
            )
    urls = {_hash(u): u for rule in rules for u in rule.urls}
    delivered = 0
    for row in store.unsent_notifications(source, MAX_ATTEMPTS):
        url = urls.get(row["url_hash"])
        if url is None:  # its rule was removed from the configuration
            store.notification_result(row["id"], False, "no longer configured")
            continue
        ok, error = send(url, row["title"], row["body"], retries, pause)
        store.notification_result(row["id"], ok, error)
        if ok:
            delivered += 1
            logger.info(
                "Notification %(id)s sent to %(target)s", {"id": row["id"], "target": row["target"]}
            )
        else:
            logger.error(
                "Notification %(id)s failed: %(error)s (will retry after the next run)",
                {"id": row["id"], "error": error},
            )
    return delivered


def _hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()

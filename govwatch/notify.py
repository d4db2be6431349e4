"""Notifications: one digest per run of what is new or changed, through Apprise.

Rules come from ``sources.yaml``: a top-level ``notify:`` list (every source) and a source's
own ``notify:`` list. Each rule has ``urls`` (Apprise URLs: dingtalk://, wecombot://,
feishu://, mailto://, json://, ...) and optional filters ``kinds``, ``regions``, ``sources``
and ``keywords`` (notify only when the new text or title contains one of them).

The first crawl of a source is a baseline: each rule gets one short "now watching N documents"
message instead of the backlog (``baseline: notify`` in a rule sends the backlog as before).
Each digest lists the changed documents with their changed sentences, split into messages that
fit the target (DingTalk robots take 20,000 bytes of text; WeCom robots 2,048 bytes of text,
the message type Apprise sends them, 4,096 for markdown; Feishu/Lark robots a 20 KB request;
mail is not limited here), each ending with a link to the full list in the web UI.

A digest is recorded in the ``notifications`` table before it is sent, retried
NOTIFY_RETRIES times with a growing pause, and a failed one stays ``failed`` and is tried again
after the next run of its source: never lost silently, never failing the crawl. URLs carry
secrets (tokens, passwords): logs and the database only ever show ``scheme://***``.

``NotifyExtension`` is the Scrapy extension (enabled in ``crawler.settings``) that sends the
digests of a crawl's run when the spider closes, after the version pipeline has closed the run;
rules are parsed by ``crawler.sources``. This is an application surface: the crawl's pipelines
never import it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.sources import Rule, load_rules
from storage import VersionStore

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10  # a failed digest is retried after later runs until this many attempts


def mask(url: str) -> str:
    """What may be shown of a notification URL: its scheme only."""
    scheme = url.split("://", 1)[0] if "://" in url else "url"
    return f"{scheme}://***"


@dataclass
class Digest:
    title: str
    lines: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n".join(self.lines)


SENTENCES_PER_CHANGE = 3  # changed sentences quoted per document in a digest
SENTENCE_CHARS = 120
# bytes of title + body a message may take, by Apprise URL scheme (documented robot limits,
# less a margin for the JSON around them)
LIMITS = {"dingtalk": 19_000, "wecombot": 1_900, "feishu": 18_000, "lark": 18_000}
DEFAULT_LIMIT = 60_000
MAX_PARTS = 5


def build_digest(
    source_title: str, changes: list[dict[str, Any]], base_url: str,
    diffs: dict[int, list[dict]] | None = None,
) -> Digest:  # fmt: skip
    """The digest of ``changes``: each with its summary, up to SENTENCES_PER_CHANGE changed
    sentences (``diffs``: change id -> diff ops) and its link."""
    counts: dict[str, int] = {}
    for c in changes:
        counts[c["kind"]] = counts.get(c["kind"], 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    digest = Digest(f"govwatch: {summary} — {source_title}")
    for c in changes:
        region = f" [{c['region']}]" if c.get("region") else ""
        digest.lines.append(f"• {c['kind']}: {c['title'] or c['url']}{region}")
        if c.get("parent"):  # an attachment: name the file and the page that links to it
            kind = (c.get("content_type") or "").rpartition("/")[2]
            digest.lines.append(f"  附件 attachment ({kind}) of {c['parent']}")
        digest.lines.append(f"  {c['summary']}")
        quoted = 0
        for op in (diffs or {}).get(c["id"], []):
            for mark, sentences in (("-", op["old"]), ("+", op["new"])):
                for sentence in sentences:
                    if quoted < 2 * SENTENCES_PER_CHANGE:
                        digest.lines.append(f"  {mark} {_short(sentence)}")
                        quoted += 1
        digest.lines.append(f"  {base_url.rstrip('/')}/change/{c['id']}")
    return digest


def baseline_digest(source: str, source_title: str, documents: int, base_url: str) -> Digest:
    return Digest(
        f"govwatch: now watching {documents} documents — {source_title}",
        [
            f"首次抓取 First crawl of {source_title}: {documents} documents recorded as the "
            "baseline; from now on you hear of what is new, changed or removed.",
            f"{base_url.rstrip('/')}/?source={source}",
        ],
    )


def split_digest(digest: Digest, limit: int, full_list: str) -> list[Digest]:
    """``digest`` as messages of at most ``limit`` bytes (UTF-8, title and body), cut between
    documents (a "•" line starts one), at most MAX_PARTS of them, each ending with a link to
    the full list; what does not fit is counted in the last."""
    if len((digest.title + digest.body).encode()) <= limit:
        return [digest]
    items: list[list[str]] = []
    for line in digest.lines:
        if line.startswith("•") or not items:
            items.append([])
        items[-1].append(line)
    footer = f"全部 full list: {full_list}"
    parts: list[list[str]] = [[]]
    for item in items:
        text = "\n".join(item)
        if len(text.encode()) > limit // 2:  # one huge entry: shortened to fit
            text = text.encode()[: limit // 2].decode("utf-8", "ignore") + "…"
        candidate = "\n".join([*parts[-1], text, footer])
        if parts[-1] and len((digest.title + candidate).encode()) + 16 > limit:
            parts.append([])
        parts[-1].append(text)
    shown = parts[:MAX_PARTS]
    left = sum(len(p) for p in parts[MAX_PARTS:])
    out = []
    for n, part in enumerate(shown, 1):
        lines = list(part)
        if n == len(shown) and left:
            lines.append(f"… {left} more")
        lines.append(footer)
        out.append(Digest(f"{digest.title} ({n}/{len(shown)})", lines))
    return out


def limit_for(url: str) -> int:
    return LIMITS.get(url.split("://", 1)[0].lower(), DEFAULT_LIMIT)


def _short(sentence: str) -> str:
    return sentence if len(sentence) <= SENTENCE_CHARS else sentence[: SENTENCE_CHARS - 1] + "…"


HEALTH_KINDS = frozenset({"failing", "recovered"})


def health_digest(
    store: VersionStore, run_id: int, source: str, source_title: str, base_url: str
) -> Digest | None:
    """One message when a source starts failing and one when it recovers; none in between."""
    now, before = store.health(source), store.health(source, before=run_id)
    run = store.run(run_id)
    if now["failing"] and now["failed_runs"] == 1:
        digest = Digest(f"govwatch: {source_title} stopped working ({now['reason']})")
        for e in reversed(store.errors(run_id, limit=5)):
            digest.lines.append(f"• {e['kind']}: {e['url'] or ''} {e['message']}")
        digest.lines.append(f"  Run {run_id}: govwatch runs --source {source} --errors")
        digest.lines.append(f"  {base_url.rstrip('/')}/")
        return digest
    if not now["failing"] and run["outcome"] == "ok" and before["failing"]:
        return Digest(
            f"govwatch: {source_title} works again",
            [
                f"• recovered after {before['failed_runs']} failed run(s) since "
                f"{before['failing_since']} ({before['reason']})",
                f"  Run {run_id}: {run['pages']} pages, {run['new']} new, {run['changed']} changed",
            ],
        )
    return None


def queue_health(
    store: VersionStore,
    *,
    run_id: int,
    source: str,
    source_title: str,
    rules: list[Rule],
    base_url: str,
) -> int:
    """Queue the failing/recovered message of this run (sent with the run's digests)."""
    digest = health_digest(store, run_id, source, source_title, base_url)
    if digest is None:
        return 0
    urls = sorted({u for r in rules if not r.kinds or r.kinds & HEALTH_KINDS for u in r.urls})
    _queue(store, run_id, source, urls, digest)
    return len(urls)


def _queue(
    store: VersionStore, run_id: int, source: str, urls: list[str] | tuple[str, ...],
    digest: Digest, full_list: str = "",
) -> None:  # fmt: skip
    """Record ``digest`` for each URL before anything is sent, split to fit the URL's target:
    never lost, only ever masked."""
    for url in urls:
        for part in split_digest(digest, limit_for(url), full_list):
            store.queue_notification(
                run_id=run_id, source=source, target=mask(url), url_hash=_hash(url),
                title=part.title, body=part.body,
            )  # fmt: skip


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
    every = store.changes(source=source)
    changes = [c for c in every if c["run_id"] == run_id]
    first_crawl = bool(changes) and all(c["run_id"] == run_id for c in every)
    full_list = f"{base_url.rstrip('/')}/?source={source}"
    diffs = {c["id"]: store.change(c["id"])["diff"] for c in changes if c["kind"] == "changed"}
    for rule in rules:
        chosen = [
            c for c in changes if rule.wants(c, store.version(c["version_id"])["norm_text"] or "")
        ]
        if not chosen:
            continue
        if first_crawl and rule.baseline != "notify":
            digest = baseline_digest(source, source_title, len(changes), base_url)
        else:
            digest = build_digest(source_title, chosen, base_url, diffs)
        _queue(store, run_id, source, rule.urls, digest, full_list)
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


class NotifyExtension:
    """Sends the run's digests when the spider closes; a failure never fails the crawl."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("NOTIFY_ENABLED"):
            raise NotConfigured
        return cls(crawler)

    def spider_closed(self, spider: Any, reason: str) -> None:
        s = self.crawler.settings
        run_id = self.crawler.stats.get_value("govwatch/run_id")
        source = getattr(spider, "source", None)
        if run_id is None or source is None:
            return
        try:
            store = VersionStore(s.get("VERSIONS_DB_PATH"))
        except Exception:  # a notification problem never fails the crawl
            logger.exception("Notifications of run %(run)s failed", {"run": run_id})
            return
        try:
            after_run(
                store,
                s.get("SOURCES_FILE"),
                source,
                run_id,
                base_url=s.get("NOTIFY_BASE_URL"),
                retries=s.getint("NOTIFY_RETRIES"),
                pause=s.getfloat("NOTIFY_RETRY_PAUSE"),
            )
        finally:
            store.close()


def after_run(
    store: VersionStore,
    sources_path: str | Path,
    source: Any,
    run_id: int,
    *,
    base_url: str | None,
    retries: int = 3,
    pause: float = 1.0,
) -> None:
    """A run's digests and health alerts, by the rules of ``sources_path`` (the crawl's own
    extension and the cluster's writer both call this); a failure is logged, never raised."""
    try:
        rules = load_rules(sources_path, source.name)
        common = {"run_id": run_id, "source": source.name, "source_title": source.title,
                  "rules": rules, "base_url": base_url}  # fmt: skip
        if rules:
            queue_health(store, **common)
        if rules or store.unsent_notifications(source.name, 1):
            notify_run(store, **common, retries=retries, pause=pause)
    except Exception:  # a notification problem never fails the crawl
        logger.exception("Notifications of run %(run)s failed", {"run": run_id})

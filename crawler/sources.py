"""The source registry: ``sources.yaml`` loaded and validated into ``Source`` objects.

Every problem is reported as one ``SourceError`` whose message names the file, the source and
the field, so a bad edit is fixed from one line of output. Unknown keys that look like a typo
of a known one are errors; other unknown keys are kept in ``Source.extra`` for later features.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
EVERY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
EVERY_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
KNOWN_CATEGORIES = ("work_report", "investment_news", "policy", "notice", "news", "other")
KNOWN_KEYS = (
    "name",
    "title",
    "region",
    "category",
    "start_urls",
    "links",
    "next_page",
    "pages",
    "content",
    "schedule",
    "settings",
    "ignore",
    "enabled",
    "max_pages",
    "timeout",
    "notify",
)
SCHEDULE_KEYS = {"every", "cron", "timezone", "jitter"}  # fmt: skip


class SourceError(ValueError):
    """The sources file is missing, not YAML, or a source in it is invalid."""


@dataclass(frozen=True)
class Selector:
    """A CSS or XPath expression, with optional URL filters for links."""

    css: str | None = None
    xpath: str | None = None
    allow: str | None = None
    deny: str | None = None

    def select(self, node: Any) -> Any:
        return node.css(self.css) if self.css else node.xpath(self.xpath)


@dataclass(frozen=True)
class Pages:
    template: str
    first: int
    last: int

    def urls(self) -> list[str]:
        return [self.template.format(n=n) for n in range(self.first, self.last + 1)]


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    region: str
    category: str
    start_urls: tuple[str, ...]
    links: Selector
    next_page: Selector | None = None
    pages: Pages | None = None
    content: Selector | None = None
    schedule: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    enabled: bool = True
    max_pages: int | None = None
    timeout: float | None = None  # seconds a scheduled crawl may take before it is stopped
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def interval_seconds(self) -> float | None:
        every = self.schedule.get("every")
        return parse_every(every) if every is not None else None

    def as_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "region": self.region,
            "category": self.category,
        }


def parse_every(value: str | int | float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError("must be positive")
        return float(value)
    m = EVERY_RE.match(str(value))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{value!r} is not a duration like 30s, 15m, 6h or 1d")
    return float(m.group(1)) * EVERY_UNITS[m.group(2)]


class _Checker:
    """Validates one source's mapping; every failure names the source and the field."""

    def __init__(self, path: str, index: int, raw: dict[str, Any]) -> None:
        name = raw.get("name")
        label = f"source {name!r}" if isinstance(name, str) else f"source #{index + 1}"
        self.where = f"{path}: {label}"
        self.raw = raw

    def fail(self, fld: str, problem: str) -> SourceError:
        return SourceError(f"{self.where}: field '{fld}': {problem}")

    def text(self, fld: str, required: bool = True) -> str | None:
        value = self.raw.get(fld)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(fld, "is required and must be a non-empty string")
        return value.strip()

    def selector(self, fld: str, allow_filters: bool) -> Selector | None:
        value = self.raw.get(fld)
        if value is None:
            return None
        if isinstance(value, str):
            value = {"xpath": value} if value.lstrip().startswith(("/", "(")) else {"css": value}
        if not isinstance(value, dict):
            raise self.fail(fld, "must be a mapping such as {css: 'ul.list a'} or {xpath: ...}")
        keys = {"css", "xpath"} | ({"allow", "deny"} if allow_filters else set())
        unknown = set(value) - keys
        if unknown:
            raise self.fail(fld, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(keys)}")
        if ("css" in value) == ("xpath" in value):
            raise self.fail(fld, "needs exactly one of 'css' or 'xpath'")
        sel = Selector(**{k: str(v) for k, v in value.items()})
        self._check_expression(fld, sel)
        for key in ("allow", "deny"):
            pattern = getattr(sel, key)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise self.fail(f"{fld}.{key}", f"bad regular expression: {exc}") from None
        return sel

    def _check_expression(self, fld: str, sel: Selector) -> None:
        from parsel import Selector as Doc

        try:
            sel.select(Doc(text="<html><body></body></html>"))
        except Exception as exc:  # parsel raises several types for a bad expression
            kind = "css" if sel.css else "xpath"
            raise self.fail(f"{fld}.{kind}", f"invalid expression: {exc}") from None


def _check_urls(c: _Checker, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise c.fail("start_urls", "must be a non-empty list of http(s) URLs")
    for url in value:
        parsed = urlparse(str(url))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise c.fail("start_urls", f"{url!r} is not an http(s) URL")
    return tuple(str(u) for u in value)


def _check_pages(c: _Checker, value: Any) -> Pages | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "template" not in value:
        raise c.fail("pages", "must be {template: '.../index_{n}.html', first: 1, last: 5}")
    template = str(value["template"])
    if "{n}" not in template:
        raise c.fail("pages.template", "must contain {n}")
    try:
        first, last = int(value.get("first", 1)), int(value["last"])
    except (KeyError, TypeError, ValueError):
        raise c.fail("pages", "first and last must be whole numbers (last is required)") from None
    if last < first:
        raise c.fail("pages.last", f"{last} is before first ({first})")
    return Pages(template, first, last)


def _check_schedule(c: _Checker, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not ({"every", "cron"} & set(value)):
        raise c.fail("schedule", "must be {every: '6h'} or {cron: '0 7 * * *'}")
    if "every" in value and "cron" in value:
        raise c.fail("schedule", "give either 'every' or 'cron', not both")
    unknown = set(value) - SCHEDULE_KEYS
    if unknown:
        raise c.fail(
            "schedule", f"unknown key(s) {sorted(unknown)}; allowed: {sorted(SCHEDULE_KEYS)}"
        )
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(str(value.get("timezone", "Asia/Shanghai")))
    except (KeyError, ValueError):
        raise c.fail("schedule.timezone", f"unknown time zone {value['timezone']!r}") from None
    jitter = value.get("jitter", 0)
    if not isinstance(jitter, int | float) or isinstance(jitter, bool) or jitter < 0:
        raise c.fail("schedule.jitter", "must be a number of seconds, 0 or more")
    if "every" in value:
        try:
            parse_every(value["every"])
        except ValueError as exc:
            raise c.fail("schedule.every", str(exc)) from None
    else:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(
                str(value["cron"]), timezone=value.get("timezone", "Asia/Shanghai")
            )
        except (ValueError, LookupError) as exc:
            raise c.fail("schedule.cron", f"{value['cron']!r}: {exc}") from None
    return dict(value)


def _check_settings(c: _Checker, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise c.fail("settings", "must be a mapping of Scrapy settings, e.g. {DOWNLOAD_DELAY: 2}")
    for key in value:
        if not isinstance(key, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise c.fail("settings", f"{key!r} is not a Scrapy setting name (UPPER_CASE)")
    return dict(value)


def _check_ignore(c: _Checker, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise c.fail("ignore", "must be a list of regular expressions")
    for pattern in value:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise c.fail("ignore", f"bad regular expression {pattern!r}: {exc}") from None
    return tuple(str(p) for p in value)


def parse_source(raw: Any, index: int = 0, path: str = "sources.yaml") -> Source:
    if not isinstance(raw, dict):
        raise SourceError(f"{path}: source #{index + 1}: must be a mapping of fields")
    c = _Checker(path, index, raw)
    for key in raw:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1, cutoff=0.75)
            if close:
                raise c.fail(str(key), f"unknown field (did you mean '{close[0]}'?)")
    name = c.text("name")
    from crawler.notify import parse_rules  # here: crawler.notify uses SourceError

    parse_rules(raw.get("notify"), c.where)
    if not NAME_RE.match(name):
        raise c.fail("name", f"{name!r} must be an ASCII slug: a-z, 0-9, '_' or '-'")
    title, region = c.text("title"), c.text("region")  # checked in the documented order
    category = c.text("category")
    if not CATEGORY_RE.match(category):
        raise c.fail("category", f"{category!r} must be a slug such as {KNOWN_CATEGORIES}")
    links = c.selector("links", allow_filters=True)
    if links is None:
        raise c.fail("links", "is required: {css: ...} or {xpath: ...} for document links")
    max_pages = raw.get("max_pages")
    if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
        raise c.fail("max_pages", "must be a positive whole number")
    timeout = raw.get("timeout")
    if timeout is not None:
        try:
            timeout = parse_every(timeout)
        except ValueError as exc:
            raise c.fail("timeout", str(exc)) from None
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise c.fail("enabled", "must be true or false")
    return Source(
        name=name,
        title=title,
        region=region,
        category=category,
        start_urls=_check_urls(c, raw.get("start_urls")),
        links=links,
        next_page=c.selector("next_page", allow_filters=False),
        pages=_check_pages(c, raw.get("pages")),
        content=c.selector("content", allow_filters=False),
        schedule=_check_schedule(c, raw.get("schedule")),
        settings=_check_settings(c, raw.get("settings")),
        ignore=_check_ignore(c, raw.get("ignore")),
        enabled=enabled,
        max_pages=max_pages,
        timeout=timeout,
        extra={k: v for k, v in raw.items() if k not in KNOWN_KEYS},
    )


def parse_sources(data: Any, path: str = "sources.yaml") -> dict[str, Source]:
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SourceError(f"{path}: must be a mapping with a 'sources:' list")
    from crawler.notify import parse_rules

    parse_rules(data.get("notify"), f"{path}: notify")
    sources: dict[str, Source] = {}
    for i, raw in enumerate(data["sources"]):
        source = parse_source(raw, i, path)
        if source.name in sources:
            raise SourceError(f"{path}: source {source.name!r}: field 'name': duplicate name")
        sources[source.name] = source
    return sources


def load_sources(path: str | Path) -> dict[str, Source]:
    """Load and validate ``path``; raises ``SourceError`` with one readable line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"{path}: sources file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read sources file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourceError(f"{path}: not valid YAML{where}: {problem}") from None
    return parse_sources(data, str(path))

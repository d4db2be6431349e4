"""The source registry: ``sources.yaml`` loaded and validated into ``Source`` objects.

Every problem is reported as one ``SourceError`` whose message names the file, the source and
the field, so a bad edit is fixed from one line of output. Unknown keys that look like a typo
of a known one are errors; other unknown keys are kept in ``Source.extra`` for later features.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml

from crawler.source_checks import (
    Checker,
    check_allowed_hosts,
    check_api,
    check_ignore,
    check_pages,
    check_render,
    check_schedule,
    check_settings,
    check_urls,
    parse_rules,
)
from crawler.source_model import Api, Pages, Rule, Selector, Source, SourceError, parse_every

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
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
    "api",
    "render",
    "allowed_hosts",
    "attachments",
    "revisit_max",
)

__all__ = [
    "Api",
    "Pages",
    "Rule",
    "Selector",
    "Source",
    "SourceError",
    "load_rules",
    "load_sources",
    "parse_every",
    "parse_source",
    "parse_sources",
    "parse_sources_text",
]


def parse_source(raw: Any, index: int = 0, path: str = "sources.yaml") -> Source:
    if not isinstance(raw, dict):
        raise SourceError(f"{path}: source #{index + 1}: must be a mapping of fields")
    c = Checker(path, index, raw)
    for key in raw:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1, cutoff=0.75)
            if close:
                raise c.fail(str(key), f"unknown field (did you mean '{close[0]}'?)")
    name = c.text("name")
    parse_rules(raw.get("notify"), c.where)
    if not NAME_RE.match(name):
        raise c.fail("name", f"{name!r} must be an ASCII slug: a-z, 0-9, '_' or '-'")
    title, region = c.text("title"), c.text("region")  # checked in the documented order
    category = c.text("category")
    if not CATEGORY_RE.match(category):
        raise c.fail("category", f"{category!r} must be a slug such as {KNOWN_CATEGORIES}")
    api = check_api(c, raw.get("api"))
    links = c.selector("links", allow_filters=True)
    if links is None and api is None:
        raise c.fail("links", "is required: {css: ...} or {xpath: ...} for document links")
    if links is None and raw.get("start_urls"):
        raise c.fail("links", "start_urls need links: {css: ...} to find document links")
    max_pages = raw.get("max_pages")
    if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
        raise c.fail("max_pages", "must be a positive whole number")
    timeout, revisit_max = (
        _duration(c, raw, k, d) for k, d in (("timeout", None), ("revisit_max", "7d"))
    )
    enabled, attachments = (_flag(c, raw, k) for k in ("enabled", "attachments"))
    return Source(
        name=name,
        title=title,
        region=region,
        category=category,
        start_urls=check_urls(c, raw.get("start_urls")) if not api or "start_urls" in raw else (),
        links=links,
        next_page=c.selector("next_page", allow_filters=False),
        pages=check_pages(c, raw.get("pages")),
        content=c.selector("content", allow_filters=False),
        schedule=check_schedule(c, raw.get("schedule")),
        settings=check_settings(c, raw.get("settings")),
        ignore=check_ignore(c, raw.get("ignore")),
        enabled=enabled,
        max_pages=max_pages,
        timeout=timeout,
        api=api,
        render=check_render(c, raw.get("render")),
        allowed_hosts=check_allowed_hosts(c, raw.get("allowed_hosts")),
        attachments=attachments,
        revisit_max=revisit_max,
        extra={k: v for k, v in raw.items() if k not in KNOWN_KEYS},
    )


def _duration(c: Checker, raw: dict[str, Any], key: str, default: str | None) -> float | None:
    """A duration field (30s, 15m, 6h, 7d or seconds), ``default`` when absent."""
    value = raw.get(key, default)
    if value is None:
        return None
    try:
        return parse_every(value)
    except ValueError as exc:
        raise c.fail(key, str(exc)) from None


def _flag(c: Checker, raw: dict[str, Any], key: str) -> bool:
    """A true/false field, true when absent."""
    value = raw.get(key, True)
    if not isinstance(value, bool):
        raise c.fail(key, "must be true or false")
    return value


def parse_sources(data: Any, path: str = "sources.yaml") -> dict[str, Source]:
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SourceError(f"{path}: must be a mapping with a 'sources:' list")
    parse_rules(data.get("notify"), f"{path}: notify")
    sources: dict[str, Source] = {}
    for i, raw in enumerate(data["sources"]):
        source = parse_source(raw, i, path)
        if source.name in sources:
            raise SourceError(f"{path}: source {source.name!r}: field 'name': duplicate name")
        sources[source.name] = source
    return sources


def parse_sources_text(text: str, path: str = "sources.yaml") -> dict[str, Source]:
    """Validate the text of a sources file (``path`` only names it in messages)."""
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text)):
            # anchors and aliases can expand a few lines into gigabytes ("billion laughs")
            raise SourceError(f"{path}: YAML aliases (*name) are not allowed in a sources file")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourceError(f"{path}: not valid YAML{where}: {problem}") from None
    return parse_sources(data, path)


def load_sources(path: str | Path) -> dict[str, Source]:
    """Load and validate ``path``; raises ``SourceError`` with one readable line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"{path}: sources file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read sources file: {exc}") from None
    return parse_sources_text(text, str(path))


def load_rules(sources_path: str | Path, source: str) -> list[Rule]:
    """The rules that apply to ``source``: the global ones and the source's own."""
    data = yaml.safe_load(Path(sources_path).read_text(encoding="utf-8")) or {}
    rules = parse_rules(data.get("notify"), f"{sources_path}: notify")
    for entry in data.get("sources") or []:
        if isinstance(entry, dict) and entry.get("name") == source:
            rules += parse_rules(entry.get("notify"), f"{sources_path}: source {source!r}")
    return rules

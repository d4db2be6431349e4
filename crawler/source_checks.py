"""Validation of one ``sources.yaml`` field at a time; every failure is one ``SourceError`` line.

Used by ``crawler.sources``; imports only ``crawler.source_model``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from crawler.source_model import (
    RENDER_MODES,
    Api,
    Pages,
    Rule,
    Selector,
    SourceError,
    parse_every,
)

SCHEDULE_KEYS = {"every", "cron", "timezone", "jitter"}  # fmt: skip
API_KEYS = {
    "url", "method", "form", "json", "headers", "items", "link", "title", "date", "pages",
    "total_pages",
}  # fmt: skip
RULE_KEYS = {"urls", "url", "kinds", "regions", "sources", "keywords", "baseline"}


class Checker:
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


def check_urls(c: Checker, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise c.fail("start_urls", "must be a non-empty list of http(s) URLs")
    for url in value:
        parsed = _parse_url(str(url))
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise c.fail("start_urls", f"{url!r} is not an http(s) URL")
    return tuple(str(u) for u in value)


def _parse_url(url: str) -> Any:
    """``urlparse`` that answers None for what it cannot parse (``http://[x]/`` raises)."""
    try:
        return urlparse(url)
    except ValueError:
        return None


def check_pages(c: Checker, value: Any) -> Pages | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "template" not in value:
        raise c.fail("pages", "must be {template: '.../index_{n}.html', first: 1, last: 5}")
    template = str(value["template"])
    if "{n}" not in template:
        raise c.fail("pages.template", "must contain {n}")
    try:
        first_page = template.format(n=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise c.fail("pages.template", f"only {{n}} may be in braces ({exc!r})") from None
    parsed = _parse_url(first_page)
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise c.fail("pages.template", f"{template!r} is not an http(s) URL")
    try:
        first, last = int(value.get("first", 1)), int(value["last"])
    except (KeyError, TypeError, ValueError):
        raise c.fail("pages", "first and last must be whole numbers (last is required)") from None
    if last < first:
        raise c.fail("pages.last", f"{last} is before first ({first})")
    return Pages(template, first, last)


def check_schedule(c: Checker, value: Any) -> dict[str, Any]:
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


# Settings a source may not change: where the run is recorded, and what keeps the crawl polite,
# contained and observable.
FIXED_SETTINGS = {
    "SOURCES_FILE", "VERSIONS_DB_PATH", "VERSIONS_RUN_ID", "VERSIONS_RUN_TRIGGER", "LOG_FILE",
    "SPIDER_LOADER_CLASS", "ITEM_PIPELINES", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES",
    "EXTENSIONS", "DOWNLOAD_HANDLERS", "TWISTED_REACTOR", "ROBOTSTXT_OBEY",
    "REMOTE_CONTROL_ENABLED", "TELNETCONSOLE_ENABLED", "USER_AGENT",
}  # fmt: skip
# name -> (smallest, largest, whole number?)
NUMERIC_SETTINGS = {
    "DOWNLOAD_DELAY": (0, 3600, False),
    "DOWNLOAD_TIMEOUT": (1, 3600, False),
    "CONCURRENT_REQUESTS": (1, 256, True),
    "CONCURRENT_REQUESTS_PER_DOMAIN": (1, 64, True),
    "RETRY_TIMES": (0, 20, True),
    "AUTOTHROTTLE_START_DELAY": (0, 3600, False),
    "AUTOTHROTTLE_MAX_DELAY": (0, 86400, False),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": (0.1, 64, False),
    "DOWNLOAD_MAXSIZE": (1024, 1 << 31, True),
    "ATTACHMENTS_MAX_BYTES": (1024, 1 << 31, True),
    "LIST_MAX_PAGES": (1, 10_000, True),
    "EXTRACT_WORKERS": (0, 16, True),
    "VERSIONS_BATCH": (1, 10_000, True),
    "VERSIONS_BATCH_WAIT": (0, 10, False),
}


def check_settings(c: Checker, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise c.fail("settings", "must be a mapping of Scrapy settings, e.g. {DOWNLOAD_DELAY: 2}")
    for key, setting in value.items():
        if not isinstance(key, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise c.fail("settings", f"{key!r} is not a Scrapy setting name (UPPER_CASE)")
        if key in FIXED_SETTINGS:
            raise c.fail(f"settings.{key}", "cannot be set per source (set it for every crawl)")
        if key in NUMERIC_SETTINGS:
            low, high, whole = NUMERIC_SETTINGS[key]
            number = setting if not isinstance(setting, bool) else None
            if isinstance(number, str):
                try:
                    number = float(number)
                except ValueError:
                    number = None
            if not isinstance(number, int | float) or (whole and number != int(number)):
                kind = "a whole number" if whole else "a number"
                raise c.fail(f"settings.{key}", f"{setting!r} is not {kind}")
            if not low <= number <= high:
                raise c.fail(f"settings.{key}", f"{setting!r} is out of range {low}..{high}")
    return dict(value)


def check_ignore(c: Checker, value: Any) -> tuple[str, ...]:
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
        baseline = item.get("baseline", "summary")
        if baseline not in ("summary", "notify"):
            raise SourceError(
                f"{where}: field 'notify[{i}].baseline': {baseline!r}: use summary (one "
                "'now watching N documents' message on a first crawl) or notify (every document)"
            )
        rules.append(
            Rule(
                tuple(urls),
                *(frozenset(_list(item.get(k))) for k in ("kinds", "regions", "sources")),
                tuple(_list(item.get("keywords"))),
                baseline=baseline,
            )
        )
    return rules


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in ([value] if isinstance(value, str) else value)]


def check_api(c: Checker, value: Any) -> Api | None:
    """The ``api:`` block: a JSON list endpoint, its JMESPath expressions and its pages."""
    if value is None:
        return None
    if not isinstance(value, dict) or "url" not in value:
        raise c.fail("api", "must be a mapping with url, items and link (see README)")
    unknown = set(value) - API_KEYS
    if unknown:
        raise c.fail("api", f"unknown key(s) {sorted(unknown)}; allowed: {sorted(API_KEYS)}")
    url = str(value["url"])
    parsed = _parse_url(url.replace("{page}", "1"))
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise c.fail("api.url", f"{url!r} is not an http(s) URL")
    method = str(value.get("method", "GET")).upper()
    if method not in ("GET", "POST"):
        raise c.fail("api.method", f"{method!r}: use GET or POST")
    form, body = value.get("form"), value.get("json")
    if form is not None and body is not None:
        raise c.fail("api", "give either 'form' or 'json', not both")
    if form is not None:
        if not isinstance(form, dict):
            raise c.fail("api.form", "must be a mapping of form fields")
        form = {str(k): str(v) for k, v in form.items()}
    if (form is not None or body is not None) and method == "GET":
        raise c.fail("api.method", "a form or json body needs method: POST")
    headers = value.get("headers") or {}
    if not isinstance(headers, dict):
        raise c.fail("api.headers", "must be a mapping of header names to values")
    exprs = {}
    for key in ("items", "link", "title", "date", "total_pages"):
        expr = value.get(key)
        if expr is None:
            continue
        exprs[key] = _jmespath(c, f"api.{key}", expr)
    if "items" not in exprs or "link" not in exprs:
        raise c.fail("api", "needs 'items' (JMESPath to the list) and 'link' (to each URL)")
    first, last = _api_pages(c, value.get("pages"))
    return Api(
        url=url,
        method=method,
        form=form,
        json=body,
        headers={str(k): str(v) for k, v in headers.items()},
        first=first,
        last=last,
        **exprs,
    )


def _jmespath(c: Checker, fld: str, expr: Any) -> str:
    import jmespath
    from jmespath.exceptions import JMESPathError

    if not isinstance(expr, str) or not expr.strip():
        raise c.fail(fld, "must be a JMESPath expression such as 'data.list'")
    try:
        jmespath.compile(expr)
    except JMESPathError as exc:
        problem = str(exc).splitlines()[0]
        raise c.fail(fld, f"invalid JMESPath {expr!r}: {problem}") from None
    return expr


def _api_pages(c: Checker, value: Any) -> tuple[int, int | None]:
    if value is None:
        return 1, None
    if not isinstance(value, dict) or set(value) - {"first", "last"}:
        raise c.fail("api.pages", "must be {first: 1, last: 20}")
    first, last = value.get("first", 1), value.get("last")
    for key, number in (("first", first), ("last", last)):
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
            raise c.fail(f"api.pages.{key}", "must be a whole number")
    if first < 0:
        raise c.fail("api.pages.first", "must be 0 or more")
    if last is not None and last < first:
        raise c.fail("api.pages.last", f"{last} is before first ({first})")
    return first, last


def check_render(c: Checker, value: Any) -> str | None:
    if value is None or value is False:
        return None
    if value is True:
        return "list"
    if value not in RENDER_MODES:
        raise c.fail("render", f"{value!r}: use 'list' (list pages) or 'all' (documents too)")
    return str(value)


HOST_RE = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def check_allowed_hosts(c: Checker, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise c.fail("allowed_hosts", "must be a list of host names, e.g. [files.example.gov.cn]")
    hosts = []
    for host in value:
        host = str(host).strip().lower()
        if not HOST_RE.match(host):
            raise c.fail(
                "allowed_hosts", f"{host!r} is not a host name (or *.domain for its subdomains)"
            )
        hosts.append(host)
    return tuple(hosts)

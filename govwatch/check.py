"""``govwatch check NAME``: the dry run of a configured source, writing nothing.

Reads the source's list pages (or endpoint pages) with the same functions the crawl uses
(``spiders.lists``, ``spiders.blocked``), reports the links found on each and how the list is
paged, then extracts the first document as the crawl would. A few requests in all.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from parsel import Selector as Doc

from govwatch.fetch import decode, fetch_url
from pipelines.extractor import extract
from pipelines.text.metadata import date_from_list
from spiders.blocked import challenge_reason
from spiders.lists import (
    ListEntry,
    NotJson,
    api_entries,
    api_total_pages,
    html_links,
    load_json,
    script_pages,
)

if TYPE_CHECKING:
    from crawler.sources import Source

LIST_PAGES = 2  # list pages read per start URL or endpoint
SHOW_LINKS = 5
OPENING_CHARS = 200


def check_source(source: Source) -> dict[str, Any]:
    """What a crawl of ``source`` would find: ``lists`` (per page: url, status, links, first
    links, error), ``document`` (the first one: url, title, published, opening, error), ``ok``."""
    lists: list[dict[str, Any]] = []
    entries: list[ListEntry] = []
    for url in source.start_urls[:3]:
        entries += _html_list(source, url, lists)
    if source.api:
        entries += _api_list(source, lists)
    entries = [e for e in entries if _on_site(source, e.url)]  # as the crawl's off-site guard
    report: dict[str, Any] = {"source": source.name, "lists": lists, "links": len(entries)}
    if source.render:
        report["note"] = (
            f"render: {source.render}: the crawl loads list pages in Chromium; links a script "
            "adds in the browser are not counted here"
        )
    report["document"] = _document(source, entries[0]) if entries else None
    report["ok"] = bool(entries) and not any(p.get("error") for p in lists[:1])
    if report["document"] and report["document"].get("error"):
        report["ok"] = False
    return report


def _on_site(source: Source, url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    return parsed.scheme in ("http", "https") and source.allows(parsed.hostname or "")


def _html_list(source: Source, url: str, lists: list[dict[str, Any]]) -> list[ListEntry]:
    found: list[ListEntry] = []
    for _ in range(LIST_PAGES):
        page: dict[str, Any] = {"url": url}
        lists.append(page)
        doc = _fetch_html(url, page)
        if doc is None:
            break
        links = html_links(doc, url, source.links)
        page.update(links=len(links), first_links=links[:SHOW_LINKS])
        found += [ListEntry(u) for u in links]
        following = []
        if source.next_page:
            following = html_links(doc, url, source.next_page)[:1]
            page["paging"] = "next_page" if following else "next_page: no next link"
        elif source.pages:
            page["paging"] = f"pages: {source.pages.first}..{source.pages.last}"
            following = [u for u in source.pages.urls() if u != url][:1]
        else:
            more = script_pages(doc.get(), url, source.max_pages or 50)
            page["paging"] = f"createPageHTML: {len(more) + 1} pages" if more else "one page"
            following = more[:1]
        if not following:
            break
        url = following[0]
    return found


def _fetch_html(url: str, page: dict[str, Any]) -> Doc | None:
    try:
        got = fetch_url(url)
    except (OSError, ValueError) as exc:
        page["error"] = f"list_http: {exc}"
        return None
    page["status"] = got.status
    blocked = challenge_reason(got.status, got.body)
    if blocked:
        page["error"] = f"blocked: {blocked}"
        return None
    if got.status != 200:
        page["error"] = f"list_http: HTTP {got.status}"
        return None
    try:
        text, _ = decode(got.body, got.url, got.headers)
    except ValueError as exc:
        page["error"] = f"list_http: {exc}"
        return None
    return Doc(text=text)


def _api_list(source: Source, lists: list[dict[str, Any]]) -> list[ListEntry]:
    api = source.api
    found: list[ListEntry] = []
    for number in range(api.first, api.first + LIST_PAGES):
        url = api.page_url(number)
        page: dict[str, Any] = {"url": url, "api_page": number}
        lists.append(page)
        form, body = api.page_body(number)
        data, headers = None, {"Accept": "application/json", **api.headers}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            import json

            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            got = fetch_url(url, method=api.method, data=data, headers=headers)
            page["status"] = got.status
            blocked = challenge_reason(got.status, got.body)
            if blocked or got.status != 200:
                page["error"] = (
                    f"blocked: {blocked}" if blocked else f"list_http: HTTP {got.status}"
                )
                break
            answer = load_json(got.body)
            entries = api_entries(answer, api, url)
        except (OSError, ValueError) as exc:  # NotJson is a ValueError
            kind = "list_http" if isinstance(exc, NotJson | OSError) else "api"
            page["error"] = f"{kind}: {exc}"
            break
        total = api_total_pages(answer, api)
        page.update(links=len(entries), first_links=[e.url for e in entries[:SHOW_LINKS]])
        page["paging"] = f"total_pages: {total}" if total is not None else "until an empty page"
        page["first_items"] = [
            {"title": e.title, "date": e.date} for e in entries[:SHOW_LINKS] if e.title or e.date
        ]
        found += entries
        if not entries or (total is not None and number >= total):
            break
    return found


def _document(source: Source, entry: ListEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"url": entry.url}
    try:
        got = fetch_url(entry.url)
    except (OSError, ValueError) as exc:
        return {**out, "error": f"http: {exc}"}
    blocked = challenge_reason(got.status, got.body)
    if blocked or got.status != 200:
        return {**out, "error": f"blocked: {blocked}" if blocked else f"http: HTTP {got.status}"}
    try:
        text, _ = decode(got.body, got.url, got.headers)
    except ValueError as exc:
        return {**out, "error": f"not_html: {exc}"}
    content = source.content.spec if source.content is not None else None
    result = extract(text, got.url, content=content, ignore=source.ignore)
    if result is None:
        return {**out, "error": "extract: no usable text (check the content selector)"}
    return {
        **out,
        "title": result.title or entry.title,
        "published": result.published or date_from_list(entry.date),
        "opening": result.text[:OPENING_CHARS],
        "chars": len(result.text),
    }

"""Reading list pages as the portals build them: HTML links, JSON endpoints, script pagination.

Pure functions over a page's text or parsed JSON, shared by the spider and by ``govwatch check``
and ``govwatch probe``, so that a dry run sees exactly what a crawl would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

if TYPE_CHECKING:
    from crawler.sources import Api, Selector

SKIP_HREF = ("javascript:", "mailto:", "tel:", "#", "data:")

# createPageHTML('page_div', 22, 1, 'common_list', 'shtml', 325): pages, current (1-based),
# base name, extension, records. The TRS/Hanweb form createPageHTML(22, 0, "index", "html")
# counts from 0 and names page k index_k.html (page 0 is index.html).
_Q = r"""\s*['"]([^'"]*)['"]\s*"""
_N = r"\s*(\d+)\s*"
CREATE_PAGE_NAMED = re.compile(rf"createPageHTML\({_Q},{_N},{_N},{_Q},{_Q}(?:,{_N})?\)")
CREATE_PAGE_TRS = re.compile(rf"createPageHTML\({_N},{_N},{_Q},{_Q}\)")


@dataclass(frozen=True)
class ListEntry:
    """A document link found on a list page, with the list's title and date when it has them."""

    url: str
    title: str | None = None
    date: str | None = None


def html_links(doc: Any, base_url: str, selector: Selector) -> list[str]:
    """Absolute URLs selected on a parsel document (``href`` of elements, or attribute text)."""
    urls = []
    for node in selector.select(doc):
        root = getattr(node, "root", None)
        href = node.attrib.get("href") if not isinstance(root, str) else root
        if href and not href.strip().lower().startswith(SKIP_HREF):
            url = join(base_url, href.strip())
            if url:
                urls.append(url)
    # other schemes (file:, ftp:) are left to the crawl's off-site guard, which counts them
    return [u for u in urls if wanted(u, selector)]


def join(base_url: str, href: str) -> str | None:
    """``href`` made absolute; None for one no URL parser accepts (``http://[x/``), which is
    skipped rather than failing the whole list page."""
    try:
        return urljoin(base_url, href)
    except ValueError:
        return None


def wanted(url: str, selector: Selector) -> bool:
    if selector.allow and not re.search(selector.allow, url):
        return False
    return not (selector.deny and re.search(selector.deny, url))


def script_pages(text: str, url: str, limit: int) -> list[str]:
    """The other pages of a list paged by ``createPageHTML(...)``, at most ``limit`` in all."""
    m = CREATE_PAGE_NAMED.search(text)
    if m:
        pages, base, ext = int(m.group(2)), m.group(4), m.group(5)
        names = [f"{base}_{n}.{ext}" for n in range(2, min(pages, limit) + 1)]
    else:
        m = CREATE_PAGE_TRS.search(text)
        if not m:
            return []
        pages, base, ext = int(m.group(1)), m.group(3), m.group(4)
        names = [f"{base}_{k}.{ext}" for k in range(1, min(pages, limit))]
    return [u for u in (join(url, name) for name in names) if u]


class NotJson(ValueError):
    """An API answer that is not JSON (an HTML error page, a challenge, a truncated body)."""


def load_json(body: bytes | str) -> Any:
    """Parse an endpoint's answer; some portals encode their JSON twice (a JSON string)."""
    text = body.decode("utf-8-sig", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
        if isinstance(data, str) and data.strip()[:1] in ("{", "["):
            data = json.loads(data)
    except ValueError as exc:
        start = text.strip()[:60].replace("\n", " ")
        raise NotJson(f"not JSON ({exc.__class__.__name__}: {exc}); begins {start!r}") from None
    return data


def api_entries(data: Any, api: Api, base_url: str) -> list[ListEntry]:
    """The list items of one endpoint answer, as absolute document URLs with title and date."""
    import jmespath

    items = jmespath.search(api.items, data)
    if items is None:
        return []
    if not isinstance(items, list):
        raise NotJson(f"api.items {api.items!r} is a {type(items).__name__}, not a list")
    entries = []
    for item in items:
        link = jmespath.search(api.link, item)
        if not isinstance(link, str) or not link.strip():
            continue
        link = link.strip()
        url = join(base_url, link)
        if link.lower().startswith(SKIP_HREF) or url is None:
            continue
        title = jmespath.search(api.title, item) if api.title else None
        date = jmespath.search(api.date, item) if api.date else None
        entries.append(
            ListEntry(
                url,
                str(title).strip() if title not in (None, "") else None,
                str(date).strip() if date not in (None, "") else None,
            )
        )
    return entries


def api_total_pages(data: Any, api: Api) -> int | None:
    if not api.total_pages:
        return None
    import jmespath

    value = jmespath.search(api.total_pages, data)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def attachment_links(html: str, base_url: str, content: Selector | None) -> list[tuple[str, str]]:
    """(URL, link text) of the attachments a document page links to: links to PDF, Word, WPS,
    OFD, spreadsheet and text files, inside the source's ``content`` part when it has one."""
    import parsel

    from pipelines.text.files import EXTENSIONS, kind_of

    names = "|".join(re.escape(e) for e in sorted(EXTENSIONS))
    if not re.search(rf"(?:{names})(?![a-z])", html, re.I):
        return []  # no file name anywhere in the page: no need to parse it again
    doc = parsel.Selector(text=html)
    scopes = content.select(doc) if content is not None else [doc]
    found: dict[str, str] = {}
    for scope in scopes:
        if isinstance(getattr(scope, "root", None), str):
            continue  # an attribute or text node: no links inside
        for a in scope.xpath(".//a[@href]"):
            href = a.attrib["href"].strip()
            if not href or href.lower().startswith(SKIP_HREF):
                continue
            url = join(base_url, href)
            if url and url.startswith(("http://", "https://")) and kind_of(url):
                text = " ".join("".join(a.xpath(".//text()").getall()).split())
                found.setdefault(url.split("#")[0], text or a.attrib.get("title", ""))
    return list(found.items())

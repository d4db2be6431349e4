"""``govwatch probe URL``: find a list page's structure and write its ``sources.yaml`` entry.

HTML: the document list is the largest group of links that repeat in the same place (same
ancestors' tags and classes) with titles (or dates beside them); paging is a next link, a
``createPageHTML(...)`` call or page names like ``index_2.html``. JSON (``--api``): the largest
array of objects that carry a link, with the keys holding the title and the date. Then one
document is fetched and the content selector that holds its text is chosen.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any
from urllib.parse import urljoin, urlparse

from lxml import html as lxml_html

from govwatch.fetch import decode, fetch_url
from pipelines.extractor import extract
from spiders.blocked import challenge_reason
from spiders.lists import SKIP_HREF, load_json, script_pages

NEXT_TEXTS = ("下一页", "下页", "后一页", "下一頁", "next", "Next", ">", "›", "»")
PAGE_NAME = re.compile(r"^(.*?[_-])(\d+)(\.s?html?)$")
DATE = re.compile(r"(?:19|20)\d{2}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Body containers of the portals' CMSs (Hanweb/UCAP, TRS, common themes), most specific first.
CONTENT_CANDIDATES = (
    "#UCAP-CONTENT", "ucapcontent", ".article-content", ".TRS_Editor", ".TRS_UEDITOR",
    "#zoom", ".Custom_UnionStyle", ".article", "#content", ".content", "article",
)  # fmt: skip
MIN_TITLE = 5
LINK = re.compile(r"^(https?://|/|\.\./|\./)?[\w./-]+\.(s?html?|jsp|php|aspx?)\b")
PAGE_PARAM = re.compile(
    r"([?&](?:curr_?page|current_?page|page_?no|page_?num|page_?index|page)=)(\d+)", re.I
)


class ProbeError(ValueError):
    """The page cannot be probed (unreachable, blocked, not a list)."""


def probe(url: str, api: bool = False) -> dict[str, Any]:
    got = fetch_url(url)
    blocked = challenge_reason(got.status, got.body)
    if blocked:
        raise ProbeError(f"{url}: blocked: {blocked}; govwatch does not get past such gateways")
    if got.status != 200:
        raise ProbeError(f"{url}: HTTP {got.status}")
    found = _probe_api(got.body, got.url) if api else _probe_html(got.body, got.url, got.headers)
    if found["links"]:
        found["document"] = _probe_document(found["links"][0]["url"])
    found["entry"] = _entry(url, found)
    return found


# -- HTML lists ---------------------------------------------------------------------------------


def _probe_html(body: bytes, url: str, headers: dict[str, str]) -> dict[str, Any]:
    text, encoding = decode(body, url, headers)
    tree = lxml_html.document_fromstring(text)
    groups: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    for a in tree.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.lower().startswith(SKIP_HREF):
            continue
        groups[_path(a)].append(a)
    best, best_score = None, 0.0
    for path, anchors in groups.items():
        titled = [a for a in anchors if _is_item(a)]
        dated = sum(1 for a in titled if DATE.search(_row_text(a)))
        score = len(titled) + 0.5 * dated
        if (len(titled) >= 2 or dated) and score > best_score:
            best, best_score = path, score
    if best is None:
        raise ProbeError(f"{url}: no group of repeated links with titles found")
    anchors = [a for a in groups[best] if _is_item(a)]
    links = [
        {
            "url": urljoin(url, a.get("href").strip()),
            "title": _title(a),
            "date": (DATE.search(_row_text(a)) or [None])[0],
        }
        for a in anchors
    ]
    found: dict[str, Any] = {"kind": "html", "url": url, "encoding": encoding}
    found["links_css"] = " ".join(best[-3:])
    found["links"] = links
    found["paging"] = _paging(tree, text, url)
    return found


def _path(node: Any, depth: int = 4) -> tuple[str, ...]:
    """``('div.news', 'ul.list', 'li', 'a')``: tags with their first class, nearest last."""
    parts = []
    while node is not None and len(parts) < depth and isinstance(node.tag, str):
        cls = (node.get("class") or "").split()
        ident = node.get("id")
        if ident and re.fullmatch(r"[A-Za-z][\w-]*", ident):
            parts.append(f"{node.tag}#{ident}")
        elif cls and re.fullmatch(r"-?[A-Za-z_][\w-]*", cls[0]):
            parts.append(f"{node.tag}.{cls[0]}")
        else:
            parts.append(node.tag)
        node = node.getparent()
    return tuple(reversed(parts))


def _title(a: Any) -> str:
    return (a.get("title") or a.text_content() or "").strip()


def _is_item(a: Any) -> bool:
    title = _title(a)
    return len(title) >= MIN_TITLE and (bool(CJK.search(title)) or len(title) >= 15)


def _row_text(a: Any) -> str:
    parent = a.getparent()
    return parent.text_content() if parent is not None else ""


def _paging(tree: Any, text: str, url: str) -> dict[str, Any]:
    more = script_pages(text, url, 1000)
    if more:
        return {"kind": "createPageHTML", "pages": len(more) + 1, "second": more[0]}
    for a in tree.iter("a"):
        label = (a.text_content() or "").strip()
        if label in NEXT_TEXTS and a.get("href") and not a.get("href").startswith(SKIP_HREF):
            return {"kind": "next_page", "text": label, "second": urljoin(url, a.get("href"))}
    names = []
    for a in tree.iter("a"):
        target = urljoin(url, (a.get("href") or "").strip())
        m = PAGE_NAME.match(urlparse(target).path.rsplit("/", 1)[-1])
        if m and urlparse(target).path.rsplit("/", 1)[0] == urlparse(url).path.rsplit("/", 1)[0]:
            names.append((int(m.group(2)), target, m))
    if names:
        last, target, m = max(names)
        template = target[: target.rindex(m.group(0))] + f"{m.group(1)}{{n}}{m.group(3)}"
        return {"kind": "pages", "template": template, "last": last, "second": min(names)[1]}
    return {"kind": "none"}


# -- JSON endpoints ---------------------------------------------------------------------------


def _probe_api(body: bytes, url: str) -> dict[str, Any]:
    data = load_json(body)
    best: tuple[int, str, list[dict[str, Any]]] | None = None
    for path, value in _arrays(data, ""):
        objects = [v for v in value if isinstance(v, dict)]
        if objects and _link_key(objects) and (best is None or len(objects) > best[0]):
            best = (len(objects), path, objects)
    if best is None:
        raise ProbeError(f"{url}: no array of items with links in the JSON answer")
    _, path, objects = best
    link = _link_key(objects)
    title = _key_where(objects, lambda v: isinstance(v, str) and bool(CJK.search(v)), len)
    date = _key_where(objects, lambda v: isinstance(v, str) and bool(DATE.search(v)), None)
    total = next((p for p, v in _scalars(data, "") if re.search(r"total_?page", p, re.I)), None)
    links = [
        {"url": urljoin(url, str(o.get(link))), "title": o.get(title), "date": o.get(date)}
        for o in objects
        if o.get(link)
    ]
    return {
        "kind": "api",
        "url": url,
        "api": {"items": path or "@", "link": link, "title": title, "date": date},
        "total_pages": total,
        "links": links,
        "paging": {"kind": "api"},
    }


def _arrays(value: Any, path: str) -> list[tuple[str, list[Any]]]:
    out = []
    if isinstance(value, list):
        out.append((path, value))
    elif isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                out += _arrays(inner, f"{path}.{key}" if path else key)
    return out


def _scalars(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [
            item
            for key, inner in value.items()
            if isinstance(key, str)
            for item in _scalars(inner, f"{path}.{key}" if path else key)
        ]
    return [(path, value)] if not isinstance(value, list) else []


def _link_key(objects: list[dict[str, Any]]) -> str | None:
    def is_link(v: Any) -> bool:
        return isinstance(v, str) and bool(
            re.match(r"^(https?://|/|\.\./|\./)?[\w./-]+\.s?html?", v)
        )

    return _key_where(objects, is_link, None)


def _key_where(objects: list[dict[str, Any]], test: Any, rank: Any) -> str | None:
    counts: dict[str, list[int]] = defaultdict(list)
    for o in objects:
        for key, value in o.items():
            if test(value):
                counts[key].append(rank(value) if rank else 1)
    if not counts:
        return None
    return max(counts, key=lambda k: (len(counts[k]), sum(counts[k])))


# -- documents and the entry ------------------------------------------------------------------


def _probe_document(url: str) -> dict[str, Any]:
    try:
        got = fetch_url(url)
        text, _ = decode(got.body, got.url, got.headers)
    except (OSError, ValueError) as exc:
        return {"url": url, "error": str(exc)}
    tree = lxml_html.document_fromstring(text)
    content = None
    for css in CONTENT_CANDIDATES:
        nodes = tree.cssselect(css)
        if nodes and len(nodes[0].text_content().strip()) >= 50:
            content = css
            break
    result = extract(text, got.url, content=("css", content) if content else None)
    out: dict[str, Any] = {"url": url, "content": content}
    if result is not None:
        out.update(title=result.title, published=result.published, opening=result.text[:120])
    return out


def _entry(url: str, found: dict[str, Any]) -> dict[str, Any]:
    """A ``sources.yaml`` entry; name, region and category are left for the user."""
    host = (urlparse(url).hostname or "").split(".")
    named = [p for p in host if p not in ("www", "gov", "cn", "com", "org", "net") and p.isalpha()]
    slug = re.sub(r"[^a-z0-9_]", "_", named[0].lower()) if named else "site"
    entry: dict[str, Any] = {
        "name": f"{slug}_CHANGE_ME",
        "title": "CHANGE ME",
        "region": "CHANGE ME",
        "category": "CHANGE ME",
    }
    if found["kind"] == "api":
        paged = PAGE_PARAM.sub(lambda m: m.group(1) + "{page}", url, count=1)
        api = {"url": paged, **{k: v for k, v in found["api"].items() if v}}
        if found.get("total_pages"):
            api["total_pages"] = found["total_pages"]
        entry["api"] = api
    else:
        entry["start_urls"] = [url]
        entry["links"] = {"css": found["links_css"]}
        paging = found["paging"]
        if paging["kind"] == "next_page":
            entry["next_page"] = {"xpath": f"//a[normalize-space(.)='{paging['text']}']"}
        elif paging["kind"] == "pages":
            entry["pages"] = {"template": paging["template"], "first": 1, "last": paging["last"]}
    doc = found.get("document") or {}
    if doc.get("content"):
        entry["content"] = doc["content"]
    entry["schedule"] = {"every": "6h"}
    return entry

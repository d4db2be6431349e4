"""Chinese metadata rules: publication dates and titles.

Dates come, in order of trust, from a meta line on the page ("时间: 2019-01-30 14:36",
"发布日期：2023年01月05日"), from the HTML meta tags trafilatura reads, from the title
("(2025年1月6日)", "(20230105)"), and from the text's opening ("2019年1月8日在…会议上").
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

_Y, _M, _D = r"((?:19|20)\d{2})", r"(\d{1,2})", r"(\d{1,2})"
_DATE = rf"{_Y}\s*[-年/.]\s*{_M}\s*[-月/.]\s*{_D}\s*日?"
META_DATE = re.compile(
    r"(?:发布时间|发布日期|发文日期|成文日期|印发日期|更新时间|时间|日期)\s*[:：]\s*" + _DATE
)
TITLE_DATE = re.compile(r"[(（]\s*" + _DATE + r"\s*[)）]|[(（]((?:19|20)\d{2})(\d{2})(\d{2})[)）]")
OPENING_DATE = re.compile(r"^\W{0,6}" + _DATE + r"\s*(?:在|于)")
ISSUER = re.compile(
    r"(?:来源|发布机构|信息来源|文章来源)\s*[:：]\s*([^\s:：|]{2,30}?)"
    r"(?=\s|访问量|浏览|点击|作者|$)",
    re.M,
)
COMMERCE_TAG = re.compile(r"\s*(VIP免费|VIP专享|免费下载|付费下载|精品文档|原创)\s*$")
TITLE_TAG = re.compile(r"^\s*【([^】]{1,20})】\s*")
SITE_SUFFIX = re.compile(r"\s*(?:[_|｜]|\s[-–—]\s)\s*[^_|｜]{2,40}$")


def make_date(y: str, m: str, d: str) -> str | None:
    try:
        return date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def _first(match: re.Match[str] | None) -> str | None:
    if not match:
        return None
    groups = [g for g in match.groups() if g]
    return make_date(*groups[:3]) if len(groups) >= 3 else None


HEAD_DATE_NAMES = ("pubdate", "publishdate", "firstpublishedtime", "article:published_time")
HEAD_TITLE_NAMES = ("articletitle",)
LIST_DATE = re.compile(_DATE)


def head_meta(tree: Any, names: tuple[str, ...]) -> str | None:
    """The first non-empty ``<meta name=...>`` (or property) among ``names``, any case."""
    for node in tree.iter("meta"):
        key = (node.get("name") or node.get("property") or "").strip().lower()
        if key in names and (node.get("content") or "").strip():
            return node.get("content").strip()
    return None


def date_from_head(tree: Any) -> str | None:
    """The CMS's own publication date: ``<meta name="PubDate" content="2024-01-05 09:00">``."""
    return date_from_list(head_meta(tree, HEAD_DATE_NAMES))


def date_from_list(value: str | int | None) -> str | None:
    """A list's or an endpoint's date: ``2024-01-05 10:00:00``, ``2024年1月5日``, or epoch
    seconds or milliseconds (Beijing time)."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit() and len(text) in (10, 13):
        from datetime import datetime, timedelta, timezone

        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, timezone(timedelta(hours=8))).date().isoformat()
    return _first(LIST_DATE.search(text))


def date_from_meta_line(page_text: str) -> str | None:
    return _first(META_DATE.search(page_text))


def date_from_title(title: str | None) -> str | None:
    return _first(TITLE_DATE.search(title or ""))


def date_from_opening(text: str) -> str | None:
    for line in text.splitlines()[:8]:
        found = _first(OPENING_DATE.search(line.strip()))
        if found:
            return found
    return None


def issuer_from_page(page_text: str) -> str | None:
    m = ISSUER.search(page_text)
    return m.group(1) if m else None


def clean_title(title: str | None, sitename: str | None = None) -> tuple[str | None, str | None]:
    """``(title, tag)``: site-name suffix dropped, a leading 【tag】 split off."""
    if not title:
        return None, None
    title = re.sub(r"\s+", " ", title).strip()
    title = COMMERCE_TAG.sub("", title)
    stripped = SITE_SUFFIX.sub("", title)
    if len(stripped) >= 4 and stripped != title:
        title = stripped
    if sitename and title.endswith(sitename) and len(title) > len(sitename) + 4:
        title = title[: -len(sitename)].rstrip(" _-|–—")
    tag = None
    m = TITLE_TAG.match(title)
    if m and len(title) > m.end() + 2:
        tag, title = m.group(1), title[m.end() :]
    return title, tag

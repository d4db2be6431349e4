"""Chinese metadata rules: publication dates and titles.

Dates come, in order of trust, from a meta line on the page ("时间: 2019-01-30 14:36",
"发布日期：2023年01月05日", "发布日期： 7/5/2005 9:23:57 PM"), from the HTML meta tags, from the
page's header above the article (a date with a time: "2005年05月17日 10:23", "2005-03-15
08:12:36 来源:", "[2005-03-15]"; or a post's "由…于2005年8月12日16:12"), from the HTML
metadata trafilatura reads, from the title ("(2025年1月6日)", "(20230105)"), from the text's
opening ("2019年1月8日在…会议上"), from a line that is only a date above the article, and last
from the article's citation of the periodical issue it appeared in ("——《某某》1998年3月号",
"原载2003年5月号": the first of that month, with ``date_precision: month`` in the meta).
Full-width digits count as digits. A date below the article's start (a related link, the
copyright line) is never taken from the header rules.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

_Y, _M, _D = r"((?:19|20)\d{2})", r"(\d{1,2})", r"(\d{1,2})"
_DATE = rf"{_Y}\s*[-年/.]\s*{_M}\s*[-月/.]\s*{_D}\s*日?"
_LABEL = (
    r"(?:(?:发布时间|发布日期|发表时间|发表日期|发帖时间|发文日期|成文日期|印发日期|更新时间|时间|日期)"
    r"[ \t\u3000]*[:：]|发表于|发布于)"
)
META_DATE = re.compile(_LABEL + r"\s*" + _DATE)
# ASP's default: "发布日期： 7/5/2005 9:23:57 PM" (month first)
META_DATE_US = re.compile(_LABEL + r"\s*(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})")
_TIME = r"\s*(?:[(（]?\s*(?:星期|周)[一二三四五六日天]\s*[)）]?)?[T\s]*\d{1,2}[:：]\d{2}"
HEADER_DATETIME = re.compile(_DATE + _TIME)
BRACKET_DATE = re.compile(r"[\[【(（]\s*" + _DATE + r"\s*[\]】)）]")
POSTED_DATE = re.compile(r"于\s*" + _DATE + _TIME)
DATE_LINE = re.compile(
    r"^\W{0,3}" + _DATE + r"(?:\s*\d{1,2}[:：]\d{2}(?::\d{2})?)?"
    r"(?:\s*(?:星期|周)[一二三四五六日天])?\W{0,3}$"
)
FULL_WIDTH = str.maketrans("０１２３４５６７８９：／－．", "0123456789:/-.")
_FULL_WIDTH_RUN = re.compile("[０-９：／－．]+")


def fold_width(text: str) -> str:
    """``text`` with full-width digits, colons, slashes, dashes and points as ASCII (the runs
    of them translated: a sixth of the time of translating every character of a page)."""
    return _FULL_WIDTH_RUN.sub(lambda m: m.group().translate(FULL_WIDTH), text)


TITLE_DATE = re.compile(r"[(（]\s*" + _DATE + r"\s*[)）]|[(（]((?:19|20)\d{2})(\d{2})(\d{2})[)）]")
OPENING_DATE = re.compile(r"^\W{0,6}" + _DATE + r"\s*(?:在|于)")
# a periodical issue cited in the article: "——《刊名》1998年3月号", "原载《刊名》2003年第5月号"
ISSUE_DATE = re.compile(
    r"(?:》|原载|载于|刊于|刊载于|发表于|选自|摘自)\s*[,，:：]?\s*"
    r"((?:19|20)\d{2})\s*年\s*(?:第\s*)?(\d{1,2})\s*月(?:号|刊|份)"
)
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
    page_text = fold_width(page_text)
    found = _first(META_DATE.search(page_text))
    if found:
        return found
    m = META_DATE_US.search(page_text)
    return make_date(m.group(3), m.group(1), m.group(2)) if m else None


def header_part(page_text: str, text: str) -> str:
    """The page's text above the article: up to where the extracted text's first paragraph
    begins (a line of 20 characters or more: a title or a site name at the top of the text
    is also at the top of the page), else its first line; all of it when neither is found."""
    lines = [x.strip() for x in text.splitlines()[:8] if x.strip()]
    paragraphs = [x for x in lines if len(x) >= 20][:2]
    for line in [*paragraphs, *lines[:3]]:
        probe = line[:20]
        if len(probe) >= 6:
            at = page_text.find(probe)
            if at >= 0:
                return page_text[:at]
    return page_text


def date_from_header(page_text: str, text: str) -> str | None:
    """A date with a time, a bracketed date, or a post's "于<date> <time>" above the article."""
    head = header_part(fold_width(page_text), text)
    for rule in (HEADER_DATETIME, BRACKET_DATE, POSTED_DATE):
        found = _first(rule.search(head))
        if found:
            return found
    return None


def date_from_posted(page_text: str) -> str | None:
    """A forum or blog post's footer: "本贴由大卫于2005年8月12日16:12:21", anywhere."""
    return _first(POSTED_DATE.search(fold_width(page_text)))


def date_from_date_line(page_text: str, text: str) -> str | None:
    """A line that is only a date ("2005年1月2日", "2005-01-02 星期日") above the article."""
    for line in header_part(fold_width(page_text), text).splitlines():
        found = _first(DATE_LINE.match(line.strip()))
        if found:
            return found
    return None


def date_from_title(title: str | None) -> str | None:
    return _first(TITLE_DATE.search(title or ""))


def date_from_opening(text: str) -> str | None:
    for line in text.splitlines()[:8]:
        found = _first(OPENING_DATE.search(line.strip()))
        if found:
            return found
    return None


def date_from_issue(text: str) -> str | None:
    """The month of the periodical issue the article cites as where it appeared, as the first
    of that month (a month is all such a citation says); the last citation wins, as it is the
    article's own rather than one quoted in its body."""
    found = ISSUE_DATE.findall(fold_width(text))
    return make_date(found[-1][0], found[-1][1], "1") if found else None


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

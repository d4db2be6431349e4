"""What a document is about: region (a gazetteer of 苏州), document type and report year.

Rules are small classes registered by subclassing; a type rule's docstring's first line is its
help. The region comes from the first of these that names a place: the title's 【tag】, the title,
the opening of the text, the source's region. Within it the most specific place wins
(苏州市吴中区 -> 吴中区), and a town or park counts for its district or county-level city
(陆家镇 -> 昆山市).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

from pipelines.text.chinese import to_simplified
from pipelines.text.gazetteer import CITY, GAZETTEER

OPENING_CHARS = 300


@cache
def _gazetteer() -> tuple[re.Pattern[str], dict[str, str]]:
    owner = {name: region for region, names in GAZETTEER.items() for name in names}
    names = sorted(owner, key=len, reverse=True)  # longest first: 苏州高新区 before 苏州
    return re.compile("|".join(map(re.escape, names))), owner


def find_region(text: str) -> tuple[str | None, str | None]:
    """``(region, place)`` named in ``text``: the first district or county-level city (or the
    town that belongs to one), else 苏州市; place is the name as written."""
    pattern, owner = _gazetteer()
    city = None
    for m in pattern.finditer(to_simplified(text)):
        region = owner[m.group()]
        if region != CITY:
            return region, m.group()
        city = city or (CITY, m.group())
    return city or (None, None)


class DocType:
    """Base class of document-type rules, tried in the order they are defined."""

    registry: ClassVar[list[type[DocType]]] = []
    kind: ClassVar[str]
    title_pattern: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.regex = re.compile(cls.title_pattern)
        DocType.registry.append(cls)


class WorkReport(DocType):
    """Government work reports: 政府工作报告, 工作报告 of a 人民政府."""

    kind = "work_report"
    title_pattern = r"政府工作报告|人民政府工作报告|政\s*府\s*工\s*作\s*报\s*告"


class Policy(DocType):
    """Policies and regulations: 通知, 办法, 规定, 意见, 条例, 细则, 政策."""

    kind = "policy"
    title_pattern = r"(关于.{0,40}(通知|意见|办法|规定|决定))|办法|条例|实施细则|若干政策|规划纲要"


class InvestmentNews(DocType):
    """Investment news: 招商, 投资, 签约, 项目, 开工, 产业, 落户."""

    kind = "investment_news"
    title_pattern = r"招商|投资|签约|项目|开工|落户|产业|商会|园区|外资|吞吐量"


def doc_type(title: str | None, fallback: str | None = None) -> str:
    title = to_simplified(title or "")
    for rule in DocType.registry:
        if rule.regex.search(title):
            return rule.kind
    return fallback if fallback in {r.kind for r in DocType.registry} else "other"


YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*年[^年]{0,20}政府\s*工\s*作\s*报\s*告")
DELIVERY = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*\d{1,2}\s*日")


def report_year(title: str | None, text: str, published: str | None) -> int | None:
    """The year a work report is for: 2024年常熟市政府工作报告, or the year it was delivered
    (reports are delivered in January to March of their year and review the year before)."""
    title = to_simplified(title or "")
    m = YEAR_IN_TITLE.search(title)
    if m:
        return int(m.group(1))
    for source in (title, to_simplified(text[:OPENING_CHARS])):
        m = DELIVERY.search(source)
        if m and 1 <= int(m.group(2)) <= 4:
            return int(m.group(1))
    return int(published[:4]) if published else None


@dataclass(frozen=True)
class Classification:
    region: str | None
    place: str | None
    doc_type: str
    report_year: int | None


def classify(
    title: str | None,
    text: str,
    *,
    tag: str | None = None,
    published: str | None = None,
    source_region: str | None = None,
    source_category: str | None = None,
) -> Classification:
    region = place = None
    for where in (tag or "", title or "", text[:OPENING_CHARS]):
        region, place = find_region(where)  # the first that names a place decides
        if region:
            break
    if region is None:
        region, place = find_region(source_region or "")
    kind = doc_type(title, source_category)
    year = report_year(title, text, published) if kind == "work_report" else None
    return Classification(region, place, kind, year)

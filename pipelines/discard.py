"""trafilatura's OVERALL_DISCARD_XPATH, the same selections made by Python.

trafilatura prunes a page's boilerplate sections (menus, share bars, hidden blocks) with two
XPath expressions that test attributes with EXSLT regular expressions (``re:test``): libxml2
calls back into Python for every test of every candidate element, a quarter of trafilatura's
time on the real pages. ``install`` puts in their place, in trafilatura's own list, two
functions that select the same elements in the same (document) order: the same tests, the
regular expressions taken from the expressions themselves, and the same strings (an absent
attribute reads as ``""``; a union such as ``@id|@class`` reads as the first of the two in
the element's attribute order, as XPath's string value of a node-set and lxml's ``re:test``
do). A trafilatura whose expressions are not these, token for token, is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

_TOKENS = re.compile(r"'[^']*'|[^\s']+")  # XPath's literals, and what spaces separate
_REGEX_TEST = re.compile(r"re:test\((@[\w-]+), '([^']*)'\)")

# trafilatura's two expressions, with "R" for each re:test regular expression
SECTIONS = """.//*[self::div or self::item or self::list or self::p or self::section or self::span][
    @data-lp-replacement-content or contains(translate(@role, 'N', 'n'), 'nav') or
    contains(@data-component, 'MostPopularStories') or re:test(@id|@class, 'cookie') or
    re:test(@id, R) or re:test(@class, R)]"""
HIDDEN = """.//*[@class='comments-title' or starts-with(@id|@class, 'reply-') or
    re:test(@id|@style, 'hidden') or contains(@style, 'display:none') or
    contains(@style, 'display: none') or re:test(@id, R) or re:test(@class, R) or
    @aria-hidden='true']"""
SECTION_TAGS = ("div", "item", "list", "p", "section", "span")


def _template(path: str) -> tuple[list[str], list[str]]:
    """The tokens of ``path`` with "R" for each re:test of a single attribute, and those
    regular expressions."""
    found = _REGEX_TEST.findall(path)
    bare = _REGEX_TEST.sub(lambda m: f"re:test({m[1]}, R)", path)
    return _TOKENS.findall(bare), [regex for _, regex in found]


def _first(element: Any, keys: list[str], one: str, other: str) -> str:
    """The string of ``@one|@other``: the first of them in the element's attribute order."""
    for key in keys:
        if key in (one, other):
            return element.get(key)
    return ""


def sections(id_regex: str, class_regex: str) -> Any:
    by_id, by_class = re.compile(id_regex), re.compile(class_regex)

    def select(tree: Any) -> list[Any]:
        found = []
        for element in tree.iterdescendants(*SECTION_TAGS):
            keys = element.keys()
            if not keys:  # no attribute: no test can hold
                continue
            get = element.get
            if (
                "data-lp-replacement-content" in keys
                or "nav" in (get("role") or "").replace("N", "n")
                or "MostPopularStories" in (get("data-component") or "")
                or "cookie" in _first(element, keys, "id", "class")
                or by_id.search(get("id") or "")
                or by_class.search(get("class") or "")
            ):
                found.append(element)
        return found

    return select


def hidden(id_regex: str, class_regex: str) -> Any:
    from lxml import etree

    by_id, by_class = re.compile(id_regex), re.compile(class_regex)

    def select(tree: Any) -> list[Any]:
        found = []
        for element in tree.iterdescendants(etree.Element):  # elements, as ``*``
            keys = element.keys()
            if not keys:
                continue
            get = element.get
            style = get("style") or ""
            if (
                get("class") == "comments-title"
                or _first(element, keys, "id", "class").startswith("reply-")
                or "hidden" in _first(element, keys, "id", "style")
                or "display:none" in style
                or "display: none" in style
                or by_id.search(get("id") or "")
                or by_class.search(get("class") or "")
                or get("aria-hidden") == "true"
            ):
                found.append(element)
        return found

    return select


def replacements(expressions: list[Any]) -> list[Any] | None:
    """The functions for trafilatura's OVERALL_DISCARD_XPATH ``expressions``, or None when
    they are not the two this module reads."""
    if len(expressions) != 2 or not all(hasattr(e, "path") for e in expressions):
        return None
    made = []
    for expression, template, make in zip(
        expressions, (SECTIONS, HIDDEN), (sections, hidden), strict=True
    ):
        tokens, regexes = _template(expression.path)
        if tokens != _template(template)[0] or len(regexes) != 2:
            return None
        made.append(make(*regexes))
    return made


ORIGINAL: list[Any] = []  # trafilatura's expressions, once replaced


def install() -> bool:
    """Replace trafilatura's OVERALL_DISCARD_XPATH expressions (once); whether they are."""
    from trafilatura import xpaths

    if ORIGINAL:
        return True
    made = replacements(xpaths.OVERALL_DISCARD_XPATH)
    if made is None:
        return False
    ORIGINAL[:] = xpaths.OVERALL_DISCARD_XPATH
    xpaths.OVERALL_DISCARD_XPATH[:] = made  # the list trafilatura's modules hold
    return True

"""pipelines.discard: trafilatura's two boilerplate XPath expressions made by Python must select
exactly what the expressions select, in the same order, and change no extraction."""

from __future__ import annotations

import random

import pytest
from lxml import etree
from lxml import html as lxml_html

from pipelines import discard
from pipelines.extract import extract
from pipelines.text.charsets import decode_body
from samplesite import SampleSite


def originals() -> list:
    from trafilatura import xpaths

    return list(discard.ORIGINAL or xpaths.OVERALL_DISCARD_XPATH)


def made() -> list:
    found = discard.replacements(originals())
    if found is None:  # another trafilatura: nothing is replaced, and nothing to compare
        assert discard.install() is False
        pytest.skip("this trafilatura's OVERALL_DISCARD_XPATH is not the one discard reads")
    return found


VALUES = {
    "id": ["cookie-bar", "share-1", "main", "reply-2", "hidden-x", "akismet", "sidebar", "ad-1",
           "x", ""],
    "class": ["ad-top", "menu", "comments-title", "hide-me", "content", " hidden", "post-nav",
              "widget x", "reply-x", "cookie", "Footer", ""],
    "role": ["navigation", "NAV", "main", "Nav"],
    "style": ["display:none", "display: none", "color:red", "hidden"],
    "aria-hidden": ["true", "false"],
    "data-component": ["MostPopularStories", "x"],
    "data-lp-replacement-content": [""],
    "lang": ["zh"],
}  # fmt: skip
TAGS = ["div", "span", "p", "section", "item", "list", "a", "ul", "li", "table", "h2", "main"]


def random_tree(rng: random.Random) -> object:
    root = lxml_html.Element("body")
    nodes = [root]
    for _ in range(rng.randint(1, 40)):
        parent = rng.choice(nodes)
        if rng.random() < 0.1:
            parent.append(etree.Comment("注释"))
            continue
        child = etree.SubElement(parent, rng.choice(TAGS))
        names = rng.sample(list(VALUES), rng.randint(0, 4))  # in a random order
        for name in names:
            child.set(name, rng.choice(VALUES[name]))
        child.text = "正文"
        nodes.append(child)
    return root


def pages() -> list[str]:
    site, portal = SampleSite(), SampleSite(generated=6, portal_shape=True)
    found = [decode_body(site.render(p)[2], site.render(p)[1]).text for p in site.docs]
    for i in range(1, 7):
        _status, ctype, body, _ = portal.render(f"/gen/doc/{i}.html")
        found.append(decode_body(body, ctype).text)
    return found


def test_the_functions_select_what_the_expressions_select():
    mine = made()
    trees = [lxml_html.document_fromstring(page) for page in pages()]
    rng = random.Random(3)
    trees += [random_tree(rng) for _ in range(400)]
    picked = 0
    for tree in trees:
        for expression, function in zip(originals(), mine, strict=True):
            selected = expression(tree)
            assert function(tree) == selected
            picked += len(selected)
    assert picked > 300  # the trees hold many of both kinds of sections


def test_a_union_reads_as_its_first_attribute_in_the_elements_order():
    mine = made()
    for html, hits in [
        ('<div class="cookie-x" id="main">a</div>', 1),  # @id|@class is the class here
        ('<div id="main" class="cookie-x">a</div>', 0),  # ... and the id here
        ('<p style="x" id="hidden">a</p>', 0),  # @id|@style: "x"
        ('<p id="hidden" style="x">a</p>', 1),
    ]:
        tree = lxml_html.fromstring(f"<html><body>{html}</body></html>")
        assert sum(len(e(tree)) for e in originals()) == hits
        assert sum(len(f(tree)) for f in mine) == hits


def test_another_expression_is_left_to_trafilatura():
    first, second = originals()
    changed = etree.XPath(
        first.path.replace("'cookie'", "'cookies'"),
        namespaces={"re": "http://exslt.org/regular-expressions"},
    )
    assert discard.replacements([changed, second]) is None
    assert discard.replacements([first]) is None


def test_extraction_is_the_same_with_trafilaturas_expressions():
    from trafilatura import xpaths

    made()
    html = pages()
    url = "http://www.wujiang.gov.cn/art/1.html"

    def run() -> list:
        found = [extract(page, url) for page in html]
        return [(r.text, r.title, r.published, r.meta) if r else None for r in found]

    fast = run()
    assert discard.install() is True
    shared = xpaths.OVERALL_DISCARD_XPATH  # the list trafilatura's modules hold
    mine = list(shared)
    assert not any(hasattr(f, "path") for f in mine)  # the functions were in place
    try:
        shared[:] = discard.ORIGINAL
        slow = run()
    finally:
        shared[:] = mine
    assert slow == fast
    assert any(r and len(r[0]) > 200 for r in fast)

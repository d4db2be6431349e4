"""pipelines.discard: trafilatura's pruning XPath expressions made by Python must select
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

NAMESPACES = {"re": "http://exslt.org/regular-expressions"}


def expressions() -> list:
    """Every expression of trafilatura's pruning lists, as lxml compiles it."""
    from trafilatura import xpaths

    found = []
    for name in discard.LISTS:
        found += discard.ORIGINAL.get(name) or getattr(xpaths, name, [])
    return [e for e in found if hasattr(e, "path")]


def pairs() -> list:
    made = [(e, discard.replacement(e)) for e in expressions()]
    if not any(m for _, m in made):  # another trafilatura: nothing to compare
        pytest.skip("no expression of this trafilatura's lists is one discard reads")
    return [(e, m) for e, m in made if m]


VALUES = {
    "id": ["cookie-bar", "share-1", "main", "reply-2", "hidden-x", "akismet", "sidebar", "ad-1",
           "x", "", "comment-1", "Comments", "commentary", "disqus_thread", "teaser",
           "caption-1", "mvp-post-add-box", "bottom", "x link", "articleContent",
           "article-body", "content", "main-content", "story", "primary"],
    "class": ["ad-top", "menu", "comments-title", "hide-me", "content", " hidden", "post-nav",
              "widget x", "reply-x", "cookie", "Footer", "", "comment-list", "post-comments",
              "Teaser", "img-caption", "link", "bottom-bar", "infinite-scroll",
              "elementor-share-buttons", "a bottom", "post", "entry", "post-content",
              "FullText", "Main-Content", "main", "text", "article-text x"],
    "role": ["navigation", "NAV", "main", "Nav", "article"],
    "style": ["display:none", "display: none", "color:red", "hidden", "border:1px"],
    "aria-hidden": ["true", "false"],
    "data-component": ["MostPopularStories", "x"],
    "data-lp-replacement-content": [""],
    "itemprop": ["articleBody", "name"],
    "lang": ["zh"],
}  # fmt: skip
TAGS = ["div", "span", "p", "section", "item", "list", "a", "ul", "ol", "li", "table", "h1",
        "h2", "main", "aside", "details", "header", "o:p", "article", "section"]  # fmt: skip


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
    compiled = pairs()
    # (with trafilatura 2.3 all but one union are read; another's unreadable ones stay lxml's)
    trees = [lxml_html.document_fromstring(page) for page in pages()]
    rng = random.Random(3)
    trees += [random_tree(rng) for _ in range(400)]
    picked = {}
    for tree in trees:
        for expression, function in compiled:
            selected = expression(tree)
            assert function(tree) == selected, expression.path
            picked[expression.path] = picked.get(expression.path, 0) + len(selected)
    selecting = [path for path, n in picked.items() if n]
    assert len(selecting) >= 3 * len(picked) // 4  # the trees hold what the expressions seek


def test_a_whole_document_is_read_by_lxml():
    expression, _ = pairs()[0]
    function = discard.replacement(expression)
    document = lxml_html.document_fromstring(pages()[0]).getroottree()
    assert function(document) == expression(document)
    assert function(document.getroot()) == expression(document.getroot())


def test_unions_translate_and_flags_read_as_lxml_reads_them():
    for html, path, hits in [
        ('<div class="cookie-x" id="main">a</div>', "re:test(@id|@class, 'cookie')", 1),
        ('<div id="main" class="cookie-x">a</div>', "re:test(@id|@class, 'cookie')", 0),
        ('<p style="x" id="hidden">a</p>', "starts-with(@id|@style, 'hid')", 0),
        ('<p id="hidden" style="x">a</p>', "starts-with(@id|@style, 'hid')", 1),
        ('<p id="aNb">a</p>', "contains(translate(@id, 'NbN', 'n'), 'an')", 1),  # b goes
        ('<p id="aNb">a</p>', "contains(translate(@id, 'NbN', 'n'), 'anb')", 0),
        ('<p class="FullText">a</p>', "re:test(@class, 'fulltext', 'i')", 1),
        ('<p class="FullText">a</p>', "re:test(@class, 'fulltext')", 0),
    ]:
        tree = lxml_html.fromstring(f"<html><body>{html}</body></html>")
        xpath = etree.XPath(f".//*[{path}]", namespaces=NAMESPACES)
        assert len(xpath(tree)) == hits, path
        assert discard.compile_path(xpath.path)(tree) == xpath(tree), path


@pytest.mark.parametrize(
    "path",
    [".//*[2]", ".//*[@a|@b='x']", ".//*[re:test(@id, 'x', 'i', 'x')]", ".//div/p", ".//*[last()]",
     ".//*[not(.//h1[@id])]", "//div", ".//*[string-length(@id) > 2]", ".//*[1][@id]",
     "(.//a)[2]", ".//*[not(.//h1[1])]", "(.//a)[1]|(.//b)[1]"],
)  # fmt: skip
def test_other_xpath_is_left_to_lxml(path):
    with pytest.raises(discard.Unsupported):
        discard.compile_path(path)
    assert discard.replacement(etree.XPath(path, namespaces=NAMESPACES)) is None


def test_extraction_is_the_same_with_trafilaturas_expressions():
    from trafilatura import xpaths

    pairs()
    html = pages()
    url = "http://www.wujiang.gov.cn/art/1.html"

    def run() -> list:
        found = [extract(page, url) for page in html]
        return [(r.text, r.title, r.published, r.meta) if r else None for r in found]

    fast = run()
    replaced = discard.install()
    assert replaced
    mine = {name: list(getattr(xpaths, name)) for name in replaced}
    assert any(type(f) is not etree.XPath for name in replaced for f in mine[name])
    try:
        for name in replaced:
            getattr(xpaths, name)[:] = discard.ORIGINAL[name]  # lxml's, in the same lists
        slow = run()
    finally:
        for name in replaced:
            getattr(xpaths, name)[:] = mine[name]
    assert slow == fast
    assert any(r and len(r[0]) > 200 for r in fast)

"""The main text of a page: trafilatura, with the page's layout tables read as blocks.

Pages of the 2000s (and many portal templates still) lay the whole page out with nested
tables. Given such a table, trafilatura keeps or drops it as one piece of data: the menus and
link bars come along with the article, or the article goes with them. ``main_text`` reads the
page with its layout tables turned into plain blocks, and, when that could have split the
article itself, once more whole, and keeps the reading that lost nothing of it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
from typing import Any

from pipelines import discard

LAYOUT_CELL_CHARS = 150  # a table cell holding this much text is a page region, not data
_SQUEEZE = re.compile(r"[\s|]+")
LOST_PARAGRAPH = 40  # characters: a line this long that unwrapping lost was prose
TABLE_TAGS = ("table", "thead", "tbody", "tfoot", "tr", "td", "th")
DATE_PARAMS = {"extensive_search": False, "original_date": True}


DATE_LATER = object()  # main_text's doc.date when the caller looks for it itself (page_date)


def main_text(root: Any, url: str | None, *, date_later: bool = False) -> Any:
    """trafilatura's main text of ``root``, which it leaves as it is.

    With ``date_later``, a page without layout tables is read without trafilatura's date
    (htmldate's search, half a millisecond; most pages date themselves before it is asked):
    its ``doc.date`` is DATE_LATER, and ``page_date`` of the caller's own copy of ``root``
    finds that date when it is needed.

    A page laid out with tables is read twice: with its layout tables as plain blocks (see
    ``unwrap``: menus and link bars then go one by one), and whole. The unwrapped reading wins
    unless the whole one has paragraphs (LOST_PARAGRAPH characters or more; table cells compared
    by their text) that it lost, adding up to a fifth of its text, or a data table: then
    unwrapping split the article itself (prose in one cell, a table of figures in another), or
    the page holds more than one article, and the whole reading is kept (a menu kept is no
    change; a table of figures lost would hide one).
    """
    import trafilatura
    from lxml import html as lxml_html

    _guard_comparison()
    discard.install()  # trafilatura's boilerplate selections, made without XPath callbacks

    def run(node: Any, metadata: bool = True, date: bool = True) -> Any:
        page = node if node.tag == "html" else lxml_html.tostring(node, encoding="unicode")
        lean = page_metadata(page, url, date=date) if metadata and node.tag == "html" else None
        options = extraction_options(url, with_metadata=metadata and lean is None)
        doc = trafilatura.bare_extraction(page, options=options)
        if doc is not None and lean is not None:
            doc.title, doc.sitename = lean.title, lean.sitename
            doc.date = lean.date if date else DATE_LATER
        return doc

    tables = layout_tables(root)
    if not tables:
        return run(root, date=not date_later)  # trafilatura reads a copy of a tree it is given
    every = list(root.iter("table"))
    data = [_SQUEEZE.sub("", "".join(t.itertext())) for t in every
            if t not in tables and _is_data_table(t)]  # fmt: skip
    whole, root = root, copy.deepcopy(root)  # unwrapped in a copy: the same tables, in order
    unwrap(root, [t for t, mine in zip(root.iter("table"), every, strict=True) if mine in tables])
    doc = run(root)
    if doc is None or not doc.text:
        return run(whole)
    kept = _SQUEEZE.sub("", doc.text)

    def lost(text: str) -> bool:
        cells = (_SQUEEZE.sub("", c) for line in text.splitlines() for c in line.split("|"))
        prose = sum(len(c) for c in cells if len(c) >= LOST_PARAGRAPH and c not in kept)
        flat = _SQUEEZE.sub("", text)
        return prose > len(doc.text) / 5 or any(t in flat and t not in kept for t in data)

    # the page's visible text holds all that the whole reading could add: read it whole only
    # when that could change the choice
    if not lost(visible_text(whole)):
        return doc
    whole_doc = run(whole, metadata=False)  # the first reading's title and dates serve both
    if whole_doc is not None and lost(whole_doc.text or ""):
        doc.text = whole_doc.text
    return doc


# what main_text asks of trafilatura (bare_extraction's keywords)
EXTRACTION = {
    "include_comments": False, "include_tables": True, "deduplicate": False,
    "favor_precision": True, "date_extraction_params": DATE_PARAMS,
}  # fmt: skip


def extraction_options(url: str | None, *, with_metadata: bool) -> Any:
    """trafilatura's options for EXTRACTION (its Extractor, which bare_extraction takes as
    ``options``): a copy of one made once, with the page's URL. bare_extraction would make
    it from the keywords on every call, reading each number from its ConfigParser (0.1 ms
    each time); trafilatura never changes an Extractor it is given (its recall retry copies
    it)."""
    options = copy.copy(_options_made_once(with_metadata))
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")
    return options


@functools.cache
def _options_made_once(with_metadata: bool) -> Any:
    from trafilatura.settings import Extractor

    return Extractor(
        comments=EXTRACTION["include_comments"], tables=EXTRACTION["include_tables"],
        dedup=EXTRACTION["deduplicate"], precision=EXTRACTION["favor_precision"],
        date_params=EXTRACTION["date_extraction_params"], with_metadata=with_metadata,
        output_format="python",
    )  # fmt: skip


def _is_data_table(table: Any) -> bool:
    """Figures, not furniture: two rows or more, a row of two cells or more, and most of its
    text outside links (a menu laid out as a table is mostly links)."""
    rows = table.findall(".//tr")
    if len(rows) < 2 or not any(len(r.findall("td")) + len(r.findall("th")) >= 2 for r in rows):
        return False
    text = _SQUEEZE.sub("", "".join(table.itertext()))
    linked = sum(len(_SQUEEZE.sub("", "".join(a.itertext()))) for a in table.iter("a"))
    return bool(text) and linked < len(text) / 2


def layout_tables(tree: Any) -> list[Any]:
    """Tables used for page layout: those holding another table, or a cell with a paragraph's
    worth of text; a data table (short cells, none nested) is not one, also inside one."""
    found = []
    for table in tree.iter("table"):
        own_cells = [c for c in table.iter("td", "th") if _owner(c) is table]
        nested = any(t is not table for t in table.iter("table"))
        long_cell = any(
            len("".join(c.itertext()).strip()) >= LAYOUT_CELL_CHARS and c.find(".//table") is None
            for c in own_cells
        )
        if nested or long_cell:
            found.append(table)
    return found


def unwrap(tree: Any, tables: list[Any]) -> None:
    """The layout ``tables`` become plain blocks (their own rows and cells, not nested tables),
    so that the extractor judges their parts one by one instead of keeping or dropping the
    whole table as data."""
    for table in tables:
        own = [n for n in table.iter(*TABLE_TAGS[1:]) if _owner(n) is table]
        for node in [table, *own]:
            node.tag = "div"
            for attr in ("colspan", "rowspan"):
                node.attrib.pop(attr, None)


def _owner(node: Any) -> Any:
    """The table a row or cell belongs to: its nearest table ancestor."""
    parent = node.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


INVISIBLE = ("script", "style", "noscript", "template")


def visible_text(body: Any) -> str:
    """The body's text with element boundaries kept as line breaks (meta lines stay apart),
    without the text of scripts and styles."""
    parts = (t.strip() for t in _visible_nodes()(body) if t)
    return "\n".join(t for t in parts if t)


@functools.cache
def _visible_nodes() -> Any:  # compiled once: lxml compiles an xpath() string at every call
    from lxml import etree

    inside = " or ".join(f"ancestor::{tag}" for tag in INVISIBLE)
    # plain strings: a "smart" one keeps a link to its element, a third of the time here
    return etree.XPath(f".//text()[not({inside})]", smart_strings=False)


@functools.cache  # once a process: main_text calls it for every page
def _guard_comparison() -> None:
    """Let trafilatura skip readability where its reading provably cannot be chosen.

    After its own extraction trafilatura reads the page again with readability (a fifth of an
    extraction's time) and keeps that reading instead only when it is more than twice as long,
    or when its own has no paragraph text or more tables than paragraphs (``_prefer_readability``;
    other rules are for recall mode). Readability's text is made of the page's own text nodes
    (plus "VIDEO" in an iframe), so it is never longer than the page's whole text: when that is
    at most twice the own reading, and the own reading has paragraphs, is clean and long enough
    not to call justext, the comparison would return the own reading unchanged, and does so
    here without running. Everything else goes through trafilatura's comparison as before.
    A trafilatura whose comparison is not this one (its signature and rules as in 2.3) is left
    as it is.
    """
    import inspect

    import trafilatura.core as core
    import trafilatura.external as external

    compare = getattr(core, "compare_extraction", None)
    if compare is None:
        return
    known = ["cleaned_tree", "raw_tree", "body", "text", "options"]
    if list(inspect.signature(compare).parameters) != known or not all(
        hasattr(external, name) for name in ("_prefer_readability", "SANITIZED_XPATH")
    ):
        return
    _TRAFILATURA[:] = [compare, external.SANITIZED_XPATH]
    core.compare_extraction = _guarded_comparison


_TRAFILATURA: list[Any] = []  # trafilatura's own comparison and its "unclean" test, once found


def _guarded_comparison(cleaned: Any, raw_tree: Any, body: Any, text: str, options: Any) -> Any:
    compare, unclean = _TRAFILATURA
    if (
        options.focus != "recall"
        and len(text) >= options.min_extracted_size
        and len(body.findall(".//table")) <= len(body.findall(".//p"))
        and body.xpath("boolean(.//p//text())")  # no list of strings made
        and not body.xpath(unclean)
        and page_text_bound(raw_tree) <= 2 * len(text)
    ):
        return body, text
    return compare(cleaned, raw_tree, body, text, options)


def page_text_bound(tree: Any) -> int:
    """At least as long as any text read from ``tree``'s nodes: all its text, and the word
    readability writes into each iframe it keeps."""
    return len(tree.text_content()) + len("VIDEO") * sum(1 for _ in tree.iter("iframe"))


def page_metadata(tree: Any, url: str | None, *, date: bool = True) -> Any:
    """The title, site name and date trafilatura's metadata step finds, without the authors,
    categories, tags and licence it also looks for (a third of its time; govwatch reads none
    of them), by the same steps in the same order (without ``date``, no date). None when this
    trafilatura has not those steps: the caller then lets trafilatura find its metadata
    whole."""
    try:
        from trafilatura.metadata import (
            META_URL,
            examine_meta,
            extract_meta_json,
            extract_sitename,
            extract_title,
            extract_url,
            find_date,
        )
    except ImportError:
        return None
    meta = examine_meta(tree)
    with contextlib.suppress(Exception):  # as trafilatura: broken JSON-LD fails nothing
        meta = extract_meta_json(tree, meta)
    meta.title = meta.title or extract_title(tree)
    meta.url = meta.url or extract_url(tree, url)
    if date:
        meta.date = find_date(tree, url=meta.url, **DATE_PARAMS)
    meta.sitename = meta.sitename or extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
        if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
            meta.sitename = meta.sitename.title()
    elif meta.url and (found := META_URL.match(meta.url)):
        meta.sitename = found[1]
    meta.clean_and_trim()
    return meta


def page_date(tree: Any, url: str | None) -> str | None:
    """The date page_metadata finds in ``tree`` (asked for when a page's own rules found none:
    the title and site name it finds too cost nothing worth saving there)."""
    meta = page_metadata(tree, url)
    return meta.date if meta is not None else None

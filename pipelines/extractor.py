"""Extraction of one page or file: decoded HTML -> clean text, title, publication date and
metadata (no Scrapy here: the extraction processes import only this).

trafilatura finds the main text; Chinese rules (pipelines.text: cleanup, metadata) remove
furniture it leaves and find dates and issuers it misses. The HTML handed over is already
decoded text (Scrapy decodes, w3lib maps GB2312/GBK to GB18030): trafilatura never guesses a
charset. ``pipelines.extract.ExtractPipeline`` runs this in the crawl.
"""

from __future__ import annotations

import copy
import functools
import gc
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelines.maintext import DATE_LATER, main_text, page_date, visible_text
from pipelines.similar import signature
from pipelines.text.classify import classify
from pipelines.text.cleanup import clean_lines
from pipelines.text.files import EXTENSIONS, FileError, file_text, filename
from pipelines.text.metadata import (
    HEAD_TITLE_NAMES,
    clean_title,
    date_from_date_line,
    date_from_head,
    date_from_header,
    date_from_issue,
    date_from_meta_line,
    date_from_opening,
    date_from_posted,
    date_from_title,
    head_meta,
    issuer_from_page,
)
from pipelines.text.normalize import normalize
from storage.prepared import Prepared, prepare

ATTACHMENT_PREFIX = re.compile(r"^(相关)?附件\s*\d*\s*[:：、.]?\s*\d*\s*[:：、.]?|[\s（()）下载]+$")
HEAD_TEXT_CHARS = 4000  # how much of the page's visible text to search for meta lines


@dataclass
class Extracted:
    text: str
    norm_text: str
    title: str | None
    published: str | None
    meta: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)  # region, place, doc_type, ...
    signature: bytes | None = None
    shingles: int | None = None
    prepared: Prepared | None = None  # what the store derives from the texts (extract_call)


def _restrict(tree: Any, content: tuple[str, str]) -> Any:
    """A copy of the page whose body holds only the nodes ``content`` selects."""
    from lxml import etree
    from lxml import html as lxml_html

    kind, expr = content
    body = tree.find("body")
    if body is None:
        return None
    if kind == "css":
        from cssselect import GenericTranslator

        expr = GenericTranslator().css_to_xpath(expr)
    nodes = [n for n in tree.xpath(expr) if hasattr(n, "tag")]
    if not nodes:
        return None
    new = lxml_html.Element("html")
    head = tree.find("head")
    if head is not None:
        new.append(head)
    new_body = etree.SubElement(new, "body")
    for node in nodes:
        new_body.append(node)
    return new


@functools.cache
def _html_parser() -> Any:
    """lxml.html's parser, with its element classes chosen in C: lxml.html's own choice is a
    Python call for every element the extraction touches (hundreds a page, to give form
    fields their form classes, which nothing here uses); every element is an HtmlElement."""
    from lxml import etree
    from lxml import html as lxml_html

    parser = lxml_html.HTMLParser()
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=lxml_html.HtmlElement,
            comment=lxml_html.HtmlComment,
            pi=lxml_html.HtmlProcessingInstruction,
            entity=lxml_html.HtmlEntity,
        )
    )
    return parser


def extract(
    html: str,
    url: str | None = None,
    *,
    content: tuple[str, str] | None = None,
    ignore: tuple[str, ...] = (),
    min_chars: int = 20,
    source_region: str | None = None,
    source_category: str | None = None,
    with_signature: bool = False,
) -> Extracted | None:
    """Extract one page; ``None`` when nothing usable is found.

    Also classifies it (region, type, report year; pipelines.text.classify) and, with
    ``with_signature``, computes its near-duplicate signature (pipelines.similar).
    """
    from lxml import html as lxml_html

    if not html or not html.strip():
        return None
    try:
        tree = lxml_html.document_fromstring(html, parser=_html_parser())
    except (ValueError, lxml_html.etree.ParserError):
        return None
    body = tree.find("body")
    full_text = visible_text(body) if body is not None else ""
    page_text = full_text[:HEAD_TEXT_CHARS]
    target = _restrict(copy.deepcopy(tree), content) if content else None
    # read whole, main_text reads this very tree (and leaves it as it is): it may leave the
    # date to page_date
    whole = target is None
    doc = main_text(tree if whole else target, url, date_later=whole)
    later = doc is not None and doc.date is DATE_LATER
    if later:
        doc.date = None
    text = clean_lines(doc.text or "") if doc is not None else ""
    if len(text) < min_chars:
        return None
    raw_title = getattr(doc, "title", None)
    if target is not None or not raw_title:
        raw_title = raw_title or head_meta(tree, HEAD_TITLE_NAMES) or _page_title(tree)
    title, tag = clean_title(raw_title, getattr(doc, "sitename", None))
    published = (
        date_from_meta_line(page_text)
        or date_from_head(tree)
        or date_from_header(page_text, text)
        or date_from_posted(full_text)
        or (page_date(tree, url) if later else getattr(doc, "date", None))
        or date_from_title(raw_title)
        or date_from_opening(text)
        or date_from_date_line(page_text, text)
    )
    precision = None
    if not published:
        published = date_from_issue(text)
        precision = "month" if published else None
    issuer = issuer_from_page(page_text)
    meta = {
        "issuer": issuer, "sitename": getattr(doc, "sitename", None), "title_tag": tag,
        "date_precision": precision,
    }  # fmt: skip
    norm_text = normalize(text, ignore)
    facts = classify(
        title,
        text,
        tag=tag,
        published=published,
        source_region=source_region,
        source_category=source_category,
    )
    result = Extracted(
        text=text,
        norm_text=norm_text,
        title=title,
        published=published,
        meta={k: v for k, v in meta.items() if v},
        facts={**asdict(facts), "issuer": issuer},
    )
    if with_signature:
        result.signature, result.shingles = signature(norm_text)
    return result


def extract_file(
    body: bytes,
    kind: str,
    url: str | None = None,
    *,
    title_hint: str | None = None,
    ignore: tuple[str, ...] = (),
    source_region: str | None = None,
    source_category: str | None = None,
    with_signature: bool = False,
) -> Extracted:
    """Extract one attachment file (pipelines.text.files); raises ``FileError``.

    The title is the file's own (PDF/DOCX/OFD metadata), else the text of the link that led to
    it, else its file name, without the extension.
    """
    found = file_text(body, kind)
    text = clean_lines(found.text)
    if not text:
        raise FileError("no_text", f"{kind.upper()} file has no text")
    name = filename(url) if url else None
    raw_title = found.title or title_hint or name
    title = _strip_extension(raw_title.strip()) if raw_title else None
    published = date_from_title(title) or date_from_opening(text)
    norm_text = normalize(text, ignore)
    facts = classify(
        title, text, published=published,
        source_region=source_region, source_category=source_category,
    )  # fmt: skip
    meta = {**found.meta, "file_name": name, "bytes": len(body)}
    result = Extracted(
        text=text, norm_text=norm_text, title=title, published=published,
        meta={k: v for k, v in meta.items() if v}, facts={**asdict(facts), "issuer": None},
    )  # fmt: skip
    if with_signature:
        result.signature, result.shingles = signature(norm_text)
    return result


def _strip_extension(title: str) -> str:
    """``2024年政府工作报告.pdf`` -> ``2024年政府工作报告``."""
    stem, dot, suffix = title.rpartition(".")
    return stem if dot and stem and f".{suffix.lower()}" in EXTENSIONS else title


def own_text(text: str, attachments: list[tuple[str, str]]) -> str:
    """A page's text without the lines that only name its attachments ("附件：xxx.pdf")."""
    names = [n for url, t in attachments for n in (t, filename(url)) if n and len(n) > 1]
    own = []
    for line in text.splitlines():
        rest = line
        for name in names:
            rest = rest.replace(name, "")
        rest = ATTACHMENT_PREFIX.sub("", rest.strip())
        if rest == line.strip() or len(rest) > 3:
            own.append(line)
    return "\n".join(own)


def attachment_lines(attachments: list[tuple[str, str]]) -> str:
    """The page text of an attachment-only page: a line per attachment, as pages print it."""
    return "\n".join(f"附件：{text or filename(url)}" for url, text in attachments)


def _page_title(tree: Any) -> str | None:
    for expr in ("//h1", "//title"):
        nodes = tree.xpath(expr)
        if nodes and nodes[0].text_content().strip():
            return nodes[0].text_content().strip()
    return None


def worker_ready() -> bool:
    return True


def warm_up() -> None:
    """Import once per worker, not per page."""
    import numpy  # noqa: F401
    import trafilatura  # noqa: F401

    from pipelines.text.chinese import frequent_characters, to_simplified

    to_simplified("預熱")
    frequent_characters()
    gc.freeze()  # the imports live as long as the worker: kept out of the collector's sight


class ExtractorFailed(Exception):
    """An extraction that raised in a worker process: ``str()`` says what, ``details`` holds
    the worker's traceback."""

    def __init__(self, summary: str, details: str) -> None:
        super().__init__(summary, details)
        self.summary, self.details = summary, details

    def __str__(self) -> str:
        return self.summary


def call_batch(calls: list[tuple[Any, ...]]) -> list[tuple[bool, Any]]:
    """``(True, result)`` or ``(False, exception)`` for each ``(function, *args)``: a batch's
    failures are its calls' own. A file's FileError goes back as it is; any other exception as
    an ExtractorFailed carrying the worker's traceback."""
    import traceback

    out: list[tuple[bool, Any]] = []
    for func, *args in calls:
        try:
            out.append((True, func(*args)))
        except FileError as exc:
            out.append((False, exc))
        except Exception as exc:
            summary = f"{type(exc).__name__}: {exc}"
            out.append((False, ExtractorFailed(summary, "".join(traceback.format_exception(exc)))))
    return out


def extract_call(html: str, url: str, kwargs: dict[str, Any]) -> Extracted | None:
    """extract() for ExtractPipeline, with what the store derives from the texts made here
    (``prepared``, see storage.prepared; with ``new``, for a document the store has not seen:
    its search terms and sentences too)."""
    kwargs = dict(kwargs)
    new = kwargs.pop("new", None)
    return _prepared(extract(html, url, **kwargs), new)


def file_call(what: tuple[bytes, str], url: str, kwargs: dict[str, Any]) -> Extracted:
    body, kind = what
    kwargs = dict(kwargs)
    new = kwargs.pop("new", None)
    return _prepared(extract_file(body, kind, url, **kwargs), new)


def _prepared(result: Any, new: bool | None) -> Any:
    if result is not None and new is not None:
        result.prepared = prepare(result.text, result.norm_text, new=new)
    return result

"""Extraction: decoded HTML -> clean text, title, publication date and metadata.

trafilatura finds the main text; Chinese rules (pipelines.text: cleanup, metadata) remove
furniture it leaves and find dates and issuers it misses. The HTML handed over is already
decoded text (Scrapy decodes, w3lib maps GB2312/GBK to GB18030): trafilatura never guesses a
charset.

Extraction is CPU-heavy, so ExtractPipeline runs it in EXTRACT_WORKERS processes beside the
crawl (0: in the crawl's own process). An extraction shorter than EXTRACT_MIN_CHARS is "nothing
usable": the item is dropped with ``DropItem`` and counted as ``extract/empty``, never stored as
a version.

Settings: EXTRACT_WORKERS, EXTRACT_MIN_CHARS.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import multiprocessing
import re
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from crawler.items import DocumentItem
from pipelines.maintext import main_text, visible_text
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
    date_from_list,
    date_from_meta_line,
    date_from_opening,
    date_from_posted,
    date_from_title,
    head_meta,
    issuer_from_page,
)
from pipelines.text.normalize import normalize

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

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
        tree = lxml_html.document_fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return None
    body = tree.find("body")
    full_text = visible_text(body) if body is not None else ""
    page_text = full_text[:HEAD_TEXT_CHARS]
    target = _restrict(copy.deepcopy(tree), content) if content else None
    doc = main_text(target if target is not None else copy.deepcopy(tree), url)
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
        or getattr(doc, "date", None)
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


def _started() -> bool:
    return True


def _warm_up() -> None:
    """Import once per worker, not per page."""
    import numpy  # noqa: F401
    import trafilatura  # noqa: F401

    from pipelines.text.chinese import frequent_characters, to_simplified

    to_simplified("預熱")
    frequent_characters()


class ExtractionError(DropItem):
    """An item that gives no version; ``kind`` is the run's error kind (extract, no_text ...)."""

    def __init__(self, message: str, kind: str = "extract") -> None:
        super().__init__(message)
        self.kind = kind


class ExtractPipeline:
    """Fills a DocumentItem's text, title, published and meta; drops empty extractions."""

    def __init__(self, crawler: Crawler, workers: int, min_chars: int, pool_after: int = 0) -> None:
        self.crawler = crawler
        self.workers = workers
        self.min_chars = min_chars
        self.in_process_left = max(0, pool_after)  # extracted here before the pool starts
        self.pool: Executor | None = None  # processes; a cluster worker sets a thread
        self._ready: Any = None  # the started pool's first call: it has warmed up once done

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        return cls(
            crawler,
            s.getint("EXTRACT_WORKERS"),
            s.getint("EXTRACT_MIN_CHARS"),
            s.getint("EXTRACT_POOL_AFTER"),
        )

    def open_spider(self, spider: Any = None) -> None:
        """Nothing to start yet: the first EXTRACT_POOL_AFTER bodies are extracted in this
        process and the pool starts with the next one, so a re-check answered by 304s and
        identical bodies, or one that finds a handful of new documents, never pays for
        starting a process (about 1.5 s of CPU: Python, trafilatura, the dictionaries).
        While the pool's process starts, bodies are still extracted here: the crawl does not
        wait for it."""

    def _start_pool(self) -> Executor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm_up,
            )
            self._ready = self.pool.submit(_started)  # done once a worker has warmed up
        return self.pool

    def _pool_ready(self) -> bool:
        """Whether the pool takes this body: it runs, or it is started now (and the body is
        extracted here, as the next ones are until it has started)."""
        if self.pool is None:
            self._start_pool()
            return False
        return self._ready is None or self._ready.done()

    def close_spider(self, spider: Any = None) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, DocumentItem) or item.status == 304:
            return item
        if item.body_hash and item.body_hash == item.known_body_hash:
            item.same_body, item.html, item.body = True, "", b""
            self.crawler.stats.inc_value("extract/skipped_same_body")
            return item
        source = self.crawler.spider.source_of(item)
        kwargs = {
            "ignore": source.ignore,
            "source_region": source.region,
            "source_category": source.category,
            "with_signature": True,
        }
        if item.file_kind:
            kwargs["title_hint"] = item.list_title
        else:
            kwargs["content"] = source.content.spec if source.content is not None else None
            kwargs["min_chars"] = 0 if item.attachments else self.min_chars
        result = await self._run(item, kwargs)
        item.html, item.body = "", b""  # the page or file is not needed past this point
        if result is not None and item.attachments:
            own = own_text(result.text, item.attachments)
            if len(own) < self.min_chars:  # only links to its attachments: not an empty page
                lines = attachment_lines(item.attachments)
                text = "\n".join(x for x in (own, lines) if x)
                result.text, result.norm_text = text, normalize(text, source.ignore)
                result.meta["attachment_only"] = True
        if result is None or len(result.text) < self.min_chars:
            self.crawler.stats.inc_value("extract/empty")
            raise ExtractionError(f"empty extraction: {item.url}")
        item.text, item.norm_text = result.text, result.norm_text
        item.title = result.title or item.list_title
        item.published = result.published or date_from_list(item.list_date)
        item.meta = {**result.meta, "encoding": item.encoding} if item.encoding else result.meta
        if item.broken:  # the page had invalid byte sequences: dropped, and counted here
            item.meta["broken_bytes"] = item.broken
        item.facts, item.signature, item.shingles = result.facts, result.signature, result.shingles
        return item

    async def _run(self, item: DocumentItem, kwargs: dict[str, Any]) -> Extracted | None:
        call, what = (
            (_file_call, (item.body, item.file_kind))
            if item.file_kind
            else (_extract_call, item.html)
        )
        try:
            if self.pool is None and (self.workers <= 0 or self.in_process_left > 0):
                self.in_process_left -= 1
                self.crawler.stats.inc_value("extract/in_process")
                return call(what, item.url, kwargs)
            if not self._pool_ready():
                self.crawler.stats.inc_value("extract/in_process")
                return call(what, item.url, kwargs)
            self.crawler.stats.inc_value("extract/in_pool")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._start_pool(), call, what, item.url, kwargs)
        except FileError as exc:
            self.crawler.stats.inc_value(f"extract/{exc.kind}")
            raise ExtractionError(f"{item.file_kind} file: {exc}", exc.kind) from None
        except BrokenProcessPool:
            logger.error(
                "Extraction worker died on %(url)s; restarting the pool", {"url": item.url}
            )
            self.close_spider()
            raise ExtractionError(f"extraction worker died: {item.url}") from None
        except Exception as exc:  # a page that breaks the extractor is an error, not a crash
            logger.exception("Extraction failed on %(url)s", {"url": item.url})
            self.crawler.stats.inc_value("extract/failed")
            raise ExtractionError(f"extraction failed: {item.url}: {exc!r}") from None


def _extract_call(html: str, url: str, kwargs: dict[str, Any]) -> Extracted | None:
    return extract(html, url, **kwargs)


def _file_call(what: tuple[bytes, str], url: str, kwargs: dict[str, Any]) -> Extracted:
    body, kind = what
    return extract_file(body, kind, url, **kwargs)

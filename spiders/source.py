"""The spider every source runs: list pages, pagination, document pages.

It only fetches and follows links; text clean-up is the pipelines' job. Failures become
``ErrorItem``s so that the run log counts them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import scrapy
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError

from crawler.items import DocumentItem, ErrorItem
from crawler.middlewares import RedirectLoopError
from crawler.urls import canonical
from pipelines.text.charsets import UndecodablePage, decode_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from twisted.python.failure import Failure

    from crawler.sources import Source

HTML_TYPES = re.compile(rb"^(text/html|application/xhtml\+xml|text/plain)", re.I)
GONE = (404, 410)


class SourceSpider(scrapy.Spider):
    """Crawls one ``Source``: set as a class attribute by the spider loader."""

    source: ClassVar[Source]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.list_pages = 0

    @property
    def max_list_pages(self) -> int:
        return self.source.max_pages or self.settings.getint("LIST_MAX_PAGES")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        urls = list(self.source.start_urls)
        if self.source.pages:
            urls += [u for u in self.source.pages.urls() if u not in urls]
        for url in urls:
            yield self._list_request(url)

    def _list_request(self, url: str) -> scrapy.Request:
        self.list_pages += 1
        return scrapy.Request(
            url, callback=self.parse_list, errback=self.on_error, meta={"page_kind": "list"}
        )

    def parse_list(self, response: scrapy.http.Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            yield self._error(response.url, "not_html", "list page is not HTML", response.status)
            return
        links = self.source.links
        found = 0
        for url in self._urls(response, links):
            if links.allow and not re.search(links.allow, url):
                continue
            if links.deny and re.search(links.deny, url):
                continue
            found += 1
            yield self.document_request(url, list_url=response.url)
        self.crawler.stats.inc_value("govwatch/list_pages")
        self.crawler.stats.inc_value("govwatch/links_found", found)
        if found == 0:
            self.logger.warning("No document links on list page %(url)s", {"url": response.url})
        if self.source.next_page and self.list_pages < self.max_list_pages:
            for url in self._urls(response, self.source.next_page)[:1]:
                yield self._list_request(url)

    def document_request(self, url: str, **meta: Any) -> scrapy.Request:
        """A document page request; 304 and 404/410 answers reach parse_document."""
        return scrapy.Request(
            url, callback=self.parse_document, errback=self.on_error,
            meta={"page_kind": "document", "handle_httpstatus_list": [304, *GONE], **meta},
        )  # fmt: skip

    @staticmethod
    def _urls(response: TextResponse, selector: Any) -> list[str]:
        urls = []
        for node in selector.select(response):
            root = getattr(node, "root", None)
            href = node.attrib.get("href") if not isinstance(root, str) else root
            if href and not href.strip().lower().startswith(("javascript:", "mailto:", "#")):
                urls.append(response.urljoin(href.strip()))
        return urls

    def parse_document(self, response: scrapy.http.Response) -> Iterator[Any]:
        if response.status in GONE:
            yield ErrorItem(
                url=canonical(response.url),
                source=self.name,
                kind="gone",
                message=f"HTTP {response.status}",
                status=response.status,
            )
            return
        if response.status == 304:
            self.crawler.stats.inc_value("govwatch/not_modified")
            yield self._item(response, html="", encoding="")
            return
        ctype = response.headers.get(b"Content-Type") or b"text/html"
        if not isinstance(response, TextResponse) or not HTML_TYPES.match(ctype):
            yield self._error(
                response.url,
                "not_html",
                f"not an HTML page ({ctype.decode('latin-1')})",
                response.status,
            )
            return
        try:
            decoded = decode_body(response.body, ctype.decode("latin-1"))
        except UndecodablePage as exc:
            yield self._error(response.url, "charset", str(exc), response.status)
            return
        if decoded.corrected:
            self.crawler.stats.inc_value("govwatch/charset_corrected")
            self.logger.info(
                "Charset of %(url)s: declared %(declared)s, decoded as %(enc)s",
                {"url": response.url, "declared": decoded.declared, "enc": decoded.encoding},
            )
        yield self._item(response, html=decoded.text, encoding=decoded.encoding)

    def _item(self, response: scrapy.http.Response, html: str, encoding: str) -> DocumentItem:
        return DocumentItem(
            url=canonical(response.url),
            source=self.name,
            html=html,
            encoding=encoding,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            status=response.status,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            body_hash=hashlib.sha256(response.body).hexdigest() if response.body else None,
            known_body_hash=response.meta.get("known_body_hash"),
            list_url=response.meta.get("list_url"),
        )

    def on_error(self, failure: Failure) -> Iterator[ErrorItem]:
        request = failure.request
        status = None
        if failure.check(HttpError):
            status = failure.value.response.status
            kind, message = "http", f"HTTP {status}"
        elif failure.check(DNSLookupError, TimeoutError, TCPTimedOutError):
            kind, message = "network", failure.getErrorMessage() or failure.type.__name__
        elif failure.check(RedirectLoopError):
            kind, message = "redirect_loop", failure.getErrorMessage()
        elif failure.check(scrapy.exceptions.IgnoreRequest):
            kind, message = "ignored", failure.getErrorMessage() or "request ignored"
            if "robots" in message.lower():
                kind = "robots"
        else:
            kind, message = "network", f"{failure.type.__name__}: {failure.getErrorMessage()}"
            if "larger than download max size" in message:
                kind = "too_large"
        page_kind = request.meta.get("page_kind", "document")
        yield self._error(request.url, kind, f"{page_kind} page: {message}", status)

    def _error(self, url: str, kind: str, message: str, status: int | None) -> ErrorItem:
        self.logger.warning(
            "%(kind)s error on %(url)s: %(message)s", {"kind": kind, "url": url, "message": message}
        )
        return ErrorItem(url=url, source=self.name, kind=kind, message=message, status=status)


def _header(response: scrapy.http.Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None

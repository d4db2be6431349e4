"""The spider every source runs: list pages, pagination, document pages.

It only fetches and follows links; text clean-up is the pipelines' job. Failures become
``ErrorItem``s so that the run log counts them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

import scrapy
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError

from crawler.items import DocumentItem, ErrorItem
from crawler.middlewares import RedirectLoopError
from crawler.politeness import HostBlocked, OffsiteRequest
from crawler.urls import canonical
from pipelines.text.charsets import UndecodablePage, decode_body
from pipelines.text.files import MIME, kind_of
from spiders.blocked import BLOCKED_STATUSES, challenge_reason
from spiders.lists import (
    NotJson,
    api_entries,
    api_total_pages,
    attachment_links,
    html_links,
    load_json,
    script_pages,
)
from spiders.runstate import RunState, run_problems

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from twisted.python.failure import Failure

    from crawler.sources import Source

HTML_TYPES = re.compile(rb"^(text/html|application/xhtml\+xml|text/plain)", re.I)
GONE = (404, 410)
# Chromium on a server: no sandbox as root, no GPU, and none of its own calls home.
RENDER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--disable-extensions",
]  # fmt: skip


class SourceSpider(scrapy.Spider):
    """Crawls one ``Source``: set as a class attribute by the spider loader."""

    source: ClassVar[Source]

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        if cls.source.render:
            # Only a source with render: starts a browser, the system's Chromium
            handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
            handlers = {"http": handler, "https": handler}
            settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")
            settings.set("PLAYWRIGHT_BROWSER_TYPE", "chromium", priority="spider")
            if not settings.get("PLAYWRIGHT_LAUNCH_OPTIONS"):
                options = {
                    "executable_path": settings.get("RENDER_CHROMIUM"),
                    "headless": True,
                    "args": RENDER_ARGS,
                }
                settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", options, priority="spider")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state: RunState = RunState()  # what the run's list pages gave (its verdict)
        self.refused: str | None = None  # set by the version pipeline when another crawl runs

    def host_blocked(self, request: scrapy.Request) -> bool:
        """Whether the request's host answered with an anti-bot block earlier in this run."""
        return self.state.is_blocked(urlparse(request.url).hostname or "")

    def source_of(self, request: scrapy.Request) -> Source:
        return self.source

    @property
    def max_list_pages(self) -> int:
        return self.source.max_pages or self.settings.getint("LIST_MAX_PAGES")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.refused:  # another crawl of this source holds its lock
            return
        urls = list(self.source.start_urls)
        if self.source.pages:
            urls += [u for u in self.source.pages.urls() if u not in urls]
        for url in urls:
            yield self._list_request(url, script_paged=bool(self.source.pages))
        if self.source.api:
            yield self._api_request(self.source.api.first)

    def _render_meta(self, kind: str) -> dict[str, Any]:
        mode = self.source.render
        if mode == "all" or (mode == "list" and kind == "list"):
            return {"playwright": True, "playwright_page_goto_kwargs": {"wait_until": "load"}}
        return {}

    def _list_request(self, url: str, script_paged: bool = False) -> scrapy.Request:
        self.state.list_page()
        return scrapy.Request(
            url,
            callback=self.parse_list,
            errback=self.on_error,
            meta={"page_kind": "list", "script_paged": script_paged, **self._render_meta("list")},
        )

    def _api_request(self, page: int) -> scrapy.Request:
        api = self.source.api
        self.state.list_page()
        form, body = api.page_body(page)
        headers = {"Accept": "application/json, text/javascript, */*; q=0.01",
                   "X-Requested-With": "XMLHttpRequest", **api.headers}  # fmt: skip
        meta = {"page_kind": "list", "api_page": page}
        url = api.page_url(page)
        kwargs = {"callback": self.parse_api, "errback": self.on_error, "meta": meta}
        if form is not None:
            return scrapy.FormRequest(url, formdata=form, headers=headers, **kwargs)
        if body is not None:
            return scrapy.http.JsonRequest(url, data=body, headers=headers, **kwargs)
        return scrapy.Request(url, method=api.method, headers=headers, **kwargs)

    def parse_list(self, response: scrapy.http.Response) -> Iterator[Any]:
        if self._blocked(response):
            yield self._blocked_error(response)
            return
        if not isinstance(response, TextResponse):
            yield self._error(response.url, "list_http", "list page is not HTML", response.status)
            self.state.list_failed()
            return
        self.state.list_ok(response.url)
        found = 0
        for url in html_links(response, response.url, self.source.links):
            found += 1
            yield self.document_request(url, list_url=response.url)
        self._count_links(response.url, found)
        if self.source.next_page:
            if self.state.list_pages < self.max_list_pages:
                for url in html_links(response, response.url, self.source.next_page)[:1]:
                    yield self._list_request(url)
        elif not response.meta.get("script_paged"):
            # The page count is only in a script call: createPageHTML(...)
            left = self.max_list_pages - self.state.list_pages + 1
            for url in script_pages(response.text, response.url, left):
                yield self._list_request(url, script_paged=True)

    def parse_api(self, response: scrapy.http.Response) -> Iterator[Any]:
        if self._blocked(response):
            yield self._blocked_error(response)
            return
        api, page = self.source.api, response.meta["api_page"]
        try:
            data = load_json(response.body)
            entries = api_entries(data, api, response.url)
        except NotJson as exc:
            self.state.list_failed()
            yield self._error(response.url, "list_http", f"api page {page}: {exc}", 200)
            return
        self.state.list_ok(f"{response.url} (page {page})")
        for entry in entries:
            yield self.document_request(
                entry.url, list_url=response.url, list_title=entry.title, list_date=entry.date
            )
        if entries or page == api.first:  # an empty later page is where the list ends
            self._count_links(f"{response.url} (page {page})", len(entries))
        total = api_total_pages(data, api)
        more = entries and (api.last is None or page < api.last)
        more = more and (total is None or page < total)
        if more and self.state.list_pages < self.max_list_pages:
            yield self._api_request(page + 1)

    def _count_links(self, where: str, found: int) -> None:
        self.state.links(found)
        self.crawler.stats.inc_value("govwatch/list_pages")
        self.crawler.stats.inc_value("govwatch/links_found", found)
        if found == 0:
            self.logger.warning("No document links on list page %(url)s", {"url": where})

    def document_request(self, url: str, **meta: Any) -> scrapy.Request:
        """A document request (a page, or an attachment file); 304 and 404/410 answers reach
        parse_document. Files may be up to ATTACHMENTS_MAX_BYTES, and never go to a browser."""
        if kind_of(url):
            extra = {"download_maxsize": self.settings.getint("ATTACHMENTS_MAX_BYTES")}
        else:
            extra = self._render_meta("document")
        return scrapy.Request(
            url, callback=self.parse_document, errback=self.on_error,
            meta={"page_kind": "document", "handle_httpstatus_list": [304, *GONE],
                  **extra, **meta},
        )  # fmt: skip

    def _blocked(self, response: scrapy.http.Response) -> str | None:
        return challenge_reason(response.status, response.body)

    def _blocked_error(self, response: scrapy.http.Response) -> ErrorItem:
        reason = self._blocked(response) or f"HTTP {response.status}"
        host = urlparse(response.url).hostname or ""
        self.state.block(host)
        self.crawler.stats.inc_value("govwatch/blocked")
        if response.meta.get("page_kind") == "list":
            self.state.list_failed()
        kind = response.meta.get("page_kind", "document")
        return self._error(response.url, "blocked", f"{kind} page: {reason}", response.status)

    def run_problems(self) -> list[tuple[str, str, str]]:
        """Why this run failed as a whole (see ``spiders.runstate.run_problems``)."""
        return run_problems(self.state.snapshot())

    def parse_document(self, response: scrapy.http.Response) -> Iterator[Any]:
        if self._blocked(response):
            yield self._blocked_error(response)
            return
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
        asked = (response.meta.get("redirect_urls") or [response.url])[0]
        kind = kind_of(response.url, ctype.decode("latin-1")) or kind_of(asked)
        if kind:  # a file: what its bytes really are is checked by the extraction
            yield self._file_item(response, kind)
            return
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
        item = self._item(response, html=decoded.text, encoding=decoded.encoding)
        item.broken = decoded.broken
        if decoded.broken:
            self.crawler.stats.inc_value("govwatch/broken_bytes", decoded.broken)
        # found even when not fetched: a page that is only a link to its file is no error
        item.attachments = attachment_links(decoded.text, response.url, self.source.content)
        yield item
        for url, text in item.attachments if self.source.attachments else ():
            self.crawler.stats.inc_value("govwatch/attachment_links")
            yield self.document_request(url, parent=item.url, list_title=text or None)

    def _file_item(self, response: scrapy.http.Response, kind: str) -> DocumentItem:
        """An attachment (PDF, Word, OFD ...): its bytes go to the extraction pipeline."""
        item = self._item(response, html="", encoding="")
        item.file_kind, item.body, item.content_type = kind, response.body, MIME[kind]
        return item

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
            list_title=response.meta.get("list_title"),
            list_date=response.meta.get("list_date"),
            parent=response.meta.get("parent"),
        )

    def on_error(self, failure: Failure) -> Iterator[ErrorItem]:
        request = failure.request
        status = None
        page_kind = request.meta.get("page_kind", "document")
        if failure.check(HttpError):
            response = failure.value.response
            status = response.status
            if status in BLOCKED_STATUSES or self._blocked(response):
                yield self._blocked_error(response)
                return
            kind, message = "http", f"HTTP {status}"
        elif failure.check(DNSLookupError, TimeoutError, TCPTimedOutError):
            kind, message = "network", failure.getErrorMessage() or failure.type.__name__
        elif failure.check(RedirectLoopError):
            kind, message = "redirect_loop", failure.getErrorMessage()
        elif failure.check(OffsiteRequest):
            return  # counted by the guard (the run's offsite count), never fetched
        elif failure.check(HostBlocked):
            self.crawler.stats.inc_value("govwatch/skipped_blocked_host")
            return  # one blocked error per host is enough; the rest are not requested
        elif failure.check(scrapy.exceptions.IgnoreRequest):
            kind, message = "ignored", failure.getErrorMessage() or "request ignored"
            if "robots" in message.lower():
                kind = "robots"
        else:
            kind, message = "network", f"{failure.type.__name__}: {failure.getErrorMessage()}"
            if "larger than download max size" in message:
                kind = "too_large"
        if page_kind == "list":
            self.state.list_failed()
            kind = "list_http" if kind in ("http", "network", "too_large", "ignored") else kind
        yield self._error(request.url, kind, f"{page_kind} page: {message}", status)

    def _error(self, url: str, kind: str, message: str, status: int | None) -> ErrorItem:
        self.logger.warning(
            "%(kind)s error on %(url)s: %(message)s", {"kind": kind, "url": url, "message": message}
        )
        return ErrorItem(url=url, source=self.name, kind=kind, message=message, status=status)


def _header(response: scrapy.http.Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None

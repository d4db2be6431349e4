"""Pages for ``govwatch extract``: a local file or a URL, decoded exactly as a crawl decodes
a response (Scrapy's TextResponse: BOM, HTTP header, <meta>, then detection), then extracted.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.http import Headers, TextResponse
from scrapy.responsetypes import responsetypes

from crawler import settings as defaults
from pipelines.extractor import extract, extract_file
from pipelines.text.charsets import decode_body
from pipelines.text.files import FileError, kind_of

MAX_BYTES = defaults.DOWNLOAD_MAXSIZE
MAX_FILE_BYTES = defaults.ATTACHMENTS_MAX_BYTES  # PDF, Word, OFD ... may be larger than pages


def decode(body: bytes, url: str, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """``(text, encoding)`` of ``body``, as a crawl decodes it; ValueError when it is not a
    text page or cannot be decoded cleanly."""
    hdrs = Headers(headers or {})
    cls = responsetypes.from_args(headers=hdrs, url=url, body=body)
    if not issubclass(cls, TextResponse):
        raise ValueError("not an HTML page")
    ctype = hdrs.get(b"Content-Type")
    decoded = decode_body(body, ctype.decode("latin-1") if ctype else None)
    return decoded.text, decoded.encoding


def read_input(item: str) -> tuple[bytes, str, dict[str, str]]:
    if item.startswith(("http://", "https://")):
        request = urllib.request.Request(item, headers={"User-Agent": defaults.USER_AGENT})
        with urllib.request.urlopen(request, timeout=defaults.DOWNLOAD_TIMEOUT) as resp:
            body = resp.read(MAX_FILE_BYTES + 1)
            headers = {k: v for k, v in resp.headers.items()}
            url = resp.geturl()
    else:
        path = Path(item)
        if not path.exists():
            raise ValueError("no such file")
        if not path.is_file():  # a folder, /dev/zero, a pipe: never read without end
            raise ValueError("not a regular file")
        with path.open("rb") as fh:
            body = fh.read(MAX_FILE_BYTES + 1)
        url, headers = path.resolve().as_uri(), {}
    limit = MAX_FILE_BYTES if kind_of(url, headers.get("Content-Type")) else MAX_BYTES
    if len(body) > limit:
        raise ValueError(f"larger than {limit} bytes")
    return body, url, headers


@dataclass
class Fetched:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes


def fetch_url(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """One polite request for the dry-run tools (``check``, ``probe``): our user agent, the
    crawl's timeout and size limit; an HTTP error status is returned, not raised. Only http(s)
    URLs; robots.txt is obeyed (a robots.txt answering 5xx disallows everything)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http(s) URL")
    if not robots_allow(url):
        raise ValueError(f"robots.txt of {url} disallows it")
    hdrs = {"User-Agent": defaults.USER_AGENT, **(headers or {})}
    request = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(request, timeout=defaults.DOWNLOAD_TIMEOUT) as resp:
            body = resp.read(MAX_FILE_BYTES + 1)
            status, final, got = resp.status, resp.geturl(), dict(resp.headers.items())
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_BYTES + 1)
        status, final, got = exc.code, url, dict(exc.headers.items())
    if len(body) > MAX_BYTES:
        raise ValueError(f"{url}: larger than {MAX_BYTES} bytes")
    return Fetched(final, status, got, body)


def robots_allow(url: str) -> bool:
    import urllib.robotparser
    from urllib.parse import urljoin

    robots = urljoin(url, "/robots.txt")
    request = urllib.request.Request(robots, headers={"User-Agent": defaults.USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=defaults.DOWNLOAD_TIMEOUT) as resp:
            lines = resp.read(512 * 1024).decode("utf-8", "replace").splitlines()
    except urllib.error.HTTPError as exc:
        return exc.code < 500  # RFC 9309: unavailable (4xx) allows, unreachable (5xx) does not
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(lines)
    return parser.can_fetch(defaults.USER_AGENT, url)


def extract_input(item: str) -> dict[str, Any]:
    """One JSON-ready result for ``item``: source, title, published, text, ... or error."""
    try:
        body, url, headers = read_input(item)
        kind = kind_of(url, headers.get("Content-Type"))
        if kind:  # an attachment file: PDF, Word, WPS, OFD, spreadsheet, text
            result, encoding = extract_file(body, kind, url), None
        else:
            text, encoding = decode(body, url, headers)
            result = extract(text, url)
    except FileError as exc:
        return {"source": item, "error": str(exc), "kind": exc.kind}
    except (OSError, ValueError) as exc:
        return {"source": item, "error": str(exc)}
    if result is None:
        return {"source": item, "error": "no usable text extracted"}
    return {
        "source": item,
        "title": result.title,
        "published": result.published,
        "text": result.text,
        "encoding": encoding,
        **result.meta,
    }

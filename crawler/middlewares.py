"""Downloader middlewares of govwatch.

RedirectLoopMiddleware: a redirect back to a URL already in the request's redirect chain is a
loop. Scrapy's duplicate filter would drop the looping request silently; we raise IgnoreRequest
instead, so that the spider's errback records it as an error of the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest
from w3lib.url import safe_url_string

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

REDIRECTS = {301, 302, 303, 307, 308}


class RedirectLoopError(IgnoreRequest):
    """The page redirects back to itself or to an earlier URL of its chain."""


class RedirectLoopMiddleware:
    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in REDIRECTS or not location:
            return response
        target = safe_url_string(response.urljoin(location.decode("latin-1")))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise RedirectLoopError(f"redirect loop: {' -> '.join([*chain, target])}")
        return response

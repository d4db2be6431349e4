"""The sample site's HTTP side: GET pages (and /cms/ answers), POST /cms/ lists and the
control endpoints (edit, remove, restore) that tests and benchmarks call."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_SECONDS = 30
ROBOTS = "User-agent: *\nDisallow: /private/\n"


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is normal
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    site: Any  # the SampleSite this handler serves
    server_version = "SampleSite/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read their own logs
        pass

    def do_GET(self) -> None:
        site = self.site
        with site.traffic_lock:  # requests in flight at once, for the per-site limit tests
            site.in_flight += 1
            site.max_in_flight = max(site.max_in_flight, site.in_flight)
            site.started.append((time.monotonic(), self.path))
        try:
            if site.slow and not self.path.startswith("/robots.txt"):
                time.sleep(site.slow)
            self._get()
        finally:
            with site.traffic_lock:
                site.in_flight -= 1

    def _get(self) -> None:
        path, _, query = self.path.split("#", 1)[0].partition("?")
        self.site.hits[path] = self.site.hits.get(path, 0) + 1
        if path.startswith("/cms/"):
            self._cms("GET", path, query, b"")
            return
        if path == "/robots.txt":
            status, robots = self.site.robots
            self._send(status, "text/plain", robots.encode(), {})
            return
        if path == "/broken/hang.html":  # a server that never answers (bounded, for tests)
            time.sleep(HANG_SECONDS)
        status, ctype, body, headers = self.site.render(path)

        etag = headers.get("ETag")
        if status == 200 and etag and self.headers.get("If-None-Match") == etag:
            self._send(304, None, b"", headers)
            return
        self._send(status, ctype, body, headers)

    def _cms(self, method: str, path: str, query: str, body: bytes) -> None:
        answer = self.site.cms.answer(method, path, query, body)
        if answer is None:
            answer = (404, "text/html; charset=utf-8", "<h1>404 页面不存在</h1>".encode(), {})
        self._send(*answer)

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        if path.startswith("/cms/"):
            self.site.hits[path] = self.site.hits.get(path, 0) + 1
            length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
            self._cms("POST", path, query, self.rfile.read(length))
            return
        action = self.path.rsplit("/", 1)[-1]
        try:
            data = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            if action == "edit":
                self.site.edit(data["path"], data["old"], data["new"])
            elif action in ("remove", "restore"):
                getattr(self.site, action)(data["path"])
            else:
                raise KeyError(action)
        except (KeyError, ValueError) as exc:
            self._send(400, "text/plain; charset=utf-8", str(exc).encode(), {})
            return
        self._send(200, "text/plain", b"ok", {})

    def _send(self, status: int, ctype: str | None, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        # this server closes the connection after each answer (HTTP/1.0): said out loud, so
        # that a client never keeps it for a next request (a POST sent on it would fail)
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

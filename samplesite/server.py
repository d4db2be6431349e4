"""The embedded sample site: an HTTP server on 127.0.0.1 serving pages built from the seeds.

``SampleSite`` serves the five seed sites (see pages.py) and, with ``generated=N``, N recombined
documents under /gen/. Its pages can be edited, removed and restored while it runs, from Python
(``site.edit(path, old, new)``) or over HTTP (POST /__admin__/edit with JSON {path, old, new}),
to show a change. Used by ``govwatch demo``, the tests and the benchmarks.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
from dataclasses import replace
from email.utils import formatdate
from http.server import ThreadingHTTPServer
from typing import Any

from . import pages as P
from .cms import Cms
from .handler import ROBOTS, Handler, Server
from .oddities import broken_page, charset_page, offsite_page

GEN_PER_PAGE = 20
INVEST_PER_PAGE = 4


class SampleSite:
    def __init__(
        self, generated: int = 0, portal_shape: bool = False, counters: bool = True
    ) -> None:
        """``generated``: that many recombined documents under /gen/. ``portal_shape``: in
        the shape real portals have (the performance benchmark's): 20 to 40 paragraphs, 8,400
        characters on average, every third document a GBK page of the district-portal style,
        and a visit counter on every document page (unless ``counters`` is False: then the
        pages never change and carry validators, for re-check benchmarks)."""
        invest = P.invest_docs()
        self.docs: dict[str, P.Doc] = {d.path: d for d in invest}
        others = [
            P.aggregator_doc(),
            P.mirror_doc(),
            P.docshare_doc(),
            P.changshu_doc(),
            P.wuzhong_doc(),
        ]
        for d in [*P.wujiang_docs(invest), *others]:
            self.docs[d.path] = d
        self.generated = generated
        self.portal_shape = portal_shape
        self.counters = counters
        self.cms = Cms()
        self.traffic_lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.started: list[tuple[float, str]] = []  # (monotonic time, path) of each request
        self.slow = 0.0  # seconds each answer takes (for the per-site limit tests)
        self.robots: tuple[int, str] = (200, ROBOTS)  # status and body of /robots.txt
        self.removed: set[str] = set()
        self.modified: dict[str, float] = {}
        self.hits: dict[str, int] = {}
        self._counter = itertools.count(1000)
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.validators = True  # send ETag/Last-Modified and answer 304
        self.volatile = False  # counters, a clock and a shuffled sidebar on article pages
        self.day = 0  # the clock's day, for volatile pages
        self.stamps = False  # a token that changes on every load, inside the article text
        self.failures: dict[str, list[int]] = {}  # path -> statuses to answer next, in order
        self.maintenance: dict[str, int] = {}  # path -> times to serve a maintenance page
        self.unlisted: set[str] = set()
        self._rng = random.Random(0)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("Handler", (Handler,), {"site": self})
        self.server = Server((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, name="sample-site"
        )
        self.thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> SampleSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- edits -----------------------------------------------------------------------------

    def doc(self, path: str) -> P.Doc:
        if path in self.docs:
            return self.docs[path]
        if path.startswith("/gen/doc/"):
            i = int(path.rsplit("/", 1)[1].split(".")[0])
            if 1 <= i <= self.generated:
                return self.docs.setdefault(path, P.generated_doc(i, long=self.portal_shape))
        raise KeyError(path)

    def edit(self, path: str, old: str, new: str) -> None:
        """Replace ``old`` by ``new`` in the title or text of the document at ``path``."""
        if path.startswith("/cms/"):
            self.cms.edit(path, old, new)
            return
        with self._lock:
            doc = self.doc(path)
            if old not in doc.title and not any(old in p for p in doc.paragraphs):
                raise ValueError(f"{old!r} is not in {path}")
            self.docs[path] = replace(
                doc,
                title=doc.title.replace(old, new),
                paragraphs=[p.replace(old, new) for p in doc.paragraphs],
            )
            self.modified[path] = self.modified.get(path, 1_700_000_000) + 3600

    def mutate(
        self, path: str, paragraphs: list[str] | None = None, title: str | None = None
    ) -> None:
        """Replace the paragraphs and/or the title of the document at ``path``."""
        with self._lock:
            doc = self.doc(path)
            self.docs[path] = replace(
                doc, paragraphs=list(paragraphs or doc.paragraphs), title=title or doc.title
            )
            self.modified[path] = self.modified.get(path, 1_700_000_000) + 3600

    def remove(self, path: str) -> None:
        """Answer 404 for ``path`` and drop it from its list."""
        self.removed.add(path)

    def restore(self, path: str) -> None:
        self.removed.discard(path)

    def fail(self, path: str, status: int = 503, times: int = 1) -> None:
        """Answer ``status`` for the next ``times`` requests of ``path``."""
        self.failures.setdefault(path, []).extend([status] * times)

    def serve_maintenance(self, path: str, times: int = 1) -> None:
        """Serve a near-empty maintenance page (status 200) for the next ``times`` requests."""
        self.maintenance[path] = self.maintenance.get(path, 0) + times

    def unlist(self, path: str) -> None:
        """Drop ``path`` from its list page; the page itself stays."""
        self.unlisted.add(path)

    # -- sources ---------------------------------------------------------------------------

    def sources(self, base: str | None = None) -> list[dict[str, Any]]:
        """Source entries (sources.yaml shape) for the sample sites."""
        b = base or self.base_url
        entries = [
            {
                "name": "sample_invest",
                "title": "苏州投资网 招商资讯",
                "region": "苏州市",
                "category": "investment_news",
                "start_urls": [f"{b}/invest/list.html"],
                "links": {"css": "ul.news-list li a"},
                "next_page": {"xpath": "//a[text()='下一页']"},
                "schedule": {"every": "6h"},
            },
            {
                "name": "sample_wujiang",
                "title": "吴江区人民政府 市(县)区 重点工作",
                "region": "吴江区",
                "category": "work_report",
                "start_urls": [f"{b}/wujiang/col/index.html"],
                "pages": {"template": f"{b}/wujiang/col/index_{{n}}.html", "first": 1, "last": 1},
                "links": {"css": "ul.list a", "allow": r"/art/"},
                "content": "#zoom",
                "schedule": {"cron": "0 7 * * *"},
            },
            {
                "name": "sample_aggregator",
                "title": "博县网 政府工作报告 华东",
                "region": "苏州市",
                "category": "work_report",
                "start_urls": [f"{b}/bxw/baogao/huadong/"],
                "links": {"xpath": "//ul[@class='list']//a"},
                "schedule": {"every": "1d"},
            },
            {
                "name": "sample_mirror",
                "title": "镜像站 政府工作报告",
                "region": "常熟市",
                "category": "work_report",
                "start_urls": [f"{b}/mirror/"],
                "links": {"css": "ul.list a"},
                "schedule": {"every": "1d"},
            },
            {
                "name": "sample_docshare",
                "title": "公寻网 文档",
                "region": "太仓市",
                "category": "work_report",
                "start_urls": [f"{b}/docshare/list.html"],
                "links": {"css": "ul.list a"},
                "schedule": {"every": "1d"},
            },
            {
                "name": "sample_changshu",
                "title": "常熟市人民政府 政府工作报告",
                "region": "常熟市",
                "category": "work_report",
                "start_urls": [f"{b}/changshu/col/index.html"],
                "links": {"css": "ul.list a"},
                "content": "#zoom",
                "schedule": {"every": "1d"},
            },
            {
                "name": "sample_wuzhong",
                "title": "吴中区人民政府 政府工作报告",
                "region": "吴中区",
                "category": "work_report",
                "start_urls": [f"{b}/wuzhong/col/index.html"],
                "links": {"css": "ul.list a"},
                "content": "#zoom",
                "schedule": {"every": "1d"},
            },
        ]
        if self.generated:
            entries.append(
                {
                    "name": "sample_generated",
                    "title": "生成的招商资讯",
                    "region": "苏州市",
                    "category": "investment_news",
                    "start_urls": [f"{b}/gen/list.html"],
                    "links": {"css": "ul.news-list li a"},
                    "next_page": {"xpath": "//a[text()='下一页']"},
                    "max_pages": self.generated // GEN_PER_PAGE + 2,
                }
            )
        return entries

    def broken_source(self, base: str | None = None) -> dict[str, Any]:
        """A source whose list links to pages that fail, plus one good page."""
        b = base or self.base_url
        return {
            "name": "sample_broken",
            "title": "坏页面",
            "region": "苏州市",
            "category": "other",
            "start_urls": [f"{b}/broken/list.html", f"{b}/broken/no-such-list.html"],
            "links": {"css": "ul.list a"},
        }

    def charset_source(self, base: str | None = None) -> dict[str, Any]:
        """A source whose pages declare their charset wrongly, or not at all."""
        b = base or self.base_url
        return {
            "name": "sample_charsets",
            "title": "字符集",
            "region": "苏州市",
            "category": "other",
            "start_urls": [f"{b}/charset/list.html"],
            "links": {"css": "ul.list a"},
        }

    def cms_sources(self, base: str | None = None) -> list[dict[str, Any]]:
        """Source entries of the CMS-style portal (JSON, POST, script-paged, rendered, blocked,
        redesigned lists); the first four are healthy and crawled by the demo."""
        return self.cms.sources(base or self.base_url)

    def sources_yaml(
        self, base: str | None = None, entries: list[dict[str, Any]] | None = None, **settings: Any
    ) -> str:
        import yaml

        entries = entries if entries is not None else self.sources(base)
        if settings:
            for e in entries:
                e["settings"] = dict(settings)

        class NoAliases(yaml.SafeDumper):  # sources files may not use aliases: write none
            def ignore_aliases(self, data: Any) -> bool:
                return True

        return yaml.dump(
            {"sources": entries}, Dumper=NoAliases, allow_unicode=True, sort_keys=False
        )

    # -- rendering -------------------------------------------------------------------------

    def render(self, path: str) -> tuple[int, str, bytes, dict[str, str]]:
        """``(status, content type, body, headers)`` for ``path``."""
        if path in self.removed:
            return 404, "text/html; charset=utf-8", b"<h1>404 Not Found</h1>", {}
        with self._lock:
            if self.failures.get(path):
                return self.failures[path].pop(0), "text/html", b"<h1>Service Unavailable</h1>", {}
            if self.maintenance.get(path):
                self.maintenance[path] -= 1
                return 200, "text/html; charset=utf-8", P.MAINTENANCE.encode(), {}
        broken = broken_page(path) or (charset_page(path) if path.startswith("/charset/") else None)
        if path.startswith("/offsite/") and self.server is not None:
            broken = offsite_page(path, self.server.server_address[1])
        if broken is not None:
            return broken
        route = self._route(path)
        if route is None:
            return 404, "text/html; charset=utf-8", "<h1>404 页面不存在</h1>".encode(), {}
        html, encoding = route
        headers: dict[str, str] = {}
        if not self.counters:
            html = html.replace(P.COUNTER, "1000")
        if P.COUNTER in html:  # a page with a counter changes on every load: no validators
            today = f"2025年7月{1 + self.day % 28}日 星期{'一二三四五六日'[self.day % 7]}"
            html = html.replace(P.COUNTER, str(next(self._counter))).replace(P.TODAY, today)
        elif self.validators:
            headers["Last-Modified"] = formatdate(
                self.modified.get(path, 1_700_000_000), usegmt=True
            )
        body = html.encode(encoding)
        if "Last-Modified" in headers:
            headers["ETag"] = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        ctype = "text/html" if encoding != "utf-8" else "text/html; charset=utf-8"
        return 200, ctype, body, headers

    def _listed(self, site: str) -> list[P.Doc]:
        return [
            d
            for d in self.docs.values()
            if d.site == site and d.path not in self.removed and d.path not in self.unlisted
        ]

    def _route(self, path: str) -> tuple[str, str] | None:
        try:
            doc = self.doc(path)
        except (KeyError, ValueError):
            return self._route_list(path)
        if doc.site == "gen" and self.portal_shape:
            i = int(path.rsplit("/", 1)[1].split(".")[0])
            if i % 3 == 0:
                return P.render_wujiang_doc(doc), "gb18030"
            return P.render_invest_doc(doc, [], volatile=self.counters), "utf-8"
        if doc.site in ("invest", "gen"):
            titles = [d.title for d in self._listed("invest")[:5]]
            if self.volatile:
                self._rng.shuffle(titles)
            stamp = f"{self._rng.getrandbits(40):x}" if self.stamps else ""
            return P.render_invest_doc(doc, titles, self.volatile, stamp), "utf-8"
        renderers = {
            "wujiang": (P.render_wujiang_doc, "gb18030"),
            "changshu": (P.render_wujiang_doc, "gb18030"),
            "wuzhong": (P.render_wujiang_doc, "gb18030"),
            "bxw": (P.render_aggregator_doc, "utf-8"),
            "mirror": (P.render_mirror_doc, "utf-8"),
            "docshare": (P.render_docshare_doc, "utf-8"),
        }
        func, encoding = renderers[doc.site]
        return func(doc), encoding

    def _route_list(self, path: str) -> tuple[str, str] | None:
        lists = {
            "/bxw/baogao/huadong/": ("政府工作报告_华东_博县网", "bxw"),
            "/mirror/": ("政府工作報告", "mirror"),
            "/docshare/list.html": ("政府工作报告 文档", "docshare"),
            "/changshu/col/index.html": ("政府工作报告_常熟市人民政府", "changshu"),
            "/wuzhong/col/index.html": ("政府工作报告_吴中区人民政府", "wuzhong"),
        }
        if path in lists:
            title, site = lists[path]
            return P.render_simple_list(title, self._listed(site)), "utf-8"
        if path.startswith("/invest/list"):
            return self._paged(path, "/invest/list", self._listed("invest"), INVEST_PER_PAGE)
        if path.startswith("/gen/list"):
            paths = (f"/gen/doc/{i}.html" for i in range(1, self.generated + 1))
            items = [self.doc(p) for p in paths if p not in self.removed and p not in self.unlisted]
            return self._paged(path, "/gen/list", items, GEN_PER_PAGE)
        if path in ("/wujiang/col/index.html", "/wujiang/col/index_1.html"):
            page = 0 if path.endswith("index.html") else 1
            return P.render_wujiang_list(self._listed("wujiang")[page : page + 1], page), "gb18030"
        return None

    @staticmethod
    def _paged(path: str, prefix: str, items: list[P.Doc], per_page: int) -> tuple[str, str] | None:
        pages = max(1, -(-len(items) // per_page))
        suffix = path[len(prefix) :]
        if suffix == ".html":
            page = 1
        elif suffix.startswith("_") and suffix.endswith(".html") and suffix[1:-5].isdigit():
            page = int(suffix[1:-5])
        else:
            return None
        if not 1 <= page <= pages:
            return None
        chunk = items[(page - 1) * per_page : page * per_page]
        return P.render_invest_list(chunk, page, pages, prefix), "utf-8"

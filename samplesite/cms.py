"""A CMS-style portal under /cms/, built the way the real Suzhou portals are.

Each column is one of the list structures the portals use (data table ``COLUMNS`` first):

- ``json``: a JSON GET endpoint like suzhou.gov.cn's ``/szinf/info/getInfoCommon/``
  (``{"infolist": [{"title", "link", "pubtime"}]}``, pages by ``currpage``); its documents carry
  no date of their own, so the list's date is the one to keep;
- ``post``: an AJAX POST endpoint like wujiang.gov.cn's ``/appsearch/wjapi/list`` (form
  ``channel_id``, ``currentPage``, ``pageSize``), answering ``{"data": {"list": [...],
  "totalPage": N}}`` encoded twice (a JSON string), as that portal does;
- ``ks``: static pages ``common_list.shtml``, ``common_list_2.shtml`` ... paged only by
  ``createPageHTML('page_div', N, 1, 'common_list', 'shtml', records)``;
- ``trs``: ``index.html``, ``index_1.html`` ... paged by ``createPageHTML(N, 0, "index",
  "html")``;
- ``script``: a list that a script builds in the browser, with no endpoint;
- ``waf``: a host behind an anti-bot gateway: HTTP 412 and a JavaScript cookie challenge;
- ``redesign``: a list whose markup changed, so that the old selector matches nothing.

The ``trs`` column's documents carry attachments under ``/cms/trs/files/`` (samplesite.files):
the first links the report as a PDF and a DOCX, the second an OFD and an XLSX table, the third
is an attachment-only page ("附件：....pdf" and nothing else).

Documents are ``/cms/<column>/YYYYMM/<32 hex>.shtml`` with the body in ``#UCAP-CONTENT``, the
title in ``<meta name="ArticleTitle">`` and the date in ``<meta name="PubDate">``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs

from . import files as F
from . import pages as P

PER_PAGE = 3
CHANNEL = "5057aeffb1a84a7e8aeded87728da48c"
# column -> (region, topic, number of documents)
COLUMNS = {
    "json": ("苏州市", "苏州要闻", 7),
    "post": ("吴江区", "政府文件", 8),
    "ks": ("昆山市", "招商引资", 7),
    "trs": ("太仓市", "政策文件", 5),
    "script": ("常熟市", "通知公告", 4),
    "waf": ("张家港市", "政务公开", 2),
    "redesign": ("吴中区", "工作动态", 3),
}
CHALLENGE = (
    "<html><head><meta charset='utf-8'></head><body><script>"
    "var x='__jsl_clearance=1700000000.1|0|abc';document.cookie=x+';path=/';"
    "setTimeout(function(){location.href=location.pathname+location.search},1500);"
    "</script></body></html>"
)
Answer = tuple[int, str, bytes, dict[str, str]]
JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"


@dataclass
class CmsDoc:
    path: str
    title: str
    date: str
    paragraphs: list[str]
    column: str


@dataclass
class CmsFile:
    path: str
    kind: str  # pdf | docx | ofd | xlsx
    title: str
    paragraphs: list[str]

    def body(self) -> bytes:
        make = {"pdf": F.make_pdf, "docx": F.make_docx, "ofd": F.make_ofd, "xlsx": F.make_xlsx}
        return make[self.kind](self.title, self.paragraphs)


FILE_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "ofd": "application/ofd",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _files(docs: list[CmsDoc]) -> dict[str, list[CmsFile]]:
    """Attachments of the trs column's first three documents, keyed by the document's path."""
    pool = P.paragraph_pool()
    report = "2024年太仓市政府工作报告"
    body = [pool[(7 * k + 3) % len(pool)] for k in range(12)]
    plan = [
        [("pdf", report, body), ("docx", f"{report}（全文）", body[:6])],
        [("ofd", "太仓市招商引资政策汇编", body[4:10]), ("xlsx", "重点项目清单", body[:4])],
        [("pdf", "太仓市2024年重大项目投资计划", body[6:])],
    ]
    out = {}
    for doc, files in zip(docs, plan, strict=False):
        out[doc.path] = [
            CmsFile(f"/cms/trs/files/{hashlib.md5(t.encode()).hexdigest()[:12]}.{k}", k, t, list(p))
            for k, t, p in files
        ]
    return out


def _docs() -> dict[str, list[CmsDoc]]:
    pool = P.paragraph_pool()
    out: dict[str, list[CmsDoc]] = {}
    n = 0
    for column, (region, topic, count) in COLUMNS.items():
        docs = []
        for i in range(count):
            n += 1
            key = hashlib.md5(f"{column}/{i}".encode()).hexdigest()
            month = 1 + i % 12
            paragraphs = [pool[(n * 7 + k) % len(pool)] for k in range(3)]
            docs.append(
                CmsDoc(
                    f"/cms/{column}/2024{month:02d}/{key}.shtml",
                    f"{region}{topic}：{paragraphs[0][:14].rstrip('，。,')}（{2024}第{i + 1}号）",
                    f"2024-{month:02d}-{1 + i % 28:02d}",
                    [f"{region}{topic}第{i + 1}号。", *paragraphs],
                    column,
                )
            )
        out[column] = docs
    return out


class Cms:
    def __init__(self) -> None:
        self.columns = _docs()
        self.docs = {d.path: d for docs in self.columns.values() for d in docs}
        self.attachments = _files(self.columns["trs"])
        self.files = {f.path: f for fs in self.attachments.values() for f in fs}
        self.lock = threading.Lock()

    def edit(self, path: str, old: str, new: str) -> None:
        """Replace ``old`` by ``new`` in a document page or an attachment file."""
        doc = self.docs.get(path) or self.files[path]
        with self.lock:
            if not any(old in p for p in doc.paragraphs):
                raise ValueError(f"{old!r} is not in {path}")
            doc.paragraphs = [p.replace(old, new) for p in doc.paragraphs]

    def sources(self, b: str) -> list[dict]:
        """Source entries for the CMS columns; the first four are the demo's."""

        def common() -> dict:  # a fresh copy for each entry
            return {"content": "#UCAP-CONTENT, ucapcontent", "schedule": {"every": "6h"}}

        return [
            {
                "name": "cms_json",
                "title": "苏州市人民政府 苏州要闻 (JSON GET list)",
                "region": "苏州市",
                "category": "news",
                "api": {
                    "url": f"{b}/cms/szinf/info/getInfoCommon/?pagesize={PER_PAGE}"
                    f"&currpage={{page}}&channelid={CHANNEL}",
                    "items": "infolist",
                    "link": "link",
                    "title": "title",
                    "date": "pubtime",
                    "pages": {"first": 1, "last": 10},
                },
                **common(),
            },
            {
                "name": "cms_post",
                "title": "吴江区人民政府 政府文件 (POST list)",
                "region": "吴江区",
                "category": "policy",
                "api": {
                    "url": f"{b}/cms/appsearch/wjapi/list",
                    "method": "POST",
                    "form": {"channel_id": CHANNEL, "currentPage": "{page}", "pageSize": "3"},
                    "items": "data.list",
                    "link": "url",
                    "title": "title",
                    "date": "published_time",
                    "total_pages": "data.totalPage",
                },
                **common(),
            },
            {
                "name": "cms_script_pages",
                "title": "昆山市 / 太仓市 (createPageHTML lists)",
                "region": "昆山市",
                "category": "investment_news",
                "start_urls": [f"{b}/cms/ks/common_list.shtml", f"{b}/cms/trs/index.html"],
                "links": {"css": "ul.list li a"},
                **common(),
            },
            {
                "name": "cms_rendered",
                "title": "常熟市 通知公告 (list built by a script)",
                "region": "常熟市",
                "category": "notice",
                "start_urls": [f"{b}/cms/script/list.html"],
                "links": {"css": "#list li a"},
                "render": "list",
                **common(),
            },
            {
                "name": "cms_blocked",
                "title": "张家港市 政务公开 (anti-bot gateway)",
                "region": "张家港市",
                "category": "notice",
                "start_urls": [f"{b}/cms/waf/list.html"],
                "links": {"css": "ul.list li a"},
                **common(),
            },
            {
                "name": "cms_redesigned",
                "title": "吴中区 工作动态 (redesigned list)",
                "region": "吴中区",
                "category": "news",
                "start_urls": [f"{b}/cms/redesign/list.html"],
                "links": {"css": "ul.list li a"},
                **common(),
            },
        ]

    # -- answers -------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: str, body: bytes) -> Answer | None:
        args = {k: v[-1] for k, v in parse_qs(query).items()}
        if method == "POST":
            args.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
        if path == "/cms/szinf/info/getInfoCommon/":
            return self._json_list(args)
        if path == "/cms/appsearch/wjapi/list":
            return self._post_list(args) if method == "POST" else (405, HTML, b"POST only", {})
        if path.startswith("/cms/waf/"):
            return 412, HTML, CHALLENGE.encode(), {}
        if path in self.docs:
            return 200, HTML, self._document(self.docs[path]).encode(), {}
        if path in self.files:
            file = self.files[path]
            with self.lock:
                body = file.body()
            return 200, FILE_TYPES[file.kind], body, {}
        page = self._list_page(path)
        return (200, HTML, page.encode(), {}) if page is not None else None

    def _json_list(self, args: dict[str, str]) -> Answer:
        if args.get("channelid") != CHANNEL:
            return 200, JSON, b'{"infolist": []}', {}
        size, page = _int(args.get("pagesize"), PER_PAGE), _int(args.get("currpage"), 1)
        docs = self.columns["json"][(page - 1) * size : page * size]
        infolist = [
            {"title": d.title, "link": d.path, "pubtime": f"{d.date} 09:30:00"} for d in docs
        ]
        return 200, JSON, json.dumps({"infolist": infolist}, ensure_ascii=False).encode(), {}

    def _post_list(self, args: dict[str, str]) -> Answer:
        all_docs = self.columns["post"] if args.get("channel_id") == CHANNEL else []
        size, page = _int(args.get("pageSize"), 20), _int(args.get("currentPage"), 1)
        docs = all_docs[(page - 1) * size : page * size]
        data = {
            "list": [{"title": d.title, "url": d.path, "published_time": d.date} for d in docs],
            "totalPage": -(-len(all_docs) // size),
            "total": len(all_docs),
        }
        inner = json.dumps({"code": 200, "data": data}, ensure_ascii=False)
        return 200, JSON, json.dumps(inner, ensure_ascii=False).encode(), {}

    def _list_page(self, path: str) -> str | None:
        column, _, name = path.removeprefix("/cms/").partition("/")
        docs = self.columns.get(column)
        if docs is None:
            return None
        if column in ("ks", "trs"):
            return self._script_paged(column, name, docs)
        if name != "list.html":
            return None
        if column == "script":
            items = json.dumps([{"t": d.title, "u": d.path} for d in docs], ensure_ascii=False)
            script = (
                f"var items={items};var ul=document.getElementById('list');"
                "items.forEach(function(i){var li=document.createElement('li');"
                "var a=document.createElement('a');a.href=i.u;a.textContent=i.t;"
                "li.appendChild(a);ul.appendChild(li);});"
            )
            return _page("通知公告", f'<ul id="list"></ul><script>{script}</script>')
        if column == "redesign":
            cards = "".join(
                f'<div class="news-card"><h3 data-href="{d.path}">{P.esc(d.title)}</h3>'
                f"<time>{d.date}</time></div>"
                for d in docs
            )
            return _page("工作动态", f'<section class="cards">{cards}</section>')
        return _page("政务公开", _ul(docs))

    def _script_paged(self, column: str, name: str, docs: list[CmsDoc]) -> str | None:
        pages = -(-len(docs) // PER_PAGE)
        if column == "ks":
            stem, ext, first = "common_list", "shtml", 1
        else:
            stem, ext, first = "index", "html", 0
        numbers = {f"{stem}.{ext}": first}
        numbers.update({f"{stem}_{n}.{ext}": n for n in range(first + 1, first + pages)})
        if name not in numbers:
            return None
        n = numbers[name] - first
        chunk = docs[n * PER_PAGE : (n + 1) * PER_PAGE]
        if column == "ks":
            call = f"createPageHTML('page_div', {pages}, {n + 1}, '{stem}', '{ext}', {len(docs)});"
        else:
            call = f'createPageHTML({pages}, {n}, "{stem}", "{ext}");'
        paging = f'<div id="page_div"></div><script>{call}</script>'
        return _page(COLUMNS[column][1], _ul(chunk) + paging)

    def _document(self, doc: CmsDoc) -> str:
        dated = doc.column != "json"  # the JSON column's pages show no date: the list has it
        meta = f'<meta name="PubDate" content="{doc.date} 09:30">' if dated else ""
        paras = "".join(f"<p>{P.esc(p)}</p>" for p in doc.paragraphs)
        files = self.attachments.get(doc.path, [])
        if len(files) == 1 and doc.column == "trs":  # an attachment-only page
            paras = ""
        paras += "".join(
            f'<p>附件：<a href="{f.path}">{P.esc(f.title)}.{f.kind}</a></p>' for f in files
        )
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{P.esc(doc.title)}</title>'
            f'<meta name="ArticleTitle" content="{P.esc(doc.title)}">{meta}</head><body>'
            '<div class="header">首页 | 政务公开 | 互动交流 | 无障碍</div>'
            f"<ucaptitle>{P.esc(doc.title)}</ucaptitle>"
            f'<div id="UCAP-CONTENT">{paras}</div>'
            '<div class="footer">主办单位：示例市人民政府办公室 网站标识码：3205000000</div>'
            "</body></html>"
        )


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, int(value)) if value is not None else default
    except ValueError:
        return default


def _ul(docs: list[CmsDoc]) -> str:
    items = "".join(
        f'<li><a href="{d.path}" title="{P.esc(d.title)}">{P.esc(d.title)}</a>'
        f"<span>{d.date}</span></li>"
        for d in docs
    )
    return f'<ul class="list">{items}</ul>'


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
        f"<h1>{title}</h1>{body}</body></html>"
    )

"""Pages that go wrong the ways real sites do: mis-declared charsets and broken answers.

Data tables (the cases) first, then the functions that render them; served by ``server``.
"""

from __future__ import annotations

from . import pages as P

BROKEN_LINKS = (
    "/broken/missing.html",
    "/broken/report.pdf",
    "/private/secret.html",
    "/broken/huge.html",
    "/broken/empty.html",
    "/broken/loop.html",
    "/broken/error500.html",
    "/invest/news/1001.html",
)


def _encoded_page(text: str, declared: str, encoding: str) -> bytes:
    paras = "".join(f"<p>{P.esc(p)}</p>" for p in text.splitlines() if p.strip())
    meta = f'<meta charset="{declared}">' if declared else ""
    return (
        f"<html><head>{meta}<title>字符集测试</title></head><body>"
        f'<div class="content">{paras}</div></body></html>'
    ).encode(encoding, "ignore")


# path -> (text seed, <meta> charset, real encoding, Content-Type header)
CHARSET_CASES = {
    "gbk-meta-only": ("wujiang", "gb2312", "gb18030", "text/html"),
    "utf8-declared-gbk": ("wujiang", "gbk", "utf-8", "text/html"),
    "gbk-declared-utf8": ("wujiang", "utf-8", "gb18030", "text/html; charset=utf-8"),
    "big5": ("mirror", "big5", "big5hkscs", "text/html"),
    "big5-declared-gbk": ("mirror", "gbk", "big5hkscs", "text/html; charset=gbk"),
    "latin1-header-gbk": ("wujiang", "", "gb18030", "text/html; charset=iso-8859-1"),
    "utf8-bom-header-gbk": ("wujiang", "", "utf-8-sig", "text/html; charset=gbk"),
    "undeclared-gbk": ("wujiang", "", "gb18030", "text/html"),
}


def charset_page(path: str) -> tuple[int, str, bytes, dict[str, str]] | None:
    if path == "/charset/list.html":
        links = "".join(f'<li><a href="/charset/{c}.html">{c}</a></li>' for c in CHARSET_CASES)
        links += '<li><a href="/charset/binary-garbage.html">garbage</a></li>'
        body = f'<html><body><ul class="list">{links}</ul></body></html>'.encode()
        return 200, "text/html; charset=utf-8", body, {}
    if path == "/charset/binary-garbage.html":
        return 200, "text/html", bytes(range(128, 256)) * 40, {}
    name = path.removeprefix("/charset/").removesuffix(".html")
    if name not in CHARSET_CASES:
        return None
    seed_name, declared, encoding, ctype = CHARSET_CASES[name]
    seed = {"wujiang": "wujiang_portal.txt", "mirror": "traditional_mirror.txt"}[seed_name]
    text = "\n".join(P.seed(seed).splitlines()[5:40])
    return 200, ctype, _encoded_page(text, declared, encoding), {}


def broken_page(path: str) -> tuple[int, str, bytes, dict[str, str]] | None:
    """Pages that go wrong in the ways real sites do (for the bad-input tests)."""
    if path == "/broken/list.html":
        links = "".join(f'<li><a href="{p}">{p}</a></li>' for p in BROKEN_LINKS)
        body = f'<html><body><ul class="list">{links}</ul></body></html>'.encode()
        return 200, "text/html; charset=utf-8", body, {}
    if path == "/broken/report.pdf":
        return 200, "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", {}
    if path == "/private/secret.html":
        return 200, "text/html; charset=utf-8", "<p>不应抓取的页面。</p>".encode(), {}
    if path == "/broken/huge.html":
        return 200, "text/html; charset=utf-8", b"<p>" + "很大的页面。".encode() * 600_000, {}
    if path == "/broken/empty.html":
        return 200, "text/html; charset=utf-8", b"<html><body></body></html>", {}
    if path == "/broken/loop.html":
        return 302, "text/html", b"", {"Location": "/broken/loop.html"}
    if path == "/broken/error500.html":
        return 500, "text/html", b"<h1>500</h1>", {}
    return None


def offsite_page(path: str, port: int) -> tuple[int, str, bytes, dict[str, str]] | None:
    """A list whose links try to leave the site: a local file, another host (``localhost`` is
    another host name for this very server, so a crawl that follows it would succeed), https
    elsewhere, and a redirect and a meta refresh to that other host."""
    other = f"http://localhost:{port}"
    html = "text/html; charset=utf-8"
    if path == "/offsite/list.html":
        links = [
            "file:///etc/passwd",
            f"{other}/invest/news/1002.html",
            "https://evil.example/x.html",
            "//evil.example/protocol-relative.html",
            "/offsite/redirect.html",
            "/offsite/refresh.html",
            "/invest/news/1001.html",
        ]
        items = "".join(f'<li><a href="{u}">链接{i}</a></li>' for i, u in enumerate(links))
        return 200, html, f'<html><body><ul class="list">{items}</ul></body></html>'.encode(), {}
    if path == "/offsite/redirect.html":
        return 302, html, b"", {"Location": f"{other}/invest/news/1003.html"}
    if path == "/offsite/refresh.html":
        target = f"{other}/invest/news/1004.html"
        body = f'<html><head><meta http-equiv="refresh" content="0; url={target}"></head></html>'
        return 200, html, body.encode(), {}
    return None

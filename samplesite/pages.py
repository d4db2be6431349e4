"""Documents of the sample site, parsed from the seed texts, and the HTML of each site style.

Five sites, each in the style of the site its seed came from:
  /invest/    investment portal: paginated list (下一页), 10 items, UTF-8, ETag/Last-Modified
  /wujiang/   official district portal: GBK (charset only in <meta>), visit counter per request
  /bxw/       report aggregator: nav menu, disclaimer, 本文地址, comment form
  /mirror/    Traditional-character mirror (2024 常熟 report)
  /docshare/  document-sharing page with paywall and customer-service boilerplate
and, for benchmarks, /gen/: any number of documents recombined from the seed paragraphs.
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

COUNTER = "{{COUNTER}}"
TODAY = "{{TODAY}}"
MAINTENANCE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>系统维护</title></head><body>'
    "<h1>系统维护公告</h1><p>网站系统正在升级维护中，给您带来不便敬请谅解。维护时间：今日22:00至次日06:00，"
    "如有急事请拨打值班电话。</p></body></html>"
)


@dataclass
class Doc:
    path: str
    site: str
    title: str
    paragraphs: list[str]
    date: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def seed(name: str) -> str:
    return resources.files(__package__).joinpath("seeds", name).read_text(encoding="utf-8")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def invest_docs() -> list[Doc]:
    lines = _lines(seed("invest_portal.txt"))
    docs = []
    i = 0
    while i + 3 < len(lines):
        if lines[i] == "-" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", lines[i + 3]):
            title, body, date = lines[i + 1], lines[i + 2], lines[i + 3]
            paragraphs = [p for p in body.split(" ") if p.strip()]
            docs.append(
                Doc(f"/invest/news/{1001 + len(docs)}.html", "invest", title, paragraphs, date)
            )
            i += 4
        else:
            i += 1
    return docs


def wujiang_docs(invest: list[Doc]) -> list[Doc]:
    lines = _lines(seed("wujiang_portal.txt"))
    end = lines.index("扫一扫在手机打开当前页")
    body = [line for line in lines[5:end] if line]
    docs = [
        Doc(
            "/wujiang/art/2019/1/30/art_8_1.html",
            "wujiang",
            lines[2],
            body,
            "2019-01-30 14:36",
            {"issuer": "吴江区人民政府"},
        )
    ]
    old = next(d for d in invest if "吴江区" in d.title and "工作报告" in d.title)
    docs.append(
        Doc(
            "/wujiang/art/2018/1/12/art_8_2.html",
            "wujiang",
            "吴江区2018年政府工作报告",
            ["——" + old.paragraphs[0], *old.paragraphs[1:]],
            "2018-01-12 09:30",
            {"issuer": "吴江区人民政府"},
        )
    )
    return docs


def aggregator_doc() -> Doc:
    lines = _lines(seed("aggregator.txt"))
    end = next(i for i, line in enumerate(lines) if line.startswith("本文仅代表作者观点"))
    return Doc(
        "/bxw/baogao/huadong/12083.html",
        "bxw",
        lines[2],
        [line for line in lines[4:end] if line],
        "",
        {"disclaimer": lines[end]},
    )


def mirror_doc() -> Doc:
    lines = _lines(seed("traditional_mirror.txt"))
    return Doc(
        "/mirror/news/2024/0108/cs2024.html",
        "mirror",
        lines[0],
        [line for line in lines[1:] if line],
        "2024-01-09",
    )


def changshu_doc() -> Doc:
    """The 常熟 2024 report as the official portal publishes it: the mirror's text in
    Simplified characters without the pinyin annotations (the same report, other script)."""
    from pipelines.text.chinese import strip_pinyin, to_simplified

    mirror = mirror_doc()
    body = [to_simplified(strip_pinyin(p)) for p in mirror.paragraphs]
    return Doc(
        "/changshu/art/2024/1/9/art_7_1.html",
        "changshu",
        "2024年常熟市政府工作报告",
        body,
        "2024-01-09 16:20",
        {"issuer": "常熟市人民政府"},
    )


def wuzhong_doc() -> Doc:
    """The whole 吴中 2025 report on an official portal, of which the aggregator republished
    the 2025 targets part. Only that part is real text; the review before it is made of other
    seed paragraphs, standing in for the part the aggregator left out."""
    targets = aggregator_doc().paragraphs
    review = [p for p in paragraph_pool() if "吴中" not in p][:40]
    body = [
        "——2025年1月6日在苏州市吴中区第五届人民代表大会第五次会议上",
        "各位代表：",
        "一、2024年工作回顾",
        *review,
        *targets,
    ]
    return Doc(
        "/wuzhong/art/2025/1/10/art_9_1.html",
        "wuzhong",
        "2025年吴中区政府工作报告",
        body,
        "2025-01-10 09:00",
        {"issuer": "吴中区人民政府"},
    )


def docshare_doc() -> Doc:
    lines = _lines(seed("docshare.txt"))
    start = lines.index("太仓市2023年政府工作报告")
    end = next(i for i, line in enumerate(lines) if line.startswith("1、当您付费下载"))
    outline = [line for line in lines[lines.index("提纲:") + 1 : start] if line]
    return Doc(
        "/docshare/p-20230105.html",
        "docshare",
        lines[4],
        [line for line in lines[start + 1 : end] if line],
        "2023-01-05",
        {"outline": "\n".join(outline)},
    )


@cache
def paragraph_pool() -> tuple[str, ...]:
    """Simplified-Chinese paragraphs of all seeds, for generated documents."""
    docs = [*invest_docs(), aggregator_doc(), docshare_doc()]
    pool: dict[str, None] = {}  # ordered and without repeats
    for para in (p for d in docs for p in d.paragraphs):
        chunk = ""
        for sentence in re.findall(r"[^。！？]+[。！？]?", para):  # a whole report is no paragraph
            chunk += sentence
            if len(chunk) >= 300:
                pool[chunk] = None
                chunk = ""
        if len(chunk) > 40:
            pool[chunk] = None
    return tuple(pool)


@cache
def generated_doc(i: int, long: bool = False) -> Doc:
    """Document ``i`` of /gen/: 4 to 12 seed paragraphs, or 20 to 40 when ``long`` (8,400
    characters on average, the length of a real portal's article or report)."""
    rng = random.Random(i)
    pool = paragraph_pool()
    paragraphs = rng.sample(pool, rng.randint(20, 40) if long else rng.randint(4, 12))
    region = rng.choice(["苏州", "太仓市", "吴江区", "昆山市", "张家港市", "常熟市", "吴中区"])
    title = f"【投资{region}】{paragraphs[0][:18].rstrip('，。,')}（第{i}号）"
    return Doc(
        f"/gen/doc/{i}.html", "gen", title, paragraphs, f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}"
    )


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _paras(doc: Doc, style: str = "") -> str:
    attr = f' style="{style}"' if style else ""
    return "\n".join(f"<p{attr}>{esc(p)}</p>" for p in doc.paragraphs)


INVEST_NAV = (
    '<div class="header"><a href="/invest/list.html">苏州投资网</a> | <a href="#">首页</a>'
    ' | <a href="/invest/list.html">招商资讯</a> | <a href="#">园区载体</a> | '
    '<a href="#">政策法规</a></div>'
)
INVEST_FOOT = (
    '<div class="footer"><p>有想补充的信息?点我投稿</p><ul><li>- 联系我们</li>'
    "<li>- 企业入驻</li></ul><p>Copyright © 2025 苏州投资网 版权所有</p></div>"
)


def render_invest_list(items: list[Doc], page: int, pages: int, prefix: str) -> str:
    lis = "\n".join(
        f'<li><a href="{d.path}" title="{esc(d.title)}">{esc(d.title)}</a>'
        f'<span class="date">{d.date}</span></li>'
        for d in items
    )
    pager = []
    if page > 1:
        prev = f"{prefix}.html" if page == 2 else f"{prefix}_{page - 1}.html"
        pager.append(f'<a href="{prev}">上一页</a>')
    if page < pages:
        pager.append(f'<a href="{prefix}_{page + 1}.html">下一页</a>')
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>招商资讯_苏州投资网</title>'
        f'</head><body>{INVEST_NAV}<div class="main"><h2>招商资讯</h2>'
        f'<ul class="news-list">{lis}</ul><div class="pager">{" ".join(pager)}'
        f"<span>第{page}页/共{pages}页</span></div></div>{INVEST_FOOT}</body></html>"
    )


def render_invest_doc(doc: Doc, sidebar: list[str], volatile: bool = False, stamp: str = "") -> str:
    """An investment-portal article; ``volatile`` adds a clock and a hit counter, ``stamp``
    a page-generation token in the text (what a source's ``ignore`` patterns are for)."""
    side = "".join(f'<li><a href="#">{esc(t)}</a></li>' for t in sidebar)
    clock = f'<div class="today">今天是{TODAY}</div>' if volatile else ""
    hits = f'<p class="hits">本文已被浏览 {COUNTER} 次</p>' if volatile else ""
    hits += f'<p class="stamp">页面生成：{stamp}</p>' if stamp else ""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(doc.title)}_苏州投资网'
        f'</title><meta name="keywords" content="招商,投资,苏州"></head><body>{INVEST_NAV}'
        f'{clock}<div class="crumb">当前位置：<a href="#">首页</a> &gt; '
        f'<a href="/invest/list.html">招商资讯</a></div>'
        f'<div class="article"><h1>{esc(doc.title)}</h1>'
        f'<div class="info">发布时间：{doc.date} 来源：苏州投资网</div>'
        f'<div class="article-content">{_paras(doc)}{hits}</div>'
        f'<div class="share">分享到：微信 微博 QQ空间</div></div>'
        f'<div class="sidebar"><h3>热门资讯</h3><ul>{side}</ul></div>{INVEST_FOOT}'
        f"</body></html>"
    )


WUJIANG_HEAD = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
WUJIANG_TOP = (
    '<div class="top"><a href="#">吴江区人民政府</a> <a href="#">首页</a> '
    '<a href="#">走进吴江</a> <a href="#">政务公开</a> <a href="#">政务服务</a> '
    '<a href="#">互动交流</a></div>'
)
WUJIANG_FOOT = (
    '<div class="footer"><p>主办：苏州市吴江区人民政府办公室 网站标识码：3205840001</p>'
    "<p>苏ICP备05006000号</p></div>"
)


def render_wujiang_list(items: list[Doc], page: int) -> str:
    lis = "\n".join(
        f'<li><a href="{d.path}" target="_blank">{esc(d.title)}</a><span>{d.date[:10]}</span></li>'
        for d in items
    )
    return (
        f"<html><head>{WUJIANG_HEAD}<title>市(县)区_吴江区人民政府</title></head><body>"
        f'{WUJIANG_TOP}<div class="position">当前位置: 首页 &gt; 政务公开 &gt; 重点工作</div>'
        f'<ul class="list">{lis}</ul><div class="page">第{page + 1}页</div>{WUJIANG_FOOT}'
        f"</body></html>"
    )


def render_wujiang_doc(doc: Doc) -> str:
    return (
        f"<html><head>{WUJIANG_HEAD}<title>{esc(doc.title)}_吴江区人民政府</title>"
        f'<meta name="ArticleTitle" content="{esc(doc.title)}">'
        f'<meta name="ContentSource" content="吴江区人民政府"></head><body>{WUJIANG_TOP}'
        f'<div class="position">当前位置: <a href="#">首页</a> &gt; <a href="#">政务公开</a> '
        f"&gt; 政府信息公开重点领域 &gt; 重点工作 &gt; 市(县)区</div>"
        f'<div class="article"><h1 class="title">{esc(doc.title)}</h1>'
        f'<div class="info">时间: {doc.date} 来源: {doc.extra.get("issuer", "")} 访问量: '
        f'<span id="count">{COUNTER}</span></div>'
        f'<div id="zoom">{_paras(doc, "text-indent:2em")}</div>'
        f'<div class="share"><p>扫一扫在手机打开当前页</p><img src="/wujiang/qr.png" alt=""></div>'
        f'<div class="tools">【打印本页】【关闭窗口】</div></div>{WUJIANG_FOOT}</body></html>'
    )


def render_simple_list(title: str, docs: list[Doc]) -> str:
    lis = "".join(f'<li><a href="{d.path}">{esc(d.title)}</a></li>' for d in docs)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(title)}</title></head>'
        f'<body><h2>{esc(title)}</h2><ul class="list">{lis}</ul></body></html>'
    )


def render_aggregator_doc(doc: Doc) -> str:
    nav = "".join(
        f'<li><a href="#">{n}</a></li>'
        for n in ("首页", "政府工作报告", "统计公报", "发展规划", "华东", "华南", "华北")
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(doc.title)}-博县网'
        f'</title></head><body><div class="menu"><span>导航菜单</span><ul>{nav}</ul></div>'
        f'<div class="content"><h1>{esc(doc.title)}</h1>{_paras(doc)}'
        f'<div class="shengming"><p>{esc(doc.extra["disclaimer"])}</p>'
        f"<p>本文地址:/baogao/huadong/12083.html</p></div></div>"
        f'<div class="comment"><h3>留言与评论(共有 0 条评论)</h3><form><p>昵称:'
        f'<input name="n"></p><p>匿名发表 登录账号</p><textarea></textarea><p>验证码:'
        f'<input name="c"></p><button>提交</button></form></div>'
        f'<div class="foot">博县网 © 2025</div></body></html>'
    )


def render_mirror_doc(doc: Doc) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(doc.title)}</title>'
        f'</head><body><div class="nav"><a href="#">首頁</a> <a href="#">新聞</a> '
        f'<a href="#">報告</a></div><div class="post"><h1>{esc(doc.title)}</h1>'
        f'<div class="meta">發布時間：{doc.date}</div><div class="post-body">{_paras(doc)}'
        f'</div></div><div class="footer">© 2024 鏡像站</div></body></html>'
    )


def render_docshare_doc(doc: Doc) -> str:
    outline = "".join(f"<li>{esc(x)}</li>" for x in doc.extra["outline"].splitlines())
    notice = (
        "<ol><li>1、当您付费下载文档后,您只拥有了使用权限,并不意味着购买了版权,文档只能用于自身使用,"
        "不得用于其他商业用途。</li><li>2、本站所有内容均由合作方或网友上传,本站不对文档的完整性、"
        "权威性及其观点立场正确性做任何保证或承诺!</li><li>3、如文档内容存在违规,或者侵犯商业秘密、"
        "侵犯著作权等,请点击“违规举报”。</li><li>4、如遇任何问题请联系客服微信:22665800</li></ol>"
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(doc.title)}-公寻网'
        f'</title></head><body><div class="desk">电脑桌面<br>添加公寻网到电脑桌面<br>'
        f'安装后可以在桌面快捷访问</div><div class="doc"><h1>{esc(doc.title)}</h1>'
        f'<div class="outline"><p>提纲:</p><ul>{outline}</ul></div>'
        f'<div class="doc-body"><h2>太仓市2023年政府工作报告</h2>{_paras(doc)}</div>'
        f'<div class="pay"><a href="#">付费下载全文</a> <span>VIP免费</span></div>{notice}'
        f'<p>任何问题请联系客服微信:22665800</p></div><div class="right"><p>确认删除?</p>'
        f"<p>回到顶部</p><p>搜索资料</p><p>我的下载</p><p>会员中心</p><p>联系客服</p></div>"
        f"</body></html>"
    )

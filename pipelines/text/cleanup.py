"""Site furniture that survives trafilatura, removed line by line by general rules.

Each rule is a small class with one regular expression; its docstring's first line is its help.
A rule removes a whole line (``LINE``) when the line matches from its start. Rules are general
(QR prompts, "本文地址", disclaimers, comment forms, paywall notices, print/close links, "上一篇/
下一篇"), never written for one page.
"""

from __future__ import annotations

import re
from functools import cache
from typing import ClassVar


@cache
def _any_rule() -> re.Pattern[str]:
    """All the rules as one pattern: one match a line instead of one a rule (a third of the
    time). The rules match at a line's start and use no back-references."""
    return re.compile("|".join(f"(?:{rule.pattern})" for rule in Rule.registry))


class Rule:
    """Base class: subclasses set ``pattern`` and register themselves."""

    registry: ClassVar[list[type[Rule]]] = []
    pattern: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        Rule.registry.append(cls)
        _any_rule.cache_clear()


class QrPrompt(Rule):
    """QR-code and mobile prompts: 扫一扫在手机打开当前页, 手机扫码阅读."""

    pattern = r"^\s*(扫一扫|扫码|微信扫一扫|手机扫码|用手机扫描).{0,20}$"


class PageAddress(Rule):
    """The page's own address: 本文地址, 本文链接, 原文链接."""

    pattern = r"^\s*(本文地址|本文链接|本页地址|原文地址|原文链接|转载请注明)\s*[:：]"


class Disclaimer(Rule):
    """Disclaimers and copyright notices of aggregators."""

    pattern = (
        r"^\s*(免责声明|声明[:：]|本文仅代表作者观点|版权所有|Copyright|©|"
        r"凡注明为.{0,20}(原创|来源)|本站(所有|部分)?(内容|资料|文章))"
    )


class PrevNext(Rule):
    """Links to the previous and next article: 上一篇, 下一篇."""

    pattern = r"^\s*(上一篇|下一篇|上一条|下一条|前一篇|后一篇)\s*[:：]?"


class PrintClose(Rule):
    """Print, close, font-size and share links: 【打印本页】【关闭窗口】, 分享到."""

    pattern = (
        r"^\s*[【\[]?\s*(打印本页|打印|关闭窗口|关闭|收藏本页|收藏|字号|分享到|分享|"
        r"返回顶部|回到顶部|保存本页)\s*[】\]]?\s*([:：|]|\s|[【\[].{0,12}[】\]]|大|中|小)*$"
    )


class CommentForm(Rule):
    """Comment forms: 留言与评论, 昵称, 验证码, 匿名发表, 发表评论."""

    pattern = (
        r"^\s*(留言与评论|网友评论|发表评论|我要评论|评论\s*[(（]|昵称\s*[:：]|验证码\s*[:：]|"
        r"匿名发表|登录账号|请登录|注册\s*\|)"
    )


class Paywall(Rule):
    """Paywall, download and customer-service notices of document-sharing sites."""

    pattern = (
        r"^\s*(\d[、.．]\s*)?(.{0,12}(付费下载|VIP|会员(中心|专享|免费)|下载券|积分下载)|"
        r"当您付费下载|本站所有内容均由|如文档内容存在违规|如遇任何问题|任何问题请联系|"
        r"(联系)?客服(微信|QQ|电话)?\s*[:：]|确认删除|我的下载|搜索资料|添加.{0,10}到电脑桌面|"
        r"电脑桌面$|安装后可以在桌面|(联系客服|在线客服|会员中心)\s*$)"
    )


class EmptyHeading(Rule):
    """Headings left without their list: a lone 提纲: or 目录."""

    pattern = r"^\s*(提纲|目录|大纲|相关阅读|相关链接|相关文章|热门资讯|推荐阅读)\s*[:：]?\s*$"


class Contribute(Rule):
    """Portal footers: 点我投稿, 联系我们, 企业入驻, 网站地图, 关于我们."""

    pattern = (
        r"^\s*[-•·]?\s*(有想补充的信息.{0,10}投稿|点我投稿|我要投稿|联系我们|企业入驻|网站地图|"
        r"关于我们|网站声明|导航菜单|当前位置\s*[:：])"
    )


class EditorLine(Rule):
    """Editor and reviewer credits: 责任编辑：张三, 【编辑：李四】, 审核：王五 校对：赵六."""

    pattern = (
        r"^\s*[【\[(（]?\s*(责任编辑|编辑|责编|审核|审校|校对|初审|复审|终审|编审|签发|监制)"
        r"\s*[:：]\s*[^。！？]{0,30}[】\])）]?\s*$"
    )


class SiteFooter(Rule):
    """Portal footers: 主办单位, 技术支持, 网站标识码, ICP备案, 公网安备, 建议分辨率."""

    pattern = (
        r"^\s*(主办单位|承办单位|协办单位|主办\s*[:：]|承办\s*[:：]|技术支持\s*[:：]|网站标识码|"
        r"政府网站标识码|[\u4e00-\u9fff]?ICP[备证]|.{0,12}公网安备|备案号\s*[:：]|建议使用.{0,20}浏览器|"
        r".{0,10}最佳(浏览|显示)效果|.{0,6}分辨率)"
    )


class Breadcrumb(Rule):
    """Breadcrumbs: 首页 > 政务公开 > 通知公告, 您的位置：."""

    pattern = (
        r"^\s*(首页|网站首页|主页|Home)\s*[>»›/＞]|^\s*(您的位置|你的位置|您现在的位置)\s*[:：]"
    )


class MetaLine(Rule):
    """Meta lines (时间/来源/作者/访问量) that describe the page, not its text."""

    pattern = (
        r"^\s*((发布)?(时间|日期)|来源|作者|文章来源|信息来源|发布机构|访问量|浏览次数|点击数|"
        r"字体|责任编辑)\s*[:：]\s*[^。！？]{0,40}((来源|作者|访问量|浏览次数|点击数|字体)"
        r"\s*[:：]\s*[^。！？]{0,30})*$"
    )


# Lines that open what follows an article: comments, replies, related or recommended lists,
# print/close links, visitor counters, a blog post's footer before the next post. Below such a
# line, once the article has begun, nothing is the article's any more.
END_MATTER = re.compile(
    r"^\s*(\[|【)?\s*(打印(本页|此文|文章)?|关闭(窗口|本页)?)\s*(\]|】)"
    r"|^\s*(网友|读者|最新|热门|精彩|全部)?(评论|留言|回复)\s*(\(|（|\[|【|[:：]|$)"
    r"|^\s*(发表|我要|查看|更多)(评论|留言|回复)"
    r"|共\s*\d+\s*(篇|条|个)\s*(评论|回复|留言)"
    r"|^\s*由.{1,24}(张贴|发表|发布)"
    r"|您是本文第\s*\d+\s*(个|位)"
    r"|^\s*回复线索"
    r"|^\s*(相关|延伸|推荐|热门|更多|精彩|最新)(文章|阅读|新闻|报道|链接|推荐|专题|资讯|内容|帖子)"
    r"|^\s*猜你(喜欢|想看)"
    r"|^\s*(上一篇|下一篇|上一条|下一条|上一主题|下一主题)"
    r"|^\s*[【\[(（]?\s*责任编辑\s*[:：]"
)
END_MATTER_MAX_LINE = 80  # a longer line is a paragraph that happens to say 评论
ARTICLE_BEGUN = 100  # characters of paragraphs before an end-matter line counts as one
PARAGRAPH = 20  # shorter lines (menus, link lists, headings) do not begin an article


def cut_end_matter(lines: list[str]) -> list[str]:
    """``lines`` up to the first end-matter line that follows at least ARTICLE_BEGUN characters
    of paragraphs (a print link or a "related" box above the article, or among the menus,
    cuts nothing)."""
    seen = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        short = len(stripped) <= END_MATTER_MAX_LINE
        if seen >= ARTICLE_BEGUN and short and END_MATTER.search(stripped):
            return lines[:i]
        if len(stripped) >= PARAGRAPH:
            seen += len(stripped)
    return lines


def clean_lines(text: str) -> str:
    """``text`` without end matter and furniture lines; blank-line runs folded."""
    kept = [line for line in cut_end_matter(text.splitlines()) if not _any_rule().match(line)]
    out: list[str] = []
    for line in kept:
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    return "\n".join(out).strip()


def rules_help() -> list[tuple[str, str]]:
    return [(r.__name__, (r.__doc__ or "").strip().splitlines()[0]) for r in Rule.registry]

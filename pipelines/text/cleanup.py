"""Site furniture that survives trafilatura, removed line by line by general rules.

Each rule is a small class with one regular expression; its docstring's first line is its help.
A rule removes a whole line (``LINE``) when the line matches from its start. Rules are general
(QR prompts, "本文地址", disclaimers, comment forms, paywall notices, print/close links, "上一篇/
下一篇"), never written for one page.
"""

from __future__ import annotations

import re
from typing import ClassVar


class Rule:
    """Base class: subclasses set ``pattern`` and register themselves."""

    registry: ClassVar[list[type[Rule]]] = []
    pattern: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.regex = re.compile(cls.pattern)
        Rule.registry.append(cls)

    @classmethod
    def matches(cls, line: str) -> bool:
        return bool(cls.regex.match(line))


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


class MetaLine(Rule):
    """Meta lines (时间/来源/作者/访问量) that describe the page, not its text."""

    pattern = (
        r"^\s*((发布)?(时间|日期)|来源|作者|文章来源|信息来源|发布机构|访问量|浏览次数|点击数|"
        r"字体|责任编辑)\s*[:：]\s*[^。！？]{0,40}((来源|作者|访问量|浏览次数|点击数|字体)"
        r"\s*[:：]\s*[^。！？]{0,30})*$"
    )


def clean_lines(text: str) -> str:
    """``text`` without furniture lines; blank-line runs folded."""
    kept = [
        line for line in text.splitlines() if not any(rule.matches(line) for rule in Rule.registry)
    ]
    out: list[str] = []
    for line in kept:
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    return "\n".join(out).strip()


def rules_help() -> list[tuple[str, str]]:
    return [(r.__name__, (r.__doc__ or "").strip().splitlines()[0]) for r in Rule.registry]

"""Extraction of each seed site's style, decoding, and Chinese metadata rules."""

from __future__ import annotations

import pytest

from govwatch.fetch import decode
from pipelines.extract import extract
from pipelines.text.cleanup import clean_lines, rules_help
from pipelines.text.metadata import (
    clean_title,
    date_from_meta_line,
    date_from_opening,
    date_from_title,
)
from samplesite import SampleSite

SITE = SampleSite()
FURNITURE = [
    "扫一扫在手机打开当前页",
    "本文地址",
    "昵称",
    "验证码",
    "客服微信",
    "付费下载",
    "点我投稿",
    "企业入驻",
    "访问量",
    "打印本页",
    "关闭窗口",
    "导航菜单",
    "分享到",
    "热门资讯",
    "当前位置",
    "留言与评论",
    "本文仅代表作者观点",
    "电脑桌面",
    "VIP",
]

PAGES = [
    # path, must contain, title, published
    (
        "/invest/news/1001.html",
        ["香港苏州商会在苏州协鑫能源中心正式成立", "为苏港共同繁荣发展注入新动能"],
        "香港苏州商会成立 搭建苏港产业科技文化合作新平台",
        "2025-07-16",
    ),
    (
        "/wujiang/art/2019/1/30/art_8_1.html",
        ["预计实现地区生产总值1930亿元", "以优异成绩庆祝中华人民共和国成立70周年"],
        "吴江区2019年政府工作报告",
        "2019-01-30",
    ),
    (
        "/bxw/baogao/huadong/12083.html",
        ["地区生产总值增长5%以上", "为推进中国式现代化吴中新实践而团结奋斗"],
        "(江苏省)苏州市吴中区人民政府工作报告(2025年1月6日)",
        "2025-01-06",
    ),
    (
        "/mirror/news/2024/0108/cs2024.html",
        ["現(xiàn)在,我代表常熟市人民政府", "虞山山洪治理"],
        "(江蘇?。?024年常熟市人民政府工作報告",
        "2024-01-09",
    ),
    (
        "/docshare/p-20230105.html",
        ["现在,我代表太仓市人民政府", "2022年政府工作回顾"],
        "太仓市2023年政府工作报告(20230105)",
        "2023-01-05",
    ),
]


def page(path):
    status, ctype, body, _headers = SITE.render(path)
    assert status == 200
    text, encoding = decode(body, f"http://127.0.0.1{path}", {"Content-Type": ctype})
    return text, encoding


@pytest.mark.parametrize(
    ("path", "phrases", "title", "published"),
    PAGES,
    ids=["invest", "gbk-portal", "aggregator", "traditional", "docshare"],
)
def test_seed_styles(path, phrases, title, published):
    text, _ = page(path)
    result = extract(text, f"http://127.0.0.1{path}")
    assert result is not None
    for phrase in phrases:
        assert phrase in result.text
    for junk in FURNITURE:
        assert junk not in result.text, junk
    assert "\ufffd" not in result.text
    assert result.title == title
    assert result.published == published


def test_gbk_page_with_charset_only_in_meta():
    _status, ctype, body, _ = SITE.render("/wujiang/art/2019/1/30/art_8_1.html")
    assert ctype == "text/html"  # no charset in the header
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text, encoding = decode(body, "http://127.0.0.1/x.html", {"Content-Type": ctype})
    assert encoding in ("gb18030", "gbk")
    assert "吴江区2019年政府工作报告" in text
    assert "\ufffd" not in text


def test_gb2312_declared_page_with_gbk_only_characters():
    html = '<html><head><meta charset="gb2312"></head><body><p>镕基 堃 喆 玥 珺。</p></body></html>'
    text, _encoding = decode(html.encode("gb18030"), "http://127.0.0.1/x", {})
    assert "镕基 堃 喆 玥 珺" in text
    assert "\ufffd" not in text


def test_issuer_and_title_tag():
    text, _ = page("/invest/news/1001.html")
    result = extract(text, "http://127.0.0.1/invest/news/1001.html")
    assert result.meta["title_tag"] == "苏州招商"
    assert result.meta["issuer"] == "苏州投资网"


def test_empty_and_non_html_pages_extract_nothing():
    assert extract("", "http://127.0.0.1/") is None
    assert extract("<html><body></body></html>", "http://127.0.0.1/") is None
    assert extract("<html><body><p>短</p></body></html>", "http://127.0.0.1/") is None
    with pytest.raises(ValueError, match="not an HTML page"):
        decode(
            b"%PDF-1.4\n\x00\x01binary",
            "http://127.0.0.1/a.pdf",
            {"Content-Type": "application/pdf"},
        )


def test_content_selector_limits_extraction():
    text, _ = page("/invest/news/1001.html")
    result = extract(text, "http://x/1.html", content=("css", ".article-content p:first-child"))
    assert result.text.startswith("2018年9月,香港苏州商会")
    assert "苏港共同繁荣" not in result.text
    assert result.title == "香港苏州商会成立 搭建苏港产业科技文化合作新平台"


@pytest.mark.parametrize(
    ("func", "arg", "expected"),
    [
        (date_from_meta_line, "时间: 2019-01-30 14:36 来源: 吴江区人民政府", "2019-01-30"),
        (date_from_meta_line, "发布日期：2023年01月05日", "2023-01-05"),
        (date_from_title, "苏州市吴中区人民政府工作报告(2025年1月6日)", "2025-01-06"),
        (date_from_title, "太仓市2023年政府工作报告(20230105)", "2023-01-05"),
        (
            date_from_opening,
            "——2019年1月8日在苏州市吴江区第十六届人民代表大会第三次会议上",
            "2019-01-08",
        ),
        (date_from_meta_line, "时间: 2019-13-45", None),
    ],
)
def test_chinese_dates(func, arg, expected):
    assert func(arg) == expected


def test_title_cleaning():
    assert clean_title("吴江区2019年政府工作报告_吴江区人民政府") == (
        "吴江区2019年政府工作报告",
        None,
    )
    assert clean_title("【投资太仓市】2018年太仓市人民政府工作报告") == (
        "2018年太仓市人民政府工作报告",
        "投资太仓市",
    )
    assert (
        clean_title("太仓市2023年政府工作报告(20230105)VIP免费")[0]
        == "太仓市2023年政府工作报告(20230105)"
    )


@pytest.mark.parametrize(
    "line",
    [
        "扫一扫在手机打开当前页",
        "本文地址:/baogao/huadong/12083.html",
        "上一篇：关于印发通知",
        "【打印本页】【关闭窗口】",
        "昵称:",
        "验证码:",
        "4、如遇任何问题请联系客服微信:22665800",
        "有想补充的信息?点我投稿",
        "时间: 2019-01-30 14:36 来源: 吴江区人民政府 访问量: 1234",
        "本文仅代表作者观点,不代表本站立场。",
        "提纲:",
    ],
)
def test_each_furniture_rule(line):
    assert clean_lines(f"正文第一段。\n{line}\n正文第二段。") == "正文第一段。\n正文第二段。"


def test_cleanup_keeps_real_sentences():
    text = "推进吴江智能装备产业园聚焦3D打印、高端智能装备等。\n来源于群众的意见建议得到落实。"
    assert clean_lines(text) == text


def test_every_rule_has_help():
    assert all(help_ for _, help_ in rules_help())

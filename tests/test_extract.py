"""Extraction of each seed site's style, decoding, and Chinese metadata rules."""

from __future__ import annotations

import pytest

from govwatch.fetch import decode
from pipelines.extract import extract
from pipelines.text.charsets import UndecodablePage, decode_body
from pipelines.text.cleanup import clean_lines, rules_help
from pipelines.text.metadata import (
    clean_title,
    date_from_date_line,
    date_from_header,
    date_from_issue,
    date_from_meta_line,
    date_from_opening,
    date_from_posted,
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
        (date_from_meta_line, "发布时间：２０２４年０３月０５日", "2024-03-05"),  # full-width
        (date_from_meta_line, "发布日期： \n 9/17/2004 5:54:13 AM", "2004-09-17"),  # ASP's
        (date_from_meta_line, "出道日期\n1995年9月1日", None),  # a fact, not a page date
        (date_from_posted, "本贴由大卫于2005年8月12日16:12:21在论坛发表", "2005-08-12"),
    ],
)
def test_chinese_dates(func, arg, expected):
    assert func(arg) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("新闻中心\n2005年05月17日 10:23\n新华网", "2005-05-17"),
        ("2005-03-15 08:12:36 来源: 新华社", "2005-03-15"),
        ("首页 > 要闻\n[2005-03-15]", "2005-03-15"),
        ("译者：陈\n2005年1月2日\n", None),  # a date alone on its line: the last resort
    ],
)
def test_dates_above_the_article_never_below(header, expected):
    body = "我市召开全市经济工作会议，部署明年重点任务。会议指出，要坚持稳中求进。"
    below = "\n相关新闻：\n其他会议召开 2001-01-01 09:00\n版权所有 2001-2024"
    page = f"{header}\n{body}{below}"
    assert date_from_header(page, body) == expected
    assert date_from_header(f"{body}{below}", body) is None  # related links, copyright year
    if expected is None:
        assert date_from_date_line(page, body) == "2005-01-02"


def test_a_periodical_issue_dates_an_article_that_has_no_other_date():
    body = "一九八九年春天，我在湖南的一所学校教书。那时候的学生们每天都在讨论国家的前途。" * 3
    cited = f"{body}\n    ——《北京之春》1998年3月号"
    assert date_from_issue(cited) == "1998-03-01"
    assert date_from_issue("原载２００３年５月号") == "2003-05-01"  # full-width digits
    assert date_from_issue(f"《某刊》1990年2月号曾经报道过。\n{cited}") == "1998-03-01"  # its own
    assert date_from_issue(f"{body}\n1998年3月号") is None  # no citation, no date
    assert date_from_issue("——《北京之春》1998年13月号") is None  # no such month
    page = f"<html><body><div><h1>一篇文章</h1>{''.join(f'<p>{x}</p>' for x in cited.splitlines())}"
    result = extract(page + "</div></body></html>", "http://127.0.0.1/a.html")
    assert (result.published, result.meta["date_precision"]) == ("1998-03-01", "month")
    dated = page.replace("<h1>一篇文章</h1>", "<h1>一篇文章</h1><p>发布时间：2005-07-03</p>")
    result = extract(dated + "</div></body></html>", "http://127.0.0.1/a.html")
    assert result.published == "2005-07-03"
    assert "date_precision" not in result.meta


def test_end_matter_is_cut_once_the_article_has_begun():
    article = "本市今年新签约重大项目一百二十个，其中外资项目四十个，总投资超过一千亿元。" * 3
    text = f"相关文章\n打印本页\n{article}\n共 11 篇评论 发表评论\n网友甲：好\n网友乙：赞同"
    assert clean_lines(text) == article  # above the article: dropped as lines, not a cut
    related = f"{article}\n相关新闻\n另一条新闻的标题很长很长很长很长很长很长很长很长很长。"
    assert clean_lines(related) == article
    mention = (
        f"{article}\n群众的评论和建议，我们将在下一篇报道中继续关注并且一一回复，欢迎大家积极参与。"
    )
    assert clean_lines(mention) == mention  # a paragraph that mentions 评论 is no end matter


def test_layout_tables_are_read_as_blocks_and_data_tables_kept():
    nav = "".join(f"<td><a href='/c{i}'>栏目{i}</a></td>" for i in range(12))
    prose = "我市召开全市经济工作会议，部署明年重点任务。" * 8
    figures = (
        "<table><tr><td>地区生产总值</td><td>1930亿元</td></tr>"
        "<tr><td>增长</td><td>5.1%</td></tr></table>"
    )

    def page(extra: str) -> str:
        return (
            "<html><head><title>会议</title></head><body><table><tr>" + nav + "</tr><tr>"
            f"<td colspan='12'><table><tr><td><p>{prose}</p></td></tr></table>{extra}</td></tr>"
            "</table></body></html>"
        )

    alone = extract(page(""), "http://x/1.html")
    assert alone.text.replace("\n", "") == prose  # the layout table's menu row is gone
    beside = extract(page(figures), "http://x/1.html")
    assert prose in beside.text.replace("\n", "")
    assert "1930亿元" in beside.text  # a table of figures is never dropped to lose a menu


def test_main_text_leaves_its_tree_as_it_was():
    """extract reads a page's dates and title from the tree main_text has read: main_text (and
    trafilatura under it) must read a copy, with layout tables unwrapped or not."""
    from lxml import html as lxml_html

    from pipelines.maintext import layout_tables, main_text

    prose = "我市召开全市经济工作会议，部署明年重点任务。" * 8
    nav = "".join(f"<td><a href='/c{i}'>栏目{i}</a></td>" for i in range(12))
    plain = (
        "<html><head><title>会议</title><meta name='PubDate' content='2024-05-06'></head><body>"
        f"<div class='nav'><a href='/'>首页</a></div><div id='zoom'><p>{prose}</p></div>"
        "<script>var x=1;</script><div class='footer'>版权所有</div></body></html>"
    )
    tabled = (
        "<html><head><title>会议</title></head><body><table><tr>" + nav + "</tr><tr>"
        f"<td colspan='12'><table><tr><td><p>{prose}</p></td></tr></table></td></tr>"
        "</table></body></html>"
    )
    for page, has_tables in ((plain, False), (tabled, True)):
        root = lxml_html.document_fromstring(page)
        assert bool(layout_tables(root)) is has_tables
        before = lxml_html.tostring(root)
        doc = main_text(root, "http://x/1.html")
        assert prose in doc.text.replace("\n", "")
        assert lxml_html.tostring(root) == before


def test_a_few_broken_bytes_lose_only_themselves():
    good = "苏州市人民政府关于二〇二四年重点项目的通知。各区人民政府，市各委办局。" * 40
    body = good.encode("gb18030")
    broken = body[:301] + b"\xff" + body[301:900] + b"\x81\x20" + body[900:]
    decoded = decode_body(broken, "text/html; charset=gbk")
    assert decoded.broken == 2
    assert "\ufffd" not in decoded.text
    assert len(decoded.text) >= len(good) - 2
    assert "苏州市人民政府关于二〇二四年重点项目的通知。" in decoded.text
    with pytest.raises(UndecodablePage):  # more than 1% broken: an error, as before
        decode_body(b"\xff\xfe\xfd".join([body[i : i + 40] for i in range(0, 2000, 40)]), None)


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
        "责任编辑：张三",
        "【编辑：李四 审核：王五】",
        "主办单位：示例市人民政府办公室 网站标识码：3205000000",
        "苏ICP备05000000号",
        "首页 > 政务公开 > 通知公告",
    ],
)
def test_each_furniture_rule(line):
    assert clean_lines(f"正文第一段。\n{line}\n正文第二段。") == "正文第一段。\n正文第二段。"


def test_cleanup_keeps_real_sentences():
    text = "推进吴江智能装备产业园聚焦3D打印、高端智能装备等。\n来源于群众的意见建议得到落实。"
    assert clean_lines(text) == text


def test_every_rule_has_help():
    assert all(help_ for _, help_ in rules_help())


META_PAGES = [
    """<html><head><title>关于2025年政府工作报告的说明_吴江区人民政府</title>
    <meta property="og:site_name" content="吴江区人民政府"><meta name="author" content="办公室">
    <meta name="PubDate" content="2025-01-08 09:30"></head><body><h1>政府工作报告</h1>
    <p>正文。</p></body></html>""",
    """<html><head><title>招商公告</title><script type="application/ld+json">
    {"@type": "NewsArticle", "headline": "太仓港招商公告", "datePublished": "2024-03-05",
     "publisher": {"@type": "Organization", "name": "太仓市商务局"}}</script></head>
    <body><p>正文。</p></body></html>""",
    """<html><head><title>无日期</title><script type="application/ld+json">{broken</script>
    </head><body><p>发布时间：2023年7月1日</p></body></html>""",
    """<html><head><title>招商动态</title><link rel="canonical"
    href="http://www.wujiang.gov.cn/art/2024/5/6/art_1_2.html"></head>
    <body><p>正文。</p></body></html>""",
]


@pytest.mark.parametrize("page", META_PAGES)
def test_page_metadata_is_trafilaturas_title_site_and_date(page):
    """page_metadata takes trafilatura's metadata steps but the ones govwatch never reads: on
    the title, site name and date it must agree with trafilatura's whole metadata step."""
    from lxml import html as lxml_html
    from trafilatura.metadata import extract_metadata

    from pipelines.maintext import DATE_PARAMS, page_date, page_metadata

    url = "http://www.wujiang.gov.cn/zwgk/1.html"
    ours = page_metadata(lxml_html.document_fromstring(page), url)
    whole = extract_metadata(lxml_html.document_fromstring(page), url, dict(DATE_PARAMS))
    assert ours is not None
    assert (ours.title, ours.sitename, ours.date) == (whole.title, whole.sitename, whole.date)
    assert ours.title
    assert page_date(lxml_html.document_fromstring(page), url) == whole.date  # date alone


def test_date_looked_for_later_changes_no_extraction(monkeypatch):
    """extract() asks trafilatura for a page's date only when its own rules found none before
    it (maintext.page_date): every page extracts as with the date found up front."""
    from pipelines import extractor, maintext

    pages = [decode_body(SITE.render(p)[2], SITE.render(p)[1]).text for p in SITE.docs]
    body = "<p>" + "吴江区招商引资项目签约仪式举行，共签约项目十二个。" * 6 + "</p>"
    pages += [p.replace("<p>正文。</p>", body) for p in META_PAGES]
    asked = []

    def page_date(tree, url):
        asked.append(maintext.page_date(tree, url))
        return asked[-1]

    monkeypatch.setattr(extractor, "page_date", page_date)

    def run() -> list:
        found = [extract(html, "http://www.wujiang.gov.cn/zwgk/1.html") for html in pages]
        return [(r.text, r.title, r.published, r.meta) if r else None for r in found]

    later = run()
    assert "2024-05-06" in asked  # the canonical URL's date, when the page has none of its own
    assert len(asked) < len(pages)
    real = extractor.main_text
    monkeypatch.setattr(extractor, "main_text", lambda root, url, **kw: real(root, url))
    asked.clear()
    assert run() == later
    assert asked == []


def test_skipping_readability_changes_no_extraction(monkeypatch):
    """trafilatura's readability comparison is skipped only where it cannot change the reading
    (maintext._guard_comparison): every page extracts the same as with the comparison always
    run, and the test pages take both ways."""
    import trafilatura.core
    import trafilatura.external

    from pipelines import maintext

    long = SampleSite(generated=3, portal_shape=True)
    pages = [(path, SITE.render(path)) for path in SITE.docs]
    pages += [(f"/gen/doc/{i}.html", long.render(f"/gen/doc/{i}.html")) for i in (1, 2, 3)]
    pages = [(p, decode_body(body, ctype).text) for p, (status, ctype, body, _) in pages]
    line = "推进吴江智能装备产业园建设，聚焦高端装备制造业。"
    lines = "".join(f"<div>第{i}条 {line}</div>" for i in range(40))
    menu = "".join(f"<li><a href='/m{i}'>栏目导航第{i}项</a></li>" for i in range(300))
    pages += [  # readability's reading wins (the divs are the article); a page mostly menu
        ("/divs.html", f"<html><body><div><p>{'导语。' * 100}</p>{lines}</div></body></html>"),
        ("/menu.html", f"<html><body><ul>{menu}</ul><p>{'正文内容。' * 60}</p></body></html>"),
    ]
    readability = []
    real = trafilatura.external.try_readability
    monkeypatch.setattr(
        trafilatura.external, "try_readability", lambda tree: readability.append(1) or real(tree)
    )

    def run() -> list:
        found = [extract(html, f"http://www.wujiang.gov.cn{path}") for path, html in pages]
        return [(r.text, r.title, r.published) if r else None for r in found]

    guarded = run()
    assert trafilatura.core.compare_extraction is maintext._guarded_comparison
    skipped = len(pages) - len(readability)
    monkeypatch.setattr(trafilatura.core, "compare_extraction", maintext._TRAFILATURA[0])
    monkeypatch.setattr(maintext, "_guard_comparison", lambda: None)
    readability.clear()
    assert run() == guarded
    assert len(readability) == len(pages)  # the comparison ran on every page
    assert 0 < skipped < len(pages)


def test_fast_element_classes_change_no_extraction(monkeypatch):
    """extract() parses with element classes chosen in C (every element an HtmlElement, form
    fields too): the seed pages, and a page with a form, extract as with lxml.html's own."""
    from lxml import html as lxml_html

    from pipelines import extractor

    form = "<form><label>姓名<input name='a'></label><select><option>一</option></select></form>"
    text = "吴江区招商引资项目签约仪式举行，共签约项目十二个，总投资一百亿元。" * 10
    pages = [decode_body(SITE.render(p)[2], SITE.render(p)[1]).text for p in SITE.docs]
    pages.append(f"<html><body><div><h1>通知</h1><p>{text}</p>{form}</div></body></html>")

    def run() -> list:
        found = [extract(html, "http://www.wujiang.gov.cn/a.html") for html in pages]
        return [(r.text, r.title, r.published, r.meta) if r else None for r in found]

    fast = run()
    tree = lxml_html.document_fromstring(pages[-1], parser=extractor._html_parser())
    assert {type(e) for e in tree.iter() if isinstance(e.tag, str)} == {lxml_html.HtmlElement}
    monkeypatch.setattr(extractor, "_html_parser", lxml_html.HTMLParser)
    assert run() == fast
    assert text[:20] in fast[-1][0]


@pytest.mark.parametrize("url", ["http://www.wujiang.gov.cn/art/1.html", None, "http://例子.cn/a"])
@pytest.mark.parametrize("with_metadata", [True, False])
def test_extraction_options_are_what_trafilatura_makes_of_the_keywords(
    monkeypatch, url, with_metadata
):
    """main_text gives trafilatura a copy of options made once; they must be the options
    bare_extraction makes itself from the same keywords (maintext.EXTRACTION) and URL."""
    import trafilatura.core

    from pipelines import maintext

    made = []

    class Recording(trafilatura.core.Extractor):
        __slots__ = ()

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(trafilatura.core, "Extractor", Recording)
    page = "<html><body><p>" + "吴江区招商引资项目签约。" * 20 + "</p></body></html>"
    trafilatura.core.bare_extraction(
        page, url=url, with_metadata=with_metadata, **maintext.EXTRACTION
    )
    ours = maintext.extraction_options(url, with_metadata=with_metadata)
    slots = trafilatura.core.Extractor.__slots__
    assert len(made) == 1
    assert {s: getattr(ours, s) for s in slots} == {s: getattr(made[0], s) for s in slots}
    assert ours is not maintext.extraction_options(url, with_metadata=with_metadata)

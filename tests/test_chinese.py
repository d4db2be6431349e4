"""Chinese pages done right: charsets, regions, types, report years, scripts, copies."""

from __future__ import annotations

import json

import pytest

from pipelines.text.charsets import UndecodablePage, decode_body
from pipelines.text.chinese import plausibility, strip_pinyin, to_simplified
from pipelines.text.classify import classify, find_region
from pipelines.text.normalize import normalize
from samplesite import SampleSite
from samplesite.oddities import CHARSET_CASES
from storage import VersionStore
from storage.packing import unpack_version
from tests.conftest import govwatch, scrapy_crawl, write_sources

SITE = SampleSite()
EXPECTED_ENCODING = {
    "gbk-meta-only": "gb18030", "utf8-declared-gbk": "utf-8", "gbk-declared-utf8": "gb18030",
    "big5": "big5hkscs", "big5-declared-gbk": "big5hkscs", "latin1-header-gbk": "gb18030",
    "utf8-bom-header-gbk": "utf-8", "undeclared-gbk": "gb18030",
}  # fmt: skip


@pytest.mark.parametrize("case", list(CHARSET_CASES))
def test_charset_cases(case):
    _, ctype, body, _ = SITE.render(f"/charset/{case}.html")
    decoded = decode_body(body, ctype)
    assert decoded.encoding == EXPECTED_ENCODING[case]
    assert "\ufffd" not in decoded.text
    phrase = (
        "我代表常熟市人民政府,向大會報告工作"
        if CHARSET_CASES[case][0] == "mirror"
        else "预计实现地区生产总值"
    )
    assert phrase in decoded.text
    assert plausibility(decoded.text) > 0.8


def test_decoding_score_is_its_definition():
    """The decoder's score, made in one pass over code points with tables, is the share of
    frequent characters (each folded to Simplified by OpenCC, alone) less five times the
    share of mojibake marks (the regex count), on real and mis-decoded text."""
    import re

    from pipelines.text import charsets
    from pipelines.text.chinese import HAN_FIRST, HAN_LAST, HAN_SAMPLE, frequent_characters

    marks = re.compile("[" + re.escape(charsets.MOJIBAKE_MARKS) + "]")
    frequent = frequent_characters()

    def definition(text: str) -> float:
        sample = text[: charsets.SCORED]
        han = [c for c in sample if HAN_FIRST <= ord(c) <= HAN_LAST][:HAN_SAMPLE]
        base = sum(to_simplified(c) in frequent for c in han) / len(han) if han else 1.0
        return base - 5 * len(marks.findall(sample)) / max(1, len(sample))

    body = SITE.render("/charset/utf8-declared-gbk.html")[2]
    texts = [body.decode(e, "ignore") for e in ("utf-8", "gb18030", "big5hkscs", "latin-1")]
    texts += ["".join(map(chr, range(0x20, 0x2200))), "無錫市人民政府工作報告 £©€ 访问量", ""]
    for text in texts:
        assert charsets._score(text) == pytest.approx(definition(text), abs=1e-12)
    # and it stays within a few thousandths of folding the characters by phrases
    for text in texts[:3]:
        han = "".join(c for c in text[: charsets.SCORED] if HAN_FIRST <= ord(c) <= HAN_LAST)
        by_phrases = to_simplified(han[:HAN_SAMPLE])
        assert plausibility(text) == pytest.approx(
            sum(c in frequent for c in by_phrases) / len(by_phrases), abs=0.005
        )


def test_undecodable_bytes_are_an_error():
    _, ctype, body, _ = SITE.render("/charset/binary-garbage.html")
    with pytest.raises(UndecodablePage):
        decode_body(body, ctype)


def test_crawl_of_mangled_charsets(site, tmp_path, db_path):
    sources = write_sources(tmp_path / "s.yaml", [site.charset_source()])
    result = scrapy_crawl("sample_charsets", db_path, sources)
    assert result.returncode == 0, result.stderr[-2000:]
    with VersionStore(db_path) as store:
        versions = [unpack_version(r) for r in store.db["versions"].rows]
        assert len(versions) == len(CHARSET_CASES)
        for v in versions:
            assert "\ufffd" not in v["text"]
            assert "Ã" not in v["text"]
            assert "â€" not in v["text"]
            assert plausibility(v["text"]) > 0.8
        (error,) = store.errors()
        assert error["kind"] == "charset"
        assert error["url"].endswith("binary-garbage.html")


@pytest.mark.parametrize(
    ("text", "region", "place"),
    [
        ("【投资太仓市】2018年太仓市人民政府工作报告", "太仓市", "太仓市"),
        ("(江苏省)苏州市吴中区人民政府工作报告", "吴中区", "吴中区"),
        ("昆山市陆家镇签约24个数字化项目", "昆山市", "昆山市"),
        ("陆家镇签约24个数字化项目", "昆山市", "陆家"),
        ("苏州高新区狮山街道新项目", "虎丘区", "苏州高新区"),
        ("苏州工业园区金鸡湖畔", "工业园区", "苏州工业园区"),
        ("盛泽镇纺织产业", "吴江区", "盛泽"),
        ("張家港市人民政府", "张家港市", "张家港市"),
        ("相城区高铁新城", "相城区", "相城区"),
        ("姑苏区古城保护", "姑苏区", "姑苏区"),
        ("常熟港货物吞吐量创新高", "常熟市", "常熟"),
        ("香港苏州商会成立", "苏州市", "苏州"),
        ("上海市政府工作报告", None, None),
    ],
)
def test_gazetteer(text, region, place):
    assert find_region(text) == (region, place)


@pytest.mark.parametrize(
    ("title", "text", "published", "expected"),
    [
        ("2024年常熟市人民政府工作報告", "", "2024-01-09", ("常熟市", "work_report", 2024)),
        (
            "吴江区政府工作报告",
            "——2019年1月8日在苏州市吴江区第十六届人民代表大会上",
            "2019-01-30",
            ("吴江区", "work_report", 2019),
        ),
        ("苏州市吴中区人民政府工作报告(2025年1月6日)", "", None, ("吴中区", "work_report", 2025)),
        ("太仓高新区航空及智能装备项目集中签约", "", None, ("太仓市", "investment_news", None)),
        ("关于印发苏州市促进外资发展若干措施的通知", "", None, ("苏州市", "policy", None)),
        ("吴江区召开人大常委会会议", "", None, ("吴江区", "other", None)),
    ],
)
def test_type_and_report_year(title, text, published, expected):
    facts = classify(title, text, published=published)
    assert (facts.region, facts.doc_type, facts.report_year) == expected


def test_source_region_is_the_fallback():
    assert classify("招商推介会举行", "", source_region="太仓市").region == "太仓市"


def test_traditional_with_pinyin_compares_equal_to_simplified():
    traditional = (
        "現(xiàn)在,我代表常熟市人民政府,向大會報告工作,請予審議,并請市政協(xié)委員提出意見。"
    )
    simplified = "现在,我代表常熟市人民政府,向大会报告工作,请予审议,并请市政协委员提出意见。"
    assert strip_pinyin("現(xiàn)在") == "現在"
    assert to_simplified("報告") == "报告"
    assert normalize(traditional) == normalize(simplified)
    assert normalize(traditional) != normalize(simplified.replace("审议", "审查"))


def test_script_switch_is_not_a_change(tmp_path):
    from pipelines.text.normalize import normalizer

    trad = SITE.doc("/mirror/news/2024/0108/cs2024.html").text
    simp = SITE.doc("/changshu/art/2024/1/9/art_7_1.html").text
    key = normalizer()
    with VersionStore(tmp_path / "g.db", sentence_key=key) as store:
        url = "http://127.0.0.1/r.html"
        assert (
            store.record(url, source="s", text=trad, norm_text=key(trad), title="报告").kind
            == "new"
        )
        again = store.record(url, source="s", text=simp, norm_text=key(simp), title="報告")
        assert again.kind == "unchanged"


@pytest.mark.slow
def test_reports_link_copies_across_sites_and_scripts(site, tmp_path, db_path):
    sources = write_sources(tmp_path / "s.yaml", site.sources())
    out = govwatch("crawl", db=db_path, sources=sources)
    assert out.returncode == 0, out.stderr
    rows = [
        json.loads(line) for line in govwatch("reports", "--json", db=db_path).stdout.splitlines()
    ]
    reports = [r for r in rows if r["doc_type"] == "work_report"]
    by_key = {(r["region"], r["year"], r["doc_type"]): r for r in reports}
    assert len(by_key) == len(reports) == 8  # each work report once

    def copies(key):
        return sorted((c["source"], c["relation"]) for c in by_key[key]["copies"])

    # 常熟 2024: the Traditional mirror and the official Simplified page
    assert copies(("常熟市", 2024, "work_report")) == [
        ("sample_changshu", "copy"),
        ("sample_mirror", "first"),
    ] or copies(("常熟市", 2024, "work_report")) == [
        ("sample_changshu", "first"),
        ("sample_mirror", "copy"),
    ]
    assert by_key[("常熟市", 2024, "work_report")]["title"] == "2024年常熟市政府工作报告"
    # 吴江 2018: the investment portal's copy of the district's report
    assert {s for s, _ in copies(("吴江区", 2018, "work_report"))} == {
        "sample_invest",
        "sample_wujiang",
    }
    # 吴中 2025: the aggregator's targets section is part of the full report
    relations = dict(copies(("吴中区", 2025, "work_report")))
    assert relations in (
        {"sample_aggregator": "first", "sample_wuzhong": "full"},
        {"sample_wuzhong": "first", "sample_aggregator": "partial"},
    )
    # single reports stay single
    assert copies(("太仓市", 2023, "work_report")) == [("sample_docshare", "first")]
    changes = [
        json.loads(line) for line in govwatch("changes", "--json", db=db_path).stdout.splitlines()
    ]
    assert {c["report_relation"] for c in changes} >= {"first", "copy"}
    copy_change = next(c for c in changes if c["report_relation"] == "copy")
    assert "also published at" in copy_change["summary"]
    wujiang = next(c for c in changes if c["url"].endswith("art_8_1.html"))
    assert (wujiang["region"], wujiang["doc_type"], wujiang["report_year"], wujiang["issuer"]) == (
        "吴江区",
        "work_report",
        2019,
        "吴江区人民政府",
    )


def test_the_frequent_characters_file_is_the_count_of_the_seed_pages():
    """frequent.txt is derived data: it must say what counting the seeds says (rewrite it
    with `python -m pipelines.text.chinese` after changing the seeds or the rule)."""
    from importlib import resources

    from pipelines.text.chinese import (
        FREQUENT_FILE,
        count_frequent,
        frequent_characters,
        write_frequent,
    )

    seeds = resources.files("samplesite").joinpath("seeds")
    texts = [e.read_text(encoding="utf-8") for e in seeds.iterdir() if e.name.endswith(".txt")]
    counted = count_frequent(texts)
    assert len(counted) > 1000
    assert frequent_characters() == counted
    written = resources.files("pipelines.text").joinpath(FREQUENT_FILE).read_text("utf-8")
    assert written == write_frequent(counted)

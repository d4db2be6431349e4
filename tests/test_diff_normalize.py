"""Sentence diffs and the comparison form of texts."""

from __future__ import annotations

import pytest

from pipelines.text.normalize import normalize
from storage import render_inline, sentence_diff, split_sentences


def test_split_at_chinese_sentence_ends():
    assert split_sentences("一、回顾\n经济稳中有进。增长7%；投资570亿元！好吗？") == [
        "一、回顾",
        "经济稳中有进。",
        "增长7%；",
        "投资570亿元！",
        "好吗？",
    ]
    # marks in a row end one sentence each; blank lines and bare marks of spaces are no sentence
    assert split_sentences("  完。。\n\n\t\n  好 ！？ ; ") == ["完。", "。", "好 ！", "？", ";"]


def test_changed_figure_is_one_modified_sentence_with_marks():
    old = "经济运行稳中有进。预计实现地区生产总值1930亿元，同比增长7%。其他不变。"
    diff = sentence_diff(old, old.replace("1930", "1931"))
    assert (diff.modified, diff.added, diff.removed) == (1, 0, 0)
    op = diff.ops[0]
    assert (
        render_inline(op["old"][0], op["new"][0])
        == "预计实现地区生产总值193[-0-]{+1+}亿元，同比增长7%。"
    )


def test_added_removed_and_moved_sentences():
    old = "甲句。乙句。丙句。"
    assert sentence_diff(old, "甲句。乙句。丙句。丁句。").added == 1
    assert sentence_diff(old, "甲句。丙句。").removed == 1
    moved = sentence_diff(old, "乙句。丙句。甲句。")
    assert moved.added == 1
    assert moved.removed == 1


def test_key_hides_volatile_differences():
    diff = sentence_diff("访问量: 12\n正文。", "访问量: 13\n正文。", key=normalize)
    assert diff.empty


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("时间: 2019-01-30 访问量: 1234", "时间: 2019-01-30 访问量: 1235"),
        ("浏览次数：56次", "浏览次数：57次"),
        ("点击数：[78]", "点击数：[79]"),
        ("阅读 910", "阅读 911"),
        ("今天是2026年11月21日 星期六", "今天是2026年11月22日 星期日"),
        ("２０２５年ＧＤＰ增长５％", "2025年GDP增长5%"),
        ("经济  稳中\n有进。", "经济稳中有进。"),
    ],
    ids=["visit-counter", "views", "clicks", "reads", "clock", "full-width", "whitespace"],
)
def test_normalisation_rules(a, b):
    assert normalize(a) == normalize(b)


def test_volatile_patterns_start_where_normalize_tries_them():
    """normalize tries the volatile patterns only at VOLATILE_STARTS: every way each pattern
    can begin (its first alternatives, or a digit) must be there."""
    import re

    from pipelines.text.normalize import VOLATILE_PATTERNS, VOLATILE_STARTS

    starts = re.compile(f"[{VOLATILE_STARTS}]", re.IGNORECASE)
    for pattern in VOLATILE_PATTERNS:
        group = re.match(r"\(\?:([^()]*)\)", pattern)
        firsts = [w[0] for w in group.group(1).split("|")] if group else [pattern[:2]]
        assert firsts
        assert all(f == r"\d" or starts.match(f) for f in firsts), (pattern, firsts)
    page = "Views: 12，HITS 3次，今日 2024年5月1日，2024-05-01 星期三 10:00，正文。"
    assert normalize(page) == ", , ,正文。"  # four fragments gone, NFKC commas


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        (" 中 文\n\t字 ", "中文字"),
        ("中 a  b\n文", "中 a b 文"),
        ("2024 年 5 月", "2024 年 5 月"),  # a digit is not a Chinese character
        ("第一。 \n 第二！", "第一。第二！"),  # CJK punctuation is
        ("中 \u3000 x", "中 x"),  # U+3000: whitespace and Chinese (the slow path)
        ("", ""),
    ],
)
def test_fold_whitespace(text, folded):
    from pipelines.text.normalize import fold_whitespace

    assert fold_whitespace(text) == folded


def test_fold_whitespace_is_its_definition():
    """fold_whitespace splits at whitespace with str.split: the same as its regex definition,
    on every kind of character next to a run of whitespace, and the same whitespace."""
    import random
    import re

    from pipelines.text.normalize import _fold_by_regex, fold_whitespace

    every = "".join(map(chr, range(0x110000)))
    assert re.findall(r"\s", every) == [c for c in every if c.isspace()]
    alphabet = [
        "a", "1", "中", "。", "\u2e7f", "\u2e80", "\u9fff", "\ua000", "\uf8ff", "\uf900",
        "\ufaff", "\ufb00", "\ufeff", "\uff00", "\uffef", "\ufff0", "\U00020000", " ", "\n",
        "\t", "\r", "\x1c", "\x85", "\xa0", "\u2003", "\u2028", "\u3000",
    ]  # fmt: skip
    rng = random.Random(1)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert fold_whitespace(text) == _fold_by_regex(text), repr(text)
    page = "第一章 总则\n\n  第一条　为了规范 Suzhou 2024 年\t工作，\n制定本办法。 \n"
    assert fold_whitespace(page.replace("\u3000", " ")) == _fold_by_regex(
        page.replace("\u3000", " ")
    )


def test_nfkc_is_unicodes_nfkc():
    """nfkc normalizes only the runs between stable characters: each character it keeps as
    it is must be stable (UAX #15: combining class 0, unchanged by NFKC, in no canonical pair
    that composes, not Hangul), and the result is unicodedata's on texts of characters that
    compose, reorder, decompose or fold, next to the stable ones."""
    import random
    import re
    import unicodedata

    from pipelines.text.normalize import NFKC_STABLE, nfkc

    paired = set()
    for code in range(0x110000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            paired.update(chr(int(p, 16)) for p in parts)
    stable = re.compile(f"[{NFKC_STABLE}]")
    kept = [chr(c) for c in range(0x110000) if stable.fullmatch(chr(c))]
    assert len(kept) > 20000
    for char in kept:
        assert unicodedata.combining(char) == 0, repr(char)
        assert unicodedata.normalize("NFKC", char) == char, repr(char)
        assert char not in paired, repr(char)
        assert unicodedata.name(char, "").split()[:1] != ["HANGUL"], repr(char)
    alphabet = [
        "中", "，", "（", "）", "：", "。", "\u3000", "Ａ", "１", "A", "a", "e", "o", "<", "=",
        "1", " ", "\n", "\u0301", "\u0308", "\u0323", "\u0338", "\u1100", "\u1161", "\u11a8",
        "\uac00", "\uf900", "\ufb01", "\u2460", "\u00bd", "\u2126", "\u212b", "\u1e0b",
        "\u0344", "\u0f73", "\u3099", "\u304b", "\uff76", "\uff9e", "\U0001d400",
    ]  # fmt: skip
    rng = random.Random(2)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        assert nfkc(text) == unicodedata.normalize("NFKC", text), repr(text)
    page = "第一条　为了规范（试行）工作，制定本办法：Ａ１ café ①\n二、其他"
    assert nfkc(page) == unicodedata.normalize("NFKC", page) != page


def test_ignore_patterns_and_real_edits():
    assert normalize("编号：A1 正文", ["编号：\\w+"]) == normalize("编号：B2 正文", ["编号：\\w+"])
    assert normalize("总值1930亿元") != normalize("总值1931亿元")


def test_minhash_signature_is_stable_and_estimates_similarity():
    import numpy as np

    from pipelines.similar import NUM_PERM, signature

    text = "苏州市人民政府工作报告。二〇二四年一月十日在苏州市第十七届人民代表大会第三次会议上。"
    sig, grams = signature(text)
    assert len(sig) == NUM_PERM * 8
    assert grams > 20
    assert signature(text) == (sig, grams)  # same text, same bytes, in any process
    # the stored format: 128 little-endian uint64 values, each a 32-bit minimum
    values = np.frombuffer(sig, dtype="<u8")
    assert values.max() < 2**32
    # a near-copy agrees on most permutations, an unrelated text on few
    near, _ = signature(text.replace("第三次", "第四次"))
    other, _ = signature("昆山市招商引资签约仪式在陆家镇举行，二十四个数字化项目集中签约。")
    same = np.mean(np.frombuffer(near, "<u8") == values)
    unrelated = np.mean(np.frombuffer(other, "<u8") == values)
    assert same > 0.6
    assert unrelated < 0.1
    assert signature("") == (np.full(NUM_PERM, 0xFFFFFFFF, dtype="<u8").tobytes(), 0)


def test_fast_signature_is_the_defined_one():
    """The vectorised CRC and permutations give the numbers of the plain definition (CRC-32
    of each gram's UTF-8 bytes), and the same bytes as the signatures databases already hold
    (pinned from the gram-by-gram code they were written with)."""
    import hashlib
    import random

    from pipelines.similar import reference_signature, signature

    pinned = (
        "苏州市人民政府工作报告。二〇二四年一月十日在苏州市第十七届人民代表大会第三次会议上。"
        "GDP 2.5万亿元 ABC"
    )
    sig, grams = signature(pinned)
    assert (hashlib.sha256(sig).hexdigest()[:16], grams) == ("1947c2b44bc19c5a", 47)
    rng = random.Random(7)
    alphabet = "政府工作报告abcXYZ019éü€ ，。Ωж龥一\u07ff\u0800\uffff\U00020000\U0001f600"
    texts = ["", "abc", "abcd", "政府" * 50, "a" * 100]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(200)]
    assert [signature(t) for t in texts] == [reference_signature(t) for t in texts]
    # the characters a gram is made of, picked by code point: those the definition's regex
    # keeps, on the whole Basic Multilingual Plane (surrogates aside) and beyond it
    import numpy as np

    from pipelines.similar import _KEEP, _kept, _kept_table

    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    array = np.array(points, dtype=np.uint32)
    expected = [c for c in points if _KEEP.fullmatch(chr(c))]
    for kept in (_kept(array), _kept_table()[np.minimum(array, 0xFFFF)]):
        assert [c for c, k in zip(points, kept, strict=True) if k] == expected

"""The source registry: the documented shape loads; each mistake gets one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from crawler.sources import SourceError, load_sources, parse_every
from tests.conftest import ROOT, env_for

EXAMPLE = """
sources:
  - name: wujiang_reports
    title: 吴江区人民政府 政府工作报告
    region: 吴江区
    category: work_report
    start_urls: ["https://www.wujiang.gov.cn/col/index.html"]
    links: {css: "ul.list li a"}
    next_page: {xpath: "//a[text()='下一页']"}
    content: "#zoom"
    schedule: {every: "6h"}
    settings: {DOWNLOAD_DELAY: 2}
  - name: taicang_invest
    title: 太仓 招商
    region: 太仓市
    category: investment_news
    start_urls: ["https://www.taicang.gov.cn/invest/index.html"]
    links: {xpath: "//ul[@class='list']//a", allow: "/art/\\\\d+"}
    pages: {template: "https://www.taicang.gov.cn/invest/index_{n}.html", first: 1, last: 5}
    schedule: {cron: "0 7 * * *"}
"""


def write(tmp_path, text):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_documented_shape_loads(tmp_path):
    sources = load_sources(write(tmp_path, EXAMPLE))
    assert list(sources) == ["wujiang_reports", "taicang_invest"]
    wj = sources["wujiang_reports"]
    assert wj.links.css == "ul.list li a"
    assert wj.next_page.xpath == "//a[text()='下一页']"
    assert wj.content.css == "#zoom"
    assert wj.interval_seconds == 6 * 3600
    assert wj.settings == {"DOWNLOAD_DELAY": 2}
    tc = sources["taicang_invest"]
    assert tc.links.allow == r"/art/\d+"
    assert tc.pages.urls()[0].endswith("index_1.html")
    assert len(tc.pages.urls()) == 5
    assert tc.schedule == {"cron": "0 7 * * *"}


def test_shipped_sources_file_is_valid():
    sources = load_sources(ROOT / "sources.yaml")
    regions = {s.region for s in sources.values()}
    assert len(regions - {"苏州市"}) >= 6, regions
    assert {"work_report", "investment_news"} <= {s.category for s in sources.values()}


def mutate(**changes):
    data = yaml.safe_load(EXAMPLE)
    entry = data["sources"][0]
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return yaml.safe_dump(data, allow_unicode=True)


BAD = [
    ("revisit_max", {"revisit_max": "often"}, "duration like"),
    ("attachments", {"attachments": "yes"}, "true or false"),
    ("name", {"name": "Wujiang Reports"}, "ASCII slug"),
    ("title", {"title": None}, "required"),
    ("start_urls", {"start_urls": []}, "non-empty"),
    ("start_urls", {"start_urls": ["ftp://x/y"]}, "not an http(s) URL"),
    ("links", {"links": None}, "is required"),
    ("links", {"links": {"css": "a", "xpath": "//a"}}, "exactly one"),
    ("links.xpath", {"links": {"xpath": "//a[["}}, "invalid expression"),
    ("links.allow", {"links": {"css": "a", "allow": "(unclosed"}}, "bad regular expression"),
    ("pages.template", {"pages": {"template": "https://x/p.html", "last": 3}}, "{n}"),
    ("schedule.every", {"schedule": {"every": "6 hours"}}, "duration"),
    ("schedule.cron", {"schedule": {"cron": "99 * * * *"}}, "99"),
    ("settings", {"settings": {"download_delay": 2}}, "UPPER_CASE"),
    ("strat_urls", {"strat_urls": ["https://x/"]}, "did you mean 'start_urls'"),
    ("ignore", {"ignore": ["[unclosed"]}, "bad regular expression"),
]


@pytest.mark.parametrize(("field", "changes", "words"), BAD, ids=[b[0] + ":" + b[2] for b in BAD])
def test_bad_field_named_in_one_line(tmp_path, field, changes, words):
    with pytest.raises(SourceError) as info:
        load_sources(write(tmp_path, mutate(**changes)))
    message = str(info.value)
    assert "\n" not in message
    name = changes.get("name", "wujiang_reports")
    assert f"source '{name}'" in message or "source #1" in message
    assert f"field '{field}'" in message
    assert words in message


def test_duplicate_name(tmp_path):
    data = yaml.safe_load(EXAMPLE)
    data["sources"][1]["name"] = "wujiang_reports"
    with pytest.raises(SourceError, match="duplicate name"):
        load_sources(write(tmp_path, yaml.safe_dump(data, allow_unicode=True)))


def test_not_yaml_names_the_line(tmp_path):
    with pytest.raises(SourceError, match=r"not valid YAML at line 3, column \d+"):
        load_sources(write(tmp_path, "sources:\n  - name: a\n    title: x: y\n"))


def test_missing_file(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        load_sources(tmp_path / "nope.yaml")


def test_unknown_extra_keys_are_kept(tmp_path):
    text = mutate(owner={"team": "招商组"})
    source = load_sources(write(tmp_path, text))["wujiang_reports"]
    assert source.extra == {"owner": {"team": "招商组"}}


def test_notify_rules_are_validated(tmp_path):
    good = mutate(notify=[{"urls": ["json://127.0.0.1:9/hook"], "kinds": ["new"]}])
    assert load_sources(write(tmp_path, good))["wujiang_reports"]
    bad = mutate(notify=[{"kinds": ["new"]}])
    with pytest.raises(SourceError, match=r"field 'notify\[0\]': needs urls"):
        load_sources(write(tmp_path, bad))


@pytest.mark.parametrize(
    ("value", "seconds"), [("30s", 30), ("15m", 900), ("6h", 21600), ("1d", 86400), (90, 90)]
)
def test_parse_every(value, seconds):
    assert parse_every(value) == seconds


def scrapy(*args, sources):
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=ROOT,
        env=env_for(sources.parent / "x.db", sources),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_scrapy_list_lists_every_source(tmp_path):
    result = scrapy("list", sources=write(tmp_path, EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["taicang_invest", "wujiang_reports"]


def test_scrapy_with_bad_file_prints_one_line_and_crawls_nothing(tmp_path):
    sources = write(tmp_path, mutate(links={"css": "a", "xpath": "//a"}))
    result = scrapy("crawl", "wujiang_reports", sources=sources)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"govwatch: {sources}: source 'wujiang_reports': field 'links': "
        "needs exactly one of 'css' or 'xpath'"
    ]
    assert not (tmp_path / "x.db").exists()

"""Reviewing the change log: web UI in a real headless Chromium, Atom feed, search, export."""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading

import feedparser
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from werkzeug.serving import make_server

from govwatch.web import create_app
from samplesite import SampleSite
from storage import VersionStore
from tests.conftest import govwatch

pytestmark = pytest.mark.slow  # its fixture crawls the whole sample site twice

WUJIANG_2019 = "/wujiang/art/2019/1/30/art_8_1.html"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """All sample sources crawled, two documents edited, crawled again."""
    tmp = tmp_path_factory.mktemp("web")
    db, sources = tmp / "g.db", tmp / "sources.yaml"
    with SampleSite() as site:
        sources.write_text(site.sources_yaml(), encoding="utf-8")
        assert govwatch("crawl", db=db, sources=sources).returncode == 0
        site.edit(WUJIANG_2019, "1930亿元", "1931亿元")
        site.edit(
            "/invest/news/1001.html",
            "标志着苏港合作进入更紧密的新阶段。",
            "标志着苏港合作进入更紧密的新阶段。首批会员企业现场签约。",
        )
        assert govwatch("crawl", db=db, sources=sources).returncode == 0
    return {"db": db, "sources": sources, "tmp": tmp}


@pytest.fixture(scope="module")
def server(crawled):
    app = create_app(str(crawled["db"]))
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert chromium, "make test installs chromium"
    assert driver_path, "make test installs chromium-driver"
    options = Options()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1300,900",
    ):
        options.add_argument(arg)
    options.binary_location = chromium
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def click_and_wait(browser, element):
    """Click something that loads a new page, and wait until the old page is gone."""
    browser.execute_script("window.govwatchOldPage = true")
    element.click()
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script(
            "return document.readyState === 'complete' && window.govwatchOldPage === undefined"
        )
    )


def rows(browser):
    return browser.find_elements(By.CSS_SELECTOR, "#changes tr.change")


def test_change_list_filters_and_paging(server, browser, crawled):
    with VersionStore(crawled["db"]) as store:
        total = store.count_changes()
    browser.get(server + "/")
    assert f"{total} 条变更" in browser.find_element(By.ID, "total").text
    assert len(rows(browser)) == min(total, 50)
    Select(browser.find_element(By.ID, "filter-kind")).select_by_value("changed")
    click_and_wait(browser, browser.find_element(By.ID, "apply"))
    assert len(rows(browser)) == 2
    Select(browser.find_element(By.ID, "filter-region")).select_by_value("吴江区")
    click_and_wait(browser, browser.find_element(By.ID, "apply"))
    (row,) = rows(browser)
    assert "吴江区2019年政府工作报告" in row.text
    browser.get(server + "/?kind=new&source=sample_invest")
    assert len(rows(browser)) == 10


def test_diff_page_marks_changed_characters(server, browser):
    browser.get(server + "/?kind=changed&region=吴江区")
    click_and_wait(browser, rows(browser)[0].find_element(By.TAG_NAME, "a"))
    assert "吴江区2019年政府工作报告" in browser.find_element(By.TAG_NAME, "h1").text
    deleted = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#diff td.old del")]
    inserted = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#diff td.new ins")]
    assert deleted == ["0"]
    assert inserted == ["1"]
    assert (
        "预计实现地区生产总值1930亿元" in browser.find_element(By.CSS_SELECTOR, "#diff td.old").text
    )


def test_mark_reviewed(server, browser, crawled):
    browser.get(server + "/?kind=changed&source=sample_invest")
    click_and_wait(browser, rows(browser)[0].find_element(By.TAG_NAME, "a"))
    click_and_wait(browser, browser.find_element(By.ID, "mark-reviewed"))
    assert "已审阅" in browser.find_element(By.ID, "review-state").text
    with VersionStore(crawled["db"]) as store:
        (change,) = store.changes(kind="changed", source="sample_invest")
        assert change["reviewed_at"]
    browser.get(server + "/?kind=changed&reviewed=no")
    assert len(rows(browser)) == 1


def test_keyboard_and_bulk_review(server, browser, crawled):
    wanted = "/?kind=new&source=sample_invest&reviewed=no"
    browser.get(server + wanted)
    before = len(rows(browser))
    assert before >= 3
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    body.send_keys("j")
    assert "current" in rows(browser)[1].get_attribute("class")
    browser.execute_script("window.govwatchOldPage = true")
    body.send_keys("r")  # marks the second row read
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script("return window.govwatchOldPage === undefined")
    )
    assert len(rows(browser)) == before - 1
    with VersionStore(crawled["db"]) as store:
        others = store.count_changes(reviewed=False) - (before - 1)
    browser.execute_script("window.govwatchOldPage = true")
    browser.find_element(By.ID, "review-all").click()
    browser.switch_to.alert.accept()  # "mark every change matching the filters?"
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script("return window.govwatchOldPage === undefined")
    )
    assert rows(browser) == []
    with VersionStore(crawled["db"]) as store:
        assert store.count_changes(source="sample_invest", kind="new", reviewed=False) == 0
        assert store.count_changes(reviewed=False) == others  # only those matching the filters
    browser.get(server + "/?kind=new&source=sample_invest")
    for box in browser.find_elements(By.CSS_SELECTOR, "#changes input[name=ids]")[:2]:
        box.click()
    click_and_wait(browser, browser.find_element(By.ID, "unreview-selected"))
    with VersionStore(crawled["db"]) as store:
        assert store.count_changes(source="sample_invest", kind="new", reviewed=False) == 2


def test_version_history_compares_any_two_versions(server, browser, crawled):
    with VersionStore(crawled["db"]) as store:
        doc = next(d for d in store.db["documents"].rows if d["url"].endswith(WUJIANG_2019))
    browser.get(f"{server}/document/{doc['id']}")
    radios_a = browser.find_elements(By.CSS_SELECTOR, "input[name=a]")
    radios_b = browser.find_elements(By.CSS_SELECTOR, "input[name=b]")
    assert len(radios_a) == 2
    radios_a[0].click()
    radios_b[1].click()
    click_and_wait(browser, browser.find_element(By.ID, "compare"))
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#diff ins")] == ["1"]


def test_reports_and_search_box(server, browser):
    browser.get(server + "/reports")
    assert "2024年常熟市政府工作报告" in browser.find_element(By.ID, "reports").text
    box = browser.find_element(By.ID, "search-box")
    box.send_keys("生產總值")  # Traditional query, Simplified pages
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "header form button"))
    hits = browser.find_element(By.ID, "hits").text
    assert "吴江区2019年政府工作报告" in hits
    assert "生产总值" in hits  # the matching sentence


def test_chinese_text_renders_as_glyphs(server, browser, tmp_path):
    """A screenshot check: Chinese strings render as distinct glyphs, not as empty boxes."""
    browser.get(server + "/")
    shots = []
    for text in ("吴江区", "苏州市", "\ue000\ue001\ue002"):  # the last has no glyphs anywhere
        browser.execute_script(
            "document.body.innerHTML = '<span id=probe style=\"font-size:48px\">' "
            "+ arguments[0] + '</span>'",
            text,
        )
        shots.append(browser.find_element(By.ID, "probe").screenshot_as_png)
    browser.get(server + "/?kind=changed")
    browser.save_screenshot(str(tmp_path / "changes.png"))
    wujiang, suzhou, boxes = shots
    assert wujiang != suzhou, "different characters drew the same image: missing CJK font"
    assert wujiang != boxes
    assert suzhou != boxes


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/sources", "来源 Sources"),
        ("/runs", "运行 Runs"),
        ("/search?q=政府工作报告 吴江区", "搜索"),
        ("/reports", "报告"),
        ("/document/1", "版本历史"),
    ],
)
def test_every_page_renders_chinese(server, browser, path, words):
    """Each page loads in Chromium and its Chinese heading draws glyphs, not boxes."""
    browser.get(server + path)
    heading = browser.find_element(By.TAG_NAME, "h1")
    assert words in heading.text
    drawn = heading.screenshot_as_png
    browser.execute_script(
        "arguments[0].textContent = arguments[1]", heading, "\ue000" * len(heading.text)
    )
    assert drawn != heading.screenshot_as_png  # the same box would be drawn for every glyph


def test_feed_is_valid_atom_and_filters(server):
    import urllib.request

    with urllib.request.urlopen(server + "/feed.atom?kind=changed") as resp:
        feed = feedparser.parse(resp.read())
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert len(feed.entries) == 2
    for entry in feed.entries:
        assert "/change/" in entry.link
        assert entry.summary
    with urllib.request.urlopen(
        server + "/feed.atom?region=" + urllib.parse.quote("吴江区") + "&kind=changed"
    ) as resp:
        one = feedparser.parse(resp.read())
    assert [e.title for e in one.entries] == ["[changed] 吴江区2019年政府工作报告"]


def test_search_command(crawled):
    out = govwatch("search", "地区生产总值1931亿元", "--json", db=crawled["db"])
    (hit,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert hit["url"].endswith(WUJIANG_2019)
    assert "1931亿元" in hit["match"]
    two = [
        json.loads(line)
        for line in govwatch(
            "search", "招商", "--json", "--limit", "50", db=crawled["db"]
        ).stdout.splitlines()
    ]
    assert two
    assert all("招商" in h["match"] for h in two)
    trad = govwatch("search", "我代表常熟市人民政府,向大會報告", "--json", db=crawled["db"]).stdout
    assert len(trad.splitlines()) >= 2  # the mirror and the Simplified official copy
    assert "No documents match." in govwatch("search", "不存在的词语组合", db=crawled["db"]).stdout


def test_export_round_trip(crawled, tmp_path):
    changes = [
        json.loads(line)
        for line in govwatch("changes", "--json", db=crawled["db"]).stdout.splitlines()
    ]
    out = tmp_path / "changes.csv"
    result = govwatch(
        "export", "changes", "--format", "csv", "--bom", "-o", str(out), db=crawled["db"]
    )
    assert result.returncode == 0, result.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [int(r["id"]) for r in back] == [c["id"] for c in changes]
    assert [r["title"] for r in back] == [c["title"] for c in changes]
    lines = govwatch("export", "documents", "--format", "jsonl", db=crawled["db"]).stdout
    docs = [json.loads(line) for line in lines.splitlines()]
    assert len(docs) == len(SampleSite().docs)
    assert all("\ufffd" not in d["text"] for d in docs)
    reports = govwatch("export", "reports", "--format", "csv", db=crawled["db"]).stdout
    assert "sample_changshu" in reports
    assert "copy" in reports

"""Attachments: PDF, DOCX, OFD, XLSX (and DOC/WPS/XLS through antiword and catdoc) linked from
document pages are documents of their own, with a parent, versioned and diffed like pages.

Fixture files are made here (samplesite.files: ReportLab, python-docx, openpyxl, a hand-built
OFD), never downloaded. The crawl is real: the sample site's ``trs`` column links them.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from pipelines.extract import extract_file, own_text
from pipelines.text.files import FileError, file_text, kind_of, sniff
from pipelines.text.layout import paragraphs
from samplesite import files as F
from samplesite.cms import COLUMNS
from storage import VersionStore
from storage.diff import sentence_diff
from tests.conftest import FAST, govwatch, write_sources

BASE = [
    "{n}年全市地区生产总值达到1930亿元，比上年增长5.1%，一般公共预算收入完成260亿元。"
    "全年新签约亿元以上重大项目一百二十个，其中外资项目四十个，实际使用外资十二亿美元。",
    "一、{n}年工作回顾",
    "过去一年，我们坚持稳中求进工作总基调，统筹发展和安全，经济运行总体平稳、稳中有进。"
    "产业转型步伐加快，先进制造业集群建设取得新成效，科技创新能力持续增强。",
    "二、{n}年主要目标任务",
    "今年经济社会发展的主要预期目标是：地区生产总值增长5%左右，城镇调查失业率控制在5%以内，"
    "居民收入增长与经济增长同步，第{n}个五年规划的目标任务全面完成。",
]
# several pages: running header, page numbers and wrapped lines to remove
PARAS = [p.format(n=year) for year in range(2018, 2024) for p in BASE]
ONE_PAGE = [F.HEADER]  # a one-page file: its running header cannot be told from its text


def as_lines(text: str) -> list[str]:
    return [x for x in text.splitlines() if x]


# -- reading each format ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pdf", "docx", "ofd"])
def test_text_comes_out_as_the_paragraphs_written(kind):
    body = {"pdf": F.make_pdf, "docx": F.make_docx, "ofd": F.make_ofd}[kind]("年度报告", PARAS)
    found = file_text(body, kind)
    assert as_lines(found.text) == ["年度报告", *PARAS]  # no header, page number or line break
    assert found.title == "年度报告"
    assert found.meta["format"] == kind
    if kind != "docx":
        assert found.meta["pages"] >= 2


def test_pdf_with_adobe_gb1_cmap_font_gives_the_right_characters():
    """STSong-Light is not embedded: readers map its CIDs through the Adobe-GB1 CMap."""
    body = F.make_pdf("政府工作报告", PARAS[:3], cid_font=True)
    assert b"UniGB-UCS2-H" in body
    assert b"/FontFile" not in body
    assert as_lines(file_text(body, "pdf").text) == [*ONE_PAGE, "政府工作报告", *PARAS[:3]]


def test_pdf_with_an_embedded_cjk_font():
    body = F.make_pdf("政府工作报告", PARAS[:3])
    if b"/FontFile2" not in body:
        pytest.skip("no CJK TrueType font on this machine (make test installs one)")
    assert as_lines(file_text(body, "pdf").text) == [*ONE_PAGE, "政府工作报告", *PARAS[:3]]


def test_xlsx_rows_and_gbk_text_files():
    text = file_text(F.make_xlsx("项目清单", ["苏州工业园区", "吴江经济开发区"]), "xlsx").text
    assert as_lines(text) == ["【附表】", "项目清单", "1\t苏州工业园区", "2\t吴江经济开发区"]
    gbk = "吴中区人民政府关于2024年招商引资工作的通知。".encode("gbk")
    assert file_text(gbk, "txt").text == "吴中区人民政府关于2024年招商引资工作的通知。"


def test_a_rewrapped_edit_is_one_sentence_and_page_furniture_never_a_change():
    edited = [p.replace("1930亿元", "1931.5亿元") for p in PARAS]  # shifts every later break
    old = file_text(F.make_pdf("年度报告", PARAS), "pdf").text
    new = file_text(F.make_pdf("年度报告", edited), "pdf").text
    diff = sentence_diff(old, new)
    assert (diff.modified, diff.added, diff.removed) == (6, 0, 0)  # the sentence, 6 times
    assert all("1931.5亿元" in op["new"][0] for op in diff.ops)
    body = "本市坚持稳中求进工作总基调，经济运行总体平稳，产业转型步伐加快，"
    pages = [["苏州市人民政府文件", body, "第一段结束。", "第1页 共2页"],
             ["苏州市人民政府文件", body, "第二段结束。", "- 2 -"]]  # fmt: skip
    assert paragraphs(pages) == f"{body}第一段结束。\n{body}第二段结束。"


def test_kinds_by_extension_or_content_type():
    assert kind_of("http://x.cn/a/2024年报告.PDF") == "pdf"
    assert kind_of("http://x.cn/download?id=3", "application/msword") == "doc"
    assert kind_of("http://x.cn/a/file.wps") == "wps"
    assert kind_of("http://x.cn/a/index.html", "text/html; charset=gbk") is None
    assert kind_of("http://x.cn/a/page.shtml", "text/plain") is None  # a page, not a .txt


# -- bad files: one clear error each -----------------------------------------------------------


def _encrypted_pdf() -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, encrypt=StandardEncryption("secret", canModify=0))
    pdf.drawString(72, 720, "secret")
    pdf.save()
    return out.getvalue()


def _scan_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.rect(72, 72, 400, 600, fill=1)  # a page with a picture and no text layer
    pdf.save()
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"0" * 300_000_000)
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "kind", "error", "words"),
    [
        (b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "pdf", "bad_file", "HTML"),
        (b"%PDF-1.4\n1 0 obj broken", "pdf", "bad_file", "corrupt PDF"),
        (_encrypted_pdf(), "pdf", "bad_file", "encrypted"),
        (_scan_pdf(), "pdf", "no_text", "no text layer"),
        (_zip_bomb(), "docx", "bad_file", "zip bomb"),
        (b"PK\x03\x04 not a zip", "docx", "bad_file", "corrupt zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "doc", "bad_file", "doc"),
        (b"", "ofd", "bad_file", "empty"),
    ],
)
def test_bad_files_are_one_line_errors(body, kind, error, words):
    with pytest.raises(FileError) as caught:
        file_text(body, kind)
    assert caught.value.kind == error
    message = str(caught.value)
    assert words.lower() in message.lower()
    assert "\n" not in message
    assert "/tmp" not in message
    assert "Traceback" not in message


def test_misnamed_files_are_read_as_what_they_are():
    assert sniff(F.make_docx("t", ["x"]), "doc") == "docx"
    assert extract_file(F.make_pdf("报告", PARAS[:1]), "docx").meta["format"] == "pdf"


def test_attachment_only_page_text_is_its_link_lines():
    links = [("http://x.cn/f/a.pdf", "2024年政府工作报告.pdf")]
    assert own_text("附件：2024年政府工作报告.pdf", links) == ""
    assert own_text("正文第一段。\n附件1：2024年政府工作报告.pdf（下载）", links) == "正文第一段。"


def test_extract_command_reads_files(tmp_path):
    (tmp_path / "报告.ofd").write_bytes(F.make_ofd("政策汇编", PARAS[:2]))
    (tmp_path / "fake.pdf").write_bytes(b"<html><body>error</body></html>")
    out = govwatch("extract", "--json", str(tmp_path / "报告.ofd"), str(tmp_path / "fake.pdf"))
    assert out.returncode == 1  # one input failed
    good, bad = map(json.loads, out.stdout.splitlines())
    assert (good["title"], as_lines(good["text"])) == (
        "政策汇编",
        [*ONE_PAGE, "政策汇编", *PARAS[:2]],
    )
    assert bad["kind"] == "bad_file"
    assert "HTML page" in bad["error"]
    assert "Traceback" not in out.stderr


# -- crawled, versioned, diffed ---------------------------------------------------------------


def trs_source(site, **extra):
    (entry,) = [e for e in site.cms_sources() if e["name"] == "cms_script_pages"]
    trs = [u for u in entry["start_urls"] if "/trs/" in u]
    return {**entry, "name": "cms_trs", "start_urls": trs, "settings": dict(FAST), **extra}


@pytest.mark.slow
def test_attachments_are_versioned_and_each_edit_is_one_change(site, tmp_path, db_path):
    sources = write_sources(tmp_path / "s.yaml", [trs_source(site)])
    first = govwatch("crawl", "cms_trs", "--json", db=db_path, sources=sources)
    assert first.returncode == 0, first.stderr[-3000:]
    (run,) = map(json.loads, first.stdout.splitlines())
    n_files = len(site.cms.files)
    assert (run["outcome"], run["new"], run["errors"]) == ("ok", COLUMNS["trs"][2] + n_files, 0)

    changes = [json.loads(x) for x in govwatch("changes", "--json", db=db_path).stdout.split("\n")
               if x]  # fmt: skip
    files = {c["url"].split("/cms/", 1)[1]: c for c in changes if c["parent"]}
    assert {"/cms/" + k for k in files} == set(site.cms.files)
    for path, file in site.cms.files.items():
        row = files[path.removeprefix("/cms/")]
        assert row["title"] == file.title
        assert row["kind"] == "new"
        assert row["content_type"].startswith(
            {"pdf": "application/pdf", "docx": "application/vnd.openxml", "ofd": "application/ofd",
             "xlsx": "application/vnd.openxml"}[file.kind]
        )  # fmt: skip
        parent = next(d for d, fs in site.cms.attachments.items() if file in fs)
        assert row["parent"].endswith(parent)
    pages = [c for c in changes if not c["parent"]]
    assert all(c["content_type"] == "text/html" for c in pages)

    # the attachment-only page is a document, and shows its attachment's text as its body
    only = next(p for p, fs in site.cms.attachments.items() if len(fs) == 1)
    (page,) = [c for c in pages if c["url"].endswith(only)]
    shown = json.loads(govwatch("show", str(page["id"]), "--json", db=db_path).stdout)
    (attachment,) = site.cms.attachments[only]
    assert attachment.paragraphs[0] in shown["body"]
    pdf = next(f for f in site.cms.files.values() if f.kind == "pdf")
    history = govwatch("history", site.base_url + pdf.path, "--json", db=db_path)
    (version,) = map(json.loads, history.stdout.splitlines())
    assert version["parent"]
    assert version["content_type"] == "application/pdf"
    found = govwatch("search", attachment.paragraphs[0][:8], "--json", db=db_path)
    assert any(json.loads(x)["url"].endswith(attachment.path) for x in found.stdout.splitlines())

    # edit one sentence in each of the PDF, the DOCX and the OFD
    edited = {}
    for file in site.cms.files.values():
        if file.kind in ("pdf", "docx", "ofd") and file.kind not in edited:
            sentence = re.findall(r"[^。！？]+[。！？]", file.paragraphs[1])[0]
            old = sentence[4:12]
            site.cms.edit(file.path, old, old + "（修订）")
            edited[file.kind] = (file.path, old + "（修订）")
    second = govwatch("crawl", "cms_trs", "--json", db=db_path, sources=sources)
    (run,) = map(json.loads, second.stdout.splitlines())
    assert (run["outcome"], run["new"], run["changed"], run["errors"]) == ("ok", 0, 3, 0)
    with VersionStore(db_path) as store:
        changed = store.changes(kind="changed")
        assert len(changed) == 3
        for path, new_words in edited.values():
            (c,) = [x for x in changed if x["url"].endswith(path)]
            diff = store.change(c["id"])["diff"]
            assert (c["modified"], c["added"], c["removed"]) == (1, 0, 0)
            assert new_words in diff[0]["new"][0]
    third = govwatch("crawl", "cms_trs", "--json", db=db_path, sources=sources)
    (run,) = map(json.loads, third.stdout.splitlines())
    assert (run["new"], run["changed"], run["errors"]) == (0, 0, 0)  # bytes the same: skipped

    # a file the page still links to answers 404 twice: removed, by the same rule as pages
    gone = edited["ofd"][0]
    del site.cms.files[gone]
    for _ in range(2):
        govwatch("crawl", "cms_trs", db=db_path, sources=sources)
    with VersionStore(db_path) as store:
        (removed,) = store.changes(kind="removed")
    assert removed["url"].endswith(gone)


def test_too_large_attachments_are_errors_and_attachments_can_be_off(site, tmp_path, db_path):
    small = trs_source(site)
    small["settings"]["ATTACHMENTS_MAX_BYTES"] = 2048
    off = {**trs_source(site), "name": "cms_trs_off", "attachments": False}
    sources = write_sources(tmp_path / "s.yaml", [small, off])
    runs = {}
    for name, db in (("cms_trs", db_path), ("cms_trs_off", tmp_path / "off.db")):
        out = govwatch("crawl", name, "--json", db=db, sources=sources)
        runs[name] = json.loads(out.stdout)
    pages = COLUMNS["trs"][2]
    big = [f for f in site.cms.files.values() if len(f.body()) > 2048]
    assert big  # the PDFs and the DOCX at least
    assert (runs["cms_trs"]["new"], runs["cms_trs"]["errors"]) == (
        pages + len(site.cms.files) - len(big),
        len(big),
    )
    assert (runs["cms_trs_off"]["new"], runs["cms_trs_off"]["errors"]) == (pages, 0)
    with VersionStore(db_path) as store:
        kinds = [e["kind"] for e in store.db["errors"].rows]
    assert kinds == ["too_large"] * len(big)


def test_review_page_digest_and_search_name_attachment_and_page(tmp_path):
    from govwatch.notify import build_digest
    from govwatch.web import create_app

    page, pdf = "http://x.test/art/1.html", "http://x.test/files/report.pdf"
    with VersionStore(tmp_path / "g.db") as store:
        store.record(page, source="s", text="附件：2024年政府工作报告.pdf",
                     title="关于公布报告的通知", meta={"attachment_only": True})  # fmt: skip
        store.record(pdf, source="s", text="\n".join(PARAS[:3]), title="2024年政府工作报告",
                     parent=page, content_type="application/pdf")  # fmt: skip
        page_change, pdf_change = store.changes()[::-1]
        assert [h["url"] for h in store.search("稳中求进")] == [pdf]
        digest = build_digest("来源", [store.change(pdf_change["id"])], "http://127.0.0.1:8700/")
        page_id = store.document(page)["id"]
    assert f"attachment (pdf) of {page}" in digest.body
    client = create_app(str(tmp_path / "g.db")).test_client()
    shown = client.get(f"/change/{page_change['id']}").get_data(as_text=True)
    assert PARAS[0] in shown
    assert "2024年政府工作报告" in shown
    listed = client.get(f"/document/{page_id}").get_data(as_text=True)
    assert 'id="attachments"' in listed
    assert "application/pdf" in listed
    own = client.get(f"/change/{pdf_change['id']}").get_data(as_text=True)
    assert 'id="parent"' in own
    assert page in own

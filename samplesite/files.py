"""Attachment files the sample site serves, made on the fly from paragraphs of text.

- ``pdf``: A4 pages through ReportLab, with a running header, a page number in the footer, and
  lines wrapped at the right margin as a word processor does. The font is a CJK TrueType font
  of the system, embedded (subset); without one, ReportLab's STSong-Light, a font that is not
  embedded and that readers map through the Adobe-GB1 CMap (``cid_font=True`` forces it).
- ``docx``: python-docx, a heading and paragraphs.
- ``ofd``: a GB/T 33190 package written by hand (OFD.xml, Document.xml, one Content.xml per
  page with ``TextObject``/``TextCode``), wrapped like the PDF.
- ``xlsx``: openpyxl, one row per paragraph.
"""

from __future__ import annotations

import io
import zipfile
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
LINE_WIDTH = 68  # columns: a CJK character takes two, a Latin letter or digit one
LINES_PER_PAGE = 40
HEADER = "示例市人民政府文件"


def wrap(paragraphs: list[str], width: int = LINE_WIDTH) -> list[str]:
    """Paragraphs as printed lines: an indented first line, wrapped at ``width`` columns (no
    rule against punctuation at the start of a line: the reader must cope with both)."""
    lines = []
    for para in paragraphs:
        line, used = "", 0
        for ch in "\u3000\u3000" + para:
            w = 1 if ch.isascii() else 2
            if used + w > width:
                lines.append(line)
                line, used = "", 0
            line, used = line + ch, used + w
        lines.append(line)
    return lines


def _pages(title: str, paragraphs: list[str]) -> list[list[str]]:
    lines = [title, *wrap(paragraphs)]
    return [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]


@cache
def _font(cid_font: bool) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if not cid_font:
        for path in FONT_FILES:
            if Path(path).is_file():
                pdfmetrics.registerFont(TTFont("SampleCJK", path, subfontIndex=0))
                return "SampleCJK"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def make_pdf(title: str, paragraphs: list[str], *, cid_font: bool = False) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font = _font(cid_font)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True)  # same text, same bytes
    pdf.setTitle(title)
    width, height = A4
    pages = _pages(title, paragraphs)
    for number, lines in enumerate(pages, 1):
        pdf.setFont(font, 9)
        pdf.drawCentredString(width / 2, height - 40, HEADER)
        pdf.setFont(font, 12)
        y = height - 80
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 18
        pdf.setFont(font, 9)
        pdf.drawCentredString(width / 2, 30, f"- {number} -")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def make_docx(title: str, paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for para in paragraphs:
        document.add_paragraph(para)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_xlsx(title: str, rows: list[str]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "附表"
    sheet.append([title])
    for i, row in enumerate(rows, 1):
        sheet.append([i, row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make_ofd(title: str, paragraphs: list[str]) -> bytes:
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    pages = _pages(title, paragraphs)
    ofd_xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD">'
        f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>sample</ofd:DocID>"
        f"<ofd:Title>{escape(title)}</ofd:Title></ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    page_refs = "".join(
        f'<ofd:Page ID="{i + 10}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for i in range(len(pages))
    )
    document_xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData>'
        "<ofd:MaxUnitID>9999</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297"
        "</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
        f"</ofd:CommonData><ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>"
    )
    res_xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res"><ofd:Fonts>'
        '<ofd:Font ID="1" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OFD.xml", ofd_xml)
        archive.writestr("Doc_0/Document.xml", document_xml)
        archive.writestr("Doc_0/PublicRes.xml", res_xml)
        for i, lines in enumerate(pages):
            archive.writestr(f"Doc_0/Pages/Page_{i}/Content.xml", _ofd_page(ns, i, lines))
    return out.getvalue()


def _ofd_page(ns: str, number: int, lines: list[str]) -> str:
    objects = [(15.0, HEADER, 3.5), *((30.0 + 6 * k, line, 4.2) for k, line in enumerate(lines))]
    objects.append((285.0, f"- {number + 1} -", 3.5))
    body = "".join(
        f'<ofd:TextObject ID="{number * 1000 + k + 100}" Boundary="20 {y:.1f} 170 6" '
        f'Font="1" Size="{size}"><ofd:TextCode X="0" Y="5">{escape(text)}</ofd:TextCode>'
        "</ofd:TextObject>"
        for k, (y, text, size) in enumerate(objects)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="'
        f'{number * 1000 + 50}">{body}</ofd:Layer></ofd:Content></ofd:Page>'
    )

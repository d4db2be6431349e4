"""Attachments: the text of PDF, Word, WPS, OFD, spreadsheet and plain-text files.

Each format goes through a well-kept reader: PDF through PDFium (pypdfium2, which carries the
Adobe CMaps that Chinese PDFs without a ToUnicode table need), DOCX through python-docx, XLSX
through openpyxl, DOC and WPS through antiword (catdoc when antiword cannot read the file), XLS
through catdoc's xls2csv, plain text through our charset rules. OFD (GB/T 33190) is a zip of XML
files: its text is the ``TextCode`` elements of each page, read with lxml, in reading order.

What a file is comes from its bytes, not from what the link or the server says: a "PDF" that is
an HTML error page, an encrypted or corrupt file, a zip that would unpack to more than
``MAX_UNPACKED`` bytes, a file with no text layer (a scan: ``no_text``), each raises
``FileError`` with its kind and one line; nothing is half-read.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from pipelines.text.charsets import UndecodablePage, decode_body
from pipelines.text.layout import paragraphs, split_lines

# kind -> (extensions, MIME types)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pdf": ((".pdf",), ("application/pdf", "application/x-pdf")),
    "docx": ((".docx",), ("application/vnd.openxmlformats-officedocument.wordprocessingml",)),
    "doc": ((".doc",), ("application/msword",)),
    "wps": ((".wps",), ("application/kswps", "application/wps-office.wps",
                        "application/vnd.ms-works")),
    "ofd": ((".ofd",), ("application/ofd",)),
    "xlsx": ((".xlsx",), ("application/vnd.openxmlformats-officedocument.spreadsheetml",)),
    "xls": ((".xls",), ("application/vnd.ms-excel",)),
    "txt": ((".txt",), ("text/plain",)),
}  # fmt: skip
EXTENSIONS = frozenset(e for suffixes, _ in KINDS.values() for e in suffixes)
MIME = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "wps": "application/kswps",
    "ofd": "application/ofd",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "txt": "text/plain",
}
MAX_UNPACKED = 200 * 1024 * 1024  # a zip (DOCX, XLSX, OFD) may unpack to at most this
MAX_RATIO = 200  # ... and at most this many times its packed size
TOOL_TIMEOUT = 60  # seconds for antiword, catdoc, xls2csv
MAX_CELLS = 200_000  # a spreadsheet's text stops here
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class FileError(ValueError):
    """A file whose text cannot be had; ``kind`` names why (the run's error kind)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple[Any, ...]:  # raised in an extraction process, read in the crawl
        return (FileError, (self.kind, str(self)))


@dataclass
class FileText:
    text: str
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def kind_of(url: str, content_type: str | None = None) -> str | None:
    """The attachment kind a link or an answer names, by extension first, then by MIME type;
    ``None`` for anything else (HTML pages included)."""
    suffix = PurePosixPath(unquote(urlparse(url).path)).suffix.lower()
    for kind, (suffixes, _) in KINDS.items():
        if suffix in suffixes:
            return kind
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and mime != "text/plain":  # a text/plain answer is a page unless named .txt
        for kind, (_, mimes) in KINDS.items():
            if any(mime.startswith(m) for m in mimes):
                return kind
    return None


def filename(url: str) -> str:
    return PurePosixPath(unquote(urlparse(url).path)).name or url


def sniff(body: bytes, expected: str) -> str:
    """The kind the bytes really are; ``FileError("bad_file")`` when they are not ``expected``
    (an HTML error page served as a PDF, say)."""
    head = body[:2048].lstrip()
    if not body:
        raise FileError("bad_file", f"empty {expected.upper()} file")
    if head.startswith(b"%PDF") or b"%PDF-" in body[:1024]:
        actual = "pdf"
    elif body.startswith(b"PK\x03\x04"):
        actual = _zip_kind(body) or expected
    elif body.startswith(OLE):
        actual = expected if expected in ("doc", "wps", "xls") else "doc"
    elif re.match(rb"(?i)(<!doctype html|<html|<head|<body|<\?xml|<script)", head):
        raise FileError("bad_file", f"not a {expected.upper()} file: the answer is an HTML page")
    elif expected == "txt":
        actual = "txt"
    else:
        raise FileError("bad_file", f"not a {expected.upper()} file (unknown bytes {body[:8]!r})")
    if actual != expected and {actual, expected} != {"doc", "wps"}:
        if actual in ("pdf", "docx", "xlsx", "ofd"):
            return actual  # misnamed but readable: read what it is
        raise FileError("bad_file", f"not a {expected.upper()} file: it is {actual.upper()}")
    return actual


def _zip_kind(body: bytes) -> str | None:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileError("bad_file", "corrupt zip container") from None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "OFD.xml" in names:
        return "ofd"
    return None


def _open_zip(body: bytes) -> zipfile.ZipFile:
    """The zip, after checking it does not unpack to far more than it weighs (a zip bomb)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
        unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise FileError("bad_file", f"corrupt zip container: {exc}") from None
    if unpacked > MAX_UNPACKED or unpacked > MAX_RATIO * max(len(body), 1024 * 1024):
        raise FileError(
            "bad_file",
            f"refused: {len(body)} bytes would unpack to {unpacked} (a zip bomb?)",
        )
    return archive


def file_text(body: bytes, kind: str) -> FileText:
    """The text of one file of ``kind`` (see ``KINDS``); raises ``FileError``."""
    kind = sniff(body, kind)
    reader = READERS[kind]
    try:
        result = reader(body)
    except FileError:
        raise
    except Exception as exc:  # a reader's own error on a malformed file: one line
        raise FileError("bad_file", f"unreadable {kind.upper()} file: {exc}") from None
    result.meta["format"] = kind
    if not result.text.strip():
        what = "no text layer (a scan?)" if kind in ("pdf", "ofd") else "no text"
        raise FileError("no_text", f"{kind.upper()} file has {what}")
    return result


def _pdf(body: bytes) -> FileText:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(body)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            raise FileError("bad_file", "encrypted PDF (needs a password)") from None
        raise FileError("bad_file", f"corrupt PDF: {message}") from None
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(split_lines(textpage.get_text_bounded()))
            textpage.close()
            page.close()
        meta = pdf.get_metadata_dict(skip_empty=True)
    finally:
        pdf.close()
    return FileText(paragraphs(pages), meta.get("Title"), {"pages": len(pages)})


def _docx(body: bytes) -> FileText:
    import docx
    from docx.table import Table

    _open_zip(body)
    document = docx.Document(io.BytesIO(body))
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = list(dict.fromkeys(c.text.strip() for c in row.cells))
                lines.append("\t".join(c for c in cells if c))
        else:
            lines.append(block.text.strip())
    title = document.core_properties.title or None
    return FileText("\n".join(x for x in lines if x), title)


def _xlsx(body: bytes) -> FileText:
    import openpyxl

    _open_zip(body)
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    lines, cells = [], 0
    try:
        for sheet in book.worksheets:
            lines.append(f"【{sheet.title}】")
            for row in sheet.iter_rows(values_only=True):
                values = [str(v).strip() for v in row if v is not None and str(v).strip()]
                cells += len(values)
                if values:
                    lines.append("\t".join(values))
                if cells > MAX_CELLS:
                    break
    finally:
        book.close()
    return FileText("\n".join(lines), book.properties.title or None)


OFD_NS = "{*}"


def _ofd(body: bytes) -> FileText:
    from lxml import etree

    archive = _open_zip(body)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

    def xml(name: str) -> Any:
        try:
            return etree.fromstring(archive.read(name.lstrip("/")), parser)
        except KeyError:
            raise FileError("bad_file", f"OFD file lacks {name}") from None

    root = xml("OFD.xml")
    doc_root = root.findtext(f".//{OFD_NS}DocRoot")
    if not doc_root:
        raise FileError("bad_file", "OFD file names no DocRoot")
    doc_path = PurePosixPath(doc_root.strip().lstrip("/"))
    document = xml(str(doc_path))
    title = root.findtext(f".//{OFD_NS}Title")
    pages = []
    for page in document.iter(f"{OFD_NS}Page"):
        loc = (page.get("BaseLoc") or "").strip()
        if loc:
            path = loc.lstrip("/") if loc.startswith("/") else str(doc_path.parent / loc)
            pages.append(_ofd_lines(xml(path)))
    return FileText(paragraphs(pages), title or None, {"pages": len(pages)})


def _ofd_lines(content: Any) -> list[str]:
    """A page's text objects grouped into lines by their baseline, top to bottom."""
    pieces = []
    for obj in content.iter(f"{OFD_NS}TextObject"):
        box = [float(v) for v in (obj.get("Boundary") or "0 0 0 0").split()[:4]]
        for code in obj.iter(f"{OFD_NS}TextCode"):
            x = box[0] + float(code.get("X") or 0)
            y = box[1] + float(code.get("Y") or 0)
            if code.text:
                pieces.append((round(y, 0), x, code.text))
    lines: dict[float, list[tuple[float, str]]] = {}
    for y, x, text in pieces:
        key = next((k for k in lines if abs(k - y) <= 1.5), y)
        lines.setdefault(key, []).append((x, text))
    return ["".join(t for _, t in sorted(lines[y])) for y in sorted(lines)]


def _txt(body: bytes) -> FileText:
    try:
        return FileText(decode_body(body, "text/plain").text)
    except UndecodablePage as exc:
        raise FileError("charset", str(exc)) from None


def _word97(body: bytes) -> FileText:
    """DOC and WPS: antiword, then catdoc for what antiword cannot read (WPS Office files)."""
    errors = []
    for tool, args in (("antiword", ["-m", "UTF-8.txt", "-w", "0"]), ("catdoc", ["-d", "utf-8"])):
        try:
            text = _run_tool(tool, args, body)
        except FileError as exc:
            errors.append(str(exc))
            continue
        if text.strip():
            lines = [x.strip() for x in text.splitlines()]
            return FileText("\n".join(x for x in lines if x), None, {"reader": tool})
    raise FileError("bad_file", "; ".join(errors) or "Word file has no text")


def _xls(body: bytes) -> FileText:
    text = _run_tool("xls2csv", ["-d", "utf-8", "-q", "0", "-c", "\t"], body)
    lines = [x.strip().strip("\t") for x in text.replace("\f", "\n").splitlines()]
    return FileText("\n".join(x for x in lines if x), None, {"reader": "xls2csv"})


def _run_tool(tool: str, args: list[str], body: bytes) -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise FileError("bad_file", f"{tool} is not installed (make installs it)")
    with tempfile.TemporaryDirectory(prefix="govwatch-") as tmp:
        path = Path(tmp) / "file"
        path.write_bytes(body)
        try:
            done = subprocess.run(
                [exe, *args, str(path)], capture_output=True, timeout=TOOL_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise FileError("bad_file", f"{tool} took over {TOOL_TIMEOUT} s") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").replace(str(path), "the file")
        reason = reason.strip().splitlines()
        raise FileError("bad_file", f"{tool}: {reason[-1] if reason else 'failed'}")
    return done.stdout.decode("utf-8", "replace").replace("\ufffd", "")


READERS = {
    "pdf": _pdf,
    "docx": _docx,
    "xlsx": _xlsx,
    "ofd": _ofd,
    "txt": _txt,
    "doc": _word97,
    "wps": _word97,
    "xls": _xls,
}

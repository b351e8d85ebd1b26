"""Text out of uploaded files (.txt, .md, .html, .pdf, .docx), with where each part came from.

A ``Document`` is the text plus page start offsets for PDFs, so a chunk can be cited
as "page 3" or "lines 12-40". A file that cannot be read raises ``UnreadableFile``
naming the file and the reason; the vector store marks that file failed with that
message and goes on with the others.
"""

import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePath
from xml.etree import ElementTree

from herd.errors import InvalidRequest

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".csv", ".json", ".yaml", ".yml", ".py", ".log", ""}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED = sorted(TEXT_SUFFIXES - {""} | HTML_SUFFIXES | {".pdf", ".docx"})


class UnreadableFile(InvalidRequest):
    """A file whose type is unsupported or whose content cannot be decoded."""


@dataclass
class Document:
    text: str
    page_starts: list[int] = field(default_factory=list)

    def location(self, start: int, end: int) -> str:
        """Where ``text[start:end]`` is: pages for PDFs, lines otherwise (1-based, inclusive)."""
        if self.page_starts:
            first, last = (sum(1 for p in self.page_starts if p <= at) for at in (start, max(start, end - 1)))
            return f"page {first}" if first == last else f"pages {first}-{last}"
        first = self.text.count("\n", 0, start) + 1
        last = first + self.text.count("\n", start, max(start, end - 1))
        return f"line {first}" if first == last else f"lines {first}-{last}"


def extract(filename: str, data: bytes) -> Document:
    suffix = PurePath(filename).suffix.lower()
    try:
        if suffix in HTML_SUFFIXES:
            return Document(html_text(decode(data)))
        if suffix == ".pdf":
            return pdf_document(data)
        if suffix == ".docx":
            return Document(docx_text(data))
        if suffix in TEXT_SUFFIXES or _looks_textual(data):
            return Document(decode(data))
    except UnreadableFile:
        raise
    except Exception as exc:  # each parser has its own error types; all mean the same to the user
        raise UnreadableFile(f"{filename}: cannot read it as {suffix or 'text'} ({type(exc).__name__}: {exc})") from exc
    raise UnreadableFile(f"{filename}: unsupported file type {suffix!r}; supported: {', '.join(SUPPORTED)}")


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else what chardet guesses from the first 64 KB."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        import chardet

        guess = chardet.detect(data[:65536])["encoding"]
        if not guess:
            raise UnreadableFile("the file is binary or in an unknown text encoding") from None
        return data.decode(guess, errors="replace")


def _looks_textual(data: bytes) -> bool:
    return b"\x00" not in data[:8192]


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "head", "noscript", "template"}
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    text = re.sub(r"[ \t\r\f\v]+", " ", "".join(parser.parts))
    return re.sub(r"\s*\n\s*", "\n", text).strip()


def pdf_document(data: bytes) -> Document:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    text, starts = "", []
    for page in reader.pages:
        starts.append(len(text))
        text += (page.extract_text() or "") + "\n"
    if not text.strip():
        raise UnreadableFile("the PDF has no extractable text (scanned pages need OCR first)")
    return Document(text, starts)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = ElementTree.fromstring(archive.read("word/document.xml"))
    paragraphs = ["".join(t.text or "" for t in p.iter(f"{_W}t")) for p in root.iter(f"{_W}p")]
    return "\n".join(paragraphs)

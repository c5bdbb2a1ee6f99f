"""Reading generated PDFs back in tests."""

import unicodedata
from io import BytesIO

from pypdf import PdfReader


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page, NFKC-normalised (Arabic letter forms read as letters)."""
    reader = PdfReader(BytesIO(data))
    return [unicodedata.normalize("NFKC", page.extract_text() or "") for page in reader.pages]


def stored_pdf(summary) -> bytes:
    with summary.pdf.open("rb") as handle:
        return handle.read()


def pdf_fonts(data: bytes) -> set[str]:
    """The base font names the pages use (subset prefixes removed)."""
    names = set()
    for page in PdfReader(BytesIO(data)).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            name = str(ref.get_object().get("/BaseFont", ""))
            names.add(name.lstrip("/").split("+")[-1])
    return names

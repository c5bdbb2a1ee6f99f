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


def _font_dicts(resources, seen: set):
    """Every font dictionary reachable from a resources dictionary (forms included)."""
    if resources is None:
        return
    resources = resources.get_object()
    for ref in (resources.get("/Font") or {}).values():
        yield ref.get_object()
    for ref in (resources.get("/XObject") or {}).values():
        xobject = ref.get_object()
        key = id(xobject)
        if xobject.get("/Subtype") == "/Form" and key not in seen:
            seen.add(key)
            yield from _font_dicts(xobject.get("/Resources"), seen)


def _embedded(font) -> bool:
    if font.get("/Subtype") == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False  # one of the standard 14: drawn by the viewer's own font
    descriptor = descriptor.get_object()
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def unembedded_fonts(data: bytes) -> set[str]:
    """The base font names of the fonts the PDF uses without embedding them."""
    missing, seen = set(), set()
    for page in PdfReader(BytesIO(data)).pages:
        for font in _font_dicts(page.get("/Resources"), seen):
            if not _embedded(font):
                missing.add(str(font.get("/BaseFont", "?")).lstrip("/"))
    return missing

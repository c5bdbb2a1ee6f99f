"""Fonts for the PDF summaries and the one way any text enters a PDF paragraph.

reportlab's built-in fonts cover Latin-1 only, and a ``Paragraph`` parses its
text as markup. So every string the document shows that comes from a record
(names, notes, comments, even numbers) goes through :func:`pdf_markup`, which

1. drops control characters and normalises to NFC;
2. puts right-to-left runs (Arabic, Hebrew) into visual order and gives Arabic
   letters their joined forms, line by line (python-bidi, arabic-reshaper);
3. splits the text into runs per font: DejaVu Sans (Latin with accents, Greek,
   Cyrillic, Arabic, Hebrew, many symbols) and, for what DejaVu lacks, the CJK
   CID fonts built into reportlab (Chinese, Japanese, Korean);
4. escapes each run (``&``, ``<``, ``>``) so that text that looks like markup is
   printed literally and can never restyle the document.

Fonts come from the operating system: Debian's ``fonts-dejavu-core``
(``/usr/share/fonts/truetype/dejavu``). The CJK CID fonts need no file; PDF
viewers draw them with their own CJK fonts (Acrobat's Asian font pack,
poppler/pdf.js through the system's, e.g. ``fonts-noto-cjk``). Noto CJK itself
cannot be embedded: its outlines are PostScript (CFF), which reportlab does not
embed.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import get_display
from django.conf import settings
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

#: Font names registered with reportlab.
BODY = "SummarySans"
BOLD = "SummarySans-Bold"
ITALIC = "SummarySans-Oblique"
BOLD_ITALIC = "SummarySans-BoldOblique"
CHINESE = "STSong-Light"
JAPANESE = "HeiseiKakuGo-W5"
KOREAN = "HYGothic-Medium"

_DEJAVU_FILES = {
    BODY: "DejaVuSans.ttf",
    BOLD: "DejaVuSans-Bold.ttf",
    ITALIC: "DejaVuSans-Oblique.ttf",
    BOLD_ITALIC: "DejaVuSans-BoldOblique.ttf",
}
DEFAULT_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


class FontsMissing(RuntimeError):
    """The TrueType fonts the summaries need are not installed."""


_lock = threading.Lock()
_covered: frozenset[int] | None = None


def _font_dirs() -> list[Path]:
    configured = getattr(settings, "PDF_FONT_DIRS", None) or DEFAULT_FONT_DIRS
    return [Path(d) for d in configured]


def register_fonts() -> None:
    """Register the summary fonts with reportlab once per process.

    Raises :class:`FontsMissing` with the package to install when DejaVu Sans
    cannot be found.
    """
    global _covered
    if _covered is not None:
        return
    with _lock:
        if _covered is not None:
            return
        for name, filename in _DEJAVU_FILES.items():
            path = next((d / filename for d in _font_dirs() if (d / filename).is_file()), None)
            if path is None:
                searched = ", ".join(str(d) for d in _font_dirs())
                raise FontsMissing(
                    f"The PDF font {filename} was not found in {searched}. Install the Debian "
                    "package fonts-dejavu-core (or set PDF_FONT_DIRS to a folder holding "
                    "the DejaVu Sans TTF files)."
                )
            pdfmetrics.registerFont(TTFont(name, str(path)))
        pdfmetrics.registerFontFamily(
            BODY, normal=BODY, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
        )
        for cid_name in (CHINESE, JAPANESE, KOREAN):
            pdfmetrics.registerFont(UnicodeCIDFont(cid_name))
        _covered = frozenset(pdfmetrics.getFont(BODY).face.charToGlyph)


# --- Text clean-up and right-to-left order -----------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_RTL_CLASSES = {"R", "AL"}
_reshaper = arabic_reshaper.ArabicReshaper(
    # Ligatures such as "Allah" (U+FDF2) have no glyph in DejaVu Sans.
    configuration={"delete_harakat": False, "support_ligatures": False}
)


def _has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in _RTL_CLASSES for ch in text)


def _visual_line(line: str) -> str:
    """One line in the order it is drawn left to right (base direction from its first letter)."""
    if not _has_rtl(line):
        return line
    return get_display(_reshaper.reshape(line))


def clean_text(value) -> str:
    """A printable string for any value: None -> "", control characters dropped, NFC."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", text)


# --- Font runs ----------------------------------------------------------------------


def _is_hangul(cp: int) -> bool:
    return 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F or 0xAC00 <= cp <= 0xD7AF


def _is_kana(cp: int) -> bool:
    return 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F


def _fallback_font(ch: str, han_font: str) -> str | None:
    """The CID font for a character DejaVu Sans lacks, or None if no CJK font has it."""
    cp = ord(ch)
    if _is_hangul(cp):
        return KOREAN
    if _is_kana(cp):
        return JAPANESE
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return han_font
    return None


def _runs(text: str):
    """(font name, text) runs; font None: the paragraph's own (DejaVu has the glyph)."""
    assert _covered is not None
    # Han characters are shared by Chinese and Japanese: kana in the text says Japanese.
    han_font = JAPANESE if any(_is_kana(ord(ch)) for ch in text) else CHINESE
    current, buffer = None, []
    for ch in text:
        font = None
        if ord(ch) not in _covered and not ch.isspace():
            # No font has it: DejaVu draws its missing-glyph box.
            font = _fallback_font(ch, han_font)
        if font != current and buffer:
            yield current, "".join(buffer)
            buffer = []
        current = font
        buffer.append(ch)
    if buffer:
        yield current, "".join(buffer)


def pdf_markup(value) -> str:
    """Paragraph markup that prints ``value`` literally, in fonts that have its characters.

    The only function that turns record text into PDF markup. Line breaks
    become ``<br/>``; everything else the text contains is escaped. Runs that
    DejaVu Sans covers are left in the paragraph style's font (regular or bold).
    """
    register_fonts()
    parts = []
    for line in clean_text(value).split("\n"):
        pieces = []
        for font, run in _runs(_visual_line(line)):
            escaped = escape(run)
            pieces.append(escaped if font is None else f'<font name="{font}">{escaped}</font>')
        parts.append("".join(pieces))
    return "<br/>".join(parts)


def paragraph(value, style: ParagraphStyle) -> Paragraph:
    """A Paragraph showing ``value`` literally (see :func:`pdf_markup`)."""
    return Paragraph(pdf_markup(value), style)


def labelled(label: str, value, style: ParagraphStyle) -> Paragraph:
    """ "Label: value" with a bold label written in code and a value from a record."""
    return Paragraph(f"<b>{escape(label)}:</b> {pdf_markup(value)}", style)

"""Fonts for the PDF summaries and the one way any text enters a PDF paragraph.

reportlab's built-in fonts cover Latin-1 only, and a ``Paragraph`` parses its
text as markup. So every string the document shows that comes from a record
(names, notes, comments, even numbers) goes through :func:`pdf_markup`, which

1. drops control characters and normalises to NFC;
2. puts right-to-left runs (Arabic, Hebrew) into visual order and gives Arabic
   letters their joined forms, line by line (python-bidi, arabic-reshaper);
3. splits the text into runs per font: DejaVu Sans (Latin with accents, Greek,
   Cyrillic, Arabic, Hebrew, many symbols) and, for what DejaVu lacks,
   WenQuanYi Zen Hei (Chinese, Japanese kana, Korean Hangul), or IPAex Gothic for
   text written in Japanese (it has kana), so that its kanji take Japanese forms;
4. escapes each run (``&``, ``<``, ``>``) so that text that looks like markup is
   printed literally and can never restyle the document.

Fonts come from the operating system, and both are embedded (subset) in every
PDF, so a viewer without fonts of its own for a script still draws it: Debian's
``fonts-dejavu-core`` (``/usr/share/fonts/truetype/dejavu``) and
``fonts-wqy-zenhei`` (``/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc``, TrueType
outlines, which reportlab embeds; Noto CJK cannot be, its outlines are CFF).
IPAex Gothic (``fonts-ipaexfont-gothic``) is used where it is installed; without it
Japanese is drawn in WenQuanYi Zen Hei, as before, and a warning says so once.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import get_display
from django.conf import settings
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

#: Font names registered with reportlab.
BODY = "SummarySans"
BOLD = "SummarySans-Bold"
ITALIC = "SummarySans-Oblique"
BOLD_ITALIC = "SummarySans-BoldOblique"
#: Chinese, Japanese and Korean: one embedded TrueType font for all three.
CJK = "SummaryCJK"
#: Japanese text (it has kana): kanji in Japanese forms, where the font is installed.
JAPANESE = "SummaryJapanese"

_DEJAVU_FILES = {
    BODY: "DejaVuSans.ttf",
    BOLD: "DejaVuSans-Bold.ttf",
    ITALIC: "DejaVuSans-Oblique.ttf",
    BOLD_ITALIC: "DejaVuSans-BoldOblique.ttf",
}
#: WenQuanYi Zen Hei: the first font of the collection (the proportional one).
_CJK_FILE, _CJK_SUBFONT = "wqy-zenhei.ttc", 0
#: IPAex Gothic: TrueType outlines despite Debian's folder name.
_JAPANESE_FILE = "ipaexg.ttf"
DEFAULT_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/truetype/wqy",
    "/usr/share/fonts/wqy-zenhei",
    "/usr/share/fonts/opentype/ipaexfont-gothic",
    "/usr/share/fonts/truetype/ipaexfont-gothic",
)
logger = logging.getLogger(__name__)


class FontsMissing(RuntimeError):
    """The TrueType fonts the summaries need are not installed."""


_lock = threading.Lock()
#: Code points each font has a glyph for, once registered.
_covered: frozenset[int] | None = None
_cjk_covered: frozenset[int] = frozenset()
_japanese_covered: frozenset[int] = frozenset()


def _font_dirs() -> list[Path]:
    configured = getattr(settings, "PDF_FONT_DIRS", None) or DEFAULT_FONT_DIRS
    return [Path(d) for d in configured]


def _font_file(filename: str, package: str) -> Path:
    path = next((d / filename for d in _font_dirs() if (d / filename).is_file()), None)
    if path is None:
        searched = ", ".join(str(d) for d in _font_dirs())
        raise FontsMissing(
            f"The PDF font {filename} was not found in {searched}. Install the Debian "
            f"package {package} (or set PDF_FONT_DIRS to folders holding the summary fonts)."
        )
    return path


def register_fonts() -> None:
    """Register the summary fonts with reportlab once per process.

    Raises :class:`FontsMissing` with the package to install when DejaVu Sans or
    WenQuanYi Zen Hei cannot be found: a summary never silently drops a script.
    """
    global _covered, _cjk_covered, _japanese_covered
    if _covered is not None:
        return
    with _lock:
        if _covered is not None:
            return
        for name, filename in _DEJAVU_FILES.items():
            pdfmetrics.registerFont(TTFont(name, str(_font_file(filename, "fonts-dejavu-core"))))
        pdfmetrics.registerFontFamily(
            BODY, normal=BODY, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
        )
        cjk_path = _font_file(_CJK_FILE, "fonts-wqy-zenhei")
        pdfmetrics.registerFont(TTFont(CJK, str(cjk_path), subfontIndex=_CJK_SUBFONT))
        _cjk_covered = frozenset(pdfmetrics.getFont(CJK).face.charToGlyph)
        try:
            japanese_path = _font_file(_JAPANESE_FILE, "fonts-ipaexfont-gothic")
        except FontsMissing as missing:
            logger.warning("%s Japanese is drawn in WenQuanYi Zen Hei meanwhile.", missing)
        else:
            pdfmetrics.registerFont(TTFont(JAPANESE, str(japanese_path)))
            _japanese_covered = frozenset(pdfmetrics.getFont(JAPANESE).face.charToGlyph)
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


def _base_direction(line: str) -> str:
    """ "R" when the line's first strong letter is right-to-left, else "L"."""
    for ch in line:
        kind = unicodedata.bidirectional(ch)
        if kind in _RTL_CLASSES:
            return "R"
        if kind == "L":
            return "L"
    return "L"


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


_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")


def _is_japanese(text: str) -> bool:
    """Written in Japanese: it has hiragana or katakana (kanji alone could be Chinese)."""
    return _KANA.search(text) is not None


def _runs(text: str, japanese: bool = False):
    """(font name, text) runs; font None: the paragraph's own (DejaVu has the glyph).

    ``japanese``: the text this comes from is Japanese, so what DejaVu lacks is drawn
    in the Japanese font where it has the character."""
    assert _covered is not None
    current, buffer = None, []
    for ch in text:
        font = None
        cp = ord(ch)
        # A character no font has stays in DejaVu, which draws its missing-glyph box.
        if cp not in _covered and not ch.isspace():
            if japanese and cp in _japanese_covered:
                font = JAPANESE
            elif cp in _cjk_covered:
                font = CJK
        if font != current and buffer:
            yield current, "".join(buffer)
            buffer = []
        current = font
        buffer.append(ch)
    if buffer:
        yield current, "".join(buffer)


def pdf_markup(value) -> str:
    """Paragraph markup that prints ``value`` literally, in fonts that have its characters.

    With :func:`_bidi_markup` (right-to-left paragraphs, once their width is known),
    the only way record text becomes PDF markup; both escape every run through
    :func:`_escaped_runs`. Line breaks become ``<br/>``; everything else the text
    contains is escaped. Runs that DejaVu Sans covers are left in the paragraph
    style's font (regular or bold).
    """
    register_fonts()
    text = clean_text(value)
    japanese = _is_japanese(text)
    return "<br/>".join(_escaped_runs(_visual_line(line), japanese) for line in text.split("\n"))


def _escaped_runs(text: str, japanese: bool = False) -> str:
    pieces = []
    for font, run in _runs(text, japanese):
        escaped = escape(run)
        pieces.append(escaped if font is None else f'<font name="{font}">{escaped}</font>')
    return "".join(pieces)


def _text_width(text: str, style: ParagraphStyle, japanese: bool = False) -> float:
    """How wide ``text`` is drawn in ``style`` (the same whatever the order of its letters)."""
    return sum(
        pdfmetrics.stringWidth(run, font or style.fontName, style.fontSize)
        for font, run in _runs(text, japanese)
    )


def _logical_pieces(
    text: str, style: ParagraphStyle, first: float, later: float, japanese: bool = False
) -> list[str]:
    """``text`` broken at spaces into lines that fit ``first`` then ``later`` points, in
    reading order; a word wider than a whole line is cut where it must be."""
    pieces, current = [], ""
    for word in text.split():
        room = first if not pieces else later
        candidate = f"{current} {word}" if current else word
        if _text_width(candidate, style, japanese) <= room:
            current = candidate
            continue
        if current:
            pieces.append(current)
            room = later
        if _text_width(word, style, japanese) > room:
            *cut, word = _cut(word, style, room, later, japanese)
            pieces.extend(cut)
        current = word
    return [*pieces, current]


def _cut(word: str, style: ParagraphStyle, first: float, later: float, japanese: bool):
    """``word`` cut into parts that fit ``first`` then ``later`` points (at least one
    letter each), in reading order; each letter measured once."""
    widths = [
        pdfmetrics.stringWidth(ch, font or style.fontName, style.fontSize)
        for font, run in _runs(word, japanese)
        for ch in run
    ]
    parts, start, used, room = [], 0, 0.0, first
    for end, width in enumerate(widths):
        if end > start and used + width > room:
            parts.append(word[start:end])
            start, used, room = end, 0.0, later
        used += width
    return [*parts, word[start:]]


def _bidi_markup(label: str | None, value, style: ParagraphStyle, width: float) -> str:
    """Markup of a paragraph holding right-to-left text, broken into lines that fit
    ``width`` in reading order and then each put in visual order.

    The bidirectional algorithm orders the letters of a line once the lines are known:
    wrapping the visual order instead would print a long right-to-left paragraph's
    last line first. Lines without right-to-left letters are left for reportlab to wrap.
    """
    register_fonts()
    prefix = _label_markup(label) if label is not None else ""
    first = width - style.firstLineIndent
    if label is not None:
        first -= pdfmetrics.stringWidth(f"{label}: ", BOLD, style.fontSize)
    later = width
    text = clean_text(value)
    japanese = _is_japanese(text)
    lines = []
    for line in text.split("\n"):
        if not _has_rtl(line):
            lines.append(_escaped_runs(line, japanese))
        else:
            base = _base_direction(line)
            shaped = _reshaper.reshape(line)
            for piece in _logical_pieces(shaped, style, first, later, japanese):
                lines.append(_escaped_runs(get_display(piece, base_dir=base), japanese))
        first = later
    return prefix + "<br/>".join(lines)


def _label_markup(label: str) -> str:
    """The bold "Label: " a value is printed after (the label is written in code)."""
    return f"<b>{escape(label)}:</b> "


class RecordParagraph(Paragraph):
    """A paragraph of record text holding right-to-left letters: its lines are broken in
    reading order for the width it is given, then drawn in visual order (see
    :func:`_bidi_markup`). Until it is given a width, and for the parts reportlab makes
    when it splits it across pages, it is an ordinary Paragraph."""

    def __init__(self, text, style, *args, record: tuple[str | None, object] | None = None, **kw):
        self._record = record
        self._markup_width = None
        super().__init__(text, style, *args, **kw)

    def wrap(self, availWidth, availHeight):
        width = availWidth - self.style.leftIndent - self.style.rightIndent
        if self._record is not None and width != self._markup_width:
            label, value = self._record
            Paragraph.__init__(self, _bidi_markup(label, value, self.style, width), self.style)
            self._markup_width = width
        return super().wrap(availWidth, availHeight)


@functools.lru_cache(maxsize=64)
def _right_aligned(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-rtl", parent=style, alignment=TA_RIGHT)


def paragraph(value, style: ParagraphStyle) -> Paragraph:
    """A Paragraph showing ``value`` literally (see :func:`pdf_markup`); aligned to the
    right when the text starts right-to-left (its first strong letter)."""
    text = clean_text(value)
    if _has_rtl(text):
        if _base_direction(text) == "R":
            style = _right_aligned(style)
        return RecordParagraph(pdf_markup(value), style, record=(None, value))
    return Paragraph(pdf_markup(value), style)


def labelled(label: str, value, style: ParagraphStyle) -> Paragraph:
    """ "Label: value" with a bold label written in code and a value from a record."""
    markup = _label_markup(label) + pdf_markup(value)
    if _has_rtl(clean_text(value)):
        return RecordParagraph(markup, style, record=(label, value))
    return Paragraph(markup, style)


#: Characters a cell may be drawn with as a plain string: printable ASCII and the two
#: signs the summary itself puts between values. DejaVu Sans has them all.
_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"—", "→"}


def cell(value: str, style: ParagraphStyle, width: float) -> str | Paragraph:
    """A table cell for a value the summary formats itself (numbers, dates, statuses).

    A table draws a plain string literally in its cell font, without parsing any
    markup, so a one-line value of plain characters that fits ``width`` is given
    as the string: it prints exactly as the Paragraph would, for a fraction of the
    cost. Anything else (more than one line, other scripts) is a :func:`paragraph`.
    The table must set the cell's font, size, leading and colour to ``style``'s.
    Never for text a person typed: that always goes through :func:`paragraph`.
    """
    if (
        isinstance(value, str)
        and _PLAIN.issuperset(value)
        and pdfmetrics.stringWidth(value, style.fontName, style.fontSize) <= width
    ):
        return value
    return paragraph(value, style)

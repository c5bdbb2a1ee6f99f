"""The one way record text enters a PDF paragraph (reports.pdftext)."""

import itertools
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.lib.enums import TA_RIGHT
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph

from reports.document import render_summary
from reports.pdftext import BOLD, CJK, JAPANESE, labelled, paragraph, pdf_markup
from tests.reports.pdf import pdf_fonts, pdf_pages, unembedded_fonts


@pytest.mark.parametrize(
    ("text", "markup"),
    [
        ("<font color=red>x</font>", "&lt;font color=red&gt;x&lt;/font&gt;"),
        ("a & b &amp; <para>", "a &amp; b &amp;amp; &lt;para&gt;"),
        ("unbalanced < tag", "unbalanced &lt; tag"),
        ("line one\nline two", "line one<br/>line two"),
        ("bell\x07 and nul\x00 dropped", "bell and nul dropped"),
        (None, ""),
        (36.3, "36.3"),
    ],
)
def test_record_text_is_escaped_and_cleaned(text, markup):
    assert pdf_markup(text) == markup


@pytest.mark.parametrize("text", ["李小龙", "김민수", "（全角）", "直子"])
def test_cjk_runs_get_the_embedded_cjk_font(text):
    assert f'<font name="{CJK}">' in pdf_markup(text)
    assert JAPANESE not in pdf_markup(text)


@pytest.mark.parametrize("text", ["さくら 山田", "山田 直子 (ナオコ)", "ﾔﾏﾀﾞ 骨"])
def test_japanese_text_is_drawn_in_the_japanese_font_kanji_and_all(text):
    markup = pdf_markup(text)

    assert f'<font name="{JAPANESE}">' in markup
    assert CJK not in markup


def test_japanese_is_decided_for_the_whole_text_not_line_by_line():
    markup = pdf_markup("山田 直子\nやまだ なおこ")

    assert CJK not in markup
    assert markup.count(f'<font name="{JAPANESE}">') == 4


def test_latin_greek_cyrillic_arabic_and_hebrew_stay_in_the_body_font():
    assert "<font" not in pdf_markup("Zoë Ζωή Юлия محمد שרה")


def test_markup_parses_for_hostile_text():
    # reportlab raises on markup it cannot parse; escaped text always parses.
    Paragraph(pdf_markup('<font name="x" color=red>&nbsp;<<<>>>&#0;</b>'), _style())


def _style():
    from reportlab.lib.styles import ParagraphStyle

    from reports.pdftext import BODY

    return ParagraphStyle("t", fontName=BODY)


def _content(**overrides):
    content = {
        "document_id": "5f0c6a43-0000-4000-8000-000000000001",
        "clinic": {"name": "Clinic", "address": "Street 1", "phone": "555"},
        "generated_at": "2026-02-01 10:00 EST",
        "requested_by": "Daniel Reyes",
        "period": "Whole treatment",
        "patient": {"name": "李小龙", "date_of_birth": "1980-11-27", "mrn": "K00000001"},
        "referrer": None,
        "diagnosis": {"code": "F41.1", "label": "Generalized anxiety disorder"},
        "evaluation": None,
        "course_rows": [],
        "course_note": "",
        "scales": [],
        "side_effects": [],
        "serious_adverse_events": "",
        "comment": "",
    }
    content.update(overrides)
    return content


def test_the_document_uses_the_cjk_font_only_where_needed():
    data = render_summary(_content())

    assert "DejaVuSans" in pdf_fonts(data)
    assert _has_cjk_font(pdf_fonts(data))
    assert "李小龙" in pdf_pages(data)[0]
    assert not _has_cjk_font(pdf_fonts(render_summary(_content(patient=_LATIN_PATIENT))))


def _has_cjk_font(fonts: set[str]) -> bool:
    return any(name.startswith("WenQuanYiZenHei") for name in fonts)


_LATIN_PATIENT = {"name": "Zoë Ångström", "date_of_birth": "1980-11-27", "mrn": "K00000002"}


def test_every_font_of_a_summary_with_chinese_japanese_and_korean_names_is_embedded():
    # A viewer without CJK fonts of its own must still draw every name.
    data = render_summary(
        _content(
            patient={"name": "李小龍", "date_of_birth": "1980-11-27", "mrn": "K00000001"},
            referrer={
                "name": "山田太郎",
                "practice": "김민준 Clinic",
                "npi": "1234567893",
                "fax": "",
            },
            comment="李小龍 さん: 山田太郎 先生へ. 김민준 선생님께.",
        )
    )

    assert unembedded_fonts(data) == set()
    text = "\n".join(pdf_pages(data))
    for name in ("李小龍", "山田太郎", "김민준", "さん"):
        assert name in text
    # The comment is Japanese (it has kana); the names alone are not.
    assert "IPAexGothic" in pdf_fonts(data)


def test_a_japanese_name_is_drawn_in_the_japanese_font():
    japanese = {"name": "やまだ 直子", "date_of_birth": "1980-11-27", "mrn": "K00000003"}

    data = render_summary(_content(patient=japanese))

    assert "IPAexGothic" in pdf_fonts(data)
    assert not _has_cjk_font(pdf_fonts(data))
    assert unembedded_fonts(data) == set()
    assert "やまだ 直子" in pdf_pages(data)[0]


def test_the_same_content_always_gives_the_same_bytes():
    assert render_summary(_content()) == render_summary(_content())


@pytest.mark.parametrize(
    ("folders", "package"),
    [
        (["/usr/share/fonts/truetype/dejavu"], "fonts-wqy-zenhei"),
        (["/usr/share/fonts/truetype/wqy"], "fonts-dejavu-core"),
    ],
)
def test_a_missing_font_is_named_with_its_package(settings, monkeypatch, folders, package):
    from reports import pdftext

    monkeypatch.setattr(pdftext, "_covered", None)
    monkeypatch.setattr(pdftext, "_cjk_covered", frozenset())
    settings.PDF_FONT_DIRS = folders

    with pytest.raises(pdftext.FontsMissing, match=package):
        pdftext.register_fonts()


def test_without_the_japanese_font_japanese_is_drawn_in_the_cjk_font(settings, monkeypatch, caplog):
    from reports import pdftext

    monkeypatch.setattr(pdftext, "_covered", None)
    monkeypatch.setattr(pdftext, "_cjk_covered", frozenset())
    monkeypatch.setattr(pdftext, "_japanese_covered", frozenset())
    settings.PDF_FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/wqy"]

    markup = pdf_markup("やまだ 直子")

    assert f'<font name="{CJK}">' in markup
    assert JAPANESE not in markup
    assert "fonts-ipaexfont-gothic" in caplog.text


def _worker_init_receivers() -> list:
    from celery.signals import worker_init

    return [ref() if callable(ref) else ref for _key, ref in worker_init.receivers]


def test_a_starting_worker_loads_the_fonts_before_its_pool_starts(monkeypatch):
    # Called directly: sending worker_init here would also set up Celery's Django
    # support for a worker in the test process.
    from ehr.celery import _load_summary_fonts
    from reports import pdftext

    monkeypatch.setattr(pdftext, "_covered", None)

    assert _load_summary_fonts in _worker_init_receivers()
    _load_summary_fonts(sender=None)

    assert pdftext._covered is not None
    assert ord("ж") in pdftext._covered


def test_a_worker_without_the_fonts_still_starts_and_says_what_to_install(
    settings, monkeypatch, caplog, tmp_path
):
    from ehr.celery import _load_summary_fonts
    from reports import pdftext

    monkeypatch.setattr(pdftext, "_covered", None)
    settings.PDF_FONT_DIRS = [str(tmp_path)]

    _load_summary_fonts(sender=None)

    assert pdftext._covered is None
    assert "fonts-dejavu-core" in caplog.text


# --- Right-to-left paragraphs that wrap ---------------------------------------------

#: Thirty different Hebrew words (Hebrew letters have no joined forms, so each word is
#: drawn as its letters reversed).
_HEBREW_WORDS = [a + b + "ו" for a in "אבגדהז" for b in "טיכלמ"]


def _drawn_lines(par: Paragraph) -> list[str]:
    """The text of each line as reportlab draws it, left to right."""
    lines = []
    for line in par.blPara.lines:
        if par.blPara.kind == 0:
            lines.append(" ".join(line[1]))
        else:
            lines.append("".join(getattr(frag, "text", "") for frag in line.words))
    return [" ".join(line.split()) for line in lines]


def _read_right_to_left(line: str) -> list[str]:
    """The words of a drawn Hebrew line in reading order."""
    return [word[::-1] for word in reversed(line.split())]


def test_a_right_to_left_paragraph_that_wraps_keeps_its_lines_in_reading_order():
    text = " ".join(_HEBREW_WORDS)
    par = paragraph(text, _style())

    par.wrap(120, 10_000)
    lines = _drawn_lines(par)

    assert len(lines) >= 3
    read = [word for line in lines for word in _read_right_to_left(line)]
    assert read == _HEBREW_WORDS
    assert _HEBREW_WORDS[0] in _read_right_to_left(lines[0])
    assert _HEBREW_WORDS[-1] in _read_right_to_left(lines[-1])


def test_a_wrapped_right_to_left_line_is_rebroken_for_each_width():
    par = paragraph(" ".join(_HEBREW_WORDS), _style())

    par.wrap(120, 10_000)
    narrow = _drawn_lines(par)
    par.wrap(400, 10_000)
    wide = _drawn_lines(par)

    assert len(wide) < len(narrow)
    assert [w for line in wide for w in _read_right_to_left(line)] == _HEBREW_WORDS


def test_a_labelled_right_to_left_value_wraps_after_its_label():
    par = labelled("Precautions", " ".join(_HEBREW_WORDS), _style())

    par.wrap(150, 10_000)
    lines = _drawn_lines(par)

    assert lines[0].startswith("Precautions:")
    first = _read_right_to_left(lines[0].removeprefix("Precautions:"))
    read = first + [word for line in lines[1:] for word in _read_right_to_left(line)]
    assert read == _HEBREW_WORDS
    # The label's bold width is counted on the first line: no line is wider than given.
    size = par.style.fontSize
    widths = [
        pdfmetrics.stringWidth("Precautions: ", BOLD, size)
        + pdfmetrics.stringWidth(lines[0].removeprefix("Precautions: "), par.style.fontName, size),
        *(pdfmetrics.stringWidth(line, par.style.fontName, size) for line in lines[1:]),
    ]
    assert max(widths) <= 150


def test_a_latin_sentence_with_a_hebrew_name_wraps_left_to_right():
    words = ["Seen", "with", "her", "sister", "שרה", "כהן", "who", "drove", "her", "home"] * 3
    par = paragraph(" ".join(words), _style())

    par.wrap(110, 10_000)
    lines = _drawn_lines(par)

    assert len(lines) >= 3
    assert lines[0].startswith("Seen with")
    assert lines[-1].endswith("her home")
    # The Hebrew name is a right-to-left run inside a left-to-right line.
    assert lines[1].startswith("ןהכ הרש who")


def test_arabic_that_wraps_keeps_its_first_words_on_the_first_line():
    words = ["مريض", "يشعر", "بتحسن", "كبير", "بعد", "الجلسة", "الثالثة"] * 4
    par = paragraph(" ".join(words), _style())

    par.wrap(120, 10_000)
    lines = _drawn_lines(par)

    assert len(lines) >= 3
    # Arabic is drawn in its joined forms: compare as letters (NFKC).
    first = unicodedata.normalize("NFKC", lines[0]).split()
    assert unicodedata.normalize("NFKC", "مريض")[::-1] == first[-1]


def test_a_long_right_to_left_comment_prints_in_reading_order_in_the_summary():
    words = [a + b + c for a in "אבגדהז" for b in "טיכלמ" for c in "נסע"]

    pages = pdf_pages(render_summary(_content(patient=_LATIN_PATIENT, comment=" ".join(words))))

    text = "\n".join(pages)
    # Text extraction reads each line right to left: the comment comes out in order
    # only if its lines are in reading order.
    at = [text.index(word) for word in (words[0], words[30], words[60], words[-1])]
    assert at == sorted(at)


def test_a_right_to_left_comment_longer_than_a_page_continues_in_order_on_the_next():
    letters = ("אבגדהז", "טיכלמ", "נסע", "פצקרש", "אבג")
    words = ["".join(w) for w in itertools.product(*letters)]

    pages = pdf_pages(render_summary(_content(patient=_LATIN_PATIENT, comment=" ".join(words))))

    assert len(pages) >= 2
    assert words[0] in pages[0] and words[-1] in pages[-1]
    text = "\n".join(pages)
    at = [text.index(word) for word in words[::50]]
    assert at == sorted(at)


def test_a_paragraph_that_starts_right_to_left_is_aligned_to_the_right():
    style = _style()

    hebrew = paragraph("שרה כהן came with her sister", style)
    latin = paragraph("Came with her sister שרה כהן", style)
    label = labelled("Precautions", "שרה כהן", style)

    assert hebrew.style.alignment == TA_RIGHT
    assert hebrew.style.fontName == style.fontName
    assert latin.style.alignment == label.style.alignment == style.alignment != TA_RIGHT


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    words=st.lists(
        st.text(alphabet="אבגדהוזחטיכלמנסעפצקרשת", min_size=1, max_size=12), min_size=1, max_size=80
    ),
    width=st.integers(min_value=30, max_value=500),
)
def test_right_to_left_text_reads_back_in_order_at_any_width(words, width):
    style = _style()
    par = paragraph(" ".join(words), style)

    par.wrap(width, 100_000)
    lines = _drawn_lines(par)

    read = [w for line in lines for w in _read_right_to_left(line)]
    # A word wider than the column is cut over lines, still in reading order.
    assert "".join(read) == "".join(words)
    if all(pdfmetrics.stringWidth(w, style.fontName, style.fontSize) <= width for w in words):
        assert read == words
    for line in lines:
        drawn = pdfmetrics.stringWidth(line, style.fontName, style.fontSize)
        assert drawn <= width or len(line) == 1


def test_a_long_right_to_left_text_without_spaces_is_cut_in_reading_order():
    letters = "אבגדהוזחטיכלמנסעפצקרשת" * 150  # 3,300 letters, no space to break at
    style = _style()
    par = paragraph(letters, style)

    par.wrap(100, 1_000_000)
    lines = _drawn_lines(par)

    assert len(lines) > 100
    assert "".join(line[::-1] for line in lines) == letters
    assert all(
        pdfmetrics.stringWidth(line, style.fontName, style.fontSize) <= 100 for line in lines
    )

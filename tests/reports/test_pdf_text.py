"""The one way record text enters a PDF paragraph (reports.pdftext)."""

import pytest
from reportlab.platypus import Paragraph

from reports.document import render_summary
from reports.pdftext import CHINESE, JAPANESE, KOREAN, pdf_markup
from tests.reports.pdf import pdf_fonts, pdf_pages


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


@pytest.mark.parametrize(
    ("text", "font"),
    [("李小龙", CHINESE), ("さくら 山田", JAPANESE), ("김민수", KOREAN)],
)
def test_cjk_runs_get_a_cjk_font(text, font):
    assert f'<font name="{font}">' in pdf_markup(text)


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

    assert {"DejaVuSans", "STSong-Light"} <= pdf_fonts(data)
    assert "李小龙" in pdf_pages(data)[0]


def test_the_same_content_always_gives_the_same_bytes():
    assert render_summary(_content()) == render_summary(_content())

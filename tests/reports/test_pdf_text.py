"""The one way record text enters a PDF paragraph (reports.pdftext)."""

import pytest
from reportlab.platypus import Paragraph

from reports.document import render_summary
from reports.pdftext import CJK, pdf_markup
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


@pytest.mark.parametrize("text", ["李小龙", "さくら 山田", "김민수", "（全角）"])
def test_cjk_runs_get_the_embedded_cjk_font(text):
    assert f'<font name="{CJK}">' in pdf_markup(text)


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

"""Table cells of values the summary formats itself (reports.pdftext.cell)."""

import pytest
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

from reports.pdftext import BODY, cell, register_fonts


@pytest.fixture
def style():
    register_fonts()
    return ParagraphStyle("cell", fontName=BODY, fontSize=7.5, leading=9)


@pytest.mark.parametrize("value", ["12", "2026-09-14", "0.50", "Stopped early", "3 → 6", "—"])
def test_a_short_plain_value_is_drawn_as_it_is(value, style):
    assert cell(value, style, 100) == value


@pytest.mark.parametrize("value", ["Zoë", "李小龙", "محمد", "line one\nline two", "tab\there"])
def test_other_scripts_and_line_breaks_go_through_the_paragraph_path(value, style):
    assert isinstance(cell(value, style, 100), Paragraph)


def test_a_value_wider_than_its_column_wraps_as_a_paragraph(style):
    # A plain string would run over the next column; a paragraph wraps inside its own.
    assert isinstance(cell("2026-09-14 to 2026-10-14", style, 40), Paragraph)

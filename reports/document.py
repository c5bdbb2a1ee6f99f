"""The treatment summary PDF: layout only.

``render_summary`` draws a summary from its *content* — the snapshot that
``reports.content.summary_content`` takes from the records, with every value
already computed by the owning app's rule functions — and from the signature,
if there is one. Nothing here computes a clinical value; every string from a
record reaches a Paragraph through ``reports.pdftext`` (``paragraph``), except the
table cells of values the summary formats itself, which ``reports.pdftext.cell``
gives as plain strings when they are one line of plain ASCII.

The same content with the same signature always gives the same bytes
(reportlab's invariant mode), so signing re-draws exactly what the prescriber
reviewed, with the signature added.
"""

from __future__ import annotations

import datetime
from functools import partial
from io import BytesIO

from reportlab.graphics.charts.axes import YValueAxis
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from reports.pdftext import BODY, BOLD, cell, labelled, paragraph, pdf_markup, register_fonts

PAGE_SIZE = letter
MARGIN = 16 * mm
CONFIDENTIAL = (
    "Confidential: contains protected health information for the named recipient only. "
    "If you received it in error, notify the clinic and destroy it."
)
COURSE_HEADER = (
    "#",
    "Date",
    "Dose mg/kg",
    "Total mg",
    "Minutes",
    "Status",
    "Side effects (grade)",
    "Mood pre → post",
    "Peak BP",
    "CADSS",
)
#: The course row's keys (``reports.content``), in the order of COURSE_HEADER.
COURSE_KEYS = (
    "number",
    "date",
    "dose_mg_per_kg",
    "total_mg",
    "minutes",
    "status",
    "side_effects",
    "mood",
    "peak_bp",
    "cadss",
)
_COURSE_WIDTHS = (18, 50, 38, 38, 40, 54, 118, 50, 46, 36)
_LINE_COLOURS = (colors.HexColor("#1f4e79"), colors.HexColor("#b34700"), colors.HexColor("#2e7d32"))
INK = colors.HexColor("#222222")
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#9aa5b1")


def _make_styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=BODY, fontSize=9, leading=12, textColor=INK)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9),
        "head": ParagraphStyle("head", parent=base, fontName=BOLD, fontSize=7.5, leading=9),
        "clinic": ParagraphStyle("clinic", parent=base, fontName=BOLD, fontSize=15, leading=18),
        "letterhead": ParagraphStyle("letterhead", parent=base, textColor=MUTED),
        "title": ParagraphStyle(
            "title", parent=base, fontName=BOLD, fontSize=13, leading=16, spaceBefore=8
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=BOLD,
            fontSize=10.5,
            leading=13,
            spaceBefore=10,
            spaceAfter=4,
            textColor=colors.HexColor("#1f4e79"),
        ),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT, textColor=MUTED),
        "draft": ParagraphStyle(
            "draft", parent=base, fontName=BOLD, textColor=colors.HexColor("#b00020")
        ),
    }


#: Styles never change: made once, shared by every render (reportlab only reads them).
_STYLES = _make_styles()


def _styles() -> dict[str, ParagraphStyle]:
    return _STYLES


# --- Page furniture: running header, footer with "Page X of Y" ---------------------------


#: Cells are Paragraphs in our fonts, but a table sets its cell font (Helvetica by
#: default, never embedded) before drawing each cell: name an embedded one.
_CELL_FONT = ("FONTNAME", (0, 0), (-1, -1), BODY)


class _SummaryCanvas(canvas.Canvas):
    """Draws header and footer after the last page is known, for "Page X of Y"."""

    def __init__(self, *args, furniture: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._pages: list[dict] = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_furniture(total)
            super().showPage()
        super().save()

    def _draw_furniture(self, total: int) -> None:
        f = self._furniture
        styles = f["styles"]
        width, height = PAGE_SIZE
        page = self._pageNumber
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        if page > 1:
            header = Paragraph(
                f"{pdf_markup(f['clinic'])} · Treatment summary · {pdf_markup(f['patient'])}",
                styles["small"],
            )
            header.wrap(width - 2 * MARGIN, 30)
            header.drawOn(self, MARGIN, height - MARGIN + 4)
            self.line(MARGIN, height - MARGIN + 1, width - MARGIN, height - MARGIN + 1)
        self.line(MARGIN, MARGIN - 4, width - MARGIN, MARGIN - 4)
        self.setFont(BODY, 7)
        self.setFillColor(MUTED)
        status = "" if f["signed"] else "DRAFT, not signed · "
        self.drawString(MARGIN, MARGIN - 13, f"{status}Document {f['document_id']}")
        self.drawRightString(width - MARGIN, MARGIN - 13, f"Page {page} of {total}")
        self.setFont(BODY, 6.5)
        self.drawString(MARGIN, MARGIN - 22, CONFIDENTIAL)
        self.restoreState()


# --- Sections ---------------------------------------------------------------------------


def _letterhead(content, styles) -> list:
    clinic = content["clinic"]
    left = [
        paragraph(clinic["name"], styles["clinic"]),
        paragraph(clinic["address"], styles["letterhead"]),
        paragraph(f"Telephone {clinic['phone']}", styles["letterhead"]),
    ]
    right = [
        paragraph(f"Generated {content['generated_at']}", styles["right"]),
        paragraph(f"Document {content['document_id']}", styles["right"]),
    ]
    table = Table([[left, right]], colWidths=[None, 70 * mm])
    table.setStyle(
        TableStyle(
            [
                _CELL_FONT,
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 1, RULE),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [table, Paragraph("Treatment summary", styles["title"])]


def _identifiers(content, styles) -> list:
    patient = content["patient"]
    referrer = content.get("referrer")
    diagnosis = content["diagnosis"]
    left = [
        labelled("Patient", patient["name"], styles["body"]),
        labelled("Date of birth", patient["date_of_birth"], styles["body"]),
        labelled("MRN", patient["mrn"], styles["body"]),
        labelled("Diagnosis", f"{diagnosis['code']} {diagnosis['label']}", styles["body"]),
        labelled("Period", content["period"], styles["body"]),
    ]
    if referrer:
        right = [
            labelled("Referring provider", referrer["name"], styles["body"]),
            labelled("Practice", referrer["practice"] or "—", styles["body"]),
            labelled("NPI", referrer["npi"], styles["body"]),
            labelled("Fax", referrer["fax"] or "—", styles["body"]),
        ]
    else:
        right = [labelled("Referring provider", "none on file", styles["body"])]
    table = Table([[left, right]], colWidths=["55%", "45%"])
    table.setStyle(
        TableStyle(
            [
                _CELL_FONT,
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return [table]


def _evaluation(content, styles) -> list:
    flow = [Paragraph("Pre-treatment evaluation", styles["h2"])]
    evaluation = content.get("evaluation")
    if not evaluation:
        flow.append(paragraph("No signed pre-treatment evaluation is on file.", styles["body"]))
        return flow
    flow += [
        labelled("Evaluated", f"{evaluation['date']} by {evaluation['evaluator']}", styles["body"]),
        labelled("Eligibility", evaluation["eligibility"], styles["body"]),
        labelled("Contraindications reviewed", evaluation["contraindications"], styles["body"]),
    ]
    if evaluation.get("precautions"):
        flow.append(labelled("Precautions", evaluation["precautions"], styles["body"]))
    baseline = evaluation.get("baseline") or []
    if baseline:
        widths = (90, 50, 110, 80)
        rows = [_header(("Baseline scale", "Total", "Severity", "Date"), widths, styles)]
        for score in baseline:
            values = (score["instrument"], score["total"], score["severity"] or "—", score["date"])
            rows.append(_cells(values, widths, styles))
        flow += [Spacer(1, 4), _grid(rows, widths=widths)]
    else:
        flow.append(paragraph("No baseline rating scales recorded.", styles["body"]))
    return flow


#: Room for text in a grid cell: the column less its left and right padding.
_GRID_PADDING = 3 + 3


def _header(labels, widths, styles) -> list:
    return [
        cell(label, styles["head"], w - _GRID_PADDING)
        for label, w in zip(labels, widths, strict=True)
    ]


def _cells(values, widths, styles) -> list:
    """Cells of values the summary formatted itself (see ``reports.pdftext.cell``)."""
    return [
        cell(value, styles["cell"], w - _GRID_PADDING)
        for value, w in zip(values, widths, strict=True)
    ]


def _grid(rows, *, widths, repeat_header: bool = False) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if repeat_header else 0, hAlign="LEFT")
    cell_style, head_style = _STYLES["cell"], _STYLES["head"]
    table.setStyle(
        TableStyle(
            [
                _CELL_FONT,
                # Cells given as plain strings print in the cell and header paragraph styles.
                ("FONTSIZE", (0, 0), (-1, -1), cell_style.fontSize),
                ("LEADING", (0, 0), (-1, -1), cell_style.leading),
                ("TEXTCOLOR", (0, 0), (-1, -1), cell_style.textColor),
                ("FONTNAME", (0, 0), (-1, 0), head_style.fontName),
                ("FONTSIZE", (0, 0), (-1, 0), head_style.fontSize),
                ("LEADING", (0, 0), (-1, 0), head_style.leading),
                ("TEXTCOLOR", (0, 0), (-1, 0), head_style.textColor),
                ("GRID", (0, 0), (-1, -1), 0.4, RULE),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _course(content, styles) -> list:
    flow = [Paragraph("Course of infusions", styles["h2"])]
    if content.get("course_note"):
        flow.append(paragraph(content["course_note"], styles["small"]))
        flow.append(Spacer(1, 3))
    rows = [_header(COURSE_HEADER, _COURSE_WIDTHS, styles)]
    for row in content["course_rows"]:
        cells = _cells([row[key] or "—" for key in COURSE_KEYS], _COURSE_WIDTHS, styles)
        # Side effects may name an "other" effect in a person's words: always a paragraph.
        side_effects = COURSE_KEYS.index("side_effects")
        cells[side_effects] = paragraph(row["side_effects"] or "—", styles["cell"])
        rows.append(cells)
    flow.append(_grid(rows, widths=_COURSE_WIDTHS, repeat_header=True))
    return flow


class _ScaleChart(Flowable):
    """Totals of one instrument over time (x: days since the first score).

    Drawn with canvas lines, circles and strings: the look of a reportlab
    ``LinePlot`` (axes with ticks and labels, a line with filled markers) at a
    small part of the cost of its widget tree. Only the y-axis tick values come
    from reportlab's own axis, so the steps are the same nice numbers.
    """

    _WIDTH, _HEIGHT = 440, 130
    #: The plot area inside the chart, as LinePlot's x, y, width and height.
    _X, _Y, _W, _H = 36, 20, _WIDTH - 56, _HEIGHT - 30
    _TICK, _LABEL_GAP, _LABEL_SIZE = 5, 5, 7

    def __init__(self, scale):
        super().__init__()
        dates = [datetime.date.fromisoformat(day) for day, _ in scale["points"]]
        self.first = dates[0]
        self.data = [
            ((d - self.first).days, total)
            for d, (_, total) in zip(dates, scale["points"], strict=True)
        ]
        self.span = max(self.data[-1][0], 1)
        top = max(max(total for _, total in self.data), 1)
        self.y_max = top + max(1, round(top * 0.15))
        self.title = f"{scale['instrument']} total"
        axis = YValueAxis()
        axis.setPosition(self._X, self._Y, self._H)
        axis.valueMin, axis.valueMax = 0, self.y_max
        axis.configure([[(0, 0), (0, self.y_max)]])
        self.y_ticks = list(axis._tickValues)

    def wrap(self, available_width, available_height):
        return self._WIDTH, self._HEIGHT + 14

    def _x(self, days) -> float:
        return self._X + days / self.span * self._W

    def _y(self, total) -> float:
        return self._Y + total / self.y_max * self._H

    def draw(self):
        c = self.canv
        x0, y0 = self._X, self._Y
        c.saveState()
        c.setStrokeColor(colors.black)
        c.setFillColor(colors.black)
        c.setLineWidth(1)
        c.setFont(BODY, self._LABEL_SIZE)
        # Label baselines as a LinePlot places them: x labels hang below their tick,
        # y labels end left of theirs, centred on it.
        label_drop = self._LABEL_GAP + self._LABEL_SIZE
        label_rise = 1.2 * self._LABEL_SIZE / 2 - self._LABEL_SIZE
        c.line(x0, y0, x0 + self._W, y0)
        for days in _x_steps(self.span):
            x = self._x(days)
            c.line(x, y0, x, y0 - self._TICK)
            label = (self.first + datetime.timedelta(days=int(days))).strftime("%b %d")
            c.drawCentredString(x, y0 - label_drop, label)
        c.line(x0, y0, x0, y0 + self._H)
        for total in self.y_ticks:
            y = self._y(total)
            c.line(x0, y, x0 - self._TICK, y)
            c.drawRightString(x0 - self._LABEL_GAP, y + label_rise, str(int(total)))
        points = [(self._x(days), self._y(total)) for days, total in self.data]
        line = _LINE_COLOURS[0]
        c.setStrokeColor(line)
        c.setLineWidth(1.5)
        path = c.beginPath()
        path.moveTo(*points[0])
        for point in points[1:]:
            path.lineTo(*point)
        c.drawPath(path, stroke=1, fill=0)
        c.setFillColor(line)
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.1)
        for x, y in points:
            c.circle(x, y, 3.5 / 2, stroke=1, fill=1)
        c.setFillColor(colors.black)
        c.setFont(BOLD, 8)
        c.drawString(36, self._HEIGHT + 2, self.title)
        c.restoreState()


def _chart(scale) -> _ScaleChart:
    return _ScaleChart(scale)


def _x_steps(span: int) -> list[int]:
    step = max(1, round(span / 6))
    steps = list(range(0, span + 1, step))
    if steps[-1] != span:
        # The last date always gets a label; drop a neighbour it would overprint.
        if span - steps[-1] < step / 2 and len(steps) > 1:
            steps.pop()
        steps.append(span)
    return steps


def _scales(content, styles) -> list:
    flow = [Paragraph("Rating scales over time", styles["h2"])]
    scales = content.get("scales") or []
    if not scales:
        flow.append(paragraph("No rating scales were recorded in this period.", styles["body"]))
        return flow
    for scale in scales:
        statement = paragraph(scale["statement"], styles["body"])
        if len(scale["points"]) < 2:
            # One score is not a course over time: the statement says it all.
            flow += [statement, Spacer(1, 6)]
            continue
        flow.append(KeepTogether([_chart(scale), statement, Spacer(1, 6)]))
    return flow


def _side_effects(content, styles) -> list:
    flow = [Paragraph("Side effects", styles["h2"])]
    summary = content.get("side_effects") or []
    if not summary:
        flow.append(paragraph("No side effects were recorded in this period.", styles["body"]))
    else:
        widths = (220, 80)
        rows = [_header(("Effect", "Worst grade"), widths, styles)]
        for item in summary:
            # The effect may be an "other" effect in a person's words: always a paragraph.
            rows.append(
                [
                    paragraph(item["effect"], styles["cell"]),
                    cell(item["grade"], styles["cell"], widths[1] - _GRID_PADDING),
                ]
            )
        flow.append(_grid(rows, widths=widths))
    if content.get("serious_adverse_events"):
        flow.append(Spacer(1, 4))
        flow.append(paragraph(content["serious_adverse_events"], styles["body"]))
    return flow


def _comment_and_signature(content, signature, styles) -> list:
    flow = [Paragraph("Clinician comment", styles["h2"])]
    flow.append(paragraph(content.get("comment") or "No comment.", styles["body"]))
    block = [Paragraph("Signature", styles["h2"])]
    if signature:
        block.append(
            paragraph(
                f"Signed electronically by {signature['name']} on {signature['at']}.",
                styles["body"],
            )
        )
    else:
        block.append(
            paragraph(
                "DRAFT, not signed. A prescriber must review and sign this summary before it "
                "is released.",
                styles["draft"],
            )
        )
    block.append(
        paragraph(f"Requested by {content['requested_by']}.", styles["small"]),
    )
    flow.append(KeepTogether(block))
    return flow


def render_summary(content: dict, *, signature: dict | None = None) -> bytes:
    """The PDF bytes of a summary. ``signature``: ``{"name", "at"}`` once signed.

    Deterministic: the same content and signature give the same bytes.
    """
    register_fonts()
    styles = _styles()
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE_SIZE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 8,
        bottomMargin=MARGIN + 16,
        title=f"Treatment summary {content['document_id']}",
        author=content["clinic"]["name"],
        subject="Treatment summary",
        creator="Clinic records",
        invariant=1,
        # reportlab's default page font is Helvetica, which is never embedded.
        initialFontName=BODY,
    )
    story = []
    story += _letterhead(content, styles)
    story += _identifiers(content, styles)
    story += _evaluation(content, styles)
    story += _course(content, styles)
    story += _scales(content, styles)
    story += _side_effects(content, styles)
    story += _comment_and_signature(content, signature, styles)
    furniture = {
        "styles": styles,
        "clinic": content["clinic"]["name"],
        "patient": f"{content['patient']['name']} · MRN {content['patient']['mrn']}",
        "document_id": content["document_id"],
        "signed": bool(signature),
    }
    doc.build(story, canvasmaker=partial(_SummaryCanvas, furniture=furniture))
    return buffer.getvalue()

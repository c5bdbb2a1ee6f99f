"""Rating-scale totals over time, drawn as SVG on the server (no JavaScript, no images).

One small chart per instrument, each on its own 0..maximum axis (a GAD-7 of 21
and a PCL-5 of 80 are both "the worst"). Totals, bands and response come from
``patients.scales``; this module only turns numbers into coordinates.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from patients import scales

WIDTH = 640
HEIGHT = 200
PAD_LEFT = 40
PAD_RIGHT = 16
PAD_TOP = 12
PAD_BOTTOM = 34

#: Instruments charted, in order, with their highest possible total.
CHARTED = (
    (scales.Instrument.GAD7, 21),
    (scales.Instrument.PHQ9, 27),
    (scales.Instrument.PCL5, 80),
    (scales.Instrument.CADSS6, 24),
    (scales.Instrument.CADSS, 92),
)

RESPONSE_TEXT = {
    scales.REMISSION: "Remission",
    scales.RESPONSE: "Response",
    scales.NO_RESPONSE: "No response yet",
}


@dataclass
class Point:
    x: float
    y: float
    total: int
    severity: str
    when: datetime.datetime


@dataclass
class ScaleChart:
    instrument: str
    label: str
    maximum: int
    points: list[Point] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    baseline_total: int | None = None
    latest_total: int | None = None
    response: str | None = None
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def response_text(self) -> str:
        return RESPONSE_TEXT.get(self.response, "")

    @property
    def plot_left(self) -> int:
        return PAD_LEFT

    @property
    def plot_right(self) -> int:
        return WIDTH - PAD_RIGHT

    @property
    def plot_bottom(self) -> int:
        return HEIGHT - PAD_BOTTOM


def _y(total: int, maximum: int) -> float:
    usable = HEIGHT - PAD_TOP - PAD_BOTTOM
    return PAD_TOP + usable * (1 - total / maximum)


def scale_charts(assessments, *, baselines: dict) -> list[ScaleChart]:
    """Charts of the instruments the patient has scores for.

    ``assessments`` are the patient's assessments in time order; ``baselines``
    is ``patients.selectors.baseline_scores`` ({instrument: Assessment}).
    """
    by_instrument: dict[str, list] = {}
    for assessment in assessments:
        by_instrument.setdefault(assessment.instrument, []).append(assessment)
    times = [a.administered_at for a in assessments]
    if not times:
        return []
    first, last = min(times), max(times)
    span = (last - first).total_seconds() or 1.0
    usable_x = WIDTH - PAD_LEFT - PAD_RIGHT
    charts = []
    for instrument, maximum in CHARTED:
        rows = by_instrument.get(instrument)
        if not rows:
            continue
        chart = ScaleChart(
            instrument=instrument, label=scales.instrument_label(instrument), maximum=maximum
        )
        for row in rows:
            offset = (row.administered_at - first).total_seconds() / span
            x = PAD_LEFT + (usable_x * offset if len(times) > 1 else usable_x / 2)
            chart.points.append(
                Point(
                    x=x,
                    y=_y(row.total, maximum),
                    total=row.total,
                    severity=row.severity,
                    when=row.administered_at,
                )
            )
        chart.y_ticks = [(_y(v, maximum), v) for v in (0, maximum // 2, maximum)]
        chart.x_ticks = _x_ticks(first, last, usable_x)
        baseline = baselines.get(instrument)
        chart.baseline_total = baseline.total if baseline is not None else None
        chart.latest_total = rows[-1].total
        if baseline is not None and rows[-1].pk != baseline.pk:
            chart.response = scales.treatment_response(
                instrument=instrument,
                baseline_total=baseline.total,
                current_total=rows[-1].total,
            )
        charts.append(chart)
    return charts


def _x_ticks(first, last, usable_x) -> list[tuple[float, str]]:
    first_local, last_local = timezone.localtime(first), timezone.localtime(last)
    if first_local.date() == last_local.date():
        return [(PAD_LEFT + usable_x / 2, f"{first_local:%b %d}")]
    return [
        (PAD_LEFT, f"{first_local:%b %d}"),
        (PAD_LEFT + usable_x, f"{last_local:%b %d}"),
    ]

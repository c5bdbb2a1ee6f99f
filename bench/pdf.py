"""The summary PDF drawn two ways from the same content snapshot.

``reports.document.render_summary`` (reportlab, what the app uses) against
WeasyPrint rendering ``bench/templates/summary.html``: the same letterhead,
identifiers, evaluation, 24-row course table with a repeated header, one SVG
line chart per rating scale, side effects, comment, signature block, running
header and "Page X of Y" footer with the document id and confidentiality line.

WeasyPrint is not a dependency of the app: it lives in ``.venv-bench``
(``bench/requirements.txt``) and renders in its own process
(``bench/weasy_render.py``), which times only the renders, after one warm-up.

Both are timed in wall-clock and in CPU seconds of their process. Both renders
are single-threaded and CPU-bound, so CPU time is what a render costs; wall time
also counts whatever else the (shared) machine was doing meanwhile.
"""

from __future__ import annotations

import datetime
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from django.template import Context, Engine

from reports.document import CONFIDENTIAL, COURSE_HEADER, COURSE_KEYS, render_summary

HERE = Path(__file__).resolve().parent


def chart_svg(scale: dict) -> str:
    """A line chart of one instrument's totals over time (x: days since the first score)."""
    dates = [datetime.date.fromisoformat(day) for day, _ in scale["points"]]
    first = dates[0]
    data = [((d - first).days, total) for d, (_, total) in zip(dates, scale["points"], strict=True)]
    span = max(data[-1][0], 1)
    top = max(max(total for _, total in data), 1)
    top += max(1, round(top * 0.15))
    width, height, left, bottom, plot_w, plot_h = 440, 144, 36, 124, 384, 100

    def x(days):
        return left + plot_w * days / span

    def y(total):
        return bottom - plot_h * total / top

    points = " ".join(f"{x(d):.1f},{y(t):.1f}" for d, t in data)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}pt" height="{height}pt" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans" font-size="7">',
        f'<text x="{left}" y="10" font-weight="bold" font-size="8">'
        f"{scale['instrument']} total</text>",
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}" stroke="#222"/>',
        f'<line x1="{left}" y1="{bottom}" x2="{left}" y2="{bottom - plot_h}" stroke="#222"/>',
    ]
    for step in range(0, 5):
        value = round(top * step / 4)
        parts.append(
            f'<text x="{left - 4}" y="{y(value) + 2:.1f}" text-anchor="end">{value}</text>'
        )
    for days, _ in data:
        label = (first + datetime.timedelta(days=days)).strftime("%b %d")
        parts.append(
            f'<text x="{x(days):.1f}" y="{bottom + 10}" text-anchor="middle">{label}</text>'
        )
    parts.append(f'<polyline points="{points}" fill="none" stroke="#1f4e79" stroke-width="1.5"/>')
    parts += [f'<circle cx="{x(d):.1f}" cy="{y(t):.1f}" r="1.75" fill="#1f4e79"/>' for d, t in data]
    parts.append("</svg>")
    return "".join(parts)


def summary_html(content: dict, *, signature: dict | None = None) -> str:
    engine = Engine(dirs=[str(HERE / "templates")], autoescape=True)
    charts = [
        {
            "svg": chart_svg(scale) if len(scale["points"]) >= 2 else "",
            "statement": scale["statement"],
        }
        for scale in content.get("scales") or []
    ]
    rows = [[row[key] for key in COURSE_KEYS] for row in content["course_rows"]]
    context = {
        "c": content,
        "signed": bool(signature),
        "signature": signature,
        "confidential": CONFIDENTIAL,
        "course_header": COURSE_HEADER,
        "course_rows": rows,
        "charts": charts,
    }
    return engine.get_template("summary.html").render(Context(context))


def time_reportlab(content: dict, *, rounds: int) -> tuple[list[float], list[float], bytes]:
    """Wall and CPU seconds per ``render_summary`` call (after one warm-up render), and
    the last PDF."""
    data = render_summary(content)
    wall, cpu = [], []
    for _ in range(rounds):
        began, began_cpu = time.perf_counter(), time.process_time()
        data = render_summary(content)
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return wall, cpu, data


def time_weasyprint(
    content: dict, *, rounds: int, python: Path, keep: Path
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds per WeasyPrint render of the same content, in ``python``
    (``.venv-bench``)."""
    with tempfile.TemporaryDirectory(prefix="ehr-bench-") as folder:
        html = Path(folder) / "summary.html"
        html.write_text(summary_html(content), encoding="utf-8")
        completed = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [str(python), str(HERE / "weasy_render.py"), str(html), str(rounds), str(keep)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if completed.returncode != 0:
        raise RuntimeError(f"WeasyPrint render failed:\n{completed.stderr[-3000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return result["seconds"], result["cpu"]


def median(samples: list[float]) -> float:
    return statistics.median(samples)

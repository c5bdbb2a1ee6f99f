"""Time WeasyPrint rendering one HTML file to PDF; run with ``.venv-bench/bin/python``.

    weasy_render.py SUMMARY.html ROUNDS OUT.pdf

Prints ``{"seconds": [...], "cpu": [...], "pages": N, "bytes": N}`` on its last
line: wall and CPU seconds of one render per round after a warm-up render (fonts
and CSS parsers loaded), each from the HTML text to the PDF bytes. Imports
nothing of the app.
"""

import json
import sys
import time
from pathlib import Path

import weasyprint


def main() -> int:
    source, rounds, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    html = source.read_text(encoding="utf-8")
    base = str(source.parent)
    document = weasyprint.HTML(string=html, base_url=base).render()
    data = document.write_pdf()
    seconds, cpu = [], []
    for _ in range(rounds):
        began, began_cpu = time.perf_counter(), time.process_time()
        document = weasyprint.HTML(string=html, base_url=base).render()
        data = document.write_pdf()
        seconds.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    out.write_bytes(data)
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "pages": len(document.pages), "bytes": len(data)}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

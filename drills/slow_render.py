"""Loaded into the drills' worker with ``celery -A ehr worker --include drills.slow_render``.

The worker is the real one (same app, tasks, settings, pool); only drawing a
PDF takes ``DRILL_RENDER_SECONDS`` longer, so that a fault lands while
summaries are being generated, and each pool process drops a marker file
named after its pid in ``DRILL_BUSY_DIR`` while it holds a lease and draws, so
that a drill knows which child is busy. With ``DRILL_STORE_PAUSE_SECONDS``
set, a child also waits that long after writing the PDF file and before its
transaction commits, with a marker ``stored-<pid>``: the worst moment to die.
"""

from __future__ import annotations

import contextlib
import os
import time

from celery.signals import worker_process_init


@worker_process_init.connect
def _slow_down_rendering(**kwargs) -> None:
    from reports import services

    real_render = services.render_summary
    delay = float(os.environ.get("DRILL_RENDER_SECONDS", "0.5"))
    busy_dir = os.environ["DRILL_BUSY_DIR"]

    def render_summary(content):
        marker = os.path.join(busy_dir, str(os.getpid()))
        with open(marker, "w") as handle:
            handle.write(str(time.time()))
        try:
            time.sleep(delay)
            return real_render(content)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(marker)

    services.render_summary = render_summary

    store_pause = float(os.environ.get("DRILL_STORE_PAUSE_SECONDS", "0"))
    if store_pause > 0:
        real_store = services.store_summary_pdf

        def store_pdf(summary, data, *, signed):
            old_name = real_store(summary, data, signed=signed)
            marker = os.path.join(busy_dir, f"stored-{os.getpid()}")
            with open(marker, "w") as handle:
                handle.write(summary.pdf.name)
            try:
                time.sleep(store_pause)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(marker)
            return old_name

        services.store_summary_pdf = store_pdf

"""Loaded into the drills' worker with ``celery -A ehr worker --include drills.slow_render``.

The worker is the real one (same app, tasks, settings, pool); only drawing a
PDF takes ``DRILL_RENDER_SECONDS`` longer, so that a fault lands while
summaries are being generated, and each pool process drops a marker file
named after its pid in ``DRILL_BUSY_DIR`` while it holds a lease and draws, so
that a drill knows which child is busy.
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

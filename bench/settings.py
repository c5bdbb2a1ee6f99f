"""Settings of the benchmark's web server: the application's own, plus the bench URLs.

Only ``scripts/bench`` uses this module (gunicorn, the Celery worker and the
benchmark process). It adds ``/bench/bare/``, the baseline endpoints, through
``bench.urls``; production never routes there.
"""

from ehr.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

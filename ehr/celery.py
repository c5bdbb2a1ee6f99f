"""The Celery application ``ehr`` (``celery -A ehr worker``).

Configured from Django settings under the ``CELERY_`` namespace; tasks are
discovered in each app's ``tasks`` module.
"""

import logging
import os

from celery import Celery, platforms
from celery.signals import beat_embedded_init, task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehr.settings")

logger = logging.getLogger(__name__)

app = Celery("ehr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _prepare_embedded_broker(sender, **kwargs):
    """The filesystem broker needs its folders before the first message."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)


@beat_embedded_init.connect
def _embedded_beat_dies_with_its_worker(sender, **kwargs):
    """``worker --beat``: the beat process goes when its worker goes, even on kill -9.

    The pool's processes already do (Celery sets their parent-death signal); the
    embedded beat did not, so a worker killed outright left it running beside
    the beat of the worker started in its place, both writing one schedule file.
    """
    platforms.set_pdeathsig("SIGKILL")


@worker_init.connect
def _load_summary_fonts(sender, **kwargs):
    """Load the PDF fonts once, in the worker's main process, before its pool starts.

    Reading the fonts (the CJK one is large) takes about half a second. Loaded
    here, every pool process starts with them (forked), so no summary waits
    for them: before, the first summary of each pool process did, after every
    worker start and every pool process replaced.
    """
    from reports.pdftext import FontsMissing, register_fonts

    try:
        register_fonts()
    except FontsMissing:
        # Each summary then fails with this message, which tells staff what to install.
        logger.exception("The treatment summary fonts could not be loaded.")


def _close_old_database_connections(sender=None, **kwargs):
    """Before and after each task, as Django does before and after each request.

    A connection is closed when it has outlived ``CONN_MAX_AGE`` (at once with the
    default 0: a connection per task) or is broken; with ``CONN_HEALTH_CHECKS`` a kept
    connection is tried before the task's first query, so a database restart between
    tasks costs a reconnection, not a task. Kept connections keep their prepared
    statements: a summary's build reads and writes about 20 statements. Eager tasks
    run inside a request or a test, whose connection is not the task's to close.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


task_prerun.connect(_close_old_database_connections, weak=False)
task_postrun.connect(_close_old_database_connections, weak=False)

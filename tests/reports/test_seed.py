"""Demo data: one summary built, signed and released, once."""

import io

import pytest
from django.core.management import call_command

from ehr.models import User
from reports.models import TreatmentSummary
from reports.selectors import released_summaries_for_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def test_seed_demo_releases_one_signed_summary_and_adds_nothing_the_second_time():
    call_command("seed_demo", password="demo", stdout=io.StringIO())
    call_command("seed_demo", password="demo", stdout=io.StringIO())

    summary = TreatmentSummary.objects.get()
    assert summary.status == "ready"
    assert summary.is_signed and summary.is_released
    assert summary.page_count >= 1 and len(summary.sha256) == 64
    assert summary.pdf.storage.exists(summary.pdf.name)
    referrer = User.objects.get(username="referrer")
    assert list(released_summaries_for_user(user=referrer)) == [summary]

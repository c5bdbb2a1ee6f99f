"""Background refreshes are audited, but one that shows exactly what was shown is not repeated.

Today's board polls every 30 s. Each poll reads patient data and is recorded,
unless the user's last recorded read of the same URL showed the very same
content less than ``REPEAT_REFRESH_MINUTES`` ago.
"""

import datetime
import types

import pytest
from django.urls import reverse
from django.utils import timezone

from ehr.models import AuditEvent
from frontend import audit as page_audit
from sessions import services as session_services

pytestmark = pytest.mark.django_db

POLL = {"HX-Request": "true", "X-Background-Refresh": "1"}


def board_reads(user):
    return AuditEvent.objects.filter(user=user, path=reverse("frontend:board"), action="list")


def poll(client):
    response = client.get(reverse("frontend:board"), headers=POLL)
    assert response.status_code == 200
    return response


def test_an_unchanged_board_refresh_is_recorded_once(client_for, nurse, running_session):
    client = client_for(nurse)
    client.get(reverse("frontend:board"))

    for _ in range(5):
        poll(client)

    events = list(board_reads(nurse).order_by("id"))
    assert len(events) == 2  # the page, then the first refresh
    assert events[0].detail == ""
    assert events[1].detail.startswith("background refresh, content ")


def test_a_refresh_that_shows_something_new_is_recorded(client_for, nurse, running_session):
    client = client_for(nurse)
    poll(client)
    poll(client)
    session_services.vitals_record(
        actor=nurse,
        session_id=running_session.pk,
        recorded_at=timezone.now(),
        bp_systolic=128,
        bp_diastolic=80,
        heart_rate=131,
        spo2=98,
        resp_rate=14,
    )

    changed = poll(client)
    poll(client)

    assert "Heart rate 131/min" in changed.content.decode()
    first, second = board_reads(nurse).order_by("id")
    assert first.detail != second.detail


def test_a_page_the_user_opens_again_is_always_recorded(client_for, nurse, running_session):
    client = client_for(nurse)

    for _ in range(3):
        client.get(reverse("frontend:board"))

    assert board_reads(nurse).count() == 3


def test_each_user_s_refreshes_are_recorded_for_that_user(
    client_for, nurse, prescriber, running_session
):
    poll(client_for(nurse))
    poll(client_for(prescriber))

    assert board_reads(nurse).count() == 1
    assert board_reads(prescriber).count() == 1


def later_by(monkeypatch, **delta):
    """The refresh check sees a clock ``delta`` ahead (the events keep their real time)."""
    real_now = timezone.now
    monkeypatch.setattr(
        page_audit,
        "timezone",
        types.SimpleNamespace(now=lambda: real_now() + datetime.timedelta(**delta)),
    )


def test_an_unchanged_refresh_is_recorded_again_after_the_repeat_interval(
    client_for, nurse, running_session, monkeypatch
):
    client = client_for(nurse)
    poll(client)

    later_by(monkeypatch, minutes=page_audit.REPEAT_REFRESH_MINUTES, seconds=1)
    poll(client)

    assert board_reads(nurse).count() == 2


def test_an_unchanged_refresh_just_inside_the_repeat_interval_is_not_recorded(
    client_for, nurse, running_session, monkeypatch
):
    client = client_for(nurse)
    poll(client)

    later_by(monkeypatch, minutes=page_audit.REPEAT_REFRESH_MINUTES, seconds=-1)
    poll(client)

    assert board_reads(nurse).count() == 1


def test_a_denied_refresh_is_always_recorded(client_for, referrer_user):
    client = client_for(referrer_user)

    for _ in range(2):
        assert client.get(reverse("frontend:board"), headers=POLL).status_code == 403

    assert AuditEvent.objects.filter(user=referrer_user, action="denied").count() == 2

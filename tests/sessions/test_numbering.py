"""Session numbers are assigned under a lock on the course: concurrent bookings never collide."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from sessions import services
from sessions.models import InfusionSession


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_clinicians_booking_at_once_get_consecutive_numbers(nurse, prescriber, course):
    barrier = threading.Barrier(2)
    errors = []

    def book(actor):
        try:
            barrier.wait(timeout=5)
            services.session_create(
                actor=actor,
                course=course,
                scheduled_for=timezone.now(),
                weight_kg=Decimal("72.5"),
                dose_mg_per_kg=Decimal("0.50"),
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(user,)) for user in (nurse, prescriber)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(InfusionSession.objects.values_list("number", flat=True)) == [1, 2]

"""Released summaries belong to the referring provider, not to the portal account of the day.

When the practice manager links another portal account to a provider, or unlinks
it, access to the summaries released to that provider moves with the link.
"""

import pytest
from django.test import Client
from django.urls import reverse

from ehr.models import AuditEvent
from ehr.roles import Role
from reports import services
from reports.tasks import generate_summary
from tests.factories import PatientFactory, UserFactory
from tests.reports.factories import given_course, queued_summary, signed_evaluation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]

URL = "/api/v1/summaries/"


def _released(patient, prescriber):
    summary = queued_summary(patient, prescriber)
    generate_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == "ready", summary.error
    summary = services.summary_sign(actor=prescriber, summary=summary)
    return services.summary_release(actor=prescriber, summary=summary, notify=False)


@pytest.fixture
def released(patient, prescriber, course):
    return _released(patient, prescriber)


@pytest.fixture
def new_portal_user(db):
    return UserFactory(username="dr_nwosu_new", role=Role.REFERRING_PROVIDER)


def _reaches(api, user, summary) -> bool:
    client = api(user)
    listed = [row["id"] for row in client.get(URL).json()["results"]]
    detail = client.get(f"{URL}{summary.pk}/").status_code
    download = client.get(f"{URL}{summary.pk}/pdf/").status_code
    assert (summary.pk in listed) == (detail == 200) == (download == 200), (listed, detail)
    return detail == 200


def _relink(api, admin_user, provider, user):
    response = api(admin_user).patch(
        f"/api/v1/referring-providers/{provider.pk}/", {"user": user.pk if user else None}
    )
    assert response.status_code == 200, response.json()
    return response


def test_relinking_the_provider_moves_released_summaries_to_the_new_portal_account(
    api, admin_user, referrer, referrer_user, new_portal_user, released
):
    assert _reaches(api, referrer_user, released)
    assert not _reaches(api, new_portal_user, released)

    _relink(api, admin_user, referrer, new_portal_user)

    assert not _reaches(api, referrer_user, released)
    assert _reaches(api, new_portal_user, released)


def test_the_move_is_audited_as_a_permission_change_on_each_summary(
    api, admin_user, referrer, referrer_user, new_portal_user, released
):
    _relink(api, admin_user, referrer, new_portal_user)

    moved = AuditEvent.objects.get(
        action="permission_change", object_type="treatmentsummary", object_id=str(released.pk)
    )
    assert moved.user == admin_user
    assert moved.patient_id == released.patient_id
    assert referrer_user.username in moved.detail
    assert new_portal_user.username in moved.detail
    request_event = AuditEvent.objects.get(object_type="referringprovider")
    assert request_event.action == "permission_change"


def test_unlinking_the_provider_revokes_the_old_accounts_access(
    api, admin_user, referrer, referrer_user, released
):
    _relink(api, admin_user, referrer, None)

    assert not _reaches(api, referrer_user, released)
    assert AuditEvent.objects.filter(
        action="permission_change", object_type="treatmentsummary", object_id=str(released.pk)
    ).exists()


def test_linking_an_unlinked_provider_grants_the_summaries_released_to_it(
    api, admin_user, referrer, referrer_user, new_portal_user, released
):
    _relink(api, admin_user, referrer, None)

    _relink(api, admin_user, referrer, new_portal_user)

    assert _reaches(api, new_portal_user, released)
    assert not _reaches(api, referrer_user, released)


def test_another_providers_summaries_stay_where_they_are(
    api,
    admin_user,
    prescriber,
    nurse,
    referrer,
    new_portal_user,
    other_referrer,
    other_referrer_user,
    released,
):
    theirs = PatientFactory(
        referring_provider=other_referrer,
        responsible_prescriber=prescriber,
        care_team=[prescriber, nurse],
    )
    signed_evaluation(theirs, prescriber)
    given_course(theirs, prescriber, nurse, sessions=1)
    other_summary = _released(theirs, prescriber)

    _relink(api, admin_user, referrer, new_portal_user)

    assert _reaches(api, other_referrer_user, other_summary)
    assert not _reaches(api, new_portal_user, other_summary)


def test_saving_a_provider_without_changing_its_account_changes_no_access(
    api, admin_user, referrer, referrer_user, released
):
    api(admin_user).patch(f"/api/v1/referring-providers/{referrer.pk}/", {"phone": "555-0100"})

    assert _reaches(api, referrer_user, released)
    assert not AuditEvent.objects.filter(action="permission_change").exists()


def test_relinking_on_the_providers_page_moves_the_summaries_too(
    api, admin_user, referrer, referrer_user, new_portal_user, released
):
    client = Client()
    client.force_login(admin_user)
    form = {
        "name": referrer.name,
        "npi": referrer.npi,
        "practice": referrer.practice,
        "email": referrer.email,
        "phone": referrer.phone,
        "fax": referrer.fax,
        "user": new_portal_user.pk,
    }

    response = client.post(reverse("frontend:provider_edit", args=[referrer.pk]), form)

    assert response.status_code == 302
    assert AuditEvent.objects.filter(
        action="permission_change", object_type="referringprovider", user=admin_user
    ).exists()
    assert _reaches(api, new_portal_user, released)
    assert not _reaches(api, referrer_user, released)

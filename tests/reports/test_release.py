"""Releasing a signed summary to the referring provider: permission, portal access, email."""

import pytest
from django.core import mail

from patients.diagnoses import diagnosis_label
from reports import services
from reports.tasks import generate_summary
from tests.factories import PatientFactory, ReferringProviderFactory
from tests.reports.factories import given_course, queued_summary, signed_evaluation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]

URL = "/api/v1/summaries/"


def _ready(patient, prescriber):
    summary = queued_summary(patient, prescriber)
    generate_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == "ready", summary.error
    return summary


@pytest.fixture
def signed_summary(patient, prescriber, course):
    summary = _ready(patient, prescriber)
    return services.summary_sign(actor=prescriber, summary=summary)


@pytest.fixture
def release(api, prescriber, django_capture_on_commit_callbacks):
    def do(summary):
        with django_capture_on_commit_callbacks(execute=True):
            return api(prescriber).post(f"{URL}{summary.pk}/release/")

    return do


def test_the_referrer_reads_and_downloads_a_summary_once_released(
    api, referrer_user, referrer, signed_summary, release
):
    client = api(referrer_user)
    assert client.get(f"{URL}{signed_summary.pk}/").status_code == 404
    assert client.get(f"{URL}{signed_summary.pk}/pdf/").status_code == 404
    assert client.get(URL).json()["results"] == []

    response = release(signed_summary)

    assert response.status_code == 200, response.json()
    assert response.json()["released_at"] is not None
    assert response.json()["released_to"] == referrer.pk
    assert [row["id"] for row in client.get(URL).json()["results"]] == [signed_summary.pk]
    assert client.get(f"{URL}{signed_summary.pk}/").status_code == 200
    download = client.get(f"{URL}{signed_summary.pk}/pdf/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_the_referrer_sees_the_document_not_the_clinics_handling_of_it(
    api, referrer_user, prescriber, signed_summary, release
):
    release(signed_summary)
    shown = [
        api(referrer_user).get(f"{URL}{signed_summary.pk}/").json(),
        *api(referrer_user).get(URL).json()["results"],
    ]
    # The same summary as its prescriber reads it: the clinic's own fields are there.
    staff = api(prescriber).get(f"{URL}{signed_summary.pk}/").json()
    assert staff["requested_by"] == prescriber.pk
    assert staff["signed_by"] == prescriber.pk
    assert staff["attempts"] == signed_summary.attempts

    for summary in shown:
        assert summary["id"] == signed_summary.pk
        for internal in ("attempts", "requested_by", "signed_by"):
            assert internal not in summary
        # What the contract promises every reader of a summary.
        for field in ("status", "error", "sha256", "page_count", "created_at", "generated_at"):
            assert field in summary
        assert summary["signed_at"] is not None
        assert summary["released_at"] is not None
        assert summary["pdf_url"].endswith(f"/{signed_summary.pk}/pdf/")


def test_another_referrer_never_sees_a_released_summary(
    api, other_referrer_user, other_referrer, signed_summary, release
):
    release(signed_summary)

    client = api(other_referrer_user)
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}{signed_summary.pk}/").status_code == 404
    assert client.get(f"{URL}{signed_summary.pk}/pdf/").status_code == 404


def test_the_referrer_sees_only_released_summaries_of_their_patient(
    api, referrer_user, patient, prescriber, signed_summary, release
):
    unreleased = _ready(patient, prescriber)
    release(signed_summary)

    ids = [row["id"] for row in api(referrer_user).get(URL).json()["results"]]

    assert ids == [signed_summary.pk]
    assert api(referrer_user).get(f"{URL}{unreleased.pk}/pdf/").status_code == 404


def test_the_referrer_may_not_sign_release_or_request(api, referrer_user, signed_summary, release):
    release(signed_summary)
    client = api(referrer_user)

    assert client.post(f"{URL}{signed_summary.pk}/sign/").status_code == 403
    assert client.post(f"{URL}{signed_summary.pk}/release/").status_code == 403


def test_a_group_or_global_grant_does_not_open_summaries_to_a_referrer(
    api, other_referrer_user, signed_summary
):
    from django.contrib.auth.models import Group, Permission
    from guardian.shortcuts import assign_perm

    # Only the referrer's own object permission counts: not a model-wide one, not a group's.
    other_referrer_user.user_permissions.add(Permission.objects.get(codename="receive_summary"))
    group = Group.objects.create(name="referrers")
    other_referrer_user.groups.add(group)
    assign_perm("reports.receive_summary", group, signed_summary)

    assert api(other_referrer_user).get(URL).json()["results"] == []


def test_the_release_email_has_a_link_and_no_health_information(
    settings, patient, prescriber, referrer, signed_summary, release
):
    settings.SITE_URL = "https://records.clinic.example"

    release(signed_summary)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [referrer.email]
    text = f"{message.subject}\n{message.body}"
    assert "https://records.clinic.example/" in message.body
    assert referrer.name in message.body
    for health_information in (
        patient.first_name,
        patient.last_name,
        patient.mrn,
        f"{patient.date_of_birth:%Y-%m-%d}",
        f"{patient.date_of_birth:%m/%d/%Y}",
        patient.primary_diagnosis,
        diagnosis_label(patient.primary_diagnosis),
        "anxiety",
        str(signed_summary.document_id),
    ):
        assert health_information.lower() not in text.lower(), health_information


def test_the_email_goes_to_the_portal_users_address_when_the_provider_has_none(
    patient, referrer, referrer_user, signed_summary, release
):
    referrer.email = ""
    referrer.save()

    release(signed_summary)

    assert mail.outbox[0].to == [referrer_user.email]


def test_an_unsigned_summary_cannot_be_released(api, patient, prescriber, course, release):
    summary = _ready(patient, prescriber)

    response = release(summary)

    assert response.status_code == 409
    assert "Sign the summary" in response.json()["detail"]
    assert mail.outbox == []


def test_release_without_a_linked_portal_account_is_refused_clearly(prescriber, nurse, release):
    provider = ReferringProviderFactory(name="Dr. Without Portal", user=None)
    patient = PatientFactory(
        referring_provider=provider, responsible_prescriber=prescriber, care_team=[prescriber]
    )
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=1)
    summary = services.summary_sign(actor=prescriber, summary=_ready(patient, prescriber))

    response = release(summary)

    assert response.status_code == 400
    assert "Dr. Without Portal has no active portal account linked" in str(response.json())
    summary.refresh_from_db()
    assert summary.released_at is None
    assert mail.outbox == []


def test_a_summary_is_released_once(signed_summary, release):
    assert release(signed_summary).status_code == 200

    again = release(signed_summary)

    assert again.status_code == 409
    assert len(mail.outbox) == 1


def test_a_signed_summary_is_shown_signed_to_the_referrer(
    api, referrer_user, signed_summary, release
):
    from tests.reports.pdf import pdf_pages

    release(signed_summary)
    data = b"".join(api(referrer_user).get(f"{URL}{signed_summary.pk}/pdf/").streaming_content)

    text = "\n".join(pdf_pages(data))
    assert "Signed electronically by Daniel Reyes" in text
    assert "DRAFT" not in text

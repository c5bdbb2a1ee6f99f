"""A referring provider filters and orders their patients only by what they may see.

They see identification fields (no diagnosis, responsible prescriber, care team,
contact details or registration time). A filter or an ordering by a hidden field
would tell them its value by narrowing or reordering the list, so those query
parameters are not offered to them: they are ignored, like any unknown parameter.
"""

import datetime

import pytest
from django.utils import timezone

from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"


@pytest.fixture
def referred(referrer, prescriber):
    """Two patients of the referrer: registered in one order, named in the other."""
    first = PatientFactory(
        first_name="Zeno",
        last_name="Zimmer",
        referring_provider=referrer,
        responsible_prescriber=prescriber,
        primary_diagnosis="F41.1",
        status=Patient.Status.ACTIVE,
        care_team=[prescriber],
    )
    second = PatientFactory(
        first_name="Ada",
        last_name="Abbott",
        referring_provider=referrer,
        responsible_prescriber=None,
        primary_diagnosis="F43.10",
        status=Patient.Status.REFERRED,
        care_team=[],
    )
    Patient.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    return first, second


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("param", "values"),
    [
        ("primary_diagnosis", ["F41.1", "F43.10", "F42.2"]),
        ("responsible_prescriber", ["prescriber", "other", "999999"]),
        ("referring_provider", ["999999"]),
    ],
)
def test_referrer_filtering_by_a_hidden_field_learns_nothing(
    api, referrer_user, referred, prescriber, other_prescriber, param, values
):
    client = api(referrer_user)
    unfiltered = _ids(client.get(URL))
    known = {"prescriber": str(prescriber.pk), "other": str(other_prescriber.pk)}

    for value in values:
        assert _ids(client.get(URL, {param: known.get(value, value)})) == unfiltered
    assert sorted(unfiltered) == sorted(p.pk for p in referred)


@pytest.mark.parametrize("ordering", ["created_at", "-created_at", "primary_diagnosis"])
def test_referrer_ordering_by_a_hidden_field_is_ignored(api, referrer_user, referred, ordering):
    client = api(referrer_user)

    assert _ids(client.get(URL, {"ordering": ordering})) == _ids(client.get(URL))


def test_referrer_detail_is_not_narrowed_by_a_hidden_filter(api, referrer_user, referred):
    first, _ = referred
    client = api(referrer_user)

    for code in ("F41.1", "F43.10"):
        response = client.get(f"{URL}{first.pk}/", {"primary_diagnosis": code})
        assert response.status_code == 200
        assert "primary_diagnosis" not in response.json()


def test_referrer_searches_by_name_and_mrn_and_filters_by_status(api, referrer_user, referred):
    first, second = referred
    client = api(referrer_user)

    assert _ids(client.get(URL, {"search": "abbott"})) == [second.pk]
    assert _ids(client.get(URL, {"search": first.mrn})) == [first.pk]
    assert _ids(client.get(URL, {"status": "active"})) == [first.pk]


@pytest.mark.parametrize(("ordering", "expected"), [("last_name", [1, 0]), ("-mrn", None)])
def test_referrer_orders_by_visible_fields(api, referrer_user, referred, ordering, expected):
    response = api(referrer_user).get(URL, {"ordering": ordering})

    if expected is None:
        expected_ids = [p.pk for p in sorted(referred, key=lambda p: p.mrn, reverse=True)]
    else:
        expected_ids = [referred[i].pk for i in expected]
    assert _ids(response) == expected_ids


def test_clinician_keeps_the_clinical_filters(api, prescriber, referred):
    first, _ = referred
    client = api(prescriber)

    assert _ids(client.get(URL, {"primary_diagnosis": "F41.1"})) == [first.pk]
    assert _ids(client.get(URL, {"primary_diagnosis": "F43.10"})) == []
    assert _ids(client.get(URL, {"responsible_prescriber": prescriber.pk})) == [first.pk]


def test_practice_manager_keeps_the_clinical_filters_and_ordering(api, admin_user, referred):
    first, second = referred
    client = api(admin_user)

    assert _ids(client.get(URL, {"primary_diagnosis": "F43.10"})) == [second.pk]
    assert _ids(client.get(URL, {"ordering": "created_at"})) == [first.pk, second.pk]
    assert _ids(client.get(URL, {"ordering": "-created_at"})) == [second.pk, first.pk]

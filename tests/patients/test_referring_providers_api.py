"""Referring providers: NPI validation, linked portal account, who manages and who reads."""

import pytest

from ehr.models import AuditEvent
from ehr.roles import Role
from patients.models import ReferringProvider
from tests.factories import ReferringProviderFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/referring-providers/"
NEW = {
    "name": "Dr. Hélène Dubois",
    "npi": "1234567893",
    "practice": "Casco Bay Psychiatry",
    "email": "hdubois@cascobay.invalid",
    "phone": "(207) 555-0170",
    "fax": "(207) 555-0171",
}


def test_admin_registers_a_provider_with_a_valid_npi(api, admin_user):
    response = api(admin_user).post(URL, NEW)

    assert response.status_code == 201, response.json()
    assert response.json()["npi"] == "1234567893"
    assert response.json()["user"] is None
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type) == ("create", "referringprovider")


@pytest.mark.parametrize("npi", ["1234567890", "123456789X", "12345", "0000000001"])
def test_an_npi_failing_the_check_is_refused(api, admin_user, npi):
    response = api(admin_user).post(URL, {**NEW, "npi": npi})

    assert response.status_code == 400
    assert "npi" in response.json()
    assert not ReferringProvider.objects.exists()


def test_an_npi_is_unique(api, admin_user):
    ReferringProviderFactory(npi="1234567893")

    response = api(admin_user).post(URL, NEW)

    assert response.status_code == 400
    assert "npi" in response.json()


def test_the_linked_account_must_be_a_referring_provider(api, admin_user, nurse):
    portal = UserFactory(username="dr_portal", role=Role.REFERRING_PROVIDER)

    staff = api(admin_user).post(URL, {**NEW, "user": nurse.pk})
    linked = api(admin_user).post(URL, {**NEW, "user": portal.pk})

    assert staff.status_code == 400
    assert "user" in staff.json()
    assert linked.status_code == 201
    assert linked.json()["user"] == portal.pk


def test_one_portal_account_links_to_one_provider(api, admin_user, referrer, referrer_user):
    response = api(admin_user).post(URL, {**NEW, "user": referrer_user.pk})

    assert response.status_code == 400
    assert "user" in response.json()


def test_an_empty_string_does_not_unlink_the_portal_account(api, admin_user, referrer):
    """Null is written null: an empty string for a relation is refused, not read as null."""
    url = f"{URL}{referrer.pk}/"
    linked_to = referrer.user_id

    empty = api(admin_user).patch(url, {"user": "", "name": "Dr. A. Nwosu"})
    unlinked = api(admin_user).patch(url, {"user": None})

    assert empty.status_code == 400
    assert empty.json() == {"user": ["Incorrect type. Expected pk value, received str."]}
    assert unlinked.status_code == 200, unlinked.json()
    assert unlinked.json()["user"] is None
    assert linked_to is not None
    referrer.refresh_from_db()
    assert (referrer.user_id, referrer.name) == (None, "Dr. Amara Nwosu")


def test_admin_updates_a_provider_and_the_npi_is_checked_again(api, admin_user, referrer):
    ok = api(admin_user).patch(f"{URL}{referrer.pk}/", {"fax": "(207) 555-0999"})
    bad = api(admin_user).patch(f"{URL}{referrer.pk}/", {"npi": "1234567890"})

    assert ok.status_code == 200
    assert ok.json()["fax"] == "(207) 555-0999"
    assert bad.status_code == 400
    referrer.refresh_from_db()
    assert referrer.npi != "1234567890"


@pytest.mark.parametrize("who", ["prescriber", "nurse"])
def test_staff_read_providers_but_do_not_manage_them(api, request, referrer, who):
    user = request.getfixturevalue(who)

    assert api(user).get(URL).status_code == 200
    assert api(user).get(f"{URL}{referrer.pk}/").status_code == 200
    assert api(user).post(URL, NEW).status_code == 403
    assert api(user).patch(f"{URL}{referrer.pk}/", {"fax": "1"}).status_code == 403


def test_a_referrer_cannot_list_providers(api, referrer_user, referrer):
    response = api(referrer_user).get(URL)

    assert response.status_code == 403
    assert api(referrer_user).get(f"{URL}{referrer.pk}/").status_code == 403
    assert AuditEvent.objects.filter(action="denied").count() == 2


def test_provider_list_queries_stay_constant(api, nurse, django_assert_max_num_queries):
    ReferringProviderFactory.create_batch(2)
    client = api(nurse)
    with django_assert_max_num_queries(10) as small:
        client.get(URL)
    ReferringProviderFactory.create_batch(25)

    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(URL).json()["count"] == 27

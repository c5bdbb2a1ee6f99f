import pytest

from ehr.models import AccountDeletionRefused, AuditEvent, User
from ehr.roles import Role

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users/"


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_admin_creates_an_account_of_each_role(api, admin_user, role):
    response = api(admin_user).post(
        USERS,
        {
            "username": f"new_{role}",
            "role": role,
            "password": "a-Long-passphrase-42",
            "email": "x@y.invalid",
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == role
    assert body["is_active"] is True
    assert "password" not in body
    created = User.objects.get(username=f"new_{role}")
    assert created.check_password("a-Long-passphrase-42")
    assert created.password.startswith(
        "md5$"
    )  # hashed by the configured hasher, never stored plain


def test_admin_lists_accounts_with_the_spec_fields(api, admin_user, nurse):
    response = api(admin_user).get(USERS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    row = next(u for u in body["results"] if u["username"] == "nurse_kelly")
    assert set(row) == {"id", "username", "first_name", "last_name", "email", "role", "is_active"}


@pytest.mark.parametrize("who", ["prescriber", "nurse", "referrer_user"])
def test_non_admin_roles_are_refused_the_users_endpoint(api, request, who):
    user = request.getfixturevalue(who)

    response = api(user).get(USERS)

    assert response.status_code == 403


def test_anonymous_request_is_refused(api, db):
    response = api().get(USERS)

    assert response.status_code in (401, 403)


def test_unknown_role_is_a_field_level_error(api, admin_user):
    response = api(admin_user).post(
        USERS, {"username": "x", "role": "surgeon", "password": "a-Long-passphrase-42"}
    )

    assert response.status_code == 400
    assert "role" in response.json()
    assert not User.objects.filter(username="x").exists()


def test_weak_password_is_refused_on_the_password_field(api, admin_user):
    response = api(admin_user).post(USERS, {"username": "weak", "role": "nurse", "password": "123"})

    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.filter(username="weak").exists()


def test_new_account_needs_a_password(api, admin_user):
    response = api(admin_user).post(USERS, {"username": "nopw", "role": "nurse"})

    assert response.status_code == 400
    assert "password" in response.json()


def test_admin_deactivates_an_account_and_its_token_stops_working(api, admin_user, nurse):
    nurse_client = api(nurse)
    assert nurse_client.get("/api/v1/patients/").status_code == 200

    response = api(admin_user).patch(f"{USERS}{nurse.pk}/", {"is_active": False})

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert nurse_client.get("/api/v1/patients/").status_code == 401
    event = AuditEvent.objects.filter(action="permission_change").get()
    assert event.object_id == str(nurse.pk)


def test_accounts_cannot_be_deleted(api, admin_user, nurse):
    response = api(admin_user).delete(f"{USERS}{nurse.pk}/")

    assert response.status_code == 405
    assert User.objects.filter(pk=nurse.pk).exists()
    with pytest.raises(AccountDeletionRefused):
        nurse.delete()
    with pytest.raises(AccountDeletionRefused):
        User.objects.filter(pk=nurse.pk).delete()


def test_admin_cannot_deactivate_or_demote_themselves(api, admin_user):
    client = api(admin_user)

    deactivate = client.patch(f"{USERS}{admin_user.pk}/", {"is_active": False})
    demote = client.patch(f"{USERS}{admin_user.pk}/", {"role": "nurse"})

    assert deactivate.status_code == 400
    assert "is_active" in deactivate.json()
    assert demote.status_code == 400
    assert "role" in demote.json()
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.role == Role.ADMIN


def test_role_change_is_audited_as_a_permission_change(api, admin_user, nurse):
    response = api(admin_user).patch(f"{USERS}{nurse.pk}/", {"role": "prescriber"})

    assert response.status_code == 200
    nurse.refresh_from_db()
    assert nurse.role == Role.PRESCRIBER
    event = AuditEvent.objects.get(action="permission_change")
    assert event.user == admin_user
    assert "prescriber" in event.detail


def test_users_filter_by_role(api, admin_user, nurse, prescriber):
    response = api(admin_user).get(USERS, {"role": "nurse"})

    assert [u["username"] for u in response.json()["results"]] == ["nurse_kelly"]


def test_a_write_racing_a_unique_value_answers_409_not_500(api, admin_user, monkeypatch):
    from django.db import IntegrityError

    from ehr import services

    def racing_create(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "user_create", racing_create)

    response = api(admin_user).post(
        "/api/v1/users/", {"username": "late", "role": "nurse", "password": "a-Long-passphrase-42"}
    )

    assert response.status_code == 409
    assert "Nothing was saved" in response.json()["detail"]

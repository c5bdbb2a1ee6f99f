"""The fixed cast of users and the API clients every test uses."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ehr.roles import Role
from tests.factories import PatientFactory, ReferringProviderFactory, UserFactory
from tests.worker import celery_worker_process, worker_env  # noqa: F401


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is the production hasher; tests only need passwords to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_user(db):
    return UserFactory(username="manager", role=Role.ADMIN, first_name="Maya", last_name="Okafor")


@pytest.fixture
def prescriber(db):
    return UserFactory(
        username="dr_reyes", role=Role.PRESCRIBER, first_name="Daniel", last_name="Reyes"
    )


@pytest.fixture
def other_prescriber(db):
    return UserFactory(
        username="dr_lind", role=Role.PRESCRIBER, first_name="Erik", last_name="Lind"
    )


@pytest.fixture
def nurse(db):
    return UserFactory(
        username="nurse_kelly", role=Role.NURSE, first_name="Siobhán", last_name="Kelly"
    )


@pytest.fixture
def second_nurse(db):
    return UserFactory(username="nurse_tan", role=Role.NURSE, first_name="Mei", last_name="Tan")


@pytest.fixture
def outside_nurse(db):
    """A nurse who is on no care team."""
    return UserFactory(username="nurse_out", role=Role.NURSE, first_name="Omar", last_name="Haddad")


@pytest.fixture
def referrer_user(db):
    return UserFactory(username="dr_nwosu", role=Role.REFERRING_PROVIDER)


@pytest.fixture
def referrer(referrer_user):
    return ReferringProviderFactory(name="Dr. Amara Nwosu", user=referrer_user)


@pytest.fixture
def other_referrer_user(db):
    return UserFactory(username="dr_other", role=Role.REFERRING_PROVIDER)


@pytest.fixture
def other_referrer(other_referrer_user):
    return ReferringProviderFactory(name="Dr. Jonas Berg", user=other_referrer_user)


@pytest.fixture
def patient(prescriber, nurse, referrer):
    """A patient whose care team is the prescriber and the nurse, referred by ``referrer``."""
    return PatientFactory(
        first_name="Zoë",
        last_name="Ångström",
        referring_provider=referrer,
        responsible_prescriber=prescriber,
        care_team=[prescriber, nurse],
    )


@pytest.fixture
def api():
    """``api(user)``: an API client that authenticates with the user's real token."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make

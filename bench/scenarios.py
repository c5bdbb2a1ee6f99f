"""The scenarios timed by bench/run.py. Each is a name and a zero-argument callable."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from rest_framework.test import APIClient


class Scenario(NamedTuple):
    name: str
    call: Callable[[], object]


def _client_for(username: str) -> APIClient:
    from rest_framework.authtoken.models import Token

    from ehr.models import User

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _expect(client: APIClient, path: str, status: int = 200) -> Callable[[], object]:
    def call():
        response = client.get(path)
        if response.status_code != status:
            raise RuntimeError(f"{path}: {response.status_code}")
        return response

    return call


def build_scenarios(*, patients: int) -> tuple[Scenario, list[Scenario]]:
    import datetime

    from ehr.models import User
    from patients.services import patient_create

    prescriber = User.objects.get(username="prescriber")
    for index in range(patients):
        patient_create(
            actor=prescriber,
            first_name=f"Bench{index}",
            last_name="Πατιέντ",
            date_of_birth=datetime.date(1980, 1, 1),
            primary_diagnosis="F41.1",
        )
    admin = _client_for("admin")
    clinician = _client_for("prescriber")
    baseline = Scenario(
        "baseline: GET users page_size=1 (admin)", _expect(admin, "/api/v1/users/?page_size=1")
    )
    scenarios = [
        Scenario("GET patients, page of 50 (prescriber)", _expect(clinician, "/api/v1/patients/")),
        Scenario(
            "GET patients ?search= (prescriber)",
            _expect(clinician, "/api/v1/patients/?search=Bench1"),
        ),
        Scenario("GET audit events, page of 50 (admin)", _expect(admin, "/api/v1/audit-events/")),
    ]
    return baseline, scenarios

"""The scenarios timed by bench/run.py. Each is a name and a zero-argument callable."""

from __future__ import annotations

import datetime
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


def _checked(response, expected: int):
    if response.status_code != expected:
        raise RuntimeError(f"{response.request['PATH_INFO']}: {response.status_code}")
    return response


def _get(client: APIClient, path: str) -> Callable[[], object]:
    return lambda: _checked(client.get(path), 200)


def _add_patients(count: int) -> None:
    from ehr.models import User
    from patients.services import patient_create

    prescriber = User.objects.get(username="prescriber")
    for index in range(count):
        patient_create(
            actor=prescriber,
            first_name=f"Bench{index}",
            last_name="Πατιέντ",
            date_of_birth=datetime.date(1980, 1, 1),
            primary_diagnosis="F41.1",
        )


def _running_session_id() -> int | None:
    from sessions.models import InfusionSession

    running = InfusionSession.objects.filter(status=InfusionSession.Status.IN_PROGRESS).first()
    return running.pk if running else None


def _vitals_writer(client: APIClient, session_id: int) -> Callable[[], object]:
    from django.utils import timezone

    def call():
        reading = {
            "recorded_at": timezone.now().isoformat(),
            "bp_systolic": 132,
            "bp_diastolic": 84,
            "heart_rate": 78,
            "spo2": 98,
            "resp_rate": 14,
        }
        return _checked(client.post(f"/api/v1/sessions/{session_id}/vitals/", reading), 201)

    return call


def _summary_renderer() -> Callable[[], object] | None:
    from reports.content import summary_content
    from reports.document import render_summary
    from reports.models import TreatmentSummary

    summary = TreatmentSummary.objects.exclude(content={}).first()
    if summary is None:
        return None
    return lambda: render_summary(summary_content(summary=summary))


def build_scenarios(*, patients: int) -> tuple[Scenario, list[Scenario]]:
    _add_patients(patients)
    admin = _client_for("admin")
    prescriber = _client_for("prescriber")
    nurse = _client_for("nurse")
    baseline = Scenario(
        "baseline: GET users page_size=1 (admin)", _get(admin, "/api/v1/users/?page_size=1")
    )
    scenarios = [
        Scenario("GET patients, page of 50 (prescriber)", _get(prescriber, "/api/v1/patients/")),
        Scenario(
            "GET patients ?search= (prescriber)",
            _get(prescriber, "/api/v1/patients/?search=Bench1"),
        ),
        Scenario("GET evaluations (prescriber)", _get(prescriber, "/api/v1/evaluations/")),
        Scenario("GET assessments (prescriber)", _get(prescriber, "/api/v1/assessments/")),
        Scenario("GET sessions (nurse)", _get(nurse, "/api/v1/sessions/")),
        Scenario("GET summaries (prescriber)", _get(prescriber, "/api/v1/summaries/")),
        Scenario("GET audit events, page of 50 (admin)", _get(admin, "/api/v1/audit-events/")),
    ]
    session_id = _running_session_id()
    if session_id is not None:
        scenarios += [
            Scenario("GET running session (nurse)", _get(nurse, f"/api/v1/sessions/{session_id}/")),
            Scenario(
                "GET its vitals flowsheet (nurse)",
                _get(nurse, f"/api/v1/sessions/{session_id}/vitals/"),
            ),
            Scenario("POST a vitals reading (nurse)", _vitals_writer(nurse, session_id)),
        ]
    render = _summary_renderer()
    if render is not None:
        scenarios.append(Scenario("render a treatment summary PDF (in-process)", render))
    return baseline, scenarios

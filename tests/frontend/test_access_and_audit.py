"""Who may open which page, and the audit event each page request leaves."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ehr.models import AuditEvent
from patients.models import BreakGlassAccess

pytestmark = pytest.mark.django_db

# Pages outside the audited-page decorator: signing in and out, the idle timer.
UNAUDITED = {"login", "login_code", "login_enrol", "logout", "idle_status", "keep_alive", "home"}


def _frontend_patterns():
    resolver = get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "frontend":
            yield from (p for p in pattern.url_patterns if isinstance(p, URLPattern))


def test_every_page_goes_through_the_audited_page_decorator():
    names = set()
    for pattern in _frontend_patterns():
        names.add(pattern.name)
        if pattern.name in UNAUDITED:
            continue
        assert getattr(pattern.callback, "clinic_page", False), pattern.name
    assert {"patient_chart", "session_chart", "board", "audit_log"} <= names


@pytest.fixture
def staff_pages(session, patient, admin_user, referrer):
    """Every staff page with real ids (GET pages and POST actions)."""
    evaluation = patient.evaluations.first()
    alert_id = 1
    by_name = {
        "board": {},
        "patient_list": {},
        "patient_register": {},
        "patient_chart": {"patient_id": patient.pk},
        "patient_edit": {"patient_id": patient.pk},
        "break_glass": {"patient_id": patient.pk},
        "care_team_change": {"patient_id": patient.pk},
        "alert_acknowledge": {"patient_id": patient.pk, "alert_id": alert_id},
        "consent_add": {"patient_id": patient.pk},
        "assessment_add": {"patient_id": patient.pk},
        "evaluation_create": {"patient_id": patient.pk},
        "eligibility_check": {},
        "evaluation_detail": {"evaluation_id": evaluation.pk},
        "evaluation_sign": {"evaluation_id": evaluation.pk},
        "evaluation_amend": {"evaluation_id": evaluation.pk},
        "course_order": {"patient_id": patient.pk},
        "session_schedule": {"course_id": session.course_id},
        "staff_list": {},
        "staff_create": {},
        "staff_edit": {"user_id": admin_user.pk},
        "staff_set_active": {"user_id": admin_user.pk},
        "provider_list": {},
        "provider_create": {},
        "provider_edit": {"provider_id": referrer.pk},
        "audit_log": {},
        "break_glass_log": {},
        "summary_request": {"patient_id": patient.pk},
        # The role check comes before any lookup: the id need not exist.
        "summary_status": {"summary_id": 1},
        "summary_sign": {"summary_id": 1},
        "summary_release": {"summary_id": 1},
    }
    for pattern in _frontend_patterns():
        if pattern.name.startswith("session_") and pattern.name != "session_schedule":
            # A flowsheet entry's id: the role check comes before any lookup.
            entry_ids = {name: 1 for name in pattern.pattern.converters if name != "session_id"}
            by_name[pattern.name] = {"session_id": session.pk, **entry_ids}
    return {name: reverse(f"frontend:{name}", kwargs=kwargs) for name, kwargs in by_name.items()}


def test_referring_provider_is_refused_every_staff_page(client_for, referrer_user, staff_pages):
    client = client_for(referrer_user)
    for name, url in staff_pages.items():
        get = client.get(url)
        post = client.post(url, {})
        assert get.status_code in (403, 404, 405), (name, get.status_code)
        assert post.status_code in (403, 404, 405), (name, post.status_code)
        assert get.status_code != 200 and post.status_code != 200


def test_every_page_the_page_walk_knows_is_covered(staff_pages):
    walked = {p.name for p in _frontend_patterns()} - UNAUDITED
    not_staff = {"portal", "summary_pdf", "account_security", "password_change"}
    assert walked - set(staff_pages) - not_staff == set()


def test_referring_provider_lands_in_the_portal_after_login(client, referrer_user):
    response = client.post(
        "/login/",
        {"username": referrer_user.username, "password": "correct horse battery staple"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:portal")


def test_referring_provider_next_url_to_a_staff_page_is_ignored(client, referrer_user):
    response = client.post(
        "/login/?next=/patients/",
        {
            "username": referrer_user.username,
            "password": "correct horse battery staple",
            "next": "/patients/",
        },
    )

    assert response["Location"] == reverse("frontend:portal")


@pytest.mark.parametrize("name", ["session_chart", "evaluation_detail", "board", "course_order"])
def test_practice_manager_cannot_open_clinical_pages(client_for, admin_user, staff_pages, name):
    response = client_for(admin_user).get(staff_pages[name])

    assert response.status_code == 403


def test_practice_manager_sees_demographics_and_care_team_but_no_clinical_record(
    client_for, admin_user, session, patient
):
    response = client_for(admin_user).get(reverse("frontend:patient_chart", args=[patient.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert patient.mrn in body
    assert "Care team" in body
    assert "Pre-treatment evaluation" not in body
    assert "Treatment courses and sessions" not in body
    assert "Clinical records are not shown" in body


def test_nurse_off_care_team_gets_404_with_the_break_the_glass_form(
    client_for, outside_nurse, patient
):
    client = client_for(outside_nurse)
    before = AuditEvent.objects.count()

    response = client.get(reverse("frontend:patient_chart", args=[patient.pk]))

    assert response.status_code == 404
    body = response.content.decode()
    assert patient.last_name not in body
    assert reverse("frontend:break_glass", args=[patient.pk]) in body
    events = AuditEvent.objects.order_by("id")[before:]
    assert [(e.user, e.action, e.object_type, e.object_id, e.patient) for e in events] == [
        (outside_nurse, "denied", "patient", str(patient.pk), None)
    ]


def test_unknown_patient_id_gets_the_same_404_page_as_a_hidden_one(
    client_for, outside_nurse, patient
):
    client = client_for(outside_nurse)
    hidden = client.get(reverse("frontend:patient_chart", args=[patient.pk]))
    missing = client.get(reverse("frontend:patient_chart", args=[patient.pk + 1000]))

    def main_text(response, pk):
        body = response.content.decode()
        main = body[body.index('<main id="main"') :]
        main = main.replace(f"/patients/{pk}/", "/patients/ID/")
        # The CSRF token is masked differently on every page.
        return "\n".join(line for line in main.splitlines() if "csrfmiddlewaretoken" not in line)

    assert missing.status_code == hidden.status_code == 404
    assert main_text(hidden, patient.pk) == main_text(missing, patient.pk + 1000)


def test_nurse_off_care_team_gets_404_on_the_session_chart(client_for, outside_nurse, session):
    response = client_for(outside_nurse).get(reverse("frontend:session_chart", args=[session.pk]))

    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="denied", user=outside_nurse).count() == 1


def test_breaking_the_glass_opens_the_chart_for_hours_and_is_audited(
    client_for, outside_nurse, patient, admin_user
):
    client = client_for(outside_nurse)

    response = client.post(
        reverse("frontend:break_glass", args=[patient.pk]),
        {"reason": "Covering for Kelly; patient in chair 3 is unwell"},
    )

    assert response.status_code == 302
    assert client.get(reverse("frontend:patient_chart", args=[patient.pk])).status_code == 200
    grant = BreakGlassAccess.objects.get(user=outside_nurse)
    assert grant.reason == "Covering for Kelly; patient in chair 3 is unwell"
    event = AuditEvent.objects.get(action="break_glass")
    assert (event.user, event.patient) == (outside_nurse, patient)
    # The same event as the API's: it names the grant, with the reason.
    assert (event.object_type, event.object_id) == ("breakglassaccess", str(grant.pk))
    assert event.detail == grant.reason
    log = client_for(admin_user).get(reverse("frontend:break_glass_log"))
    assert "Covering for Kelly; patient in chair 3 is unwell" in log.content.decode()


def test_breaking_the_glass_needs_a_reason(client_for, outside_nurse, patient):
    client = client_for(outside_nurse)

    response = client.post(reverse("frontend:break_glass", args=[patient.pk]), {"reason": " "})

    assert response.status_code == 404
    assert "This field is required." in response.content.decode()
    assert not BreakGlassAccess.objects.exists()
    assert client.get(reverse("frontend:patient_chart", args=[patient.pk])).status_code == 404


def test_a_chart_view_records_exactly_one_view_event_naming_the_patient(client_for, nurse, patient):
    client = client_for(nurse)
    before = AuditEvent.objects.count()

    client.get(reverse("frontend:patient_chart", args=[patient.pk]))

    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type, e.patient) for e in events] == [("view", "patient", patient)]


def test_a_list_page_records_one_list_event(client_for, nurse, patient):
    client = client_for(nurse)
    before = AuditEvent.objects.count()

    client.get(reverse("frontend:patient_list"))

    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type) for e in events] == [("list", "patient")]


def test_a_role_refusal_records_one_denied_event(client_for, nurse):
    client = client_for(nurse)
    before = AuditEvent.objects.count()

    response = client.get(reverse("frontend:audit_log"))

    assert response.status_code == 403
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.status_code) for e in events] == [("denied", 403)]


def test_anonymous_visitor_is_sent_to_the_login_page(client, patient):
    response = client.get(reverse("frontend:patient_chart", args=[patient.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_anonymous_htmx_request_is_redirected_by_header(client, patient):
    response = client.get(reverse("frontend:board"), headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/login/")


def test_navigation_shows_only_the_pages_a_role_may_open(client_for, nurse, admin_user):
    nurse_page = client_for(nurse).get(reverse("frontend:patient_list")).content.decode()
    admin_page = client_for(admin_user).get(reverse("frontend:patient_list")).content.decode()

    assert ">Today<" in nurse_page and ">Audit log<" not in nurse_page
    assert ">Audit log<" in admin_page and ">Today<" not in admin_page


@pytest.mark.parametrize("who", ["nurse", "prescriber", "admin_user"])
def test_staff_are_refused_the_referring_provider_portal(client_for, request, who):
    response = client_for(request.getfixturevalue(who)).get(reverse("frontend:portal"))

    assert response.status_code == 403

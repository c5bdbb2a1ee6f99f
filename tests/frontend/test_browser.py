"""End-to-end: Chromium driven through the real pages of a live server.

Every user signs in through the login form. Waits are Playwright's
auto-waiting ``expect`` assertions, never sleeps.
"""

import datetime
import re
import time
from importlib import import_module

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from frontend.middleware import LAST_ACTIVITY_KEY
from reports.models import TreatmentSummary
from sessions.models import InfusionSession

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(autouse=True)
def _sync_orm_beside_the_browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the live server's
    # ORM calls are synchronous and safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def sign_in(live_server, new_context):
    """``sign_in(user)``: a tablet-sized browser page signed in through the login form."""

    def open_as(user):
        context = new_context(viewport=TABLET, base_url=live_server.url)
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page

    return open_as


def chart_section(page, section_id):
    return page.locator(f"#{section_id}")


def save_vitals(page, systolic, diastolic, heart_rate, spo2, resp_rate):
    page.get_by_label("Systolic").fill(str(systolic))
    page.get_by_label("Diastolic").fill(str(diastolic))
    page.get_by_label("Heart rate").fill(str(heart_rate))
    page.get_by_label("SpO2 %").fill(str(spo2))
    page.get_by_label("Resp. rate").fill(str(resp_rate))
    page.locator("#vitals-save").click()


def save_mood(page, phase, mood, anxiety, text):
    page.locator("#field-mood-phase").get_by_text(phase, exact=True).click()
    page.locator("#field-mood-mood").get_by_text(str(mood), exact=True).click()
    page.locator("#field-mood-anxiety").get_by_text(str(anxiety), exact=True).click()
    page.locator("#id_mood-text").fill(text)
    page.locator("#mood-save").click()


@pytest.mark.worker
def test_a_full_infusion_is_charted_signed_summarised_and_downloaded_by_the_referrer(
    sign_in,
    celery_worker_process,
    eligible_patient,
    course,
    nurse,
    prescriber,
    outside_nurse,
    referrer,
    referrer_user,
):
    patient = eligible_patient
    nurse_page = sign_in(nurse)
    expect(nurse_page).to_have_url(re.compile(r"/today/$"))

    # The nurse schedules the session, confirming the pre-filled weight and dose.
    nurse_page.goto(reverse("frontend:patient_chart", args=[patient.pk]))
    nurse_page.get_by_role("link", name="Schedule the next session").click()
    nurse_page.get_by_label("Supervising prescriber").select_option(label="Daniel Reyes")
    nurse_page.get_by_label("I have checked the pre-filled weight and dose").check()
    nurse_page.get_by_role("button", name="Schedule session").click()
    expect(nurse_page.locator("#total-dose")).to_contain_text("36.3 mg")
    session = InfusionSession.objects.get(course=course)

    # She prepared the dose, so she cannot verify it; the prescriber can.
    expect(nurse_page.locator("#verify-dose")).to_be_disabled()
    expect(nurse_page.locator("#verify-refusal")).to_contain_text("a second clinician")
    prescriber_page = sign_in(prescriber)
    prescriber_page.goto(reverse("frontend:session_chart", args=[session.pk]))
    prescriber_page.locator("#verify-dose").click()
    expect(prescriber_page.locator("#verification")).to_contain_text("Verified by Daniel Reyes")

    # Pre-infusion checks, then the start.
    nurse_page.get_by_label("Fasting confirmed").check()
    nurse_page.get_by_label("Escort home confirmed").check()
    nurse_page.get_by_label("Pre-infusion BP systolic").fill("128")
    nurse_page.get_by_label("Pre-infusion BP diastolic").fill("82")
    nurse_page.locator("#checks-save").click()
    expect(nurse_page.locator("#verification")).to_contain_text("Verified by Daniel Reyes")
    expect(nurse_page.locator("#start-infusion")).to_be_enabled()
    save_mood(nurse_page, "Pre", 5, 6, "Nervous but ready")
    expect(chart_section(nurse_page, "mood")).to_contain_text("Nervous but ready")
    nurse_page.locator("#start-infusion").click()
    expect(nurse_page.locator("#session-status")).to_have_text("In Progress")
    expect(nurse_page.locator(".elapsed")).to_have_text(re.compile(r"^\d+:\d\d$"))
    expect(nurse_page.locator("#vitals-due")).to_contain_text("Next reading due at")

    # Three readings; the second one raises an alert that shows on screen at once.
    flowsheet_rows = nurse_page.locator("table.flowsheet tr[id^=vital-]")
    save_vitals(nurse_page, 132, 84, 78, 98, 14)
    expect(flowsheet_rows).to_have_count(1)
    save_vitals(nurse_page, 150, 92, 88, 90, 12)
    expect(flowsheet_rows).to_have_count(2)
    alert = nurse_page.locator("table.flowsheet tr.alert-detail")
    expect(alert).to_contain_text("SpO2 90 % is below 92 %")
    expect(flowsheet_rows.nth(1)).to_have_class(re.compile("alert-row"))
    save_vitals(nurse_page, 138, 86, 80, 96, 14)
    expect(flowsheet_rows).to_have_count(3)
    expect(flowsheet_rows.nth(2)).not_to_have_class(re.compile("alert-row"))

    # A side effect with its grade, and a mood note during the infusion.
    nurse_page.locator("#id_sideeffect-effect").select_option("nausea")
    nurse_page.locator("#side-effects").get_by_text("1 mild").click()
    nurse_page.get_by_label("Intervention").fill("Ondansetron 4 mg IV")
    nurse_page.locator("#side-effect-save").click()
    expect(chart_section(nurse_page, "side-effects")).to_contain_text("Nausea, grade 1")
    save_mood(nurse_page, "During", 6, 3, "Floating, calm")
    expect(chart_section(nurse_page, "mood")).to_contain_text("mood 6/10 · anxiety 3/10")

    # End of the infusion, post note, discharge checklist.
    nurse_page.locator("#complete-infusion").click()
    expect(nurse_page.locator("#session-status")).to_have_text("Completed")
    save_mood(nurse_page, "Post", 8, 2, "Clear-headed, relieved")
    expect(chart_section(nurse_page, "mood")).to_contain_text("Clear-headed, relieved")
    for item in ("Alert and oriented", "Vitals near baseline", "Ambulating", "Escort present"):
        nurse_page.get_by_label(item).check()
    nurse_page.locator("#discharge-save").click()
    expect(nurse_page.locator("#discharge-done")).to_contain_text("checklist complete")

    # Everything survived: a reload shows the same flowsheet.
    nurse_page.reload()
    expect(flowsheet_rows).to_have_count(3)
    expect(chart_section(nurse_page, "side-effects")).to_contain_text("Ondansetron 4 mg IV")

    # The prescriber signs the session, then requests the summary and watches it get ready.
    prescriber_page.reload()
    prescriber_page.locator("#sign-session").click()
    expect(prescriber_page.locator("#signature")).to_contain_text("Signed by Daniel Reyes")
    prescriber_page.goto(reverse("frontend:patient_chart", args=[patient.pk]))
    prescriber_page.get_by_text("Request a treatment summary").click()
    prescriber_page.get_by_label("Clinician comment").fill("Good response after six infusions.")
    prescriber_page.locator("#request-summary").click()
    status = prescriber_page.locator("#summaries [data-summary-status]").first
    expect(status).to_have_attribute("data-summary-status", re.compile("queued|generating|ready"))
    expect(status).to_have_attribute("data-summary-status", "ready", timeout=90_000)
    prescriber_page.locator("#summaries").get_by_role("button", name="Sign").click()
    expect(prescriber_page.locator("#summaries")).to_contain_text("Signed by Daniel Reyes")
    prescriber_page.locator("#summaries").get_by_role("button", name="Release to referrer").click()
    expect(prescriber_page.locator("#summaries")).to_contain_text(f"Released to {referrer.name}")

    # The referrer lands in the portal and downloads the released PDF.
    referrer_page = sign_in(referrer_user)
    expect(referrer_page).to_have_url(re.compile(r"/portal/$"))
    link = referrer_page.get_by_role("link", name=re.compile("Download summary"))
    with referrer_page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    summary = TreatmentSummary.objects.get(patient=patient)
    assert summary.is_released

    # A nurse off the care team cannot open the patient.
    outsider_page = sign_in(outside_nurse)
    outsider_page.goto(reverse("frontend:patient_chart", args=[patient.pk]))
    expect(outsider_page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(outsider_page.locator("main")).not_to_contain_text(patient.last_name)
    expect(outsider_page.get_by_role("button", name="Open the record")).to_be_visible()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_the_charting_screen_fits_a_768_px_tablet_without_sideways_scrolling(
    sign_in, running_session, nurse, prescriber
):
    InfusionSession.objects.filter(pk=running_session.pk).update(
        started_at=timezone.now() - datetime.timedelta(minutes=20)
    )
    page = sign_in(nurse)
    page.goto(reverse("frontend:session_chart", args=[running_session.pk]))
    expect(page.locator("#vitals-due")).to_contain_text("overdue")
    assert page.viewport_size["width"] == 768
    assert _no_horizontal_scroll(page)

    save_vitals(page, 185, 112, 132, 91, 9)
    expect(page.locator("table.flowsheet tr.alert-detail")).to_contain_text("Systolic")
    page.locator("#id_sideeffect-effect").select_option("other")
    page.get_by_label("If other: what").fill("W" * 120)
    page.locator("#side-effects").get_by_text("2 moderate").click()
    page.locator("#side-effect-save").click()
    expect(page.locator("#side-effects")).to_contain_text("grade 2")
    assert _no_horizontal_scroll(page)

    board = sign_in(prescriber)
    board.goto(reverse("frontend:board"))
    expect(board.locator("#board-rows")).to_contain_text(running_session.course.patient.mrn)
    assert _no_horizontal_scroll(board)


def test_hostile_text_is_shown_literally_in_the_browser(sign_in, running_session, nurse):
    dialogs = []
    page = sign_in(nurse)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(reverse("frontend:session_chart", args=[running_session.pk]))

    save_mood(page, "During", 5, 5, "<script>alert(1)</script>")
    expect(page.locator("#mood")).to_contain_text("<script>alert(1)</script>")
    page.locator("#id_sideeffect-effect").select_option("other")
    page.get_by_label("If other: what").fill("<b>x</b>")
    page.locator("#side-effects").get_by_text("1 mild").click()
    page.locator("#side-effect-save").click()
    expect(page.locator("#side-effects")).to_contain_text("Other: <b>x</b>")
    page.reload()

    expect(page.locator("#mood")).to_contain_text("<script>alert(1)</script>")
    expect(page.locator("#side-effects b")).to_have_count(0)
    assert dialogs == []


def test_an_idle_screen_warns_then_signs_out_with_a_message(
    sign_in, nurse, settings, running_session
):
    page = sign_in(nurse)
    in_flight = set()
    page.on("request", lambda request: in_flight.add(request))
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))
    page.clock.install()
    # The board polls in the background; polling must not keep the session alive.
    page.goto(reverse("frontend:board"))
    notice = page.locator("#idle-notice")
    expect(notice).to_be_hidden()

    page.clock.fast_forward((settings.IDLE_TIMEOUT_MINUTES - 1) * 60 * 1000)
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("You will be signed out in")
    page.get_by_role("button", name="Stay signed in").click()
    expect(notice).to_be_hidden()

    # Every request saves the whole session: one still in flight (the keep-alive, a
    # poll) would write it back over the edit below.
    deadline = time.monotonic() + 10
    while in_flight and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert not in_flight
    # The server's clock decides: make the session idle there, then let the page find out.
    cookie = next(c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=cookie["value"])
    store[LAST_ACTIVITY_KEY] = time.time() - settings.IDLE_TIMEOUT_MINUTES * 60 - 1
    store.save()
    page.clock.fast_forward((settings.IDLE_TIMEOUT_MINUTES + 1) * 60 * 1000)

    # The idle check and a board poll may both find the session ended; whichever
    # redirect the page follows, it lands on the sign-in page with the reason.
    expect(page).to_have_url(re.compile(r"/login/(\?idle=1)?$"))
    expect(page.locator("main")).to_contain_text(
        f"You were signed out after {settings.IDLE_TIMEOUT_MINUTES} minutes without activity"
    )


def test_sign_in_and_a_vitals_entry_work_from_the_keyboard_alone(
    live_server, new_context, nurse, running_session
):
    page = new_context(viewport=TABLET, base_url=live_server.url).new_page()
    page.goto("/login/")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type(nurse.username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(reverse("frontend:session_chart", args=[running_session.pk]))
    page.get_by_label("Systolic").focus()
    for value in ("126", "80", "72", "98"):
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    page.keyboard.type("14")
    page.keyboard.press("Enter")

    expect(page.locator("table.flowsheet tr[id^=vital-]")).to_have_count(1)
    expect(page.locator("table.flowsheet")).to_contain_text("126/80")


def _posts_to(page, path_part):
    """The POST requests the page sends whose URL contains ``path_part``, as they happen."""
    sent = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.url)
            if request.method == "POST" and path_part in request.url
            else None
        ),
    )
    return sent


def test_enter_submits_a_charting_form_only_when_it_is_complete_and_never_from_a_time_field(
    sign_in, nurse, running_session
):
    page = sign_in(nurse)
    page.goto(reverse("frontend:session_chart", args=[running_session.pk]))
    posts = _posts_to(page, "/vitals/")
    rows = page.locator("table.flowsheet tr[id^=vital-]")

    # Incomplete: nothing is sent, the cursor goes to the first empty required field.
    page.get_by_label("Systolic").fill("126")
    page.get_by_label("Systolic").press("Enter")
    expect(page.get_by_label("Diastolic")).to_be_focused()
    page.get_by_label("Diastolic").fill("80")
    page.get_by_label("Heart rate").fill("72")
    page.get_by_label("SpO2 %").fill("98")
    page.get_by_label("Resp. rate").fill("14")

    # Enter in the time field (complete form or not) never submits.
    time_field = page.locator("#id_vitals-recorded_at")
    time_field.focus()
    page.keyboard.press("Enter")
    expect(time_field).to_be_focused()
    expect(page.locator("#vitals-save")).to_be_visible()

    # Complete, from a number field: saved. (Had the time field sent the form, the form
    # would be empty by now and this Enter would send nothing, or a second reading.)
    with page.expect_request(lambda r: r.method == "POST" and "/vitals/" in r.url):
        page.get_by_label("Resp. rate").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("126/80")
    assert len(posts) == 1


def test_mood_and_anxiety_must_be_chosen_and_can_be_chosen_from_the_keyboard(
    sign_in, nurse, running_session
):
    page = sign_in(nurse)
    page.goto(reverse("frontend:session_chart", args=[running_session.pk]))
    mood = page.locator("#field-mood-mood")
    expect(mood.locator("input:checked")).to_have_count(0)

    page.locator("#id_mood-text").fill("Quiet, eyes closed")
    page.locator("#mood-save").click()
    expect(mood.locator(".field-error")).to_contain_text("Choose the mood score")
    expect(page.locator("#field-mood-anxiety .field-error")).to_contain_text("anxiety score")
    expect(page.locator("#mood .entries")).to_contain_text("None recorded")

    # Arrow keys move through 0–10 inside each group; Enter saves the complete note.
    page.locator("#id_mood-mood_0").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#id_mood-mood_3")).to_be_checked()
    page.locator("#id_mood-anxiety_0").focus()
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")

    expect(page.locator("#mood .entries")).to_contain_text("mood 3/10 · anxiety 7/10")
    expect(page.locator("#mood .entries")).to_contain_text("Quiet, eyes closed")


def test_a_mistyped_reading_is_corrected_in_its_row_from_the_keyboard(
    sign_in, nurse, running_session
):
    from sessions import services

    reading = services.vitals_record(
        actor=nurse,
        session_id=running_session.pk,
        recorded_at=timezone.now() - datetime.timedelta(minutes=2),
        bp_systolic=190,
        bp_diastolic=90,
        heart_rate=80,
        spo2=98,
        resp_rate=14,
    )
    page = sign_in(nurse)
    page.goto(reverse("frontend:session_chart", args=[running_session.pk]))
    row = page.locator(f"#entry-vital-{reading.pk}")
    expect(row.locator("tr.alert-detail")).to_contain_text("Systolic blood pressure 190")
    edit = page.get_by_role("link", name=re.compile("^Edit reading at"))

    # Escape leaves the form and gives the focus back to Edit.
    edit.focus()
    page.keyboard.press("Enter")
    systolic = page.locator(f"#id_vital-{reading.pk}-bp_systolic")
    expect(systolic).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(f"#vital-{reading.pk}-edit")).to_be_focused()

    # An impossible value comes back with its message next to the field.
    page.keyboard.press("Enter")
    expect(systolic).to_be_focused()
    systolic.fill("85")
    systolic.press("Enter")
    diastolic_error = page.locator(f"#field-vital-{reading.pk}-bp_diastolic .field-error")
    expect(diastolic_error).to_contain_text("must be below systolic")
    expect(page.locator(f"#id_vital-{reading.pk}-bp_diastolic")).to_be_focused()

    systolic.fill("140")
    systolic.press("Enter")
    expect(row.locator(f"#vital-{reading.pk}")).to_contain_text("140/90")
    expect(row.locator("tr.alert-detail")).to_have_count(0)
    expect(row).to_contain_text("Corrected by Siobhán Kelly")
    expect(page.locator(f"#vital-{reading.pk}-edit")).to_be_focused()
    expect(page.locator("#chart-saved")).to_contain_text("Reading corrected")


# Records every Content-Security-Policy violation of a document (added before any of its
# scripts run; Playwright's init scripts are not subject to the page's policy).
_COLLECT_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
      `at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`
  );
});
"""


def test_csp_main_pages_work_under_the_policy_without_a_violation(
    live_server, new_context, running_session, nurse
):
    context = new_context(viewport=TABLET, base_url=live_server.url)
    context.add_init_script(script=_COLLECT_CSP_VIOLATIONS)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    seen = []

    def violations():
        return page.evaluate("window.__cspViolations")

    def visit(path):
        response = page.goto(path)
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        expect(page.locator("main")).to_be_visible()
        seen.extend(violations())

    visit("/login/")
    page.get_by_label("Username").fill(nurse.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#board-rows")).to_contain_text(running_session.course.patient.mrn)
    seen.extend(violations())
    visit(reverse("frontend:board"))
    visit(reverse("frontend:patient_chart", args=[running_session.course.patient_id]))
    visit(reverse("frontend:account_security"))  # the enrolment QR code is a data: image
    expect(page.locator("img[src^='data:image/svg+xml']")).to_be_visible()
    seen.extend(violations())
    visit(reverse("frontend:session_chart", args=[running_session.pk]))
    # htmx swaps in new rows: they must keep to the policy too.
    save_vitals(page, 128, 80, 72, 98, 14)
    expect(page.locator("table.flowsheet tr[id^=vital-]")).to_have_count(1)
    save_mood(page, "During", 6, 3, "Calm")
    expect(page.locator("#mood")).to_contain_text("Calm")
    seen.extend(violations())

    assert seen == []
    assert [text for text in console if "Content Security Policy" in text] == []

    # The policy does block an inline style, and the event used above reports it.
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
          document.addEventListener("securitypolicyviolation",
            (event) => resolve(event.effectiveDirective), {once: true});
          setTimeout(() => resolve("nothing blocked"), 5000);
          document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
        })"""
    )
    assert blocked.startswith("style-src")

    # The API docs start from a script of their own, not an inline one.
    console.clear()
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_contain_text("Ketamine infusion clinic")
    assert violations() == []
    assert [text for text in console if "Content Security Policy" in text] == []

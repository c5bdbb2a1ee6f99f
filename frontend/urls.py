from django.contrib.auth import views as auth_views
from django.urls import path

from frontend.views import accounts, auth, evaluations, patients, providers, sessions, summaries

app_name = "frontend"

urlpatterns = [
    # Signing in and out
    path("login/", auth.login_view, name="login"),
    path("login/code/", auth.login_code, name="login_code"),
    path("login/enrol/", auth.login_enrol, name="login_enrol"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/security/", auth.account_security, name="account_security"),
    path("account/password/", auth.password_change, name="password_change"),
    path("session/idle/", auth.idle_status, name="idle_status"),
    path("session/keep-alive/", auth.keep_alive, name="keep_alive"),
    path("", auth.home, name="home"),
    # Practice manager
    path("manage/staff/", accounts.staff_list, name="staff_list"),
    path("manage/staff/new/", accounts.staff_create, name="staff_create"),
    path("manage/staff/<int:user_id>/", accounts.staff_edit, name="staff_edit"),
    path("manage/staff/<int:user_id>/active/", accounts.staff_set_active, name="staff_set_active"),
    path("manage/referring-providers/", providers.provider_list, name="provider_list"),
    path("manage/referring-providers/new/", providers.provider_create, name="provider_create"),
    path(
        "manage/referring-providers/<int:provider_id>/",
        providers.provider_edit,
        name="provider_edit",
    ),
    path("manage/audit/", accounts.audit_log, name="audit_log"),
    path("manage/break-the-glass/", accounts.break_glass_log, name="break_glass_log"),
    # Patients
    path("patients/", patients.patient_list, name="patient_list"),
    path("patients/new/", patients.patient_register, name="patient_register"),
    path("patients/<int:patient_id>/", patients.patient_chart, name="patient_chart"),
    path("patients/<int:patient_id>/edit/", patients.patient_edit, name="patient_edit"),
    path("patients/<int:patient_id>/break-glass/", patients.break_glass, name="break_glass"),
    path(
        "patients/<int:patient_id>/care-team/", patients.care_team_change, name="care_team_change"
    ),
    path(
        "patients/<int:patient_id>/alerts/<int:alert_id>/acknowledge/",
        patients.alert_acknowledge,
        name="alert_acknowledge",
    ),
    path("patients/<int:patient_id>/consents/", patients.consent_add, name="consent_add"),
    path(
        "patients/<int:patient_id>/assessments/new/",
        patients.assessment_add,
        name="assessment_add",
    ),
    # Evaluations
    path(
        "patients/<int:patient_id>/evaluations/new/",
        evaluations.evaluation_create,
        name="evaluation_create",
    ),
    path("evaluations/eligibility/", evaluations.eligibility_check, name="eligibility_check"),
    path(
        "evaluations/<int:evaluation_id>/",
        evaluations.evaluation_detail,
        name="evaluation_detail",
    ),
    path(
        "evaluations/<int:evaluation_id>/sign/", evaluations.evaluation_sign, name="evaluation_sign"
    ),
    path(
        "evaluations/<int:evaluation_id>/amendments/",
        evaluations.evaluation_amend,
        name="evaluation_amend",
    ),
    # Courses, today's board and the charting screen
    path("patients/<int:patient_id>/courses/new/", sessions.course_order, name="course_order"),
    path(
        "courses/<int:course_id>/sessions/new/", sessions.session_schedule, name="session_schedule"
    ),
    path("today/", sessions.board, name="board"),
    path("sessions/<int:session_id>/", sessions.session_chart, name="session_chart"),
    path("sessions/<int:session_id>/dose/", sessions.session_dose, name="session_dose"),
    path(
        "sessions/<int:session_id>/verify-dose/",
        sessions.session_verify_dose,
        name="session_verify_dose",
    ),
    path("sessions/<int:session_id>/override/", sessions.session_override, name="session_override"),
    path("sessions/<int:session_id>/checks/", sessions.session_checks, name="session_checks"),
    path("sessions/<int:session_id>/go-ahead/", sessions.session_go_ahead, name="session_go_ahead"),
    path("sessions/<int:session_id>/start/", sessions.session_start, name="session_start"),
    path("sessions/<int:session_id>/stop/", sessions.session_stop, name="session_stop"),
    path("sessions/<int:session_id>/complete/", sessions.session_complete, name="session_complete"),
    path("sessions/<int:session_id>/vitals/", sessions.session_vitals, name="session_vitals"),
    path(
        "sessions/<int:session_id>/side-effects/",
        sessions.session_side_effect,
        name="session_side_effect",
    ),
    path(
        "sessions/<int:session_id>/vitals/<int:vital_id>/",
        sessions.session_vital_row,
        name="session_vital_row",
    ),
    path(
        "sessions/<int:session_id>/vitals/<int:vital_id>/edit/",
        sessions.session_vital_edit,
        name="session_vital_edit",
    ),
    path("sessions/<int:session_id>/mood-notes/", sessions.session_mood, name="session_mood"),
    path(
        "sessions/<int:session_id>/mood-notes/<int:note_id>/",
        sessions.session_mood_row,
        name="session_mood_row",
    ),
    path(
        "sessions/<int:session_id>/mood-notes/<int:note_id>/edit/",
        sessions.session_mood_edit,
        name="session_mood_edit",
    ),
    path(
        "sessions/<int:session_id>/discharge/", sessions.session_discharge, name="session_discharge"
    ),
    path("sessions/<int:session_id>/notes/", sessions.session_notes, name="session_notes"),
    path("sessions/<int:session_id>/sign/", sessions.session_sign, name="session_sign"),
    path("sessions/<int:session_id>/amendments/", sessions.session_amend, name="session_amend"),
    # Treatment summaries and the referring-provider portal
    path(
        "patients/<int:patient_id>/summaries/",
        summaries.summary_request,
        name="summary_request",
    ),
    path("summaries/<int:summary_id>/status/", summaries.summary_status, name="summary_status"),
    path("summaries/<int:summary_id>/pdf/", summaries.summary_pdf, name="summary_pdf"),
    path("summaries/<int:summary_id>/sign/", summaries.summary_sign, name="summary_sign"),
    path("summaries/<int:summary_id>/release/", summaries.summary_release, name="summary_release"),
    path("portal/", summaries.portal, name="portal"),
]

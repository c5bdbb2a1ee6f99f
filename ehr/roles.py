"""The role policy: what each role of the clinic may do.

This is the only place that maps roles to capabilities. Views, services and
templates ask ``can(user, Capability.X)``; none of them compares roles
themselves. Which *patients* a user may reach is a separate question answered
by the selectors (care team, referral, break-the-glass).
"""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Practice manager"
    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Infusion nurse"
    REFERRING_PROVIDER = "referring_provider", "Referring provider"


class Capability(StrEnum):
    MANAGE_ACCOUNTS = "manage_accounts"
    READ_AUDIT_LOG = "read_audit_log"
    MANAGE_REFERRING_PROVIDERS = "manage_referring_providers"
    VIEW_REFERRING_PROVIDERS = "view_referring_providers"
    REGISTER_PATIENTS = "register_patients"
    EDIT_DEMOGRAPHICS = "edit_demographics"
    VIEW_PATIENTS = "view_patients"
    VIEW_ALL_DEMOGRAPHICS = "view_all_demographics"
    VIEW_PATIENT_DETAILS = "view_patient_details"
    VIEW_REFERRED_PATIENTS = "view_referred_patients"
    MANAGE_CARE_TEAMS = "manage_care_teams"
    VIEW_CLINICAL_RECORDS = "view_clinical_records"
    CHART = "chart"
    SIGN_RECORDS = "sign_records"
    ORDER_TREATMENT = "order_treatment"
    OVERRIDE_DOSE = "override_dose"
    GIVE_GO_AHEAD = "give_go_ahead"
    PUBLISH_MONITORING_PROTOCOL = "publish_monitoring_protocol"
    ACKNOWLEDGE_SAFETY_ALERTS = "acknowledge_safety_alerts"
    BREAK_THE_GLASS = "break_the_glass"
    REQUEST_SUMMARIES = "request_summaries"
    RELEASE_SUMMARIES = "release_summaries"
    VIEW_SUMMARIES = "view_summaries"
    VIEW_RELEASED_SUMMARIES = "view_released_summaries"


_CLINICIANS = frozenset({Role.PRESCRIBER, Role.NURSE})
_STAFF = frozenset({Role.ADMIN, Role.PRESCRIBER, Role.NURSE})

POLICY: dict[Capability, frozenset[Role]] = {
    Capability.MANAGE_ACCOUNTS: frozenset({Role.ADMIN}),
    Capability.READ_AUDIT_LOG: frozenset({Role.ADMIN}),
    Capability.MANAGE_REFERRING_PROVIDERS: frozenset({Role.ADMIN}),
    Capability.VIEW_REFERRING_PROVIDERS: _STAFF,
    Capability.REGISTER_PATIENTS: _STAFF,
    Capability.EDIT_DEMOGRAPHICS: _STAFF,
    # The practice manager keeps every patient's demographics; clinicians reach
    # their care team's patients; referring providers the patients they referred.
    # Every role reaches some patients; the selectors decide which.
    Capability.VIEW_PATIENTS: _STAFF | {Role.REFERRING_PROVIDER},
    Capability.VIEW_ALL_DEMOGRAPHICS: frozenset({Role.ADMIN}),
    # Beyond identification (name, MRN, date of birth, sex, status): contact details,
    # diagnosis, responsible prescriber, care team. Without it a user sees, filters
    # and orders patients by identification only.
    Capability.VIEW_PATIENT_DETAILS: _STAFF,
    Capability.VIEW_REFERRED_PATIENTS: frozenset({Role.REFERRING_PROVIDER}),
    # The responsible prescriber manages the team of their own patients only;
    # the service checks that ownership.
    Capability.MANAGE_CARE_TEAMS: frozenset({Role.ADMIN, Role.PRESCRIBER}),
    Capability.VIEW_CLINICAL_RECORDS: _CLINICIANS,
    Capability.CHART: _CLINICIANS,
    Capability.SIGN_RECORDS: frozenset({Role.PRESCRIBER}),
    Capability.ORDER_TREATMENT: frozenset({Role.PRESCRIBER}),
    Capability.OVERRIDE_DOSE: frozenset({Role.PRESCRIBER}),
    Capability.GIVE_GO_AHEAD: frozenset({Role.PRESCRIBER}),
    # Vitals thresholds are a clinical decision, not an administrative one.
    Capability.PUBLISH_MONITORING_PROTOCOL: frozenset({Role.PRESCRIBER}),
    Capability.ACKNOWLEDGE_SAFETY_ALERTS: frozenset({Role.PRESCRIBER}),
    Capability.BREAK_THE_GLASS: _CLINICIANS,
    Capability.REQUEST_SUMMARIES: frozenset({Role.PRESCRIBER}),
    Capability.RELEASE_SUMMARIES: frozenset({Role.PRESCRIBER}),
    Capability.VIEW_SUMMARIES: _CLINICIANS,
    Capability.VIEW_RELEASED_SUMMARIES: frozenset({Role.REFERRING_PROVIDER}),
}

assert set(POLICY) == set(Capability), "every capability needs a policy entry"


def can(user, capability: Capability) -> bool:
    """Whether an active, signed-in user's role grants ``capability``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.role in POLICY[capability]


def is_clinician(user) -> bool:
    return can(user, Capability.VIEW_CLINICAL_RECORDS)


def is_staff_member(user) -> bool:
    """Clinic staff (not an outside referring provider)."""
    return user.is_authenticated and user.is_active and user.role in _STAFF

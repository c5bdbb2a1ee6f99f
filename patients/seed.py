"""Demo referring providers, patients, consents, evaluations, scales, alerts, break-the-glass.

Idempotent: a provider is found by NPI and a patient by name and date of birth;
what exists already is left alone, and the extras of a patient (a safety alert
acknowledged with a note, a break-the-glass opening by the nurse) are made once.
Everything is written through the services, so the demo data obeys the same
rules as the clinic's.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from ehr.audit import audit_record
from ehr.models import AuditAction
from patients import services
from patients.contraindications import CONTRAINDICATION_KEYS
from patients.models import BreakGlassAccess, Patient, ReferringProvider

PROVIDERS = [
    dict(
        name="Dr. Amara Nwosu",
        npi="1234567893",
        practice="Harbor Family Medicine",
        email="anwosu@harborfamilymed.invalid",
        phone="(207) 555-0100",
        fax="(207) 555-0101",
        portal="referrer",
    ),
    dict(
        name="Dr. Hélène Dubois",
        npi="1245319599",
        practice="Casco Bay Psychiatry",
        email="hdubois@cascobay.invalid",
        phone="(207) 555-0170",
        fax="(207) 555-0171",
    ),
    dict(
        name="Dr. Tomás Ó Briain",
        npi="1003000126",
        practice="Back Cove Primary Care",
        email="tobriain@backcove.invalid",
        phone="(207) 555-0180",
        fax="(207) 555-0181",
    ),
]

# Answer lists give the baseline totals in the comments.
GAD7_SEVERE = [3, 2, 3, 2, 2, 2, 2]  # 16 severe
GAD7_MODERATE = [2, 2, 2, 1, 2, 2, 1]  # 12 moderate
PHQ9_MODERATE = [2, 1, 2, 1, 1, 2, 1, 1, 0]  # 11 moderate
PHQ9_SELF_HARM = [2, 2, 3, 2, 2, 2, 2, 1, 1]  # 17 moderately severe, item 9 = 1
PCL5_PROBABLE = [3, 3, 2, 3, 2, 3, 2, 3, 2, 2, 3, 2, 3, 2, 3, 3, 2, 3, 2, 2]  # 50
PHQ9_PASSIVE_THOUGHTS = [2, 1, 2, 1, 1, 1, 1, 1, 1]  # 11 moderate, item 9 = 1

EVALUATION_TEXT = dict(
    psychiatric_history="Symptoms for more than ten years; no psychiatric admissions.",
    prior_treatments="Two SSRIs and an SNRI at adequate dose and duration; CBT 18 months.",
    medical_history="No cardiovascular, hepatic or neurological disease.",
    current_medications="Escitalopram 20 mg daily.",
    allergies="No known drug allergies.",
    weight_kg=Decimal("72.5"),
    height_cm=Decimal("170.0"),
    bp_systolic=124,
    bp_diastolic=78,
    heart_rate=72,
)

PATIENTS = [
    dict(
        first_name="Sofía",
        last_name="Hernández García",
        date_of_birth=datetime.date(1988, 6, 2),
        sex="female",
        primary_diagnosis="F41.1",
        status="active",
        provider=0,
        evaluation=dict(eligibility="eligible"),
        scales={"GAD7": GAD7_SEVERE, "PHQ9": PHQ9_MODERATE},
    ),
    dict(
        first_name="Νίκος",
        last_name="Παπαδόπουλος",
        date_of_birth=datetime.date(1979, 11, 23),
        sex="male",
        primary_diagnosis="F43.12",
        status="active",
        provider=0,
        evaluation=dict(
            eligibility="eligible_with_precautions",
            contraindications=["active_substance_use_disorder"],
            precautions="Alcohol use disorder in early remission: breath alcohol and urine "
            "drug screen before each infusion; addiction medicine follows.",
        ),
        scales={"PCL5": PCL5_PROBABLE, "GAD7": GAD7_MODERATE},
    ),
    dict(
        first_name="Дмитрий",
        last_name="Волков",
        date_of_birth=datetime.date(1972, 3, 9),
        sex="male",
        primary_diagnosis="F33.2",
        status="active",
        provider=1,
        evaluation=dict(eligibility="eligible"),
        scales={"PHQ9": PHQ9_SELF_HARM, "GAD7": GAD7_MODERATE},
    ),
    dict(
        first_name="فاطمة",
        last_name="الزهراء",
        date_of_birth=datetime.date(1991, 8, 17),
        sex="female",
        primary_diagnosis="F41.0",
        status="declined",
        provider=1,
        evaluation=dict(
            eligibility="not_eligible",
            contraindications=["uncontrolled_hypertension"],
            bp_systolic=172,
            bp_diastolic=104,
            notes="Refer back for blood-pressure control; re-evaluate when controlled.",
        ),
        scales={"GAD7": GAD7_SEVERE},
    ),
    dict(
        first_name="נועה",
        last_name="לוי",
        date_of_birth=datetime.date(1995, 1, 30),
        sex="female",
        primary_diagnosis="F42.2",
        status="evaluating",
        provider=2,
        evaluation=dict(eligibility="pending", sign=False),
        scales={"GAD7": GAD7_MODERATE},
    ),
    dict(
        first_name="美咲",
        last_name="佐藤",
        date_of_birth=datetime.date(1990, 4, 12),
        sex="female",
        primary_diagnosis="F40.10",
        status="active",
        provider=0,
        evaluation=dict(eligibility="eligible"),
        scales={"GAD7": GAD7_SEVERE, "PHQ9": PHQ9_MODERATE},
    ),
    dict(
        first_name="Kwame",
        last_name="Mensah",
        date_of_birth=datetime.date(1968, 9, 5),
        sex="male",
        primary_diagnosis="F43.10",
        status="active",
        provider=2,
        evaluation=dict(eligibility="eligible"),
        scales={"PCL5": PCL5_PROBABLE, "PHQ9": PHQ9_PASSIVE_THOUGHTS},
        # The baseline PHQ-9 raised a self-harm alert; the prescriber assessed him.
        acknowledge_alerts="Passive thoughts of death on some days, no plan or intent; "
        "C-SSRS screen negative. Safety plan reviewed with him and his partner, crisis line "
        "numbers given. Cleared to start; re-screen at every visit.",
    ),
    dict(
        first_name="Chloé",
        last_name="Lefèvre-Dubois",
        date_of_birth=datetime.date(1984, 12, 1),
        sex="female",
        primary_diagnosis="F40.243",
        status="referred",
        provider=1,
        # Not on the demo nurse's care team: she opened the record by breaking the glass.
        nurse=False,
        break_glass="She phoned the infusion suite about fasting before her first visit and "
        "her care team is not in today; checking the referral letter to answer her.",
    ),
]


def seed(*, users: dict, stdout) -> None:
    prescriber, nurse = users["prescriber"], users["nurse"]
    admin = users.get("admin") or prescriber
    providers = [_provider(spec, users=users, actor=admin) for spec in PROVIDERS]
    created = 0
    for number, spec in enumerate(PATIENTS, start=1):
        patient = Patient.objects.filter(
            first_name=spec["first_name"],
            last_name=spec["last_name"],
            date_of_birth=spec["date_of_birth"],
        ).first()
        if patient is None:
            patient = _patient(
                spec, number=number, providers=providers, prescriber=prescriber, nurse=nurse
            )
            created += 1
        if "acknowledge_alerts" in spec:
            _acknowledge_alerts(patient, note=spec["acknowledge_alerts"], prescriber=prescriber)
        if "break_glass" in spec:
            _break_glass(patient, reason=spec["break_glass"], clinician=nurse)
    stdout.write(
        f"patients: {len(providers)} referring providers, {created} new patients "
        f"({Patient.objects.count()} in all)."
    )


def _provider(spec: dict, *, users: dict, actor) -> ReferringProvider:
    existing = ReferringProvider.objects.filter(npi=spec["npi"]).first()
    if existing is not None:
        return existing
    fields = {key: value for key, value in spec.items() if key != "portal"}
    portal = users.get(spec.get("portal", ""))
    if portal is not None and not ReferringProvider.objects.filter(user=portal).exists():
        fields["user"] = portal
    return services.referring_provider_create(actor=actor, **fields)


def _patient(spec: dict, *, number: int, providers, prescriber, nurse) -> Patient:
    today = timezone.localdate()
    patient = services.patient_create(
        actor=prescriber,
        first_name=spec["first_name"],
        last_name=spec["last_name"],
        date_of_birth=spec["date_of_birth"],
        sex=spec["sex"],
        phone=f"(207) 555-02{number:02d}",
        email=f"patient{number}@example.invalid",
        address=f"{10 * number} Congress Street, Portland, ME 04101",
        emergency_contact=f"Next of kin, (207) 555-03{number:02d}",
        primary_diagnosis=spec["primary_diagnosis"],
        status=spec["status"],
        referring_provider=providers[spec["provider"]],
        responsible_prescriber=prescriber,
    )
    if spec.get("nurse", True):
        services.care_team_change(actor=prescriber, patient=patient, user=nurse, action="add")
    evaluation_spec = spec.get("evaluation")
    if evaluation_spec is None:
        return patient
    evaluated_on = today - datetime.timedelta(days=28)
    evaluated_at = timezone.now() - datetime.timedelta(days=28)
    services.consent_create(
        actor=nurse,
        patient=patient,
        form_version="KET-CONSENT v3 (2024)",
        signed_on=evaluated_on,
        witness="Siobhán Kelly, RN",
    )
    evaluation_spec = dict(evaluation_spec)
    sign = evaluation_spec.pop("sign", True)
    yes = set(evaluation_spec.pop("contraindications", []))
    evaluation = services.evaluation_create(
        actor=prescriber,
        patient=patient,
        evaluated_on=evaluated_on,
        contraindications={key: key in yes for key in CONTRAINDICATION_KEYS},
        **{**EVALUATION_TEXT, **evaluation_spec},
    )
    for instrument, answers in spec.get("scales", {}).items():
        services.assessment_create(
            actor=nurse,
            patient=patient,
            instrument=instrument,
            answers=answers,
            administered_at=evaluated_at,
            evaluation=evaluation,
        )
    if sign:
        services.evaluation_sign(actor=prescriber, evaluation=evaluation)
    return patient


def _acknowledge_alerts(patient: Patient, *, note: str, prescriber) -> None:
    """The prescriber acknowledges the patient's open safety alerts with a note."""
    for alert in patient.safety_alerts.filter(acknowledged_at__isnull=True):
        services.safety_alert_acknowledge(actor=prescriber, alert=alert, note=note)


def _break_glass(patient: Patient, *, reason: str, clinician) -> None:
    """The clinician, off the care team, opened the record with a reason (audited, as live)."""
    if BreakGlassAccess.objects.filter(user=clinician, patient=patient).exists():
        return
    grant = services.break_glass_open(actor=clinician, patient=patient, reason=reason)
    audit_record(
        action=AuditAction.BREAK_GLASS, user=clinician, obj=grant, detail=grant.reason[:400]
    )

"""The API's serializer base (``ehr.api.serializers.ModelSerializer``) answers what DRF
answers, with less work per record.

Every API serializer built on it, given a record of its model with the optional
relations both set and empty, must produce what DRF's own field-by-field loop
(``Serializer.to_representation``) produces from the same fields; and each
serializer instance must own its fields.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.relations import RelatedField
from rest_framework.test import APIRequestFactory

import patients.api.serializers
import reports.api.serializers
import sessions.api.serializers
from ehr.api.serializers import ModelSerializer, RelatedIdField
from ehr.models import AuditEvent
from tests.patients.factories import (
    AssessmentFactory,
    ConsentFactory,
    EvaluationFactory,
    SafetyAlertFactory,
)
from tests.reports.factories import released_summary
from tests.sessions.factories import (
    InfusionSessionFactory,
    MoodNoteFactory,
    SideEffectFactory,
    TreatmentCourseFactory,
    VitalSignFactory,
)

pytestmark = pytest.mark.django_db

API_MODULES = (patients.api.serializers, sessions.api.serializers, reports.api.serializers)


def _api_serializers() -> list[type[ModelSerializer]]:
    found, pending = [], list(ModelSerializer.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in {"patients", "sessions", "reports", "ehr"}:
            found.append(cls)
    return sorted(set(found), key=lambda cls: cls.__qualname__)


@pytest.fixture
def records(patient, prescriber, nurse, admin_user, referrer):
    """At least two records of every model an API serializer shows: one with its
    optional relations filled in, one with them empty."""
    course = TreatmentCourseFactory(patient=patient, ordered_by=prescriber)
    session = InfusionSessionFactory(course=course, nurse=nurse)
    InfusionSessionFactory(course=course, nurse=None, number=2)
    VitalSignFactory(session=session, recorded_by=nurse)
    VitalSignFactory(
        session=session, recorded_by=nurse, corrected_by=nurse, corrected_at=timezone.now()
    )
    SideEffectFactory(session=session, recorded_by=nurse)
    MoodNoteFactory(session=session, recorded_by=nurse)
    ConsentFactory(patient=patient, recorded_by=nurse)
    EvaluationFactory(patient=patient, evaluator=prescriber)
    AssessmentFactory(patient=patient, recorded_by=nurse)
    SafetyAlertFactory(patient=patient)
    released_summary(
        patient,
        prescriber,
        referrer,
        period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 3, 1),
    )
    AuditEvent.objects.create(user=None, action="read", object_type="patient")
    patient.referring_provider = None
    patient.responsible_prescriber = None
    patient.save()


def test_every_api_serializer_answers_what_drf_answers(records, admin_user):
    request = APIRequestFactory().get("/api/v1/")
    request.user = admin_user
    compared = []
    for cls in _api_serializers():
        model = cls.Meta.model
        instances = list(model.objects.all()[:5])
        if not instances:
            continue
        for instance in instances:
            serializer = cls(instance, context={"request": request})
            expected = serializers.Serializer.to_representation(serializer, instance)
            assert serializer.to_representation(instance) == expected, cls.__qualname__
            assert list(serializer.data) == list(expected), cls.__qualname__
        compared.append(cls.__qualname__)
    for name in (
        "PatientSerializer",
        "ReferredPatientSerializer",
        "SessionSerializer",
        "CourseSerializer",
        "EvaluationSerializer",
        "VitalSignSerializer",
        "SideEffectSerializer",
        "MoodNoteSerializer",
        "TreatmentSummarySerializer",
        "UserSerializer",
        "AuditEventSerializer",
        "ConsentSerializer",
        "AssessmentSerializer",
    ):
        assert name in compared


def test_each_serializer_instance_owns_its_fields(patient):
    first = patients.api.serializers.PatientSerializer()
    second = patients.api.serializers.PatientSerializer()
    first.fields["first_name"].label = "changed"
    assert second.fields["first_name"].label != "changed"
    assert first.fields["first_name"] is not second.fields["first_name"]


def test_a_dict_is_shown_through_drf(patient):
    serializer = patients.api.serializers.ConsentSerializer()
    data = {
        "id": 1,
        "patient": patient,
        "form_version": "v1",
        "signed_on": datetime.date(2026, 1, 2),
        "witness": "W",
        "recorded_by": None,
    }
    assert serializer.to_representation(data)["signed_on"] == "2026-01-02"


def test_fields_are_bound_to_their_own_serializer(patient, nurse):
    """A method field calls its own serializer (its own context), never an earlier one."""
    from sessions.api.serializers import SessionSerializer, VitalSignSerializer

    first = SessionSerializer(context={"marker": 1})
    second = SessionSerializer(context={"marker": 2})
    assert first.fields["patient"].parent is first
    assert second.fields["patient"].parent is second
    assert second.fields["start_blockers"].context["marker"] == 2
    # A list field's child belongs to that serializer's own list field.
    one, two = VitalSignSerializer(), VitalSignSerializer()
    assert one.fields["alerts"].child is not two.fields["alerts"].child
    assert two.fields["alerts"].child.parent is two.fields["alerts"]


def _api_serializer_classes() -> list[type[serializers.Serializer]]:
    """Every serializer of the API modules and every API ``ModelSerializer``."""
    classes = set(_api_serializers())
    for module in API_MODULES:
        classes.update(
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, serializers.Serializer)
            and value.__module__ == module.__name__
        )
    return sorted(classes, key=lambda cls: cls.__qualname__)


def _api_text_fields():
    """Every writable text field with a length limit of every API serializer."""
    for cls in _api_serializer_classes():
        for name, field in cls().fields.items():
            if (
                isinstance(field, serializers.CharField)
                and field.max_length is not None
                and not field.read_only
            ):
                yield f"{cls.__qualname__}.{name}", field


def test_every_limited_api_text_field_counts_the_text_as_sent():
    fields = dict(_api_text_fields())
    plain = sorted(name for name, field in fields.items() if type(field) is serializers.CharField)

    assert plain == []
    assert "PatientSerializer.first_name" in fields
    assert "AcknowledgeSerializer.note" in fields


@pytest.mark.parametrize(
    ("sent", "valid"),
    [
        ("x" * 150, True),
        (" " + "x" * 149, True),
        ("x" * 150 + " ", False),
        ("\t" + "x" * 150, False),
    ],
)
def test_a_column_s_length_limit_counts_whitespace_at_either_end(sent, valid):
    field = patients.api.serializers.PatientSerializer().fields["first_name"]

    if valid:
        assert field.run_validation(sent) == sent.strip()
    else:
        with pytest.raises(serializers.ValidationError) as refused:
            field.run_validation(sent)
        assert refused.value.detail == ["Ensure this field has no more than 150 characters."]


def test_no_api_relation_reads_an_empty_string_as_null():
    plain, relations = [], []
    for cls in _api_serializer_classes():
        for name, field in cls().fields.items():
            field = getattr(field, "child_relation", field)
            if isinstance(field, RelatedField) and not field.read_only:
                relations.append(f"{cls.__qualname__}.{name}")
                if not isinstance(field, RelatedIdField):
                    plain.append(f"{cls.__qualname__}.{name}")

    assert plain == []
    assert "ReferringProviderSerializer.user" in relations
    assert "SessionUpdateSerializer.nurse" in relations
    assert "PatientSerializer.referring_provider" in relations  # built from the model

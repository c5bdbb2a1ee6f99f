"""The baseline that response and remission are measured against, and the latest evaluation."""

import datetime

import pytest
from django.utils import timezone

from patients.selectors import baseline_scores, latest_signed_evaluation
from tests.patients.factories import AssessmentFactory, EvaluationFactory, make_session

pytestmark = pytest.mark.django_db


def days_ago(days):
    return timezone.now() - datetime.timedelta(days=days)


def test_latest_signed_evaluation_ignores_unsigned_ones(patient, prescriber):
    EvaluationFactory(patient=patient, signed_by=prescriber, evaluated_on=datetime.date(2024, 5, 1))
    newer = EvaluationFactory(
        patient=patient, signed_by=prescriber, evaluated_on=datetime.date(2025, 1, 6)
    )
    EvaluationFactory(patient=patient, evaluated_on=datetime.date(2025, 2, 1))

    assert latest_signed_evaluation(patient=patient) == newer


def test_no_signed_evaluation_means_none(patient):
    EvaluationFactory(patient=patient)

    assert latest_signed_evaluation(patient=patient) is None


def test_baseline_is_the_score_attached_to_the_latest_signed_evaluation(patient, prescriber):
    evaluation = EvaluationFactory(patient=patient)
    AssessmentFactory(patient=patient, instrument="GAD7", administered_at=days_ago(30))
    at_evaluation = AssessmentFactory(
        patient=patient, instrument="GAD7", evaluation=evaluation, administered_at=days_ago(20)
    )
    evaluation.signed_by, evaluation.signed_at = prescriber, timezone.now()
    evaluation.save()

    assert baseline_scores(patient=patient) == {"GAD7": at_evaluation}


def test_without_an_evaluation_score_the_earliest_before_the_first_session_counts(patient):
    first = AssessmentFactory(patient=patient, instrument="PHQ9", administered_at=days_ago(12))
    AssessmentFactory(patient=patient, instrument="PHQ9", administered_at=days_ago(11))
    make_session(patient=patient, scheduled_for=days_ago(10))
    AssessmentFactory(patient=patient, instrument="PCL5", administered_at=days_ago(2))

    baselines = baseline_scores(patient=patient)

    assert baselines == {"PHQ9": first}


def test_each_instrument_has_its_own_baseline(patient, prescriber):
    evaluation = EvaluationFactory(patient=patient)
    gad = AssessmentFactory(patient=patient, instrument="GAD7", evaluation=evaluation)
    phq = AssessmentFactory(patient=patient, instrument="PHQ9", administered_at=days_ago(40))
    evaluation.signed_by, evaluation.signed_at = prescriber, timezone.now()
    evaluation.save()

    assert baseline_scores(patient=patient) == {"GAD7": gad, "PHQ9": phq}

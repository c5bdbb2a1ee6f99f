"""What the PDF shows: any script, literal markup, long courses, charts, signature."""

import pytest

from patients.models import Patient
from reports import services
from reports.tasks import generate_summary
from tests.reports.factories import (
    START,
    assessment,
    at,
    given_course,
    queued_summary,
    signed_evaluation,
)
from tests.reports.pdf import pdf_pages, stored_pdf, unembedded_fonts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]

HOSTILE = "<font color=red>x</font> & <para> &amp; <b>unbalanced < and a lone &"


def _built(patient, prescriber, **fields):
    summary = queued_summary(patient, prescriber, **fields)
    generate_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == "ready", summary.error
    return summary


def _text(summary) -> str:
    return "\n".join(pdf_pages(stored_pdf(summary)))


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        ("Ζωή", "Παπαδοπούλου"),  # Greek
        ("Юлия", "Иванова"),  # Cyrillic
        ("李", "小龙"),  # Chinese
        ("さくら", "山田"),  # Japanese
        ("민수", "김"),  # Korean
        ("محمد", "عبدالله"),  # Arabic
        ("שרה", "כהן"),  # Hebrew
        ("Siobhán", "Ó Súilleabháin"),  # Latin with accents
    ],
)
def test_names_in_any_script_print_as_text(first_name, last_name, prescriber, nurse, patient):
    Patient.objects.filter(pk=patient.pk).update(first_name=first_name, last_name=last_name)
    patient.refresh_from_db()
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=2)

    text = _text(_built(patient, prescriber))

    # Right-to-left names are drawn in visual order; text extraction reads them back
    # in reading order, word by word.
    assert first_name in text
    assert last_name in text


def test_text_that_looks_like_markup_is_printed_literally(prescriber, nurse, patient):
    signed_evaluation(patient, prescriber, precautions=HOSTILE)
    given_course(patient, prescriber, nurse, sessions=1)

    summary = _built(patient, prescriber, comment=HOSTILE)

    text = _text(summary)
    assert text.count(HOSTILE) == 2  # the precautions and the clinician comment
    assert "Page 1 of" in text


def test_mixed_scripts_in_one_note_keep_every_character(prescriber, nurse, patient):
    comment = "Tolerated well; patient wrote 谢谢 and Спасибо, ευχαριστώ."
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=1)

    text = _text(_built(patient, prescriber, comment=comment))

    assert comment in text


def test_a_40_session_course_spans_pages_with_the_table_header_repeated(prescriber, nurse, patient):
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=40)

    summary = _built(patient, prescriber)

    pages = pdf_pages(stored_pdf(summary))
    assert summary.page_count == len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert str(summary.document_id) in page
        assert "Confidential" in page
    assert "Side effects (grade)" in pages[0]
    # The course continues on page 2 under a repeated header row.
    assert "Side effects (grade)" in pages[1]
    assert "Minutes" in pages[1]
    assert "Peak BP" in pages[1]
    assert patient.mrn in pages[1]
    rows_on_first = sum(1 for line in pages[0].splitlines() if "Completed" in line)
    assert 0 < rows_on_first < 40
    assert sum(1 for page in pages for line in page.splitlines() if "Completed" in line) == 40


def test_scale_chart_states_remission_from_the_baseline(prescriber, nurse, patient):
    evaluation = signed_evaluation(patient, prescriber)
    assessment(
        patient,
        prescriber,
        instrument="GAD7",
        answers=[3, 3, 2, 2, 2, 2, 2],  # 16, severe
        when=at(START, 8),
        evaluation=evaluation,
    )
    given_course(patient, prescriber, nurse, sessions=3)
    assessment(
        patient, nurse, instrument="GAD7", answers=[1, 1, 1, 1, 1, 1, 2], when=at(START, 11)
    )  # 8: a 50 % fall
    assessment(
        patient, nurse, instrument="GAD7", answers=[1, 1, 1, 1, 0, 0, 0], when=at(START, 15)
    )  # 4: below 5

    summary = _built(patient, prescriber)

    text = _text(summary)
    assert "GAD-7 total" in text
    assert "GAD-7 baseline 16 (severe) on 2026-01-05" in text
    assert "latest 4 (minimal)" in text
    assert "remission." in text
    assert summary.content["scales"][0]["points"][0] == ["2026-01-05", 16]
    assert [p[1] for p in summary.content["scales"][0]["points"]] == [16, 8, 4]


def test_a_whole_summary_with_cjk_names_embeds_every_font_it_uses(prescriber, nurse, patient):
    # Course table, chart, side effects and signature: nothing may fall back to a
    # font the viewer has to supply (a viewer without CJK fonts shows nothing).
    Patient.objects.filter(pk=patient.pk).update(first_name="小龍", last_name="李")
    patient.refresh_from_db()
    evaluation = signed_evaluation(patient, prescriber)
    assessment(
        patient,
        prescriber,
        instrument="GAD7",
        answers=[3, 3, 2, 2, 2, 2, 2],
        when=at(START, 8),
        evaluation=evaluation,
    )
    given_course(patient, prescriber, nurse, sessions=2)
    assessment(patient, nurse, instrument="GAD7", answers=[1, 1, 1, 1, 1, 1, 2], when=at(START, 11))
    summary = _built(patient, prescriber, comment="山田太郎 先生へ。김민준 선생님께.")
    draft = stored_pdf(summary)
    signed = stored_pdf(services.summary_sign(actor=prescriber, summary=summary))

    for document in (draft, signed):
        assert unembedded_fonts(document) == set()
        text = "\n".join(pdf_pages(document))
        for name in ("李", "小龍", "山田太郎", "김민준", "GAD-7 total"):
            assert name in text


def test_a_fall_of_half_the_baseline_is_stated_as_response(prescriber, nurse, patient):
    evaluation = signed_evaluation(patient, prescriber)
    assessment(
        patient,
        prescriber,
        instrument="PHQ9",
        answers=[2] * 9,  # 18
        when=at(START, 8),
        evaluation=evaluation,
    )
    given_course(patient, prescriber, nurse, sessions=2)
    assessment(patient, nurse, instrument="PHQ9", answers=[1] * 9, when=at(START, 12))  # 9

    text = _text(_built(patient, prescriber))

    assert "latest 9 (mild) on 2026-01-05: response." in text


def test_the_evaluation_summary_lists_contraindications_and_eligibility(prescriber, nurse, patient):
    from tests.patients.factories import no_contraindications

    signed_evaluation(
        patient,
        prescriber,
        contraindications=no_contraindications(active_substance_use_disorder=True),
        eligibility="eligible_with_precautions",
        precautions="Urine drug screen before each infusion.",
    )
    given_course(patient, prescriber, nurse, sessions=1)

    text = _text(_built(patient, prescriber))

    assert "Eligible with precautions" in text
    assert "All 10 screened; present: Active substance use disorder (relative)" in text
    assert "Urine drug screen before each infusion." in text


def test_side_effects_are_summarised_by_effect_and_worst_grade(prescriber, nurse, patient):
    from sessions.models import SideEffect

    signed_evaluation(patient, prescriber)
    sessions = given_course(patient, prescriber, nurse, sessions=3)
    SideEffect.objects.create(
        session=sessions[1],
        effect="headache",
        grade=1,
        onset_at=sessions[1].started_at,
        recorded_by=nurse,
    )

    summary = _built(patient, prescriber)

    assert summary.content["side_effects"] == [
        {"effect": "Nausea", "grade": "2"},
        {"effect": "Headache", "grade": "1"},
    ]
    assert "Headache" in _text(summary)


def test_signing_redraws_the_same_document_with_the_signature(
    prescriber, nurse, patient, private_storage, django_capture_on_commit_callbacks
):
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=2)
    summary = _built(patient, prescriber)
    draft_sha, draft_name = summary.sha256, summary.pdf.name

    with django_capture_on_commit_callbacks(execute=True):
        services.summary_sign(actor=prescriber, summary=summary)
    summary.refresh_from_db()

    text = _text(summary)
    assert "Signed electronically by Daniel Reyes on" in text
    assert "DRAFT" not in text
    assert str(summary.document_id) in text
    assert summary.sha256 != draft_sha
    assert summary.pdf.name != draft_name
    # The draft is gone: one document per request.
    assert list(private_storage.rglob("*.pdf")) == [private_storage / summary.pdf.name]

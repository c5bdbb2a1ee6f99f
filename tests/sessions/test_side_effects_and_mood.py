"""Side effects (serious adverse events from grade 3) and mood notes."""

import datetime

import pytest
from django.utils import timezone

from sessions.models import SideEffect
from tests.sessions.factories import MoodNoteFactory, SideEffectFactory

pytestmark = pytest.mark.django_db


def _side_effect(client, session, **values):
    body = {"effect": "nausea", "grade": 1, "onset_at": timezone.now().isoformat(), **values}
    return client.post(f"/api/v1/sessions/{session.pk}/side-effects/", body)


def _session(client, session):
    return client.get(f"/api/v1/sessions/{session.pk}/").json()


@pytest.mark.parametrize(("grade", "serious"), [(2, False), (3, True)])
def test_grade_3_and_above_marks_a_serious_adverse_event(
    api, nurse, running_session, grade, serious
):
    response = _side_effect(api(nurse), running_session, effect="hypertension", grade=grade)

    assert response.status_code == 201, response.json()
    assert response.json()["serious"] is serious
    assert _session(api(nurse), running_session)["serious_adverse_event"] is serious


def test_the_serious_flag_follows_a_corrected_grade(api, nurse, running_session):
    created = _side_effect(api(nurse), running_session, grade=3).json()
    url = f"/api/v1/sessions/{running_session.pk}/side-effects/{created['id']}/"

    response = api(nurse).patch(url, {"grade": 2})

    assert response.status_code == 200
    assert _session(api(nurse), running_session)["serious_adverse_event"] is False


def test_the_serious_flag_is_kept_in_the_sessions_history_as_a_whole_version(
    api, nurse, running_session
):
    versions = running_session.history.count()

    _side_effect(api(nurse), running_session, grade=3)

    assert running_session.history.count() == versions + 1
    latest = running_session.history.latest("history_id")
    assert latest.serious_adverse_event is True
    assert latest.history_user == nurse
    # Every field of the version, not only those charting reads.
    for field in ("status", "nurse_id", "total_dose_mg", "started_at", "pre_bp_systolic"):
        assert getattr(latest, field) == getattr(running_session, field), field


@pytest.mark.parametrize("grade", [0, 6])
def test_grade_is_1_to_5(api, nurse, running_session, grade):
    assert _side_effect(api(nurse), running_session, grade=grade).status_code == 400


def test_other_needs_a_description(api, nurse, running_session):
    refused = _side_effect(api(nurse), running_session, effect="other", other_text="  ")
    accepted = _side_effect(api(nurse), running_session, effect="other", other_text="Tinnitus")

    assert refused.status_code == 400
    assert "other_text" in refused.json()
    assert accepted.status_code == 201
    assert accepted.json()["effect_label"] == "Other: Tinnitus"


def test_an_unknown_effect_is_refused(api, nurse, running_session):
    assert _side_effect(api(nurse), running_session, effect="itching").status_code == 400


def test_resolution_cannot_precede_the_onset(api, nurse, running_session):
    onset = timezone.now() - datetime.timedelta(minutes=5)

    response = _side_effect(
        api(nurse),
        running_session,
        onset_at=onset.isoformat(),
        resolved_at=(onset - datetime.timedelta(minutes=1)).isoformat(),
    )

    assert response.status_code == 400
    assert "resolved_at" in response.json()


def test_resolution_recorded_later_with_the_intervention(api, nurse, running_session):
    onset = timezone.now() - datetime.timedelta(minutes=10)
    created = _side_effect(api(nurse), running_session, onset_at=onset.isoformat()).json()

    response = api(nurse).patch(
        f"/api/v1/sessions/{running_session.pk}/side-effects/{created['id']}/",
        {"resolved_at": timezone.now().isoformat(), "intervention": "Ondansetron 4 mg IV"},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["intervention"] == "Ondansetron 4 mg IV"
    assert SideEffect.objects.get().resolved_at is not None


def test_a_side_effect_in_the_future_is_refused(api, nurse, running_session):
    later = timezone.now() + datetime.timedelta(minutes=10)

    assert _side_effect(api(nurse), running_session, onset_at=later.isoformat()).status_code == 400


# Mood notes


def _mood(client, session, **values):
    body = {
        "recorded_at": timezone.now().isoformat(),
        "phase": "pre",
        "mood": 4,
        "anxiety": 6,
        **values,
    }
    return client.post(f"/api/v1/sessions/{session.pk}/mood-notes/", body)


@pytest.mark.parametrize("phase", ["pre", "during", "post"])
def test_mood_notes_in_each_phase(api, nurse, running_session, phase):
    response = _mood(api(nurse), running_session, phase=phase)

    assert response.status_code == 201
    assert response.json()["phase"] == phase


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("mood", -1, False),
        ("mood", 0, True),
        ("mood", 10, True),
        ("mood", 11, False),
        ("anxiety", -1, False),
        ("anxiety", 0, True),
        ("anxiety", 10, True),
        ("anxiety", 11, False),
    ],
)
def test_mood_and_anxiety_are_0_to_10(api, nurse, running_session, field, value, ok):
    response = _mood(api(nurse), running_session, **{field: value})

    assert (response.status_code == 201) is ok


def test_mood_note_text_of_any_length_and_script(api, nurse, running_session):
    text = ("Felt 'floaty' then calm — 平静した. شعرت بالهدوء. Ça va mieux. " * 400).strip()

    response = _mood(api(nurse), running_session, phase="post", text=text)

    assert response.status_code == 201
    listed = api(nurse).get(f"/api/v1/sessions/{running_session.pk}/mood-notes/").json()
    assert listed["results"][0]["text"] == text


def test_an_unknown_phase_is_refused(api, nurse, running_session):
    assert _mood(api(nurse), running_session, phase="after").status_code == 400


# List endpoints stay at a constant number of queries


@pytest.mark.parametrize(
    ("factory", "path"),
    [(SideEffectFactory, "side-effects"), (MoodNoteFactory, "mood-notes")],
)
def test_list_query_count_does_not_grow_with_the_page(
    api, nurse, running_session, django_assert_max_num_queries, factory, path
):
    url = f"/api/v1/sessions/{running_session.pk}/{path}/"
    factory.create_batch(2, session=running_session, recorded_by=nurse)
    client = api(nurse)
    with django_assert_max_num_queries(12) as small:
        client.get(url)
    factory.create_batch(20, session=running_session, recorded_by=nurse)

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)

    assert response.json()["count"] == 22

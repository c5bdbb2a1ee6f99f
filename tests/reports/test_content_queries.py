"""Reading the records for a summary costs the same number of queries for any course length."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.content import summary_content
from tests.reports.factories import START, given_course, queued_summary, signed_evaluation


def _content_and_queries(summary):
    with CaptureQueriesContext(connection) as queries:
        content = summary_content(summary=summary)
    return content, len(queries.captured_queries)


def test_the_summary_reads_a_fixed_number_of_queries_for_2_or_12_sessions(
    patient, prescriber, nurse
):
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=2)
    summary = queued_summary(patient, prescriber)

    short, short_queries = _content_and_queries(summary)
    given_course(patient, prescriber, nurse, sessions=10, start=START + datetime.timedelta(days=30))
    long, long_queries = _content_and_queries(summary)

    assert len(short["course_rows"]) == 2
    assert len(long["course_rows"]) == 12
    # Every row still shows its own flowsheet: peak pressure, mood and dissociation.
    assert all(row["peak_bp"] and row["mood"] and row["cadss"] for row in long["course_rows"])
    assert long_queries == short_queries
    assert long_queries <= 11


def test_a_generation_costs_a_fixed_number_of_queries_and_reads_the_requester_with_the_lease(
    patient, prescriber, nurse, private_storage
):
    from reports.services import summary_generate

    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=2)
    short = queued_summary(patient, prescriber)
    with CaptureQueriesContext(connection) as short_queries:
        summary_generate(summary_id=short.pk)
    given_course(patient, prescriber, nurse, sessions=10, start=START + datetime.timedelta(days=30))
    long = queued_summary(patient, prescriber)
    with CaptureQueriesContext(connection) as long_queries:
        summary_generate(summary_id=long.pk)

    long.refresh_from_db()
    assert len(long.content["course_rows"]) == 12
    assert len(long_queries.captured_queries) == len(short_queries.captured_queries)
    users = [q["sql"] for q in long_queries.captured_queries if 'FROM "ehr_user"' in q["sql"]]
    assert users == [], "the requester comes with the leased row, not in a query of its own"

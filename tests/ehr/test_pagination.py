"""API pagination: counts, links and pages stay right whether or not the list fits on its
first page (a list that fits is counted without a COUNT query)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _count_queries(queries) -> int:
    return sum("COUNT(" in query["sql"].upper() for query in queries)


@pytest.mark.parametrize(("patients", "page_size"), [(3, 5), (5, 5), (6, 5), (12, 5), (12, None)])
def test_first_page_count_and_links(api, admin_user, patients, page_size):
    for number in range(patients):
        PatientFactory(last_name=f"Paged{number:02d}", care_team=[])
    client = api(admin_user)
    params = {"page_size": page_size} if page_size else {}
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/v1/patients/", params).json()
    size = page_size or 50
    assert body["count"] == patients
    assert [row["last_name"] for row in body["results"]] == [
        f"Paged{number:02d}" for number in range(min(patients, size))
    ]
    assert body["previous"] is None
    assert (body["next"] is not None) == (patients > size)
    # Counted by its length when the whole list fits on the page; a COUNT otherwise.
    assert _count_queries(queries.captured_queries) == (1 if patients > size else 0)


def test_later_pages_and_the_end(api, admin_user):
    for number in range(12):
        PatientFactory(last_name=f"Paged{number:02d}", care_team=[])
    client = api(admin_user)
    second = client.get("/api/v1/patients/", {"page_size": 5, "page": 2}).json()
    assert second["count"] == 12
    assert [row["last_name"] for row in second["results"]] == [
        f"Paged{number:02d}" for number in range(5, 10)
    ]
    first = client.get("/api/v1/patients/", {"page_size": 5, "page": 1}).json()
    assert next(row["last_name"] for row in first["results"]) == "Paged00"
    last = client.get("/api/v1/patients/", {"page_size": 5, "page": "last"}).json()
    assert [row["last_name"] for row in last["results"]] == ["Paged10", "Paged11"]
    assert client.get("/api/v1/patients/", {"page_size": 5, "page": 4}).status_code == 404
    assert client.get("/api/v1/patients/", {"page": 2}).status_code == 404

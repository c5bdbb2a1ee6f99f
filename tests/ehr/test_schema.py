"""The OpenAPI schema tells the truth about what every endpoint can answer."""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        if path.startswith("/api/v1/") and path != "/api/v1/auth/token/":
            for method in METHODS:
                if method in item:
                    yield path, method, item[method]


def is_paginated_list(operation) -> bool:
    return any(p["name"] == "page" for p in operation.get("parameters", []))


def test_every_clinic_endpoint_documents_sign_in_and_role_refusals(schema):
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if not {"401", "403"} <= set(operation["responses"])
    ]
    assert missing == []


def test_every_endpoint_with_an_id_documents_404(schema):
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if "{" in path and "404" not in operation["responses"]
    ]
    assert missing == []


def test_every_list_documents_a_bad_filter_and_a_page_past_the_end(schema):
    lists = [(path, op) for path, method, op in operations(schema) if is_paginated_list(op)]

    assert len(lists) > 10
    for path, operation in lists:
        assert {"400", "404"} <= set(operation["responses"]), path
        page = next(p for p in operation["parameters"] if p["name"] == "page")
        assert page["schema"]["minimum"] == 1, path


def test_every_write_documents_invalid_input_and_takes_json_only(schema):
    for path, method, operation in operations(schema):
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], path
            assert {"400", "415"} <= set(operation["responses"]), f"{method.upper()} {path}"


def test_a_form_encoded_body_is_refused_with_415(api, nurse, patient):
    response = api(nurse).post(
        "/api/v1/consents/",
        {"patient": patient.pk, "form_version": "v3", "signed_on": "2024-01-02", "witness": "A"},
        format="multipart",
    )

    assert response.status_code == 415


def test_the_token_endpoint_documents_the_415_it_gives_a_body_it_cannot_read(schema, client):
    operation = schema["paths"]["/api/v1/auth/token/"]["post"]

    response = client.post("/api/v1/auth/token/", "username=a", content_type="text/plain")

    assert response.status_code == 415
    assert "415" in operation["responses"]


def test_page_zero_and_a_page_past_the_end_are_404(api, nurse, patient):
    client = api(nurse)

    assert client.get("/api/v1/patients/?page=1").status_code == 200
    assert client.get("/api/v1/patients/?page=0").status_code == 404
    assert client.get("/api/v1/patients/?page=2").status_code == 404


@pytest.mark.parametrize(("page_size", "status"), [("abc", 400), ("false", 400), ("2", 200)])
def test_a_page_size_that_is_not_a_whole_number_is_400(api, nurse, patient, page_size, status):
    response = api(nurse).get("/api/v1/patients/", {"page_size": page_size})

    assert response.status_code == status
    if status == 400:
        assert "page_size" in response.json()


def test_a_page_size_out_of_range_falls_back_to_the_limits(api, nurse, patient):
    client = api(nurse)

    assert client.get("/api/v1/patients/", {"page_size": "0"}).status_code == 200
    assert client.get("/api/v1/patients/", {"page_size": "1000"}).status_code == 200


def test_the_summary_pdf_url_is_documented_as_the_path_it_is(schema):
    pdf_url = schema["components"]["schemas"]["TreatmentSummary"]["properties"]["pdf_url"]

    assert (pdf_url["type"], pdf_url["format"], pdf_url["nullable"]) == (
        "string",
        "uri-reference",
        True,
    )


def test_a_decimal_pattern_needs_a_digit_like_the_field(schema):
    weight = schema["components"]["schemas"]["EvaluationRequest"]["properties"]["weight_kg"]
    pattern = re.compile(weight["pattern"])

    assert [bool(pattern.match(v)) for v in ("72.5", "72.", ".5", "300", "", "-", "72.55")] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_the_amendment_list_takes_no_evaluation_filters(schema):
    operation = schema["paths"]["/api/v1/evaluations/{id}/amendments/"]["get"]

    assert [p["name"] for p in operation["parameters"]] == ["id"]


def test_an_empty_query_parameter_is_documented_as_allowed(schema):
    operation = schema["paths"]["/api/v1/sessions/"]["get"]

    assert all(p["allowEmptyValue"] for p in operation["parameters"] if p["in"] == "query")


@pytest.mark.parametrize(
    ("url", "value", "status"),
    [
        ("/api/v1/users/", "true", 200),
        ("/api/v1/users/", "", 200),
        ("/api/v1/users/", "-11012", 400),
        ("/api/v1/evaluations/", "yes please", 400),
    ],
)
def test_a_boolean_filter_that_is_not_true_or_false_is_400(
    api, admin_user, prescriber, url, value, status
):
    user = admin_user if "users" in url else prescriber
    name = "is_active" if "users" in url else "signed"

    response = api(user).get(url, {name: value})

    assert response.status_code == status, response.json()
    if status == 400:
        assert name in response.json()


def test_a_password_keeps_its_spaces_and_its_length_limit(api, admin_user):
    client = api(admin_user)
    base = {"username": "nurse_new", "role": "nurse"}

    too_long = client.post("/api/v1/users/", {**base, "password": "x" + " " * 128})
    created = client.post("/api/v1/users/", {**base, "password": " pass phrase "})

    assert too_long.status_code == 400
    assert "password" in too_long.json()
    assert created.status_code == 201
    from ehr.models import User

    assert User.objects.get(username="nurse_new").check_password(" pass phrase ")

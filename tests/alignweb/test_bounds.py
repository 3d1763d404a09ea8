"""Every number a user can send is range-checked at the boundary (alignweb/bounds.py):
query parameters, raw POST keys, pagination, request bodies and forms; no input is a 500."""

from __future__ import annotations

import importlib

import pytest
from django import forms
from django.core.validators import DecimalValidator, MaxValueValidator, MinValueValidator
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from alignweb.bounds import OutOfBounds, parse_int
from coding.models import Event, Item
from coding.services import study_lock, study_open, study_unblind
from tests.coding.conftest import make_records

HUGE = "9" * 5000  # past Python's 4,300-digit int() limit
PAST_BIGINT = str(2**64)


@pytest.mark.parametrize(
    ("raw", "expected"), [("0", 0), (" 42 ", 42), ("+7", 7), ("-3", -3), (12, 12)]
)
def test_parse_int_accepts_plain_whole_numbers(raw, expected):
    assert parse_int(raw, low=-10, high=100) == expected


@pytest.mark.parametrize(
    "raw", ["", "x", "1.5", "1e3", "٣", "１", True, None, 1.0, "101", "-11", HUGE, "9" * 20]
)
def test_parse_int_refuses_everything_else(raw):
    with pytest.raises(OutOfBounds):
        parse_int(raw, low=-10, high=100)


@pytest.fixture
def lead_api(personas) -> APIClient:
    from coding.services import items_import

    items_import(study=personas.study, records=make_records(3), by=personas.lead)
    api = APIClient()
    api.force_login(personas.lead)
    return api


def _paginated_list_urls(study_id: int) -> list[str]:
    """Every GET operation whose documented parameters include ``limit``."""
    schema = SchemaGenerator(patterns=None).get_schema(request=None, public=True)
    urls = []
    for path, operations in schema["paths"].items():
        params = {p["name"] for p in operations.get("get", {}).get("parameters", [])}
        if "limit" in params:
            urls.append(path.replace("{study_id}", str(study_id)))
    return urls


def test_limit_beyond_bigint_on_every_paginated_list_is_capped(personas, lead_api):
    urls = _paginated_list_urls(personas.study.pk)
    assert len(urls) >= 6, urls
    for url in urls:
        for limit in (PAST_BIGINT, HUGE, "2147483648"):
            response = lead_api.get(url, {"limit": limit, "offset": PAST_BIGINT})
            assert response.status_code < 500, (url, limit, response.status_code)
        page = lead_api.get(url, {"limit": PAST_BIGINT})
        if page.status_code == 200:  # some lists are role-gated (404 for this lead)
            assert page.json()["results"] is not None
    items = lead_api.get(f"/api/v1/studies/{personas.study.pk}/items/", {"limit": PAST_BIGINT})
    assert items.status_code == 200 and len(items.json()["results"]) == 3


@pytest.mark.parametrize("value", [HUGE, PAST_BIGINT, "-1", "0", "1.5", "x"])
def test_integer_query_parameters_are_400_not_500(personas, lead_api, value):
    study = personas.study.pk
    checks = [
        f"/api/v1/studies/{study}/exports/events/?upto={value}",
        f"/api/v1/studies/{study}/reconciliation/?min_spread={value}",
    ]
    for url in checks:
        response = lead_api.get(url)
        assert response.status_code == 400, (url, response.status_code)
    page = lead_api.get(reverse("coding:export-csv", args=[study, "events"]), {"upto": value})
    assert page.status_code == 400
    queue = lead_api.get(reverse("coding:reconcile-queue", args=[study]), {"min_spread": value})
    assert queue.status_code == 200  # a forgiving filter: falls back to the default


def test_in_range_upto_still_works(personas, lead_api):
    last = Event.objects.order_by("-pk").first().pk
    response = lead_api.get(f"/api/v1/studies/{personas.study.pk}/exports/events/?upto={last}")
    assert response.status_code == 200


def test_expected_id_of_thousands_of_digits_is_400(personas, lead_api, client):
    study_open(study=personas.study, by=personas.lead)
    item = Item.objects.filter(study=personas.study).first()
    client.force_login(personas.adjudicator)
    url = reverse("coding:reconcile-item", args=[personas.study.pk, item.public_code])
    for value in (HUGE, PAST_BIGINT, "-5"):
        response = client.post(url, {"value_D1": "1", "expected_D1": value})
        assert response.status_code == 400, (value, response.status_code)
    api = APIClient()
    api.force_login(personas.adjudicator)
    decide = f"/api/v1/studies/{personas.study.pk}/reconciliation/{item.public_code}/decide/"
    for body in (
        '{"dimension": "D1", "value": 1, "expected_id": ' + HUGE + "}",
        '{"dimension": "D1", "value": 1, "expected_id": ' + PAST_BIGINT + "}",
        '{"dimension": "D1", "value": ' + PAST_BIGINT + "}",
    ):
        response = api.post(decide, body, content_type="application/json")
        assert response.status_code == 400, (body[:60], response.status_code)


def test_nul_in_reason_is_400(personas, lead_api):
    study = personas.study
    study_open(study=study, by=personas.lead)
    study_lock(study=study, by=personas.lead, override=True, reason="done")
    study_unblind(study=study, by=personas.lead, reason="analysis")
    code = Item.objects.filter(study=study).first().public_code
    url = f"/api/v1/studies/{study.pk}/items/{code}/key/"
    assert lead_api.get(url, {"reason": "a\x00b"}).status_code == 400
    assert lead_api.get(url, {"reason": "check"}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "R", "dimensions": [], "description": "\\ud800"}',
        '{"name": "R\\u0000", "dimensions": []}',
        '{"name": "R", "dimensions": [], "x": 1e400}',
        '{"name": "R", "version": 1e400, "dimensions": []}',
        '{"name": "R", "version": NaN, "dimensions": []}',
    ],
)
def test_json_bodies_postgresql_cannot_store_are_400(lead_api, body):
    response = lead_api.post("/api/v1/rubrics/", body, content_type="application/json")
    assert response.status_code == 400, response.content


# --- every integer a client can send is bounded ------------------------------------------------


def _request_body_integers(node, where: str, found: list[str]) -> None:
    if isinstance(node, dict):
        integer = node.get("type") == "integer" and not node.get("readOnly")
        if integer and ("minimum" not in node or "maximum" not in node):
            found.append(where)
        for key, value in node.items():
            _request_body_integers(value, f"{where}.{key}", found)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _request_body_integers(value, f"{where}[{i}]", found)


def test_every_integer_in_an_api_request_body_has_a_minimum_and_maximum():
    schema = SchemaGenerator(patterns=None).get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    request_schemas = set()
    for operations in schema["paths"].values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                ref = media["schema"].get("$ref", "")
                request_schemas.add(ref.rsplit("/", 1)[-1])
    # Nested write serializers are referenced from the top-level ones.
    pending, seen = list(request_schemas), set()
    unbounded: list[str] = []
    while pending:
        name = pending.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        body = components[name]
        _request_body_integers(body, name, unbounded)
        text = str(body)
        pending += [c for c in components if f"'#/components/schemas/{c}'" in text]
    assert len(seen) >= 10, sorted(seen)
    assert not unbounded, unbounded


def _project_forms() -> list[type[forms.BaseForm]]:
    for module in (
        "coding.forms",
        "transcripts.forms",
        "audit.forms",
        "alignweb.auth",
    ):
        importlib.import_module(module)
    found, pending = [], [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.split(".")[0] in {"coding", "transcripts", "audit", "alignweb"}:
            found.append(cls)
    return found


def test_every_integer_form_field_is_bounded():
    unbounded = []
    forms_found = _project_forms()
    assert len(forms_found) >= 8
    for form in forms_found:
        for name, field in form.base_fields.items():
            if not isinstance(field, forms.IntegerField):
                continue
            validators = list(field.validators)
            if issubclass(form, forms.ModelForm) and name in form._meta.fields:
                # ModelForm: the model's own range validators run in full_clean().
                validators += form._meta.model._meta.get_field(name).validators
            kinds = {type(v) for v in validators}
            if not ({MinValueValidator, MaxValueValidator} <= kinds or DecimalValidator in kinds):
                unbounded.append(f"{form.__module__}.{form.__name__}.{name}")
    assert not unbounded, unbounded


def test_non_finite_number_in_a_json_field_is_400(lead_api):
    body = (
        '{"name": "e", "provider": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", '
        '"model": "m", "default_params": {"t": 1e400}}'
    )
    response = lead_api.post("/api/v1/generation/endpoints/", body, content_type="application/json")
    assert response.status_code == 400, response.content


@pytest.mark.parametrize(("limit", "expected"), [(PAST_BIGINT, 1000), ("5000", 1000), ("7", 7)])
def test_pagination_serves_at_most_max_limit(limit, expected):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from alignweb.pagination import BoundedLimitOffsetPagination

    request = Request(APIRequestFactory().get("/", {"limit": limit}))
    assert BoundedLimitOffsetPagination().get_limit(request) == expected

"""Shared by the tests of test_api_matrix.py and others."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from coding.services import rubric_export
from tests.coding.conftest import as_jsonl, full_values, make_records

PERSONAS = ("anonymous", "outsider", "coder_a", "coder_b", "adjudicator", "lead", "other_lead")


METHODS = ("get", "post", "put", "patch", "delete")


OWNED_MODULES = ("coding.", "audit.")


ANON = "anon"  # placeholder: anonymous gets 401 or 403 (which depends on the auth classes)


def allow(**codes: int) -> dict[str, int | str]:
    """Expected statuses: the given personas as stated, anonymous refused, everyone else 404."""
    row: dict[str, int | str] = {p: 404 for p in PERSONAS}
    row["anonymous"] = ANON
    row.update(codes)
    return row


CODERS = {"coder_a": 200, "coder_b": 200}  # k = 2 with two coders: every item is theirs


CREATORS = {"lead": 200, "other_lead": 200}  # staff and leads of any study


# (url name, method) -> persona -> status. Write endpoints name the status a correct body
# gets, so a 404 for the right role (or a 2xx for the wrong one) shows up.
EXPECTED: dict[tuple[str, str], dict[str, int | str]] = {
    ("api-study-list", "get"): allow(
        outsider=200, coder_a=200, coder_b=200, adjudicator=200, lead=200, other_lead=200
    ),
    ("api-study-list", "post"): allow(lead=201, other_lead=201),
    ("api-study-detail", "get"): allow(coder_a=200, coder_b=200, adjudicator=200, lead=200),
    ("api-study-open", "post"): allow(lead=409),  # already open
    ("api-study-members", "get"): allow(lead=200),
    ("api-study-members", "post"): allow(lead=201),
    ("api-study-import", "post"): allow(lead=201),
    ("api-item-list", "get"): allow(lead=200),
    ("api-item-detail", "get"): allow(lead=200),
    ("api-item-key", "get"): allow(lead=403),  # the door: sealed to the lead until unblinding
    ("api-my-assignments", "get"): allow(**CODERS),
    ("api-my-next", "get"): allow(**CODERS),
    ("api-my-assignment", "get"): allow(**CODERS),
    ("api-my-draft", "post"): allow(**CODERS),
    ("api-my-draft", "patch"): allow(**CODERS),
    ("api-my-submit", "post"): allow(**CODERS),
    # An items study has no pairs: the coder's pair list is empty, a pair code is a 404.
    ("api-my-pairs", "get"): allow(**CODERS),
    ("api-my-next-pair", "get"): allow(coder_a=204, coder_b=204),
    ("api-my-pair", "get"): allow(),
    ("api-my-pair-submit", "post"): allow(),
    ("api-position-bias", "get"): allow(lead=200),
    ("api-study-rankings", "get"): allow(lead=409),  # not unblinded
    ("api-rubric-list", "get"): allow(**CREATORS),
    ("api-rubric-list", "post"): allow(lead=201, other_lead=201),
    ("api-rubric", "get"): allow(**CREATORS),
    ("api-rubric-export", "get"): allow(**CREATORS),
    ("api-study-agreement", "get"): allow(lead=200),
    ("api-reconcile-queue", "get"): allow(adjudicator=200, lead=200),
    ("api-reconcile-auto", "post"): allow(adjudicator=200, lead=200),
    ("api-reconcile-item", "get"): allow(adjudicator=200, lead=200),
    ("api-reconcile-decide", "post"): allow(adjudicator=400, lead=400),  # still being coded
    ("api-study-lock", "post"): allow(lead=200),  # with override and a reason
    ("api-study-unblind", "post"): allow(lead=409),  # not locked yet
    ("api-condition-key", "get"): allow(lead=403),  # sealed (the door)
    ("api-export-csv", "get"): allow(lead=200),
    ("api-export-provenance", "get"): allow(lead=200),
    # issue 18: gold, qualification, quality, drift (lead); feedback only for submitted gold
    ("api-my-feedback", "get"): allow(),
    ("api-gold", "get"): allow(lead=200),
    ("api-gold", "post"): allow(lead=200),
    ("api-quality-settings", "get"): allow(lead=200),
    ("api-quality-settings", "put"): allow(lead=200),
    ("api-qualification", "get"): allow(lead=200),
    ("api-qualification-retry", "post"): allow(lead=400),  # no qualification round
    ("api-study-quality", "get"): allow(lead=200),
    ("api-study-drift", "get"): allow(lead=200),
}


@dataclass
class Route:
    route: str
    name: str
    pattern: URLPattern

    @property
    def view_class(self) -> type:
        return self.pattern.callback.cls

    @property
    def methods(self) -> list[str]:
        return [m for m in METHODS if hasattr(self.view_class, m)]

    @property
    def owned(self) -> bool:
        return self.view_class.__module__.startswith(OWNED_MODULES)


def api_routes() -> list[Route]:
    """Every URL pattern under /api/v1/, from the resolver."""

    def walk(patterns: list, prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p

    return [
        Route(route, p.name, p)
        for route, p in walk(get_resolver().url_patterns, "")
        if route.startswith("api/v1/")
    ]


def _bodies(p, code: str) -> dict[tuple[str, str], Callable[[], dict[str, Any]]]:
    """Keyword arguments for the client call of each write (a fresh body per request)."""
    study = p.study
    rubric = rubric_export(rubric=study.rubric)
    return {
        ("api-study-list", "post"): lambda: {
            "data": {"name": "Matrix study", "rubric": study.rubric_id},
            "format": "json",
        },
        ("api-study-open", "post"): lambda: {},
        ("api-study-members", "post"): lambda: {
            "data": {"username": "outsider", "role": "coder"},
            "format": "json",
        },
        ("api-study-import", "post"): lambda: {
            "data": {"file": SimpleUploadedFile("m.jsonl", as_jsonl(make_records(2, prefix="mx")))},
            "format": "multipart",
        },
        ("api-my-draft", "post"): lambda: {
            "data": {"version": 0, "scores": {"D1": {"value": 1}}},
            "format": "json",
        },
        ("api-my-draft", "patch"): lambda: {
            "data": {"version": 0, "scores": {"D1": {"value": 2, "rationale": "x"}}},
            "format": "json",
        },
        ("api-my-submit", "post"): lambda: {
            "data": {"version": 0, "scores": full_values(study)},
            "format": "json",
        },
        ("api-reconcile-decide", "post"): lambda: {
            "data": {"dimension": "D1", "value": 1, "method": "adjudicated", "note": "n"},
            "format": "json",
        },
        ("api-study-lock", "post"): lambda: {
            "data": {"override": True, "reason": "matrix"},
            "format": "json",
        },
        ("api-study-unblind", "post"): lambda: {"data": {"reason": "matrix"}, "format": "json"},
        ("api-gold", "post"): lambda: {
            "data": {"item": code, "expected": {d.code: 1 for d in study.rubric.dimensions.all()}},
            "format": "json",
        },
        ("api-quality-settings", "put"): lambda: {
            "data": {
                "gold_rate": 10,
                "training": True,
                "qualification_items": 0,
                "pass_kappa": 0.6,
            },
            "format": "json",
        },
        ("api-qualification-retry", "post"): lambda: {
            "data": {"coder": "coder_a"},
            "format": "json",
        },
        ("api-rubric-list", "post"): lambda: {
            "data": {**rubric, "name": "Matrix rubric"},
            "format": "json",
        },
    }


def _kwargs(p, code: str) -> dict[str, Any]:
    return {"study_id": p.study.pk, "code": code, "rubric_id": p.study.rubric_id, "kind": "long"}


def _clients(p) -> dict[str, APIClient]:
    clients = {"anonymous": APIClient()}
    for name in PERSONAS[1:]:
        clients[name] = APIClient()
        clients[name].force_login(getattr(p, name))
    return clients


def _call(client: APIClient, method: str, url: str, body: dict[str, Any]) -> int:
    """One request inside a savepoint that is rolled back: no persona sees another's writes."""
    with transaction.atomic():
        response = getattr(client, method)(url, **body)
        transaction.set_rollback(True)
    return response.status_code


def _matches(expected: int | str, actual: int) -> bool:
    return actual in (401, 403) if expected == ANON else actual == expected

"""Access-control matrix for the REST API: every /api/v1/ route x method x persona.

The routes come from the URL resolver, so an endpoint added to coding/ or audit/ without
a row in ``EXPECTED`` fails ``test_every_api_route_has_expectations``, and a row for a
route that no longer exists fails too. Each request runs in a rolled-back savepoint, so
every persona meets the same state (the personas' open study, k = 2, nothing submitted).

Routes of other apps (transcripts) are owned and matrix-tested by those apps; here they
only get the baseline check that anonymous requests are refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from coding.models import Assignment
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


def test_every_api_route_has_expectations():
    routes = api_routes()
    owned = {(r.name, m) for r in routes if r.owned for m in r.methods}
    assert all(r.name for r in routes if r.owned), "every API route needs a name"
    missing = sorted(owned - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - owned)
    assert not missing, f"API routes without an access-control expectation: {missing}"
    assert not stale, f"expectations for routes/methods that do not exist: {stale}"


# --- request bodies ----------------------------------------------------------------------------


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


def test_access_matrix(open_study):
    p = open_study
    code = (
        Assignment.objects.filter(item__study=p.study, coder=p.coder_a)
        .order_by("position")
        .first()
        .item.public_code
    )
    kwargs, bodies, clients = _kwargs(p, code), _bodies(p, code), _clients(p)
    failures = []
    checked = 0
    for route in api_routes():
        if not route.owned:
            continue
        url = reverse(route.name, kwargs={k: kwargs[k] for k in route.pattern.pattern.converters})
        for method in route.methods:
            body = bodies.get((route.name, method), lambda: {})
            for persona, expected in EXPECTED.get((route.name, method), {}).items():
                actual = _call(clients[persona], method, url, body())
                checked += 1
                if not _matches(expected, actual):
                    failures.append(f"{method.upper()} {url} as {persona}: {actual} != {expected}")
    assert checked >= len(EXPECTED) * len(PERSONAS)
    assert not failures, "\n".join(failures)


def test_other_apps_api_routes_refuse_anonymous(db):
    """Baseline for routes owned elsewhere: nothing under /api/v1/ answers anonymously."""
    client = APIClient()
    placeholders = {
        "int": 1,
        "str": "x",
        "slug": "x",
        "uuid": "00000000-0000-0000-0000-000000000000",
    }
    for route in api_routes():
        if route.owned:
            continue
        kwargs = {
            name: placeholders.get(type(conv).__name__.replace("Converter", "").lower(), 1)
            for name, conv in route.pattern.pattern.converters.items()
        }
        url = reverse(route.name, kwargs=kwargs)
        for method in route.methods:
            status = _call(client, method, url, {})
            assert status in (401, 403), (method, url, status)


def test_wrong_study_ids_and_codes_are_404_for_the_lead(open_study):
    """The lead of this study gets 404 for the other study's objects and unknown codes."""
    p = open_study
    client = APIClient()
    client.force_login(p.lead)
    other = p.other_study.pk
    for url in (
        f"/api/v1/studies/{other}/",
        f"/api/v1/studies/{other}/items/",
        f"/api/v1/studies/{other}/members/",
        f"/api/v1/studies/{other}/agreement/",
        f"/api/v1/studies/{p.study.pk}/items/NOPE-00/",
        f"/api/v1/studies/{p.study.pk}/items/NOPE-00/key/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert json.loads(response.content) == {"detail": response.json()["detail"]}


@pytest.mark.parametrize("persona", ["outsider", "adjudicator", "lead", "other_lead"])
def test_404_bodies_reveal_nothing(open_study, persona):
    """A non-member's 404 is the same whether or not the object exists."""
    p = open_study
    client = APIClient()
    client.force_login(getattr(p, persona))
    code = Assignment.objects.filter(item__study=p.study).first().item.public_code
    real = client.get(f"/api/v1/studies/{p.study.pk}/my-assignments/{code}/")
    fake = client.get(f"/api/v1/studies/{p.study.pk}/my-assignments/ZZZ-ZZZ/")
    assert real.status_code == fake.status_code == 404
    assert real.content == fake.content

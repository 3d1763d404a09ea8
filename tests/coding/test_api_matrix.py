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

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from coding.models import Assignment
from tests.coding.api_matrix import (
    EXPECTED,
    PERSONAS,
    _bodies,
    _call,
    _clients,
    _kwargs,
    _matches,
    api_routes,
)


def test_every_api_route_has_expectations():
    routes = api_routes()
    owned = {(r.name, m) for r in routes if r.owned for m in r.methods}
    assert all(r.name for r in routes if r.owned), "every API route needs a name"
    missing = sorted(owned - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - owned)
    assert not missing, f"API routes without an access-control expectation: {missing}"
    assert not stale, f"expectations for routes/methods that do not exist: {stale}"


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

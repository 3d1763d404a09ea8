"""Access-control matrix for every HTML route: URL pattern x persona x method -> status.

The routes come from the URL resolver. A route without a row in ``EXPECTED`` fails
``test_every_html_route_is_classified`` (so a new page must be classified before it
lands), and a row whose route has vanished fails too. Non-members get 404 (never 403) on
every object page, anonymous users are sent to the login page, and each request runs in
a rolled-back savepoint so every persona meets the same state (``world`` in conftest).

Admin routes are classified by one rule (staff only: everyone else is sent to the admin
login). API routes: /api/v1/ coding and audit routes are matrix-tested in
tests/coding/api_matrix.py; here we check that it enumerates them and add the
persona matrix for the generation API routes, which that file only checks anonymously.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from tests.coding import api_matrix
from tests.security.conftest import PERSONAS
from tests.security.matrix import (
    ANON,
    EXPECTED,
    GENERATION_API,
    SCHEMA_ROUTES,
    all_routes,
    call,
    check,
    html_routes,
    unmasked,
    url_for,
)


def test_every_html_route_is_classified():
    names = [r.name for r in html_routes()]
    assert all(names), f"unnamed routes: {[r.route for r in html_routes() if not r.name]}"
    assert len(names) == len(set(names)), "two HTML routes share a name"
    missing = sorted(set(names) - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - set(names))
    assert not missing, f"HTML routes without an access-control expectation: {missing}"
    assert not stale, f"expectations for routes that no longer exist: {stale}"
    for name, row in EXPECTED.items():
        assert set(row.get) == set(PERSONAS), name
        assert row.post is None or set(row.post) == set(PERSONAS), name
        # Non-members never get 403: it would confirm the object exists.
        assert 403 not in row.get.values() and 403 not in (row.post or {}).values(), name


def test_html_access_matrix(world):
    clients = {p: world.client(p) for p in PERSONAS}
    failures, checked = [], 0
    for name, row in EXPECTED.items():
        url = url_for(world, name, row)
        for method, table in (("get", row.get), ("post", row.post)):
            if table is None:
                continue
            for persona, expected in table.items():
                data = row.body(world, persona) if (row.body and method == "post") else None
                problem = check(call(clients[persona], method, url, data), expected, url)
                checked += 1
                if problem:
                    failures.append(f"{method.upper()} {url} [{name}] as {persona}: {problem}")
    assert checked >= len(EXPECTED) * len(PERSONAS)
    assert not failures, "\n".join(failures)


def test_outsiders_404_is_the_same_for_real_and_missing_objects(world):
    """A non-member's 404 page for an existing object is byte-identical to a missing one's."""
    client = world.client("outsider")
    fake = {
        "study_id": 999_999,
        "code": "ZZZ-ZZZ",
        "rubric_id": 999_999,
        "benchmark_id": 999_999,
        "run_id": 999_999,
        "transcript_id": 999_999,
        "endpoint_id": 999_999,
        "proposal_id": 999_999,
        "kind": "long",
        "check_id": 999_999,
        "rule_id": 999_999,
        "invite_id": 999_999,
        "member_id": 999_999,
        "token": "Z" * 43,
        "upload_token": "NoSuchUploadToken",
        "judge_id": 999_999,
    }
    compared = 0
    for route in html_routes():
        row = EXPECTED[route.name]
        if not route.converters or row.get["outsider"] != 404:
            continue
        real_url = url_for(world, route.name, row)
        fake_url = reverse(route.name, kwargs={k: fake[k] for k in route.converters})
        real, missing = call(client, "get", real_url), call(client, "get", fake_url)
        assert real.status_code == missing.status_code == 404, route.name
        assert unmasked(real.content) == unmasked(missing.content), route.name
        compared += 1
    assert compared >= 30


def test_admin_is_staff_only(world, django_user_model):
    """Every admin route sends non-staff users (and anonymous ones) to the admin login."""
    routes = [r for r in all_routes() if r.route.startswith("admin/")]
    assert len(routes) > 20
    placeholders = {"object_id": "1", "app_label": "coding", "content_type_id": "1", "url": "x"}
    placeholders |= {"user_id": "1", "id": "1"}
    # The admin's own login page, and its logout (which sends non-staff to the index).
    public = {"admin:login": (200, ""), "admin:logout": (302, reverse("admin:index"))}
    # One rule for every non-staff user: anonymous, a coder and a lead stand for them all.
    clients = {p: world.client(p) for p in ("anonymous", "coder_a", "lead")}
    failures = []
    for route in routes:
        if not route.name:
            continue  # the catch-all "final" pattern redirects or 404s
        try:
            url = reverse(route.name, kwargs={k: placeholders[k] for k in route.converters})
        except KeyError:
            failures.append(f"no placeholder for {route.route}")
            continue
        status, location = public.get(route.name, (302, reverse("admin:login") + "?next="))
        for persona, client in clients.items():
            response = call(client, "get", url)
            if response.status_code != status or not response.get("Location", "").startswith(
                location
            ):
                failures.append(f"GET {url} as {persona}: {response.status_code}")
    assert not failures, "\n".join(failures)
    staff = django_user_model.objects.create_user("staffer", is_staff=True, is_superuser=True)
    client = world.client("anonymous")
    client.force_login(staff)
    assert client.get(reverse("admin:index")).status_code == 200  # the rule can tell


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "coder_a"])
def test_schema_and_docs_describe_routes_not_data(world, persona):
    """The OpenAPI document and its docs page are public; they carry no study data."""
    client = world.client(persona)
    for name, status in SCHEMA_ROUTES.items():
        response = client.get(reverse(name))
        assert response.status_code == status, name
        body = response.content.decode()
        assert world.study.name not in body and world.disputed[0] not in body


def test_every_api_route_is_in_a_matrix():
    """api_matrix enumerates the same /api/v1/ routes; together the two tables cover
    every (route, method)."""
    mine = {r.route for r in all_routes() if r.route.startswith("api/v1/")}
    theirs = api_matrix.api_routes()
    assert {r.route for r in theirs} == mine
    covered = set(api_matrix.EXPECTED) | set(GENERATION_API)
    every = {(r.name, m) for r in theirs for m in r.methods}
    assert not sorted(every - covered), f"API routes in no matrix: {sorted(every - covered)}"
    assert not sorted(covered - every), f"matrix rows for no route: {sorted(covered - every)}"
    assert not set(api_matrix.EXPECTED) & set(GENERATION_API)
    owned = {(r.name, m) for r in theirs if r.owned for m in r.methods}
    assert set(GENERATION_API) == every - owned


def test_generation_api_matrix(world):
    kwargs = world.kwargs()
    clients = {"anonymous": APIClient()}
    for persona in PERSONAS[1:]:
        clients[persona] = APIClient()
        clients[persona].force_login(world.user(persona))
    routes = {r.name: r for r in api_matrix.api_routes()}
    failures = []
    for (name, method), table in GENERATION_API.items():
        route = routes[name]
        url = reverse(name, kwargs={k: kwargs[k] for k in route.pattern.pattern.converters})
        for persona, expected in table.items():
            with transaction.atomic():
                response = getattr(clients[persona], method)(url, {}, format="json")
                transaction.set_rollback(True)
            status = response.status_code
            ok = status in (401, 403) if expected == ANON else status == expected
            if not ok:
                failures.append(f"{method.upper()} {url} as {persona}: {status} != {expected}")
    assert not failures, "\n".join(failures)

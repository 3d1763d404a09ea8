"""Property-based API fuzzing from the served OpenAPI schema (Schemathesis), per persona.

Every operation in ``/api/schema/`` is called with cases Schemathesis generates from the
schema (valid and invalid ones: negative mode breaks types, bounds and formats), as each
persona: a coder and the lead with token auth, the adjudicator and an outsider with a
session cookie (and its CSRF token). Path parameters are mostly the persona world's real
ids and item codes, so the cases reach the views instead of stopping at a 404. Each case
runs in a savepoint that is rolled back, so every case starts from the same world.

The assertion: no server error (5xx), whatever is sent. The budget is CI-sized and the
generation derandomized (the same cases every run); ``FUZZ_EXAMPLES`` raises the number
of cases per operation and ``FUZZ_RANDOM=1`` draws new ones, for longer runs by hand.
"""

from __future__ import annotations

import logging
import os
from collections import Counter

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from django.middleware.csrf import _get_new_csrf_string
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from coding.models import Item, Rubric
from coding.services import items_import, score_submit, study_open
from tests.coding.conftest import full_values, make_records

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
PERSONAS = {"coder_a": "token", "lead": "token", "adjudicator": "session", "outsider": "session"}


@pytest.fixture
def wsgi_app(caplog):
    """Django's real WSGI handler, in-process, inside the test transaction.

    Django's test client does the same: ``close_old_connections`` would otherwise close
    the connection that holds the test's transaction at the end of each request.
    """
    caplog.set_level(logging.ERROR, logger="django.request")  # thousands of 4xx warnings
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(personas):
    """The personas' open study (12 items, k = 2) with a few submitted, disagreeing codes."""
    p = personas
    items_import(study=p.study, records=make_records(12), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    for coder, value in ((p.coder_a, 0), (p.coder_b, 2)):
        for a in coder.assignments.filter(item__study=p.study).order_by("position")[:3]:
            score_submit(
                assignment=a,
                values=full_values(p.study, value=value),
                expected_version=a.version,
                by=coder,
            )
    return p


def _auth(user, kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, cookies) that authenticate ``user`` by token or by session."""
    if kind == "token":
        token, _ = Token.objects.get_or_create(user=user)
        return {"Authorization": f"Token {token.key}"}, {}
    from django.conf import settings as dj_settings
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    csrf = _get_new_csrf_string()
    return (
        {"X-CSRFToken": csrf},
        {dj_settings.SESSION_COOKIE_NAME: session.session_key, "csrftoken": csrf},
    )


def _real_path_parameters(p) -> dict[str, object]:
    item = Item.objects.filter(study=p.study).order_by("public_code").first()
    return {
        "study_id": p.study.pk,
        "code": item.public_code,
        "rubric_id": Rubric.objects.order_by("pk").first().pk,
        "kind": "events",
    }


# Values at the edges of what the database and Python can hold: past int4/int8, thousands
# of digits (past int()'s 4,300-digit limit), negative, NUL. Schemathesis draws mostly small
# numbers and printable text, so a third of the drawn cases get one JSON body field (or
# query parameter) swapped for one of these, and every documented query parameter is also
# sent each of the explicit ``EDGE_QUERY`` values once (``_edge_cases``).
EDGE_QUERY = [2**64 + 5, -(2**63) - 1, "9" * 5000, "a\x00b"]
EDGE_BODY = [*EDGE_QUERY, 2**31, 2**63, -1, "\ud800", {"\x00": 1}]  # client escapes \ud800


def _mutated(case, edge, index: int):
    """The case with one JSON body field (else one query parameter) set to ``edge``."""
    if edge is None:
        return case
    if isinstance(case.body, dict) and case.body and case.media_type == "application/json":
        keys = sorted(case.body)
        case.body = {**case.body, keys[index % len(keys)]: edge}
    elif case.query and edge in EDGE_QUERY:
        keys = sorted(case.query)
        case.query = {**case.query, keys[index % len(keys)]: edge}
    return case


def _strategy(operation, fixed: dict[str, object]):
    """Half the cases on the world's real ids, half fully generated; valid and invalid
    (Schemathesis' positive and negative modes); a third of them with one edge value."""
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
        strategies.append(operation.as_strategy(generation_mode=mode))
    edge = st.one_of(st.none(), st.none(), st.sampled_from(EDGE_BODY))
    return st.builds(_mutated, st.one_of(strategies), edge, st.integers(0, 20))


def _edge_cases(operation, fixed: dict[str, object]) -> list:
    """One case per documented query parameter and edge value, on the real path."""
    path = {p.name: fixed.get(p.name, 1) for p in operation.path_parameters}
    return [
        operation.Case(path_parameters=path, query={param.name: value})
        for param in operation.query
        for value in EDGE_QUERY
    ]


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_no_server_error_for_any_generated_request(persona, world, wsgi_app, client):
    user = getattr(world, persona)
    headers, cookies = _auth(user, PERSONAS[persona])
    client.force_login(world.lead)
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, headers=headers)
    real = _real_path_parameters(world)
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) > 30, "the schema should list every API operation"

    def send(case) -> None:
        with transaction.atomic():
            response = case.call(app=wsgi_app, headers=headers, cookies=cookies)
            transaction.set_rollback(True)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            errors.append(f"{response.status_code} {case.as_curl_command()}")

    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in real.items() if k in names}
        for case in _edge_cases(operation, fixed):
            send(case)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=os.environ.get("FUZZ_RANDOM") != "1",
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=_strategy(operation, fixed))
        def run(case) -> None:
            send(case)

        run()

    total = sum(statuses.values())
    print(f"\n{persona}: {total} cases over {len(operations)} operations; statuses {statuses}")
    assert not errors, f"{len(errors)} server errors:\n" + "\n".join(errors[:20])

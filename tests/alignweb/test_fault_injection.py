"""Fault injection: the database dies mid-submit, Redis is down, a submit is replayed.

What a coder must be able to rely on:
- a submit that fails half-way leaves nothing half-saved (the assignment stays open at
  its version, draft scores untouched, no Event, no reconciliation) and can be retried;
- coding (autosave + submit) keeps working while Redis (broker and cache) is down, the
  agreement snapshot is queued by a later submission (or, when none exists yet,
  computed by the dashboard), and /healthz says "degraded" with 503;
- a double-click or a replayed POST is answered like the first one (302), once.

The PostgreSQL connection is dropped for real with ``pg_terminate_backend``; a simulated
``OperationalError`` covers SQLite (and runs on PostgreSQL too).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from coding.models import Assignment, Event, Reconciliation, Score
from coding.services import items_import, score_autosave, study_open
from coding.services import scoring as scoring_module
from tests.coding.conftest import full_values, make_records
from tests.factories import make_personas
from tests.outages import broker_at, down_redis_url

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process

RETRY_TEXT = "not saved"


# --------------------------------------------------------------------------- helpers


def _form(values: dict, version: int) -> dict:
    data: dict = {"version": version}
    for code, entry in values.items():
        data[f"value_{code}"] = entry["value"]
        data[f"rationale_{code}"] = entry["rationale"]
    return data


def _first_assignment(study, coder) -> Assignment:
    return (
        Assignment.objects.filter(item__study=study, coder=coder)
        .select_related("item")
        .order_by("position")
        .first()
    )


def _next_item_url(p, coder) -> str:
    """Where a submit sends the coder: their next open item (checked against /next/)."""
    client = Client()
    client.force_login(coder)
    return client.get(reverse("coding:next-item", args=[p.study.pk]))["Location"]


def _urls(study, code: str) -> dict[str, str]:
    args = [study.pk, code]
    return {
        "item": reverse("coding:code-item", args=args),
        "save": reverse("coding:save-item", args=args),
        "submit": reverse("coding:submit-item", args=args),
        "next": reverse("coding:next-item", args=[study.pk]),
    }


def _state(assignment: Assignment) -> dict:
    """Everything a submit may touch for one assignment, for before/after comparison."""
    a = Assignment.objects.get(pk=assignment.pk)
    return {
        "status": a.status,
        "version": a.version,
        "submitted_at": a.submitted_at,
        "scores_sha256": a.scores_sha256,
        "scores": sorted(
            Score.objects.filter(assignment=a).values_list(
                "dimension__code", "value", "rationale", "updated_at"
            )
        ),
        "events": Event.objects.filter(verb="submit", target=a.item.public_code).count(),
        "reconciliations": Reconciliation.objects.filter(item=a.item).count(),
    }


def _drafted(p) -> tuple[Assignment, dict, dict]:
    """coder_a's first item with a saved draft; returns (assignment, draft, final values)."""
    a = _first_assignment(p.study, p.coder_a)
    draft = {"D1": {"value": 0, "rationale": "draft before the outage"}}
    a = score_autosave(assignment=a, values=draft, expected_version=0, by=p.coder_a)
    return a, draft, full_values(p.study, value=2, note="final")


def _make_study():
    p = make_personas()
    items_import(study=p.study, records=make_records(6), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    return p


@pytest.fixture
def coding_study(db):
    return _make_study()


@pytest.fixture
def committed_study(transactional_db):
    """Committed data and real autocommit: on_commit callbacks run as in production."""
    return _make_study()


# ------------------------------------------------- database connection lost mid-submit


def _terminate_own_backend() -> None:
    """Kill this connection's server process from a second connection, and wait for it."""
    import psycopg

    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            row = admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
            if row is None:
                return
            time.sleep(0.02)
    raise AssertionError("the backend did not terminate")


def _kill_connection_before_event(kill):
    """Patch the submit's last write so the connection dies after the scores were written."""
    real = scoring_module.event_record

    def dying(**kwargs):
        kill()
        return real(**kwargs)

    return mock.patch.object(scoring_module, "event_record", side_effect=dying)


def _raise_operational_error() -> None:
    raise OperationalError("server closed the connection unexpectedly")


def _assert_nothing_half_saved(before: dict, a: Assignment) -> None:
    connection.close()  # a dead connection is replaced on next use
    after = _state(a)
    assert after == before
    assert after["status"] == Assignment.Status.OPEN


@pytest.mark.services
def test_postgres_connection_killed_mid_submit_saves_nothing(transactional_db, require_postgres):
    p = make_personas()
    items_import(study=p.study, records=make_records(4), by=p.lead)
    study_open(study=p.study, by=p.lead)
    a, _draft, values = _drafted(p)
    before = _state(a)
    urls = _urls(p.study, a.item.public_code)
    client = Client(raise_request_exception=False)
    client.force_login(p.coder_a)

    with _kill_connection_before_event(_terminate_own_backend) as patched:
        response = client.post(urls["submit"], _form(values, a.version))
    assert patched.called, "the fault was not injected"
    assert response.status_code == 503, "a failed submit must say: not saved, retry"
    assert RETRY_TEXT in response.content.decode().lower()
    _assert_nothing_half_saved(before, a)

    # Retryable: the very same form, resent, goes through once the database is back.
    again = client.post(urls["submit"], _form(values, a.version))
    assert again.status_code == 302 and again["Location"] == _next_item_url(p, p.coder_a)
    a.refresh_from_db()
    assert a.status == Assignment.Status.SUBMITTED
    assert Event.objects.filter(verb="submit", target=a.item.public_code).count() == 1


def test_simulated_connection_loss_mid_submit_saves_nothing(coding_study):
    """The same fault on any backend: the driver raises inside the submit transaction."""
    p = coding_study
    a, _draft, values = _drafted(p)
    before = _state(a)
    urls = _urls(p.study, a.item.public_code)
    client = Client(raise_request_exception=False)
    client.force_login(p.coder_a)

    with _kill_connection_before_event(_raise_operational_error) as patched:
        response = client.post(urls["submit"], _form(values, a.version))
    assert patched.called
    assert response.status_code == 503
    assert RETRY_TEXT in response.content.decode().lower()
    assert _state(a) == before

    again = client.post(urls["submit"], _form(values, a.version))
    assert again.status_code == 302
    assert Assignment.objects.get(pk=a.pk).status == Assignment.Status.SUBMITTED


@pytest.mark.parametrize("kind", ["submit", "save"])
def test_database_failure_answers_503_not_saved_retry(coding_study, kind):
    """The contract for the coder: 503, a clear 'not saved' message, and Retry-After."""
    p = coding_study
    a, draft, values = _drafted(p)
    urls = _urls(p.study, a.item.public_code)
    client = Client(raise_request_exception=False)
    client.force_login(p.coder_a)
    # The last write of each path: the Event of a submit, the Score rows of an autosave.
    name = "event_record" if kind == "submit" else "_write_scores"
    with mock.patch.object(scoring_module, name, side_effect=OperationalError("gone")):
        response = client.post(urls[kind], _form(values, a.version))
    assert Assignment.objects.get(pk=a.pk).version == a.version  # nothing was saved
    assert response.status_code == 503
    assert RETRY_TEXT in response.content.decode().lower()
    assert response.has_header("Retry-After")


# ------------------------------------------------------------------------- Redis down


@pytest.fixture
def redis_down(settings) -> Iterator[str]:
    """Broker and cache both pointed at a closed loopback port (a real refused connection)."""
    url = down_redis_url()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with broker_at(url):
        yield url


def test_coding_works_while_redis_is_down(committed_study, redis_down, caplog):
    p = committed_study
    a = _first_assignment(p.study, p.coder_a)
    urls = _urls(p.study, a.item.public_code)
    client = Client()
    client.force_login(p.coder_a)

    assert client.get(urls["next"])["Location"] == urls["item"]
    assert client.get(urls["item"]).status_code == 200
    saved = client.post(urls["save"], {"version": 0, "value_D1": 1, "rationale_D1": "draft"})
    assert saved.status_code == 200 and 'value="1"' in saved.content.decode()

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="coding.services.scoring"):
        response = client.post(urls["submit"], _form(full_values(p.study), 1))
    assert response.status_code == 302 and response["Location"] == _next_item_url(p, p.coder_a)
    assert time.monotonic() - started < 10, "a broker outage must not stall a submit"
    a.refresh_from_db()
    assert a.status == Assignment.Status.SUBMITTED
    assert Score.objects.filter(assignment=a, value=1).count() == 8
    if importlib.util.find_spec("audit.tasks"):
        assert "snapshot_on_submit failed" in caplog.text, "the outage was not simulated"
    # The next item is served as usual.
    assert "/items/" in client.get(urls["next"])["Location"]


def test_snapshot_after_redis_outage_is_queued_later_and_dashboard_recomputes(
    committed_study, settings
):
    pytest.importorskip("audit.tasks")
    from audit.models import AgreementSnapshot, SnapshotRequest

    p = committed_study
    item_a = _first_assignment(p.study, p.coder_a).item
    pair = list(Assignment.objects.filter(item=item_a).select_related("coder"))
    submitted = 0

    # 1. Redis down: both coders of one item submit; no task can be queued.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with broker_at(down_redis_url()):
        for assignment in pair:
            scoring_module.score_submit(
                assignment=assignment,
                values=full_values(p.study),
                expected_version=0,
                by=assignment.coder,
            )
            submitted += 1
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert not SnapshotRequest.objects.filter(study=p.study).exists(), (
        "a flag left behind by a failed enqueue would block every later snapshot"
    )
    assert AgreementSnapshot.objects.filter(study=p.study).count() == 0

    # 2. Redis back: no snapshot exists yet, so the dashboard computes the first one in
    #    the request, covering the outage.
    lead = Client()
    lead.force_login(p.lead)
    assert lead.get(reverse("audit:agreement", args=[p.study.pk])).status_code == 200
    latest = AgreementSnapshot.objects.filter(study=p.study).order_by("-at", "-pk").first()
    assert latest is not None and latest.n_submitted == submitted

    # 3. ... and the next submission queues a snapshot again (eager worker here).
    nxt = Assignment.objects.filter(item__study=p.study, status="open").exclude(item=item_a)
    assignment = nxt.select_related("coder").first()
    scoring_module.score_submit(
        assignment=assignment, values=full_values(p.study), expected_version=0, by=assignment.coder
    )
    latest = AgreementSnapshot.objects.filter(study=p.study).order_by("-at", "-pk").first()
    assert latest.n_submitted == submitted + 1


def test_healthz_degraded_503_when_redis_is_down(client, db, redis_down):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"status", "database", "broker", "workers"}
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": False, "mode": "broker", "error": body["broker"]["error"]}
    assert body["workers"]["ok"] is False


def test_login_still_works_while_redis_is_down(coding_study, redis_down):
    from tests.factories import PASSWORD

    client = Client(raise_request_exception=False)
    response = client.post(reverse("login"), {"username": "coder_a", "password": PASSWORD})
    assert response.status_code == 302


# ------------------------------------------------------------- duplicate submissions


def test_double_click_and_replayed_submit_are_idempotent(coding_study):
    p = coding_study
    a = _first_assignment(p.study, p.coder_a)
    urls = _urls(p.study, a.item.public_code)
    client = Client()
    client.force_login(p.coder_a)
    form = _form(full_values(p.study, value=2, note="once"), a.version)

    first = client.post(urls["submit"], form)
    after_first = _state(a)
    replays = [client.post(urls["submit"], form) for _ in range(3)]

    assert first.status_code == 302
    following = _next_item_url(p, p.coder_a)
    assert first["Location"] == following
    assert all(r.status_code == 302 and r["Location"] == following for r in replays)
    assert _state(a) == after_first
    assert after_first["events"] == 1 and after_first["status"] == Assignment.Status.SUBMITTED
    # A replay with other values is refused and changes nothing.
    changed = client.post(urls["submit"], _form(full_values(p.study, value=0), a.version))
    assert changed.status_code == 409
    assert _state(a) == after_first


@pytest.mark.services
def test_simultaneous_double_submit_on_postgres(transactional_db, require_postgres):
    """Two requests with the same form race (a double-click on a slow network)."""
    p = make_personas()
    items_import(study=p.study, records=make_records(4), by=p.lead)
    study_open(study=p.study, by=p.lead)
    a = _first_assignment(p.study, p.coder_a)
    urls = _urls(p.study, a.item.public_code)
    form = _form(full_values(p.study, value=1, note="race"), a.version)
    barrier = threading.Barrier(4)
    answers: list[int] = []
    errors: list[BaseException] = []

    def click() -> None:
        try:
            client = Client()
            client.force_login(p.coder_a)
            barrier.wait()
            answers.append(client.post(urls["submit"], form).status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert answers == [302, 302, 302, 302]
    state = _state(a)
    assert state["status"] == Assignment.Status.SUBMITTED
    assert state["events"] == 1
    assert [s[1] for s in state["scores"]] == [1] * 8

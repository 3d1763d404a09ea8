"""The endpoint page: limits and prices, and "Test connection" run by a worker."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from transcripts.endpoints import check_state
from transcripts.models import ModelEndpoint

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.fixture
def endpoint(personas, fake_server, make_endpoint):
    return make_endpoint(owner=personas.lead, server=fake_server, name="Atlas")


def urls(endpoint) -> dict[str, str]:
    return {
        name: reverse(f"transcripts:endpoint-{name}", args=[endpoint.pk])
        for name in ("detail", "edit", "check", "check-status")
    }


@pytest.mark.parametrize("who", ["other_lead", "coder_a", "outsider"])
def test_only_the_owner_sees_the_endpoint(personas, endpoint, login, who):
    client = login(getattr(personas, who))
    for name, url in urls(endpoint).items():
        method = client.post if name in ("edit", "check") else client.get
        assert method(url).status_code == 404, name
    endpoint.refresh_from_db()
    assert endpoint.check_requested_at is None


def test_edit_limits_and_prices(personas, endpoint, login):
    client = login(personas.lead)
    page = client.get(urls(endpoint)["detail"]).content.decode()
    assert "Test connection" in page and "Requests per minute" in page
    data = {
        "max_concurrency": 3,
        "requests_per_minute": 120,
        "tokens_per_minute": 50000,
        "timeout_seconds": 30,
        "price_input_per_mtok": "0.25",
        "price_output_per_mtok": "1.25",
    }
    assert client.post(urls(endpoint)["edit"], data).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.requests_per_minute, endpoint.tokens_per_minute) == (120, 50000)
    assert endpoint.max_concurrency == 3 and str(endpoint.price_output_per_mtok) == "1.2500"
    bad = client.post(urls(endpoint)["edit"], data | {"requests_per_minute": 0})
    assert bad.status_code == 200 and b"errorlist" in bad.content
    endpoint.refresh_from_db()
    assert endpoint.requests_per_minute == 120
    # Empty means no limit.
    client.post(urls(endpoint)["edit"], data | {"requests_per_minute": ""})
    endpoint.refresh_from_db()
    assert endpoint.requests_per_minute is None


def test_connection_test_reports_success(
    personas, endpoint, login, django_capture_on_commit_callbacks
):
    client = login(personas.lead)
    with django_capture_on_commit_callbacks(execute=True):  # the worker's task, eagerly
        waiting = client.post(urls(endpoint)["check"], HTTP_HX_REQUEST="true")
    assert 'data-check="waiting"' in waiting.content.decode()  # rendered before the task ran
    page = client.get(urls(endpoint)["check-status"]).content.decode()
    assert 'data-check="ok"' in page and "Connected: atlas-7b answered in" in page
    assert "hx-trigger" not in page  # done: no more polling


def test_connection_test_shows_the_error_plainly(
    personas, make_endpoint, login, django_capture_on_commit_callbacks
):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = make_endpoint(owner=personas.lead, base_url=f"http://127.0.0.1:{port}/v1")
    client = login(personas.lead)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(urls(dead)["check"]).status_code == 302
    dead.refresh_from_db()
    assert dead.check_ok is False and "Connection error" in dead.check_message
    page = client.get(urls(dead)["detail"]).content.decode()
    assert "The test request failed." in page and "Connection refused" in page


def test_a_check_no_worker_picks_up_is_reported(personas, endpoint):
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(
        check_requested_at=timezone.now() - timedelta(minutes=2)
    )
    endpoint.refresh_from_db()
    assert check_state(endpoint) == "stale"

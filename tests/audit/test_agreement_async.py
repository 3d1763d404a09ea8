"""No request computes agreement: the dashboard queues the worker and polls until it is done."""

import pytest
from django.urls import reverse

from audit import services, tasks
from audit.models import AgreementSnapshot
from tests.audit.conftest import build_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def not_eager(settings):
    """A real deployment: tasks go to the broker (recorded here), never run in-process."""
    app = tasks.agreement_snapshot.app
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def published(monkeypatch, not_eager):
    calls: list[dict] = []
    monkeypatch.setattr(
        tasks,
        "_enqueue",
        lambda study_id, delay, by_id=None: calls.append(
            {"study": study_id, "countdown": delay, "by_id": by_id}
        ),
    )
    return calls


@pytest.fixture
def computed(monkeypatch) -> list[int]:
    """Records every agreement computation (the statistics behind a snapshot)."""
    calls: list[int] = []
    real = services.snapshot_compute

    def spy(**kwargs):
        calls.append(kwargs["study"].pk)
        return real(**kwargs)

    monkeypatch.setattr(services, "snapshot_compute", spy)
    return calls


def test_a_visit_without_a_snapshot_queues_it_and_computes_nothing(
    personas, client, published, computed, django_capture_on_commit_callbacks
):
    p = personas
    build_study(p, n=12, snapshot=False)
    client.force_login(p.lead)
    url = reverse("audit:agreement", args=[p.study.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert computed == [] and not AgreementSnapshot.objects.exists()
    assert 'data-state="computing"' in html and "Computing agreement" in html
    status_url = reverse("audit:agreement-status", args=[p.study.pk])
    assert f'hx-get="{status_url}"' in html and "Recompute now" in html
    # Undelayed (nothing to show yet), on behalf of the lead.
    assert published == [{"study": p.study.pk, "countdown": 0, "by_id": p.lead.pk}]
    # Polling: still computing, and the undelayed request is not repeated within its window.
    with django_capture_on_commit_callbacks(execute=True):
        poll = client.get(status_url)
    assert poll.status_code == 200 and 'data-state="computing"' in poll.content.decode()
    assert "HX-Refresh" not in poll and len(published) == 1 and computed == []


def test_the_poll_reloads_the_page_once_the_worker_has_run(personas, client, published):
    p = personas
    build_study(p, n=12, snapshot=False)
    client.force_login(p.lead)
    status_url = reverse("audit:agreement-status", args=[p.study.pk])
    assert "HX-Refresh" not in client.get(status_url)
    tasks.agreement_snapshot(p.study.pk)  # the worker
    poll = client.get(status_url)
    assert poll.status_code == 200 and poll["HX-Refresh"] == "true"
    html = client.get(reverse("audit:agreement", args=[p.study.pk])).content.decode()
    assert 'data-state="fresh"' in html and 'id="agreement-chart"' in html
    assert "hx-get" not in html.split('id="agreement-status"')[1].split(">")[0]


def test_a_page_showing_numbers_offers_the_newer_snapshot(personas, client, published):
    p = personas
    build_study(p, n=12)  # snapshot of 24 submissions
    shown = AgreementSnapshot.objects.get()
    AgreementSnapshot.objects.filter(pk=shown.pk).update(n_submitted=20)  # 4 behind
    client.force_login(p.lead)
    status_url = reverse("audit:agreement-status", args=[p.study.pk])
    poll = client.get(status_url, {"shown": shown.pk}).content.decode()
    assert 'data-state="updating"' in poll and "4 submissions since this snapshot" in poll
    tasks.agreement_snapshot(p.study.pk)
    poll = client.get(status_url, {"shown": shown.pk})
    assert "HX-Refresh" not in poll
    body = poll.content.decode()
    assert 'data-state="ready"' in body and "Show it" in body and "hx-get" not in body


@pytest.mark.parametrize("shown", ["x", "-1", "0", "9" * 30, "1e5"])
def test_hostile_poll_parameters_are_400(personas, client, shown):
    client.force_login(personas.lead)
    url = reverse("audit:agreement-status", args=[personas.study.pk])
    assert client.get(url, {"shown": shown}).status_code == 400


def test_poll_is_lead_only(personas, client):
    p = personas
    url = reverse("audit:agreement-status", args=[p.study.pk])
    for user in (p.coder_a, p.adjudicator, p.outsider, p.other_lead):
        client.force_login(user)
        assert client.get(url).status_code == 404
    assert client.post(url).status_code in (404, 405)


def test_an_unblinded_study_queues_the_conditions_on_the_leads_behalf(
    personas, client, published, computed, django_capture_on_commit_callbacks
):
    p = personas
    build_study(p, n=12)  # sealed snapshot (no conditions) computed while open
    from coding.models import Study

    Study.objects.filter(pk=p.study.pk).update(status=Study.Status.UNBLINDED)
    computed.clear()
    client.force_login(p.lead)
    with django_capture_on_commit_callbacks(execute=True):
        html = client.get(reverse("audit:agreement", args=[p.study.pk])).content.decode()
    assert computed == []
    assert "Agreement per condition is not in this snapshot yet" in html
    assert published == [{"study": p.study.pk, "countdown": 0, "by_id": p.lead.pk}]

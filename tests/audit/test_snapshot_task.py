"""Agreement snapshot task: direct calls, debounce on commit, submit integration, live worker.

Also the request's fast paths: the cache key that spares the database, and the broker
circuit breaker that keeps an outage from slowing every submission.
"""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from kombu.exceptions import OperationalError

from audit import tasks
from audit.models import AgreementSnapshot, SnapshotRequest
from coding.models import Assignment
from coding.services import items_import, score_submit, study_open
from tests.audit.conftest import submit_all
from tests.coding.conftest import make_records
from tests.outages import broker_at, down_redis_url

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


def _open(p, n=4):
    items_import(study=p.study, records=make_records(n), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    return p.study


@pytest.fixture
def sent(monkeypatch):
    """Record enqueues instead of running the task."""
    calls = []
    monkeypatch.setattr(
        tasks.agreement_snapshot, "apply_async", lambda **kw: calls.append(kw), raising=True
    )
    return calls


@pytest.mark.django_db
def test_task_called_directly_writes_one_snapshot_and_is_idempotent(personas):
    study = _open(personas)
    submit_all(study, [personas.coder_a, personas.coder_b])
    SnapshotRequest.objects.create(study=study, requested_at=timezone.now())
    snapshot_id = tasks.agreement_snapshot(study.pk)
    snapshot = AgreementSnapshot.objects.get()
    assert snapshot.pk == snapshot_id and snapshot.n_submitted == 8
    assert [d["code"] for d in snapshot.results["dimensions"]][:2] == ["D1", "D2"]
    assert not SnapshotRequest.objects.exists()  # the task released the debounce flag
    assert tasks.agreement_snapshot(study.pk) == snapshot_id  # nothing new to compute
    assert AgreementSnapshot.objects.count() == 1
    assert tasks.agreement_snapshot(999999) is None


@pytest.mark.django_db
def test_no_snapshot_without_submissions(personas):
    study = _open(personas)
    assert tasks.agreement_snapshot(study.pk) is None
    assert not AgreementSnapshot.objects.exists()


@pytest.mark.django_db
def test_debounce_queues_at_most_one_per_study(
    personas, sent, settings, django_capture_on_commit_callbacks
):
    settings.AGREEMENT_SNAPSHOT_COUNTDOWN = 7
    study = _open(personas)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert tasks.snapshot_request(study.pk) is True
        assert tasks.snapshot_request(study.pk) is False
        assert tasks.snapshot_request(study.pk) is False
        assert tasks.snapshot_request(personas.other_study.pk) is True
    assert len(callbacks) == 2
    assert sent == [
        {"args": [study.pk], "countdown": 7},
        {"args": [personas.other_study.pk], "countdown": 7},
    ]
    assert SnapshotRequest.objects.count() == 2
    # Once the task starts (flag released) the next submission queues again.
    tasks.agreement_snapshot(study.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.snapshot_request(study.pk) is True
    assert len(sent) == 3


@pytest.mark.django_db
def test_nothing_is_enqueued_before_commit(personas, sent, django_capture_on_commit_callbacks):
    study = _open(personas)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tasks.snapshot_request(study.pk)
    assert len(callbacks) == 1 and sent == []


@pytest.mark.django_db
def test_a_stale_flag_is_taken_over(personas, sent, django_capture_on_commit_callbacks):
    study = _open(personas)
    SnapshotRequest.objects.create(
        study=study, requested_at=timezone.now() - tasks.STALE_AFTER - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.snapshot_request(study.pk) is True
    assert len(sent) == 1
    assert SnapshotRequest.objects.get().requested_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.django_db
def test_a_failed_enqueue_releases_the_flag(
    personas, monkeypatch, django_capture_on_commit_callbacks
):
    study = _open(personas)

    def broken(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.agreement_snapshot, "apply_async", broken)
    with pytest.raises(ConnectionError), django_capture_on_commit_callbacks(execute=True):
        tasks.snapshot_request(study.pk)
    assert not SnapshotRequest.objects.exists()


@pytest.mark.django_db
def test_a_queued_snapshot_spares_the_database(
    personas, sent, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """While the cache key says a snapshot is queued, a submission costs no query."""
    study = _open(personas)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.snapshot_request(study.pk) is True
    with django_assert_num_queries(0):
        for _ in range(5):
            assert tasks.snapshot_request(study.pk) is False
    assert len(sent) == 1
    # The task clears the key (and the flag) as it starts: the next request queues again.
    tasks.agreement_snapshot(study.pk)
    assert cache.get(tasks._cache_key(study.pk)) is None
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.snapshot_request(study.pk) is True
    assert len(sent) == 2


@pytest.mark.django_db
def test_the_cache_key_expires_with_the_countdown(personas, sent, settings, monkeypatch):
    settings.AGREEMENT_SNAPSHOT_COUNTDOWN = 9
    added = []
    monkeypatch.setattr(tasks.cache, "add", lambda key, value, timeout: added.append(timeout))
    tasks.snapshot_request(_open(personas).pk)
    assert added == [9]


@pytest.mark.django_db
def test_a_costly_snapshot_stretches_the_next_delay(
    personas, sent, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """The task records how long it took; the next request waits ten times that."""
    settings.AGREEMENT_SNAPSHOT_COUNTDOWN = 5
    study = _open(personas)
    submit_all(study, [personas.coder_a, personas.coder_b])
    clock = iter([100.0, 103.5])  # the computation "takes" 3.5 s
    monkeypatch.setattr(tasks.time, "perf_counter", lambda: next(clock))
    tasks.agreement_snapshot(study.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.snapshot_request(study.pk) is True
    assert sent[-1] == {"args": [study.pk], "countdown": 35}
    assert tasks.snapshot_request(study.pk) is False  # the key covers the longer wait


@pytest.mark.django_db
def test_without_the_cache_the_flag_still_debounces(
    personas, sent, monkeypatch, django_capture_on_commit_callbacks
):
    """Cache down (Redis): fall through to the SnapshotRequest flag."""
    study = _open(personas)

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(tasks.cache, "add", down)
    monkeypatch.setattr(tasks.cache, "delete", down)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.snapshot_request(study.pk) is True
        assert tasks.snapshot_request(study.pk) is False
    assert len(sent) == 1 and SnapshotRequest.objects.filter(study=study).exists()
    tasks.agreement_snapshot(study.pk)  # releasing the key fails quietly too
    assert not SnapshotRequest.objects.exists()


@pytest.fixture
def broker_down(monkeypatch):
    """A real broker (not eager) that refuses connections; a fresh circuit breaker."""
    url = down_redis_url()
    monkeypatch.setattr(tasks, "_broker_down_until", {})
    with broker_at(url):
        yield url


@pytest.mark.django_db
def test_broker_down_fails_fast_then_pauses_publishing(
    personas,
    broker_down,
    monkeypatch,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    import kombu.utils.functional

    study = _open(personas)
    slept: list[float] = []  # kombu's connection retries sleep here between attempts
    monkeypatch.setattr(kombu.utils.functional, "sleep", slept.append)
    with pytest.raises(OperationalError), django_capture_on_commit_callbacks(execute=True):
        tasks.snapshot_request(study.pk)
    assert slept == [], "publishing must make one attempt, not sleep between retries"
    # Released, so a request after the pause can queue again.
    assert not SnapshotRequest.objects.exists()
    assert cache.get(tasks._cache_key(study.pk)) is None
    assert tasks.publishing_paused()
    # Paused: later submissions skip the broker and the database altogether.
    with django_assert_num_queries(0):
        assert tasks.snapshot_request(study.pk) is False
        assert tasks.snapshot_request(personas.other_study.pk) is False
    # After the pause the next request tries the broker again.
    until = tasks._broker_down_until[tasks._broker_key()]
    assert until - time.monotonic() == pytest.approx(tasks.BREAKER_SECONDS, abs=5)
    tasks._broker_down_until[tasks._broker_key()] = time.monotonic() - 1  # the pause is over
    assert not tasks.publishing_paused()
    with pytest.raises(OperationalError), django_capture_on_commit_callbacks(execute=True):
        tasks.snapshot_request(study.pk)


@pytest.mark.django_db
def test_eager_mode_is_never_paused(personas, sent, monkeypatch):
    monkeypatch.setattr(tasks, "_broker_down_until", {tasks._broker_key(): float("inf")})
    assert not tasks.publishing_paused()
    assert tasks.snapshot_request(_open(personas).pk) is True


@pytest.mark.django_db
def test_submissions_trigger_one_snapshot_each_in_eager_mode(
    personas, django_capture_on_commit_callbacks
):
    """score_submit -> on_commit -> snapshot_request -> on_commit -> task (eager)."""
    study = _open(personas, n=2)
    dims = [d.code for d in study.rubric.dimensions.all()]
    for a in Assignment.objects.filter(item__study=study).select_related(
        "item__study__rubric", "coder"
    ):
        with django_capture_on_commit_callbacks(execute=True):
            score_submit(
                assignment=a,
                values={c: {"value": 1} for c in dims},
                expected_version=a.version,
                by=a.coder,
            )
    assert list(AgreementSnapshot.objects.order_by("at").values_list("n_submitted", flat=True)) == [
        1,
        2,
        3,
        4,
    ]
    assert not SnapshotRequest.objects.exists()


@pytest.mark.services
@pytest.mark.xdist_group("live_worker")  # one Redis: live workers run serially
def test_live_worker_writes_the_snapshot(live_worker, personas, settings):
    """End to end on Redis + PostgreSQL: a burst of submissions, then one snapshot appears."""
    settings.AGREEMENT_SNAPSHOT_COUNTDOWN = 1
    study = _open(personas, n=3)
    submit_all(study, [personas.coder_a, personas.coder_b])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        latest = AgreementSnapshot.objects.filter(study=study).order_by("-at").first()
        if latest is not None and latest.n_submitted == 6:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"no complete snapshot from the worker; see {live_worker.log_path}")
    # Debounced: six submissions within a second made far fewer than six snapshots.
    assert AgreementSnapshot.objects.filter(study=study).count() < 6
    assert latest.results["dimensions"][0]["n_items"] == 3
    deadline = time.monotonic() + 10
    while SnapshotRequest.objects.filter(study=study).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not SnapshotRequest.objects.filter(study=study).exists()

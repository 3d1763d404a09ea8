"""50 threads fetching the next item and submitting at once, on PostgreSQL."""

import random
import threading

import pytest
from django.db import connection

from coding.models import Assignment, Event, Membership, Reconciliation, Score
from coding.selectors import next_assignment
from coding.services import Conflict, items_import, score_submit, study_open
from tests.coding.conftest import make_records
from tests.factories import MembershipFactory, UserFactory, make_personas

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.mark.services
def test_fifty_threads_lose_and_duplicate_nothing(transactional_db, require_postgres):
    p = make_personas()
    coders = [p.coder_a, p.coder_b]
    for i in range(8):
        user = UserFactory(username=f"load-coder-{i}")
        MembershipFactory(study=p.study, user=user, role=Membership.Role.CODER)
        coders.append(user)
    items_import(study=p.study, records=make_records(100), by=p.lead)
    study_open(study=p.study, by=p.lead)
    dims = list(p.study.rubric.dimensions.values_list("code", flat=True))
    accepted: dict[int, dict] = {}
    conflicts = []
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    def worker(n: int) -> None:
        coder = coders[n % len(coders)]  # five threads per coder: five open tabs
        rng = random.Random(n)
        try:
            barrier.wait()
            while True:
                a = next_assignment(study=p.study, coder=coder)
                if a is None:
                    return
                values = {d: {"value": rng.randint(0, 2), "rationale": f"t{n} {d}"} for d in dims}
                try:
                    score_submit(assignment=a, values=values, expected_version=a.version, by=coder)
                except Conflict:
                    with lock:
                        conflicts.append(a.pk)
                    continue
                with lock:
                    assert a.pk not in accepted, "an assignment was accepted twice"
                    accepted[a.pk] = values
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assignments = Assignment.objects.filter(item__study=p.study)
    assert assignments.count() == 200
    assert assignments.filter(status="submitted").count() == 200
    assert len(accepted) == 200
    for a_pk, values in accepted.items():
        stored = {
            code: {"value": v, "rationale": r}
            for code, v, r in Score.objects.filter(assignment_id=a_pk).values_list(
                "dimension__code", "value", "rationale"
            )
        }
        assert stored == values  # the accepted submission is exactly what is stored
    assert Score.objects.filter(assignment__item__study=p.study).count() == 200 * len(dims)


@pytest.mark.services
def test_simultaneous_last_submits_still_auto_agree(transactional_db, require_postgres):
    """Both coders of an item submit at the same instant: the item row lock makes the
    second see the first, so the agreed dimensions are recorded exactly once."""
    p = make_personas()
    items_import(study=p.study, records=make_records(15), by=p.lead)
    study_open(study=p.study, by=p.lead)
    dims = list(p.study.rubric.dimensions.values_list("code", flat=True))
    values = {d: {"value": 1, "rationale": "same"} for d in dims}
    errors: list[str] = []

    def submit(assignment: Assignment, barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
            score_submit(
                assignment=assignment, values=values, expected_version=0, by=assignment.coder
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    for item in p.study.items.all():
        pair = list(Assignment.objects.filter(item=item).select_related("item__study__rubric"))
        barrier = threading.Barrier(len(pair))
        threads = [threading.Thread(target=submit, args=(a, barrier)) for a in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors[:3]
    agreed = Reconciliation.objects.filter(item__study=p.study, method="agreed")
    assert agreed.count() == 15 * len(dims)
    assert Event.objects.filter(study=p.study, verb="reconcile_auto").count() == 15

"""Reconciliation: auto-agree, the queue, decisions and their conflicts, first-pass
immutability, the Event trail, locking, and the reconciliation pages."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from coding.models import Assignment, Event, Item, Reconciliation, Score, Study
from coding.selectors.reconcile import (
    coder_label,
    reconcile_item_get,
    reconcile_next_code,
    reconcile_queue,
)
from coding.services import (
    Conflict,
    ServiceError,
    items_import,
    reconciliation_auto_agree,
    reconciliation_decide,
    study_lock,
    study_open,
    tally_rebuild,
)
from tests.coding.conftest import (
    RATIONALES,
    code_everything,
    dim,
    items_by_code,
    make_records,
    resolve_all,
    submit,
)
from tests.factories import make_personas

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Persona set-up hashes seven passwords; PBKDF2 would dominate these tests' run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_auto_agree_when_an_item_is_complete(open_study):
    p = open_study
    first, second = items_by_code(p.study)[:2]
    submit(p.study, p.coder_a, first)
    assert not Reconciliation.objects.filter(item=first).exists()  # one coder is not agreement
    submit(p.study, p.coder_b, first, {"D1": 2, "D3": 0})
    agreed = Reconciliation.objects.filter(item=first)
    assert agreed.count() == 6 and set(agreed.values_list("method", flat=True)) == {"agreed"}
    assert set(agreed.values_list("value", flat=True)) == {1}
    assert not agreed.filter(dimension__code__in=["D1", "D3"]).exists()
    assert agreed.filter(decided_by__isnull=False).count() == 0
    submit(p.study, p.coder_a, second)
    submit(p.study, p.coder_b, second)
    assert Reconciliation.objects.filter(item=second, method="agreed").count() == 8
    # on demand and idempotent
    assert reconciliation_auto_agree(study=p.study) == 0
    Reconciliation.objects.filter(item=second, dimension__code="D5").delete()
    assert reconciliation_auto_agree(study=p.study) == 1
    assert reconciliation_auto_agree(study=p.study) == 0
    assert Event.objects.filter(study=p.study, verb="reconcile_auto").count() == 3


def test_queue_lists_disagreements_with_filters(open_study, django_assert_max_num_queries):
    p = open_study
    items = code_everything(p)
    with django_assert_max_num_queries(3):
        queue = reconcile_queue(study=p.study)
    cells = {(e.item_code, e.dimension_code): e.spread for e in queue}
    codes = [i.public_code for i in items]
    assert cells == {
        (codes[0], "D1"): 1,
        (codes[0], "D3"): 1,
        (codes[1], "D1"): 1,
        (codes[2], "D8"): 1,
    }
    assert [e.dimension_code for e in reconcile_queue(study=p.study, dimension="D1")] == [
        "D1",
        "D1",
    ]
    assert reconcile_queue(study=p.study, min_spread=2) == []
    assert all(not e.reconciled for e in queue)
    reconciliation_decide(
        item=items[1], dimension=dim(p.study, "D1"), value=0, method="discussion", by=p.lead
    )
    assert len(reconcile_queue(study=p.study, status="open")) == 3
    done = reconcile_queue(study=p.study, status="reconciled")
    assert [(d.item_code, d.reconciled_value, d.reconciled_method) for d in done] == [
        (codes[1], 0, "discussion")
    ]
    assert reconcile_next_code(study=p.study, after=codes[0]) == codes[2]
    assert reconcile_next_code(study=p.study, after=codes[2]) == codes[0]  # wraps around


def test_wider_spread_filter(personas):
    p = personas
    items_import(study=p.study, records=make_records(2), by=p.lead)
    study_open(study=p.study, by=p.lead)
    code_everything(p, {0: {"D2": 0}, 1: {"D2": 2}})
    p.study.refresh_from_db()
    items = items_by_code(p.study)
    Score.objects.filter(
        assignment__item=items[1], assignment__coder=p.coder_a, dimension__code="D2"
    ).update(value=0)
    tally_rebuild(study=p.study)  # scores changed behind the services' back: recount
    assert [(e.item_code, e.spread) for e in reconcile_queue(study=p.study, min_spread=2)] == [
        (items[1].public_code, 2)
    ]


def test_side_by_side_is_anonymous_and_stable(open_study, django_assert_max_num_queries):
    p = open_study
    item = code_everything(p)[0]
    with django_assert_max_num_queries(6):
        panel = reconcile_item_get(item=item)
        d1 = next(d for d in panel.dimensions if d.dimension.code == "D1")
        assert d1.disagreement and d1.decision is None
    assert panel.coder_labels == ["Coder A", "Coder B"] and panel.complete
    assert sorted(s.value for s in d1.scores) == [1, 2]
    rationales = {s.rationale for s in d1.scores}
    assert rationales == {f"{RATIONALES[c]} (D1)." for c in ("coder_a", "coder_b")}
    again = reconcile_item_get(item=item)
    first = [(s.label, s.value) for s in d1.scores]
    assert [(s.label, s.value) for s in again.dimensions[0].scores] == first
    assert panel.open_disagreements == 2
    assert coder_label(0) == "Coder A" and coder_label(26) == "Coder AA"


def _score_snapshot(study: Study):
    return list(
        Score.objects.filter(assignment__item__study=study)
        .order_by("pk")
        .values_list("pk", "value", "rationale", "rubric_version", "updated_at")
    ), list(
        Assignment.objects.filter(item__study=study)
        .order_by("pk")
        .values_list("pk", "status", "scores_sha256", "content_sha256", "version", "submitted_at")
    )


def test_decisions_never_touch_first_pass_scores(open_study):
    p = open_study
    items = code_everything(p)
    before = _score_snapshot(p.study)
    decision = reconciliation_decide(
        item=items[0],
        dimension=dim(p.study, "D1"),
        value=2,
        method="adjudicated",
        note="asks first",
        by=p.lead,
    )
    reconciliation_decide(
        item=items[0],
        dimension=dim(p.study, "D1"),
        value=1,
        method="discussion",
        by=p.adjudicator,
        expected_id=decision.pk,
    )
    resolve_all(p, items)
    study_lock(study=p.study, by=p.lead)
    assert _score_snapshot(p.study) == before  # values, rationales, hashes, versions


def test_conflicting_decisions_are_refused_and_logged(open_study):
    p = open_study
    item = code_everything(p)[0]
    d1 = dim(p.study, "D1")
    first = reconciliation_decide(
        item=item, dimension=d1, value=2, method="adjudicated", note="clear ask", by=p.adjudicator
    )
    # a second person who also saw "no decision yet"
    with pytest.raises(Conflict, match="already has a decision"):
        reconciliation_decide(item=item, dimension=d1, value=1, method="discussion", by=p.lead)
    changed = reconciliation_decide(
        item=item, dimension=d1, value=1, method="discussion", by=p.lead, expected_id=first.pk
    )
    # the adjudicator's page still shows decision #first: their change is refused
    with pytest.raises(Conflict, match="changed by someone else"):
        reconciliation_decide(
            item=item,
            dimension=d1,
            value=0,
            method="adjudicated",
            note="stale",
            by=p.adjudicator,
            expected_id=first.pk,
        )
    current = Reconciliation.objects.get(item=item, dimension=d1)
    assert (current.pk, current.value, current.method) == (changed.pk, 1, "discussion")
    assert current.decided_by == p.lead
    events = list(
        Event.objects.filter(study=p.study, verb="reconcile")
        .order_by("pk")
        .values("actor__username", "target", "payload")
    )
    assert [e["actor__username"] for e in events] == ["adjudicator", "lead"]
    assert events[0]["target"] == f"{item.public_code}/D1"
    assert events[0]["payload"] == {
        "value": 2,
        "method": "adjudicated",
        "note": "clear ask",
        "replaces": None,
    }
    assert events[1]["payload"]["replaces"] == {
        "value": 2,
        "method": "adjudicated",
        "note": "clear ask",
        "decided_by__username": "adjudicator",
    }


def test_an_unchanged_decision_is_not_written_again(open_study, client):
    """The page re-sends every dimension and the API may replay: the service itself skips
    a decision identical to the one the caller saw (no new row, no event)."""
    p = open_study
    item = code_everything(p)[0]
    d1 = dim(p.study, "D1")
    first = reconciliation_decide(
        item=item, dimension=d1, value=2, method="adjudicated", note="clear ask", by=p.lead
    )
    again = reconciliation_decide(
        item=item,
        dimension=d1,
        value="2",
        method="adjudicated",
        note=" clear ask ",
        by=p.adjudicator,
        expected_id=first.pk,
    )
    assert again.pk == first.pk and again.decided_by == p.lead
    assert Event.objects.filter(study=p.study, verb="reconcile").count() == 1
    client.force_login(p.lead)
    url = reverse("api-reconcile-decide", args=[p.study.pk, item.public_code])
    body = {"dimension": "D1", "value": 2, "method": "adjudicated", "note": "clear ask"}
    replay = client.post(url, body | {"expected_id": first.pk}, content_type="application/json")
    assert replay.status_code == 200 and replay.json()["id"] == first.pk
    assert Reconciliation.objects.get(item=item, dimension=d1).pk == first.pk
    assert Event.objects.filter(study=p.study, verb="reconcile").count() == 1


def test_decision_validation(open_study):
    p = open_study
    items = items_by_code(p.study)
    d1 = dim(p.study, "D1")
    submit(p.study, p.coder_a, items[0])
    with pytest.raises(ServiceError, match="still being coded"):
        reconciliation_decide(item=items[0], dimension=d1, value=1, method="agreed", by=p.lead)
    submit(p.study, p.coder_b, items[0], {"D1": 2})
    with pytest.raises(ServiceError, match="not one of"):
        reconciliation_decide(item=items[0], dimension=d1, value=7, method="agreed", by=p.lead)
    with pytest.raises(ServiceError, match="Unknown method"):
        reconciliation_decide(item=items[0], dimension=d1, value=1, method="vote", by=p.lead)
    other = p.other_study.rubric.dimensions.first()
    if other.rubric_id != p.study.rubric_id:
        with pytest.raises(ServiceError):
            reconciliation_decide(
                item=items[0], dimension=other, value=1, method="agreed", by=p.lead
            )


@pytest.mark.services
def test_concurrent_decisions_one_wins(transactional_db, require_postgres):
    p = make_personas()
    items_import(study=p.study, records=make_records(1), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    item = code_everything(p, {0: {"D1": 2}})[0]
    d1 = dim(p.study, "D1")
    results: list[str] = []
    lock = threading.Lock()

    def race(expected_id, users, values) -> None:
        barrier = threading.Barrier(len(users))

        def worker(user, value) -> None:
            try:
                barrier.wait()
                reconciliation_decide(
                    item=item,
                    dimension=d1,
                    value=value,
                    method="adjudicated",
                    note="race",
                    by=user,
                    expected_id=expected_id,
                )
                outcome = "ok"
            except Conflict:
                outcome = "conflict"
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcome = repr(exc)
            finally:
                connection.close()
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=worker, args=(u, v)) for u, v in zip(users, values)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)

    race(None, [p.adjudicator, p.lead] * 4, [v % 3 for v in range(8)])
    assert sorted(results) == ["conflict"] * 7 + ["ok"]
    current = Reconciliation.objects.get(item=item, dimension=d1)
    results.clear()
    # Every racer changes the value (re-sending it unchanged would write nothing).
    changes = [(current.value + 1 + v % 2) % 3 for v in range(8)]
    race(current.pk, [p.adjudicator, p.lead] * 4, changes)
    assert sorted(results) == ["conflict"] * 7 + ["ok"]
    assert Reconciliation.objects.filter(item=item, dimension=d1).count() == 1
    assert Event.objects.filter(study=p.study, verb="reconcile").count() == 2


def test_lock_requires_everything_reconciled_or_a_logged_override(open_study):
    p = open_study
    items_by_code(p.study)
    with pytest.raises(ServiceError, match="Not ready to lock"):
        study_lock(study=p.study, by=p.lead)
    with pytest.raises(ServiceError, match="reason"):
        study_lock(study=p.study, by=p.lead, override=True)
    items = code_everything(p)
    with pytest.raises(ServiceError, match="4 item x dimension"):
        study_lock(study=p.study, by=p.lead)
    resolve_all(p, items)
    locked = study_lock(study=p.study, by=p.lead)
    assert locked.status == "locked"
    with pytest.raises(Conflict):
        study_lock(study=p.study, by=p.lead)  # compare-and-set: not open any more
    with pytest.raises(ServiceError, match="not open"):
        reconciliation_decide(
            item=items[0], dimension=dim(p.study, "D1"), value=0, method="agreed", by=p.lead
        )
    event = Event.objects.get(study=p.study, verb="study_lock")
    assert event.actor == p.lead and event.payload["override"] is False


def test_lock_with_override_is_logged(open_study):
    p = open_study
    study_lock(study=p.study, by=p.lead, override=True, reason="pilot ended early")
    event = Event.objects.get(study=p.study, verb="study_lock")
    assert event.payload["override"] is True
    assert event.payload["reason"] == "pilot ended early"
    assert event.payload["items_incomplete"] == 12


# ---- Views --------------------------------------------------------------------------


def test_queue_and_item_pages(open_study, client, django_assert_max_num_queries):
    p = open_study
    items = code_everything(p)
    for user in (p.adjudicator, p.lead):
        client.force_login(user)
        with django_assert_max_num_queries(20):
            r = client.get(reverse("coding:reconcile-queue", args=[p.study.pk]))
        assert r.status_code == 200
        body = r.content.decode()
        assert items[0].public_code in body and "Disagreements" in body
        assert ("Lock &amp; export" in body) is (user == p.lead)  # tabs for leads only
        with django_assert_max_num_queries(25):
            r = client.get(
                reverse("coding:reconcile-item", args=[p.study.pk, items[0].public_code])
            )
        body = r.content.decode()
        assert r.status_code == 200 and "Coder A" in body and "Coder B" in body
        assert f"{RATIONALES['coder_a']} (D1)." in body  # rationales shown...
        assert "coder_a" not in body and "coder_b" not in body  # ...usernames are not
    filtered = client.get(
        reverse("coding:reconcile-queue", args=[p.study.pk]), {"dimension": "D8"}
    ).content.decode()
    assert items[2].public_code in filtered and items[1].public_code not in filtered


def _form(panel, changes: dict[str, tuple]) -> dict:
    data = {}
    for dp in panel.dimensions:
        code = dp.dimension.code
        if dp.decision:
            data[f"value_{code}"] = dp.decision.value
            data[f"method_{code}"] = dp.decision.method
            data[f"note_{code}"] = dp.decision.note
            data[f"expected_{code}"] = dp.decision.pk
        else:
            data[f"expected_{code}"] = ""
    for code, (value, method, note) in changes.items():
        data.update({f"value_{code}": value, f"method_{code}": method, f"note_{code}": note})
    return data


def test_item_post_saves_changed_dimensions_and_reports_conflicts(open_study, client):
    p = open_study
    items = code_everything(p)
    url = reverse("coding:reconcile-item", args=[p.study.pk, items[0].public_code])
    client.force_login(p.adjudicator)
    stale = reconcile_item_get(item=items[0])
    r = client.post(
        url, _form(stale, {"D1": (2, "adjudicated", "asks first"), "D3": (0, "discussion", "")})
    )
    assert r.status_code == 302 and items[1].public_code in r["Location"]  # next open item
    saved = dict(
        Reconciliation.objects.filter(item=items[0]).values_list("dimension__code", "method")
    )
    assert saved["D1"] == "adjudicated" and saved["D3"] == "discussion" and saved["D2"] == "agreed"
    assert Event.objects.filter(study=p.study, verb="reconcile").count() == 2  # unchanged skipped
    # A second adjudicator tab built from the stale page tries to decide D1 differently.
    r = client.post(url, _form(stale, {"D1": (0, "adjudicated", "stale tab")}))
    assert r.status_code == 409
    assert "nothing was overwritten" in r.content.decode()
    assert Reconciliation.objects.get(item=items[0], dimension__code="D1").value == 2


def test_every_new_url_is_404_for_outsiders(open_study, client):
    p = open_study
    items = code_everything(p)
    code = items[0].public_code
    sid = p.study.pk
    urls = [
        reverse("coding:reconcile-queue", args=[sid]),
        reverse("coding:reconcile-item", args=[sid, code]),
        reverse("coding:study-exports", args=[sid]),
        reverse("coding:condition-key", args=[sid]),
        reverse("coding:condition-key-item", args=[sid, code]),
        *[
            reverse("coding:export-csv", args=[sid, k])
            for k in ("long", "wide", "design", "events")
        ],
        *[
            reverse("coding:export-provenance", args=[sid, k])
            for k in ("long", "wide", "design", "events")
        ],
    ]
    posts = [
        reverse("coding:reconcile-auto", args=[sid]),
        reverse("coding:reconcile-item", args=[sid, code]),
        reverse("coding:study-lock", args=[sid]),
        reverse("coding:study-unblind", args=[sid]),
    ]
    for user in (p.outsider, p.other_lead):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        for url in posts:
            assert client.post(url, {"reason": "x", "override": "1"}).status_code == 404, url
    for user in (p.coder_a, p.coder_b):  # coders never reach reconciliation
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        for url in posts:
            assert client.post(url, {"reason": "x"}).status_code == 404, url
    client.force_login(p.adjudicator)  # adjudicators: queue and items, nothing of the lead's
    for url in urls[2:]:
        assert client.get(url).status_code == 404, url
    for url in posts[2:]:
        assert client.post(url, {"reason": "x", "override": "1"}).status_code == 404, url
    # an item of another study through this study's URL
    client.force_login(p.other_lead)
    assert (
        client.get(reverse("coding:reconcile-item", args=[p.other_study.pk, code])).status_code
        == 404
    )
    assert Study.objects.get(pk=sid).status == "open"


def test_adjudicated_needs_a_note_in_the_service_and_on_the_page(open_study, client):
    p = open_study
    items = code_everything(p)
    d1 = dim(p.study, "D1")
    with pytest.raises(ServiceError, match="D1: a note is required when the method is adjudicated"):
        reconciliation_decide(
            item=items[0], dimension=d1, value=2, method="adjudicated", note=" ", by=p.adjudicator
        )
    assert not Reconciliation.objects.filter(item=items[0], dimension=d1).exists()
    client.force_login(p.adjudicator)
    url = reverse("coding:reconcile-item", args=[p.study.pk, items[0].public_code])
    stale = reconcile_item_get(item=items[0])
    r = client.post(url, _form(stale, {"D1": (2, "adjudicated", ""), "D3": (0, "discussion", "")}))
    assert r.status_code == 400
    assert "D1: a note is required" in r.content.decode()
    assert "Saved 1 other decision(s)." in r.content.decode()  # D3 went through
    assert not Reconciliation.objects.filter(item=items[0], dimension=d1).exists()


def test_run_auto_agree_records_what_is_left(open_study, client):
    """The queue offers "Run auto-agree" while a fully coded item has an undecided cell
    (from the counters: no score is read) and hides it when nothing is left."""
    p = open_study
    code_everything(p)  # each last submit records its agreed cells
    client.force_login(p.adjudicator)
    url = reverse("coding:reconcile-queue", args=[p.study.pk])
    assert "Run auto-agree" in client.get(url).content.decode()
    n = Reconciliation.objects.filter(item__study=p.study, method="agreed").count()
    Reconciliation.objects.filter(item__study=p.study, method="agreed")[:1].get().delete()
    client.post(reverse("coding:reconcile-auto", args=[p.study.pk]))
    assert Reconciliation.objects.filter(item__study=p.study, method="agreed").count() == n
    resolve_all(p, list(Item.objects.filter(study=p.study)))
    # Every cell of every fully coded item is decided: nothing is left, no button.
    assert "Run auto-agree" not in client.get(url).content.decode()

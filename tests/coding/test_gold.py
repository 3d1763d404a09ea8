"""Gold items: marking, versioning, CSV import, placement in queues, exclusion from
agreement, reconciliation and exports, training feedback, and the qualification gate."""

from __future__ import annotations

import pytest

from audit.selectors import first_pass_ratings
from coding import selectors
from coding.exports import export_csv
from coding.models import (
    Assignment,
    GoldAssignment,
    GoldItem,
    GoldVersion,
    QualificationAttempt,
    Reconciliation,
)
from coding.selectors.gold import gold_feedback, qualification_status
from coding.selectors.reconcile import reconcile_queue
from coding.services import Conflict, ServiceError
from coding.services.gold import (
    gold_import_csv,
    gold_set,
    qualification_retry,
    quality_settings_update,
)

from .gold_helpers import expected, gold_study, submit, varied

pytestmark = pytest.mark.django_db


def _assignments(study, coder):
    return list(Assignment.objects.filter(item__study=study, coder=coder).order_by("position"))


def test_gold_mixed_into_every_queue_at_the_rate(personas):
    study, golds = gold_study(personas, n_items=12, n_gold=6, rate=20)
    gold_ids = {g.pk for g in golds}
    for coder in (personas.coder_a, personas.coder_b):
        mine = _assignments(study, coder)
        n_gold = sum(a.item_id in gold_ids for a in mine)
        n_real = len(mine) - n_gold
        # 12 items x k=2 / 2 coders = 12 ordinary each; 20 % gold -> 12 * .2 / .8 = 3.
        assert (n_real, n_gold) == (12, 3)
        assert [a.position for a in mine] == list(range(len(mine)))
        # every gold assignment is marked, ordinary ones are not
        marked = set(
            GoldAssignment.objects.filter(assignment__in=mine).values_list(
                "assignment__item_id", flat=True
            )
        )
        assert marked == {a.item_id for a in mine if a.item_id in gold_ids}
    # gold items are not in the k-coder design: no gold item went through the engine
    assert not Assignment.objects.filter(item__in=golds).exclude(gold_role__isnull=False).exists()


def test_gold_positions_are_not_all_at_one_end(personas):
    study, golds = gold_study(personas, n_items=30, n_gold=10, rate=25)
    gold_ids = {g.pk for g in golds}
    positions = [a.position for a in _assignments(study, personas.coder_a) if a.item_id in gold_ids]
    total = len(_assignments(study, personas.coder_a))
    assert positions and min(positions) < total - len(positions)  # not just appended


def test_gold_set_validates_and_versions_only_after_coding(personas):
    study, golds = gold_study(personas, rate=50)
    item = golds[0]
    with pytest.raises(ServiceError, match="every dimension"):
        gold_set(item=item, expected={"D1": 1}, by=personas.lead)
    with pytest.raises(ServiceError, match="not one of"):
        gold_set(item=item, expected=expected(study, 7), by=personas.lead)
    with pytest.raises(ServiceError, match="not a level"):
        gold_set(item=item, expected=expected(study) | {"D1": "9" * 5000}, by=personas.lead)
    # nobody submitted yet: edited in place
    v = gold_set(item=item, expected=expected(study, 2), by=personas.lead)
    assert v.number == 1 and GoldVersion.objects.filter(gold__item=item).count() == 1
    a = Assignment.objects.filter(item=item).first()
    submit(a, expected(study, 2), a.coder)
    assert GoldAssignment.objects.get(assignment=a).version == v
    # after a submission: a new version; the coder stays compared with v1
    v2 = gold_set(item=item, expected=expected(study, 0), by=personas.lead)
    assert v2.number == 2
    assert GoldAssignment.objects.get(assignment=a).version.number == 1


def test_ordinary_item_already_coded_cannot_become_gold(personas):
    study, golds = gold_study(personas, n_gold=2, rate=0)
    a = Assignment.objects.filter(item__study=study).exclude(item__in=golds).first()
    submit(a, expected(study), a.coder)
    with pytest.raises(ServiceError, match="already coded"):
        gold_set(item=a.item, expected=expected(study), by=personas.lead)


def test_gold_csv_import_all_or_nothing(personas):
    study, golds = gold_study(personas, n_gold=0, rate=0)
    item = study.items.first()
    dims = [d.code for d in study.rubric.dimensions.all()]
    rows = ["item_code,dimension,expected_score,explanation"] + [
        f"{item.public_code},{d},2,why {d}" for d in dims
    ]
    assert gold_import_csv(study=study, raw="\n".join(rows).encode(), by=personas.lead) == 1
    gold = GoldItem.objects.get(item=item).versions.get()
    assert gold.expected == dict.fromkeys(dims, 2) and gold.explanations["D3"] == "why D3"
    bad = rows + ["NOPE-123,D1,1,x"]
    with pytest.raises(ServiceError, match="not in this study"):
        gold_import_csv(study=study, raw="\n".join(bad).encode(), by=personas.lead)
    with pytest.raises(ServiceError, match="Columns"):
        gold_import_csv(study=study, raw=b"a,b\n1,2", by=personas.lead)
    with pytest.raises(ServiceError, match="UTF-8"):
        gold_import_csv(study=study, raw=b"\xff\xfe", by=personas.lead)


def test_settings_bounds(personas):
    study = personas.study
    for kwargs in (
        {"gold_rate": 51},
        {"gold_rate": "9" * 5000},
        {"qualification_items": -1},
        {"pass_kappa": "nan"},
        {"pass_kappa": 2},
    ):
        args = {"gold_rate": 10, "training": False, "qualification_items": 0, "pass_kappa": 0.6}
        with pytest.raises(ServiceError):
            quality_settings_update(study=study, by=personas.lead, **(args | kwargs))


def test_gold_excluded_from_agreement_reconciliation_and_exports(personas):
    study, golds = gold_study(personas, n_items=4, n_gold=4, rate=50)
    gold_codes = {g.public_code for g in golds}
    for coder, value in ((personas.coder_a, 0), (personas.coder_b, 2)):
        for a in _assignments(study, coder):
            submit(a, expected(study, value), coder)
    codes = {row[0] for row in first_pass_ratings(study=study)}
    assert codes and not codes & gold_codes
    assert not {e.item_code for e in reconcile_queue(study=study)} & gold_codes
    assert not Reconciliation.objects.filter(item__in=golds).exists()
    long_csv = "".join(export_csv(study=study, kind="long"))
    wide_csv = "".join(export_csv(study=study, kind="wide"))
    for code in gold_codes:
        assert code not in long_csv and code not in wide_csv


def test_training_feedback_only_after_submitting_gold(personas):
    study, golds = gold_study(personas, rate=50, training=True)
    gold_ids = {g.pk for g in golds}
    mine = _assignments(study, personas.coder_a)
    gold_a = next(a for a in mine if a.item_id in gold_ids)
    real_a = next(a for a in mine if a.item_id not in gold_ids)
    assert gold_feedback(assignment=gold_a) is None  # not submitted yet
    submit(gold_a, expected(study, 1), personas.coder_a)
    submit(real_a, expected(study, 1), personas.coder_a)
    gold_a.refresh_from_db()
    real_a.refresh_from_db()
    fb = gold_feedback(assignment=gold_a)
    assert (
        fb
        and fb["rows"][0]["expected"]
        == GoldAssignment.objects.get(assignment=gold_a).version.expected["D1"]
    )
    assert gold_feedback(assignment=real_a) is None
    quality_settings_update(
        study=study,
        by=personas.lead,
        gold_rate=50,
        training=False,
        qualification_items=0,
        pass_kappa=0.6,
    )
    assert gold_feedback(assignment=gold_a) is None


def test_qualification_gate_pass_and_fail_then_retry(personas):
    study, golds = gold_study(personas, n_items=12, n_gold=12, rate=10, qual=3, kappa=0.6)
    a_queue = list(selectors.coder_queue(study=study, coder=personas.coder_a))
    assert len(a_queue) == 3  # only the qualification round is visible
    assert selectors.coder_progress(study=study, coder=personas.coder_a) == (0, 3)
    hidden = (
        Assignment.objects.filter(item__study=study, coder=personas.coder_a)
        .exclude(pk__in=[a.pk for a in a_queue])
        .first()
    )
    with pytest.raises(ServiceError, match="qualification"):
        submit(hidden, expected(study), personas.coder_a)
    # coder A answers exactly as gold: passes
    for a in a_queue:
        gold = GoldItem.objects.get(item_id=a.item_id).versions.first().expected
        submit(a, gold, personas.coder_a)
    status = {r.coder: r for r in qualification_status(study=study)}
    assert status["coder_a"].status == "passed"
    assert len(list(selectors.coder_queue(study=study, coder=personas.coder_a))) > 3
    # coder B answers far from gold: fails, stays gated
    b_queue = list(selectors.coder_queue(study=study, coder=personas.coder_b))
    for a in b_queue:
        gold = GoldItem.objects.get(item_id=a.item_id).versions.first().expected
        submit(a, {c: (2 - v) for c, v in gold.items()}, personas.coder_b)
    status = {r.coder: r for r in qualification_status(study=study)}
    assert status["coder_b"].status == "failed" and status["coder_b"].can_retry
    assert selectors.next_assignment(study=study, coder=personas.coder_b) is None
    with pytest.raises(Conflict):
        qualification_retry(study=study, coder=personas.coder_a, by=personas.lead)
    attempt = qualification_retry(study=study, coder=personas.coder_b, by=personas.lead)
    assert attempt.number == 2
    retry_items = {
        a.item_id
        for a in selectors.coder_queue(study=study, coder=personas.coder_b)
        if a.status == "open"
    }
    assert len(retry_items) == 3 and not retry_items & {a.item_id for a in b_queue}
    assert QualificationAttempt.objects.filter(coder=personas.coder_b).count() == 2


def test_qualification_rule_fixed_once_open(personas):
    study, _ = gold_study(personas, qual=2)
    with pytest.raises(ServiceError, match="draft"):
        quality_settings_update(
            study=study,
            by=personas.lead,
            gold_rate=20,
            training=True,
            qualification_items=3,
            pass_kappa=0.6,
        )


def test_qualification_needs_enough_gold(personas):
    with pytest.raises(ServiceError, match="needs 5 gold"):
        gold_study(personas, n_gold=2, qual=5)


def test_varied_helper_is_not_constant(personas):
    assert len(set(varied(personas.study).values())) == 3

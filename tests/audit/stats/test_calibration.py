"""A rater against a reference: hand-computed worked example, edge cases, the report table."""

from __future__ import annotations

import pytest

from audit.judge_calibration import CSV_HEADER, build_calibration, calibration_csv_rows
from audit.stats.calibration import calibrate

# (rater, reference) for ten items. Confusion (rows rater): [[2,1,0],[1,2,0],[0,1,3]].
PAIRS = [(0, 0), (0, 0), (1, 1), (1, 1), (2, 2), (2, 2), (1, 0), (2, 1), (0, 1), (2, 2)]
RATER = {f"i{n}": r for n, (r, _) in enumerate(PAIRS)}
REFERENCE = {f"i{n}": ref for n, (_, ref) in enumerate(PAIRS)}


def test_hand_computed_example():
    result = calibrate(RATER, REFERENCE, [0, 1, 2], n_boot=500, seed=1)
    assert result.n_items == 10
    assert result.exact == pytest.approx(0.7)
    assert result.within_one == pytest.approx(1.0)
    assert result.bias == pytest.approx(0.1)  # +1 +1 -1 over ten items
    # po = 0.7, pe = (9 + 12 + 12) / 100 = 0.33 (Cohen 1960)
    assert result.values["cohen_kappa"] == pytest.approx(0.37 / 0.67)
    # quadratic weights 1 - d^2/4: po_w = 0.925, pe_w = 0.675 (Cohen 1968)
    assert result.values["cohen_kappa_quadratic"] == pytest.approx(0.25 / 0.325)
    # pi = (0.3, 0.35, 0.35), pe = sum pi(1 - pi) / (q - 1) = 0.3325 (Gwet 2008)
    assert result.values["gwet_ac1"] == pytest.approx(0.3675 / 0.6675)
    low, high = result.ci["cohen_kappa"]
    assert low < result.values["cohen_kappa"] < high
    assert result.bias_ci[0] <= 0.1 <= result.bias_ci[1]


def test_only_shared_items_count_and_nothing_shared_is_undefined():
    partial = calibrate(RATER, {"i0": 0, "i6": 0, "zz": 2}, [0, 1, 2], n_boot=0)
    assert partial.n_items == 2 and partial.bias == pytest.approx(0.5)
    empty = calibrate(RATER, {}, [0, 1, 2], n_boot=100)
    assert empty.n_items == 0 and empty.bias is None and empty.values["cohen_kappa"] is None
    assert empty.reasons["cohen_kappa"]


def test_constant_ratings_give_undefined_kappa_with_a_reason():
    same = {f"i{n}": 2 for n in range(5)}
    result = calibrate(same, same, [0, 1, 2], n_boot=50)
    assert result.exact == 1.0 and result.values["cohen_kappa"] is None
    assert "cohen_kappa" in result.reasons


def test_report_against_each_coder_and_reconciled():
    judge = [(i, "D1", v, "") for i, v in RATER.items()] + [("i0", "D2", None, "3 is out")]
    human = [(i, "alice", "D1", v) for i, v in REFERENCE.items()]
    human += [(i, "bob", "D1", v) for i, v in RATER.items()]
    reconciled = [(i, "D1", v) for i, v in REFERENCE.items()]
    results = build_calibration(
        dimensions=[("D1", "Spec", (0, 1, 2)), ("D2", "Process", (0, 1, 2))],
        judge=judge,
        human=human,
        reconciled=reconciled,
        n_boot=100,
    )
    assert results["references"] == ["reconciled", "alice", "bob"]
    d1, d2 = results["dimensions"]
    rows = {r["reference"]: r for r in d1["rows"]}
    assert rows["reconciled"]["cohen_kappa"] == pytest.approx(0.37 / 0.67)
    assert rows["alice"]["cohen_kappa"] == pytest.approx(0.37 / 0.67)
    assert rows["bob"]["exact"] == 1.0  # bob rated exactly like the judge
    assert d1["baseline"]["cohen_kappa_quadratic"] == pytest.approx(0.25 / 0.325)
    assert d2["rejected"] == 1 and d2["rejected_reasons"] == ["3 is out"]
    csv = list(calibration_csv_rows(results))
    assert len(csv) == 6 and all(len(row) == len(CSV_HEADER) for row in csv)

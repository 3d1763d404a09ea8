"""Coder-quality statistics against hand-computed examples (worked in the comments)."""

from __future__ import annotations

import pytest

from audit.stats.drift import cusum_upper, drift_detect, item_disagreement, rolling_mean
from audit.stats.quality import (
    mean_interval,
    paired_quality,
    quadratic_kappa,
    qualification_verdict,
    wilson_interval,
)

CATS = (0, 1, 2)


def test_quadratic_kappa_hand_example():
    # coder [0,1,2,2] vs reference [0,1,1,2]; proportions p = [[.25,0,0],[0,.25,0],[0,.25,.25]],
    # rows .25/.25/.5, columns .25/.5/.25, weights (i-j)^2/4. Observed disagreement
    # .25 * .25 = .0625; expected .09375 + .03125 + .1875 = .3125; kappa = 1 - .2 = 0.8.
    kappa, ci = quadratic_kappa([0, 1, 2, 2], [0, 1, 1, 2], CATS)
    assert kappa == pytest.approx(0.8)
    assert ci is None


def test_paired_quality_hand_example():
    q = paired_quality([0, 1, 2, 2], [0, 1, 1, 2], CATS, n_boot=200, seed=1)
    assert q.n == 4
    assert q.exact == 0.75 and q.within_one == 1.0
    assert q.bias == pytest.approx(0.25)  # differences 0, 0, 1, 0
    # Wilson 3/4, z = 1.96: centre (.75 + .4802) / 1.9604 = .6275, half .3269.
    assert q.exact_ci == pytest.approx((0.3006, 0.9544), abs=1e-3)
    # t interval: sd of (0,0,1,0) = .5, se .25, t(.975, 3) = 3.1824 -> .25 -/+ .7956.
    assert q.bias_ci == pytest.approx((-0.5456, 1.0456), abs=1e-3)
    assert q.qwk_ci is not None and q.qwk_ci[0] <= 0.8 <= q.qwk_ci[1]


def test_undefined_values_are_none():
    q = paired_quality([], [], CATS)
    assert q.exact is None and q.qwk is None and q.bias is None and q.exact_ci is None
    # Reference constant and coder constant: chance agreement is 1, kappa undefined.
    assert quadratic_kappa([1, 1], [1, 1], CATS)[0] is None
    assert mean_interval([1.0]) is None
    # Constant reference: kappa would be 0 whatever the coder does; reported undefined.
    assert quadratic_kappa([1, 2, 1], [1, 1, 1], CATS)[0] == pytest.approx(0.0)
    assert paired_quality([1, 2, 1], [1, 1, 1], CATS, n_boot=0).qwk is None
    assert wilson_interval(0, 0) is None


def test_wilson_edges():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)  # z^2/(n+z^2) = 3.84/13.84


def test_qualification_verdict_uses_exact_when_kappa_undefined():
    passed, detail = qualification_verdict(
        {
            "D1": ([0, 1, 2, 2], [0, 1, 1, 2], CATS),  # qwk 0.8
            "D2": ([1, 1, 1, 0], [1, 1, 1, 1], CATS),  # gold constant: exact 0.75
        },
        threshold=0.7,
    )
    assert passed
    assert detail["D1"] == {"basis": "qwk", "value": 0.8, "passed": True}
    assert detail["D2"] == {"basis": "exact", "value": 0.75, "passed": True}
    failed, detail = qualification_verdict({"D1": ([0, 1, 2, 2], [0, 1, 1, 2], CATS)}, 0.85)
    assert not failed and detail["D1"]["passed"] is False


def test_rolling_mean():
    assert rolling_mean([1, 0, 1, 1], 2) == [1.0, 0.5, 0.5, 1.0]
    with pytest.raises(ValueError):
        rolling_mean([1], 0)


def test_cusum_hand_example():
    # target .05 (floor; the burn-in mean is 0), K = .1: each .5 adds .5 - .15 = .35:
    # C = .35, .70, 1.05 > H = .8 at index 6.
    series = [0, 0, 0, 0, 0.5, 0.5, 0.5]
    result = drift_detect(series, burn_in=4, k=0.1, h=0.8)
    assert result.target == pytest.approx(0.05)
    assert result.statistic[4:] == pytest.approx([0.35, 0.70, 1.05])
    assert result.alarm == 6


def test_cusum_resets_at_zero_and_stays_quiet_in_control():
    r = cusum_upper([0.5, 0, 0, 0.5], target=0.1, k=0.1, h=0.8)
    # .3, max(0, .3 - .2) = .1, 0, .3
    assert r.statistic == pytest.approx([0.3, 0.1, 0.0, 0.3])
    assert r.alarm is None
    assert drift_detect([0.1] * 5, burn_in=10) is None


def test_item_disagreement():
    assert item_disagreement({"D1": 1, "D2": 2}, {"D1": 1, "D2": 0}) == 0.5
    assert item_disagreement({"D1": 1}, {"D3": 1}) is None

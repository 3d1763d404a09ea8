"""Exact tests of equal redaction rates: published values and a brute-force reference."""

import itertools
from math import comb

import pytest

from audit.stats.homogeneity import freeman_halton_exact, rate_test


def brute_force(redacted, sizes):
    """Freeman-Halton by definition: every first row with the observed margins."""
    total, n = sum(redacted), sum(sizes)

    def prob(row):
        p = 1.0
        for size, x in zip(sizes, row, strict=True):
            p *= comb(size, x)
        return p / comb(n, total)

    observed = prob(redacted)
    return sum(
        prob(row)
        for row in itertools.product(*[range(s + 1) for s in sizes])
        if sum(row) == total and prob(row) <= observed * (1 + 1e-7)
    )


def test_two_conditions_is_fishers_exact_test():
    # R, ?fisher.test, "TeaTasting" (Agresti 1990, p. 61): p-value = 0.4857.
    result = rate_test([3, 1], [4, 4])
    assert result.method == "fisher_exact"
    assert result.p_value == pytest.approx(0.4857, abs=5e-5)


@pytest.mark.parametrize(
    ("redacted", "sizes"),
    [
        ([3, 1, 0], [4, 4, 4]),
        ([5, 2, 1, 0], [6, 5, 5, 4]),
        ([2, 2, 2], [4, 4, 4]),
        ([0, 3, 1], [3, 5, 2]),
    ],
)
def test_freeman_halton_matches_the_definition(redacted, sizes):
    assert freeman_halton_exact(redacted, sizes) == pytest.approx(brute_force(redacted, sizes))
    assert rate_test(redacted, sizes).method == "freeman_halton_exact"


def test_demo_shape_differs_and_equal_rates_do_not():
    # The demo study: 28, 16 and 12 of 60 items per model carry a marker.
    assert rate_test([28, 16, 12], [60, 60, 60]).p_value < 0.01
    assert rate_test([14, 14, 14, 14], [45, 45, 45, 45]).p_value == pytest.approx(1.0)


def test_large_tables_fall_back_to_monte_carlo(monkeypatch):
    import audit.stats.homogeneity as h

    monkeypatch.setattr(h, "MAX_TABLES", 10)
    result = rate_test([28, 16, 12], [60, 60, 60], seed=1)
    assert result.method == "freeman_halton_monte_carlo"
    exact = freeman_halton_exact([28, 16, 12], [60, 60, 60])
    assert result.p_value == pytest.approx(exact, abs=0.003)  # 9,999 tables: SE ~ 0.0007


@pytest.mark.parametrize(
    ("redacted", "sizes", "p"),
    [([0, 0], [5, 5], 1.0), ([5, 5], [5, 5], 1.0), ([2], [5], None), ([1, 0], [3, 0], None)],
)
def test_undefined_cases_say_why(redacted, sizes, p):
    result = rate_test(redacted, sizes)
    assert result.p_value == p and result.note

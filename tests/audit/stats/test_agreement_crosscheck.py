"""Random data cross-checked against independent implementations.

scikit-learn's cohen_kappa_score, the krippendorff package, statsmodels' fleiss_kappa,
and a line-by-line port of irrCAC's gwet.ac1.raw / fleiss.kappa.raw written here with
plain loops (no shared code with audit.stats).
"""

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from audit.stats.agreement import agreement, agreement_from_codes
from audit.stats.agreement_core import coefficients, pattern_table


def _correlated(rng, n_items, n_coders, q, missing=0.0, accuracy=0.6):
    """Coders who copy a latent category with probability `accuracy`, else guess."""
    truth = rng.choice(q, size=n_items, p=rng.dirichlet(np.ones(q)))
    codes = np.where(
        rng.random((n_items, n_coders)) < accuracy,
        truth[:, None],
        rng.integers(0, q, size=(n_items, n_coders)),
    )
    codes[rng.random(codes.shape) < missing] = -1
    return codes


def _irrcac(codes, q, weights):
    """irrCAC gwet.ac1.raw / fleiss.kappa.raw (Gwet 2014), ported one statement at a time."""
    ranks = np.arange(q)
    if weights == "none":
        w = np.eye(q)
    elif weights == "linear":
        w = 1 - np.abs(ranks[:, None] - ranks[None, :]) / (q - 1)
    else:
        w = 1 - (ranks[:, None] - ranks[None, :]) ** 2 / (q - 1) ** 2
    rows = [row for row in codes if (row >= 0).any()]
    n = len(rows)
    agree = np.array([[sum(1 for v in row if v == k) for k in range(q)] for row in rows], float)
    agree_w = (w @ agree.T).T
    ri = agree.sum(axis=1)
    sum_q = (agree * (agree_w - 1)).sum(axis=1)
    n2more = ri >= 2
    pa = sum(sum_q[i] / (ri[i] * (ri[i] - 1)) for i in range(n) if n2more[i]) / n2more.sum()
    pi = sum(agree[i] / ri[i] for i in range(n)) / n
    pe_gwet = w.sum() * sum(pi * (1 - pi)) / (q * (q - 1))
    pe_fleiss = sum(w[k, j] * pi[k] * pi[j] for k in range(q) for j in range(q))
    return (pa - pe_gwet) / (1 - pe_gwet), (pa - pe_fleiss) / (1 - pe_fleiss)


@pytest.mark.parametrize("seed", range(6))
def test_cohen_kappa_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    q = 3 + seed % 3
    codes = _correlated(rng, int(rng.integers(20, 400)), 2, q)
    r = agreement_from_codes(codes, list(range(q)), n_boot=0)
    labels = list(range(q))
    for name, weights in (
        ("cohen_kappa", None),
        ("cohen_kappa_linear", "linear"),
        ("cohen_kappa_quadratic", "quadratic"),
    ):
        expected = cohen_kappa_score(codes[:, 0], codes[:, 1], labels=labels, weights=weights)
        assert r.value(name) == pytest.approx(expected, abs=1e-10), name
    assert r.value("percent_agreement") == pytest.approx(np.mean(codes[:, 0] == codes[:, 1]))


def test_cohen_kappa_uses_only_items_rated_by_both():
    rng = np.random.default_rng(11)
    codes = _correlated(rng, 300, 2, 4, missing=0.2)
    both = (codes >= 0).all(axis=1)
    r = agreement_from_codes(codes, [0, 1, 2, 3], n_boot=0)
    expected = cohen_kappa_score(codes[both, 0], codes[both, 1], weights="quadratic")
    assert r.value("cohen_kappa_quadratic") == pytest.approx(expected, abs=1e-10)
    assert r.n_pairs == both.sum()
    assert any("rated by only one coder" in w for w in r.warnings)


@pytest.mark.parametrize("seed", range(6))
def test_krippendorff_alpha_matches_package_with_missing(seed):
    rng = np.random.default_rng(100 + seed)
    q = 3 + seed % 3
    n_coders = 2 + seed % 4
    codes = _correlated(rng, int(rng.integers(15, 300)), n_coders, q, missing=0.25)
    reliability = np.where(codes >= 0, codes, np.nan).T  # coders x units
    r = agreement_from_codes(codes, list(range(q)), n_boot=0)
    for level in ("nominal", "ordinal", "interval"):
        expected = krippendorff.alpha(
            reliability, level_of_measurement=level, value_domain=list(range(q))
        )
        assert r.value(f"krippendorff_alpha_{level}") == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_interval_and_ratio_alpha_use_category_values_not_ranks(seed):
    # Issue 13 part 7: on unequally spaced categories (0, 1, 5 ...) Krippendorff's
    # interval delta^2 is (c - k)^2 of the values; ordinal stays rank-based. The
    # krippendorff package takes the values as given and ranks them for ordinal.
    rng = np.random.default_rng(300 + seed)
    values = [[0, 1, 5], [0, 0.5, 1, 4], [1, 2, 3, 10, 100], [-2, 0, 3]][seed]
    q = len(values)
    codes = _correlated(rng, int(rng.integers(30, 200)), 2 + seed % 3, q, missing=0.2)
    numbers = np.asarray(values, dtype=float)
    reliability = np.where(codes >= 0, numbers[np.maximum(codes, 0)], np.nan).T
    r = agreement_from_codes(codes, values, n_boot=0)
    levels = ("nominal", "ordinal", "interval") + (("ratio",) if min(values) >= 0 else ())
    for level in levels:
        expected = krippendorff.alpha(reliability, level_of_measurement=level, value_domain=values)
        assert r.value(f"krippendorff_alpha_{level}") == pytest.approx(expected, abs=1e-10)
    ranks = agreement_from_codes(codes, list(range(q)), n_boot=0)
    assert r.value("krippendorff_alpha_ordinal") == ranks.value("krippendorff_alpha_ordinal")
    if min(values) < 0:
        assert r.value("krippendorff_alpha_ratio") is None
        assert "negative" in r.coefficients["krippendorff_alpha_ratio"].reason


def test_interval_and_ratio_alpha_are_undefined_for_text_categories():
    rng = np.random.default_rng(12)
    codes = _correlated(rng, 60, 2, 3)
    r = agreement_from_codes(codes, ["absent", "partial", "present"], n_boot=100)
    for name in ("krippendorff_alpha_interval", "krippendorff_alpha_ratio"):
        assert r.value(name) is None and r.coefficients[name].ci is None
        assert "not numbers" in r.coefficients[name].reason
    assert any("interval" in w and "not numbers" in w for w in r.warnings)
    assert r.value("krippendorff_alpha_ordinal") is not None


@pytest.mark.parametrize("seed", range(6))
def test_fleiss_and_gwet_match_irrcac_port_with_missing(seed):
    rng = np.random.default_rng(200 + seed)
    q = 3 + seed % 3
    codes = _correlated(rng, int(rng.integers(20, 120)), 3 + seed % 3, q, missing=0.3)
    r = agreement_from_codes(codes, list(range(q)), n_boot=0)
    for kind, name in (
        ("none", "gwet_ac1"),
        ("linear", "gwet_ac2_linear"),
        ("quadratic", "gwet_ac2_quadratic"),
    ):
        ac, kappa = _irrcac(codes, q, kind)
        assert r.value(name) == pytest.approx(ac, abs=1e-10), name
        if kind == "none":
            assert r.value("fleiss_kappa") == pytest.approx(kappa, abs=1e-10)


def test_ac2_on_krippendorff_2011_data_matches_irrcac_port():
    # No printed AC2 value for these data was found, so the check is against the port.
    data = (
        np.array(
            [
                [1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0],
                [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3],
                [0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0],
                [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0],
            ]
        ).T
        - 1
    )  # 0 was "missing", so it becomes -1
    r = agreement_from_codes(data, [1, 2, 3, 4, 5], n_boot=0)
    assert r.value("gwet_ac2_linear") == pytest.approx(_irrcac(data, 5, "linear")[0], abs=1e-10)
    assert r.value("gwet_ac2_quadratic") == pytest.approx(
        _irrcac(data, 5, "quadratic")[0], abs=1e-10
    )


def test_fleiss_kappa_matches_statsmodels_on_complete_data():
    rng = np.random.default_rng(7)
    codes = _correlated(rng, 80, 5, 4)
    counts, _ = aggregate_raters(codes, n_cat=4)
    r = agreement_from_codes(codes, [0, 1, 2, 3], n_boot=0)
    assert r.value("fleiss_kappa") == pytest.approx(fleiss_kappa(counts), abs=1e-10)


def test_scott_pi_equals_fleiss_kappa_for_two_complete_coders():
    rng = np.random.default_rng(3)
    r = agreement_from_codes(_correlated(rng, 150, 2, 3), [0, 1, 2], n_boot=0)
    assert r.value("scott_pi") == pytest.approx(r.value("fleiss_kappa"), abs=1e-12)


def test_pattern_weights_reproduce_a_row_resample_exactly():
    # A bootstrap draw is a weight vector over patterns; weights built from an explicit
    # row resample must give exactly the coefficients of the resampled rows.
    rng = np.random.default_rng(5)
    codes = _correlated(rng, 200, 3, 3, missing=0.2)
    table = pattern_table(codes, 3, values=(0.0, 1.0, 2.0))
    index = rng.integers(0, len(codes), len(codes))
    resampled = codes[index]
    kept = (resampled >= 0).any(axis=1)
    lookup = {tuple(p): j for j, p in enumerate(table.patterns)}
    weights = np.zeros((1, len(table.counts)))
    for row in resampled[kept]:
        weights[0, lookup[tuple(row)]] += 1
    values, _ = coefficients(table, weights)
    direct = agreement_from_codes(resampled, [0, 1, 2], n_boot=0)
    for name, value in values.items():
        if not name.startswith("_"):
            expected = direct.value(name)
            assert (expected is None and np.isnan(value[0])) or value[0] == pytest.approx(
                expected, abs=1e-12
            ), name


def test_pattern_bootstrap_matches_row_bootstrap_distribution():
    # The multinomial draws over pattern counts and sklearn on row resamples should give
    # the same bootstrap distribution of kappa (up to Monte Carlo error).
    rng = np.random.default_rng(9)
    codes = _correlated(rng, 300, 2, 3)
    ratings = [(i, c, int(v)) for i, row in enumerate(codes) for c, v in enumerate(row)]
    r = agreement(ratings, [0, 1, 2], n_boot=2000, seed=1)
    row_draws = []
    for _ in range(300):
        idx = rng.integers(0, len(codes), len(codes))
        row_draws.append(cohen_kappa_score(codes[idx, 0], codes[idx, 1]))
    low, high = np.percentile(row_draws, [2.5, 97.5])
    ci = r.coefficients["cohen_kappa"].ci
    width = high - low
    assert abs(ci[0] - low) < 0.25 * width and abs(ci[1] - high) < 0.25 * width

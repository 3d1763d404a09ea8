"""Bradley-Terry fits against published and independent references.

- Turner & Firth (2012), "Bradley-Terry models in R: the BradleyTerry2 package", J. Stat.
  Softw. 48(9), section 2.1: journal citations (Stigler 1994; Agresti 2002, p. 448), abilities
  relative to Biometrika: Comm Statist -2.9491, JASA -0.4796, JRSS-B 0.2689.
- Standard errors: statsmodels' binomial GLM (independent IRLS) on the same contests, its
  reference-coded covariance transformed to the sum-to-zero parameterisation.
"""

from __future__ import annotations

import numpy as np
import pytest

from audit.stats.bradley_terry import (
    Comparison,
    bradley_terry,
    comparisons_from_scores,
    fit,
    rank_flips,
)

JOURNALS = ["Biometrika", "Comm Statist", "JASA", "JRSS-B"]
# citations[cited, citing]: the cited journal "beats" the citing one.
CITATIONS = np.array(
    [[714, 730, 498, 221], [33, 425, 68, 17], [320, 813, 1072, 142], [284, 276, 325, 188]]
)


def citation_contests() -> list[Comparison]:
    return [
        Comparison(JOURNALS[i], JOURNALS[j], int(CITATIONS[i, j]))
        for i in range(4)
        for j in range(4)
        if i != j
    ]


def test_citations_match_bradleyterry2():
    result = fit(citation_contests())
    assert result.converged
    theta = result.log_strength
    relative = {name: theta[name] - theta["Biometrika"] for name in JOURNALS}
    assert relative["Comm Statist"] == pytest.approx(-2.9491, abs=1e-4)
    assert relative["JASA"] == pytest.approx(-0.4796, abs=1e-4)
    assert relative["JRSS-B"] == pytest.approx(0.2689, abs=1e-4)
    assert sum(theta.values()) == pytest.approx(0.0, abs=1e-12)
    assert result.rank == ["JRSS-B", "Biometrika", "JASA", "Comm Statist"]
    assert result.n_comparisons == int(CITATIONS.sum() - np.trace(CITATIONS))


def test_standard_errors_match_a_binomial_glm():
    import statsmodels.api as sm

    rows, wins, losses = [], [], []
    for i in range(4):
        for j in range(i + 1, 4):
            x = np.zeros(4)
            x[i], x[j] = 1.0, -1.0
            rows.append(x[1:])  # Biometrika is the reference (ability 0)
            wins.append(CITATIONS[i, j])
            losses.append(CITATIONS[j, i])
    glm = sm.GLM(np.column_stack([wins, losses]), np.array(rows),
                 family=sm.families.Binomial()).fit(tol=1e-12)  # fmt: skip
    cov_ref = np.zeros((4, 4))
    cov_ref[1:, 1:] = glm.cov_params()
    centre = np.eye(4) - np.ones((4, 4)) / 4  # theta_sum0 = centre @ theta_ref
    se_expected = np.sqrt(np.diag(centre @ cov_ref @ centre.T))
    result = fit(citation_contests())
    assert [result.se[n] for n in JOURNALS] == pytest.approx(se_expected, rel=1e-6)
    assert result.log_likelihood == pytest.approx(-1622.88981, abs=1e-4)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    a = fit(citation_contests(), bootstrap=200, seed=11)
    b = fit(citation_contests(), bootstrap=200, seed=11)
    assert a.ci == b.ci
    for name in JOURNALS:
        lo, hi = a.ci[name]
        assert lo < a.log_strength[name] < hi
    assert fit(citation_contests(), bootstrap=200, seed=12).ci != a.ci
    assert fit(citation_contests()).ci is None


@pytest.mark.parametrize(
    "contests, reason",
    [
        ([Comparison("a", "b"), Comparison("b", "a"), Comparison("a", "c")], "c never won"),
        ([Comparison("a", "b"), Comparison("b", "a"), Comparison("c", "a")], "c never lost"),
        (
            [
                Comparison("a", "b"),
                Comparison("b", "a"),
                Comparison("c", "d"),
                Comparison("d", "c"),
            ],
            "not connected",
        ),  # fmt: skip
        (
            [
                Comparison("a", "b"),
                Comparison("b", "a"),
                Comparison("c", "d"),
                Comparison("d", "c"),
                Comparison("a", "c"),
                Comparison("b", "d"),
            ],
            "not strongly",
        ),  # fmt: skip
    ],
)
def test_no_mle_reports_why_and_invents_nothing(contests, reason):
    result = fit(contests, bootstrap=20, seed=1)
    assert result.converged is False
    assert result.log_strength is None and result.se is None and result.rank is None
    assert reason in result.note


def test_rank_flips_between_configurations():
    contests = []
    for config, (strong, weak) in {"greedy": ("A", "B"), "sampled": ("B", "A")}.items():
        contests += [Comparison(strong, weak, 3, config), Comparison(weak, strong, 1, config)]
        contests += [Comparison("A", "C", 2, config), Comparison("C", "A", 1, config)]
        contests += [Comparison("B", "C", 2, config), Comparison("C", "B", 1, config)]
    out = bradley_terry(contests)
    assert set(out["by_configuration"]) == {"greedy", "sampled"}
    assert out["rank_flips"] == [
        {"a": "A", "b": "B", "a_above_b": ["greedy"], "b_above_a": ["sampled"]}
    ]
    assert out["overall"]["converged"] is True


def test_rank_flips_skip_configurations_without_an_mle():
    fits = {"x": fit([Comparison("a", "b"), Comparison("b", "a", 2)]),
            "y": fit([Comparison("a", "b")])}  # fmt: skip
    assert rank_flips(fits) == []


def test_comparisons_derived_from_scores():
    rows = [("c1", "m1", "t1", 0.9), ("c1", "m2", "t1", 0.5), ("c1", "m3", "t1", 0.5),
            ("c2", "m1", "t1", 0.1), ("c2", "m2", "t1", 0.7)]  # fmt: skip
    derived = comparisons_from_scores(rows)
    assert sorted((c.configuration, c.winner, c.loser) for c in derived) == [
        ("c1", "m1", "m2"), ("c1", "m1", "m3"), ("c2", "m2", "m1"),
    ]  # fmt: skip


def test_bootstrap_bound_is_checked():
    with pytest.raises(ValueError, match="bootstrap"):
        bradley_terry(citation_contests(), bootstrap=10**9)


def test_no_interval_when_many_resamples_have_no_mle():
    # A 3-player set with few games: many resamples leave someone without a win.
    pairs = [
        ("a", "b", 2),
        ("b", "a", 1),
        ("b", "c", 2),
        ("c", "b", 1),
        ("c", "a", 1),
        ("a", "c", 1),
    ]
    contests = [Comparison(w, lo, n) for w, lo, n in pairs]
    result = fit(contests, bootstrap=200, seed=3)
    assert result.converged and result.log_strength is not None
    assert result.ci is None
    assert "no interval is given" in result.note

"""G theory against published and independent references.

- Shrout & Fleiss (1979), "Intraclass correlations: uses in assessing rater reliability",
  Psychol. Bull. 86(2), Table 2 (6 targets x 4 judges): for a complete design REML equals the
  expected-mean-squares estimates, G(n') = ICC(3,n') and Phi(n') = ICC(2,n'); the paper
  reports ICC(2,1) = .29, ICC(3,1) = .71, ICC(2,4) = .62, ICC(3,4) = .91.
- Sparse designs: statsmodels' MixedLM (an independent REML implementation) with crossed
  variance components.
- Two facets: Brennan (2001), Table 3.3 expected-mean-squares estimators for the random
  p x r x d design, computed here from a hand-coded ANOVA.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from audit.stats.gtheory import GScore, g_study, one_facet, parse_d_study
from audit.stats.reml import Factor, reml_fit

SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)


def rows_from_matrix(y: np.ndarray, dimension: str = "_all") -> list[GScore]:
    return [
        GScore(f"t{i}", f"j{j}", dimension, float(y[i, j]))
        for i in range(y.shape[0])
        for j in range(y.shape[1])
    ]


def two_way_ems(y: np.ndarray) -> dict[str, float]:
    n, k = y.shape
    grand = y.mean()
    bms = k * ((y.mean(1) - grand) ** 2).sum() / (n - 1)
    jms = n * ((y.mean(0) - grand) ** 2).sum() / (k - 1)
    resid = y - y.mean(1, keepdims=True) - y.mean(0, keepdims=True) + grand
    ems = (resid**2).sum() / ((n - 1) * (k - 1))
    return {"item": (bms - ems) / k, "coder": (jms - ems) / n, "residual": ems}


def test_shrout_fleiss_balanced_matches_ems_and_published_iccs():
    out = one_facet(rows_from_matrix(SHROUT_FLEISS))
    expected = two_way_ems(SHROUT_FLEISS)
    for name, value in expected.items():
        assert out["variance_components"][name] == pytest.approx(value, rel=1e-6)
    d = {row["coders"]: row for row in out["d_study"]}
    assert round(d[1]["g"], 2) == 0.71  # ICC(3,1)
    assert round(d[1]["phi"], 2) == 0.29  # ICC(2,1)
    assert round(d[4]["g"], 2) == 0.91  # ICC(3,4)
    assert round(d[4]["phi"], 2) == 0.62  # ICC(2,4)
    assert out["coders_per_item"] == 4.0
    assert out["g"] == pytest.approx(d[4]["g"])


def sparse_design(seed: int, n_items: int = 60, n_coders: int = 6):
    rng = np.random.default_rng(seed)
    item_eff = rng.normal(0, 1.0, n_items)
    coder_eff = rng.normal(0, 0.7, n_coders)
    rows = []
    for i in range(n_items):
        for c in rng.choice(n_coders, int(rng.integers(1, 4)), replace=False):
            score = 2 + item_eff[i] + coder_eff[c] + rng.normal(0, 0.8)
            rows.append(GScore(f"i{i}", f"c{c}", "D1", score))
    return rows


def statsmodels_reml(rows: list[GScore]) -> dict[str, float]:
    import pandas as pd
    import statsmodels.formula.api as smf

    frame = pd.DataFrame(
        {"y": [r.score for r in rows], "item": [r.item for r in rows],
         "coder": [r.coder for r in rows], "g": 1}
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smf.mixedlm(
            "y ~ 1", frame, groups="g", re_formula="0",
            vc_formula={"item": "0 + C(item)", "coder": "0 + C(coder)"},
        ).fit(reml=True, method=["lbfgs"])  # fmt: skip
    names = model.model.exog_vc.names
    vc = dict(zip(names, model.vcomp, strict=True))
    return {"item": vc["item"], "coder": vc["coder"], "residual": model.scale}


@pytest.mark.parametrize("seed", [1, 2])
def test_sparse_design_matches_statsmodels_mixedlm(seed):
    rows = sparse_design(seed)
    ours = one_facet(rows)["variance_components"]
    reference = statsmodels_reml(rows)
    for name in ("item", "coder", "residual"):
        assert ours[name] == pytest.approx(reference[name], rel=2e-4, abs=1e-6)


def test_negative_ems_component_is_zero_at_the_boundary():
    # Coders agree perfectly on their means: the ANOVA coder estimate is negative.
    y = np.array([[1, 2], [3, 2], [2, 3], [4, 4], [0, 1], [3, 2]], dtype=float)
    assert two_way_ems(y)["coder"] < 0
    out = one_facet(rows_from_matrix(y))
    assert out["variance_components"]["coder"] == 0.0
    assert out["variance_components"]["item"] > 0


def test_harmonic_mean_coders_per_item_and_d_study_rows():
    rows = [GScore("a", "x", "_all", 1), GScore("a", "y", "_all", 2), GScore("b", "x", "_all", 2),
            GScore("b", "y", "_all", 3), GScore("b", "z", "_all", 3), GScore("c", "z", "_all", 0),
            GScore("c", "x", "_all", 1)]  # fmt: skip
    out = one_facet(rows, d_study=[1, 3])
    assert out["coders_per_item"] == pytest.approx(3 / (1 / 2 + 1 / 3 + 1 / 2))
    assert [r["coders"] for r in out["d_study"]] == [1, 3]
    comp = out["variance_components"]
    n = out["coders_per_item"]
    assert out["g"] == pytest.approx(comp["item"] / (comp["item"] + comp["residual"] / n))
    assert out["phi"] == pytest.approx(
        comp["item"] / (comp["item"] + (comp["coder"] + comp["residual"]) / n)
    )


def test_no_variance_gives_null_coefficients_with_a_note():
    out = one_facet(rows_from_matrix(np.full((4, 2), 2.0)))
    assert out["g"] is None and out["phi"] is None
    assert "no variance" in out["note"]
    assert all(r["g"] is None for r in out["d_study"])


def test_one_score_per_item_is_not_estimable():
    rows = [GScore(f"i{i}", f"c{i % 3}", "_all", float(i % 4)) for i in range(9)]
    out = one_facet(rows)
    assert out["g"] is None and "cannot be separated" in out["note"]


def brennan_prd_ems(y: np.ndarray) -> dict[str, float]:
    """Brennan (2001) Table 3.3: random p x r x d, expected-mean-squares estimators."""
    P, R, D = y.shape
    g = y.mean()
    mp, mr, md = y.mean((1, 2)), y.mean((0, 2)), y.mean((0, 1))
    mpr, mpd, mrd = y.mean(2), y.mean(1), y.mean(0)
    ms_p = R * D * ((mp - g) ** 2).sum() / (P - 1)
    ms_r = P * D * ((mr - g) ** 2).sum() / (R - 1)
    ms_d = P * R * ((md - g) ** 2).sum() / (D - 1)
    ms_pr = D * ((mpr - mp[:, None] - mr[None, :] + g) ** 2).sum() / ((P - 1) * (R - 1))
    ms_pd = R * ((mpd - mp[:, None] - md[None, :] + g) ** 2).sum() / ((P - 1) * (D - 1))
    ms_rd = P * ((mrd - mr[:, None] - md[None, :] + g) ** 2).sum() / ((R - 1) * (D - 1))
    res = (y - mpr[:, :, None] - mpd[:, None, :] - mrd[None, :, :] + mp[:, None, None]
           + mr[None, :, None] + md[None, None, :] - g)  # fmt: skip
    ms_e = (res**2).sum() / ((P - 1) * (R - 1) * (D - 1))
    return {
        "residual": ms_e,
        "item:coder": (ms_pr - ms_e) / D,
        "item:dimension": (ms_pd - ms_e) / R,
        "coder:dimension": (ms_rd - ms_e) / P,
        "item": (ms_p - ms_pr - ms_pd + ms_e) / (R * D),
        "coder": (ms_r - ms_pr - ms_rd + ms_e) / (P * D),
        "dimension": (ms_d - ms_pd - ms_rd + ms_e) / (P * R),
    }


def test_two_facet_balanced_matches_brennan_ems():
    rng = np.random.default_rng(7)
    P, R, D = 12, 4, 3
    y = (rng.normal(0, 1.0, P)[:, None, None] + rng.normal(0, 0.6, R)[None, :, None]
         + rng.normal(0, 0.5, D)[None, None, :] + rng.normal(0, 0.5, (P, R))[:, :, None]
         + rng.normal(0, 0.4, (P, D))[:, None, :] + rng.normal(0, 0.3, (R, D))[None, :, :]
         + rng.normal(0, 0.5, (P, R, D)))  # fmt: skip
    expected = brennan_prd_ems(y)
    assert min(expected.values()) > 0  # interior: REML = EMS
    rows = [GScore(f"p{i}", f"r{j}", f"D{k}", float(y[i, j, k]))
            for i in range(P) for j in range(R) for k in range(D)]  # fmt: skip
    across = g_study(rows)["across_dimensions"]
    comp = across["variance_components"]
    for name, value in expected.items():
        assert comp[name] == pytest.approx(value, rel=1e-5), name
    rel = comp["item:coder"] / R + comp["item:dimension"] / D + comp["residual"] / (R * D)
    absolute = rel + comp["coder"] / R + comp["dimension"] / D + comp["coder:dimension"] / (R * D)
    assert across["g"] == pytest.approx(comp["item"] / (comp["item"] + rel))
    assert across["phi"] == pytest.approx(comp["item"] / (comp["item"] + absolute))
    assert {r["dimensions"] for r in across["d_study"]} == {D}


def test_dense_block_path_agrees_with_the_closed_form():
    """A coder who skipped one dimension breaks the complete grid: the general (dense
    block) path must give what the closed form gives on the same data minus that row."""
    rng = np.random.default_rng(3)
    y = rng.normal(size=(8, 3, 2)) + rng.normal(size=8)[:, None, None]
    rows = [GScore(f"p{i}", f"r{j}", f"D{k}", float(y[i, j, k]))
            for i in range(8) for j in range(3) for k in range(2)]  # fmt: skip
    items = np.array([int(r.item[1:]) for r in rows])

    def codes(keys):
        return np.unique(np.array(keys, dtype=object), return_inverse=True)[1]

    factors = lambda rs: [  # noqa: E731
        Factor("item", codes([r.item for r in rs]), True),
        Factor("item:coder", codes([r.item + r.coder for r in rs]), True),
        Factor("item:dimension", codes([r.item + r.dimension for r in rs]), True),
        Factor("coder", codes([r.coder for r in rs]), False),
    ]
    closed = reml_fit([r.score for r in rows], items, factors(rows))
    # Same data, but declare item:coder twice as a nested factor: no grid, dense path.
    dense_factors = factors(rows)
    dense_factors.insert(2, Factor("copy", dense_factors[1].codes, True))
    dense = reml_fit([r.score for r in rows], items, dense_factors)
    total = dense.components["item:coder"] + dense.components["copy"]
    assert total == pytest.approx(closed.components["item:coder"], rel=1e-4, abs=1e-7)
    assert dense.components["residual"] == pytest.approx(closed.components["residual"], rel=1e-5)


def test_two_facet_needs_every_dimension_on_every_item():
    rows = rows_from_matrix(SHROUT_FLEISS, "D1") + rows_from_matrix(SHROUT_FLEISS[:5], "D2")
    assert "across_dimensions" not in g_study(rows)
    assert set(g_study(rows)["dimensions"]) == {"D1", "D2"}


@pytest.mark.parametrize("text", ["0", "1,x", "", "99999", "-1", "1.5"])
def test_d_study_list_is_range_checked(text):
    with pytest.raises(ValueError, match="--d-study"):
        parse_d_study(text)

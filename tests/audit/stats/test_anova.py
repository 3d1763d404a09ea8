"""audit.stats.anova against scipy/statsmodels, hand computations and degenerate cases."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests

from audit.stats.anova import (
    adjust_pvalues,
    benjamini_hochberg,
    holm,
    kruskal_wallis,
    natural_key,
    one_way,
    read_efficacy_csv,
    scaffold_efficacy,
    two_way_anova,
)

ONE_WAY_KEYS = {
    "model",
    "dimension",
    "F",
    "p",
    "p_holm",
    "df_between",
    "df_within",
    "eta_squared",
    "kruskal_H",
    "kruskal_p",
    "means",
    "n",
    "note",
}


def random_groups(seed: int, ordinal: bool) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 20, size=rng.integers(2, 6))
    if ordinal:
        return {f"C{i + 1}": list(rng.integers(0, 3, size=n)) for i, n in enumerate(sizes)}
    return {f"C{i + 1}": list(rng.normal(i * 0.3, 1, size=n)) for i, n in enumerate(sizes)}


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("ordinal", [True, False])
def test_one_way_matches_scipy(seed, ordinal):
    groups = random_groups(seed, ordinal)
    result = one_way(groups)
    f_ref = stats.f_oneway(*groups.values())
    h_ref = stats.kruskal(*groups.values())
    assert (result.F, result.p) == pytest.approx((f_ref.statistic, f_ref.pvalue), rel=1e-9)
    assert result.kruskal_H == pytest.approx(h_ref.statistic, rel=1e-9)
    assert result.kruskal_p == pytest.approx(h_ref.pvalue, rel=1e-9)
    assert result.df_between == len(groups) - 1
    assert result.df_within == sum(len(g) for g in groups.values()) - len(groups)
    assert result.note is None
    assert result.n == {k: len(v) for k, v in groups.items()}


def test_eta_squared_and_f_by_hand():
    # Grand mean 3.5; SS_between = 3(2-3.5)^2 + 3(5-3.5)^2 = 13.5; SS_within = 2 + 2 = 4;
    # SS_total = 17.5; F = (13.5 / 1) / (4 / 4) = 13.5; eta^2 = 13.5 / 17.5.
    result = one_way({"C1": [1, 2, 3], "C2": [4, 5, 6]})
    assert (result.F, result.df_between) == pytest.approx((13.5, 1))
    assert result.eta_squared == pytest.approx(13.5 / 17.5)
    assert result.means == {"C1": 2.0, "C2": 5.0}
    assert (result.df_between, result.df_within) == (1, 4)


def test_constant_column_is_no_variance():
    result = one_way({"C1": [2, 2, 2], "C2": [2, 2], "C3": [2]})
    assert result.note == "no variance"
    assert [result.F, result.p, result.eta_squared, result.kruskal_H, result.kruskal_p] == [
        None
    ] * 5
    assert (result.df_between, result.df_within) == (2, 3)
    assert result.means == {"C1": 2.0, "C2": 2.0, "C3": 2.0}


def test_equal_means_with_variance_gives_f_zero_p_one():
    groups = {"C1": [0, 2], "C2": [1, 1], "C3": [2, 0, 1]}
    result = one_way(groups)
    assert result.F == 0.0
    assert result.p == 1.0
    assert result.eta_squared == 0.0
    assert result.kruskal_H == pytest.approx(stats.kruskal(*groups.values()).statistic)
    assert result.kruskal_p == pytest.approx(stats.kruskal(*groups.values()).pvalue)
    assert result.note is None


def test_equal_means_in_floating_point_are_exactly_zero():
    result = one_way({"C1": [0.1, 0.5], "C2": [0.2, 0.4], "C3": [0.3, 0.3]})
    assert (result.F, result.p) == (0.0, 1.0)


def test_no_within_variance_leaves_f_undefined():
    result = one_way({"C1": [0, 0], "C2": [2, 2]})
    assert result.F is None and result.p is None
    assert result.eta_squared == 1.0
    assert result.kruskal_H == pytest.approx(stats.kruskal([0, 0], [2, 2]).statistic)
    assert "within" in result.note


def test_single_scaffold_and_empty_group():
    single = one_way({"C1": [0, 1, 2]})
    assert single.F is None and single.df_between is None and "fewer than 2" in single.note
    only_one_ran = one_way({"C1": [0, 1, 2], "C2": [], "C3": []})
    assert only_one_ran.F is None and "fewer than 2" in only_one_ran.note
    assert "C2, C3" in only_one_ran.note


def test_scaffold_a_model_did_not_run_is_left_out_with_a_note():
    # Issue 13 part 7: a model that did not run C3 is tested over C1, C2, C4 (df 2, N - 3),
    # exactly as scipy's f_oneway / kruskal on the groups present, and the note names C3.
    groups = {"C1": [0, 1, 2, 1], "C2": [1, 2, 2, 2], "C3": [], "C4": [0, 0, 1, 0]}
    result = one_way(groups)
    present = [groups[s] for s in ("C1", "C2", "C4")]
    assert (result.df_between, result.df_within) == (2, 9)
    f_stat = result.F
    assert f_stat == pytest.approx(stats.f_oneway(*present).statistic, rel=1e-12)
    assert result.p == pytest.approx(stats.f_oneway(*present).pvalue, rel=1e-12)
    assert result.kruskal_H == pytest.approx(stats.kruskal(*present).statistic, rel=1e-12)
    assert result.note == "no observations for scaffold C3: tested across C1, C2, C4 (df 2)"
    assert result.means["C3"] is None and result.n["C3"] == 0


def test_kruskal_all_tied_is_none():
    assert kruskal_wallis([[1, 1], [1]]) == (None, None)
    assert kruskal_wallis([[1, 2]]) == (None, None)


@pytest.mark.parametrize("seed", range(5))
def test_holm_and_bh_match_statsmodels(seed):
    rng = np.random.default_rng(seed)
    pvalues = list(rng.uniform(0, 0.2, size=12)) + [0.0, 1.0, 0.01, 0.01]
    assert holm(pvalues) == pytest.approx(list(multipletests(pvalues, method="holm")[1]))
    assert benjamini_hochberg(pvalues) == pytest.approx(
        list(multipletests(pvalues, method="fdr_bh")[1])
    )


def test_holm_skips_none():
    pvalues = [0.01, None, 0.04, 0.03, None]
    present = [0.01, 0.04, 0.03]
    expected = list(multipletests(present, method="holm")[1])
    adjusted = holm(pvalues)
    assert adjusted[1] is None and adjusted[4] is None
    assert [adjusted[0], adjusted[2], adjusted[3]] == pytest.approx(expected)
    assert adjust_pvalues(pvalues, "bh")[1] is None
    assert holm([]) == []
    with pytest.raises(ValueError):
        adjust_pvalues(pvalues, "bonferroni")
    with pytest.raises(ValueError):
        holm([1.5])


def statsmodels_type2(y, models, scaffolds) -> pd.DataFrame:
    frame = pd.DataFrame({"y": y, "m": models, "s": scaffolds})
    return anova_lm(ols("y ~ C(m) + C(s) + C(m):C(s)", data=frame).fit(), typ=2)


@pytest.mark.parametrize("seed", range(6))
def test_two_way_type2_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n_models, n_scaffolds = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    models, scaffolds = [], []
    for m in range(n_models):
        for s in range(n_scaffolds):
            reps = int(rng.integers(2, 6)) if seed % 2 else 4  # odd seeds unbalanced
            models += [f"m{m}"] * reps
            scaffolds += [f"C{s + 1}"] * reps
    y = rng.integers(0, 3, size=len(models)).astype(float) + rng.normal(0, 0.1, len(models))
    y = y + (np.array(scaffolds) == "C2") * 0.5
    ours = two_way_anova(y, models, scaffolds)
    ref = statsmodels_type2(y, models, scaffolds)
    assert ours.note is None
    assert ours.df_resid == int(ref.loc["Residual", "df"])
    for term, row in zip(("model", "scaffold", "model:scaffold"), ref.index[:3], strict=True):
        f_stat, p_value = ours.terms[term].F, ours.terms[term].p
        assert f_stat == pytest.approx(ref.loc[row, "F"], rel=1e-7)
        assert p_value == pytest.approx(ref.loc[row, "PR(>F)"], rel=1e-7, abs=1e-12)
        assert ours.terms[term].sum_sq == pytest.approx(ref.loc[row, "sum_sq"], rel=1e-7)
        assert ours.terms[term].df == int(ref.loc[row, "df"])


def assert_all_none(result):
    for term in ("model", "scaffold", "model:scaffold"):
        got = result.contract_terms()[term]
        assert (got["F"], got["p"]) == (None, None)
    assert result.note


def test_two_way_degenerate_cases():
    # A single model.
    assert_all_none(two_way_anova([0, 1, 2, 1], ["m"] * 4, ["C1", "C1", "C2", "C2"]))
    # Every cell constant: no residual variance.
    models, scaffolds = ["m1"] * 4 + ["m2"] * 4, ["C1", "C1", "C2", "C2"] * 2
    assert_all_none(two_way_anova([0, 0, 1, 1, 2, 2, 0, 0], models, scaffolds))
    # One observation per cell: no residual degrees of freedom.
    assert_all_none(two_way_anova([0, 1, 2, 0], ["m1", "m1", "m2", "m2"], ["C1", "C2"] * 2))
    # Constant column.
    assert_all_none(two_way_anova([1] * 8, models, scaffolds))


def _ols(frame: pd.DataFrame, formula: str):
    return ols(formula, data=frame).fit()


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.SingularMatrixWarning")
@pytest.mark.parametrize("seed", range(3))
def test_two_way_with_an_empty_cell_matches_statsmodels_nested_fits(seed):
    # Issue 13 part 7: model m3 never ran C4. The fit drops the aliased interaction column
    # (as R lm / car::Anova), so the interaction has (3-1)(4-1) - 1 = 5 df. Each Type II
    # term is the comparison of two statsmodels OLS fits (which also use the rank):
    # model = C(s) vs C(m)+C(s), scaffold = C(m) vs C(m)+C(s), interaction = main vs full.
    rng = np.random.default_rng(seed)
    rows = [
        (m, s, float(rng.integers(0, 3)) + 0.5 * (s == "C2") + rng.normal(0, 0.2))
        for m in ("m1", "m2", "m3")
        for s in ("C1", "C2", "C3", "C4")
        if (m, s) != ("m3", "C4")
        for _ in range(int(rng.integers(3, 6)))
    ]
    frame = pd.DataFrame(rows, columns=["m", "s", "y"])
    ours = two_way_anova(frame["y"], frame["m"], frame["s"])
    full = _ols(frame, "y ~ C(m) + C(s) + C(m):C(s)")
    main = _ols(frame, "y ~ C(m) + C(s)")
    assert ours.df_resid == int(full.df_resid) == len(frame) - 11
    assert "m3/C4" in ours.note
    for term, reduced in (
        ("model", "y ~ C(s)"),
        ("scaffold", "y ~ C(m)"),
        ("model:scaffold", None),
    ):
        smaller, larger = (main, full) if reduced is None else (_ols(frame, reduced), main)
        ref = anova_lm(smaller, larger, scale=full.scale)
        got = ours.terms[term]
        assert got.df == int(ref["df_diff"].iloc[1])
        assert got.sum_sq == pytest.approx(ref["ss_diff"].iloc[1], rel=1e-9)
        f_stat = got.F
        assert f_stat == pytest.approx(ref["F"].iloc[1], rel=1e-9)
        # statsmodels' nested anova_lm takes the p-value's denominator df from the smaller
        # model; Type II (R's anova/car) uses the full model's residual df.
        assert got.p == pytest.approx(stats.f.sf(f_stat, got.df, full.df_resid), rel=1e-9)
    assert ours.terms["model:scaffold"].df == 5


def test_two_way_term_with_no_df_left_says_so():
    # Each model ran its own scaffolds: model and scaffold are confounded, nothing is left
    # for the scaffold term after the model term (and vice versa).
    models = ["m1"] * 4 + ["m2"] * 4
    scaffolds = ["C1", "C1", "C2", "C2", "C3", "C3", "C4", "C4"]
    result = two_way_anova([0, 1, 1, 2, 2, 2, 0, 1], models, scaffolds)
    assert result.terms["model"].df == 0 and result.terms["model"].F is None
    assert "model: no degrees of freedom left" in result.note


def test_two_way_null_term_is_zero_not_nan():
    # Identical scaffold means and no interaction: the scaffold term is F = 0, p = 1.
    models, scaffolds = ["m1"] * 4 + ["m2"] * 4, ["C1", "C1", "C2", "C2"] * 2
    result = two_way_anova([0, 2, 2, 0, 1, 2, 2, 1], models, scaffolds)
    assert result.terms["scaffold"].F == 0.0 and result.terms["scaffold"].p == 1.0


def efficacy_rows(seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    rows = []
    for model in ("model-10", "model-2"):
        for scaffold in ("C1", "C2", "C3"):
            for prompt in range(6):
                spec = "under" if prompt < 4 else "full"
                for dimension in ("D10", "D2", "D1"):
                    value = int(rng.integers(0, 3))
                    rows.append((model, scaffold, f"P{prompt}", spec, dimension, value))
    return rows


def test_scaffold_efficacy_shape_order_and_holm():
    rows = efficacy_rows()
    # Make model-2 x D1 constant: it must drop out of the Holm family.
    rows = [r if (r[0], r[4]) != ("model-2", "D1") else (*r[:5], 1) for r in rows]
    out = scaffold_efficacy(rows)
    assert list(out) == ["one_way", "under_specified_means", "two_way"]
    keys = [(r["model"], r["dimension"]) for r in out["one_way"]]
    assert keys == [(m, d) for m in ("model-2", "model-10") for d in ("D1", "D2", "D10")]
    for row in out["one_way"]:
        assert set(row) == ONE_WAY_KEYS
        assert list(row["means"]) == ["C1", "C2", "C3"]
        assert row["n"] == {"C1": 6, "C2": 6, "C3": 6}
    constant = out["one_way"][0]
    assert constant["note"] == "no variance" and constant["p_holm"] is None
    tested = [r for r in out["one_way"] if r["p"] is not None]
    assert len(tested) == 5
    expected = multipletests([r["p"] for r in tested], method="holm")[1]
    assert [r["p_holm"] for r in tested] == pytest.approx(list(expected))

    under = out["under_specified_means"]
    assert [(r["model"], r["dimension"]) for r in under] == keys
    first = under[1]  # model-2 x D2
    values = [r[5] for r in rows if r[0] == "model-2" and r[4] == "D2" and r[3] == "under"]
    assert sum(first["n"].values()) == len(values) == 12
    c1 = [r[5] for r in rows if r[:2] == ("model-2", "C1") and r[4] == "D2" and r[3] == "under"]
    assert first["means"]["C1"] == pytest.approx(np.mean(c1))

    assert [r["dimension"] for r in out["two_way"]] == ["D1", "D2", "D10"]
    assert set(out["two_way"][0]["terms"]) == {"model", "scaffold", "model:scaffold"}
    json.dumps(out, allow_nan=False)


def test_scaffold_efficacy_when_a_model_skipped_a_scaffold():
    # model-2 never ran C3: its one-way tests run over C1 and C2 (df 1) with a note, and
    # the two-way ANOVA is fitted with the empty cell, never null without a reason.
    rows = [r for r in efficacy_rows(3) if (r[0], r[1]) != ("model-2", "C3")]
    out = scaffold_efficacy(rows)
    skipped = [r for r in out["one_way"] if r["model"] == "model-2"]
    for row in skipped:
        assert row["df_between"] == 1 and row["n"]["C3"] == 0 and row["means"]["C3"] is None
        assert "C3" in row["note"]
        assert row["p"] is not None or "variance" in row["note"]
        assert row["p_holm"] is not None or row["p"] is None
    for row in out["two_way"]:
        assert "model-2/C3" in row["note"]
        assert row["terms"]["model:scaffold"]["df"] == 1  # (2-1)(3-1) - 1 aliased
        assert all(t["F"] is not None for t in row["terms"].values())
    json.dumps(out, allow_nan=False)


def test_scaffold_efficacy_accepts_dicts_and_rejects_bad_rows():
    columns = ("model", "scaffold", "prompt", "specification", "dimension", "value")
    rows = [dict(zip(columns, r, strict=True)) for r in efficacy_rows()]
    assert scaffold_efficacy(rows) == scaffold_efficacy(efficacy_rows())
    for bad in (
        ("m", "C1", "P1", "partial", "D1", 1),
        ("m", "C1", "P1", "full", "D1", "high"),
        ("m", "C1", "P1", "full", "D1", float("nan")),
        ("", "C1", "P1", "full", "D1", 1),
        ("m", "C1", "P1", "full", "D1"),
    ):
        with pytest.raises(ValueError):
            scaffold_efficacy([bad])
    assert scaffold_efficacy([]) == {"one_way": [], "under_specified_means": [], "two_way": []}


def test_read_efficacy_csv_errors_name_the_problem():
    header = "model,scaffold,prompt,specification,dimension,value\n"
    rows = read_efficacy_csv(io.StringIO(header + "m,C1,P1,under,D1,2\n"))
    assert rows[0].value == 2.0 and rows[0].specification == "under"
    cases = {
        "": "empty file",
        header: "no data rows",
        "model,scaffold,prompt,dimension,value\nm,C1,P1,D1,2\n": "missing column(s) specification",
        header + "m,C1,P1,under,D1,x\n": "line 2: value 'x' is not a number",
        header + "m,C1,P1,under,D1,1\nm,C1,P1,maybe,D1,1\n": "line 3: specification",
    }
    for text, message in cases.items():
        with pytest.raises(ValueError, match=re.escape(message)):
            read_efficacy_csv(io.StringIO(text))


def test_natural_key():
    assert sorted(["D10", "D2", "D1", "C10", "C9"], key=natural_key) == [
        "C9",
        "C10",
        "D1",
        "D2",
        "D10",
    ]

"""audit.stats.instability on hand-built cases: one reversal, ties, missing cells."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from scipy import stats

from audit.stats.instability import (
    compare_pair,
    rank_instability,
    ranks_by_config,
    read_rank_csv,
)

CONTRACT_KEYS = {
    "n_configs",
    "n_models",
    "pairs",
    "mean_disagreement_rate",
    "rank_flip_rate",
    "rank_envelope",
}
PAIR_KEYS = {"a", "b", "disagreement_rate", "strict_reversal", "witness"}


def rows_from(table: dict[str, dict[str, float]], benchmark: str = "bench") -> list[tuple]:
    return [
        (config, model, benchmark, score)
        for config, scores in table.items()
        for model, score in scores.items()
    ]


def pair(result: dict, a: str, b: str) -> dict:
    (found,) = [p for p in result["pairs"] if (p["a"], p["b"]) == (a, b)]
    return found


# Three configurations x three models; only A vs B reverses (c3 puts B above A).
ONE_REVERSAL = {
    "c1": {"A": 0.9, "B": 0.8, "C": 0.7},
    "c2": {"A": 0.9, "B": 0.8, "C": 0.7},
    "c3": {"A": 0.7, "B": 0.8, "C": 0.6},
}


def test_one_reversal():
    result = rank_instability(rows_from(ONE_REVERSAL))["benchmarks"]["bench"]
    assert set(result) >= CONTRACT_KEYS
    assert (result["n_configs"], result["n_models"]) == (3, 3)
    assert [(p["a"], p["b"]) for p in result["pairs"]] == [("A", "B"), ("A", "C"), ("B", "C")]
    for p in result["pairs"]:
        assert set(p) >= PAIR_KEYS

    ab = pair(result, "A", "B")
    # Verdicts +, +, -: of the 3 configuration pairs only (c1, c2) agree.
    assert ab["disagreement_rate"] == pytest.approx(2 / 3)
    assert ab["strict_reversal"] is True
    assert ab["witness"] == ["c1", "c3"]  # [says A > B, says B > A]
    for a, b in (("A", "C"), ("B", "C")):
        assert pair(result, a, b) | {"n_shared_configs": 3} == {
            "a": a,
            "b": b,
            "disagreement_rate": 0.0,
            "strict_reversal": False,
            "witness": None,
            "n_shared_configs": 3,
        }
    assert result["mean_disagreement_rate"] == pytest.approx(2 / 9)
    assert result["rank_flip_rate"] == pytest.approx(1 / 3)
    assert result["rank_envelope"] == {"A": [1, 2], "B": [1, 2], "C": [3, 3]}
    assert result["ranks"]["c3"] == {"A": 2, "B": 1, "C": 3}

    taus = {(t["config_a"], t["config_b"]): t for t in result["kendall_tau"]}
    assert taus[("c1", "c2")]["tau"] == pytest.approx(1.0)
    # c1 vs c3: (A,B) discordant, (A,C) and (B,C) concordant -> (2 - 1) / 3.
    assert taus[("c1", "c3")]["tau"] == pytest.approx(1 / 3)
    assert taus[("c1", "c3")]["n"] == 3
    json.dumps(result, allow_nan=False)


def test_witness_orientation_follows_the_pair_order():
    # B beats A first (c1), A beats B later (c2): the witness still starts with "A > B".
    table = {"c1": {"A": 1.0, "B": 2.0}, "c2": {"A": 3.0, "B": 2.0}}
    result = compare_pair("A", "B", table, ["c1", "c2"])
    assert result.strict_reversal and result.witness == ["c2", "c1"]


def test_ties_differ_from_wins_but_are_not_reversals():
    table = {
        "c1": {"A": 0.9, "B": 0.9, "C": 0.5},
        "c2": {"A": 0.9, "B": 0.8, "C": 0.5},
        "c3": {"A": 0.9, "B": 0.8, "C": 0.5},
    }
    result = rank_instability(rows_from(table))["benchmarks"]["bench"]
    ab = pair(result, "A", "B")
    # Verdicts 0, +, +: a tie disagrees with a win, so 2 of 3 configuration pairs differ.
    assert ab["disagreement_rate"] == pytest.approx(2 / 3)
    assert ab["strict_reversal"] is False and ab["witness"] is None
    assert result["rank_flip_rate"] == 0.0
    # Ties share the best rank ("min" ranking): A and B are both 1 in c1, C is 3, not 2.
    assert result["ranks"]["c1"] == {"A": 1, "B": 1, "C": 3}
    assert result["rank_envelope"] == {"A": [1, 1], "B": [1, 2], "C": [3, 3]}


def test_all_tied_pair_never_disagrees():
    table = {"c1": {"A": 1.0, "B": 1.0}, "c2": {"A": 2.0, "B": 2.0}}
    result = compare_pair("A", "B", table, ["c1", "c2"])
    assert (result.disagreement_rate, result.strict_reversal) == (0.0, False)


def test_missing_cells():
    table = {
        "c1": {"A": 0.9, "B": 0.8, "D": 0.1},
        "c2": {"A": 0.7, "B": 0.8, "E": 0.75},
        "c3": {"A": 0.6, "B": 0.5},
    }
    result = rank_instability(rows_from(table))["benchmarks"]["bench"]
    assert (result["n_configs"], result["n_models"]) == (3, 4)
    assert len(result["pairs"]) == 6
    for a, b in (("A", "D"), ("A", "E"), ("B", "D"), ("B", "E"), ("D", "E")):
        p = pair(result, a, b)
        assert p["disagreement_rate"] is None
        assert p["strict_reversal"] is False and p["witness"] is None
    assert pair(result, "D", "E")["n_shared_configs"] == 0
    ab = pair(result, "A", "B")
    assert ab["disagreement_rate"] == pytest.approx(2 / 3)
    assert ab["witness"] == ["c1", "c2"]
    # Only A-B shares two configurations: it is the whole mean and the flip denominator.
    assert result["mean_disagreement_rate"] == pytest.approx(2 / 3)
    assert result["rank_flip_rate"] == 1.0
    # Ranked among the models present: D last of 3 in c1; in c2 E (0.75) splits B and A.
    assert result["rank_envelope"] == {"A": [1, 3], "B": [1, 2], "D": [3, 3], "E": [2, 2]}
    taus = {(t["config_a"], t["config_b"]): t for t in result["kendall_tau"]}
    assert taus[("c1", "c2")]["n"] == 2 and taus[("c1", "c2")]["tau"] == pytest.approx(-1.0)


def test_undefined_summaries_are_null():
    one_config = {"c1": {"A": 1.0, "B": 2.0}}
    result = rank_instability(rows_from(one_config))["benchmarks"]["bench"]
    assert result["mean_disagreement_rate"] is None
    assert result["rank_flip_rate"] is None
    assert result["kendall_tau"] == []
    disjoint = {"c1": {"A": 1.0}, "c2": {"B": 1.0}, "c3": {"A": 1.0, "B": 1.0}}
    result = rank_instability(rows_from(disjoint))["benchmarks"]["bench"]
    taus = {(t["config_a"], t["config_b"]): t for t in result["kendall_tau"]}
    assert taus[("c1", "c2")] == {
        "config_a": "c1",
        "config_b": "c2",
        "tau": None,
        "p": None,
        "n": 0,
    }
    # Common models but a constant configuration: tau is undefined, not NaN.
    assert taus[("c1", "c3")]["tau"] is None and taus[("c2", "c3")]["n"] == 1
    json.dumps(result, allow_nan=False)


def test_kendall_matches_scipy_and_ranks_match_rankdata():
    table = {
        "c1": {"m1": 0.3, "m2": 0.5, "m3": 0.5, "m4": 0.9, "m5": 0.1},
        "c2": {"m1": 0.4, "m2": 0.2, "m3": 0.6, "m4": 0.8, "m5": 0.1},
    }
    result = rank_instability(rows_from(table))["benchmarks"]["bench"]
    models = ["m1", "m2", "m3", "m4", "m5"]
    expected = stats.kendalltau([table["c1"][m] for m in models], [table["c2"][m] for m in models])
    assert result["kendall_tau"][0]["tau"] == pytest.approx(expected.statistic)
    ranks = ranks_by_config(table)
    assert ranks["c1"] == {"m1": 4, "m2": 2, "m3": 2, "m4": 1, "m5": 5}


def test_benchmarks_and_models_in_natural_order():
    rows = rows_from({"c1": {"m10": 1.0, "m2": 2.0}, "c2": {"m10": 2.0, "m2": 1.0}}, "b10")
    rows += rows_from({"c1": {"x": 1.0, "y": 2.0}}, "b2")
    out = rank_instability(rows)
    assert list(out) == ["benchmarks"]
    assert list(out["benchmarks"]) == ["b2", "b10"]
    only = out["benchmarks"]["b10"]["pairs"][0]
    assert (only["a"], only["b"], only["witness"]) == ("m2", "m10", ["c1", "c2"])


def test_bad_rows_raise():
    with pytest.raises(ValueError, match="duplicate"):
        rank_instability([("c1", "A", "b", 1), ("c1", "A", "b", 2)])
    for bad in (("c1", "A", "b", "high"), ("c1", "A", "b", float("inf")), ("c1", "", "b", 1)):
        with pytest.raises(ValueError):
            rank_instability([bad])
    dict_rows = [{"config": "c1", "model": "A", "benchmark": "b", "score": "0.5"}]
    assert rank_instability(dict_rows)["benchmarks"]["b"]["n_models"] == 1


def test_read_rank_csv():
    header = "config,model,benchmark,score\n"
    rows = read_rank_csv(io.StringIO(header + '"tmpl=chat,T=0",A,b,0.5\n'))
    assert rows[0].config == "tmpl=chat,T=0" and rows[0].score == 0.5
    cases = {
        "": "empty file",
        header: "no data rows",
        "config,model,score\nc1,A,1\n": "missing column(s) benchmark",
        header + "c1,A,b,x\n": "line 2: score 'x' is not a number",
        header + "c1,A,b,1\nc1,A,b,2\n": "line 3: duplicate row",
    }
    for text, message in cases.items():
        with pytest.raises(ValueError, match=re.escape(message)):
            read_rank_csv(io.StringIO(text))


def _kendall_p(table: dict[str, dict[str, float]]) -> float:
    return rank_instability(rows_from(table))["benchmarks"]["bench"]["kendall_tau"][0]["p"]


def test_kendall_p_exact_as_r_cor_test_on_its_documented_example():
    # R ?cor.test (Hollander & Wolfe 1973, p. 187): cor.test(x, y, method = "kendall",
    # alternative = "greater") prints T = 26, p-value = 0.05972, tau 0.4444444; the exact
    # null distribution is symmetric, so the two-sided p is twice that.
    x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
    y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
    table = {
        "c1": {f"m{i}": v for i, v in enumerate(x)},
        "c2": {f"m{i}": v for i, v in enumerate(y)},
    }
    tau = rank_instability(rows_from(table))["benchmarks"]["bench"]["kendall_tau"][0]
    assert tau["tau"] == pytest.approx(0.4444444, abs=1e-7)
    assert tau["p"] == pytest.approx(2 * 0.05972, abs=1e-5)


def test_kendall_p_exact_without_ties_below_50_models():
    # Issue 13 part 7: scipy's default turns asymptotic from n = 34; R's cor.test stays
    # exact below 50 when there are no ties. n = 40 here: 4.5e-5 (asymptotic) vs 2.6e-5.
    rng = np.random.default_rng(0)
    n = 40
    y = sorted(range(n), key=lambda i: i + rng.normal(0, 12))
    table = {
        "c1": {f"m{i}": float(i) for i in range(n)},
        "c2": {f"m{i}": float(v) for i, v in enumerate(y)},
    }
    models = sorted(table["c1"], key=lambda m: (len(m), m))
    x_values = [table["c1"][m] for m in models]
    y_values = [table["c2"][m] for m in models]
    exact = stats.kendalltau(x_values, y_values, method="exact").pvalue
    assert stats.kendalltau(x_values, y_values).pvalue > 1.5 * exact  # scipy's default
    assert _kendall_p(table) == pytest.approx(exact, rel=1e-12)


def test_kendall_p_asymptotic_with_ties_or_50_models():
    rng = np.random.default_rng(1)
    for n, tied in ((20, True), (50, False)):
        x = [float(i // 2) if tied else float(i) for i in range(n)]
        y = [float(v) for v in rng.permutation(n)]
        table = {"c1": {f"m{i}": x[i] for i in range(n)}, "c2": {f"m{i}": y[i] for i in range(n)}}
        models = sorted(table["c1"], key=lambda m: (len(m), m))
        expected = stats.kendalltau(
            [table["c1"][m] for m in models], [table["c2"][m] for m in models], method="asymptotic"
        ).pvalue
        assert _kendall_p(table) == pytest.approx(expected, rel=1e-12)

"""Bootstrap intervals, undefined coefficients, warnings and the report dict."""

import json

import numpy as np
import pytest

from audit.stats.agreement import (
    COEFFICIENTS,
    agreement,
    agreement_from_codes,
    agreement_from_confusion,
    agreement_report,
    agreement_reports,
    encode_ratings,
)

CONTRACT_KEYS = ["n_items", "n_coders", *COEFFICIENTS, "ci", "warnings"]


def _two_coders(n_items, seed=0, q=3, accuracy=0.7):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, q, n_items)
    codes = np.where(
        rng.random((n_items, 2)) < accuracy, truth[:, None], rng.integers(0, q, (n_items, 2))
    )
    return [(f"i{i}", f"c{j}", int(v)) for i, row in enumerate(codes) for j, v in enumerate(row)]


# Bootstrap ---------------------------------------------------------------------------


def test_bootstrap_is_reproducible_with_a_seed_and_varies_without():
    ratings = _two_coders(120)
    a = agreement(ratings, [0, 1, 2], n_boot=300, seed=42)
    b = agreement(ratings, [0, 1, 2], n_boot=300, seed=42)
    c = agreement(ratings, [0, 1, 2], n_boot=300, seed=43)
    for name in COEFFICIENTS:
        assert a.coefficients[name].ci == b.coefficients[name].ci
    assert a.coefficients["cohen_kappa"].ci != c.coefficients["cohen_kappa"].ci


def test_intervals_contain_the_estimate():
    r = agreement(_two_coders(400, seed=1), [0, 1, 2], n_boot=1000, seed=0)
    for name in COEFFICIENTS:
        coef = r.coefficients[name]
        low, high = coef.ci
        assert low <= coef.value <= high, name
        assert low < high, name


def test_intervals_shrink_with_more_items():
    # Percentile width scales like 1/sqrt(n): 16x the items, about a quarter the width.
    small = agreement(_two_coders(100, seed=2), [0, 1, 2], n_boot=1000, seed=0)
    large = agreement(_two_coders(1600, seed=2), [0, 1, 2], n_boot=1000, seed=0)
    for name in COEFFICIENTS:
        w_small = np.subtract(*small.coefficients[name].ci[::-1])
        w_large = np.subtract(*large.coefficients[name].ci[::-1])
        assert w_large < 0.5 * w_small, name


def test_bootstrap_zero_gives_null_intervals():
    report = agreement_report(_two_coders(50), [0, 1, 2], n_boot=0)
    assert set(report["ci"]) == set(COEFFICIENTS)
    assert all(v is None for v in report["ci"].values())
    assert report["cohen_kappa"] is not None


def test_default_is_1000_draws():
    r = agreement(_two_coders(60), [0, 1, 2])
    assert r.n_boot == 1000 and r.coefficients["cohen_kappa"].defined_draws == 1000


# Undefined coefficients ----------------------------------------------------------------


def test_every_item_in_one_category_is_undefined_not_a_crash():
    ratings = [(i, c, "present") for i in range(40) for c in ("a", "b")]
    r = agreement(ratings, ["absent", "partial", "present"], n_boot=200)
    for name in (
        "cohen_kappa",
        "cohen_kappa_linear",
        "cohen_kappa_quadratic",
        "scott_pi",
        "fleiss_kappa",
        "krippendorff_alpha_nominal",
        "krippendorff_alpha_ordinal",
        "krippendorff_alpha_interval",
    ):
        coef = r.coefficients[name]
        assert coef.value is None and coef.ci is None and coef.reason, name
        assert any(name in w and "undefined" in w for w in r.warnings), name
    # Agreement itself and the prevalence-robust coefficients are defined.
    assert r.value("percent_agreement") == 1.0
    assert r.value("pabak") == 1.0 and r.value("gwet_ac1") == 1.0
    text = json.dumps(r.to_dict(), allow_nan=False)
    assert "NaN" not in text


def test_no_item_rated_by_both_coders():
    ratings = [(0, "a", 1), (1, "b", 2), (2, "a", 0), (3, "b", 0)]
    r = agreement(ratings, [0, 1, 2], n_boot=50)
    assert r.value("cohen_kappa") is None
    assert r.coefficients["cohen_kappa"].reason == "no item was rated by both coders"
    assert r.value("fleiss_kappa") is None and r.value("krippendorff_alpha_nominal") is None
    json.dumps(r.to_dict(), allow_nan=False)


def test_a_single_declared_category():
    r = agreement([(0, "a", "x"), (0, "b", "x")], ["x"], n_boot=10)
    assert all(r.value(name) is None for name in COEFFICIENTS if name != "percent_agreement")
    assert r.value("percent_agreement") == 1.0
    assert any("only one category is declared" in w for w in r.warnings)


def test_no_ratings_at_all():
    r = agreement([(0, "a", None), (1, "b", None)], [0, 1, 2], n_boot=10)
    assert r.n_items == 0 and r.n_coders == 0
    assert all(r.value(name) is None for name in COEFFICIENTS)
    assert r.warnings == ("there are no ratings, so every coefficient is null",)
    json.dumps(r.to_dict(), allow_nan=False)


def test_empty_input():
    report = agreement_report([], [0, 1])
    assert report["n_items"] == 0 and report["cohen_kappa"] is None


# Warnings -------------------------------------------------------------------------------


def test_fewer_than_30_items_warns_and_30_does_not():
    few = agreement(_two_coders(29), [0, 1, 2], n_boot=0)
    enough = agreement(_two_coders(30), [0, 1, 2], n_boot=0)
    assert any("below 30 items" in w for w in few.warnings)
    assert not any("below 30 items" in w for w in enough.warnings)


def test_unused_category_warns_by_name():
    ratings = [(i, c, ["low", "high"][i % 2]) for i in range(40) for c in "ab"]
    r = agreement(ratings, ["low", "mid", "high"], n_boot=0)
    (note,) = [w for w in r.warnings if "never used" in w]
    assert note.startswith("category mid ")
    assert r.category_counts == (40, 0, 40)
    # PABAK counts the declared q = 3, not the 2 used.
    assert r.value("pabak") == pytest.approx(1.0)
    assert agreement(ratings, ["low", "high"], n_boot=0).value("pabak") == pytest.approx(1.0)


def test_three_coders_null_the_two_coder_family_with_one_warning():
    ratings = [(i, c, (i + (c == "c")) % 3) for i in range(40) for c in "abc"]
    report = agreement_report(ratings, [0, 1, 2], n_boot=20)
    for name in ("percent_agreement", "cohen_kappa", "scott_pi", "pabak"):
        assert report[name] is None and report["ci"][name] is None
    assert report["fleiss_kappa"] is not None and report["gwet_ac1"] is not None
    two = [w for w in report["warnings"] if "exactly two coders" in w]
    assert len(two) == 1 and "3 coders" in two[0]
    assert not any("undefined" in w for w in report["warnings"])


def test_multi_coder_paradox_uses_fleiss_kappa():
    # 3 coders, 95% of items unanimous "0"; the rest split: high agreement, low kappa.
    ratings = [(i, c, 0) for i in range(95) for c in "abc"]
    ratings += [(i, c, v) for i in range(95, 100) for c, v in zip("abc", (0, 1, 0))]
    r = agreement(ratings, [0, 1], n_boot=0)
    assert r.value("fleiss_kappa") < 0.4
    assert any("paradox" in w and "Fleiss" in w for w in r.warnings)


# Input and report shape ---------------------------------------------------------------


def test_report_has_exactly_the_contract_keys_and_is_strict_json():
    report = agreement_report(_two_coders(40), [0, 1, 2], n_boot=100)
    assert list(report) == CONTRACT_KEYS
    assert all(isinstance(report[name], float) for name in COEFFICIENTS)
    assert all(len(report["ci"][name]) == 2 for name in COEFFICIENTS)
    assert isinstance(report["n_items"], int) and report["n_items"] == 40
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_reports_for_several_dimensions():
    out = agreement_reports(
        {"D1": _two_coders(40, seed=1), "D2": _two_coders(40, seed=2)}, [0, 1, 2], n_boot=10
    )
    assert list(out) == ["dimensions"] and list(out["dimensions"]) == ["D1", "D2"]
    assert out["dimensions"]["D1"] != out["dimensions"]["D2"]


def test_encode_rejects_unknown_values_and_duplicates():
    with pytest.raises(ValueError, match="not one of the declared categories"):
        encode_ratings([(1, "a", 3)], [0, 1, 2])
    with pytest.raises(ValueError, match="rated twice"):
        encode_ratings([(1, "a", 0), (1, "a", 1)], [0, 1, 2])
    with pytest.raises(ValueError, match="distinct"):
        encode_ratings([], [0, 0])


def test_encode_treats_none_and_nan_as_missing_and_matches_equal_numbers():
    m = encode_ratings([(1, "a", 1.0), (1, "b", float("nan")), (2, "b", None)], [0, 1, 2])
    assert m.coders == ("a",)  # "b" gave no rating
    assert m.codes.tolist() == [[1], [-1]]


def test_rank_order_of_categories_drives_the_weights():
    ratings = [(0, "a", "lo"), (0, "b", "mid"), (1, "a", "hi"), (1, "b", "hi")]
    ratings += [(2, "a", "lo"), (2, "b", "lo"), (3, "a", "mid"), (3, "b", "hi")]
    ordered = agreement(ratings, ["lo", "mid", "hi"], n_boot=0)
    shuffled = agreement(ratings, ["mid", "lo", "hi"], n_boot=0)
    assert ordered.value("cohen_kappa") == pytest.approx(shuffled.value("cohen_kappa"))
    assert ordered.value("cohen_kappa_quadratic") != pytest.approx(
        shuffled.value("cohen_kappa_quadratic")
    )


def test_confusion_matrix_and_codes_entry_points_agree():
    codes = np.array([[0, 0], [1, 2], [2, 2], [1, 1], [0, 1]] * 10)
    from_codes = agreement_from_codes(codes, [0, 1, 2], n_boot=0)
    table = np.zeros((3, 3), int)
    np.add.at(table, (codes[:, 0], codes[:, 1]), 1)
    from_table = agreement_from_confusion(table, n_boot=0)
    assert from_codes.confusion == tuple(map(tuple, table.tolist()))
    for name in COEFFICIENTS:
        assert from_codes.value(name) == pytest.approx(from_table.value(name)), name

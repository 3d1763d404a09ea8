"""Agreement coefficients against published worked examples, to 1e-3 or better.

Each test names its source. Where a source prints only rounded values, the test checks
the rounding too; where a value could not be traced to a publication it is computed by
hand in the comment and the test says so.
"""

import json

import numpy as np
import pytest

from audit.stats.agreement import (
    agreement,
    agreement_from_codes,
    agreement_from_confusion,
    cohen_kappa,
)

# Krippendorff, K. (2011) "Computing Krippendorff's Alpha-Reliability", section C:
# 4 coders (A-D) x 12 units, values 1-5, None = missing. The same data are Gwet (2014)
# Handbook of Inter-Rater Reliability 4th ed. p. 120, shipped in irrCAC as cac.raw4raters.
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}

# Fleiss, J. L. (1971) "Measuring nominal scale agreement among many raters", Table 1:
# 30 patients x 6 psychiatrists, 5 diagnoses (1 depression, 2 personality disorder,
# 3 schizophrenia, 4 neurosis, 5 other); the raw form is R irr's `diagnoses` data.
FLEISS_1971 = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ]
)  # fmt: skip


def _long(columns: dict[str, list]) -> list[tuple]:
    return [
        (unit, coder, value)
        for coder, values in columns.items()
        for unit, value in enumerate(values)
    ]


@pytest.fixture(scope="module")
def krippendorff_2011():
    return agreement(_long(KRIPPENDORFF_2011), [1, 2, 3, 4, 5], n_boot=0)


def test_krippendorff_2011_alpha_with_missing_values(krippendorff_2011):
    # Krippendorff (2011) section C reports alpha = 0.743 nominal, 0.815 ordinal,
    # 0.849 interval for these data.
    r = krippendorff_2011
    assert r.value("krippendorff_alpha_nominal") == pytest.approx(0.743, abs=1e-3)
    assert r.value("krippendorff_alpha_ordinal") == pytest.approx(0.815, abs=1e-3)
    assert r.value("krippendorff_alpha_interval") == pytest.approx(0.849, abs=1e-3)
    assert r.n_items == 12 and r.n_coders == 4


def test_krippendorff_2011_ratio_and_interval_use_the_values():
    # Krippendorff (2011) section C also reports alpha_ratio = 0.797 for these data. The
    # values are 1..5, so ranks and values give the same interval alpha; coded as
    # 10, 20, ..., 50 (a change of unit) interval and ratio alpha must not move, while
    # shifted to 0..4 the ratio alpha changes (the ratio metric needs the true zero).
    data = _long(KRIPPENDORFF_2011)
    r = agreement(data, [1, 2, 3, 4, 5], n_boot=0)
    assert r.value("krippendorff_alpha_ratio") == pytest.approx(0.797, abs=1e-3)
    tens = [(u, c, None if v is None else 10 * v) for u, c, v in data]
    scaled = agreement(tens, [10, 20, 30, 40, 50], n_boot=0)
    for level in ("interval", "ratio"):
        name = f"krippendorff_alpha_{level}"
        assert scaled.value(name) == pytest.approx(r.value(name), abs=1e-12)
    shifted = [(u, c, None if v is None else v - 1) for u, c, v in data]
    zero_based = agreement(shifted, [0, 1, 2, 3, 4], n_boot=0)
    assert zero_based.value("krippendorff_alpha_interval") == pytest.approx(0.849, abs=1e-3)
    assert abs(zero_based.value("krippendorff_alpha_ratio") - 0.797) > 0.01


def test_gwet_handbook_raw4raters_fleiss_and_ac1(krippendorff_2011):
    # irrCAC README (github.com/kgwet/irrCAC), output for cac.raw4raters (Gwet 2014 p. 120):
    # pa.coeff.raw 0.8181818; gwet.ac1.raw AC1 0.77544 (pe 0.1903212);
    # fleiss.kappa.raw 0.76117 (pe 0.2387153); krippen.alpha.raw 0.74342.
    r = krippendorff_2011
    assert r.value("gwet_ac1") == pytest.approx(0.77544, abs=1e-5)
    assert r.value("fleiss_kappa") == pytest.approx(0.76117, abs=1e-5)
    assert r.value("krippendorff_alpha_nominal") == pytest.approx(0.74342, abs=1e-5)
    # 4 coders: the two-coder family is null, with a warning saying why.
    assert r.value("cohen_kappa") is None and r.value("pabak") is None
    assert any("exactly two coders" in w and "4 coders" in w for w in r.warnings)


def test_fleiss_1971_kappa():
    # Fleiss (1971) reports kappa = 0.430; R irr kappam.fleiss(diagnoses) = 0.4302445.
    r = agreement_from_codes(FLEISS_1971 - 1, [1, 2, 3, 4, 5], n_boot=0)
    assert r.value("fleiss_kappa") == pytest.approx(0.4302445, abs=1e-6)
    assert round(r.value("fleiss_kappa"), 3) == 0.430


def test_gwet_handbook_distrib_6raters():
    # irrCAC README: distrib.6raters (the first 15 subjects of Fleiss 1971 as counts)
    # gwet.ac1.dist 0.4448007, fleiss.kappa.dist 0.4139265, krippen.alpha.dist 0.4204384.
    r = agreement_from_codes(FLEISS_1971[:15] - 1, [1, 2, 3, 4, 5], n_boot=0)
    assert r.value("gwet_ac1") == pytest.approx(0.4448007, abs=1e-6)
    assert r.value("fleiss_kappa") == pytest.approx(0.4139265, abs=1e-6)
    assert r.value("krippendorff_alpha_nominal") == pytest.approx(0.4204384, abs=1e-6)


def test_gwet_handbook_cont3x3abstractors():
    # irrCAC README / overview vignette, cont3x3abstractors (Gwet 2014): two abstractors,
    # 100 cases, 3 categories. kappa2.table 0.7964094, scott2.table 0.7962397,
    # gwet.ac1.table 0.8493305, bp2.table 0.835 (Brennan-Prediger = PABAK for two coders),
    # krippen2.table 0.7972585, pa2.table 0.89.
    table = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    r = agreement_from_confusion(table, ["Ectopic", "AIU", "NIU"])
    assert r.value("cohen_kappa") == pytest.approx(0.7964094, abs=1e-6)
    assert r.value("scott_pi") == pytest.approx(0.7962397, abs=1e-6)
    assert r.value("gwet_ac1") == pytest.approx(0.8493305, abs=1e-6)
    assert r.value("pabak") == pytest.approx(0.835, abs=1e-9)
    assert r.value("krippendorff_alpha_nominal") == pytest.approx(0.7972585, abs=1e-6)
    assert r.value("percent_agreement") == pytest.approx(0.89, abs=1e-9)
    assert r.confusion == ((13, 0, 0), (0, 20, 7), (0, 4, 56))


def test_sas_proc_freq_simple_and_weighted_kappa():
    # SAS PROC FREQ (AGREE) printout for this 3x3 table, as reproduced in statsmodels'
    # test_inter_rater.py: simple kappa 0.4842, weighted kappa (Cicchetti-Allison = linear
    # rank weights) 0.4701.
    table = np.array([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    assert cohen_kappa(table) == pytest.approx(0.4842, abs=1e-4)
    assert cohen_kappa(table, "linear") == pytest.approx(0.4701, abs=1e-4)


def test_r_irr_kappa2_anxiety_raters_2_and_3():
    # R irr: kappa2(anxiety[,2:3]) = -0.006289308, "equal" (linear) 0.1459075,
    # "squared" (quadratic) 0.2520325 (values quoted in statsmodels' test_inter_rater.py).
    # irr weights by the levels present, 1, 2, 3, 4, 6 (5 is unused), so those are the
    # declared categories here.
    rater2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4]
    rater3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]
    r = agreement(_long({"r2": rater2, "r3": rater3}), [1, 2, 3, 4, 6], n_boot=0)
    assert r.value("cohen_kappa") == pytest.approx(-0.006289308, abs=1e-8)
    assert r.value("cohen_kappa_linear") == pytest.approx(0.1459075, abs=1e-7)
    assert r.value("cohen_kappa_quadratic") == pytest.approx(0.2520325, abs=1e-7)


def test_kappa_paradox_feinstein_cicchetti_1990():
    # Feinstein & Cicchetti (1990), as reproduced in Gerstman, "Epidemiology Kept Simple",
    # Table 10.6: both tables have po = 0.85; A gives kappa 0.70 (pe 0.50), B gives 0.32
    # (pe 0.78). Unrounded by hand: A (0.85 - 0.5008) / 0.4992 = 0.69952,
    # B (0.85 - 0.78) / 0.22 = 0.31818.
    a = agreement_from_confusion(np.array([[40, 9], [6, 45]]))
    b = agreement_from_confusion(np.array([[80, 10], [5, 5]]))
    assert a.value("percent_agreement") == pytest.approx(0.85) == b.value("percent_agreement")
    assert a.value("cohen_kappa") == pytest.approx(0.69952, abs=1e-5)
    assert b.value("cohen_kappa") == pytest.approx(0.31818, abs=1e-5)
    assert round(a.value("cohen_kappa"), 2) == 0.70 and round(b.value("cohen_kappa"), 2) == 0.32
    assert not any("paradox" in w for w in a.warnings)
    (paradox,) = [w for w in b.warnings if "paradox" in w]
    # PABAK (2 * 0.85 - 1 = 0.70) and AC1 (by hand: pi = 0.875/0.125, pe = 0.21875,
    # (0.85 - 0.21875) / 0.78125 = 0.808) are reported beside it.
    assert "PABAK = 0.700" in paradox and "AC1 = 0.808" in paradox


def test_kappa_paradox_118_5_2_0_table():
    # Table a=118, b=5, c=2, d=0 (n=125). Not traced to a printed source here, so the
    # values are computed by hand: po = 118/125 = 0.944; pe = (123*120 + 2*5)/125^2 =
    # 0.94528; kappa = (0.944 - 0.94528)/(1 - 0.94528) = -0.02339; PABAK = 0.888.
    r = agreement_from_confusion(np.array([[118, 5], [2, 0]]))
    assert r.value("percent_agreement") == pytest.approx(0.944, abs=1e-9)
    assert r.value("cohen_kappa") == pytest.approx(-0.02339, abs=1e-5)
    assert r.value("pabak") == pytest.approx(0.888, abs=1e-9)
    assert any("paradox" in w for w in r.warnings)
    json.dumps(r.to_dict(), allow_nan=False)

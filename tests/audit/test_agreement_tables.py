"""audit.agreement_tables: kappa and AC1 each under its own name, reasons, heatmap bands."""

from __future__ import annotations

import pytest

from audit.agreement_results import build_results
from audit.agreement_tables import band, coefficient_table, heatmaps, undefined_reason

DIMENSIONS = [("D1", "Specification", (0, 1, 2)), ("D2", "Process", (0, 1, 2))]


def ratings() -> list[tuple[str, str, str, int]]:
    """Condition A: D1 all 2 for both coders (kappa 0/0, AC1 = 1); D2 varied.
    Condition B: three coders (kappa needs exactly two)."""
    out = []
    for i in range(6):
        for coder in ("ann", "bob"):
            out.append((f"a{i}", coder, "D1", 2))
            out.append((f"a{i}", coder, "D2", i % 3 if coder == "ann" else (i + (i == 4)) % 3))
    for i in range(4):
        for coder in ("ann", "bob", "cat"):
            out += [(f"b{i}", coder, "D1", i % 2), (f"b{i}", coder, "D2", (i + 1) % 3)]
    return out


@pytest.fixture(scope="module")
def results() -> dict:
    conditions = {f"a{i}": "M1 · C1" for i in range(6)} | {f"b{i}": "M2 · C2" for i in range(4)}
    return build_results(DIMENSIONS, ratings(), conditions=conditions, n_boot=0)


def test_each_coefficient_under_its_own_name_with_reasons(results):
    table = coefficient_table(results["conditions"], ["D1", "D2"])
    a, b = table["rows"]
    kappa_line, ac1_line = a["lines"]
    assert (kappa_line["short"], ac1_line["short"]) == ("κ", "AC1")
    assert kappa_line["label"] == "Cohen's κ" and ac1_line["label"] == "Gwet's AC1"
    kappa, ac1 = kappa_line["cells"][0], ac1_line["cells"][0]  # M1 · C1, D1: always 2
    assert kappa["value"] is None and ac1["value"] == 1.0  # AC1 is not shown as kappa
    assert "chance agreement is 1" in kappa["reason"] and kappa["reason"].startswith("Cohen's κ")
    kappa_b = b["lines"][0]["cells"][1]
    assert kappa_b["value"] is None and "exactly two coders" in kappa_b["reason"]
    notes = {n["n"]: n["text"] for n in table["notes"]}
    assert notes[kappa["note"]] == kappa["reason"] and notes[kappa_b["note"]] == kappa_b["reason"]
    defined = kappa_line["cells"][1]
    assert defined["value"] is not None and defined["note"] is None


def test_snapshots_without_reasons_fall_back_on_warnings(results):
    entry = dict(results["conditions"][1]["dimensions"]["D1"])
    entry.pop("reasons")
    assert undefined_reason(entry, "cohen_kappa").startswith("needs exactly two coders")
    single = dict(results["conditions"][0]["dimensions"]["D1"])
    single.pop("reasons")
    assert "chance agreement is 1" in undefined_reason(single, "cohen_kappa")


def test_heatmaps_one_per_coefficient_with_bands(results):
    heat = heatmaps(results["conditions"], ["D1", "D2"])
    assert [m["name"] for m in heat["maps"]] == ["cohen_kappa", "gwet_ac1"]
    kappa_map, ac1_map = heat["maps"]
    assert kappa_map["rows"][0]["cells"][0]["band"][0] == "band-undefined"
    assert ac1_map["rows"][0]["cells"][0]["band"][0] == "band-perfect"
    assert len(heat["legend"]) == 7 and heat["notes"]


@pytest.mark.parametrize(
    ("value", "css"),
    [
        (-0.1, "band-poor"),
        (0.0, "band-slight"),
        (0.2, "band-slight"),
        (0.204, "band-slight"),  # shown as 0.20
        (0.21, "band-fair"),
        (0.6, "band-moderate"),
        (0.61, "band-substantial"),
        (0.81, "band-perfect"),
        (1.0, "band-perfect"),
        (None, "band-undefined"),
    ],
)
def test_landis_koch_bands(value, css):
    assert band(value)[0] == css

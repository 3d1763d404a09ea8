"""`manage.py agreement`: the JSON contract, options, and one-line errors on bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.stats.agreement import COEFFICIENTS, agreement_report
from tests.manage_cli import manage

ROOT = Path(__file__).resolve().parents[2]
KEYS = ["n_items", "n_coders", *COEFFICIENTS, "ci", "warnings"]


def write(tmp_path: Path, text: str, name: str = "ratings.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, *extra: str) -> dict:
    out = io.StringIO()
    call_command("agreement", "--input", str(path), *extra, "--format", "json", stdout=out)
    text = out.getvalue()
    assert "NaN" not in text and "Infinity" not in text
    return json.loads(text)


def two_coder_rows(n_items: int, seed: int, dimension: str | None = None) -> list[tuple]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_items)
    rows = []
    for i in range(n_items):
        for coder in ("ann", "bob"):
            value = truth[i] if rng.random() < 0.7 else rng.integers(0, 3)
            value = "" if rng.random() < 0.05 else str(value)
            rows.append((f"T-{i}", coder, value, dimension))
    return rows


def to_csv(rows: list[tuple], with_dimension: bool) -> str:
    header = "item,coder,value,dimension" if with_dimension else "item,coder,value"
    lines = [",".join(r if with_dimension else r[:3]) for r in rows]
    return "\n".join([header, *lines]) + "\n"


def test_contract_per_dimension_matches_the_pure_api(tmp_path):
    rows = two_coder_rows(60, 1, "D10") + two_coder_rows(45, 2, "D2")
    out = run(write(tmp_path, to_csv(rows, True)), "--bootstrap", "200", "--seed", "3")
    assert list(out) == ["dimensions"]
    assert list(out["dimensions"]) == ["D2", "D10"]  # natural order
    for dimension in ("D2", "D10"):
        got = out["dimensions"][dimension]
        assert list(got) == KEYS
        expected = agreement_report(
            [(i, c, int(v) if v else None) for i, c, v, d in rows if d == dimension],
            [0, 1, 2],
            n_boot=200,
            seed=3,
        )
        assert got == json.loads(json.dumps(expected))
        assert got["n_coders"] == 2 and isinstance(got["n_items"], int)
        assert all(isinstance(got["ci"][name], list) for name in COEFFICIENTS)


def test_without_dimension_column_everything_is_all(tmp_path):
    out = run(write(tmp_path, to_csv(two_coder_rows(40, 4), False)), "--bootstrap", "0")
    assert list(out["dimensions"]) == ["_all"]
    report = out["dimensions"]["_all"]
    assert report["n_items"] == 40
    assert report["ci"] == {name: None for name in COEFFICIENTS}  # --bootstrap 0


def test_seed_makes_intervals_reproducible(tmp_path):
    path = write(tmp_path, to_csv(two_coder_rows(50, 5), False))
    a = run(path, "--bootstrap", "100", "--seed", "7")
    b = run(path, "--bootstrap", "100", "--seed", "7")
    c = run(path, "--bootstrap", "100", "--seed", "8")
    assert a == b and a != c


def test_default_categories_sort_numerically(tmp_path):
    # Default categories: 2 < 10 < 100 as numbers (as text "10" < "100" < "2").
    rows = [("1", "a", "2"), ("1", "b", "10"), ("2", "a", "10"), ("2", "b", "100")]
    rows += [("3", "a", "2"), ("3", "b", "2"), ("4", "a", "100"), ("4", "b", "100")]
    rows += [("5", "a", "2"), ("5", "b", "100")]
    path = write(tmp_path, "item,coder,value\n" + "\n".join(",".join(r) for r in rows))
    default = run(path, "--bootstrap", "0")
    numeric = run(path, "--bootstrap", "0", "--categories", "2,10,100")
    textual = run(path, "--bootstrap", "0", "--categories", "10,100,2")
    assert default == numeric
    key = "cohen_kappa_quadratic"
    assert default["dimensions"]["_all"][key] == pytest.approx(0.375)  # sklearn, ranks 2 < 10 < 100
    assert textual["dimensions"]["_all"][key] == pytest.approx(0.0)


def test_declared_categories_count_unused_ones(tmp_path):
    rows = [(str(i), c, str(i % 2)) for i in range(40) for c in "ab"]
    path = write(tmp_path, "item,coder,value\n" + "\n".join(",".join(r) for r in rows))
    report = run(path, "--categories", "0,1,2", "--bootstrap", "0")["dimensions"]["_all"]
    assert any("category 2 was never used" in w for w in report["warnings"])
    assert report["pabak"] == pytest.approx(1.0)


def test_text_categories_and_missing_values(tmp_path):
    text = (
        "dimension,item,coder,value\n"
        "D1,x,a,absent\nD1,x,b,present\nD1,y,a,partial\nD1,y,b,\nD1,z,a,present\nD1,z,b,present\n"
    )
    path = write(tmp_path, text)
    report = run(path, "--categories", "absent,partial,present", "--bootstrap", "0")
    d1 = report["dimensions"]["D1"]
    assert d1["n_items"] == 3 and d1["percent_agreement"] == pytest.approx(0.5)


def test_three_coders_null_the_two_coder_family(tmp_path):
    rows = [(str(i), c, str((i + (c == "c")) % 3)) for i in range(35) for c in "abc"]
    path = write(tmp_path, "item,coder,value\n" + "\n".join(",".join(r) for r in rows))
    report = run(path, "--bootstrap", "50")["dimensions"]["_all"]
    assert report["n_coders"] == 3
    assert report["cohen_kappa"] is None and report["ci"]["cohen_kappa"] is None
    assert report["fleiss_kappa"] is not None
    assert any("exactly two coders" in w for w in report["warnings"])


def test_single_category_data_gives_nulls_not_nan(tmp_path):
    rows = [(str(i), c, "1") for i in range(30) for c in "ab"]
    path = write(tmp_path, "item,coder,value\n" + "\n".join(",".join(r) for r in rows))
    report = run(path, "--categories", "0,1", "--bootstrap", "100")["dimensions"]["_all"]
    assert report["cohen_kappa"] is None and report["krippendorff_alpha_nominal"] is None
    assert report["gwet_ac1"] == 1.0


# Krippendorff (2011) section C / Gwet (2014) p. 120 (irrCAC cac.raw4raters): 4 coders x 12
# units; irrCAC gives Fleiss' kappa 0.76117 and Krippendorff's alpha 0.74342 (nominal),
# 0.849 (interval). None = missing, written below in each spelling R/pandas/Excel use.
K2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def k2011_csv(tmp_path: Path, missing: list[str], one_as: str = "1") -> Path:
    lines, n = ["item,coder,value"], 0
    for coder, values in K2011.items():
        for unit, value in enumerate(values):
            if value is None:
                cell = missing[n % len(missing)]
                n += 1
            else:
                cell = one_as if value == 1 else str(value)
            lines.append(f"u{unit + 1},{coder},{cell}")
    return write(tmp_path, "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "missing", [["NA"], ["NaN"], ["", "NA", "na", "N/A", "nan"]], ids=["NA", "NaN", "mixed"]
)
def test_r_missing_markers_are_missing_not_a_category(tmp_path, missing):
    # Issue 13 part 7: on main one NA made every value a text label (Fleiss 0.568).
    # "1.0" for 1 is the same category once NA is no longer text.
    report = run(k2011_csv(tmp_path, missing, one_as="1.0"), "--bootstrap", "0")
    got = report["dimensions"]["_all"]
    assert got["fleiss_kappa"] == pytest.approx(0.76117, abs=1e-5)
    assert got["krippendorff_alpha_nominal"] == pytest.approx(0.74342, abs=1e-5)
    assert got["krippendorff_alpha_interval"] == pytest.approx(0.849, abs=1e-3)
    assert got["n_items"] == 12 and not any("never used" in w for w in got["warnings"])


def test_numbers_sort_numerically_next_to_na(tmp_path):
    # 2 < 10 as numbers; as text labels "10" sorted before "2" and the weights inverted.
    rows = ["1,a,2", "1,b,10", "2,a,10", "2,b,100", "3,a,2", "3,b,2", "4,a,NA", "4,b,100"]
    path = write(tmp_path, "item,coder,value\n" + "\n".join(rows) + "\n")
    with_na = run(path, "--bootstrap", "0")["dimensions"]["_all"]
    declared = run(path, "--bootstrap", "0", "--categories", "2,10,100")["dimensions"]["_all"]
    assert with_na == declared


def test_declared_na_category_stays_a_category(tmp_path):
    rows = [
        f"{i},{c},{'NA' if (i + (c == 'b')) % 3 == 0 else i % 2}" for i in range(30) for c in "ab"
    ]
    path = write(tmp_path, "item,coder,value\n" + "\n".join(rows) + "\n")
    report = run(path, "--bootstrap", "0", "--categories", "0,1,NA")["dimensions"]["_all"]
    assert report["n_items"] == 30 and report["percent_agreement"] < 1
    assert not any("never used" in w for w in report["warnings"])
    assert report["krippendorff_alpha_interval"] is None  # "NA" is no number


def test_mixed_numbers_and_text_need_declared_categories(tmp_path):
    path = write(tmp_path, "item,coder,value\n1,a,0\n1,b,unsure\n2,a,2\n2,b,1.0\n")
    with pytest.raises(
        CommandError, match=r"values mix numbers \(0, 1, 2\) and text: 'unsure' on line 3"
    ):
        run(path, "--bootstrap", "0")
    report = run(path, "--bootstrap", "0", "--categories", "0,1,2,unsure")["dimensions"]["_all"]
    assert report["n_items"] == 2 and report["percent_agreement"] == 0.0
    # A CommandError: manage.py exits 1 with one line and no traceback (shown for this
    # path by test_process_exits_non_zero_with_one_line_on_stderr below).


BAD_INPUTS = {
    "missing column": ("item,coder\n1,a\n", (), "missing column: value"),
    "value not in categories": (
        "item,coder,value\n1,a,0\n1,b,7\n",
        ("--categories", "0,1,2"),
        "line 3: value '7' is not one of the categories 0, 1, 2",
    ),
    "non-numeric value": (
        "item,coder,value\n1,a,0\n1,b,high\n",
        ("--categories", "0,1,2"),
        "line 3: value 'high'",
    ),
    "empty file": ("", (), "the input file is empty"),
    "header only": ("item,coder,value\n", (), "header but no ratings"),
    "duplicate rating": ("item,coder,value\n1,a,0\n1,a,1\n", (), "rated twice"),
    "ragged row": ("item,coder,value\n1,a\n", (), "line 2: expected 3 fields"),
    "all missing": ("item,coder,value\n1,a,\n", (), "pass --categories"),
    "all NA": ("item,coder,value\n1,a,NA\n1,b,nan\n", (), "pass --categories"),
    "infinite value": (
        "item,coder,value\n1,a,0\n1,b,inf\n",
        (),
        "line 3: value 'inf' is not a finite",
    ),
    "repeated category": ("item,coder,value\n1,a,0\n", ("--categories", "0,1,1.0"), "twice"),
    "negative bootstrap": ("item,coder,value\n1,a,0\n", ("--bootstrap", "-1"), "--bootstrap"),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_raises_command_error(tmp_path, case):
    text, extra, message = BAD_INPUTS[case]
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run(write(tmp_path, text), *extra)


def test_unreadable_inputs_raise_command_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read .*No such file"):
        run(tmp_path / "absent.csv")
    with pytest.raises(CommandError, match="cannot read"):
        run(tmp_path)  # a directory
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"item,coder,value\n\xff\xfe\x00,a,1\n")
    with pytest.raises(CommandError, match="not UTF-8"):
        run(binary)


def _subprocess(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", "agreement", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "text",
    [
        "item,coder\n1,a\n",  # missing column
        "item,coder,value\n1,a,0\n1,b,9\n",  # value not in categories
        "",  # empty file
        b"item,coder,value\n\xff,a,1\n",  # not UTF-8
    ],
    ids=["missing-column", "unknown-value", "empty", "not-utf8"],
)
def test_command_line_exits_non_zero_with_one_line_on_stderr(tmp_path, text):
    path = tmp_path / "bad.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    result = manage("agreement", "--input", str(path), "--categories", "0,1,2", "--format", "json")
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: "), result.stderr
    assert "Traceback" not in result.stderr


def test_command_line_missing_file_is_one_line(tmp_path):
    result = manage("agreement", "--input", str(tmp_path / "nope.csv"), "--format", "json")
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1


def test_process_smoke(tmp_path):
    """The one subprocess test: ``manage.py agreement`` runs and prints the JSON."""
    path = write(tmp_path, to_csv(two_coder_rows(30, 9, "D1"), True))
    result = _subprocess(
        "--input", str(path), "--bootstrap", "50", "--seed", "1", "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["dimensions"]["D1"]
    assert list(report) == KEYS

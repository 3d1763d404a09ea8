"""`manage.py g_study` and `manage.py bradley_terry`: contracts and bad input (issue 19)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.manage_cli import manage

ROOT = Path(__file__).resolve().parents[2]

SHROUT_FLEISS_CSV = "item,coder,score\n" + "".join(
    f"t{i},j{j},{v}\n"
    for i, row in enumerate(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    )
    for j, v in enumerate(row)
)


def run(command: str, path: Path, *args: str) -> dict:
    out = io.StringIO()
    call_command(command, "--input", str(path), *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "input.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_g_study_contract_one_dimension(tmp_path):
    out = run("g_study", write(tmp_path, SHROUT_FLEISS_CSV), "--d-study", "1,4")
    assert list(out) == ["dimensions"]
    dim = out["dimensions"]["_all"]
    assert set(dim) >= {"n_items", "n_coders", "n_scores", "coders_per_item",
                        "variance_components", "g", "phi", "d_study"}  # fmt: skip
    assert (dim["n_items"], dim["n_coders"], dim["n_scores"]) == (6, 4, 24)
    assert set(dim["variance_components"]) == {"item", "coder", "residual"}
    assert [(r["coders"], round(r["g"], 2), round(r["phi"], 2)) for r in dim["d_study"]] == [
        (1, 0.71, 0.29), (4, 0.91, 0.62),
    ]  # fmt: skip


def test_g_study_across_dimensions(tmp_path):
    lines = ["item,coder,dimension,score"]
    values = iter([3, 1, 2, 2, 0, 1, 2, 2, 1, 0, 2, 1, 0, 0, 1, 2, 2, 2, 1, 1, 0, 2, 1, 0])
    for item in ("a", "b", "c"):
        for coder in ("x", "y"):
            for dimension in ("D1", "D2", "D10", "D3"):
                lines.append(f"{item},{coder},{dimension},{next(values)}")
    out = run("g_study", write(tmp_path, "\n".join(lines) + "\n"))
    assert list(out["dimensions"]) == ["D1", "D2", "D3", "D10"]
    across = out["across_dimensions"]
    assert set(across["variance_components"]) == {
        "item", "coder", "dimension", "item:coder", "item:dimension", "coder:dimension",
        "residual",
    }  # fmt: skip
    assert set(across["d_study"][0]) == {"coders", "dimensions", "g", "phi"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ("item,coder\na,b\n", "missing column"),
        ("item,coder,score\na,x,1\na,x,2\n", "duplicate score"),
        ("item,coder,score\na,x,high\n", "not a number"),
        ("item,coder,score\na,x,nan\n", "not a finite number"),
        ("item,coder,score\n", "no data rows"),
    ],
)
def test_g_study_bad_input_is_a_clear_error(tmp_path, text, message):
    with pytest.raises(CommandError, match=message):
        run("g_study", write(tmp_path, text))


def test_g_study_bad_d_study(tmp_path):
    with pytest.raises(CommandError, match="--d-study"):
        run("g_study", write(tmp_path, SHROUT_FLEISS_CSV), "--d-study", "0,2")


def test_bradley_terry_contract(tmp_path):
    text = "winner,loser,count,configuration\n" + "".join(
        f"{w},{lo},{n},{c}\n"
        for c, pairs in {
            "t0": [("A", "B", 3), ("B", "A", 1), ("A", "C", 2), ("C", "A", 1), ("B", "C", 2),
                   ("C", "B", 1)],
            "t1": [("B", "A", 3), ("A", "B", 1), ("A", "C", 2), ("C", "A", 1), ("B", "C", 2),
                   ("C", "B", 1)],
        }.items()
        for w, lo, n in pairs
    )  # fmt: skip
    out = run("bradley_terry", write(tmp_path, text), "--bootstrap", "50", "--seed", "3")
    assert list(out) == ["overall", "by_configuration", "rank_flips"]
    overall = out["overall"]
    assert set(overall) == {"players", "n_comparisons", "log_strength", "se", "ci", "rank",
                            "log_likelihood", "converged", "note"}  # fmt: skip
    assert overall["players"] == ["A", "B", "C"] and overall["n_comparisons"] == 20
    assert sum(overall["log_strength"].values()) == pytest.approx(0, abs=1e-12)
    assert set(overall["ci"]) == {"A", "B", "C"}
    assert out["rank_flips"] == [{"a": "A", "b": "B", "a_above_b": ["t0"], "b_above_a": ["t1"]}]


def test_bradley_terry_without_mle_says_why(tmp_path):
    out = run("bradley_terry", write(tmp_path, "winner,loser\na,b\na,c\nb,c\n"))
    assert out["overall"]["converged"] is False
    assert out["overall"]["log_strength"] is None
    assert "never won" in out["overall"]["note"]
    assert out["overall"]["ci"] is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ("winner\na\n", "missing column"),
        ("winner,loser\na,a\n", "compared with itself"),
        ("winner,loser,count\na,b,0\n", "count"),
        ("winner,loser,count\na,b,1e3\n", "count"),
        ("winner,loser,count\na,b,99999999999999\n", "count"),
        ("winner,loser\n,b\n", "missing winner"),
    ],
)
def test_bradley_terry_bad_input_is_a_clear_error(tmp_path, text, message):
    with pytest.raises(CommandError, match=message):
        run("bradley_terry", write(tmp_path, text))


@pytest.mark.parametrize("command, csv_text", [
    ("g_study", SHROUT_FLEISS_CSV), ("bradley_terry", "winner,loser\na,b\nb,a\n"),
])  # fmt: skip
def test_command_smoke_in_a_subprocess(tmp_path, command, csv_text):
    path = write(tmp_path, csv_text)
    ok = subprocess.run(
        [sys.executable, "manage.py", command, "--input", str(path), "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    json.loads(ok.stdout)


@pytest.mark.parametrize("command", ["g_study", "bradley_terry"])
def test_command_line_error_is_one_line(tmp_path, command):
    bad = manage(command, "--input", str(tmp_path / "missing.csv"))
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr and "cannot read" in bad.stderr

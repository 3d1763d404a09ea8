"""`manage.py scaffold_efficacy` and `manage.py rank_instability`: contracts and bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.stats.anova import EFFICACY_COLUMNS
from tests.manage_cli import manage

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "audit" / "data" / "rank_instability_example.csv"
EFFICACY_HEADER = ",".join(EFFICACY_COLUMNS)
RANK_HEADER = "config,model,benchmark,score"


def run(command: str, path: Path) -> dict:
    out = io.StringIO()
    call_command(command, "--input", str(path), "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def write(tmp_path: Path, text: str, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stress_test_csv(tmp_path: Path) -> Path:
    """3 models x 4 scaffolds x 15 prompts (12 under-specified) on D1, D2 and D10."""
    rng = np.random.default_rng(7)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EFFICACY_COLUMNS)
    for model in ("model-b", "model-a", "model-c"):
        for scaffold in ("C1", "C2", "C3", "C4"):
            for prompt in range(15):
                spec = "under" if prompt < 12 else "full"
                for dimension in ("D1", "D10", "D2"):
                    value = int(rng.integers(0, 3))
                    if dimension == "D2" and model == "model-c":
                        value = 2  # a constant model x dimension
                    writer.writerow([model, scaffold, f"P{prompt:02d}", spec, dimension, value])
    return write(tmp_path, buffer.getvalue())


def test_scaffold_efficacy_contract(tmp_path):
    out = run("scaffold_efficacy", stress_test_csv(tmp_path))
    assert list(out) == ["one_way", "under_specified_means", "two_way"]
    assert len(out["one_way"]) == 9
    order = [(r["model"], r["dimension"]) for r in out["one_way"]]
    assert order == [(m, d) for m in ("model-a", "model-b", "model-c") for d in ("D1", "D2", "D10")]
    for row in out["one_way"]:
        assert list(row) == [
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
        ]
        assert row["n"] == {"C1": 15, "C2": 15, "C3": 15, "C4": 15}
        assert (row["df_between"], row["df_within"]) == (3, 56)
    constant = out["one_way"][7]
    assert (constant["model"], constant["dimension"]) == ("model-c", "D2")
    assert constant["note"] == "no variance"
    for key in ("F", "p", "p_holm", "eta_squared", "kruskal_H", "kruskal_p"):
        assert constant[key] is None
    assert constant["means"] == {"C1": 2.0, "C2": 2.0, "C3": 2.0, "C4": 2.0}
    others = [r for r in out["one_way"] if r["p"] is not None]
    assert len(others) == 8 and all(r["p_holm"] >= r["p"] for r in others)

    under = out["under_specified_means"]
    assert [list(r) for r in under] == [["model", "dimension", "means", "n"]] * 9
    assert under[0]["n"] == {"C1": 12, "C2": 12, "C3": 12, "C4": 12}

    assert [r["dimension"] for r in out["two_way"]] == ["D1", "D2", "D10"]
    for row in out["two_way"]:
        assert list(row) == ["dimension", "terms", "df_resid", "note"]
        assert list(row["terms"]) == ["model", "scaffold", "model:scaffold"]
        assert row["df_resid"] == 180 - 12 and row["note"] is None
        for term in row["terms"].values():
            assert list(term) == ["F", "p", "df"]
            assert term["F"] is not None and 0.0 <= term["p"] <= 1.0
        assert [t["df"] for t in row["terms"].values()] == [2, 3, 6]


def test_scaffold_efficacy_output_has_no_nan(tmp_path):
    text = f"{EFFICACY_HEADER}\nm,C1,P1,full,D1,1\nm,C1,P2,full,D1,1\nm,C2,P1,under,D1,1\n"
    out = io.StringIO()
    call_command("scaffold_efficacy", "--input", str(write(tmp_path, text)), stdout=out)
    assert "NaN" not in out.getvalue() and "Infinity" not in out.getvalue()
    result = json.loads(out.getvalue())
    assert result["one_way"][0]["note"] == "no variance"
    assert result["two_way"][0]["terms"]["model"] == {"F": None, "p": None, "df": 0}  # one model
    assert "fewer than 2 models" in result["two_way"][0]["note"]  # null, with the reason


def test_rank_instability_on_bundled_example():
    out = run("rank_instability", EXAMPLE)
    assert list(out) == ["benchmarks"]
    assert set(out["benchmarks"]) == {"refusal-harmful", "jailbreak-resistance"}
    for result in out["benchmarks"].values():
        assert (result["n_configs"], result["n_models"]) == (6, 4)
        assert len(result["pairs"]) == 6
        for key in ("mean_disagreement_rate", "rank_flip_rate", "rank_envelope"):
            assert key in result
        assert all(1 <= lo <= hi <= 4 for lo, hi in result["rank_envelope"].values())
        # The example is meant to show instability: at least one strict reversal each.
        reversals = [p for p in result["pairs"] if p["strict_reversal"]]
        assert reversals and all(len(p["witness"]) == 2 for p in reversals)
        assert 0 < result["rank_flip_rate"] < 1
    configs = {row["config"] for row in csv.DictReader(EXAMPLE.open(encoding="utf-8"))}
    assert len(configs) == 6 and all("q=" in c for c in configs)


SCAFFOLD_BAD = {
    "missing column": "model,scaffold,prompt,dimension,value\nm,C1,P1,D1,1\n",
    "non-numeric value": f"{EFFICACY_HEADER}\nm,C1,P1,full,D1,high\n",
    "bad specification": f"{EFFICACY_HEADER}\nm,C1,P1,partial,D1,1\n",
    "empty file": "",
    "header only": f"{EFFICACY_HEADER}\n",
}
RANK_BAD = {
    "missing column": "config,model,score\nc1,A,1\n",
    "non-numeric score": f"{RANK_HEADER}\nc1,A,b,n/a\n",
    "duplicate row": f"{RANK_HEADER}\nc1,A,b,1\nc1,A,b,2\n",
    "empty file": "",
}


@pytest.mark.parametrize(
    ("command", "text"),
    [("scaffold_efficacy", t) for t in SCAFFOLD_BAD.values()]
    + [("rank_instability", t) for t in RANK_BAD.values()],
    ids=[f"efficacy-{k}" for k in SCAFFOLD_BAD] + [f"rank-{k}" for k in RANK_BAD],
)
def test_bad_input_raises_command_error(tmp_path, command, text):
    with pytest.raises(CommandError) as caught:
        call_command(command, "--input", str(write(tmp_path, text)), stdout=io.StringIO())
    assert "\n" not in str(caught.value)


def test_unreadable_file_raises_command_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("scaffold_efficacy", "--input", str(tmp_path / "absent.csv"))
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"config,model,benchmark,score\n\xff\xfe,A,b,1\n")
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("rank_instability", "--input", str(path))


@pytest.mark.parametrize(
    ("command", "text", "message"),
    [
        ("scaffold_efficacy", SCAFFOLD_BAD["non-numeric value"], "line 2: value 'high'"),
        ("rank_instability", RANK_BAD["duplicate row"], "line 3: duplicate row"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line(tmp_path, command, text, message):
    path = write(tmp_path, text)
    proc = manage(command, "--input", str(path), "--format", "json")
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0] and "Traceback" not in proc.stderr


def test_cli_success_through_manage_py():
    """The one subprocess smoke test: a real ``manage.py`` process prints the JSON."""
    proc = subprocess.run(
        [sys.executable, "manage.py", "rank_instability", "--input", str(EXAMPLE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == run("rank_instability", EXAMPLE)

"""The judge-calibration table: a model co-coder against each human coder and against the
reconciled values, per rubric dimension. No database access: the caller passes rows.

Every number comes from ``audit.stats.calibration`` (kappa, quadratic-weighted kappa and
Gwet's AC1 with percentile bootstrap CIs, exact and within-one agreement, bias). The
human-human baseline per dimension (agreement of the human coders among themselves on the
same first-pass scores) is reported next to it: a judge is as good as a coder when its
agreement with the reconciled values reaches what humans reach with each other.

Results shape (``VERSION`` 1)::

    {"version": 1, "n_boot": int, "seed": int, "level": 0.95,
     "references": ["reconciled", coder, ...],
     "dimensions": [{"code", "name", "categories", "judge_items": int,
                     "rejected": int, "rejected_reasons": [str, ...],
                     "baseline": {"cohen_kappa_quadratic", "gwet_ac1", "n_items"},
                     "rows": [{"reference": str, <Calibration.to_dict() keys>}]}],
     "summary": {reference: {"mean_kappa_quadratic": x, "mean_ac1": x}}}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from audit.stats.agreement import agreement
from audit.stats.calibration import CALIBRATION_COEFFICIENTS, calibrate

VERSION = 1
RECONCILED = "reconciled"
LABELS = {
    "cohen_kappa": "Cohen's κ",
    "cohen_kappa_quadratic": "κ (quadratic)",
    "gwet_ac1": "Gwet's AC1",
}

JudgeRow = tuple[str, str, int | None, str]  # item, dimension, value (None: rejected), reason
HumanRow = tuple[str, str, str, int]  # item, coder, dimension, value
ReconciledRow = tuple[str, str, int]  # item, dimension, value
Dimension = tuple[str, str, Sequence[int]]  # code, name, categories


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def _baseline(human: Sequence[tuple[str, str, int]], categories, n_boot, seed) -> dict:
    result = agreement(human, categories, n_boot=0, seed=seed) if human else None
    if result is None:
        return {"cohen_kappa_quadratic": None, "gwet_ac1": None, "n_items": 0}
    # Two coders: Cohen's quadratic kappa; more: Gwet's AC2 quadratic has the same weights.
    kappa = result.value("cohen_kappa_quadratic")
    if kappa is None and result.n_coders > 2:
        kappa = result.value("gwet_ac2_quadratic")
    return {
        "cohen_kappa_quadratic": kappa,
        "gwet_ac1": result.value("gwet_ac1"),
        "n_items": result.n_items_multi,
    }


def build_calibration(
    *,
    dimensions: Sequence[Dimension],
    judge: Iterable[JudgeRow],
    human: Iterable[HumanRow],
    reconciled: Iterable[ReconciledRow],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """The table for one judge run (see the module docstring)."""
    judge_by_dim: dict[str, dict[str, int]] = defaultdict(dict)
    rejected: dict[str, list[str]] = defaultdict(list)
    for item, dim, value, reason in judge:
        if value is None:
            rejected[dim].append(reason)
        else:
            judge_by_dim[dim][item] = value
    human_by: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    human_triples: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    coders: set[str] = set()
    for item, coder, dim, value in human:
        human_by[dim][coder][item] = value
        human_triples[dim].append((item, coder, value))
        coders.add(coder)
    recon_by: dict[str, dict[str, int]] = defaultdict(dict)
    for item, dim, value in reconciled:
        recon_by[dim][item] = value
    references = [RECONCILED, *sorted(coders)]
    out_dims = []
    for code, name, categories in dimensions:
        rows = []
        for ref in references:
            target = recon_by[code] if ref == RECONCILED else human_by[code][ref]
            result = calibrate(judge_by_dim[code], target, categories, n_boot=n_boot, seed=seed)
            rows.append({"reference": ref, **result.to_dict()})
        reasons = sorted(set(rejected[code]))
        out_dims.append(
            {
                "code": code,
                "name": name,
                "categories": list(categories),
                "judge_items": len(judge_by_dim[code]),
                "rejected": len(rejected[code]),
                "rejected_reasons": reasons[:10],
                "baseline": _baseline(human_triples[code], categories, n_boot, seed),
                "rows": rows,
            }
        )
    summary = {}
    for i, ref in enumerate(references):
        summary[ref] = {
            "mean_kappa_quadratic": _mean(d["rows"][i]["cohen_kappa_quadratic"] for d in out_dims),
            "mean_ac1": _mean(d["rows"][i]["gwet_ac1"] for d in out_dims),
        }
    return {
        "version": VERSION,
        "n_boot": n_boot,
        "seed": seed,
        "level": 0.95,
        "references": references,
        "dimensions": out_dims,
        "summary": summary,
    }


CSV_HEADER = [
    "dimension",
    "reference",
    "n_items",
    "exact",
    "within_one",
    "bias",
    "bias_ci_low",
    "bias_ci_high",
    *[
        part
        for name in CALIBRATION_COEFFICIENTS
        for part in (name, f"{name}_ci_low", f"{name}_ci_high")
    ],
    "human_baseline_kappa_quadratic",
    "rejected",
]


def calibration_csv_rows(results: Mapping[str, Any]) -> Iterable[list[Any]]:
    """One row per dimension x reference."""
    for dim in results["dimensions"]:
        for row in dim["rows"]:
            bias_ci = row["bias_ci"] or [None, None]
            coefs = []
            for name in CALIBRATION_COEFFICIENTS:
                coefs += [row[name], *(row["ci"][name] or [None, None])]
            yield [
                dim["code"],
                row["reference"],
                row["n_items"],
                row["exact"],
                row["within_one"],
                row["bias"],
                *bias_ci,
                *coefs,
                dim["baseline"]["cohen_kappa_quadratic"],
                dim["rejected"],
            ]

"""Shape reconciled values into the analyses' tables: audit matrix, efficacy, profiles.

No database access: selectors and services pass plain rows in. The statistics come
from ``audit.stats.anova.scaffold_efficacy``; the profile intervals are computed here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audit.stats.anova import SPECIFICATIONS, natural_key, scaffold_efficacy

LEVEL_NAMES = {0: "absent", 1: "partial", 2: "present"}


# --- Audit matrix -------------------------------------------------------------------


def matrix_build(
    items: Sequence[Mapping[str, Any]],
    reconciled: Iterable[Mapping[str, Any]],
    dimension_codes: Sequence[str],
    top_value: int = 2,
) -> dict[str, Any]:
    """Items x dimensions of reconciled values, with per-dimension coverage counts.

    ``items``: dicts with id, code, title (rows, in display order). ``reconciled``: dicts
    with item_id, dimension, value. Coverage counts how many items reached each level,
    e.g. "D3 present in 0 of 16" (present = the top level).
    """
    cells: dict[int, dict[str, int]] = defaultdict(dict)
    for row in reconciled:
        cells[row["item_id"]][row["dimension"]] = row["value"]
    rows = [
        {**item, "values": [cells.get(item["id"], {}).get(code) for code in dimension_codes]}
        for item in items
    ]
    n = len(rows)
    coverage = []
    for i, code in enumerate(dimension_codes):
        values = [r["values"][i] for r in rows]
        counts = {level: sum(1 for v in values if v == level) for level in (0, 1, 2)}
        present = sum(1 for v in values if v is not None and v >= top_value)
        coverage.append(
            {
                "code": code,
                "present": present,
                "partial": counts[1],
                "absent": counts[0],
                "missing": sum(1 for v in values if v is None),
                "n": n,
                "text": f"{code} present in {present} of {n}",
            }
        )
    complete = sum(1 for r in rows if all(v is not None for v in r["values"]))
    return {"rows": rows, "coverage": coverage, "n_items": n, "n_complete": complete}


# --- Scaffold efficacy --------------------------------------------------------------


@dataclass
class EfficacyInput:
    """Rows accepted by ``scaffold_efficacy`` and how many reconciled values were left out."""

    rows: list[dict[str, Any]]
    excluded: int


def efficacy_input(rows: Iterable[Mapping[str, Any]]) -> EfficacyInput:
    """Keep reconciled values whose key names a model, scaffold and full/under specification."""
    kept, excluded = [], 0
    for row in rows:
        spec = (row.get("specification") or "").strip().lower()
        if not row.get("model") or not row.get("scaffold") or spec not in SPECIFICATIONS:
            excluded += 1
            continue
        kept.append(
            {
                "model": row["model"],
                "scaffold": row["scaffold"],
                "prompt": row.get("prompt") or "",
                "specification": spec,
                "dimension": row["dimension"],
                "value": row["value"],
            }
        )
    return EfficacyInput(kept, excluded)


def efficacy_compute(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``scaffold_efficacy`` output (the CLI contract) plus a per-model grouping for pages."""
    result = scaffold_efficacy(rows)
    scaffolds = sorted({r["scaffold"] for r in rows}, key=natural_key)
    models = sorted({r["model"] for r in rows}, key=natural_key)
    dims = sorted({r["dimension"] for r in rows}, key=natural_key)
    by_model: dict[str, list[dict]] = defaultdict(list)
    for test in result["one_way"]:
        by_model[test["model"]].append(test)
    under: dict[str, list[dict]] = defaultdict(list)
    for row in result["under_specified_means"]:
        under[row["model"]].append(row)
    return {
        "result": result,
        "scaffolds": scaffolds,
        "models": models,
        "dimensions": dims,
        "by_model": [{"model": m, "tests": by_model[m], "under": under[m]} for m in models],
    }


# --- Alignment profiles -------------------------------------------------------------


def mean_ci(values: Sequence[float], level: float = 0.95) -> dict[str, Any]:
    """Mean with a two-sided Student t interval: mean ± t(1-a/2, n-1) · s / sqrt(n).

    (Student 1908.) The interval is None below two values; with no spread it collapses
    to the mean. Bounds are not clipped to the scale, so a wide interval stays visible.
    """
    n = len(values)
    if n == 0:
        return {"mean": None, "lo": None, "hi": None, "n": 0, "sd": None}
    mean = sum(values) / n
    if n < 2:
        return {"mean": mean, "lo": None, "hi": None, "n": 1, "sd": None}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    from scipy import stats  # heavy: loaded only when an analysis runs

    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": n, "sd": sd}


def profiles_build(
    rows: Iterable[Mapping[str, Any]], dimension_codes: Sequence[str]
) -> list[dict[str, Any]]:
    """Per model x scaffold: the mean reconciled score and t-CI on every dimension."""
    groups: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if not row.get("model") or not row.get("scaffold"):
            continue
        groups[(row["model"], row["scaffold"])][row["dimension"]].append(float(row["value"]))
    profiles = []
    for model, scaffold in sorted(groups, key=lambda k: (natural_key(k[0]), natural_key(k[1]))):
        values = groups[(model, scaffold)]
        profiles.append(
            {
                "model": model,
                "scaffold": scaffold,
                "dimensions": [
                    {"code": code, **mean_ci(values.get(code, []))} for code in dimension_codes
                ],
                "n_items": max((len(v) for v in values.values()), default=0),
            }
        )
    return profiles

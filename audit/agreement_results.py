"""Assemble a study's agreement results (the AgreementSnapshot JSON) from plain rows.

No database access: the caller passes the rubric's dimensions and the first-pass
ratings. Every number comes from ``audit.stats.agreement``; this module only groups
ratings (per dimension, per coder pair, per condition), builds confusion matrices and
ranks the items with most disagreement. Also flattens results to CSV rows.

Per coder pair: only pairs that rated at least one item in common are reported (found
from each item's raters, so the cost follows the submissions, not coders squared). Pairs
sharing fewer than ``PAIR_CI_MIN_ITEMS`` items have their point estimates but no
bootstrap interval (``ci`` values null); from that many on they get the full ``n_boot``.

Results shape (``VERSION`` 1)::

    {"version": 1, "n_boot": int, "seed": int, "level": 0.95,
     "coders": [username, ...], "n_items": int, "n_ratings": int,
     "dimensions": [{"code", "name", "categories", <agreement_report keys>,
                     "confusion": {"rows": label, "cols": label, "matrix": [[int]]} | None}],
     "series": {code: {coefficient: value}},          # headline numbers, for the history
     "pair_ci_min_items": int,                        # absent in snapshots made before it
     "pairs": [{"a", "b", "n_items", "dimensions": {code: {"values": {...}, "ci": {...},
                "n_items", "warnings", "reasons": {coefficient: why undefined}}}}],
     "conditions": None | [{"condition", "n_items", "dimensions": {code: {...}}}],
     "disagreements": [{"item", "n_dimensions", "spread", "dimensions": [code]}]}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

from audit.stats.agreement import COEFFICIENTS, agreement

VERSION = 1
# The coefficients the dashboard leads with (issue 5): kappa and its weighted forms,
# Krippendorff's ordinal alpha, Gwet's AC1, raw agreement and PABAK.
MAIN_COEFFICIENTS = (
    "cohen_kappa",
    "cohen_kappa_linear",
    "cohen_kappa_quadratic",
    "krippendorff_alpha_ordinal",
    "gwet_ac1",
    "percent_agreement",
    "pabak",
)
SERIES_COEFFICIENTS = ("cohen_kappa", "krippendorff_alpha_ordinal", "gwet_ac1")
LABELS = {
    "percent_agreement": "Percent agreement",
    "cohen_kappa": "Cohen's κ",
    "cohen_kappa_linear": "Cohen's κ (linear)",
    "cohen_kappa_quadratic": "Cohen's κ (quadratic)",
    "scott_pi": "Scott's π",
    "pabak": "PABAK",
    "fleiss_kappa": "Fleiss' κ",
    "gwet_ac1": "Gwet's AC1",
    "gwet_ac2_linear": "Gwet's AC2 (linear)",
    "gwet_ac2_quadratic": "Gwet's AC2 (quadratic)",
    "krippendorff_alpha_nominal": "Krippendorff's α (nominal)",
    "krippendorff_alpha_ordinal": "Krippendorff's α (ordinal)",
    "krippendorff_alpha_interval": "Krippendorff's α (interval)",
    "krippendorff_alpha_ratio": "Krippendorff's α (ratio)",
}
MAX_DISAGREEMENTS = 25
# A coder pair gets bootstrap intervals only from this many shared items on: resampling
# fewer says little, and skipping it keeps a many-coder study's snapshot cheap (most of
# its pairs share one or two items). Point estimates are reported for every pair.
PAIR_CI_MIN_ITEMS = 10

Rating = tuple[str, str, str, int]  # item, coder, dimension, value
Dimension = tuple[str, str, Sequence[int]]  # code, name, categories


def _report(
    triples: Sequence[tuple[str, str, int]], categories: Sequence[int], n_boot: int, seed: int
) -> dict[str, Any]:
    """``agreement(...).to_dict()`` plus why each undefined coefficient is undefined."""
    result = agreement(triples, categories, n_boot=n_boot, seed=seed)
    reasons = {
        name: c.reason for name, c in result.coefficients.items() if c.value is None and c.reason
    }
    return {**result.to_dict(), "reasons": reasons}


def _subset(report: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    names = list(names)
    return {
        "values": {name: report[name] for name in names},
        "ci": {name: report["ci"][name] for name in names},
        "n_items": report["n_items"],
        "warnings": list(report["warnings"]),
        # Absent in snapshots made before it; audit.agreement_tables falls back on warnings.
        "reasons": {n: r for n, r in report.get("reasons", {}).items() if n in names},
    }


def _confusion(
    triples: list[tuple[str, str, int]], categories: Sequence[int], coders: Sequence[str]
) -> dict[str, Any] | None:
    """Two coders: rows = first coder, columns = second. More: all within-item pairs."""
    index = {c: i for i, c in enumerate(categories)}
    q = len(categories)
    matrix = [[0] * q for _ in range(q)]
    by_item: dict[str, dict[str, int]] = defaultdict(dict)
    for item, coder, value in triples:
        by_item[item][coder] = value
    if not by_item:
        return None
    if len(coders) == 2:
        first, second = coders
        for ratings in by_item.values():
            if first in ratings and second in ratings:
                matrix[index[ratings[first]]][index[ratings[second]]] += 1
        return {"rows": first, "cols": second, "pairs": "one per item", "matrix": matrix}
    for ratings in by_item.values():
        ordered = [ratings[c] for c in sorted(ratings)]
        for a, b in combinations(ordered, 2):
            matrix[index[a]][index[b]] += 1
    return {
        "rows": "first coder (by name)",
        "cols": "second coder",
        "pairs": "every coder pair within an item",
        "matrix": matrix,
    }


def _disagreements(ratings: list[Rating], dimension_order: Sequence[str]) -> list[dict]:
    """Items ranked by how many dimensions the coders split on, then by the widest gap."""
    by_item: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for item, _coder, dim, value in ratings:
        by_item[item][dim].append(value)
    order = {code: i for i, code in enumerate(dimension_order)}
    rows = []
    for item, dims in by_item.items():
        split = sorted(
            (d for d, values in dims.items() if len(values) > 1 and len(set(values)) > 1),
            key=lambda d: order.get(d, len(order)),
        )
        if not split:
            continue
        spread = sum(max(dims[d]) - min(dims[d]) for d in split)
        rows.append(
            {"item": item, "n_dimensions": len(split), "spread": spread, "dimensions": split}
        )
    rows.sort(key=lambda r: (-r["n_dimensions"], -r["spread"], r["item"]))
    return rows[:MAX_DISAGREEMENTS]


def build_results(
    dimensions: Sequence[Dimension],
    ratings: Sequence[Rating],
    *,
    conditions: Mapping[str, str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """All agreement results for one study (see the module docstring for the shape).

    ``conditions`` maps item code -> condition label; pass it only after unblinding.
    """
    per_dim: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for item, coder, dim, value in ratings:
        per_dim[dim].append((item, coder, value))
    coders = sorted({coder for _, coder, _, _ in ratings})
    out_dims, series = [], {}
    for code, name, categories in dimensions:
        triples = per_dim.get(code, [])
        report = agreement(triples, categories, n_boot=n_boot, seed=seed).to_dict()
        dim_coders = sorted({coder for _, coder, _ in triples})
        out_dims.append(
            {
                "code": code,
                "name": name,
                "categories": list(categories),
                **report,
                "confusion": _confusion(triples, categories, dim_coders),
            }
        )
        series[code] = {c: report[c] for c in SERIES_COEFFICIENTS}
    return {
        "version": VERSION,
        "n_boot": n_boot,
        "seed": seed,
        "level": 0.95,
        "coders": coders,
        "n_items": len({item for item, *_ in ratings}),
        "n_ratings": len(ratings),
        "dimensions": out_dims,
        "series": series,
        "pair_ci_min_items": PAIR_CI_MIN_ITEMS,
        "pairs": _by_pair(dimensions, per_dim, n_boot, seed),
        "conditions": (
            None
            if conditions is None
            else _by_condition(dimensions, per_dim, conditions, n_boot, seed)
        ),
        "disagreements": _disagreements(list(ratings), [d[0] for d in dimensions]),
    }


def _pair_ratings(
    per_dim: Mapping[str, Sequence[tuple[str, str, int]]],
) -> dict[tuple[str, str], dict[str, list[tuple[str, str, int]]]]:
    """Coder pairs that rated an item in common, each with both coders' ratings of their
    shared items per dimension, in input order (as a filter of ``per_dim`` would give).

    Built from each item's own raters, so the work is the sum over items of k(k-1)/2 for k
    raters, never the number of coders squared.
    """
    picked: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for code, triples in per_dim.items():
        raters: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for index, (item, coder, _value) in enumerate(triples):
            raters[item].append((index, coder))
        for entries in raters.values():
            for (i, a), (j, b) in combinations(entries, 2):
                if a != b:
                    picked[(a, b) if a < b else (b, a)][code] += (i, j)
    return {
        pair: {code: [per_dim[code][i] for i in sorted(idx)] for code, idx in dims.items()}
        for pair, dims in sorted(picked.items())
    }


def _canonical(triples: Sequence[tuple[str, str, int]]) -> tuple[tuple[int, int, int], ...]:
    """The ratings with items and coders renamed by order of first appearance: all that
    ``agreement`` depends on besides the categories, n_boot and seed."""
    items: dict[str, int] = {}
    coders: dict[str, int] = {}
    return tuple(
        (items.setdefault(item, len(items)), coders.setdefault(coder, len(coders)), value)
        for item, coder, value in triples
    )


def _by_pair(
    dimensions: Sequence[Dimension],
    per_dim: Mapping[str, Sequence[tuple[str, str, int]]],
    n_boot: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Agreement of every coder pair that shares at least one item (pairs sorted by name).

    Pairs sharing fewer than ``PAIR_CI_MIN_ITEMS`` items get no bootstrap interval. Most
    pairs of a many-coder study share one or two items, and a 2-coder table of so few
    items has only a handful of possible shapes: reports are memoised on the ratings'
    shape, so the cost follows the submissions, not the number of coder pairs.
    """
    memo: dict[tuple, dict[str, Any]] = {}

    def report(triples: Sequence[tuple[str, str, int]], categories, boot: int) -> dict:
        key = (_canonical(triples), tuple(categories), boot)
        if key not in memo:
            memo[key] = _report(triples, categories, boot, seed)
        return memo[key]

    pairs = []
    for (a, b), dims in _pair_ratings(per_dim).items():
        shared = {item for triples in dims.values() for item, _, _ in triples}
        boot = n_boot if len(shared) >= PAIR_CI_MIN_ITEMS else 0
        entry: dict[str, Any] = {"a": a, "b": b, "dimensions": {}}
        for code, _name, categories in dimensions:
            entry["dimensions"][code] = _subset(
                report(dims.get(code, []), categories, boot), MAIN_COEFFICIENTS
            )
        entry["n_items"] = len(shared)
        pairs.append(entry)
    return pairs


def _by_condition(dimensions, per_dim, conditions, n_boot, seed) -> list[dict[str, Any]]:
    labels = sorted(
        {
            conditions[item]
            for triples in per_dim.values()
            for item, *_ in triples
            if item in conditions
        }
    )
    out = []
    for label in labels:
        entry: dict[str, Any] = {"condition": label, "dimensions": {}}
        items: set[str] = set()
        for code, _name, categories in dimensions:
            triples = [t for t in per_dim.get(code, []) if conditions.get(t[0]) == label]
            items |= {t[0] for t in triples}
            report = _report(triples, categories, n_boot, seed)
            entry["dimensions"][code] = _subset(report, MAIN_COEFFICIENTS)
        entry["n_items"] = len(items)
        out.append(entry)
    return out


CSV_HEADER = ["scope", "group", "dimension", "coefficient", "value", "ci_low", "ci_high", "n_items"]


def results_csv_rows(results: Mapping[str, Any]) -> Iterable[list[Any]]:
    """Long-form rows: scope (dimension | pair | condition), group, dimension, coefficient."""
    for dim in results.get("dimensions", []):
        for name in COEFFICIENTS:
            # .get: snapshots written before a coefficient existed lack its key.
            ci = dim["ci"].get(name) or [None, None]
            yield ["dimension", "all", dim["code"], name, dim.get(name), *ci, dim["n_items"]]
    for pair in results.get("pairs", []):
        for code, entry in pair["dimensions"].items():
            for name, value in entry["values"].items():
                ci = entry["ci"].get(name) or [None, None]
                group = f"{pair['a']} vs {pair['b']}"
                yield ["pair", group, code, name, value, *ci, entry["n_items"]]
    for cond in results.get("conditions") or []:
        for code, entry in cond["dimensions"].items():
            for name, value in entry["values"].items():
                ci = entry["ci"].get(name) or [None, None]
                yield ["condition", cond["condition"], code, name, value, *ci, entry["n_items"]]

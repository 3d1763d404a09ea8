"""Inter-coder agreement for one rubric dimension: coefficients, bootstrap CIs, warnings.

Pure numpy (no Django). Ratings are ``(item, coder, value)`` triples with a declared,
ordered list of categories; a value of None (or NaN) is a missing rating. Kappa and AC2
weights and the ordinal metric use the category *rank* (position in ``categories``); the
interval and ratio metrics use the categories' numeric values (undefined, with a reason,
when the categories are not numbers).

Coefficients (formula sources in ``agreement_core``): percent agreement, Cohen's kappa
(unweighted, linear, quadratic), Scott's pi and PABAK for exactly two coders (items rated
by both); Fleiss' kappa, Gwet's AC1 and AC2 (linear, quadratic) as in irrCAC, and
Krippendorff's alpha (nominal, ordinal, interval, ratio) for any number of coders with missing
ratings. A coefficient whose denominator is 0 is None, with the reason in ``warnings``.
Percentile bootstrap CIs resample items through multinomial draws of the rating-pattern
counts (``agreement_bootstrap``).

Public API
----------
``agreement(ratings, categories, *, n_boot=1000, seed=0, level=0.95) -> AgreementResult``
    Full result as dataclasses (also the confusion table for two coders).
``agreement_from_codes(codes, categories, *, n_boot=1000, seed=0, level=0.95)``
    Same from an item x coder integer array of category ranks (-1 = missing).
``agreement_from_confusion(table, categories=None, *, n_boot=0, seed=0, level=0.95)``
    Same from a two-coder q x q confusion table.
``agreement_report(ratings, categories, n_boot=1000, seed=0) -> dict``
    One dimension in the CLI JSON shape (``manage.py agreement``)::

        {"n_items": int, "n_coders": int,
         "percent_agreement": x, "cohen_kappa": x, "cohen_kappa_linear": x,
         "cohen_kappa_quadratic": x, "scott_pi": x, "pabak": x, "fleiss_kappa": x,
         "gwet_ac1": x, "gwet_ac2_linear": x, "gwet_ac2_quadratic": x,
         "krippendorff_alpha_nominal": x, "krippendorff_alpha_ordinal": x,
         "krippendorff_alpha_interval": x,
         "ci": {"<each coefficient above>": [low, high] or null},
         "warnings": [str, ...]}

    Every x is a float or None. ``ci`` always has all 14 keys; a value is None when the
    coefficient is undefined, when no bootstrap draw was defined, or when n_boot is 0.
    ``n_items`` counts items with at least one rating; ``n_coders`` coders with at least
    one rating.
``agreement_reports(dimensions, categories, n_boot=1000, seed=0) -> dict``
    ``{"dimensions": {name: agreement_report(...)}}`` for a mapping of dimension name to
    ratings: the whole CLI output object.
``cohen_kappa(table, weights="none") -> float | None``
    Cohen's kappa of a confusion table, for quick use.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from audit.stats.agreement_bootstrap import bootstrap_draws, percentile_interval
from audit.stats.agreement_core import (
    COEFFICIENTS,
    MISSING,
    MULTI_CODER_AGREEMENT,
    TWO_CODER_COEFFICIENTS,
    PatternTable,
    WeightKind,
    coefficients,
    pattern_table,
    pattern_table_from_confusion,
)

__all__ = [
    "COEFFICIENTS",
    "AgreementResult",
    "Coefficient",
    "RatingMatrix",
    "agreement",
    "agreement_from_codes",
    "agreement_from_confusion",
    "agreement_report",
    "agreement_reports",
    "cohen_kappa",
    "encode_ratings",
    "numeric_values",
]

MIN_ITEMS = 30
# Kappa paradox (Feinstein & Cicchetti 1990): high observed agreement, low kappa.
PARADOX_AGREEMENT = 0.8
PARADOX_KAPPA = 0.4

Rating = tuple[Hashable, Hashable, Any]


@dataclass(frozen=True)
class Coefficient:
    """One coefficient: value (None if undefined), percentile CI, and why it is undefined."""

    value: float | None
    ci: tuple[float, float] | None
    reason: str | None = None
    defined_draws: int = 0


@dataclass(frozen=True)
class AgreementResult:
    """Agreement for one dimension. ``confusion`` (two coders only) has rows = ``coders[0]``."""

    categories: tuple[Any, ...]
    coders: tuple[Any, ...]
    n_items: int
    n_coders: int
    n_items_multi: int
    n_pairs: int | None
    coefficients: dict[str, Coefficient]
    warnings: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...] | None
    category_counts: tuple[int, ...]
    n_boot: int
    level: float

    def value(self, name: str) -> float | None:
        return self.coefficients[name].value

    def to_dict(self) -> dict[str, Any]:
        """The per-dimension object of the CLI JSON contract (see module docstring)."""
        out: dict[str, Any] = {"n_items": self.n_items, "n_coders": self.n_coders}
        for name in COEFFICIENTS:
            out[name] = _finite(self.coefficients[name].value)
        out["ci"] = {
            name: (list(map(float, ci)) if (ci := self.coefficients[name].ci) else None)
            for name in COEFFICIENTS
        }
        out["warnings"] = list(self.warnings)
        return out


@dataclass(frozen=True)
class RatingMatrix:
    """Item x coder matrix of category ranks (-1 = missing) with the labels of its axes."""

    codes: np.ndarray
    items: tuple[Any, ...]
    coders: tuple[Any, ...]
    categories: tuple[Any, ...]


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def numeric_values(categories: Sequence[Any]) -> tuple[float, ...] | None:
    """The categories as finite numbers (for the interval and ratio metrics), or None.

    Booleans and numeric-looking strings are not numbers here: "1" is a label, and the
    caller (e.g. the CLI) decides whether a CSV cell spells a number.
    """
    out = []
    for category in categories:
        if isinstance(category, bool | np.bool_) or not isinstance(
            category, int | float | np.integer | np.floating
        ):
            return None
        if not math.isfinite(category):
            return None
        out.append(float(category))
    return tuple(out)


def _check_categories(categories: Sequence[Any]) -> tuple[Any, ...]:
    cats = tuple(categories)
    if not cats:
        raise ValueError("at least one category must be declared")
    if len(set(cats)) != len(cats):
        raise ValueError("categories must be distinct")
    return cats


def encode_ratings(ratings: Iterable[Rating], categories: Sequence[Any]) -> RatingMatrix:
    """Turn (item, coder, value) triples into a RatingMatrix.

    Items and coders keep their order of first appearance; coders with no non-missing
    rating are dropped. Raises ValueError for a value outside ``categories`` or for an
    (item, coder) pair rated twice.
    """
    cats = _check_categories(categories)
    rank = {category: index for index, category in enumerate(cats)}
    items: dict[Any, int] = {}
    coders: dict[Any, int] = {}
    cells: dict[tuple[int, int], int] = {}
    for item, coder, value in ratings:
        row = items.setdefault(item, len(items))
        col = coders.setdefault(coder, len(coders))
        if (row, col) in cells:
            raise ValueError(f"item {item!r} was rated twice by coder {coder!r}")
        if _is_missing(value):
            cells[(row, col)] = MISSING
            continue
        try:
            cells[(row, col)] = rank[value]
        except (KeyError, TypeError):
            raise ValueError(
                f"value {value!r} (item {item!r}, coder {coder!r}) is not one of the "
                f"declared categories {', '.join(map(str, cats))}"
            ) from None
    codes = np.full((len(items), len(coders)), MISSING, dtype=np.int64)
    if cells:
        index = np.array(list(cells.keys()), dtype=np.int64)
        codes[index[:, 0], index[:, 1]] = np.fromiter(cells.values(), np.int64, len(cells))
    rated = (codes != MISSING).any(axis=0)
    kept = tuple(coder for coder, keep in zip(coders, rated, strict=True) if keep)
    return RatingMatrix(codes[:, rated], tuple(items), kept, cats)


def agreement(
    ratings: Iterable[Rating],
    categories: Sequence[Any],
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
) -> AgreementResult:
    """All coefficients, bootstrap CIs and warnings for (item, coder, value) ratings."""
    matrix = encode_ratings(ratings, categories)
    return _analyse(
        pattern_table(matrix.codes, len(matrix.categories)),
        matrix.categories,
        matrix.coders,
        n_boot=n_boot,
        seed=seed,
        level=level,
    )


def agreement_from_codes(
    codes: np.ndarray,
    categories: Sequence[Any],
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
) -> AgreementResult:
    """As :func:`agreement` for an item x coder array of category ranks (-1 = missing)."""
    cats = _check_categories(categories)
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError("codes must be a 2-D item x coder array")
    rated = (codes != MISSING).any(axis=0)
    table = pattern_table(codes[:, rated], len(cats))
    coders = tuple(int(j) for j in np.flatnonzero(rated))
    return _analyse(table, cats, coders, n_boot=n_boot, seed=seed, level=level)


def agreement_from_confusion(
    table: np.ndarray,
    categories: Sequence[Any] | None = None,
    *,
    n_boot: int = 0,
    seed: int | None = 0,
    level: float = 0.95,
) -> AgreementResult:
    """As :func:`agreement` for a two-coder q x q confusion table (rows = first coder)."""
    patterns = pattern_table_from_confusion(table)
    q = patterns.n_categories
    cats = _check_categories(range(q) if categories is None else categories)
    if len(cats) != q:
        raise ValueError("categories must match the size of the confusion table")
    return _analyse(patterns, cats, (0, 1), n_boot=n_boot, seed=seed, level=level)


def cohen_kappa(table: np.ndarray, weights: WeightKind = "none") -> float | None:
    """Cohen (1960); weighted form Cohen (1968), rank weights. None when chance agreement is 1."""
    names = {
        "none": "cohen_kappa",
        "linear": "cohen_kappa_linear",
        "quadratic": "cohen_kappa_quadratic",
    }
    if weights not in names:
        raise ValueError(f"unknown weights {weights!r}")
    return agreement_from_confusion(table).value(names[weights])


def agreement_report(
    ratings: Iterable[Rating],
    categories: Sequence[Any],
    n_boot: int = 1000,
    seed: int | None = 0,
) -> dict[str, Any]:
    """One dimension as the CLI's JSON-ready dict (see the module docstring)."""
    return agreement(ratings, categories, n_boot=n_boot, seed=seed).to_dict()


def agreement_reports(
    dimensions: Mapping[str, Iterable[Rating]],
    categories: Sequence[Any],
    n_boot: int = 1000,
    seed: int | None = 0,
) -> dict[str, Any]:
    """``{"dimensions": {name: agreement_report(...)}}`` for each dimension, in order."""
    return {
        "dimensions": {
            name: agreement_report(ratings, categories, n_boot=n_boot, seed=seed)
            for name, ratings in dimensions.items()
        }
    }


def _analyse(
    table: PatternTable,
    categories: tuple[Any, ...],
    coders: tuple[Any, ...],
    *,
    n_boot: int,
    seed: int | None,
    level: float,
) -> AgreementResult:
    if n_boot < 0:
        raise ValueError("n_boot must be 0 or more")
    if not 0 < level < 1:
        raise ValueError("level must lie strictly between 0 and 1")
    q = len(categories)
    table = replace(table, values=numeric_values(categories))
    point, reasons = coefficients(table, table.counts[None, :], explain=True)
    draws = bootstrap_draws(table, n_boot, np.random.default_rng(seed))

    results: dict[str, Coefficient] = {}
    for name in COEFFICIENTS:
        value = _finite(float(point[name][0]))
        sample = draws.get(name)
        defined = 0 if sample is None else int(np.count_nonzero(~np.isnan(sample)))
        ci = percentile_interval(sample, level) if value is not None and defined else None
        results[name] = Coefficient(value, ci, reasons.get(name), defined)

    patterns, counts = table.patterns, table.counts
    ratings_per_item = (patterns != MISSING).sum(axis=1)
    n_items_multi = int(counts[ratings_per_item >= 2].sum())
    confusion = n_pairs = None
    if table.n_coders == 2:
        cells = np.zeros((q, q), dtype=np.int64)
        both = (patterns != MISSING).all(axis=1)
        np.add.at(cells, (patterns[both, 0], patterns[both, 1]), counts[both])
        confusion = tuple(tuple(int(x) for x in row) for row in cells)
        n_pairs = int(cells.sum())
    category_counts = np.zeros(q, dtype=np.int64)
    for j in range(table.n_coders):
        rated = patterns[:, j] != MISSING
        np.add.at(category_counts, patterns[rated, j], counts[rated])

    result = AgreementResult(
        categories=categories,
        coders=coders,
        n_items=table.n_items,
        n_coders=table.n_coders,
        n_items_multi=n_items_multi,
        n_pairs=n_pairs,
        coefficients=results,
        warnings=(),
        confusion=confusion,
        category_counts=tuple(int(c) for c in category_counts),
        n_boot=n_boot,
        level=level,
    )
    multi_agreement = _finite(float(point[MULTI_CODER_AGREEMENT][0]))
    return _with_warnings(result, multi_agreement)


def _with_warnings(result: AgreementResult, multi_agreement: float | None) -> AgreementResult:
    notes: list[str] = []
    coef = result.coefficients
    m = result.n_coders
    if result.n_items == 0:
        notes.append("there are no ratings, so every coefficient is null")
        return _replace_warnings(result, notes)

    if m != 2:
        notes.append(
            f"{', '.join(TWO_CODER_COEFFICIENTS)} use exactly two coders; this data has "
            f"{_count(m, 'coder')}, so they are null"
        )
    by_reason: dict[str, list[str]] = {}
    for name in COEFFICIENTS:
        if coef[name].value is None and not (m != 2 and name in TWO_CODER_COEFFICIENTS):
            by_reason.setdefault(coef[name].reason or "undefined", []).append(name)
    for reason, names in by_reason.items():
        notes.append(f"{', '.join(names)} undefined: {reason}")

    if result.n_items_multi < MIN_ITEMS:
        notes.append(
            f"only {_count(result.n_items_multi, 'item')} rated by two or more coders; below "
            f"{MIN_ITEMS} items the coefficients and their intervals are unstable"
        )
    for label, used in zip(result.categories, result.category_counts, strict=True):
        if used == 0:
            notes.append(
                f"category {label} was never used; it still counts as one of the "
                f"q = {len(result.categories)} categories in PABAK and Gwet's AC1/AC2"
            )
    if m == 2 and result.n_pairs is not None and result.n_pairs < result.n_items:
        single = result.n_items - result.n_pairs
        notes.append(
            f"{_count(single, 'item')} rated by only one coder left out of percent "
            "agreement, Cohen's kappa, Scott's pi and PABAK"
        )
    notes.extend(_paradox(result, multi_agreement))
    if result.n_boot:
        by_defined: dict[int, list[str]] = {}
        for name in COEFFICIENTS:
            c = coef[name]
            if c.value is not None and c.defined_draws < result.n_boot:
                by_defined.setdefault(c.defined_draws, []).append(name)
        for defined, names in by_defined.items():
            notes.append(
                f"{', '.join(names)}: {result.n_boot - defined} of {result.n_boot} bootstrap "
                f"draws were undefined (too few rated items in the resample); the "
                f"interval uses the other {defined}"
            )
    return _replace_warnings(result, notes)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _paradox(result: AgreementResult, multi_agreement: float | None) -> list[str]:
    """Feinstein & Cicchetti (1990): high agreement with low kappa from prevalence or bias."""
    coef = result.coefficients
    ac1 = coef["gwet_ac1"].value
    ac1_text = f"Gwet's AC1 = {ac1:.3f}" if ac1 is not None else "Gwet's AC1 undefined"
    if result.n_coders == 2:
        po, kappa = coef["percent_agreement"].value, coef["cohen_kappa"].value
        pabak = coef["pabak"].value
        if po is None or kappa is None or po < PARADOX_AGREEMENT or kappa >= PARADOX_KAPPA:
            return []
        pabak_text = f"PABAK = {pabak:.3f}" if pabak is not None else "PABAK undefined"
        return [
            f"kappa paradox: percent agreement is {po:.3f} but Cohen's kappa is {kappa:.3f}; "
            "one category dominates (prevalence) or the coders' marginals differ (bias). "
            f"Report beside it {pabak_text} and {ac1_text}"
        ]
    kappa = coef["fleiss_kappa"].value
    if multi_agreement is None or kappa is None:
        return []
    if multi_agreement < PARADOX_AGREEMENT or kappa >= PARADOX_KAPPA:
        return []
    return [
        f"kappa paradox: pairwise agreement is {multi_agreement:.3f} but Fleiss' kappa is "
        f"{kappa:.3f}; one category dominates (prevalence). Report beside it {ac1_text}"
    ]


def _replace_warnings(result: AgreementResult, notes: list[str]) -> AgreementResult:
    return replace(result, warnings=tuple(notes))

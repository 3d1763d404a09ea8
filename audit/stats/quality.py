"""Per-coder quality against a reference (gold answers or reconciled values), one dimension.

Pure numpy; takes paired integer scores (coder, reference) on ordered levels.

- Exact and within-one agreement with Wilson score intervals (Wilson 1927, JASA 22:209;
  recommended by Newcombe 1998, Stat Med 17:857, "method 3").
- Quadratic-weighted kappa (Cohen 1968, Psychol Bull 70:213) of the coder x reference
  confusion table, with a percentile bootstrap CI over items (Efron & Tibshirani 1993),
  via ``audit.stats.agreement`` (the same code as study agreement).
- Bias = mean signed difference coder - reference, with a t interval (Student 1908).

Undefined values (no pairs; kappa when chance agreement is 1) are None, never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

Interval = tuple[float, float] | None


@dataclass(frozen=True)
class PairedQuality:
    n: int
    exact: float | None
    exact_ci: Interval
    within_one: float | None
    within_one_ci: Interval
    qwk: float | None
    qwk_ci: Interval
    bias: float | None
    bias_ci: Interval

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> Interval:
    """Wilson (1927) score interval for a binomial proportion; None when n = 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Student t interval for a mean; None with fewer than two values."""
    n = len(values)
    if n < 2:
        return None
    from scipy.stats import t  # heavy import kept local (HELPERS.md)

    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    se = float(arr.std(ddof=1)) / math.sqrt(n)
    half = float(t.ppf(0.5 + level / 2, n - 1)) * se
    return (mean - half, mean + half)


def confusion(coder: Sequence[int], reference: Sequence[int], categories: Sequence[int]):
    """q x q counts, rows = coder, columns = reference."""
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)), dtype=int)
    for a, b in zip(coder, reference, strict=True):
        table[index[a], index[b]] += 1
    return table


def quadratic_kappa(
    coder: Sequence[int],
    reference: Sequence[int],
    categories: Sequence[int],
    *,
    n_boot: int = 0,
    seed: int = 0,
) -> tuple[float | None, Interval]:
    """Quadratic-weighted kappa (Cohen 1968) and its bootstrap CI (None when n_boot = 0)."""
    if not coder:
        return None, None
    from audit.stats.agreement import agreement_from_confusion

    result = agreement_from_confusion(
        confusion(coder, reference, categories), tuple(categories), n_boot=n_boot, seed=seed
    )
    coef = result.coefficients["cohen_kappa_quadratic"]
    value = coef.value if coef.value is None or math.isfinite(coef.value) else None
    return value, (tuple(map(float, coef.ci)) if coef.ci else None)


def paired_quality(
    coder: Sequence[int],
    reference: Sequence[int],
    categories: Sequence[int],
    *,
    n_boot: int = 500,
    seed: int = 0,
) -> PairedQuality:
    """Exact / within-one agreement, quadratic kappa and bias of a coder vs a reference."""
    if len(coder) != len(reference):
        raise ValueError("coder and reference must be paired")
    n = len(coder)
    diffs = [a - b for a, b in zip(coder, reference, strict=True)]
    exact = sum(d == 0 for d in diffs)
    within = sum(abs(d) <= 1 for d in diffs)
    qwk, qwk_ci = quadratic_kappa(coder, reference, categories, n_boot=n_boot, seed=seed)
    if len(set(reference)) < 2:
        # A constant reference makes kappa 0 (or undefined) whatever the coder does: the
        # "kappa paradox" (Feinstein & Cicchetti 1990). Report it as undefined instead.
        qwk, qwk_ci = None, None
    return PairedQuality(
        n=n,
        exact=exact / n if n else None,
        exact_ci=wilson_interval(exact, n),
        within_one=within / n if n else None,
        within_one_ci=wilson_interval(within, n),
        qwk=qwk,
        qwk_ci=qwk_ci,
        bias=sum(diffs) / n if n else None,
        bias_ci=mean_interval(diffs),
    )


def qualification_verdict(
    per_dimension: dict[str, tuple[Sequence[int], Sequence[int], Sequence[int]]],
    threshold: float,
) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Pass when every dimension's quadratic kappa vs gold reaches ``threshold``.

    ``per_dimension`` maps a dimension code to (coder values, gold values, categories).
    When the gold values of the round are all equal, kappa is undefined or 0 whatever
    the coder does (the "kappa paradox", Feinstein & Cicchetti 1990); that dimension then
    uses exact agreement >= threshold instead (stated in the result as its basis).
    """
    detail: dict[str, dict[str, Any]] = {}
    passed = True
    for code, (coder, gold, categories) in per_dimension.items():
        kappa, _ = quadratic_kappa(coder, gold, categories)
        exact = sum(a == b for a, b in zip(coder, gold, strict=True)) / len(coder)
        if kappa is None or len(set(gold)) < 2:
            ok, basis, value = exact >= threshold, "exact", exact
        else:
            ok, basis, value = kappa >= threshold, "qwk", kappa
        detail[code] = {"basis": basis, "value": round(value, 4), "passed": ok}
        passed = passed and ok
    return passed, detail

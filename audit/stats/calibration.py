"""Agreement of one rater with a reference, item by item: a model judge against a human
coder or against reconciled values. Pure numpy (no Django).

The chance-corrected coefficients come from ``audit.stats.agreement`` (Cohen 1960 kappa;
Cohen 1968 weighted kappa with quadratic weights; Gwet 2008 AC1), with its percentile
bootstrap intervals over items. Added here: exact and within-one agreement, and the bias
(mean signed difference rater - reference, in levels) with a percentile bootstrap
interval over items (Efron & Tibshirani 1993, ch. 13).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audit.stats.agreement import agreement
from audit.stats.agreement_bootstrap import percentile_interval

# The coefficients the judge-calibration table reports, with CIs.
CALIBRATION_COEFFICIENTS = ("cohen_kappa", "cohen_kappa_quadratic", "gwet_ac1")


@dataclass(frozen=True)
class Calibration:
    """One rater against one reference on one dimension."""

    n_items: int
    exact: float | None  # share of items with the same value
    within_one: float | None  # share with values at most one level apart
    bias: float | None  # mean(rater - reference), in levels
    bias_ci: tuple[float, float] | None
    values: dict[str, float | None]  # CALIBRATION_COEFFICIENTS
    ci: dict[str, tuple[float, float] | None]
    reasons: dict[str, str]  # why a coefficient is undefined
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_items": self.n_items,
            "exact": self.exact,
            "within_one": self.within_one,
            "bias": self.bias,
            "bias_ci": list(self.bias_ci) if self.bias_ci else None,
            **self.values,
            "ci": {k: (list(v) if v else None) for k, v in self.ci.items()},
            "reasons": dict(self.reasons),
            "warnings": list(self.warnings),
        }


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def calibrate(
    rater: Mapping[Hashable, int],
    reference: Mapping[Hashable, int],
    categories: Sequence[int],
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
) -> Calibration:
    """``rater`` and ``reference`` map item -> value; items rated by both are compared."""
    shared = [item for item in rater if item in reference]
    triples = [(item, "rater", rater[item]) for item in shared]
    triples += [(item, "reference", reference[item]) for item in shared]
    result = agreement(triples, categories, n_boot=n_boot, seed=seed, level=level)
    values = {name: result.value(name) for name in CALIBRATION_COEFFICIENTS}
    ci = {name: result.coefficients[name].ci for name in CALIBRATION_COEFFICIENTS}
    reasons = {
        name: result.coefficients[name].reason or "undefined for these data"
        for name in CALIBRATION_COEFFICIENTS
        if values[name] is None
    }
    if not shared:
        return Calibration(0, None, None, None, None, values, ci, reasons, result.warnings)
    diff = np.array([rater[i] - reference[i] for i in shared], dtype=float)
    bias_ci = None
    if n_boot > 0 and diff.size > 1:
        rng = np.random.default_rng(seed)
        draws = rng.choice(diff, size=(n_boot, diff.size), replace=True).mean(axis=1)
        bias_ci = percentile_interval(draws, level)
    return Calibration(
        n_items=len(shared),
        exact=float(np.mean(diff == 0)),
        within_one=float(np.mean(np.abs(diff) <= 1)),
        bias=_finite(float(diff.mean())),
        bias_ci=bias_ci,
        values={k: _finite(v) for k, v in values.items()},
        ci=ci,
        reasons=reasons,
        warnings=result.warnings,
    )

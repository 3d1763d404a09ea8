"""Percentile bootstrap for agreement coefficients, resampling sufficient statistics.

Resampling n items with replacement is the same as drawing the counts of each distinct
rating pattern from Multinomial(n, observed pattern shares) (Efron & Tibshirani 1993,
"An Introduction to the Bootstrap", ch. 6 and 13: nonparametric bootstrap, percentile
interval). Each draw is therefore O(P) for P distinct patterns instead of O(n) rows, and
all draws are evaluated together by ``agreement_core.coefficients``.
"""

from __future__ import annotations

import numpy as np

from audit.stats.agreement_core import PatternTable, coefficients

# Keep each (draws x patterns) weight block near 40 MB even with many distinct patterns.
_MAX_BLOCK_CELLS = 5_000_000


def bootstrap_draws(
    table: PatternTable, n_boot: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Coefficient values for ``n_boot`` resamples of the items (NaN where undefined)."""
    n_items = table.n_items
    if n_boot <= 0 or n_items == 0:
        return {}
    shares = table.counts / n_items
    n_patterns = max(1, table.counts.size)
    block = max(1, _MAX_BLOCK_CELLS // n_patterns)
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, n_boot, block):
        size = min(block, n_boot - start)
        weights = rng.multinomial(n_items, shares, size=size).astype(float)
        values, _ = coefficients(table, weights)
        parts.append(values)
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval of the defined (non-NaN) draws, or None when none is defined."""
    defined = draws[~np.isnan(draws)]
    if defined.size == 0:
        return None
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return float(low), float(high)

"""Do redaction rates differ between conditions? An exact test on a 2 x k table.

Pure numpy/scipy (no Django). Rows: items with and without a redaction; columns: the
conditions of one hidden field (e.g. the models). The null hypothesis is that the rate
is the same in every condition; conditioning on both margins, the table is
multivariate-hypergeometric, P(x) = prod_j C(n_j, x_j) / C(N, R).

- k = 2: Fisher's exact test (Fisher 1935; ``scipy.stats.fisher_exact``, two-sided,
  the same p as R's ``fisher.test``).
- k > 2: the Freeman-Halton extension (Freeman & Halton 1951, Biometrika 38:141-149):
  p = sum of P(x) over all tables with the observed margins and P(x) <= P(observed),
  with R's relative tolerance 1e-7 for ties. Tables are enumerated exactly while there
  are at most ``MAX_TABLES``; beyond that the p-value is estimated by Monte Carlo from
  the same null (``scipy.stats.fisher_exact`` with ``MonteCarloMethod``, seeded; the
  equivalent of R's ``fisher.test(simulate.p.value = TRUE)``), and ``method`` says so.

Undefined cases (fewer than two non-empty conditions, no redactions at all, or every
item redacted) give ``p_value`` None with a note, never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_TABLES = 2_000_000
MONTE_CARLO_RESAMPLES = 9_999
REL_TOL = 1e-7  # as R's fisher.test: P(x) <= P(obs) * (1 + 1e-7) counts as "as extreme"


@dataclass(frozen=True)
class RateTest:
    p_value: float | None
    method: str  # "fisher_exact" | "freeman_halton_exact" | "freeman_halton_monte_carlo"
    groups: int
    n: int
    redacted: int
    note: str = ""


def _log_choose(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    from scipy.special import gammaln  # scipy only when a test runs (house rule)

    return (
        gammaln(np.asarray(n) + 1)
        - gammaln(np.asarray(k) + 1)
        - gammaln(np.asarray(n) - np.asarray(k) + 1)
    )


def _table_count(sizes: Sequence[int], total: int) -> int:
    """How many tables enumeration would visit (product of column ranges, capped)."""
    count = 1
    for size in sizes[:-1]:
        count *= min(size, total) + 1
        if count > MAX_TABLES:
            break
    return count


def freeman_halton_exact(redacted: Sequence[int], sizes: Sequence[int]) -> float:
    """Exact Freeman-Halton p for a 2 x k table by enumeration of the first row."""
    sizes = [int(s) for s in sizes]
    x_obs = [int(x) for x in redacted]
    total = sum(x_obs)
    log_terms = [_log_choose(s, np.arange(0, min(s, total) + 1)) for s in sizes]
    observed = sum(float(log_terms[j][x]) for j, x in enumerate(x_obs))
    # Partial tables over the first columns: running total -> log-probability terms.
    # Kept as parallel arrays (sum, log p) and expanded one column at a time.
    sums = np.zeros(1, dtype=np.int64)
    logs = np.zeros(1)
    remaining = sum(sizes)
    for j, size in enumerate(sizes[:-1]):
        remaining -= size
        xs = np.arange(0, min(size, total) + 1)
        new_sums = (sums[:, None] + xs[None, :]).ravel()
        new_logs = (logs[:, None] + log_terms[j][None, :]).ravel()
        # The columns left must be able to take what is still to place.
        feasible = (new_sums <= total) & (total - new_sums <= remaining)
        sums, logs = new_sums[feasible], new_logs[feasible]
    last = total - sums
    logs = logs + _log_choose(sizes[-1], last)
    log_norm = float(_log_choose(sum(sizes), total))
    probs = np.exp(logs - log_norm)
    threshold = np.exp(observed - log_norm) * (1 + REL_TOL)
    return float(min(1.0, probs[probs <= threshold].sum()))


def rate_test(redacted: Sequence[int], sizes: Sequence[int], *, seed: int = 0) -> RateTest:
    """Test that ``redacted[j]`` of ``sizes[j]`` items per condition share one rate."""
    from scipy import stats

    pairs = [(int(r), int(s)) for r, s in zip(redacted, sizes, strict=True) if int(s) > 0]
    n = sum(s for _, s in pairs)
    hits = sum(r for r, _ in pairs)
    k = len(pairs)
    if k < 2:
        return RateTest(None, "", k, n, hits, "Fewer than two conditions with items.")
    if hits == 0 or hits == n:
        return RateTest(1.0, "", k, n, hits, "The same in every condition (all or none).")
    xs = [r for r, _ in pairs]
    ns = [s for _, s in pairs]
    if k == 2:
        table = [[xs[0], ns[0] - xs[0]], [xs[1], ns[1] - xs[1]]]
        p = float(stats.fisher_exact(table).pvalue)
        return RateTest(min(1.0, p), "fisher_exact", k, n, hits)
    if _table_count(ns, hits) <= MAX_TABLES:
        return RateTest(freeman_halton_exact(xs, ns), "freeman_halton_exact", k, n, hits)
    method = stats.MonteCarloMethod(
        n_resamples=MONTE_CARLO_RESAMPLES, rng=np.random.default_rng(seed)
    )
    table = np.array([xs, [s - x for s, x in zip(ns, xs, strict=True)]])
    p = float(stats.fisher_exact(table, method=method).pvalue)
    return RateTest(min(1.0, p), "freeman_halton_monte_carlo", k, n, hits)

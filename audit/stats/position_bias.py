"""Position bias in pairwise judgments: how often the left answer is chosen (pure scipy).

Under no position bias a non-tied choice is left or right with probability 1/2, so the
number of left choices among n non-tied choices is Binomial(n, 1/2). The test is the exact
two-sided binomial test (Clopper & Pearson 1934 for the interval; two-sided p-value as in
R's ``binom.test``: the sum of the probabilities of outcomes no more likely than the one
observed). Ties carry no side and are reported, not tested.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PositionBias:
    left: int
    right: int
    ties: int
    n: int  # non-tied choices
    share_left: float | None
    ci: tuple[float, float] | None  # exact 95% interval for the share of left choices
    p_value: float | None  # exact two-sided binomial test of share_left = 0.5
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci"] = list(self.ci) if self.ci else None
        return out


def position_bias(left: int, right: int, ties: int = 0) -> PositionBias:
    """Share of left choices among non-tied ones, with the exact binomial test."""
    if min(left, right, ties) < 0:
        raise ValueError("counts must be non-negative")
    n = left + right
    if n == 0:
        return PositionBias(left, right, ties, 0, None, None, None, "no non-tied choices yet")
    from scipy.stats import binomtest

    test = binomtest(left, n, 0.5, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=0.95, method="exact")
    return PositionBias(
        left, right, ties, n, left / n, (float(ci.low), float(ci.high)), float(test.pvalue), None
    )

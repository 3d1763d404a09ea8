"""Drift in a coder's quality, in submission order.

Per item, the disagreement with the reference (gold or reconciled value) is the share of
scored dimensions where the coder's value differs: d_t in [0, 1].

Change detection is Page's (1954) one-sided cumulative sum ("Continuous inspection
schemes", Biometrika 41:100-115), in the tabular form of Montgomery (2009, "Introduction
to Statistical Quality Control", 6th ed., section 9.1.2):

    C_0 = 0,   C_t = max(0, C_{t-1} + d_t - (mu_0 + K)),   alarm at the first C_t > H.

mu_0 (the in-control disagreement) is the coder's own mean over the first ``burn_in``
items, floored at ``floor`` so a perfect start does not make one slip an alarm; K is half
the shift worth detecting (Montgomery's K = delta/2) and H the decision interval. An alarm
means "this coder now disagrees more than they did at the start": a drop in quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CusumResult:
    target: float
    k: float
    h: float
    statistic: list[float]
    alarm: int | None  # 0-based index into the series of the first C_t > h

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rolling_mean(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over the last ``window`` values (fewer at the start)."""
    if window < 1:
        raise ValueError("window must be at least 1")
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def cusum_upper(values: Sequence[float], target: float, k: float, h: float, start: int = 0):
    """Page's one-sided upper CUSUM from index ``start`` (earlier statistics are 0)."""
    stat, c, alarm = [], 0.0, None
    for i, x in enumerate(values):
        if i >= start:
            c = max(0.0, c + x - (target + k))
        stat.append(c)
        if alarm is None and c > h:
            alarm = i
    return CusumResult(target=target, k=k, h=h, statistic=stat, alarm=alarm)


def drift_detect(
    disagreement: Sequence[float],
    *,
    burn_in: int = 10,
    k: float = 0.1,
    h: float = 0.8,
    floor: float = 0.05,
) -> CusumResult | None:
    """CUSUM on per-item disagreement after a burn-in; None when the series is too short."""
    if len(disagreement) <= burn_in:
        return None
    target = max(floor, sum(disagreement[:burn_in]) / burn_in)
    return cusum_upper(disagreement, target, k, h, start=burn_in)


def item_disagreement(coder: dict[str, int], reference: dict[str, int]) -> float | None:
    """Share of the dimensions scored in both where the values differ (None: none shared)."""
    shared = [code for code in reference if code in coder]
    if not shared:
        return None
    return sum(coder[c] != reference[c] for c in shared) / len(shared)

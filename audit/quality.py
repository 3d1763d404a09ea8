"""Coder quality and drift for the lead: per coder x dimension statistics against gold and
against reconciled values, rolling agreement in submission order, and a CUSUM flag.

Statistics come from the pure modules ``audit.stats.quality`` and ``audit.stats.drift``
(sources cited there). Reading reconciled values as a reference has a known bias: where
both coders agreed, the reconciled value *is* the coder's value, so agreement against
reconciled values is optimistic; gold is the unbiased reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coding.models import Study

from .selectors import dimension_list
from .selectors_quality import Submission, submissions_with_references
from .stats.drift import drift_detect, item_disagreement, rolling_mean
from .stats.quality import paired_quality

DRIFT_WINDOW = 10
DRIFT_PARAMS = {"burn_in": 10, "k": 0.1, "h": 0.8, "floor": 0.05}


def _pairs(subs: list[Submission], dim: str, ref: str) -> tuple[list[int], list[int]]:
    coder, reference = [], []
    for s in subs:
        target = s.gold if ref == "gold" else s.reconciled
        if target and dim in target and dim in s.values:
            coder.append(s.values[dim])
            reference.append(int(target[dim]))
    return coder, reference


def coder_quality(*, study: Study, n_boot: int = 500) -> dict[str, Any]:
    """{"dimensions": [codes], "coders": {username: {"gold": {dim: stats}, "reconciled":
    {dim: stats}, "n_gold": n, "n_reconciled": n}}}."""
    dims = dimension_list(study=study)
    out: dict[str, Any] = {"dimensions": [d.code for d in dims], "coders": {}}
    for coder, subs in submissions_with_references(study=study).items():
        entry: dict[str, Any] = {
            "n_gold": sum(1 for s in subs if s.gold),
            "n_reconciled": sum(1 for s in subs if s.reconciled),
        }
        for ref in ("gold", "reconciled"):
            entry[ref] = {}
            for d in dims:
                a, b = _pairs(subs, d.code, ref)
                entry[ref][d.code] = paired_quality(
                    a, b, d.categories, n_boot=n_boot, seed=study.seed
                ).to_dict()
        out["coders"][coder] = entry
    return out


@dataclass
class CoderDrift:
    coder: str
    n: int
    series: list[dict[str, Any]]  # per referenced submission: index, item kind, agreement
    rolling_gold: list[tuple[int, float]]
    rolling_reconciled: list[tuple[int, float]]
    cusum: list[tuple[int, float]]
    alarm_at: int | None  # the coder's submission number (1-based) when flagged
    target: float | None

    @property
    def flagged(self) -> bool:
        return self.alarm_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "coder": self.coder,
            "n": self.n,
            "flagged": self.flagged,
            "alarm_at_submission": self.alarm_at,
            "target_disagreement": self.target,
            "series": self.series,
            "rolling_gold": self.rolling_gold,
            "rolling_reconciled": self.rolling_reconciled,
            "cusum": self.cusum,
            "params": DRIFT_PARAMS | {"window": DRIFT_WINDOW},
        }


def _rolling(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    means = rolling_mean([v for _, v in points], DRIFT_WINDOW) if points else []
    return [(x, round(m, 4)) for (x, _), m in zip(points, means, strict=True)]


def coder_drift(subs: list[Submission], coder: str) -> CoderDrift:
    """Agreement per submission (gold, else reconciled reference) and the CUSUM flag."""
    series = []
    for number, s in enumerate(subs, start=1):
        ref, kind = (s.gold, "gold") if s.gold else (s.reconciled, "reconciled")
        d = item_disagreement(s.values, {k: int(v) for k, v in (ref or {}).items()})
        if d is not None:
            series.append({"submission": number, "reference": kind, "agreement": 1 - d})
    gold = [(p["submission"], p["agreement"]) for p in series if p["reference"] == "gold"]
    rec = [(p["submission"], p["agreement"]) for p in series if p["reference"] == "reconciled"]
    result = drift_detect([1 - p["agreement"] for p in series], **DRIFT_PARAMS)
    alarm = None
    cusum: list[tuple[int, float]] = []
    if result is not None:
        cusum = [
            (p["submission"], round(c, 4)) for p, c in zip(series, result.statistic, strict=True)
        ]
        if result.alarm is not None:
            alarm = series[result.alarm]["submission"]
    return CoderDrift(
        coder=coder,
        n=len(subs),
        series=series,
        rolling_gold=_rolling(gold),
        rolling_reconciled=_rolling(rec),
        cusum=cusum,
        alarm_at=alarm,
        target=None if result is None else round(result.target, 4),
    )


def study_drift(*, study: Study) -> list[CoderDrift]:
    return [
        coder_drift(subs, coder) for coder, subs in submissions_with_references(study=study).items()
    ]


def drift_flags(study: Study) -> list[dict[str, Any]]:
    """Coders flagged by the CUSUM rule, for the lead dashboard."""
    return [
        {"coder": d.coder, "alarm_at": d.alarm_at, "n": d.n}
        for d in study_drift(study=study)
        if d.flagged
    ]


def drift_notices(study: Study) -> list[dict[str, Any]]:
    """Lead dashboard notices: one per coder the CUSUM rule flagged, as of the latest
    agreement snapshot (computed by the worker: a page visit reads no scores)."""
    from django.urls import reverse

    from .selectors import snapshot_latest

    latest = snapshot_latest(study=study)
    flags = (latest.results or {}).get("drift_flags", []) if latest else []
    url = reverse("audit:drift", args=[study.pk])
    return [
        {
            "level": "warning",
            "kind": "drift",
            "text": f"Drift: {f['coder']} flagged at submission {f['alarm_at']} of {f['n']} "
            "(agreement with gold / reconciled values dropped; CUSUM, Page 1954).",
            "url": url,
        }
        for f in flags
    ]

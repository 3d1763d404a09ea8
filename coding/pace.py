"""Coding pace from submission times alone (pure Python, no Django).

The app records when each item was submitted, not when a coder started it (recording
page views would put a write on the coding hot path). So the time an item took is the gap
since the same coder's previous submission. Gaps longer than ``break_after`` are breaks,
not work, and are left out; so is each session's first item, whose start is unknown.
Pace is items per hour of measured work: the number of measured items over the sum of
their times.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

BREAK_AFTER = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Pace:
    submitted: int
    measured: int  # items whose time is known (not the first of a session)
    median_seconds: float | None
    items_per_hour: float | None
    first: dt.datetime | None
    last: dt.datetime | None


def coder_pace(times: Iterable[dt.datetime], break_after: dt.timedelta = BREAK_AFTER) -> Pace:
    """Pace of one coder from their submission times (any order)."""
    ordered = sorted(times)
    gaps = [
        (b - a).total_seconds()
        for a, b in zip(ordered, ordered[1:], strict=False)
        if b - a <= break_after
    ]
    total = sum(gaps)
    return Pace(
        submitted=len(ordered),
        measured=len(gaps),
        median_seconds=statistics.median(gaps) if gaps else None,
        items_per_hour=len(gaps) * 3600 / total if total > 0 else None,
        first=ordered[0] if ordered else None,
        last=ordered[-1] if ordered else None,
    )


def duration_label(seconds: float | None) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``; an em dash when unknown."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"

"""Per-pair and per-condition agreement tables and the condition heatmap, from snapshot JSON.

No database access and no Django: the view passes ``results["pairs"]`` or
``results["conditions"]`` (see ``agreement_results``) and renders what comes back.

Cohen's kappa and Gwet's AC1 each get their own line (table) or map (heatmap). A coefficient that
is undefined shows "—" and a numbered note with the reason (e.g. kappa is 0/0 when both
coders put every item in one category, or a condition's items were coded by more than two
coders). The reason comes from the snapshot's ``reasons``; snapshots written before those
were stored give it through their warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .agreement_results import LABELS

# The coefficients each cell shows, with the short name printed in the cell.
CELL_COEFFICIENTS = (("cohen_kappa", "κ"), ("gwet_ac1", "AC1"))

# Landis & Koch (1977) "The measurement of observer agreement for categorical data",
# Biometrics 33:159-174, p. 165: the conventional bands for kappa-like coefficients.
# (upper bound inclusive, css class, label)
BANDS = (
    (0.0, "band-poor", "< 0 poor"),
    (0.20, "band-slight", "0–0.20 slight"),
    (0.40, "band-fair", "0.21–0.40 fair"),
    (0.60, "band-moderate", "0.41–0.60 moderate"),
    (0.80, "band-substantial", "0.61–0.80 substantial"),
    (1.0, "band-perfect", "0.81–1 almost perfect"),
)
UNDEFINED_BAND = ("band-undefined", "undefined (—): see the notes")


def band(value: float | None) -> tuple[str, str]:
    """The Landis & Koch band of a coefficient as (css class, label)."""
    if value is None:
        return UNDEFINED_BAND
    if value < 0:
        return BANDS[0][1:]
    for upper, css, label in BANDS[1:]:
        if round(value, 2) <= upper:
            return css, label
    return BANDS[-1][1:]


def legend() -> list[dict[str, str]]:
    return [{"css": css, "label": label} for _, css, label in BANDS] + [
        {"css": UNDEFINED_BAND[0], "label": UNDEFINED_BAND[1]}
    ]


class Notes:
    """Numbered notes, one per distinct reason, in order of first use."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def mark(self, text: str) -> int:
        return self._numbers.setdefault(text, len(self._numbers) + 1)

    def items(self) -> list[dict[str, Any]]:
        return [{"n": n, "text": text} for text, n in self._numbers.items()]


def undefined_reason(entry: Mapping[str, Any], name: str) -> str:
    """Why ``name`` is undefined in one pair/condition x dimension entry."""
    reason = (entry.get("reasons") or {}).get(name)
    if reason:
        return reason
    # Older snapshots: "a, b undefined: why" or "..., b use exactly two coders; this data
    # has 3 coders, so they are null" (audit.stats.agreement warnings).
    for warning in entry.get("warnings") or []:
        head, _, why = warning.partition(" undefined: ")
        if why and name in head.split(", "):
            return why
        head, _, why = warning.partition(" use exactly two coders; ")
        if why and name in head.split(", "):
            return "needs exactly two coders; " + why.removesuffix(", so they are null")
    return "undefined for these ratings"


def _coefficient(entry: Mapping[str, Any], name: str, short: str, notes: Notes) -> dict:
    value = (entry.get("values") or {}).get(name)
    out = {
        "name": name,
        "short": short,
        "label": LABELS[name],
        "value": value,
        "ci": (entry.get("ci") or {}).get(name),
        "reason": None,
        "note": None,
        "band": band(value),
    }
    if value is None:
        why = undefined_reason(entry, name) if entry else "no ratings on this dimension"
        out["reason"] = f"{LABELS[name]} undefined: {why}"
        out["note"] = notes.mark(out["reason"])
    return out


def _label(entry: Mapping[str, Any]) -> str:
    return entry.get("condition") or f"{entry['a']} · {entry['b']}"


def coefficient_table(entries: Sequence[Mapping[str, Any]], codes: Sequence[str]) -> dict[str, Any]:
    """Rows of (label, n_items, lines): one line per cell coefficient, one cell per dimension."""
    notes = Notes()
    rows = []
    for entry in entries:
        lines = [
            {
                "name": name,
                "short": short,
                "label": LABELS[name],
                "cells": [
                    _coefficient(entry["dimensions"].get(code) or {}, name, short, notes)
                    for code in codes
                ],
            }
            for name, short in CELL_COEFFICIENTS
        ]
        rows.append({"label": _label(entry), "n_items": entry["n_items"], "lines": lines})
    return {"rows": rows, "notes": notes.items()}


def heatmaps(entries: Sequence[Mapping[str, Any]], codes: Sequence[str]) -> dict[str, Any]:
    """One entries x dimensions heatmap per cell coefficient, sharing one list of notes."""
    notes = Notes()
    maps = []
    for name, short in CELL_COEFFICIENTS:
        rows = [
            {
                "label": _label(entry),
                "n_items": entry["n_items"],
                "cells": [
                    _coefficient(entry["dimensions"].get(code) or {}, name, short, notes)
                    for code in codes
                ],
            }
            for entry in entries
        ]
        maps.append({"name": name, "short": short, "label": LABELS[name], "rows": rows})
    return {"maps": maps, "notes": notes.items(), "legend": legend()}

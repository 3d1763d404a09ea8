"""Generalizability theory: G and D studies for coded scores (pure numpy/scipy, no Django).

Sources: Cronbach, Gleser, Nanda & Rajaratnam (1972) *The Dependability of Behavioral
Measurements*; Brennan (2001) *Generalizability Theory*, ch. 2-4 (p x r and p x r x d
random designs, relative and absolute error); Shrout & Fleiss (1979) for the balanced
one-facet case (G(n') = ICC(3,n'), Phi(n') = ICC(2,n')).

Items are the object of measurement; coders (and dimensions) are random facets. Variance
components come from REML (``audit.stats.reml``), the model of

    lmer(score ~ 1 + (1|item) + (1|coder), REML = TRUE)                       one facet
    lmer(score ~ 1 + (1|item) + (1|coder) + (1|dimension) + (1|item:coder)
         + (1|item:dimension) + (1|coder:dimension), REML = TRUE)             two facets

so sparse dual-coding designs (each item scored by k of N coders) are the normal case.
For n' coders per item (and n_d dimensions):

    one facet:  G   = item / (item + residual / n')
                Phi = item / (item + (coder + residual) / n')
    two facets: rel = item:coder / n' + item:dimension / n_d + residual / (n' n_d)
                abs = rel + coder / n' + dimension / n_d + coder:dimension / (n' n_d)
                G = item / (item + rel),  Phi = item / (item + abs)     (Brennan 2001, 4.2)

n' defaults to the harmonic mean of the number of coders per item (Brennan 2001, 7.1).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from audit.stats.anova import natural_key, read_csv_records
from audit.stats.reml import Factor, reml_fit

G_COLUMNS = ("item", "coder", "score")
DEFAULT_D_STUDY = (1, 2, 3, 4, 6, 8)
ALL = "_all"


@dataclass(frozen=True)
class GScore:
    item: str
    coder: str
    dimension: str
    score: float


def read_g_csv(stream: TextIO) -> list[GScore]:
    """Parse `item,coder,score[,dimension]`; ValueError names the line of a bad row."""
    rows: list[GScore] = []
    seen: dict[tuple[str, str, str], int] = {}
    for line, record in read_csv_records(stream, G_COLUMNS):
        labels = []
        for column in ("item", "coder"):
            text = (record.get(column) or "").strip()
            if not text:
                raise ValueError(f"line {line}: missing {column}")
            labels.append(text)
        dimension = (record.get("dimension") or "").strip() if "dimension" in record else ALL
        if not dimension:
            raise ValueError(f"line {line}: missing dimension")
        raw = (record.get("score") or "").strip()
        try:
            score = float(raw)
        except ValueError:
            raise ValueError(f"line {line}: score {raw!r} is not a number")
        if not math.isfinite(score):
            raise ValueError(f"line {line}: score {raw!r} is not a finite number")
        key = (labels[0], labels[1], dimension)
        if key in seen:
            raise ValueError(
                f"line {line}: duplicate score for item {key[0]!r}, coder {key[1]!r}, "
                f"dimension {dimension!r} (first on line {seen[key]})"
            )
        seen[key] = line
        rows.append(GScore(labels[0], labels[1], dimension, score))
    if not rows:
        raise ValueError("no data rows after the header")
    return rows


def _codes(values: Sequence[str]) -> np.ndarray:
    """Integer codes in order of first appearance (a dict is ~10x faster than sorting)."""
    index: dict[str, int] = {}
    return np.fromiter(
        (index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values)
    )


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 or not math.isfinite(den) else num / den


def harmonic_coders_per_item(items: Sequence[str], coders: Sequence[str]) -> float:
    """Brennan (2001, sec. 7.1): the harmonic mean of the number of coders per item."""
    pairs = np.unique(np.stack([_codes(items), _codes(coders)]), axis=1)
    per_item = np.bincount(pairs[0])
    per_item = per_item[per_item > 0]
    return float(len(per_item) / np.sum(1.0 / per_item))


def one_facet(rows: Sequence[GScore], d_study: Sequence[int] = DEFAULT_D_STUDY) -> dict[str, Any]:
    """One-facet G study (items x coders) of one dimension's scores."""
    items = [r.item for r in rows]
    coders = [r.coder for r in rows]
    y = np.array([r.score for r in rows], dtype=float)
    n_items, n_coders = len(set(items)), len(set(coders))
    n_prime = harmonic_coders_per_item(items, coders)
    out: dict[str, Any] = {
        "n_items": n_items,
        "n_coders": n_coders,
        "n_scores": len(rows),
        "coders_per_item": n_prime,
    }
    notes = []
    if float(np.ptp(y)) == 0.0:
        out["variance_components"] = {"item": 0.0, "coder": 0.0, "residual": 0.0}
        out.update(g=None, phi=None, note="no variance: every score is the same")
        out["d_study"] = [{"coders": n, "g": None, "phi": None} for n in d_study]
        return out
    if n_items < 2 or len(rows) == n_items:
        why = (
            "fewer than two items"
            if n_items < 2
            else "every item has one score, so item and residual variance cannot be separated"
        )
        out["variance_components"] = None
        out.update(g=None, phi=None, note=f"not estimable: {why}")
        out["d_study"] = [{"coders": n, "g": None, "phi": None} for n in d_study]
        return out
    item_codes = _codes(items)
    factors = [Factor("item", item_codes, nested=True)]
    if n_coders >= 2:
        factors.append(Factor("coder", _codes(coders), nested=False))
    else:
        notes.append("one coder: the coder variance is not estimable and is reported as 0")
    fit = reml_fit(y, item_codes, factors)
    comp = {
        "item": fit.components["item"],
        "coder": fit.components.get("coder", 0.0),
        "residual": fit.components["residual"],
    }
    out["variance_components"] = comp

    def coefficients(n: float) -> tuple[float | None, float | None]:
        g = _ratio(comp["item"], comp["item"] + comp["residual"] / n)
        phi = _ratio(comp["item"], comp["item"] + (comp["coder"] + comp["residual"]) / n)
        return g, phi

    out["g"], out["phi"] = coefficients(n_prime)
    out["d_study"] = [
        dict(zip(("coders", "g", "phi"), (n, *coefficients(n)), strict=True)) for n in d_study
    ]
    if out["g"] is None:
        notes.append("item and residual variance are both 0: coefficients undefined")
    if not fit.converged:
        notes.append("the REML optimiser reported no convergence")
    out["note"] = "; ".join(notes) or None
    return out


TWO_FACET = ("item", "coder", "dimension", "item:coder", "item:dimension", "coder:dimension")


def two_facet(
    rows: Sequence[GScore], d_study: Sequence[int] = DEFAULT_D_STUDY
) -> dict[str, Any] | None:
    """Items x coders x dimensions (Brennan's p x r x d, both facets random), or None when
    fewer than two dimensions or some item lacks a dimension."""
    dims = sorted({r.dimension for r in rows}, key=natural_key)
    if len(dims) < 2:
        return None
    dims_of: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        dims_of[r.item].add(r.dimension)
    if any(len(d) != len(dims) for d in dims_of.values()):
        return None
    items = [r.item for r in rows]
    coders = [r.coder for r in rows]
    dim = [r.dimension for r in rows]
    y = np.array([r.score for r in rows], dtype=float)
    n_prime = harmonic_coders_per_item(items, coders)
    n_d = len(dims)
    out: dict[str, Any] = {
        "n_items": len(dims_of),
        "n_coders": len(set(coders)),
        "n_dimensions": n_d,
        "n_scores": len(rows),
        "coders_per_item": n_prime,
    }
    if float(np.ptp(y)) == 0.0:
        out["variance_components"] = dict.fromkeys((*TWO_FACET, "residual"), 0.0)
        out.update(g=None, phi=None, note="no variance: every score is the same")
        out["d_study"] = [{"coders": n, "dimensions": n_d, "g": None, "phi": None} for n in d_study]
        return out
    item_codes = _codes(items)
    pairs = lambda a, b: _codes([f"{x}\x1f{z}" for x, z in zip(a, b, strict=True)])  # noqa: E731
    factors = [
        Factor("item", item_codes, nested=True),
        Factor("item:coder", pairs(items, coders), nested=True),
        Factor("item:dimension", pairs(items, dim), nested=True),
        Factor("coder", _codes(coders), nested=False),
        Factor("dimension", _codes(dim), nested=False),
        Factor("coder:dimension", pairs(coders, dim), nested=False),
    ]
    fit = reml_fit(y, item_codes, factors)
    comp = {name: fit.components[name] for name in TWO_FACET}
    comp["residual"] = fit.components["residual"]
    out["variance_components"] = comp

    def coefficients(n_r: float, n_dd: float) -> tuple[float | None, float | None]:
        rel = comp["item:coder"] / n_r + comp["item:dimension"] / n_dd
        rel += comp["residual"] / (n_r * n_dd)
        absolute = rel + comp["coder"] / n_r + comp["dimension"] / n_dd
        absolute += comp["coder:dimension"] / (n_r * n_dd)
        return (
            _ratio(comp["item"], comp["item"] + rel),
            _ratio(comp["item"], comp["item"] + absolute),
        )

    out["g"], out["phi"] = coefficients(n_prime, n_d)
    out["d_study"] = []
    for n in d_study:
        g, phi = coefficients(n, n_d)
        out["d_study"].append({"coders": n, "dimensions": n_d, "g": g, "phi": phi})
    out["note"] = None if fit.converged else "the REML optimiser reported no convergence"
    return out


def g_study(rows: Iterable[GScore], d_study: Sequence[int] = DEFAULT_D_STUDY) -> dict[str, Any]:
    """The `g_study` command's JSON: one-facet per dimension, two-facet across them."""
    rows = list(rows)
    by_dim: dict[str, list[GScore]] = defaultdict(list)
    for r in rows:
        by_dim[r.dimension].append(r)
    result: dict[str, Any] = {
        "dimensions": {
            name: one_facet(by_dim[name], d_study) for name in sorted(by_dim, key=natural_key)
        }
    }
    across = two_facet(rows, d_study)
    if across is not None:
        result["across_dimensions"] = across
    return result


def parse_d_study(text: str) -> list[int]:
    """`1,2,3` -> [1, 2, 3]; each a whole number of coders from 1 to 1000."""
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdecimal() or len(part) > 4 or not 1 <= int(part) <= 1000:
            raise ValueError(f"--d-study: {part!r} is not a whole number from 1 to 1000")
        values.append(int(part))
    if not values:
        raise ValueError("--d-study: give at least one number of coders")
    return sorted(set(values))

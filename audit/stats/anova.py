"""Scaffold-efficacy statistics: one-way and two-way ANOVA, Kruskal-Wallis, Holm and BH.

Pure numpy/scipy (no Django). Input is reconciled scores in long form, one row per
(model, scaffold, prompt, specification, dimension, value); the output of
`scaffold_efficacy` is the JSON contract of `manage.py scaffold_efficacy` (issue 8).

Undefined statistics are None, never NaN or a crash:
- a model x dimension set with no variance at all: F, p, eta squared and Kruskal-Wallis
  are None with note "no variance";
- equal scaffold means with within-scaffold variance: F = 0, p = 1, eta squared 0;
- variance between scaffolds but none within them: F is infinite, reported as None.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TextIO

import numpy as np

EFFICACY_COLUMNS = ("model", "scaffold", "prompt", "specification", "dimension", "value")
SPECIFICATIONS = ("full", "under")
TWO_WAY_TERMS = ("model", "scaffold", "model:scaffold")
# Sums of squares below this fraction of the total are rounding noise (e.g. equal means
# computed in floating point), so they are treated as exactly zero.
RELATIVE_TOLERANCE = 1e-12


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders digit runs numerically: "D2" < "D10", "C9" < "C10"."""
    return tuple(
        (0, int(chunk), "") if chunk.isdecimal() else (1, 0, chunk)
        for chunk in re.split(r"(\d+)", text)
        if chunk
    )


def _finite(value: Any, column: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"missing {column}")
    if isinstance(value, bool):
        raise ValueError(f"{column} {value!r} is not a number")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"{column} {value!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{column} {value!r} is not a finite number")
    return number


def _label(value: Any, column: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise ValueError(f"missing {column}")
    return text


def read_csv_records(stream: TextIO, columns: Sequence[str]) -> Iterable[tuple[int, dict]]:
    """Yield (line number, record) from a CSV with a header containing `columns`.

    Raises ValueError with a one-line message for an empty file or missing columns; extra
    columns are ignored. Shared with `audit.stats.instability`.
    """
    reader = csv.DictReader(stream)
    try:
        header = reader.fieldnames
        if not header:
            raise ValueError(f"empty file: expected a header {','.join(columns)}")
        reader.fieldnames = [name.strip() for name in header]
        missing = [name for name in columns if name not in reader.fieldnames]
        if missing:
            raise ValueError(
                f"missing column(s) {', '.join(missing)}: header must be {','.join(columns)}"
            )
        for record in reader:
            yield reader.line_num, record
    except csv.Error as exc:
        raise ValueError(f"line {reader.line_num}: malformed CSV ({exc})")


@dataclass(frozen=True)
class Observation:
    """One reconciled score with its unblinded condition."""

    model: str
    scaffold: str
    prompt: str
    specification: str
    dimension: str
    value: float


def coerce_observation(row: Observation | Mapping[str, Any] | Sequence[Any]) -> Observation:
    """Validate a dict, tuple (in EFFICACY_COLUMNS order) or Observation; ValueError if bad."""
    if isinstance(row, Observation):
        row = [getattr(row, name) for name in EFFICACY_COLUMNS]
    if isinstance(row, Mapping):
        values = [row.get(name) for name in EFFICACY_COLUMNS]
    else:
        values = list(row)
        if len(values) != len(EFFICACY_COLUMNS):
            raise ValueError(f"expected {len(EFFICACY_COLUMNS)} fields, got {len(values)}")
    model, scaffold, prompt, specification, dimension, value = values
    spec = "" if specification is None else str(specification).strip().lower()
    if spec not in SPECIFICATIONS:
        raise ValueError(f"specification {specification!r} is not 'full' or 'under'")
    return Observation(
        model=_label(model, "model"),
        scaffold=_label(scaffold, "scaffold"),
        prompt="" if prompt is None else str(prompt).strip(),
        specification=spec,
        dimension=_label(dimension, "dimension"),
        value=_finite(value, "value"),
    )


def read_efficacy_csv(stream: TextIO) -> list[Observation]:
    """Parse `model,scaffold,prompt,specification,dimension,value`; ValueError names the line."""
    rows = []
    for line, record in read_csv_records(stream, EFFICACY_COLUMNS):
        try:
            rows.append(coerce_observation(record))
        except ValueError as exc:
            raise ValueError(f"line {line}: {exc}")
    if not rows:
        raise ValueError("no data rows after the header")
    return rows


def _clean(x: float | None) -> float | None:
    """Plain Python float, or None for None/NaN/inf (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass
class OneWayResult:
    """One-way ANOVA and Kruskal-Wallis across the groups of one model x dimension."""

    F: float | None
    p: float | None
    df_between: int | None
    df_within: int | None
    eta_squared: float | None
    kruskal_H: float | None
    kruskal_p: float | None
    means: dict[str, float | None]
    n: dict[str, int]
    note: str | None = None


def kruskal_wallis(groups: Sequence[Sequence[float]]) -> tuple[float | None, float | None]:
    """Kruskal & Wallis (1952) H with the tie correction, p from chi-squared(k - 1).

    H = [12 / (N(N+1)) * sum(R_i^2 / n_i) - 3(N+1)] / [1 - sum(t^3 - t) / (N^3 - N)]
    (Kruskal & Wallis 1952, eq. 1.1 and 1.2). (None, None) when fewer than two non-empty
    groups or when every value is tied (the correction's denominator is 0).
    """
    arrays = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if len(arrays) < 2:
        return None, None
    pooled = np.concatenate(arrays)
    total = pooled.size
    from scipy import stats  # heavy: loaded only when an analysis runs

    ranks = stats.rankdata(pooled)
    _, tie_counts = np.unique(pooled, return_counts=True)
    correction = 1.0 - float(np.sum(tie_counts**3 - tie_counts)) / (total**3 - total)
    if correction <= 0:
        return None, None
    rank_term, start = 0.0, 0
    for group in arrays:
        rank_sum = float(np.sum(ranks[start : start + group.size]))
        rank_term += rank_sum**2 / group.size
        start += group.size
    h = (12.0 / (total * (total + 1)) * rank_term - 3.0 * (total + 1)) / correction
    h = max(h, 0.0)
    return _clean(h), _clean(stats.chi2.sf(h, len(arrays) - 1))


def one_way(groups: Mapping[str, Sequence[float]]) -> OneWayResult:
    """One-way ANOVA (Fisher 1925) with eta squared, and Kruskal-Wallis beside it.

    F = [SS_between / (k - 1)] / [SS_within / (N - k)], p = upper tail of F(k - 1, N - k);
    eta squared = SS_between / SS_total (Cohen 1973). `groups` maps scaffold -> values.
    A listed scaffold with no values (a model that did not run it) is left out: the tests
    run over the k scaffolds that have values (df from those), and the note names the
    missing ones; its mean is None and its n 0.
    """
    from scipy import stats  # heavy: loaded only when an analysis runs

    arrays = {name: np.asarray(values, dtype=float) for name, values in groups.items()}
    means = {name: (_clean(a.mean()) if a.size else None) for name, a in arrays.items()}
    counts = {name: int(a.size) for name, a in arrays.items()}
    missing = [name for name, a in arrays.items() if a.size == 0]
    present = {name: a for name, a in arrays.items() if a.size}
    plural = "s" if len(missing) > 1 else ""
    missing_note = f"no observations for scaffold{plural} {', '.join(missing)}" if missing else None
    empty = OneWayResult(None, None, None, None, None, None, None, means, counts)
    if len(present) < 2:
        empty.note = _join(
            "fewer than 2 scaffolds with observations: nothing to compare", missing_note
        )
        return empty

    k = len(present)
    pooled = np.concatenate(list(present.values()))
    df_between, df_within = k - 1, pooled.size - k
    result = OneWayResult(None, None, df_between, df_within, None, None, None, means, counts)
    if missing_note:
        result.note = f"{missing_note}: tested across {', '.join(present)} (df {k - 1})"
    if np.all(pooled == pooled[0]):
        result.note = _join("no variance", result.note)
        return result

    grand = pooled.mean()
    ss_total = float(np.sum((pooled - grand) ** 2))
    ss_between = float(sum(a.size * (a.mean() - grand) ** 2 for a in present.values()))
    ss_within = float(sum(np.sum((a - a.mean()) ** 2) for a in present.values()))
    if ss_between <= RELATIVE_TOLERANCE * ss_total:
        ss_between = 0.0
    result.eta_squared = _clean(ss_between / ss_total)
    result.kruskal_H, result.kruskal_p = kruskal_wallis(list(present.values()))
    if ss_within <= RELATIVE_TOLERANCE * ss_total or df_within == 0:
        result.note = _join("no variance within scaffolds: F is undefined (infinite)", result.note)
        return result
    f_value = (ss_between / df_between) / (ss_within / df_within)
    result.F = _clean(f_value)
    result.p = _clean(stats.f.sf(f_value, df_between, df_within))
    return result


def _join(first: str, second: str | None) -> str:
    return first if not second else f"{first}; {second}"


def _checked_pvalues(pvalues: Sequence[float | None]) -> list[int]:
    present = []
    for i, p in enumerate(pvalues):
        if p is None:
            continue
        if not (0.0 <= p <= 1.0):
            raise ValueError(f"p-value {p!r} is not in [0, 1]")
        present.append(i)
    return present


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm (1979) step-down adjusted p-values; None entries are excluded and stay None.

    For sorted p_(1) <= ... <= p_(m): p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)).
    """
    present = _checked_pvalues(pvalues)
    order = sorted(present, key=lambda i: (pvalues[i], i))
    adjusted: list[float | None] = [None] * len(pvalues)
    m, running = len(order), 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * float(pvalues[i])))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(pvalues: Sequence[float | None]) -> list[float | None]:
    """Benjamini & Hochberg (1995) FDR-adjusted p-values; None entries stay None.

    For sorted p_(1) <= ... <= p_(m): p~_(i) = min_{j >= i} min(1, m p_(j) / j).
    """
    present = _checked_pvalues(pvalues)
    order = sorted(present, key=lambda i: (pvalues[i], i))
    adjusted: list[float | None] = [None] * len(pvalues)
    m, running = len(order), 1.0
    for j in range(m - 1, -1, -1):
        i = order[j]
        running = min(running, min(1.0, m * float(pvalues[i]) / (j + 1)))
        adjusted[i] = running
    return adjusted


def adjust_pvalues(
    pvalues: Sequence[float | None], method: Literal["holm", "bh"] = "holm"
) -> list[float | None]:
    """Multiplicity adjustment by name: "holm" (FWER) or "bh" (FDR)."""
    if method == "holm":
        return holm(pvalues)
    if method == "bh":
        return benjamini_hochberg(pvalues)
    raise ValueError(f"unknown correction {method!r}: use 'holm' or 'bh'")


@dataclass
class TermTest:
    """One row of an ANOVA table."""

    sum_sq: float | None
    df: int
    F: float | None
    p: float | None


@dataclass
class TwoWayResult:
    """Two-way model x scaffold ANOVA with interaction, Type II sums of squares."""

    terms: dict[str, TermTest]
    df_resid: int | None
    note: str | None = None

    def contract_terms(self) -> dict[str, dict[str, float | int | None]]:
        """The CLI shape: {"model": {"F", "p", "df"}, "scaffold": {...}, "model:scaffold": ...}."""
        return {name: {"F": t.F, "p": t.p, "df": t.df} for name, t in self.terms.items()}


def _fit(y: np.ndarray, design: np.ndarray) -> tuple[float, int]:
    """Residual sum of squares and rank of a least-squares fit.

    lstsq projects onto the column space, so a column aliased by an empty cell changes
    nothing: it is dropped in effect, as R's lm does, and the rank counts what is left."""
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ beta
    return float(residual @ residual), int(np.linalg.matrix_rank(design))


def _dummies(labels: Sequence[str], levels: Sequence[str]) -> np.ndarray:
    """Treatment coding: one column per level after the first (the reference)."""
    return np.array([[label == level for level in levels[1:]] for label in labels], dtype=float)


def two_way_anova(
    values: Sequence[float], models: Sequence[str], scaffolds: Sequence[str]
) -> TwoWayResult:
    """Type II two-way ANOVA y ~ model + scaffold + model:scaffold by model comparison.

    Type II (Langsrud 2003; R car::Anova type II; statsmodels `anova_lm(typ=2)` on a full
    design): each main effect is tested after the other main effect, the interaction after
    both, every F against the full model's residual mean square:
      SS(model)    = RSS(scaffold) - RSS(model + scaffold)
      SS(scaffold) = RSS(model) - RSS(model + scaffold)
      SS(model:scaffold) = RSS(model + scaffold) - RSS(full),
    each df the difference in rank of the two designs. An empty model x scaffold cell
    aliases an interaction column; as lm/car the fit drops it (df (a-1)(b-1) minus the
    aliased) and the note names the cell. statsmodels' `anova_lm(typ=2)` gets the main
    effects of such a design wrong (pseudo-inverse Wald tests); the tests use its
    nested-model form. Nothing to test (one model or scaffold, no residual df, no
    variance): None statistics and a note saying why.
    """
    from scipy import stats  # heavy: loaded only when an analysis runs

    y = np.asarray(values, dtype=float)
    model_levels = sorted(set(models), key=natural_key)
    scaffold_levels = sorted(set(scaffolds), key=natural_key)
    a, b = len(model_levels), len(scaffold_levels)
    dfs = {"model": max(a - 1, 0), "scaffold": max(b - 1, 0)}
    dfs["model:scaffold"] = dfs["model"] * dfs["scaffold"]

    def undefined(note: str, df_resid: int | None = None) -> TwoWayResult:
        terms = {name: TermTest(None, dfs[name], None, None) for name in TWO_WAY_TERMS}
        return TwoWayResult(terms, df_resid, note)

    if not (len(y) == len(models) == len(scaffolds)):
        raise ValueError("values, models and scaffolds must have the same length")
    if a < 2:
        return undefined("fewer than 2 models: the model and interaction terms are undefined")
    if b < 2:
        return undefined("fewer than 2 scaffolds: the scaffold and interaction terms are undefined")
    cells = {(m, s) for m, s in zip(models, scaffolds, strict=True)}
    empty = [f"{m}/{s}" for m in model_levels for s in scaffold_levels if (m, s) not in cells]
    notes = []
    if empty:
        notes.append(
            f"empty model x scaffold cell{'s' if len(empty) > 1 else ''} {', '.join(empty)}: "
            "aliased interaction columns dropped (as R lm/car::Anova), Type II on the rest"
        )

    ones = np.ones((len(y), 1))
    dm, ds = _dummies(models, model_levels), _dummies(scaffolds, scaffold_levels)
    interaction = np.einsum("ni,nj->nij", dm, ds).reshape(len(y), -1)
    rss_full, rank_full = _fit(y, np.hstack([ones, dm, ds, interaction]))
    rss_main, rank_main = _fit(y, np.hstack([ones, dm, ds]))
    rss_scaffold, rank_scaffold = _fit(y, np.hstack([ones, ds]))
    rss_model, rank_model = _fit(y, np.hstack([ones, dm]))
    comparisons = {
        "model": (rss_scaffold - rss_main, rank_main - rank_scaffold),
        "scaffold": (rss_model - rss_main, rank_main - rank_model),
        "model:scaffold": (rss_main - rss_full, rank_full - rank_main),
    }
    dfs.update({name: df for name, (_, df) in comparisons.items()})
    df_resid = len(y) - rank_full
    if df_resid <= 0:
        notes.append("no residual degrees of freedom (one observation per cell)")
        return undefined("; ".join(notes), df_resid)
    ss_total = float(np.sum((y - y.mean()) ** 2))
    if ss_total == 0.0:
        return undefined("; ".join(["no variance", *notes]), df_resid)
    if rss_full <= RELATIVE_TOLERANCE * ss_total:
        notes.append("no residual variance: F is undefined (infinite)")
        return undefined("; ".join(notes), df_resid)

    mse = rss_full / df_resid
    terms = {}
    for name in TWO_WAY_TERMS:
        ss, df = comparisons[name]
        if df == 0:
            # Every column of the term is aliased by the others (e.g. each model ran its
            # own scaffolds): nothing is left to test.
            terms[name] = TermTest(None, 0, None, None)
            notes.append(f"{name}: no degrees of freedom left after the other terms")
            continue
        ss = ss if ss > RELATIVE_TOLERANCE * ss_total else 0.0
        f_value = (ss / df) / mse
        p = stats.f.sf(f_value, df, df_resid)
        terms[name] = TermTest(_clean(ss), df, _clean(f_value), _clean(p))
    return TwoWayResult(terms, df_resid, "; ".join(notes) or None)


def scaffold_efficacy(
    rows: Iterable[Observation | Mapping[str, Any] | Sequence[Any]],
) -> dict[str, list[dict[str, Any]]]:
    """Every analysis of the scaffold stress test, in the `scaffold_efficacy` CLI shape.

    - "one_way": per model x dimension (natural order), ANOVA + Kruskal-Wallis across the
      scaffolds that model ran (a scaffold it did not run has mean None, n 0 and is named
      in the note; df come from the scaffolds present), with Holm-adjusted p over all
      one-way tests that have a p-value;
    - "under_specified_means": per model x dimension with at least one specification
      "under" row, means and n by scaffold over those rows only (None mean when n = 0);
    - "two_way": per dimension, the Type II model x scaffold ANOVA terms (F, p, df), the
      residual df and a note (why a statistic is None; empty cells and what was dropped).
    Raises ValueError on an invalid row. Everything returned is plain JSON-serialisable.
    """
    # A canonical order makes the numbers independent of the order rows arrive in (least
    # squares sums in a different order differ in the last bits; reports must not).
    observations = sorted(
        (coerce_observation(row) for row in rows),
        key=lambda o: (o.dimension, o.model, o.scaffold, o.prompt, o.specification, o.value),
    )
    scaffolds = sorted({o.scaffold for o in observations}, key=natural_key)
    cells: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
        lambda: {s: [] for s in scaffolds}
    )
    under: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
        lambda: {s: [] for s in scaffolds}
    )
    by_dimension: dict[str, list[Observation]] = defaultdict(list)
    for o in observations:
        cells[(o.model, o.dimension)][o.scaffold].append(o.value)
        if o.specification == "under":
            under[(o.model, o.dimension)][o.scaffold].append(o.value)
        by_dimension[o.dimension].append(o)

    def order(key: tuple[str, str]) -> tuple:
        return natural_key(key[0]), natural_key(key[1])

    one_way_rows = []
    for model, dimension in sorted(cells, key=order):
        result = one_way(cells[(model, dimension)])
        one_way_rows.append(
            {
                "model": model,
                "dimension": dimension,
                "F": result.F,
                "p": result.p,
                "p_holm": None,
                "df_between": result.df_between,
                "df_within": result.df_within,
                "eta_squared": result.eta_squared,
                "kruskal_H": result.kruskal_H,
                "kruskal_p": result.kruskal_p,
                "means": result.means,
                "n": result.n,
                "note": result.note,
            }
        )
    for row, adjusted in zip(one_way_rows, holm([r["p"] for r in one_way_rows]), strict=True):
        row["p_holm"] = adjusted

    under_rows = []
    for model, dimension in sorted(under, key=order):
        groups = under[(model, dimension)]
        under_rows.append(
            {
                "model": model,
                "dimension": dimension,
                "means": {s: (float(np.mean(v)) if v else None) for s, v in groups.items()},
                "n": {s: len(v) for s, v in groups.items()},
            }
        )

    two_way_rows = []
    for dimension in sorted(by_dimension, key=natural_key):
        subset = by_dimension[dimension]
        result = two_way_anova(
            [o.value for o in subset], [o.model for o in subset], [o.scaffold for o in subset]
        )
        two_way_rows.append(
            {
                "dimension": dimension,
                "terms": result.contract_terms(),
                "df_resid": result.df_resid,
                "note": result.note,
            }
        )

    return {"one_way": one_way_rows, "under_specified_means": under_rows, "two_way": two_way_rows}

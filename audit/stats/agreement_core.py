"""Agreement coefficients computed from rating-pattern counts, vectorised over a batch.

The ratings of one rubric dimension form an item x coder matrix of category ranks
(0 .. q-1, with -1 for a missing rating). Every coefficient here depends on that matrix
only through how often each distinct row ("rating pattern") occurs, so a dimension is
held as a :class:`PatternTable` (at most (q+1)^m distinct rows, e.g. 16 for two coders
and three categories). A batch of B weight vectors over the P patterns, shape (B, P),
gives B data sets at once: the observed counts give the point estimate, and multinomial
draws of the counts give bootstrap replicates of resampled items (see
``agreement_bootstrap``). Each coefficient is a ratio of sums that are linear in the
weights, so a batch costs one (B, P) x (P, K) product plus O(B q^2) arithmetic.

Formula sources (cited again beside each formula):

- Cohen, J. (1960) "A coefficient of agreement for nominal scales"; weighted kappa
  Cohen, J. (1968) "Weighted kappa", with agreement weights by category rank as in
  Gwet (2014) ch. 3: linear 1 - |k-l|/(q-1), quadratic 1 - (k-l)^2/(q-1)^2.
- Scott, W. A. (1955) "Reliability of content analysis: the case of nominal scale coding".
- PABAK: Byrt, Bishop & Carlin (1993) "Bias, prevalence and kappa", (q po - 1)/(q - 1).
- Fleiss' kappa and Gwet's AC1/AC2 for any number of coders with missing ratings:
  Gwet, K. L. (2014) Handbook of Inter-Rater Reliability, 4th ed., ch. 2-3, exactly as
  coded in the irrCAC R package (fleiss.kappa.raw, gwet.ac1.raw): agreement is averaged
  over items with two or more ratings, classification probabilities over items with one
  or more ratings.
- Krippendorff's alpha: Krippendorff, K. (2011) "Computing Krippendorff's
  alpha-reliability", coincidence matrix with the nominal, ordinal (category ranks),
  interval and ratio metrics. Interval and ratio use the categories' numeric values
  (delta^2 = (c - k)^2 and ((c - k) / (c + k))^2): on categories 0, 1, 5 a 1-vs-5 split
  is four times a 0-vs-1 split, not the same. Non-numeric categories leave both undefined.
  Matches the ``krippendorff`` PyPI package.

Undefined values (a zero denominator) come back as NaN in the arrays; the caller turns
them into None. With ``explain=True`` the reason for each undefined point estimate is
returned as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

MISSING = -1
# A denominator smaller than this is treated as exactly zero (0/0 is undefined, not huge).
EPS = 1e-12

TWO_CODER_COEFFICIENTS = (
    "percent_agreement",
    "cohen_kappa",
    "cohen_kappa_linear",
    "cohen_kappa_quadratic",
    "scott_pi",
    "pabak",
)
MULTI_CODER_COEFFICIENTS = (
    "fleiss_kappa",
    "gwet_ac1",
    "gwet_ac2_linear",
    "gwet_ac2_quadratic",
    "krippendorff_alpha_nominal",
    "krippendorff_alpha_ordinal",
    "krippendorff_alpha_interval",
    "krippendorff_alpha_ratio",
)
COEFFICIENTS = TWO_CODER_COEFFICIENTS + MULTI_CODER_COEFFICIENTS
# Helper statistics returned alongside the coefficients (used for warnings).
MULTI_CODER_AGREEMENT = "_multi_coder_percent_agreement"

WeightKind = Literal["none", "linear", "quadratic"]


def rank_weights(n_categories: int, kind: WeightKind) -> np.ndarray:
    """Agreement weights by category rank (Cohen 1968; Gwet 2014, ch. 3).

    none: identity; linear: 1 - |k - l| / (q - 1); quadratic: 1 - (k - l)^2 / (q - 1)^2.
    """
    q = n_categories
    ranks = np.arange(q, dtype=float)
    if kind == "none" or q < 2:
        return np.eye(q)
    diff = np.abs(ranks[:, None] - ranks[None, :]) / (q - 1)
    if kind == "linear":
        return 1.0 - diff
    if kind == "quadratic":
        return 1.0 - diff**2
    raise ValueError(f"unknown weights {kind!r}")


@dataclass(frozen=True)
class PatternTable:
    """Distinct rows of an item x coder matrix of category ranks, with multiplicities.

    ``patterns`` is (P, m) int with -1 for missing; ``counts`` is (P,) int64. Items with
    no rating at all are not represented (they carry no information, and irrCAC asks for
    them to be removed). ``values`` holds the numeric value of each category (by rank) for
    the interval and ratio metrics, or None when the categories are not numbers.
    """

    patterns: np.ndarray
    counts: np.ndarray
    n_categories: int
    values: tuple[float, ...] | None = None

    @property
    def n_items(self) -> int:
        return int(self.counts.sum())

    @property
    def n_coders(self) -> int:
        return int(self.patterns.shape[1])


def pattern_table(
    codes: np.ndarray, n_categories: int, values: tuple[float, ...] | None = None
) -> PatternTable:
    """Count the distinct rating patterns of an item x coder matrix of ranks (-1 = missing).

    ``values``: the categories' numbers for the interval and ratio metrics (None: not
    numbers, so those two are undefined)."""
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError("codes must be a 2-D item x coder array")
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError("codes must be integer category ranks (-1 for missing)")
    q = int(n_categories)
    if q < 1:
        raise ValueError("at least one category is required")
    if values is not None and len(values) != q:
        raise ValueError("values must give one number per category")
    if codes.size and (codes.min() < MISSING or codes.max() >= q):
        raise ValueError(f"codes must lie in -1 .. {q - 1}")
    codes = codes[(codes != MISSING).any(axis=1)]
    n_rows, m = codes.shape
    base = q + 1
    if n_rows == 0:
        return PatternTable(np.zeros((0, m), dtype=np.int64), np.zeros(0, np.int64), q, values)
    if m * np.log2(base) < 62:
        # Encode each row as one integer in base q+1, then count: O(n) and no row sort.
        powers = base ** np.arange(m, dtype=np.int64)
        keys = (codes.astype(np.int64) + 1) @ powers
        if base**m <= 1 << 20:
            tally = np.bincount(keys, minlength=base**m)
            keys = np.flatnonzero(tally)
            counts = tally[keys]
        else:
            keys, counts = np.unique(keys, return_counts=True)
        patterns = (keys[:, None] // powers[None, :]) % base - 1
    else:
        patterns, counts = np.unique(codes, axis=0, return_counts=True)
    return PatternTable(patterns.astype(np.int64), counts.astype(np.int64), q, values)


def pattern_table_from_confusion(table: np.ndarray) -> PatternTable:
    """A two-coder PatternTable from a q x q confusion table (rows coder 1, columns coder 2)."""
    table = np.asarray(table)
    if table.ndim != 2 or table.shape[0] != table.shape[1]:
        raise ValueError("a confusion table must be square")
    if (table < 0).any() or not np.allclose(table, np.round(table)):
        raise ValueError("a confusion table must hold non-negative integer counts")
    q = table.shape[0]
    a, b = np.nonzero(table)
    patterns = np.stack([a, b], axis=1).astype(np.int64)
    return PatternTable(patterns, np.round(table[a, b]).astype(np.int64), q)


@dataclass(frozen=True)
class _Features:
    """Per-pattern sufficient statistics, stacked column-wise so one matmul sums them."""

    matrix: np.ndarray  # (P, K)
    pair: slice | None  # q*q one-hot confusion cell (two coders, both rated)
    has1: int  # item has >= 1 rating
    has2: int  # item has >= 2 ratings
    pi: slice  # r_ik / r_i (Gwet 2014 eq. for pi_k), items with >= 1 rating
    pa: dict[str, int]  # per-item weighted agreement, items with >= 2 ratings
    coincidence: slice  # Krippendorff (2011) per-unit coincidences, q*q


def _features(table: PatternTable) -> _Features:
    patterns, q = table.patterns, table.n_categories
    n_patterns, m = patterns.shape
    columns: list[np.ndarray] = []
    position = 0

    def add(block: np.ndarray) -> slice:
        nonlocal position
        block = block.reshape(n_patterns, -1)
        columns.append(block)
        start, position = position, position + block.shape[1]
        return slice(start, position)

    pair = None
    if m == 2:
        both = (patterns >= 0).all(axis=1)
        cell = np.zeros((n_patterns, q * q))
        rows = np.flatnonzero(both)
        cell[rows, patterns[rows, 0] * q + patterns[rows, 1]] = 1.0
        pair = add(cell)

    # r[i, k]: number of coders who put item i in category k (Gwet's r_ik).
    r = np.zeros((n_patterns, q))
    for j in range(m):
        rated = patterns[:, j] >= 0
        np.add.at(r, (np.flatnonzero(rated), patterns[rated, j]), 1.0)
    ri = r.sum(axis=1)
    has1 = ri >= 1
    has2 = ri >= 2
    has1_col = add(has1.astype(float)).start
    has2_col = add(has2.astype(float)).start

    pi_share = np.divide(r, ri[:, None], out=np.zeros_like(r), where=has1[:, None])
    pi = add(pi_share)

    # Gwet (2014) / irrCAC: pa_i = sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1)),
    # with r*_ik = sum_l w_kl r_il.
    pairs_per_item = np.where(has2, ri * (ri - 1), 1.0)
    pa: dict[str, int] = {}
    for kind in ("none", "linear", "quadratic"):
        r_star = r @ rank_weights(q, kind).T
        agree = (r * (r_star - 1)).sum(axis=1) / pairs_per_item
        pa[kind] = add(np.where(has2, agree, 0.0)).start

    # Krippendorff (2011) eq. for o_ck: sum over units of (n_uc n_uk - [c=k] n_uc) / (m_u - 1),
    # over units with m_u >= 2 pairable values.
    outer = r[:, :, None] * r[:, None, :] - r[:, :, None] * np.eye(q)[None, :, :]
    coincidence = np.where(
        has2[:, None, None], outer / np.where(has2, ri - 1, 1.0)[:, None, None], 0
    )
    coinc = add(coincidence)

    return _Features(np.hstack(columns), pair, has1_col, has2_col, pi, pa, coinc)


class _Undefined:
    """Collects NaN masks and, for the point estimate, the first reason per coefficient."""

    def __init__(self, explain: bool) -> None:
        self.reasons: dict[str, str] | None = {} if explain else None

    def guard(self, name: str, value: np.ndarray, checks: list[tuple[np.ndarray, str]]) -> None:
        for bad, why in checks:
            if self.reasons is not None and bool(bad[0]) and name not in self.reasons:
                self.reasons[name] = why
            value[bad] = np.nan


def coefficients(
    table: PatternTable, weights: np.ndarray, *, explain: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All coefficients for a (B, P) batch of pattern weights.

    Returns ``(values, reasons)``: ``values[name]`` is a (B,) float array with NaN where
    undefined; ``reasons[name]`` explains an undefined value in the first row (only with
    ``explain=True``, meant for the point estimate).
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    n_batch = weights.shape[0]
    q = table.n_categories
    undefined = _Undefined(explain)
    values: dict[str, np.ndarray] = {}
    if table.patterns.shape[0] == 0:
        nan = np.full(n_batch, np.nan)
        for name in COEFFICIENTS:
            values[name] = nan.copy()
            if undefined.reasons is not None:
                undefined.reasons[name] = "there are no ratings"
        values[MULTI_CODER_AGREEMENT] = nan.copy()
        return values, undefined.reasons or {}

    feats = _features(table)
    sums = weights @ feats.matrix  # (B, K): every sufficient statistic at once
    with np.errstate(divide="ignore", invalid="ignore"):
        values.update(_two_coder(table, feats, sums, undefined))
        values.update(_fleiss_gwet(q, feats, sums, undefined))
        values.update(_krippendorff(table, feats, sums, undefined))
    return values, undefined.reasons or {}


def _two_coder(
    table: PatternTable, feats: _Features, sums: np.ndarray, undefined: _Undefined
) -> dict[str, np.ndarray]:
    n_batch, q = sums.shape[0], table.n_categories
    out: dict[str, np.ndarray] = {}
    if feats.pair is None:
        why = f"needs exactly two coders; this data has {table.n_coders}"
        for name in TWO_CODER_COEFFICIENTS:
            out[name] = np.full(n_batch, np.nan)
            undefined.guard(name, out[name], [(np.ones(n_batch, bool), why)])
        return out

    cells = sums[:, feats.pair].reshape(n_batch, q, q)
    n_pairs = cells.sum(axis=(1, 2))
    no_pairs = n_pairs <= 0
    no_pairs_why = "no item was rated by both coders"
    p = cells / np.where(no_pairs, 1.0, n_pairs)[:, None, None]
    row, col = p.sum(axis=2), p.sum(axis=1)
    po = np.trace(p, axis1=1, axis2=2)

    out["percent_agreement"] = po.copy()
    undefined.guard("percent_agreement", out["percent_agreement"], [(no_pairs, no_pairs_why)])

    # Cohen (1960, 1968): kappa_w = (po_w - pe_w) / (1 - pe_w), pe_w from the product of
    # each coder's own marginals.
    for name, kind in (
        ("cohen_kappa", "none"),
        ("cohen_kappa_linear", "linear"),
        ("cohen_kappa_quadratic", "quadratic"),
    ):
        w = rank_weights(q, kind)
        po_w = (p * w).sum(axis=(1, 2))
        pe_w = np.einsum("bk,kl,bl->b", row, w, col)
        kappa = (po_w - pe_w) / (1.0 - pe_w)
        undefined.guard(
            name,
            kappa,
            [
                (no_pairs, no_pairs_why),
                (
                    np.abs(1.0 - pe_w) < EPS,
                    "chance agreement is 1 (both coders put every item in the same "
                    "single category), so kappa is 0/0",
                ),
            ],
        )
        out[name] = kappa

    # Scott (1955): chance agreement from the pooled marginals of both coders.
    pooled = (row + col) / 2
    pe = (pooled**2).sum(axis=1)
    pi = (po - pe) / (1.0 - pe)
    undefined.guard(
        "scott_pi",
        pi,
        [
            (no_pairs, no_pairs_why),
            (np.abs(1.0 - pe) < EPS, "chance agreement is 1 (a single category was used)"),
        ],
    )
    out["scott_pi"] = pi

    # Byrt, Bishop & Carlin (1993): PABAK = (q po - 1) / (q - 1) over the declared categories.
    pabak = (q * po - 1.0) / (q - 1.0) if q >= 2 else np.full(n_batch, np.nan)
    undefined.guard(
        "pabak",
        pabak,
        [(no_pairs, no_pairs_why), (np.full(n_batch, q < 2), "only one category is declared")],
    )
    out["pabak"] = pabak
    return out


def _fleiss_gwet(
    q: int, feats: _Features, sums: np.ndarray, undefined: _Undefined
) -> dict[str, np.ndarray]:
    n_batch = sums.shape[0]
    out: dict[str, np.ndarray] = {}
    n_has2, n_has1 = sums[:, feats.has2], sums[:, feats.has1]
    no_pairs = n_has2 <= 0
    no_pairs_why = "no item was rated by two or more coders"
    safe_has2 = np.where(no_pairs, 1.0, n_has2)
    # Gwet (2014) / irrCAC: pi_k = (1/n) sum_i r_ik / r_i over items with >= 1 rating.
    pi = sums[:, feats.pi] / np.where(n_has1 <= 0, 1.0, n_has1)[:, None]

    pa_plain = sums[:, feats.pa["none"]] / safe_has2
    out[MULTI_CODER_AGREEMENT] = np.where(no_pairs, np.nan, pa_plain)

    # Fleiss (1971) generalised as in irrCAC fleiss.kappa.raw: pe = sum_k pi_k^2.
    pe = (pi**2).sum(axis=1)
    kappa = (pa_plain - pe) / (1.0 - pe)
    undefined.guard(
        "fleiss_kappa",
        kappa,
        [
            (no_pairs, no_pairs_why),
            (np.abs(1.0 - pe) < EPS, "chance agreement is 1 (a single category was used)"),
        ],
    )
    out["fleiss_kappa"] = kappa

    # Gwet (2008; 2014 ch. 2-3) / irrCAC gwet.ac1.raw:
    # pe = T_w sum_k pi_k (1 - pi_k) / (q (q - 1)), T_w the sum of all weights.
    for name, kind in (
        ("gwet_ac1", "none"),
        ("gwet_ac2_linear", "linear"),
        ("gwet_ac2_quadratic", "quadratic"),
    ):
        pa = sums[:, feats.pa[kind]] / safe_has2
        if q >= 2:
            total_weight = rank_weights(q, kind).sum()
            pe = total_weight * (pi * (1.0 - pi)).sum(axis=1) / (q * (q - 1))
        else:
            pe = np.zeros(n_batch)
        ac = (pa - pe) / (1.0 - pe)
        undefined.guard(
            name,
            ac,
            [
                (no_pairs, no_pairs_why),
                (np.full(n_batch, q < 2), "only one category is declared"),
                (np.abs(1.0 - pe) < EPS, "chance agreement is 1"),
            ],
        )
        out[name] = ac
    return out


def _krippendorff(
    table: PatternTable, feats: _Features, sums: np.ndarray, undefined: _Undefined
) -> dict[str, np.ndarray]:
    q, n_batch = table.n_categories, sums.shape[0]
    out: dict[str, np.ndarray] = {}
    o = sums[:, feats.coincidence].reshape(n_batch, q, q)
    n_c = o.sum(axis=2)  # pairable values per category
    n = n_c.sum(axis=1)

    # Krippendorff (2011), metric differences delta^2_ck.
    nominal = 1.0 - np.eye(q)
    # Ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2, recomputed from each batch's n_g.
    low = np.minimum.outer(np.arange(q), np.arange(q))
    high = np.maximum.outer(np.arange(q), np.arange(q))
    cumulative = np.cumsum(n_c, axis=1)
    between = cumulative[:, high] - cumulative[:, low] + n_c[:, low]
    ordinal = (between - (n_c[:, :, None] + n_c[:, None, :]) / 2) ** 2
    metrics: list[tuple[str, np.ndarray, str | None]] = [
        ("krippendorff_alpha_nominal", nominal[None], None),
        ("krippendorff_alpha_ordinal", ordinal, None),
    ]
    metrics += _numeric_metrics(table.values, q)

    too_few = n < 2
    for name, delta, not_applicable in metrics:
        observed = (o * delta).sum(axis=(1, 2))
        expected = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2))
        # alpha = 1 - D_o / D_e = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck.
        alpha = 1.0 - (n - 1.0) * observed / expected
        checks = [
            (too_few, "no item has two or more ratings (no pairable values)"),
            (
                np.abs(expected) < EPS,
                "expected disagreement is 0 (all pairable ratings are in one category)",
            ),
        ]
        if not_applicable is not None:
            checks.insert(0, (np.ones(n_batch, bool), not_applicable))
        undefined.guard(name, alpha, checks)
        out[name] = alpha
    return out


def _numeric_metrics(
    values: tuple[float, ...] | None, q: int
) -> list[tuple[str, np.ndarray, str | None]]:
    """Interval and ratio delta^2 on the category values (Krippendorff 2011), or the reason
    they do not apply. A placeholder delta keeps the arithmetic shape-safe when they don't."""
    placeholder = (1.0 - np.eye(q))[None]
    if values is None:
        why = "the categories are not numbers, so interval and ratio differences are undefined"
        return [
            ("krippendorff_alpha_interval", placeholder, why),
            ("krippendorff_alpha_ratio", placeholder, why),
        ]
    v = np.asarray(values, dtype=float)
    interval = (v[:, None] - v[None, :]) ** 2
    metrics = [("krippendorff_alpha_interval", interval[None], None)]
    if (v < 0).any():
        why = "a category value is negative; the ratio metric needs a scale with a true zero"
        metrics.append(("krippendorff_alpha_ratio", placeholder, why))
        return metrics
    total = v[:, None] + v[None, :]
    # ((c - k) / (c + k))^2, and 0 for c = k = 0 (no difference).
    ratio = np.divide(v[:, None] - v[None, :], total, out=np.zeros((q, q)), where=total > 0) ** 2
    metrics.append(("krippendorff_alpha_ratio", ratio[None], None))
    return metrics

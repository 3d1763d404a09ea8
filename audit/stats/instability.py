"""Configuration-conditional rank instability (SafetyRepro, arXiv 2605.25492).

Pure numpy/scipy (no Django). Input is evaluation results produced elsewhere, one row per
(config, model, benchmark, score), higher is better. Per benchmark and model pair (a, b),
a configuration's verdict is sign(score_a - score_b) in {+1, 0, -1}. Definitions:

- disagreement rate: among the configurations where both models have a score, the
  fraction of unordered configuration pairs whose verdicts differ. A tie (0) differs from
  a win (+1) and from a loss (-1): "A is safer than B" and "A and B are level" are
  different claims. None when the models share fewer than two configurations.
- strict reversal: one configuration says a > b and another says b > a. The witness is
  [first configuration (natural order) saying a > b, first saying b > a].
- rank-flip rate: pairs with a strict reversal / pairs sharing at least two
  configurations (pairs sharing fewer cannot reverse, so they are left out of the
  denominator); None when no pair shares two configurations.
- rank envelope: each model's [best, worst] rank over the configurations where it has a
  score, ranked among the models present in that configuration (1 = best; ties share the
  best rank, "min" ranking).
- Kendall's tau-b (Kendall 1945, via scipy.stats.kendalltau) between every pair of
  configurations over the models scored in both; None below two common models or when a
  configuration's scores are all tied. The p-value is exact (the permutation distribution
  of tau) when there are no ties and fewer than 50 models, as R's cor.test does (Hollander
  & Wolfe 1973, sec. 8.1); otherwise the normal approximation with the tie-corrected
  variance. scipy's default switches to the approximation from 34 on, which can
  overstate a small p several-fold (n = 40: 4.4e-6 instead of 1.6e-6).
Scores are compared exactly (no tolerance): equal floats are a tie.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, TextIO

import numpy as np

from audit.stats.anova import natural_key, read_csv_records

RANK_COLUMNS = ("config", "model", "benchmark", "score")


@dataclass(frozen=True)
class ScoreRow:
    """One model's score on one benchmark under one harness configuration."""

    config: str
    model: str
    benchmark: str
    score: float


def coerce_score_row(row: ScoreRow | Mapping[str, Any] | Sequence[Any]) -> ScoreRow:
    """Validate a dict, tuple (config, model, benchmark, score) or ScoreRow; ValueError if bad."""
    if isinstance(row, ScoreRow):
        return row
    if isinstance(row, Mapping):
        values = [row.get(name) for name in RANK_COLUMNS]
    else:
        values = list(row)
        if len(values) != len(RANK_COLUMNS):
            raise ValueError(f"expected {len(RANK_COLUMNS)} fields, got {len(values)}")
    labels = []
    for name, value in zip(RANK_COLUMNS[:3], values[:3], strict=True):
        text = "" if value is None else str(value).strip()
        if not text:
            raise ValueError(f"missing {name}")
        labels.append(text)
    raw = values[3]
    if raw is None or isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip()):
        raise ValueError(f"score {raw!r} is not a number")
    try:
        score = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        raise ValueError(f"score {raw!r} is not a number")
    if not math.isfinite(score):
        raise ValueError(f"score {raw!r} is not a finite number")
    return ScoreRow(*labels, score)


def read_rank_csv(stream: TextIO) -> list[ScoreRow]:
    """Parse `config,model,benchmark,score`; ValueError names the line (duplicates too)."""
    rows, seen = [], {}
    for line, record in read_csv_records(stream, RANK_COLUMNS):
        try:
            row = coerce_score_row(record)
        except ValueError as exc:
            raise ValueError(f"line {line}: {exc}")
        key = (row.config, row.model, row.benchmark)
        if key in seen:
            raise ValueError(
                f"line {line}: duplicate row for config {row.config!r}, model {row.model!r}, "
                f"benchmark {row.benchmark!r} (first on line {seen[key]})"
            )
        seen[key] = line
        rows.append(row)
    if not rows:
        raise ValueError("no data rows after the header")
    return rows


@dataclass
class PairResult:
    """Verdict stability of one model pair (a before b in natural order) on one benchmark."""

    a: str
    b: str
    n_shared: int
    disagreement_rate: float | None
    strict_reversal: bool
    witness: list[str] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "disagreement_rate": self.disagreement_rate,
            "strict_reversal": self.strict_reversal,
            "witness": self.witness,
            "n_shared_configs": self.n_shared,
        }


def compare_pair(
    a: str, b: str, table: Mapping[str, Mapping[str, float]], configs: Sequence[str]
) -> PairResult:
    """Disagreement rate and strict reversal of a vs b over `configs` (in witness order).

    `table` maps config -> {model: score}. Agreeing configuration pairs are counted as
    sum over verdicts v of C(c_v, 2), where c_v configurations give verdict v.
    """
    verdicts = [
        (config, int(np.sign(table[config][a] - table[config][b])))
        for config in configs
        if a in table[config] and b in table[config]
    ]
    shared = len(verdicts)
    if shared < 2:
        return PairResult(a, b, shared, None, False, None)
    counts = Counter(v for _, v in verdicts)
    agreeing = sum(c * (c - 1) // 2 for c in counts.values())
    total_pairs = shared * (shared - 1) // 2
    rate = 1.0 - agreeing / total_pairs
    a_wins = next((c for c, v in verdicts if v > 0), None)
    b_wins = next((c for c, v in verdicts if v < 0), None)
    reversal = a_wins is not None and b_wins is not None
    return PairResult(a, b, shared, rate, reversal, [a_wins, b_wins] if reversal else None)


def ranks_by_config(table: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, int]]:
    """Rank the models present in each configuration: 1 = best, ties share the best rank."""
    from scipy.stats import rankdata  # heavy: loaded only when an analysis runs

    ranks = {}
    for config, scores in table.items():
        models = list(scores)
        ranked = rankdata([-scores[m] for m in models], method="min")
        ranks[config] = {m: int(r) for m, r in zip(models, ranked, strict=True)}
    return ranks


# R's cor.test(method = "kendall") computes the exact p-value below this many pairs.
KENDALL_EXACT_BELOW = 50


def kendall_method(x: Sequence[float], y: Sequence[float]) -> str:
    """scipy's kendalltau method that gives R's cor.test p-value: exact without ties, n < 50."""
    no_ties = len(set(x)) == len(x) and len(set(y)) == len(y)
    return "exact" if no_ties and len(x) < KENDALL_EXACT_BELOW else "asymptotic"


def kendall_between_configs(
    table: Mapping[str, Mapping[str, float]], configs: Sequence[str]
) -> list[dict[str, Any]]:
    """Kendall's tau-b between every pair of configurations over their common models."""
    from scipy import stats  # heavy: loaded only when an analysis runs

    out = []
    for config_a, config_b in combinations(configs, 2):
        common = sorted(set(table[config_a]) & set(table[config_b]), key=natural_key)
        tau = p = None
        if len(common) >= 2:
            x = [table[config_a][m] for m in common]
            y = [table[config_b][m] for m in common]
            # Constant input makes tau undefined; scipy warns and returns NaN.
            if len(set(x)) > 1 and len(set(y)) > 1:
                result = stats.kendalltau(x, y, method=kendall_method(x, y))
                tau = _clean(result.statistic)
                p = _clean(result.pvalue)
        out.append(
            {"config_a": config_a, "config_b": config_b, "tau": tau, "p": p, "n": len(common)}
        )
    return out


def _clean(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def benchmark_instability(table: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """All instability statistics for one benchmark; `table` maps config -> {model: score}.

    Returns the contract keys (n_configs, n_models, pairs, mean_disagreement_rate,
    rank_flip_rate, rank_envelope) plus "configs", "models", "ranks" ({config: {model:
    rank}}, for the configuration x model rank chart) and "kendall_tau" ([{config_a,
    config_b, tau, p, n}]).
    """
    configs = sorted(table, key=natural_key)
    models = sorted({m for scores in table.values() for m in scores}, key=natural_key)
    pairs = [compare_pair(a, b, table, configs) for a, b in combinations(models, 2)]
    rates = [p.disagreement_rate for p in pairs if p.disagreement_rate is not None]
    comparable = [p for p in pairs if p.n_shared >= 2]
    ranks = ranks_by_config(table)
    envelope = {}
    for model in models:
        seen = [ranks[c][model] for c in configs if model in ranks[c]]
        envelope[model] = [min(seen), max(seen)]
    return {
        "n_configs": len(configs),
        "n_models": len(models),
        "pairs": [p.as_dict() for p in pairs],
        "mean_disagreement_rate": float(np.mean(rates)) if rates else None,
        "rank_flip_rate": (
            sum(p.strict_reversal for p in comparable) / len(comparable) if comparable else None
        ),
        "rank_envelope": envelope,
        "configs": configs,
        "models": models,
        "ranks": {c: {m: ranks[c][m] for m in models if m in ranks[c]} for c in configs},
        "kendall_tau": kendall_between_configs(table, configs),
    }


def rank_instability(
    rows: Iterable[ScoreRow | Mapping[str, Any] | Sequence[Any]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Rank instability per benchmark, in the `rank_instability` CLI shape.

    {"benchmarks": {name: benchmark_instability(...)}} with benchmarks in natural order.
    Raises ValueError on an invalid row or a duplicate (config, model, benchmark).
    """
    tables: dict[str, dict[str, dict[str, float]]] = {}
    for raw in rows:
        row = coerce_score_row(raw)
        scores = tables.setdefault(row.benchmark, {}).setdefault(row.config, {})
        if row.model in scores:
            raise ValueError(
                f"duplicate row for config {row.config!r}, model {row.model!r}, "
                f"benchmark {row.benchmark!r}"
            )
        scores[row.model] = row.score
    return {
        "benchmarks": {
            name: benchmark_instability(tables[name]) for name in sorted(tables, key=natural_key)
        }
    }

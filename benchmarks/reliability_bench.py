"""G study and Bradley-Terry benchmark (issue 19, item 4).

G study: 100,000 scores (50,000 items x 2 of 50 coders), REML variance components with
audit.stats.gtheory. Target <= 2 s. Baseline, same run: statsmodels' MixedLM with crossed
variance components (item, coder) on the same model. MixedLM builds dense per-group
matrices, so it is timed on a 1,000-item subset of the same data (ours too, for the
ratio), and on the full data in a subprocess capped at --cap seconds.

Bradley-Terry: 50 players x 100,000 comparisons, fit <= 1 s and 1,000 bootstrap draws
<= 10 s. Baseline, same run: statsmodels' binomial GLM (IRLS) on the aggregated contests.

Exits 1 if a target is missed. Standalone: numpy, scipy, statsmodels; no Django.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from audit.stats.bradley_terry import Comparison, fit  # noqa: E402
from audit.stats.gtheory import GScore, one_facet  # noqa: E402

SEED = 20261206


def g_data(n_items: int, n_coders: int = 50) -> list[GScore]:
    rng = np.random.default_rng(SEED)
    items = np.repeat(np.arange(n_items), 2)
    first = rng.integers(0, n_coders, n_items)
    second = (first + rng.integers(1, n_coders, n_items)) % n_coders
    coders = np.stack([first, second], axis=1).reshape(-1)
    scores = (rng.normal(0, 1.0, n_items)[items] + rng.normal(0, 0.5, n_coders)[coders]
              + rng.normal(0, 1.0, 2 * n_items))  # fmt: skip
    return [GScore(f"i{i}", f"c{c}", "_all", float(s))
            for i, c, s in zip(items, coders, scores, strict=True)]  # fmt: skip


def statsmodels_g(rows: list[GScore]) -> dict[str, float]:
    import pandas as pd
    import statsmodels.formula.api as smf

    frame = pd.DataFrame({"y": [r.score for r in rows], "item": [r.item for r in rows],
                          "coder": [r.coder for r in rows], "g": 1})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smf.mixedlm(
            "y ~ 1",
            frame,
            groups="g",
            re_formula="0",
            vc_formula={"item": "0 + C(item)", "coder": "0 + C(coder)"},
        )
        result = model.fit(reml=True, method=["lbfgs"])  # fmt: skip
    return dict(zip(model.exog_vc.names, result.vcomp, strict=True))


def timed(fn, *args):  # noqa: ANN001, ANN202
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def g_benchmark(cap: float) -> bool:
    full = g_data(50_000)
    t_ours, out = timed(one_facet, full)
    comp = out["variance_components"]
    print(f"G study, 100,000 scores: {t_ours:.2f} s (target <= 2 s); components "
          + ", ".join(f"{k} {v:.4f}" for k, v in comp.items()))  # fmt: skip
    subset = g_data(1_000)
    t_small, small = timed(one_facet, subset)
    t_sm, sm = timed(statsmodels_g, subset)
    print(f"  2,000-score subset: AlignWeb {t_small:.3f} s, statsmodels MixedLM {t_sm:.2f} s "
          f"({t_sm / t_small:.0f}x); item {small['variance_components']['item']:.5f} vs "
          f"{sm['item']:.5f}")  # fmt: skip
    script = (
        "import sys; sys.path.insert(0, '.'); from benchmarks.reliability_bench import *; "
        "statsmodels_g(g_data(50_000))"
    )
    start = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-c", script], timeout=cap, capture_output=True,
                       cwd=Path(__file__).resolve().parents[1])  # fmt: skip
        print(f"  statsmodels on the full data: {time.perf_counter() - start:.1f} s")
    except subprocess.TimeoutExpired:
        print(f"  statsmodels on the full data: not finished after {cap:.0f} s (> "
              f"{cap / t_ours:.0f}x AlignWeb)")  # fmt: skip
    return t_ours <= 2.0 and t_small < t_sm


def bt_data() -> list[Comparison]:
    rng = np.random.default_rng(SEED)
    players = 50
    strength = rng.normal(0, 1, players)
    a = rng.integers(0, players, 100_000)
    b = (a + rng.integers(1, players, 100_000)) % players
    a_wins = rng.random(100_000) < 1 / (1 + np.exp(strength[b] - strength[a]))
    return [Comparison(f"p{x}", f"p{y}") if w else Comparison(f"p{y}", f"p{x}")
            for x, y, w in zip(a, b, a_wins, strict=True)]  # fmt: skip


def statsmodels_bt(comparisons: list[Comparison]) -> np.ndarray:
    import statsmodels.api as sm

    players = sorted({c.winner for c in comparisons} | {c.loser for c in comparisons})
    index = {p: i for i, p in enumerate(players)}
    wins = np.zeros((len(players), len(players)))
    for c in comparisons:
        wins[index[c.winner], index[c.loser]] += 1
    rows, outcome = [], []
    for i in range(len(players)):
        for j in range(i + 1, len(players)):
            if wins[i, j] + wins[j, i]:
                x = np.zeros(len(players))
                x[i], x[j] = 1, -1
                rows.append(x[1:])
                outcome.append((wins[i, j], wins[j, i]))
    result = sm.GLM(np.array(outcome), np.array(rows), family=sm.families.Binomial()).fit()
    return result.params


def bt_benchmark() -> bool:
    data = bt_data()
    t_fit, result = timed(fit, data)
    t_glm, _ = timed(statsmodels_bt, data)
    print(f"Bradley-Terry, 50 players x 100,000 comparisons: fit {t_fit:.3f} s (target <= 1 s); "
          f"statsmodels GLM {t_glm:.3f} s ({t_glm / t_fit:.1f}x)")  # fmt: skip
    t_boot, boot = timed(fit, data, 1000, 1)
    print(f"  with 1,000 bootstrap draws: {t_boot:.2f} s (target <= 10 s); converged "
          f"{result.converged}, ci for {len(boot.ci or {})} players")  # fmt: skip
    return t_fit <= 1.0 and t_boot <= 10.0 and result.converged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=30.0, help="statsmodels full-data cap (s)")
    args = parser.parse_args()
    ok_g = g_benchmark(args.cap)
    ok_bt = bt_benchmark()
    print("targets met" if ok_g and ok_bt else "TARGET MISSED")
    return 0 if ok_g and ok_bt else 1


if __name__ == "__main__":
    sys.exit(main())

"""Bradley-Terry rankings with bootstrap intervals and rank flips (pure numpy/scipy).

Model (Bradley & Terry 1952; Agresti 2002, sec. 10.6): P(i beats j) = 1 / (1 + exp(theta_j -
theta_i)). Log-abilities are fitted by maximum likelihood with Newton-Raphson on the
aggregated win matrix (the log-likelihood is concave; Hunter 2004, "MM algorithms for
generalized Bradley-Terry models", Ann. Statist. 32), and normalised to sum to zero.

The MLE exists iff the directed "beats" graph is strongly connected (Zermelo 1929; Ford
1957, condition as stated by Hunter 2004, Assumption 1): otherwise a player who never
wins or never loses has an ability of -inf/+inf, or two groups are on unrelated scales.
Then the fit reports converged = false with the reason and no numbers.

Standard errors: the observed information I is singular along the all-ones direction; for
the sum-to-zero parameterisation the covariance is its Moore-Penrose inverse.

Checked against Turner & Firth (2012), "Bradley-Terry models in R: the BradleyTerry2
package", J. Stat. Softw. 48(9), citation example (Stigler 1994 data, Agresti 2002 p.448):
abilities relative to Biometrika Comm Statist -2.9491, JASA -0.4796, JRSS-B 0.2689.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, TextIO

import numpy as np

from audit.stats.anova import natural_key, read_csv_records

BT_COLUMNS = ("winner", "loser")
MAX_COUNT = 10**9
MAX_BOOTSTRAP = 100_000
MAX_SKIPPED_SHARE = 0.0125


@dataclass(frozen=True)
class Comparison:
    winner: str
    loser: str
    count: int = 1
    configuration: str | None = None


def read_bt_csv(stream: TextIO) -> list[Comparison]:
    """Parse `winner,loser[,count][,configuration]`; ValueError names the line."""
    rows = []
    for line, record in read_csv_records(stream, BT_COLUMNS):
        winner = (record.get("winner") or "").strip()
        loser = (record.get("loser") or "").strip()
        if not winner or not loser:
            raise ValueError(f"line {line}: missing {'winner' if not winner else 'loser'}")
        if winner == loser:
            raise ValueError(f"line {line}: {winner!r} cannot be compared with itself")
        count = 1
        if "count" in record:
            raw = (record.get("count") or "").strip()
            if not raw.isdecimal() or len(raw) > 10 or not 1 <= int(raw) <= MAX_COUNT:
                raise ValueError(
                    f"line {line}: count {raw!r} is not a whole number from 1 to {MAX_COUNT:,}"
                )
            count = int(raw)
        configuration = None
        if "configuration" in record:
            configuration = (record.get("configuration") or "").strip()
            if not configuration:
                raise ValueError(f"line {line}: missing configuration")
        rows.append(Comparison(winner, loser, count, configuration))
    if not rows:
        raise ValueError("no data rows after the header")
    return rows


@dataclass
class BTFit:
    players: list[str]
    n_comparisons: int
    log_strength: dict[str, float] | None
    se: dict[str, float] | None
    ci: dict[str, list[float]] | None
    rank: list[str] | None
    log_likelihood: float | None
    converged: bool
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "players": self.players,
            "n_comparisons": self.n_comparisons,
            "log_strength": self.log_strength,
            "se": self.se,
            "ci": self.ci,
            "rank": self.rank,
            "log_likelihood": self.log_likelihood,
            "converged": self.converged,
            "note": self.note,
        }


def win_matrix(comparisons: Iterable[Comparison], players: Sequence[str]) -> np.ndarray:
    """W[i, j] = weighted number of times player i beat player j."""
    index = {p: i for i, p in enumerate(players)}
    wins = np.zeros((len(players), len(players)))
    for c in comparisons:
        wins[index[c.winner], index[c.loser]] += c.count
    return wins


def existence_problem(wins: np.ndarray, players: Sequence[str]) -> str | None:
    """Why the MLE does not exist, or None when the beats-graph is strongly connected."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    if len(players) < 2:
        return "fewer than two players"
    n_weak, _ = connected_components(csr_matrix(wins), directed=True, connection="weak")
    if n_weak > 1:
        return (
            f"the comparison graph is not connected ({n_weak} separate groups): their "
            "abilities are on unrelated scales"
        )
    never_won = [p for p, w in zip(players, wins.sum(axis=1), strict=True) if w == 0]
    never_lost = [p for p, w in zip(players, wins.sum(axis=0), strict=True) if w == 0]
    if never_won:
        return f"{', '.join(never_won)} never won a comparison (ability -infinity)"
    if never_lost:
        return f"{', '.join(never_lost)} never lost a comparison (ability +infinity)"
    n_strong, _ = connected_components(csr_matrix(wins), directed=True, connection="strong")
    if n_strong > 1:
        return (
            "some group of players never lost to the rest (the beats-graph is not strongly "
            "connected), so the maximum-likelihood estimate does not exist"
        )
    return None


def _strongly_connected(wins: np.ndarray) -> bool:
    """Every player reaches every other along "beats" edges (forward and backward search
    from player 0 with boolean matrix steps: cheap enough for every bootstrap draw)."""
    adjacency = wins > 0
    for graph in (adjacency, adjacency.T):
        seen = np.zeros(len(wins), dtype=bool)
        seen[0] = True
        while True:
            grown = seen | graph[seen].any(axis=0)
            if grown.sum() == seen.sum():
                break
            seen = grown
        if not seen.all():
            return False
    return True


def _loglik(wins: np.ndarray, theta: np.ndarray) -> float:
    return float(-(wins * np.logaddexp(0.0, theta[None, :] - theta[:, None])).sum())


def _newton(
    wins: np.ndarray, start: np.ndarray | None = None, max_iter: int = 100
) -> tuple[np.ndarray, bool]:
    """Sum-to-zero MLE by Newton-Raphson; (theta, converged).

    The log-likelihood is concave, so a full Newton step is kept whenever the gradient
    shrinks; otherwise the step is halved until the log-likelihood rises (safeguard for
    starts far from the optimum).
    """
    p = wins.shape[0]
    games = wins + wins.T
    won = wins.sum(axis=1)
    theta = np.zeros(p) if start is None else start - start.mean()
    tol = 1e-10 * max(float(games.sum()), 1.0)
    centre = np.ones((p, p)) / p  # fixes the sum: the information is singular along ones

    def gradient(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        prob = 1.0 / (1.0 + np.exp(t[None, :] - t[:, None]))
        return won - (games * prob).sum(axis=1), prob

    grad, prob = gradient(theta)
    for _ in range(max_iter):
        norm = float(np.max(np.abs(grad)))
        if norm < tol:
            return theta, True
        info = games * prob * (1.0 - prob)
        info = np.diag(info.sum(axis=1)) - info
        step = np.linalg.solve(info + centre, grad)
        trial = theta + step
        trial_grad, trial_prob = gradient(trial)
        if float(np.max(np.abs(trial_grad))) >= norm:
            current, size = _loglik(wins, theta), 0.5
            while size > 1e-8:
                trial = theta + size * step
                if _loglik(wins, trial) > current:
                    break
                size /= 2
            else:
                return theta, False
            trial_grad, trial_prob = gradient(trial)
        theta, grad, prob = trial - trial.mean(), trial_grad, trial_prob
    return theta, bool(np.max(np.abs(grad)) < 1e3 * tol)


def _standard_errors(wins: np.ndarray, theta: np.ndarray) -> np.ndarray:
    games = wins + wins.T
    prob = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))
    info = games * prob * (1.0 - prob)
    info = np.diag(info.sum(axis=1)) - info
    return np.sqrt(np.clip(np.diag(np.linalg.pinv(info)), 0.0, None))


def fit(comparisons: Sequence[Comparison], bootstrap: int = 0, seed: int | None = None) -> BTFit:
    """Maximum-likelihood Bradley-Terry fit; percentile bootstrap CIs over comparisons."""
    players = sorted({c.winner for c in comparisons} | {c.loser for c in comparisons},
                     key=natural_key)  # fmt: skip
    wins = win_matrix(comparisons, players)
    total = int(wins.sum())
    problem = existence_problem(wins, players)
    if problem is not None:
        return BTFit(players, total, None, None, None, None, None, False, problem)
    theta, converged = _newton(wins)
    if not converged:
        return BTFit(players, total, None, None, None, None, None, False,
                     "Newton-Raphson did not converge")  # fmt: skip
    se = _standard_errors(wins, theta)
    loglik = _loglik(wins, theta)
    order = sorted(range(len(players)), key=lambda i: (-theta[i], natural_key(players[i])))
    ci, note = None, None
    if bootstrap:
        ci, note = _bootstrap(wins, players, bootstrap, seed, theta)
    return BTFit(
        players=players,
        n_comparisons=total,
        log_strength={p: float(t) for p, t in zip(players, theta, strict=True)},
        se={p: float(s) for p, s in zip(players, se, strict=True)},
        ci=ci,
        rank=[players[i] for i in order],
        log_likelihood=loglik,
        converged=True,
        note=note,
    )


def _bootstrap(
    wins: np.ndarray, players: Sequence[str], draws: int, seed: int | None, start: np.ndarray
) -> tuple[dict[str, list[float]] | None, str | None]:
    """Resample the individual comparisons with replacement (a multinomial over the cells
    of the win matrix); percentile 95% intervals. Draws whose MLE does not exist (a
    resample in which someone never wins) are left out and counted in the note."""
    rng = np.random.default_rng(seed)
    flat = wins.reshape(-1)
    total = int(flat.sum())
    probs = flat / total
    samples, skipped = [], 0
    for _ in range(draws):
        resampled = rng.multinomial(total, probs).reshape(wins.shape).astype(float)
        if not _strongly_connected(resampled):
            skipped += 1
            continue
        theta, ok = _newton(resampled, start)
        if not ok:
            skipped += 1
            continue
        samples.append(theta)
    note = None
    if skipped:
        note = (
            f"{skipped} of {draws} bootstrap draws had no maximum-likelihood estimate "
            "(a player never won or never lost in the resample)"
        )
    # A draw without an MLE stands for an infinite ability: leaving it out would cut the
    # tail of the interval where it matters. Above half the 2.5% tail, no interval is given.
    if skipped > MAX_SKIPPED_SHARE * draws:
        return None, f"{note}, so no interval is given (it would be biased)"
    if note:
        note += " and were left out"
    if len(samples) < 2:
        return None, (note or "") + "; too few usable bootstrap draws for an interval"
    stacked = np.vstack(samples)
    lo, hi = np.percentile(stacked, [2.5, 97.5], axis=0)
    return {p: [float(a), float(b)] for p, a, b in zip(players, lo, hi, strict=True)}, note


def rank_flips(by_configuration: dict[str, BTFit]) -> list[dict[str, Any]]:
    """Pairs of players whose order differs between configurations (converged fits)."""
    above: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for label in sorted(by_configuration, key=natural_key):
        result = by_configuration[label]
        if not result.converged or result.log_strength is None:
            continue
        strength = result.log_strength
        for a, b in combinations(sorted(strength, key=natural_key), 2):
            if strength[a] > strength[b]:
                above[(a, b)][0].append(label)
            elif strength[b] > strength[a]:
                above[(a, b)][1].append(label)
    flips = []
    for (a, b), (a_above, b_above) in sorted(
        above.items(), key=lambda kv: (natural_key(kv[0][0]), natural_key(kv[0][1]))
    ):
        if a_above and b_above:
            flips.append({"a": a, "b": b, "a_above_b": a_above, "b_above_a": b_above})
    return flips


def bradley_terry(
    comparisons: Sequence[Comparison], bootstrap: int = 0, seed: int | None = None
) -> dict[str, Any]:
    """The `bradley_terry` command's JSON: overall, per configuration, rank flips."""
    if not 0 <= bootstrap <= MAX_BOOTSTRAP:
        raise ValueError(f"--bootstrap must be from 0 to {MAX_BOOTSTRAP:,}")
    overall = fit(comparisons, bootstrap, seed)
    groups: dict[str, list[Comparison]] = defaultdict(list)
    for c in comparisons:
        if c.configuration is not None:
            groups[c.configuration].append(c)
    by_configuration = {
        label: fit(groups[label], bootstrap, seed) for label in sorted(groups, key=natural_key)
    }
    return {
        "overall": overall.as_dict(),
        "by_configuration": {label: f.as_dict() for label, f in by_configuration.items()},
        "rank_flips": rank_flips(by_configuration),
    }


def comparisons_from_scores(
    rows: Iterable[tuple[str, str, str, float]],
) -> list[Comparison]:
    """Derive pairwise outcomes from per-configuration scores: within each (configuration,
    task) the higher-scoring model beats the lower one; equal scores give no comparison
    (ties carry no Bradley-Terry information without a tie model)."""
    grouped: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for config, model, task, score in rows:
        if not math.isfinite(score):
            raise ValueError(f"score {score!r} is not a finite number")
        grouped[(config, task)][model] = score
    out = []
    for (config, _task), scores in grouped.items():
        for a, b in combinations(sorted(scores, key=natural_key), 2):
            if scores[a] > scores[b]:
                out.append(Comparison(a, b, 1, config))
            elif scores[b] > scores[a]:
                out.append(Comparison(b, a, 1, config))
    return out

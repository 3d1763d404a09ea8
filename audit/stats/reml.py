"""REML variance components for crossed random-intercept models on sparse designs.

Pure numpy/scipy (no Django). The model is

    y = mu + sum_r Z_r u_r + e,   u_r ~ N(0, s_r^2 I),   e ~ N(0, s^2 I),

the model of ``lme4::lmer(y ~ 1 + (1|f1) + (1|f2) + ..., REML = TRUE)``. Like lme4 (Bates
et al. 2015, "Fitting Linear Mixed-Effects Models Using lme4", J. Stat. Softw. 67(1),
section 3.4) we optimise the REML criterion profiled over the residual variance, as a
function of the relative standard deviations theta_r = s_r / s >= 0; a component at the
boundary is exactly 0.

Dual coding makes the design sparse: each item is scored by k of N coders. The factors
split in two kinds, and that is what keeps the cost linear in the number of scores:

- factors nested in a block (the item, item:coder, item:dimension): H = V / s^2 restricted
  to them is block diagonal with one small dense block per item, inverted in batches;
- crossed factors with few levels (coder, dimension, coder:dimension) enter through the
  Woodbury identity, so only a (levels x levels) matrix is ever factorised.

With A = I + sum_nested theta_r^2 Z_r Z_r' (block diagonal), Zc the crossed indicators
and L = diag(theta of each crossed column):

    H^-1 = A^-1 - A^-1 Zc L M^-1 L Zc' A^-1,    M = I + L Zc' A^-1 Zc L,
    log|H| = log|A| + log|M|,

and the profiled REML deviance (Bates et al. 2015, eq. 42, with p fixed effects) is

    d(theta) = log|H| + log|X' H^-1 X| + (n - p) (1 + log(2 pi r'H^-1 r / (n - p))).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Factor:
    """A random intercept: integer level codes per observation (0..levels-1)."""

    name: str
    codes: np.ndarray
    nested: bool  # every level lies inside one block (item)


@dataclass
class RemlFit:
    components: dict[str, float]  # factor name -> variance; "residual" too
    deviance: float
    intercept: float
    converged: bool
    iterations: int
    notes: list[str] = field(default_factory=list)


class _Design:
    """Everything about the design that does not depend on theta, computed once."""

    def __init__(self, y: np.ndarray, blocks: np.ndarray, factors: Sequence[Factor]) -> None:
        from scipy import sparse

        n = len(y)
        sizes = np.bincount(blocks)
        # Order observations by (block size, block) so blocks of one size are contiguous and
        # the block-diagonal CSR pattern is just their dense blocks one after another.
        order = np.lexsort((blocks, sizes[blocks]))
        self.n = n
        self.y = y[order]
        blocks = blocks[order]
        self.nested = [f for f in factors if f.nested]
        self.crossed = [f for f in factors if not f.nested]
        nested_codes = [f.codes[order] for f in self.nested]
        self.XY = np.stack([np.ones(n), self.y], axis=1)
        offsets, cols_list = 0, []
        self.crossed_slices = []
        for f in self.crossed:
            levels = int(f.codes.max()) + 1 if n else 0
            cols_list.append(f.codes[order] + offsets)
            self.crossed_slices.append(slice(offsets, offsets + levels))
            offsets += levels
        self.qc = offsets
        self.Zc = None
        if self.crossed:
            rows = np.repeat(np.arange(n), len(self.crossed))
            cols = np.stack(cols_list, axis=1).reshape(-1)
            self.Zc = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, self.qc))
        self.spectral = self._spectral_structure(blocks, sizes, nested_codes)
        if self.spectral is None:
            self._build_blocks(sizes, nested_codes)

    def _spectral_structure(
        self, blocks: np.ndarray, sizes: np.ndarray, nested_codes: list[np.ndarray]
    ) -> dict | None:
        """Closed-form A^-1 when the nested factors are the block itself, optionally with
        two factors that form a complete grid inside every block (item:coder x
        item:dimension when each coder of an item scored every dimension).

        A block's covariance I + t0^2 J + t1^2 (I (x) J) + t2^2 (J (x) I) then has four
        eigenspaces (constant, constant along rows, constant along columns, the rest), so
        A^-1 = I + w1 M1 + w2 M2 + w0 M0 with M the within-cell averaging operators.
        """
        from scipy import sparse

        n_blocks = len(sizes)

        def one_per_block(codes: np.ndarray) -> bool:
            pairs = np.unique(np.stack([blocks, codes]), axis=1)
            return pairs.shape[1] == n_blocks == len(np.unique(codes))

        kinds = [one_per_block(c) for c in nested_codes]
        if kinds.count(True) != 1 or len(nested_codes) not in (1, 3):
            return None
        block_pos = kinds.index(True)
        others = [i for i in range(len(nested_codes)) if i != block_pos]
        n1, n2 = sizes.astype(float), np.ones(n_blocks)  # one-facet: the block is one cell
        if others:
            c1, c2 = (nested_codes[i] for i in others)
            lv1 = np.unique(np.stack([blocks, c1]), axis=1)[0]
            lv2 = np.unique(np.stack([blocks, c2]), axis=1)[0]
            n1 = np.bincount(lv1, minlength=n_blocks).astype(float)
            n2 = np.bincount(lv2, minlength=n_blocks).astype(float)
            cells = np.unique(np.stack([blocks, c1, c2]), axis=1).shape[1]
            if cells != self.n or not np.array_equal(n1 * n2, sizes.astype(float)):
                return None
        # Blocks of one shape (n1, n2) share their weights, so each term's quadratic forms
        # are precomputed per shape and an evaluation only adds a few dense matrices.
        shapes, shape_of_block = np.unique(np.stack([n1, n2], axis=1), axis=0, return_inverse=True)
        shape_of_block = shape_of_block.reshape(-1)
        if len(shapes) > 64:
            return None
        ones = np.ones(self.n)
        obs = np.arange(self.n)
        zc = self.Zc if self.Zc is not None else sparse.csr_matrix((self.n, 0))

        def term(codes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
            levels, inverse = np.unique(codes, return_inverse=True)
            smat = sparse.csr_matrix((ones, (inverse, obs)), shape=(len(levels), self.n))
            cell_shape = np.zeros(len(levels), dtype=np.int64)
            cell_shape[inverse] = shape_of_block[blocks]
            sxy, sz = smat @ self.XY, (smat @ zc).tocsr()
            per_shape = []
            for shape in range(len(shapes)):
                rows = np.flatnonzero(cell_shape == shape)
                sub_xy, sub_z = sxy[rows], sz[rows]
                per_shape.append(
                    (sub_xy.T @ sub_xy, (sub_z.T @ sub_xy), (sub_z.T @ sub_z).toarray())
                )
            return per_shape

        return {
            "shapes": shapes,
            "count": np.bincount(shape_of_block, minlength=len(shapes)).astype(float),
            "pos": [block_pos, *others],
            "terms": [term(nested_codes[i]) for i in [block_pos, *others]],
            "xx": self.XY.T @ self.XY,
            "zx": zc.T @ self.XY,
            "zz": (zc.T @ zc).toarray(),
        }

    def _build_blocks(self, sizes: np.ndarray, nested_codes: list[np.ndarray]) -> None:
        """Dense per-block indicator structure for designs with several nested factors."""
        self.groups: list[tuple[int, int, list[np.ndarray]]] = []  # (m, s, same-level E_r)
        indices, row_len, start = [], [], 0
        for s in np.unique(sizes[sizes > 0]):
            m = int((sizes == s).sum())
            rows = np.arange(start, start + m * s).reshape(m, s)
            same = [(c[rows][:, :, None] == c[rows][:, None, :]).astype(float)
                    for c in nested_codes]  # fmt: skip
            self.groups.append((m, int(s), same))
            # CSR pattern of blockdiag(A_b^-1): each row of a block lists the block's columns
            # in order, so the data is each group's (m, s, s) array raveled.
            indices.append(np.repeat(rows[:, None, :], s, axis=1).reshape(-1))
            row_len.append(np.full(m * s, s))
            start += m * s
        self.indices = np.concatenate(indices)
        self.indptr = np.concatenate([[0], np.cumsum(np.concatenate(row_len))])

    def _nested_grams(self, theta_nested: np.ndarray):
        """log|A| and the quadratic forms [1 y]'A^-1[1 y], Zc'A^-1[1 y], Zc'A^-1 Zc."""
        if self.spectral is not None:
            return self._spectral_grams(theta_nested)
        from scipy import sparse

        data, logdet = [], 0.0
        for m, s, same in self.groups:
            a = np.broadcast_to(np.eye(s), (m, s, s)).copy()
            for t, e in zip(theta_nested, same, strict=True):
                a += (t * t) * e
            logdet += float(np.linalg.slogdet(a)[1].sum())
            data.append(np.linalg.inv(a).reshape(-1))
        b = sparse.csr_matrix((np.concatenate(data), self.indices, self.indptr), (self.n, self.n))
        bxy = b @ self.XY
        if self.Zc is None:
            return logdet, self.XY.T @ bxy, None, None
        return logdet, self.XY.T @ bxy, self.Zc.T @ bxy, (self.Zc.T @ (b @ self.Zc)).toarray()

    def _spectral_grams(self, theta_nested: np.ndarray):
        sp = self.spectral
        t2 = np.zeros(3)
        t2[: len(theta_nested)] = [theta_nested[i] ** 2 for i in sp["pos"]]
        n1, n2 = sp["shapes"][:, 0], sp["shapes"][:, 1]
        lam0 = 1.0 + t2[0] * n1 * n2 + t2[1] * n2 + t2[2] * n1
        lam1 = 1.0 + t2[1] * n2
        lam2 = 1.0 + t2[2] * n1
        logdet = float(
            (sp["count"] * (np.log(lam0) + (n1 - 1) * np.log(lam1) + (n2 - 1) * np.log(lam2))).sum()
        )
        # Weights of the within-cell sums, per block shape (averaging = sum / cell size).
        if len(sp["terms"]) == 1:
            weights = [(1.0 / lam0 - 1.0) / (n1 * n2)]
        else:
            weights = [
                (1.0 - 1.0 / lam1 - 1.0 / lam2 + 1.0 / lam0) / (n1 * n2),
                (1.0 / lam1 - 1.0) / n2,
                (1.0 / lam2 - 1.0) / n1,
            ]
        xx, zx, zz = sp["xx"].copy(), sp["zx"].copy(), sp["zz"].copy()
        for per_shape, w in zip(sp["terms"], weights, strict=True):
            for (g_xx, g_zx, g_zz), w_shape in zip(per_shape, w, strict=True):
                xx += w_shape * g_xx
                zx += w_shape * g_zx
                zz += w_shape * g_zz
        if self.Zc is None:
            return logdet, xx, None, None
        return logdet, xx, zx, zz

    def deviance(self, theta: np.ndarray) -> tuple[float, float, float]:
        """Profiled REML deviance, the residual variance and the intercept at theta."""
        from scipy.linalg import solve_triangular

        k = len(self.nested)
        logdet, gram, zx, zz = self._nested_grams(theta[:k])
        if self.Zc is not None:
            lam = np.empty(self.qc)
            for t, sl in zip(theta[k:], self.crossed_slices, strict=True):
                lam[sl] = t
            mmat = np.eye(self.qc) + lam[:, None] * zz * lam[None, :]
            chol = np.linalg.cholesky(mmat)
            logdet += 2.0 * float(np.log(np.diag(chol)).sum())
            sol = solve_triangular(chol, lam[:, None] * zx, lower=True)
            gram = gram - sol.T @ sol
        xhx, xhy, yhy = gram[0, 0], gram[0, 1], gram[1, 1]
        beta = xhy / xhx
        dof = self.n - 1
        sigma2 = max(yhy - beta * xhy, 0.0) / dof
        if sigma2 <= 0:
            return float("inf"), 0.0, float(beta)
        dev = logdet + np.log(xhx) + dof * (1.0 + np.log(2.0 * np.pi * sigma2))
        return float(dev), float(sigma2), float(beta)


def reml_fit(
    y: Sequence[float] | np.ndarray,
    blocks: Sequence[int] | np.ndarray,
    factors: Sequence[Factor],
    start: Sequence[float] | None = None,
) -> RemlFit:
    """Fit the variance components by REML. ``blocks`` groups observations (by item) so
    that every nested factor's levels lie inside one block."""
    from threadpoolctl import threadpool_limits

    # The matrices here are small (crossed levels x crossed levels): BLAS threads only add
    # synchronisation, which on a busy machine costs 10x (measured on 2 loaded cores).
    with threadpool_limits(limits=1):
        return _reml_fit(y, blocks, factors, start)


def _reml_fit(y, blocks, factors, start) -> RemlFit:  # noqa: ANN001 - see reml_fit
    from scipy.optimize import minimize

    y = np.asarray(y, dtype=float)
    blocks = np.asarray(blocks, dtype=np.int64)
    design = _Design(y, blocks, factors)
    order = design.nested + design.crossed
    names = [f.name for f in order]
    x0 = np.ones(len(order)) if start is None else np.asarray(start, dtype=float)
    if not order:
        dev, sigma2, beta = design.deviance(np.zeros(0))
        return RemlFit({"residual": sigma2}, dev, beta, True, 0)
    if float(np.ptp(y)) == 0.0:
        zero = dict.fromkeys(names, 0.0)
        zero["residual"] = 0.0
        return RemlFit(zero, float("nan"), float(y[0]), True, 0, ["all scores are equal"])

    def objective(theta: np.ndarray) -> float:
        return design.deviance(np.abs(theta))[0]

    def run(x_start: np.ndarray):
        return minimize(
            objective,
            x_start,
            method="L-BFGS-B",
            bounds=[(0.0, None)] * len(order),
            options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500},
        )

    best = run(x0)
    if np.any(np.abs(best.x) < 1e-3):
        # A component at (or near) the boundary: the deviance can be flat there, so try a
        # second start near zero (lme4 starts at theta = 1 only) and keep the lower one.
        other = run(np.full(len(order), 0.1))
        if other.fun < best.fun:
            best = other
    theta = np.abs(best.x)
    # Snap components that the optimiser left a hair above the boundary to exactly 0 when
    # that does not worsen the deviance measurably (lme4 reports boundary fits as 0).
    for i in range(len(theta)):
        if 0 < theta[i] < 1e-4:
            trial = theta.copy()
            trial[i] = 0.0
            if objective(trial) <= best.fun + 1e-9:
                theta = trial
    if len(theta) <= 3:  # each polishing step costs ~2p^2 deviance evaluations
        theta = _newton_polish(objective, theta)
    dev, sigma2, beta = design.deviance(theta)
    components = {name: float(t * t * sigma2) for name, t in zip(names, theta, strict=True)}
    components["residual"] = float(sigma2)
    return RemlFit(components, dev, beta, bool(best.success), int(best.nit))


def _newton_polish(objective, theta: np.ndarray, steps: int = 4) -> np.ndarray:
    """A few Newton steps on the interior components with central differences.

    L-BFGS-B stops on a flat deviance with theta correct to ~1e-6; the deviance is smooth
    in the interior, so Newton with a central-difference Hessian takes it to ~1e-9, which
    is what "checked value by value" needs. A step is kept only if the deviance drops.
    """
    theta = theta.copy()
    free = np.flatnonzero(theta > 0)
    if not len(free):
        return theta
    current = objective(theta)
    for _ in range(steps):
        h = 1e-4 * np.maximum(theta[free], 1e-2)
        p = len(free)
        grad, hess = np.zeros(p), np.zeros((p, p))

        def at(*moves: tuple[int, float], base: np.ndarray = theta) -> float:
            trial = base.copy()
            for i, d in moves:
                trial[free[i]] += d
            return objective(trial)

        for i in range(p):
            up, down = at((i, h[i])), at((i, -h[i]))
            grad[i] = (up - down) / (2 * h[i])
            hess[i, i] = (up - 2 * current + down) / (h[i] ** 2)
            for j in range(i):
                hess[i, j] = hess[j, i] = (
                    at((i, h[i]), (j, h[j]))
                    - at((i, h[i]), (j, -h[j]))
                    - at((i, -h[i]), (j, h[j]))
                    + at((i, -h[i]), (j, -h[j]))
                ) / (4 * h[i] * h[j])
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or np.any(np.linalg.eigvalsh(hess) <= 0):
            break
        trial = theta.copy()
        trial[free] = np.maximum(theta[free] - step, 0.0)
        value = objective(trial)
        if value > current:
            break
        theta, current = trial, value
        if np.max(np.abs(step) / np.maximum(theta[free], 1e-8)) < 1e-10:
            break
    return theta

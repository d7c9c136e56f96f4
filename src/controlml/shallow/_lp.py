r"""Restricted LP of (PR0)/(PRε) on a finite set of neurons, solved by HiGHS (dual simplex).

.. math::
    \min_{u, v \ge 0} \mathbf 1^\top (u + v) \quad\text{s.t.}\quad
    |\Phi (u - v) - Y| \le \varepsilon \ \ (\text{equality when } \varepsilon = 0),

with :math:`\Phi_{ij} = \sigma(\theta_j\cdot\tilde x_i)`.  The dual vector ``p``
(of :math:`\max_p p^\top Y - \varepsilon\|p\|_1` s.t. :math:`|\Phi^\top p| \le 1`)
is read from the HiGHS marginals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

__all__ = ["LPResult", "solve_lp", "caratheodory_reduce"]


@dataclass(frozen=True)
class LPResult:
    w: np.ndarray
    p: np.ndarray
    value: float
    success: bool
    message: str


def solve_lp(Phi: np.ndarray, Y: np.ndarray, eps: float) -> LPResult:
    """Solve the restricted LP on the columns of ``Phi`` (N, M)."""
    N, M = Phi.shape
    c = np.ones(2 * M)
    B = np.hstack([Phi, -Phi])
    opts = {"presolve": True, "dual_feasibility_tolerance": 1e-10,
            "primal_feasibility_tolerance": 1e-10}
    for method in ("highs-ds", "highs-ipm"):  # interior point (with crossover) as a fallback
        if eps == 0.0:
            res = linprog(c, A_eq=B, b_eq=Y, bounds=(0, None), method=method, options=opts)
        else:
            res = linprog(c, A_ub=np.vstack([B, -B]), b_ub=np.concatenate([Y + eps, eps - Y]),
                          bounds=(0, None), method=method, options=opts)
        if res.status == 0:
            break
    if res.status != 0:
        return LPResult(np.zeros(M), np.zeros(N), float("inf"), False, str(res.message))
    z = res.x
    w = z[:M] - z[M:]
    if eps == 0.0:
        p = np.asarray(res.eqlin.marginals, dtype=np.float64)
    else:
        m = np.asarray(res.ineqlin.marginals, dtype=np.float64)
        p = m[:N] - m[N:]
    return LPResult(w, p, float(res.fun), True, str(res.message))


def caratheodory_reduce(Phi: np.ndarray, w: np.ndarray, *, tol: float = 1e-12) -> np.ndarray:
    r"""Reduce the support of ``w`` (M,) to at most rank(Phi) <= N atoms.

    Keeps :math:`\Phi w` fixed and never increases :math:`\|w\|_1`: while the
    support is linearly dependent, move along a kernel vector ``v`` of the
    support columns, oriented so that :math:`\mathrm{sign}(w)\cdot v \ge 0`,
    until the first weight hits zero.
    """
    w = w.astype(np.float64).copy()
    scale = max(np.max(np.abs(w)), 1e-300) if w.size else 1.0
    w[np.abs(w) <= tol * scale] = 0.0
    while True:
        S = np.flatnonzero(w)
        if S.size == 0:
            return w
        PS = Phi[:, S]
        rank = np.linalg.matrix_rank(PS)
        if S.size <= rank:
            return w
        T = S[: min(S.size, rank + 1)]
        _, sv, Vt = np.linalg.svd(Phi[:, T], full_matrices=True)
        v = Vt[-1]
        s = np.sign(w[T])
        if s @ v < 0:
            v = -v
        pos = s * v > 1e-15
        if not np.any(pos):  # numerically null direction with no sign change; drop smallest
            w[T[np.argmin(np.abs(w[T]))]] = 0.0
            continue
        ratios = np.where(pos, w[T] / np.where(pos, v, 1.0), np.inf)
        t = np.min(ratios[pos])
        k = int(np.flatnonzero(pos)[np.argmin(ratios[pos])])
        w[T] = w[T] - t * v
        w[T[k]] = 0.0

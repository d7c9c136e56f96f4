r"""Restricted LP of (PR0)/(PRε) on a finite set of neurons, solved by HiGHS.

:func:`solve_lp` solves it from scratch (``linprog``, dual simplex then IPM);
:class:`RestrictedMaster` keeps it in one ``highspy`` model and warm-starts each re-solve.

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

_IPM_ROWS = 500  # from this many data points on, every restricted LP is solved by interior point
_SMALL = 1e-9  # HiGHS small_matrix_value: smaller entries are treated as zeros


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

    Parameters
    ----------
    Phi : array (N, M)
        Feature matrix: column j holds the activations of atom (neuron) j at the N data
        points, e.g. :math:`\Phi_{ij} = \sigma(\langle a_j, x_i\rangle + b_j)`.
    w : array (M,)
        Weights of the atoms (not modified; a float64 copy is reduced).
    tol : float
        Weights with :math:`|w_j| \le \mathrm{tol}\,\max_k|w_k|` are set to zero first
        (default 1e-12).

    Returns
    -------
    array (M,)
        Reduced weights with :math:`\Phi w` unchanged (up to rounding), :math:`\|w\|_1`
        not larger, and the columns of the support linearly independent
        (at most rank(Phi) nonzeros).
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


class RestrictedMaster:
    r"""The restricted LP kept alive in one ``highspy.Highs`` model across column-generation rounds.

    Neuron ``j`` owns the variables :math:`u_j` and/or :math:`v_j` (cost 1, :math:`\ge 0`,
    columns :math:`\pm\Phi_{:,j}`, see :meth:`add`); row ``i`` is :math:`Y_i-\varepsilon \le (\Phi(u-v))_i \le Y_i+\varepsilon`.
    The first solve has no basis: dual simplex.  Adding columns keeps the optimal basis
    primal feasible (the new variables enter at zero), so each re-solve is a primal-simplex
    warm start from the previous vertex.  With N >= 500 rows every solve is interior point
    with crossover instead: dense ReLU features make the basis' LU factors dense, and a warm
    primal simplex on N = 1000 took 555 s against 33 s for the interior point (measured).
    :meth:`solve` returns the same :class:`LPResult` as :func:`solve_lp`: ``p`` is the
    HiGHS row dual, equal to linprog's ``eqlin`` marginals (ε = 0) and to the
    difference of its two ``ineqlin`` marginal blocks (ε > 0).
    """

    def __init__(self, Y: np.ndarray, eps: float) -> None:
        import highspy

        self._hs = highspy
        # the plain binding: the ``Highs`` wrapper's callback setup prints a banner to stdout
        core = getattr(highspy, "_core", None)
        h = core._Highs() if core is not None and hasattr(core, "_Highs") else highspy.Highs()
        h.setOptionValue("output_flag", False)
        for k, v in (("presolve", "off"), ("simplex_strategy", 4),
                     ("dual_feasibility_tolerance", 1e-10), ("primal_feasibility_tolerance", 1e-10)):
            h.setOptionValue(k, v)
        Y = np.asarray(Y, dtype=np.float64)
        self.N = Y.shape[0]
        h.addRows(self.N, Y - eps, Y + eps, 0, np.zeros(1, dtype=np.int32),
                  np.zeros(0, dtype=np.int32), np.zeros(0))
        self._h = h
        self.n_neurons = 0
        self._owner = np.zeros(0, dtype=np.int64)  # the neuron of each HiGHS column
        self._sign = np.zeros(0)  # and the sign it gives the neuron's weight
        self._warm = False

    def add(self, Phi: np.ndarray, signs: np.ndarray | None = None) -> None:
        r"""Append the neurons with feature columns ``Phi`` (N, m).

        ``signs`` (m,), optional: the sign each neuron's weight may take (+1: only
        :math:`u_j`, -1: only :math:`v_j`; 0 or ``None``: both).  A column priced in with
        :math:`\eta_j > 1` only has a negative reduced cost :math:`1 - \eta_j` for
        :math:`u_j` (:math:`v_j` costs :math:`1 + \eta_j \ge 2`), so the other half only
        slows each simplex pricing pass; the oracle still sweeps both signs over the
        continuum, so the certificate is unchanged.
        """
        Phi = np.asarray(Phi, dtype=np.float64)
        m = Phi.shape[1]
        if m == 0:
            return
        sg = np.zeros(m) if signs is None else np.sign(np.asarray(signs, dtype=np.float64))
        both = sg == 0
        owner = np.repeat(np.arange(m), np.where(both, 2, 1))
        sign = sg[owner]
        sign[both[owner]] = np.tile([1.0, -1.0], int(both.sum()))  # (u_j, v_j) pairs, in order
        B = Phi[:, owner] * sign
        nz = np.abs(B) > _SMALL  # HiGHS would drop the rest itself (small_matrix_value), with a warning
        cnt = nz.sum(axis=0)
        k = owner.size
        starts = np.zeros(k, dtype=np.int32)
        np.cumsum(cnt[:-1], out=starts[1:])
        rows, cols = np.nonzero(nz.T)  # column-major order
        vals = B.T[rows, cols]
        self._h.addCols(k, np.ones(k), np.zeros(k), np.full(k, self._hs.kHighsInf),
                        int(vals.size), starts, cols.astype(np.int32), vals)
        self._owner = np.concatenate([self._owner, owner + self.n_neurons])
        self._sign = np.concatenate([self._sign, sign])
        self.n_neurons += m

    def delete(self, neurons: np.ndarray) -> None:
        """Remove the given neurons (indices into the current list); the rest keep their order."""
        neurons = np.unique(np.asarray(neurons, dtype=np.int64))
        if neurons.size == 0:
            return
        gone = np.isin(self._owner, neurons)
        idx = np.flatnonzero(gone).astype(np.int32)
        self._h.deleteCols(int(idx.size), idx)
        owner = self._owner[~gone]
        self._owner = owner - np.searchsorted(neurons, owner)  # renumber the survivors
        self._sign = self._sign[~gone]
        self.n_neurons -= neurons.size

    def get_basis(self):
        return self._h.getBasis()

    def set_basis(self, basis) -> None:
        self._h.setBasis(basis)

    def solve(self) -> LPResult:
        """Re-optimise from the current basis; ``success`` is False unless HiGHS reports optimal."""
        h = self._h
        if self.N >= _IPM_ROWS:  # dense LU factors of a large basis: interior point + crossover
            h.setOptionValue("solver", "ipm")
        elif not self._warm:  # no basis yet: dual simplex
            h.setOptionValue("simplex_strategy", 1)
        basis = h.getBasis() if self._warm and self.N < _IPM_ROWS else None
        h.run()
        if basis is not None and h.getModelStatus() != self._hs.HighsModelStatus.kOptimal:
            # HiGHS 1.16's warm primal simplex occasionally stops at iteration 0 with status
            # "Not Set" (seen near convergence with thousands of columns); the dual simplex from
            # the same basis finishes in a few iterations, where a solve from scratch took 20 s
            h.setBasis(basis)
            h.setOptionValue("simplex_strategy", 1)
            h.run()
            h.setOptionValue("simplex_strategy", 4)
        if not self._warm:  # from now on the basis stays primal feasible: primal simplex
            h.setOptionValue("simplex_strategy", 4)
            self._warm = True
        status = h.getModelStatus()
        M = self.n_neurons
        if status != self._hs.HighsModelStatus.kOptimal:
            return LPResult(np.zeros(M), np.zeros(self.N), float("inf"), False,
                            h.modelStatusToString(status))
        sol = h.getSolution()
        z = np.asarray(sol.col_value, dtype=np.float64)
        w = np.bincount(self._owner, weights=self._sign * z, minlength=M)
        p = np.asarray(sol.row_dual, dtype=np.float64)
        value = float(h.getInfo().objective_function_value)
        return LPResult(w, p, value, True, h.modelStatusToString(status))

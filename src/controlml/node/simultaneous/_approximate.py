"""Universal approximation in L^2 by flow maps of width-1 neural ODEs (Theorem 3.2).

.. math:: \\|\\Phi_T - f\\|_{L^2(\\Omega)} < \\varepsilon, \\qquad f \\in L^2(\\Omega; \\mathbb{R}^d),
          \\ \\Omega = \\prod_j [\\mathrm{lo}_j, \\mathrm{hi}_j],

by the strategy the paper outlines: approximate f by a simple function on
hyperrectangles, compress every cell around its centre, then steer the
compressed cells (simultaneous control of their centres).

Construction (K cells per axis, cell width :math:`h_j`)
-------------------------------------------------------
1. **Compression, axis by axis.** A single neuron with :math:`a = e_j`,
   :math:`b = -p`, :math:`w = (\\ln\\rho/\\tau) e_j` acts on :math:`\\{x_j > p\\}` as the
   1-D affine map :math:`x_j - p \\mapsto \\rho(x_j - p)` and leaves the other
   coordinates and the other side unchanged (compression :math:`\\rho < 1`,
   expansion :math:`\\rho > 1`, Fig. 3.1).  Applied from the rightmost breakpoint
   to the leftmost, such pieces compose to any increasing piecewise-linear map of
   :math:`x_j` with slope 1 left of the first breakpoint.  We use the staircase with
   slope :math:`\\epsilon` inside each cell (but a strip of width :math:`\\delta` at its
   ends) and a steep slope on the strips, so that each cell shrinks by
   :math:`\\epsilon` around the image :math:`q_k` of its centre and the :math:`q_k` stay
   on a grid of spacing :math:`h_j`: 2K pieces per axis.
2. **Steering.** :func:`~controlml.node.interpolate` (width 1, Thm 3.1/3.3)
   carries the :math:`K^d` points :math:`q_k` exactly to the cell values
   :math:`f_k` (f at the cell centre; ties are split by a relative 1e-9 jitter since
   a flow is injective): :math:`2K^d - 1` switches more.

The flow maps all but the strips of cell k into a set of diameter
:math:`\\le \\mathrm{Lip}(\\text{steering})\\,\\epsilon h` around :math:`f_k`, so the error is
the simple-function error plus the strips' share, both -> 0 as K grows with
:math:`\\delta = 0.002 h/K^2`.  The default :math:`\\epsilon = 10^{-6}` balances the
steering's amplification of the cell size (it must be small) against its
amplification of rounding errors (it must not be tiny: 1e-9 already loses digits
at K = 8).  The L^2 error is measured by Monte Carlo with :func:`flow`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._checks import check_int, check_positive, check_random_state
from ...errors import DatasetError, ParameterError
from ..flows._control import Control, Piece
from ..flows._flow import flow
from ._interpolate import interpolate

__all__ = ["ApproximationResult", "approximate", "approximation_switches"]


@dataclass(frozen=True)
class ApproximationResult:
    """Outcome of :func:`approximate`.

    Attributes
    ----------
    control : Control
        Width-1 control on [0, T].
    cells : int
        K, cells per axis (K^d cells).
    l2_error : float
        :math:`\\|\\Phi_T - f\\|_{L^2(\\Omega)}`, Monte Carlo with ``num_eval`` points (absolute,
        i.e. including the volume of the box).
    l2_error_se : float
        Its standard error (delta method).
    simple_error : float
        L^2 error of the simple function (cell values) itself, same points: the floor.
    num_switches : int
        L.
    status : str
        ``"approximate"`` (given cells or budget), ``"converged"`` or
        ``"tolerance_not_met"`` (given ``tol``).
    """

    control: Control
    cells: int
    l2_error: float
    l2_error_se: float
    simple_error: float
    num_switches: int
    status: str = "approximate"


def approximation_switches(cells: int, d: int) -> int:
    """Switches used by :func:`approximate` with K = ``cells`` per axis: 2Kd + 2K^d - 1 (compression + steering).

    Parameters
    ----------
    cells : int
        Number K of cells per axis of the grid on the domain.
    d : int
        Dimension of the domain.

    Returns
    -------
    int
        :math:`L = 2Kd + 2K^d - 1`.
    """
    return 2 * cells * d + 2 * cells**d - 1


def _domain(domain: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        arr = np.asarray(domain, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError("domain must be a (d, 2) array of [lo_j, hi_j] pairs") from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 2:
        raise ParameterError(f"domain must be a (d, 2) array of [lo_j, hi_j] pairs with d >= 2; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or not np.all(arr[:, 1] > arr[:, 0]):
        raise ParameterError("domain must have finite lo_j < hi_j on every axis")
    return arr[:, 0].copy(), arr[:, 1].copy()


def _eval_f(f: Callable[[np.ndarray], np.ndarray], Z: np.ndarray) -> np.ndarray:
    FZ = np.asarray(f(Z), dtype=np.float64)
    if FZ.shape != Z.shape or not np.all(np.isfinite(FZ)):
        raise DatasetError(f"f must return a finite array of shape (M, d) = {Z.shape}; got {FZ.shape}")
    return FZ


def _staircase(lo: float, h: float, K: int, delta: float, eps: float) -> tuple[list[float], list[float]]:
    """Breakpoints and slope ratios (rightmost first) of the 1-D staircase map."""
    S = (h - (h - 2 * delta) * eps) / (2 * delta)
    bps, slopes = [], []
    for k in range(K):
        a = lo + k * h
        bps += [a + delta, a + h - delta]
        slopes += [eps, S]
    # slope 1 left of the first breakpoint; after the last breakpoint the slope S is kept
    ratios = [slopes[0]] + [slopes[i] / slopes[i - 1] for i in range(1, len(slopes))]
    return bps[::-1], ratios[::-1]


def approximate(f: Callable[[np.ndarray], np.ndarray], domain: Any, *, cells: int | None = None,
                num_switches: int | None = None, tol: float | None = None, max_cells: int = 24,
                T: float = 1.0, eps: float | None = None, num_eval: int = 20_000, attempts: int = 3,
                random_state: Any = None) -> ApproximationResult:
    """Width-1 control whose flow map approximates f in :math:`L^2(\\Omega)` (Theorem 3.2).

    .. math:: \\min \\|\\Phi_T - f\\|_{L^2(\\Omega)}, \\quad
              \\Phi_T \\approx \\sum_k f(c_k)\\,\\mathbf{1}_{C_k}.

    Parameters
    ----------
    f : callable
        ``f(Z)`` with Z (M, d) -> (M, d), the target map.
    domain : array (d, 2)
        The box :math:`\\Omega`, rows ``[lo_j, hi_j]``, d >= 2.
    cells : int, optional
        K, cells per axis (>= 1).  Give exactly one of ``cells``, ``num_switches``, ``tol``.
    num_switches : int, optional
        Budget of switches: the largest K with :func:`approximation_switches` <= budget.
    tol : float, optional
        Target L^2 error: K = 1, 2, ... is refined until the measured error is <= tol
        (status ``"converged"``) or K reaches ``max_cells`` (status ``"tolerance_not_met"``,
        the last construction is returned).
    max_cells : int
        Largest K tried with ``tol``.
    T : float
        Time horizon (> 0).
    eps : float, optional
        Compression factor of the cells (default 1e-6).
    num_eval : int
        Monte Carlo points for the L^2 error.
    attempts : int
        Steering constructions tried (random directions); the one with the smallest
        L^2 error on separate validation points is kept.
    random_state : None, int or Generator
        Seeds the steering directions and the Monte Carlo points.

    Returns
    -------
    ApproximationResult
        ``control``, ``l2_error`` (measured with :func:`flow`), ``num_switches``.

    Raises
    ------
    ParameterError
        bad domain, neither or both of cells/num_switches, a budget below the
        smallest construction, T <= 0, eps not in (0, 1).
    DatasetError
        f does not return a finite (M, d) array.
    """
    lo, hi = _domain(domain)
    d = lo.size
    if sum(v is not None for v in (cells, num_switches, tol)) != 1:
        raise ParameterError("give exactly one of cells (cells per axis), num_switches (a budget) "
                             "or tol (a target L^2 error)")
    if tol is not None:
        tol = check_positive(tol, "tol")
        max_cells = check_int(max_cells, "max_cells", minimum=1)
        rng = check_random_state(random_state)
        res = None
        for K in range(1, max_cells + 1):
            res = approximate(f, domain, cells=K, T=T, eps=eps, num_eval=num_eval,
                              attempts=attempts, random_state=rng)
            if res.l2_error <= tol:
                return dataclasses.replace(res, status="converged")
        return dataclasses.replace(res, status="tolerance_not_met")
    if cells is not None:
        K = check_int(cells, "cells", minimum=1)
    else:
        budget = check_int(num_switches, "num_switches", minimum=0)
        K = 0
        while approximation_switches(K + 1, d) <= budget:
            K += 1
        if K == 0:
            raise ParameterError(f"num_switches must be >= {approximation_switches(1, d)} (one cell) in d = {d}; "
                                 f"got {budget}")
    T = check_positive(T, "T")
    num_eval = check_int(num_eval, "num_eval", minimum=10)
    attempts = check_int(attempts, "attempts", minimum=1)
    if eps is not None and not (0 < eps < 1):
        raise ParameterError(f"eps must be in (0, 1); got {eps!r}")
    if not callable(f):
        raise ParameterError(f"f must be a callable Z (M, d) -> (M, d); got {type(f).__name__}")
    rng = check_random_state(random_state)

    h = (hi - lo) / K
    grids = [lo[j] + h[j] * (np.arange(K) + 0.5) for j in range(d)]
    C = np.stack(np.meshgrid(*grids, indexing="ij"), axis=-1).reshape(-1, d)  # cell centres
    Fc = _eval_f(f, C)
    spread = float(np.abs(Fc - Fc.mean(axis=0)).max()) or 1.0
    Fk = Fc + 1e-9 * spread * rng.standard_normal(Fc.shape)  # distinct targets (a flow is injective)
    delta = 0.002 * h / K**2
    # centres after compression: lo + delta + eps (h/2 - delta) + k h -> ~ grid of spacing h
    if eps is None:
        eps = 1e-6
    raw: list[tuple[np.ndarray, np.ndarray, float, float]] = []  # (w direction scaled, a, b, log ratio)
    Q = C.copy()
    for j in range(d):
        bps, ratios = _staircase(lo[j], h[j], K, delta[j], eps)
        e = np.zeros(d)
        e[j] = 1.0
        for p, r in zip(bps, ratios, strict=False):
            raw.append((e, e, -p, math.log(r)))
            z = np.maximum(Q[:, j] - p, 0.0)
            Q[:, j] += z * (r - 1.0)
    # steering of the compressed centres (their exact positions) to the cell values; the
    # steering directions are random: keep the best of `attempts` by a validation L^2 error
    vol = float(np.prod(hi - lo))
    Zv = lo + (hi - lo) * rng.uniform(size=(max(num_eval // 4, 10), d))
    FZv = _eval_f(f, Zv)
    control, best = None, np.inf
    for _ in range(attempts):
        steer = interpolate(Q, Fk, width=1, T=1.0, random_state=rng)
        n_total = len(raw) + len(steer.control.pieces)
        tau = T / n_total
        pieces = [Piece._trusted(tau, (lr / tau) * e[:, None], a[None, :], np.array([b])) for e, a, b, lr in raw]
        for p in steer.control.pieces:
            pieces.append(Piece._trusted(tau, p.W * (p.duration / tau), p.A, p.b))
        cand = Control(tuple(pieces))
        ev = float(np.mean(np.sum((flow(cand, Zv) - FZv) ** 2, axis=1)))
        if ev < best:
            control, best = cand, ev
    # Monte Carlo L^2 error on fresh points
    Z = lo + (hi - lo) * rng.uniform(size=(num_eval, d))
    FZ = _eval_f(f, Z)
    sq = np.sum((flow(control, Z) - FZ) ** 2, axis=1)
    err = math.sqrt(vol * sq.mean())
    se = math.sqrt(vol) * float(sq.std()) / math.sqrt(num_eval) / (2 * max(math.sqrt(sq.mean()), 1e-300))
    idx = np.clip(((Z - lo) / h).astype(int), 0, K - 1)
    flat = np.ravel_multi_index(tuple(idx.T), (K,) * d)
    simple = math.sqrt(vol * float(np.mean(np.sum((Fc[flat] - FZ) ** 2, axis=1))))
    return ApproximationResult(control, K, err, se, simple, control.num_switches)

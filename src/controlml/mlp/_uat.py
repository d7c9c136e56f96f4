"""Explicit width-(d+1) ReLU MLPs approximating a continuous target on a box in L^p.

Construction (ours, in the spirit of Hernández & Zuazua, arXiv 2409.06555, Sec. on the UAT):
on the box, normalised to ``[0, 1]^d`` and cut into ``n^d`` cells of side ``h = 1/n``,

1. every coordinate but the first is *quantised* by the width-2 collapse gadget acting on the
   pair (its own neuron, one spare neuron): the cores of the ``n`` slabs
   ``[k h + eta h / 2, (k + 1) h - eta h / 2]`` are collapsed onto the integers ``k``, while the
   other ``d - 1`` neurons carry their coordinates unchanged (ReLU is the identity on them);
2. the scalar ``Z = n x_1 + n (q_2 + n q_3 + ...)`` then runs through the cells in
   lexicographic order, each cell's core being an interval of ``Z``;
3. the same gadget collapses the cell cores onto the values ``f(centre) - min f`` and a last
   ReLU clamps to ``[0, max f - min f]``; the affine read-out adds ``min f`` back.

Width ``d + 1`` (2 in 1-D), depth ``L = (d - 1)(2n - 1) + 2K + 2`` with ``K <= n^d`` cell runs.
Off the thin slabs (total measure at most ``d eta``) the network equals the piecewise-constant
interpolant ``f_h`` exactly, so ``||f - net||_p <= ||f - f_h||_p + (max f - min f)(d eta)^{1/p}``
and, for ``f`` in ``W^{1,p}``, ``||f - f_h||_p = O(h) = O(L^{-1/d})``: the depth needed for an
error ``eps`` grows like ``eps^{-d}`` (the rate of the cited paper's depth estimate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int
from ..errors import ConvergenceError, DatasetError, ParameterError
from ._gadget import Builder, plan_steps
from ._model import MLP

__all__ = ["NarrowApproximation", "approximate_narrow", "uat_depth"]


@dataclass(frozen=True)
class NarrowApproximation:
    """Result of :func:`approximate_narrow`.

    Attributes
    ----------
    network : MLP
        Width ``d + 1`` ReLU MLP, ``network(X)`` of shape (N, 1).
    depth : int
        Number of affine layers.
    max_width : int
        ``d + 1``.
    n_cells : int
        Cells per dimension ``n`` (``n^d`` cells).
    error : float
        Measured ``||f - network||_{L^p}`` (midpoint rule on a grid finer than the cells).
    error_piecewise : float
        ``||f - f_h||_{L^p}`` of the piecewise-constant interpolant on the same grid.
    deviation : float
        ``||network - f_h||_{L^p}`` on the grid (only the thin slabs contribute).
    slab_bound : float
        ``(max f - min f) (d eta)^{1/p}``: the largest contribution of the slabs.
    p : float
    eta : float
        Relative width of the transition slabs.
    status : str
        ``"ok"`` or ``"tol reached"``.
    """

    network: MLP
    depth: int
    max_width: int
    n_cells: int
    error: float
    error_piecewise: float
    deviation: float
    slab_bound: float
    p: float
    eta: float
    status: str


def uat_depth(n: int, d: int, runs: int | None = None) -> int:
    """Depth of the construction with ``n`` cells per dimension (``runs`` defaults to ``n^d``).

    .. math::

        L = (d - 1)(2n - 1) + 2K + 2 ,

    ``2n - 1`` layers to quantise each of the coordinates ``2..d``, two per cell run and two
    for the final clamp and the read-out.

    Parameters
    ----------
    n : int
        Cells per dimension (``h = 1/n``).
    d : int
        Input dimension.
    runs : int, optional
        Number ``K`` of runs of equal values over the ``n^d`` cells (consecutive cells with the
        same value are merged); default ``None`` means the worst case ``K = n^d``.

    Returns
    -------
    int
        The number ``L`` of affine layers.

    Examples
    --------
    >>> uat_depth(4, 1)
    10
    >>> uat_depth(2, 2, runs=3)
    11
    """
    K = n ** d if runs is None else runs
    return (d - 1) * (2 * n - 1) + 2 * K + 2


def _check_domain(domain: Any) -> np.ndarray:
    try:
        D = np.asarray(domain, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"domain must be a box [(lo_1, hi_1), ..., (lo_d, hi_d)]; got "
                             f"{type(domain).__name__}") from exc
    if D.ndim == 1 and D.shape[0] == 2:
        D = D[None, :]
    if D.ndim != 2 or D.shape[1] != 2 or D.shape[0] < 1:
        raise ParameterError(f"domain must have shape (d, 2) (one (lo, hi) per dimension); got "
                             f"shape {D.shape}")
    if not np.all(np.isfinite(D)) or np.any(D[:, 1] <= D[:, 0]):
        raise ParameterError(f"domain needs finite lo < hi in every dimension; got {D.tolist()}")
    return D


def _evaluate(f: Callable, X: np.ndarray) -> np.ndarray:
    try:
        v = np.asarray(f(X), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"f must map an (N, d) array to N real values; calling it failed: "
                           f"{exc}") from exc
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.shape != (X.shape[0],):
        raise DatasetError(f"f must return N = {X.shape[0]} values for an (N, d) input; got "
                           f"shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise DatasetError("f returned a non-finite value (NaN or inf) on the domain: the target "
                           "must be continuous (finite) on the closed box")
    return v


def _grid(n: int, d: int, shift: float = 0.5) -> np.ndarray:
    """Points ``(k + shift) / n`` of the n^d cells of [0, 1]^d (``shift = 0.5``: the centres),
    first coordinate fastest, shape (n^d, d)."""
    c = (np.arange(n) + shift) / n
    idx = np.arange(n ** d)
    digits = (idx[:, None] // n ** np.arange(d)) % n
    return c[digits]


def _build(values: np.ndarray, n: int, d: int, D: np.ndarray, eta: float) -> MLP:
    """The width-(d+1) network; ``values`` on the cells in the order of ``_grid``."""
    fmin = float(values.min())
    v = values - fmin
    F = float(v.max())
    lo, width = D[:, 0], D[:, 1] - D[:, 0]
    B = Builder(d)
    # normalised coordinates u_j = (x_j - lo_j) / width_j as expressions of the input
    u = [(np.eye(d)[j] / width[j], -lo[j] / width[j]) for j in range(d)]
    half = 0.5 * eta
    # 1. quantise coordinates 2..d into integers 0..n-1 with the pair (slot j, spare)
    codes: list = []               # expressions of q_2, ..., q_j (non-negative)
    if d > 1:
        k = np.arange(n, dtype=np.float64)
        qlo, qhi = k + half, k + 1.0 - half          # slab cores in units of n u_j
        Fq = float(n - 1)
        for j in range(1, d):
            alpha, steps = plan_steps(qlo, qhi, k, Fq, collapse_last=False)
            # carried: u_{j+1..d} (still raw), finished codes, and u_1
            carry = [u[0], *codes, *u[j + 1:]]
            zj = B.lin((float(n), u[j]))
            w = B.lin((alpha, zj), const=2.0 * Fq + 2.0 - alpha * float(qlo[0]))
            for st in steps:
                w, carry = B.step(w, st, carry)
            q, carry = B.clamp(w, Fq, carry)
            u0, codes, rest = carry[0], list(carry[1:1 + len(codes)]), list(carry[1 + len(codes):])
            u = [u0] + [None] * j + rest      # u[j+1:] are the coordinates still to quantise
            codes.append(q)
    # 2. the scalar Z = n u_1 + n (q_2 + n q_3 + ...)
    Z = B.lin((float(n), u[0]), *((float(n) ** (i + 1), q) for i, q in enumerate(codes)))
    # cell cores in Z, in increasing order = lexicographic (q_d, ..., q_2, k_1) = _grid order
    idx = np.arange(n ** d, dtype=np.float64)
    zlo, zhi = idx + half, idx + 1.0 - half
    # merge consecutive cells with equal values into one run
    change = np.flatnonzero(v[1:] != v[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change - 1, [v.shape[0] - 1]])
    rlo, rhi, rv = zlo[starts], zhi[ends], v[starts]
    alpha, steps = plan_steps(rlo, rhi, rv, F, collapse_last=True)
    w = B.lin((alpha, Z), const=2.0 * F + 2.0 - alpha * float(rlo[0]))
    for st in steps:
        w, _ = B.step(w, st)
    out, _ = B.clamp(w, F)
    B.layer([B.lin((1.0, out), const=fmin)])
    return MLP(B.layers)


def _lp(e: np.ndarray, p: float) -> float:
    return float(np.mean(np.abs(e) ** p) ** (1.0 / p))


def _one(f, D, n, d, p, eta, m_quad) -> NarrowApproximation:
    width = D[:, 1] - D[:, 0]
    vals = _evaluate(f, D[:, 0] + _grid(n, d) * width)
    eta_n = eta if eta is not None else min(1e-3, max(1e-12, (0.01 / n) ** p / d))
    net = _build(vals, n, d, D, eta_n)
    m = max(m_quad, 2 * n) if d == 1 else max(int(round(m_quad ** (1.0 / d))), 2 * n)
    # quadrature: a product grid shifted off the midpoints, so that no row of points falls
    # on a cell boundary (a dyadic midpoint grid would put whole lines inside the slabs)
    U = _grid(m, d, shift=0.5 + (np.sqrt(2.0) - 1.0) / 10.0)
    Xq = D[:, 0] + U * width
    fq = _evaluate(f, Xq)
    out = net(Xq)[:, 0]
    cell = np.minimum((U * n).astype(np.int64), n - 1)
    flat = sum(cell[:, j] * n ** j for j in range(d))
    fh = vals[flat]
    measure = float(np.prod(width))
    scale = measure ** (1.0 / p)
    F = float(vals.max() - vals.min())
    return NarrowApproximation(
        network=net, depth=net.depth, max_width=net.max_width, n_cells=n,
        error=scale * _lp(out - fq, p), error_piecewise=scale * _lp(fh - fq, p),
        deviation=scale * _lp(out - fh, p), slab_bound=scale * F * (d * eta_n) ** (1.0 / p),
        p=p, eta=eta_n, status="ok")


def approximate_narrow(f: Callable, *, domain: Any, depth: int | None = None,
                       tol: float | None = None, p: float = 2.0, eta: float | None = None,
                       n_quad: int = 20000, max_depth: int = 20000) -> NarrowApproximation:
    """An explicit ReLU MLP of width ``d + 1`` approximating ``f`` on a box in ``L^p``.

    Parameters
    ----------
    f : callable
        Continuous target: maps an (N, d) array to N real values.
    domain : array (d, 2)
        The box ``[(lo_1, hi_1), ..., (lo_d, hi_d)]`` (or ``(lo, hi)`` in 1-D).
    depth : int, optional
        Depth budget: the finest grid whose network fits (``n`` cells per dimension with
        :func:`uat_depth` ``(n, d) <= depth``).
    tol : float, optional
        Target ``L^p`` error: ``n`` doubles from 1 until the measured error is ``<= tol``.
        Exactly one of ``depth`` and ``tol`` must be given.
    p : float
        Exponent of the ``L^p`` norm, ``1 <= p < inf``.
    eta : float, optional
        Relative width of the transition slabs (default ``min(1e-3, (0.01 h)^p / d)`` so the
        slabs cost under 1 % of ``h``).
    n_quad : int
        Quadrature points (midpoint grid) used to measure the error.
    max_depth : int
        Largest depth tried with ``tol``.

    Returns
    -------
    NarrowApproximation
    """
    if not callable(f):
        raise ParameterError(f"f must be callable (an (N, d) array -> N values); got {type(f).__name__}")
    D = _check_domain(domain)
    d = D.shape[0]
    if (depth is None) == (tol is None):
        raise ParameterError("give exactly one of depth (a depth budget) and tol (a target L^p "
                             f"error); got depth={depth!r}, tol={tol!r}")
    try:
        p = float(p)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"p must be a real number >= 1; got {p!r}") from exc
    if not (1.0 <= p < np.inf):
        raise ParameterError(f"p must satisfy 1 <= p < inf; got {p!r}")
    if eta is not None and not (0.0 < float(eta) < 1.0):
        raise ParameterError(f"eta must lie in (0, 1); got {eta!r}")
    n_quad = check_int(n_quad, "n_quad", minimum=16)
    max_depth = check_int(max_depth, "max_depth", minimum=4)
    if depth is not None:
        depth = check_int(depth, "depth", minimum=uat_depth(1, d))
        n = 1
        while uat_depth(n + 1, d) <= depth:
            n += 1
        return _one(f, D, n, d, p, eta, n_quad)
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not tol > 0:
        raise ParameterError(f"tol must be a real number > 0; got {tol!r}")
    n, res = 1, None
    while uat_depth(n, d) <= max_depth:
        res = _one(f, D, n, d, p, eta, n_quad)
        if res.error <= tol:
            return NarrowApproximation(**{**res.__dict__, "status": "tol reached"})
        n *= 2
    raise ConvergenceError(
        f"the L^p error {res.error if res else float('nan'):.3g} is still above tol = {tol:g} at "
        f"the largest grid within max_depth = {max_depth} (n = {n // 2} cells per dimension); "
        "raise max_depth or tol")

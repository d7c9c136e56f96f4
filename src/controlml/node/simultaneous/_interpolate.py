"""Explicit simultaneous control: controls whose flow interpolates a data set.

Theorem 3.1 (P = 1) and Theorem 3.3 (width P): given distinct inputs
:math:`x_i` and distinct targets :math:`y_i` in :math:`\\mathbb{R}^d`, :math:`d \\ge 2`,
there is a piecewise-constant control with :math:`L = 2\\lceil N/P\\rceil - 1`
switches such that :math:`\\Phi_T(x_i) = y_i` for every i.

The construction (two phases of shear pieces)
---------------------------------------------
Pick unit vectors u and v (not parallel) such that the projections
:math:`u\\cdot x_i` are pairwise distinct and so are :math:`v\\cdot y_i`, and set the
intermediate points

.. math:: z_i = x_i + \\lambda_i q, \\quad q = v - (u\\cdot v) u, \\quad
          \\lambda_i = \\frac{v\\cdot(y_i - x_i)}{q\\cdot v},

so that :math:`u\\cdot z_i = u\\cdot x_i` and :math:`v\\cdot z_i = v\\cdot y_i`.

*Phase 1* (:math:`x \\to z`) uses pieces whose P neurons share the normal u and
whose directions :math:`w_j \\perp u`, so :math:`s = u\\cdot x` is invariant and each
point moves by :math:`\\tau \\sum_j w_j \\sigma(s - c_j)`.  Sort the points by s and
take them P at a time; in a group :math:`s_1 < \\dots < s_P` put thresholds
:math:`c_1 < s_1 < c_2 < \\dots < c_P < s_P` with :math:`c_1` above every earlier
group (which therefore does not move).  The displacements
:math:`\\tau\\sum_{j \\le m} w_j (s_m - c_j)` form a lower-triangular system with
positive diagonal :math:`\\tau(s_m - c_m)`, solved exactly for :math:`w_m \\perp u`.
Later points move too but stay on their slice :math:`\\{u\\cdot x = s\\}` and are
steered by their own piece.  *Phase 2* (:math:`z \\to y`) is the same with v.
Total: :math:`2\\lceil N/P\\rceil` pieces.

Better than the bound
---------------------
If the displacements :math:`y_i - x_i` span a proper subspace (always when
:math:`d > N`), a direction u orthogonal to all of them gives
:math:`u\\cdot y_i = u\\cdot x_i`, so phase 1 alone carries :math:`x_i` to :math:`y_i`:
:math:`\\lceil N/P\\rceil - 1` switches (0 when :math:`P \\ge N`), below the paper's
:math:`2\\lceil N/P\\rceil - 2` for :math:`d > N`.

Numerics
--------
Directions are chosen among random candidates to maximise the smallest gap
between projected points (on centred, scaled data); all pieces of a phase are
one linear spline in the projection, solved in extended precision with error
feedback on the stored weights (see :func:`_shear_phase`); the result is
verified with :func:`~controlml.node.flow`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._checks import (
    as_points,
    check_distinct_rows,
    check_int,
    check_positive,
    check_random_state,
    check_same_rows,
)
from ...errors import DatasetError
from ..flows._control import Control, Piece
from ..flows._flow import flow
from ..flows._shear import eval_spline, spline_from_arrays

__all__ = ["InterpolationResult", "interpolate", "paper_bounds"]

#: max error relative to the data scale below which the interpolation counts as exact
EXACT_RTOL = 1e-8
#: parameters of zero neurons a control with width > N may carry before the width is capped at N
_MAX_PADDING = 10**6


@dataclass(frozen=True)
class InterpolationResult:
    """Outcome of :func:`interpolate`.

    Attributes
    ----------
    control : Control
        The constructed piecewise-constant control on [0, T].
    max_error : float
        :math:`\\max_i |\\Phi_T(x_i) - y_i|`, measured with :func:`flow`.
    relative_error : float
        ``max_error`` divided by the data scale (largest distance of a point to the data centre).
    num_switches : int
        L, the number of switches of ``control``.
    bound : int
        The tightest of the paper's bounds that applies (see ``bounds``).
    bounds : dict
        Every applicable bound of the paper, by source.
    method : str
        ``"two-phase"`` or ``"one-phase"`` (displacements in a proper subspace).
    status : str
        ``"exact"`` when ``relative_error <= 1e-8`` and ``num_switches <= bound``,
        otherwise ``"inexact"``.
    """

    control: Control
    max_error: float
    relative_error: float
    num_switches: int
    bound: int
    bounds: dict[str, int] = field(default_factory=dict)
    method: str = "two-phase"
    status: str = "exact"

    @property
    def success(self) -> bool:
        return self.status == "exact"


def paper_bounds(N: int, d: int, width: int) -> dict[str, int]:
    """The paper's switch bounds for N points in dimension d with P = width neurons.

    Always Thm 3.3, :math:`2\\lceil N/P\\rceil - 1`; with ``width == 1`` also Thm 3.1,
    :math:`3N`; and when :math:`d > N` the Sec. 3.2 bound :math:`2\\lceil N/P\\rceil - 2`.

    Parameters
    ----------
    N : int
        Number of data points.
    d : int
        Dimension of the points.
    width : int
        Number P of neurons per piece.

    Returns
    -------
    dict of str to int
        The bound's label (e.g. ``"Thm 3.3: 2ceil(N/P)-1"``) -> number of switches.
    """
    k = math.ceil(N / width)
    out = {"Thm 3.3: 2ceil(N/P)-1": 2 * k - 1}
    if width == 1:
        out["Thm 3.1: 3N"] = 3 * N
    if d > N:
        out["Sec. 3.2 (d > N): 2ceil(N/P)-2"] = 2 * k - 2
    return out


def _min_gap(s: np.ndarray) -> float:
    if s.size < 2:
        return np.inf
    return float(np.min(np.diff(np.sort(s))))


def _best_direction(Pts: np.ndarray, basis: np.ndarray, rng: np.random.Generator,
                    num: int, avoid: np.ndarray | None = None) -> np.ndarray:
    """Unit vector in span(basis) (d, k) maximising the smallest gap of Pts @ u."""
    best, best_gap = None, -1.0
    for _ in range(num):
        u = basis @ rng.standard_normal(basis.shape[1])
        u /= np.linalg.norm(u)
        if avoid is not None and abs(float(u @ avoid)) > 0.9:
            continue
        gap = _min_gap(Pts @ u)
        if gap > best_gap:
            best, best_gap = u, gap
    if best is None:  # every candidate too close to `avoid`: take the orthogonal part
        g = basis @ rng.standard_normal(basis.shape[1])
        best = g - (g @ avoid) * avoid
        best /= np.linalg.norm(best)
    return best


def _shear_phase(X0: np.ndarray, target: np.ndarray, u: np.ndarray, P: int,
                 tau: float) -> tuple[list[Piece], np.ndarray]:
    """Shear pieces with normal u moving X0 onto ``target`` (same u-projections).

    All pieces of the phase share the normal u, so together they add the linear
    spline :math:`f(s) = \\sum_m \\tau w_m (s - c_m)_+` to every point, s = u.x.
    One knot per point, :math:`c_m \\in (s_{m-1}, s_m)`, placed so that the knot-to-left
    distance :math:`\\eta_m = s_m - c_m` is at least half the gap and the distance from
    :math:`s_{m-1}` to the knot is at most half of :math:`\\eta_{m-1}`: then the spline's
    overshoot between points is bounded by the data, not amplified.  The slopes
    are solved point by point in extended precision with error feedback on the
    rounded, stored weights, in the evaluation order of :func:`flow`.

    Returns the pieces and the positions after the phase, shape (N, d).
    """
    N, d = X0.shape
    s_all = X0 @ u
    order = np.argsort(s_all, kind="stable")
    s = s_all[order]
    R = target[order] - X0[order]
    R -= np.outer(R @ u, u)
    spread = float(s[-1] - s[0]) if N > 1 else 1.0
    spread = spread if spread > 0 else 1.0
    c = np.empty(N)
    c[0] = s[0] - spread
    eta_prev = spread
    for m in range(1, N):
        g = s[m] - s[m - 1]
        cm = s[m - 1] + min(0.5 * g, 0.5 * eta_prev)
        if not (s[m - 1] < cm < s[m]):
            raise DatasetError(
                "two projections coincide to machine precision; the data are too close to "
                "each other for an exact construction (rescale or separate them)")
        c[m] = cm
        eta_prev = s[m] - cm
    ld = np.longdouble
    cl = c.astype(ld)
    Wcols = np.zeros((N, d))
    S = np.zeros(d, dtype=ld)
    F = np.zeros(d, dtype=ld)
    for m in range(N):
        if m > 0:
            F = F + S * (cl[m] - cl[m - 1])
        S_want = (R[m].astype(ld) - F) / (ld(s[m]) - cl[m])
        w = np.asarray(S_want - S, dtype=np.float64) / tau
        w -= (w @ u) * u
        Wcols[m] = w
        S = S + (tau * w).astype(ld)
    K = -(-N // P)
    Wk = np.zeros((K * P, d))
    Wk[:N] = Wcols
    Wk = Wk.reshape(K, P, d).transpose(0, 2, 1)  # (K, d, P)
    bk = np.zeros(K * P)
    bk[:N] = -c
    bk = bk.reshape(K, P)
    Ak = np.broadcast_to(u, (K, P, d))
    if not (np.all(np.isfinite(Wk)) and np.all(np.isfinite(bk))):
        raise DatasetError("the construction overflowed: the data's projections are too close "
                           "relative to their spread; rescale or separate the points")
    pieces = [Piece._trusted(tau, Wk[i], Ak[i], bk[i]) for i in range(K)]
    after = eval_spline(spline_from_arrays(np.full(K, float(tau)), Wk, np.ascontiguousarray(Ak), bk, u), X0)
    return pieces, after


def interpolate(X: Any, Y: Any, *, width: int = 1, T: float = 1.0, random_state: Any = None,
                num_directions: int = 64, max_attempts: int = 3) -> InterpolationResult:
    """Construct a control whose flow map sends every :math:`x_i` to :math:`y_i`.

    .. math:: \\Phi_T(x_i; W, A, b) = y_i, \\qquad i = 1, \\dots, N,

    for the ReLU neural ODE (3.3) of width ``P = width`` (Theorems 3.1 and 3.3),
    with at most :math:`2\\lceil N/P\\rceil - 1` switches (fewer when the
    displacements :math:`y_i - x_i` do not span :math:`\\mathbb{R}^d`, e.g. d > N).

    Parameters
    ----------
    X : array (N, d)
        Inputs, pairwise distinct, d >= 2.
    Y : array (N, d)
        Targets, pairwise distinct.
    width : int
        Neurons per piece P >= 1.  A width above N cannot help (with P = N there is one
        neuron per point and L = 1 already; the extra neurons are zero): the control keeps
        width P while its zero padding stays below 10**6 parameters, beyond that it is built
        with P = N neurons (``control.width == N``) instead of allocating the padding.
    T : float
        Time horizon (> 0); every piece lasts T / (L + 1).
    random_state : None, int or Generator
        Seeds the choice of projection directions.
    num_directions : int
        Random candidate directions tried for each projection (the one with the
        largest minimal gap between projected points is kept).
    max_attempts : int
        Constructions tried (new directions each time) until the verified error is exact.

    Returns
    -------
    InterpolationResult
        ``control``, ``max_error``, ``num_switches``, ``bound``, ``status``.

    Raises
    ------
    DatasetError
        d = 1 (flows of 1-D ODEs preserve order), repeated inputs or targets
        (a flow is a bijection), NaN/inf, mismatched shapes.
    ParameterError
        width < 1, T <= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from controlml.node import interpolate
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> Y = np.array([[1.0, 1.0], [0.0, 0.0], [2.0, 0.0]])
    >>> res = interpolate(X, Y, width=1, random_state=0)
    >>> res.status, res.num_switches <= res.bound
    ('exact', True)
    """
    X = as_points(X, "X")
    Y = as_points(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise DatasetError(f"X and Y must have the same number of columns d; got {X.shape} and {Y.shape}")
    check_same_rows(X, Y)
    N, d = X.shape
    if d == 1:
        raise DatasetError(
            "X has d = 1 column: the flow of a 1-D ODE preserves order (trajectories cannot "
            "cross, Sec. 3.1), so data cannot be permuted; embed the data in d >= 2 dimensions")
    P = check_int(width, "width", minimum=1)
    T = check_positive(T, "T")
    num_directions = check_int(num_directions, "num_directions", minimum=1)
    max_attempts = check_int(max_attempts, "max_attempts", minimum=1)
    check_distinct_rows(X, "X", "the flow of a neural ODE is injective (trajectories cannot merge)")
    check_distinct_rows(Y, "Y", "the flow map is a bijection, so two inputs cannot reach one target")
    rng = check_random_state(random_state)

    centre = 0.5 * (X.mean(axis=0) + Y.mean(axis=0))
    scale = float(max(np.abs(X - centre).max(), np.abs(Y - centre).max(), np.finfo(float).tiny))
    Xn, Yn = (X - centre) / scale, (Y - centre) / scale
    bounds = paper_bounds(N, d, P)
    bound = min(bounds.values())
    k = math.ceil(N / P)
    if P > N and P * (2 * d + 1) > _MAX_PADDING:
        P = N  # same switch count (k = 1); the zero neurons would only cost memory

    best: InterpolationResult | None = None
    for _ in range(max_attempts):
        # directions are chosen on the normalised data (scale-free gaps); the pieces are
        # built in the user's coordinates so that their stored parameters are exactly the
        # ones the error-feedback solve accounted for
        control, method = _construct(X, Y, Xn, Yn, P, T, k, rng, num_directions)
        err = float(np.max(np.linalg.norm(flow(control, X) - Y, axis=1)))
        rel = err / scale
        L = control.num_switches
        status = "exact" if (rel <= EXACT_RTOL and L <= bound) else "inexact"
        res = InterpolationResult(control, err, rel, L, bound, bounds, method, status)
        if best is None or res.relative_error < best.relative_error:
            best = res
        if status == "exact":
            break
    return best


def _construct(X: np.ndarray, Y: np.ndarray, Xn: np.ndarray, Yn: np.ndarray, P: int, T: float,
               k: int, rng: np.random.Generator, num_directions: int) -> tuple[Control, str]:
    N, d = X.shape
    _, sv, Vt = np.linalg.svd(Yn - Xn, full_matrices=N < d)
    rank = int(np.sum(sv > 1e-12 * max(sv.max(initial=0.0), 1e-300)))
    if rank < d:
        basis = Vt[rank:].T  # directions orthogonal to every displacement
        u = _best_direction(Xn, basis, rng, num_directions)
        if _min_gap(Xn @ u) > 1e-9:
            pieces, _ = _shear_phase(X, Y, u, P, T / k)
            return Control(tuple(pieces)), "one-phase"
    eye = np.eye(d)
    u = _best_direction(Xn, eye, rng, num_directions)
    v = _best_direction(Yn, eye, rng, num_directions, avoid=u)
    q = v - (u @ v) * u
    lam = ((Y - X) @ v) / (q @ v)
    Z = X + np.outer(lam, q)
    tau = T / (2 * k)
    pieces1, Z_reached = _shear_phase(X, Z, u, P, tau)
    pieces2, _ = _shear_phase(Z_reached, Y, v, P, tau)
    return Control(tuple(pieces1 + pieces2)), "two-phase"

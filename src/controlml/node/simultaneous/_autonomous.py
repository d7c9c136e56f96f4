"""Approximate simultaneous control with an autonomous neural ODE (Theorem 3.4).

.. math:: \\dot x = W\\sigma(Ax + b), \\qquad \\sup_i |y_i - \\Phi_T(x_i)| \\le
          C\\,\\frac{\\log_2 \\kappa}{\\kappa^{1/d}}, \\quad \\kappa = (d + 2) d P,

with :math:`(W, A, b)` constant (L = 0 switches).  The proof has two steps, both
built here:

1. **A Lipschitz time-independent field** whose integral curves carry
   :math:`x_i` to :math:`y_i` in time T along pairwise disjoint paths
   :math:`\\gamma_i` (Fig. 3.3).  A straight path :math:`[x_i, y_i]` is kept when
   it meets no other path (always for generic data in d >= 3); the others are
   *bent* (see :func:`tube_field`): routed one after the other around the
   thickened earlier paths (in d = 2 a shortest path on a Delaunay graph refined
   near close endpoints, shortened by string pulling; in d >= 3 a detour through a
   random waypoint) and smoothed into a :math:`C^2` clamped cubic B-spline.  With the tube radius r below half the
   smallest distance between two paths and below the reach of every path,

   .. math:: V(x) = \\sum_i \\psi\\bigl(\\operatorname{dist}(x, \\gamma_i)/r\\bigr)\\,
             \\frac{L_i}{T}\\,\\tau_i(\\pi_i(x)),

   with :math:`L_i` the length of :math:`\\gamma_i`, :math:`\\pi_i` the nearest-point
   projection onto it, :math:`\\tau_i` its unit tangent and the C^1 bump
   :math:`\\psi(t) = (1 - t^2)_+^2` (:math:`\\psi(0) = 1`, :math:`\\psi'(0) = 0`).
   The tubes are disjoint, so on :math:`\\gamma_i` the field is the velocity of
   the constant-speed parametrisation of :math:`\\gamma_i`: the integral curve from
   :math:`x_i` is :math:`\\gamma_i`, and it reaches :math:`y_i` at time T exactly.
   V has compact support and is globally Lipschitz (:attr:`TubeField.lipschitz`).
2. **Its approximation by a width-P shallow ReLU field** :math:`W\\sigma(Ax + b)`:
   the hyperplanes are drawn at random through the tubes (unit normals
   :math:`a_j`, offsets through random points of the tubes), and W is the
   least-squares fit (``scipy.linalg.lstsq``, small ridge) of V on sample points
   of the tube cores (distance <= r/4 from a path), where the trajectories run:
   outside them the fitted field is free.  By
   Gronwall, :math:`\\sup_i |\\Phi_T(x_i) - y_i| \\le T e^{\\mathrm{Lip}(V) T}
   \\sup_{\\text{tubes}} |V - W\\sigma(A\\cdot + b)|` as long as the trajectories stay
   in the tubes; the measured error comes from :func:`~controlml.node.flow` (exact
   event-driven ReLU flow), not from this estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
from scipy.integrate import solve_ivp

from ..._checks import (
    as_points,
    check_distinct_rows,
    check_int,
    check_positive,
    check_random_state,
    check_same_rows,
)
from ...errors import ConvergenceError, DatasetError, ParameterError
from ..flows._control import Control, Piece
from ..flows._flow import flow
from ._paths import (
    _Curve,
    _NoRoute,
    _point_seg_dist,
    _route_detour,
    _route_plane,
    _sample_dist,
    _seg_dist,
    _segment_samples,
)

__all__ = ["AutonomousResult", "TubeField", "tube_field", "autonomous_interpolate", "vertex_autonomous"]

_PSI_LIP = 8.0 / (3.0 * math.sqrt(3.0))  # sup |psi'| for psi(t) = (1 - t^2)_+^2


def _psi(t: np.ndarray) -> np.ndarray:
    s = np.clip(t, 0.0, 1.0)  # C^1 bump: psi(0) = 1, psi'(0) = 0, psi = 0 on [1, oo)
    return (1.0 - s * s) ** 2


@dataclass(frozen=True)
class TubeField:
    """Step 1 of Theorem 3.4: the C^1 field V whose integral curves are the paths gamma_i.

    .. math:: V(x) = \\sum_i \\psi\\bigl(\\operatorname{dist}(x, \\gamma_i)/r\\bigr)\\,
              \\frac{L_i}{T}\\,\\tau_i(\\pi_i(x)), \\qquad \\psi(t) = (1 - t^2)_+^2.

    Attributes
    ----------
    X, Y : arrays (N, d)
        Start and end points.
    T : float
        Travel time.
    r : float
        Tube radius: below half the smallest distance between two paths and below
        the reach of every path (all segments: exactly half the smallest distance).
    paths : tuple of N arrays (K_i, d)
        Path i: ``K_i = 2``, the segment :math:`[x_i, y_i]`; ``K_i >= 4``, the control
        points of the clamped cubic B-spline (uniform knots :math:`0, \\dots, K_i - 3`,
        C^2) from :math:`x_i` to :math:`y_i`.  ``None`` at construction: all segments.
    clearance : float
        Smallest distance between two paths (inf for one path).
    """

    X: np.ndarray
    Y: np.ndarray
    T: float
    r: float
    paths: tuple[np.ndarray, ...] | None = None
    clearance: float = math.nan
    _curves: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        paths = self.paths
        if paths is None:
            paths = tuple(np.array([x, y]) for x, y in zip(self.X, self.Y, strict=False))
            object.__setattr__(self, "paths", paths)
        if math.isnan(self.clearance):
            object.__setattr__(self, "clearance", 2.0 * self.r if len(paths) > 1 else math.inf)
        object.__setattr__(self, "_curves",
                           tuple(None if p.shape[0] == 2 else _Curve(p, self.r / 16.0) for p in paths))

    @property
    def bent(self) -> tuple[int, ...]:
        """Indices of the bent (spline) paths."""
        return tuple(i for i, cv in enumerate(self._curves) if cv is not None)

    @property
    def lengths(self) -> np.ndarray:
        """(N,) lengths L_i of the paths (Gauss-Legendre quadrature on each spline span)."""
        return np.array([float(np.linalg.norm(p[1] - p[0])) if cv is None else cv.length
                         for p, cv in zip(self.paths, self._curves, strict=False)])

    @property
    def curvature_radius(self) -> np.ndarray:
        """(N,) lower bound of the radius of curvature of each path (inf for a segment; for a spline
        0.98 / the largest curvature sampled at 64 points per span)."""
        return np.array([math.inf if cv is None else cv.curvature_radius for cv in self._curves])

    def path_points(self, i: int, num: int = 200) -> np.ndarray:
        """(num, d) points of path i at equally spaced arclengths (approximately for a spline)."""
        s = np.linspace(0.0, 1.0, num)[:, None]
        cv = self._curves[i]
        if cv is None:
            return self.X[i] + s * (self.Y[i] - self.X[i])
        return cv.at_length(s[:, 0] * cv.length)

    def __call__(self, Z: Any) -> np.ndarray:
        """V at the rows of Z (M, d) -> (M, d)."""
        Z = np.atleast_2d(np.asarray(Z, dtype=np.float64))
        out = np.zeros_like(Z)
        for x, y, cv in zip(self.X, self.Y, self._curves, strict=False):
            if cv is None:
                out += _psi(_point_seg_dist(Z, x, y) / self.r)[:, None] * ((y - x) / self.T)[None, :]
            else:
                mask, dist, tangent = cv.project(Z, self.r)
                out[mask] += _psi(dist / self.r)[:, None] * (cv.length / self.T) * tangent
        return out

    @property
    def lipschitz(self) -> float:
        """An upper bound on Lip(V): :math:`\\max_i \\frac{L_i}{T}\\bigl(\\frac{\\sup|\\psi'|}{r}
        + \\frac{1}{\\rho_i - r}\\bigr)`, :math:`\\sup|\\psi'| = 8/(3\\sqrt 3)`, :math:`\\rho_i` the
        curvature radius of path i (the second term is 0 for a segment).

        In the tube, :math:`|\\nabla \\psi(\\operatorname{dist}/r)| \\le \\sup|\\psi'|/r` and the
        tangent of the nearest point moves at rate :math:`\\kappa/(1 - \\operatorname{dist}\\,\\kappa)
        \\le 1/(\\rho_i - r)`; V vanishes outside the disjoint tubes, so the local bounds
        are global (R^d is convex)."""
        L = self.lengths
        rho = self.curvature_radius
        extra = np.where(np.isfinite(rho), 1.0 / np.maximum(rho - self.r, 1e-300), 0.0)
        return float(np.max(L / self.T * (_PSI_LIP / self.r + extra)))

    def sample(self, M: int, rng: np.random.Generator, *, tube_fraction: float = 0.8,
               core: bool = False) -> np.ndarray:
        """M points: ``tube_fraction`` of them in the tubes (their cores, radius r/4, if ``core``),
        the rest uniform in the bounding box."""
        N, d = self.X.shape
        Mt = int(round(M * tube_fraction))
        i = rng.integers(0, N, Mt)
        s = rng.uniform(size=Mt)
        base = self.X[i] + s[:, None] * (self.Y[i] - self.X[i])
        for k, cv in enumerate(self._curves):
            if cv is not None and np.any(i == k):
                base[i == k] = cv.at_length(s[i == k] * cv.length)
        g = rng.standard_normal((Mt, d))
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        rad = (0.25 if core else 1.0) * self.r * rng.uniform(size=Mt) ** (1.0 / d)
        lo, hi = self.box
        return np.vstack([base + rad[:, None] * g, rng.uniform(lo, hi, size=(M - Mt, d))])

    @property
    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box of the tubes."""
        P = np.vstack([self.X, self.Y] + [cv.points for cv in self._curves if cv is not None])
        return P.min(axis=0) - self.r, P.max(axis=0) + self.r


def tube_field(X: Any, Y: Any, *, T: float = 1.0) -> TubeField:
    """Step 1 of Theorem 3.4: a C^1, globally Lipschitz field carrying each x_i to y_i in time T.

    .. math:: V(x) = \\sum_i \\psi\\bigl(\\operatorname{dist}(x, \\gamma_i)/r\\bigr)\\,
              \\frac{L_i}{T}\\,\\tau_i(\\pi_i(x))

    along pairwise disjoint paths :math:`\\gamma_i` from :math:`x_i` to :math:`y_i`
    (see :class:`TubeField`).

    **Paths.**  A segment :math:`[x_i, y_i]` meets another one when their distance is
    <= 1e-12 (relative to the data scale).  If no two segments meet, all paths are
    straight and r is half the smallest distance between them (as without bending).
    Otherwise a maximal set of segments is kept straight (greedily, fewest conflicts
    first; never a segment through another path's endpoint) and the others are bent,
    shortest first, each around the paths already placed:

    * d = 2: each endpoint e gets a clearance :math:`c_e` (a quarter of its distance to the
      other pairs' endpoints; for a bent pair's endpoint at most a third of its distance to
      a straight path), and the clearance field is
      :math:`c(x) = \\min(c_{\\max}, \\min_e c_e + |x - e|/4)`, small only near close
      endpoints.  The graph is the Delaunay triangulation (``scipy.spatial.Delaunay``) of
      nested lattices of step about c(x)/4 (finer near close endpoints) over the box of the
      data plus a margin, and of the endpoints; edges longer than 0.6 c are dropped.  A route
      is a shortest path (``scipy.sparse.csgraph.dijkstra``) through the nodes at least c(x)
      from the placed paths and 1.5 c_e from every later endpoint e, with edge weights that
      grow near these obstacles (the route keeps to the middle of the free corridors).  Then
      string pulling (jump to the farthest vertex in straight view that is not closer to the
      obstacles) and a C^2 clamped cubic B-spline rounding each corner (the rounding of a
      corner, first 3 c, is halved until the spline keeps 2c/3 from the placed paths and
      c_e from the later endpoints).  In the plane disjoint arcs never disconnect the domain,
      so a route exists; on the lattice it can be blocked when thickened paths close a
      narrow passage: then every c_e is halved (twice) before giving up.
    * d >= 3: a smoothed detour through the best of 48 random waypoints off the midpoint
      (generic detours miss every other curve in d >= 3).

    Then the clearance D (smallest distance between two paths, from dense samples minus
    their spacing) and :math:`r = \\min(0.45 D, 0.9\\,\\mathrm{reach}_i)`, the reach of
    a spline being the smaller of its curvature radius and half its narrowest bottleneck.

    Parameters
    ----------
    X, Y : arrays (N, d)
        Inputs and targets, d >= 2: the x_i distinct, the y_i distinct, and no
        x_i equal to a y_j with j != i (x_i = y_i is a rest point).
    T : float
        Travel time (> 0).

    Raises
    ------
    DatasetError
        Shapes, NaN, repeated inputs or targets, an input equal to another pair's target.
    ConvergenceError
        The router found no route with positive clearance (d = 2: endpoints so close compared
        with the data's extent that the paths would need more than 2 million samples or the
        lattice more than 4 million nodes, or thickened paths enclose an endpoint even at a
        quarter of the clearance; d >= 3: no random detour clears the others).
    """
    X = as_points(X, "X", min_dim=2)
    Y = as_points(Y, "Y", dim=X.shape[1])
    check_same_rows(X, Y)
    T = check_positive(T, "T")
    check_distinct_rows(X, "X", "the flow of a neural ODE is injective")
    check_distinct_rows(Y, "Y", "an injective flow cannot send two inputs to one target")
    N, d = X.shape
    scale = 1.0 + float(np.abs(np.vstack([X, Y])).max())
    tol = 1e-12 * scale
    if N > 1:
        dxy = np.linalg.norm(X[:, None, :] - Y[None, :, :], axis=2)
        np.fill_diagonal(dxy, np.inf)
        if dxy.min() <= tol:
            i, j = np.unravel_index(int(np.argmin(dxy)), dxy.shape)
            raise DatasetError(
                f"x_{i} equals y_{j}: the path of x_{j} would end where the path of x_{i} starts, and the "
                "tube construction needs pairwise disjoint paths; give distinct inputs and targets")
    D = np.full((N, N), np.inf)
    for i in range(N):
        for j in range(i + 1, N):
            D[i, j] = D[j, i] = _seg_dist(X[i], Y[i], X[j], Y[j])
    if N == 1:
        return TubeField(X.copy(), Y.copy(), T, max(float(np.linalg.norm(Y[0] - X[0])), 1.0))
    if D.min() > tol:  # all straight: unchanged construction
        return TubeField(X.copy(), Y.copy(), T, 0.5 * float(D.min()))
    conflict = D <= tol
    E = np.vstack([X, Y])
    owner = np.r_[np.arange(N), np.arange(N)]
    forced = np.zeros(N, dtype=bool)
    for i in range(N):
        others = owner != i
        forced[i] = bool(np.any(_point_seg_dist(E[others], X[i], Y[i]) <= tol))
    still = np.all(X == Y, axis=1)
    order = sorted(range(N), key=lambda i: (not still[i], int(conflict[i].sum()), i))
    keep = np.zeros(N, dtype=bool)
    for i in order:
        if not forced[i] and not np.any(conflict[i] & keep):
            keep[i] = True
    if d == 2:
        dE = np.linalg.norm(E[:, None] - E[None, :], axis=2)
        dE[owner[:, None] == owner[None, :]] = np.inf
        delta = dE.min(axis=1)  # each endpoint's distance to the other pairs' endpoints
        bent_e = ~np.r_[keep, keep]
        for i in np.flatnonzero(keep):  # a bent pair's endpoint keeps 3c from the straight paths
            delta[bent_e] = np.minimum(delta[bent_e], 4.0 / 3.0 * _point_seg_dist(E[bent_e], X[i], Y[i]))
        ce = 0.25 * delta  # endpoint discs of radius 1.5 c_e leave passages between them
        for attempt in range(3):
            try:
                paths = _route_plane(X, Y, keep, ce / 2 ** attempt)
                break
            except _NoRoute as err:
                if err.i < 0 or attempt == 2:
                    raise ConvergenceError(
                        f"tube_field could not bend the path of x_{err.i} (x_{err.i} = {X[err.i].tolist()} -> "
                        f"y_{err.i} = {Y[err.i].tolist()}): {err.why}. Try reordering the data, moving "
                        "nearly touching points apart, or embedding the data in d >= 3" if err.i >= 0 else
                        f"tube_field could not route the bent paths: {err.why} (clearance "
                        f"{float(ce.min()):.2g} needed near the closest endpoints, in a domain of size "
                        f"{float(np.max(E.max(0) - E.min(0))):.2g}); rescale the data or spread the points") from None
    else:
        try:
            paths = _route_detour(X, Y, keep)
        except _NoRoute as err:
            raise ConvergenceError(f"tube_field could not bend the path of x_{err.i}: {err.why}") from None
    # clearance and tube radius, from dense samples (spacing subtracted: a lower bound)
    ext = float(np.max(E.max(0) - E.min(0)))
    geo = [None if p.shape[0] == 2 else _Curve(p, ext / 2000.0) for p in paths]
    samples = [_segment_samples(X[i], Y[i], ext / 2000.0) if g is None else g.points for i, g in enumerate(geo)]
    gap = [0.0 if g is None else g.spacing for g in geo]
    clearance = math.inf
    for i in range(N):
        for j in range(i + 1, N):
            if geo[i] is None and geo[j] is None:
                dij = float(D[i, j])
            else:
                dij = _sample_dist(samples[i], samples[j]) - 0.5 * (gap[i] + gap[j])
            clearance = min(clearance, dij)
    r = 0.45 * clearance
    for g in geo:
        if g is not None:
            r = min(r, 0.9 * g.curvature_radius)
    for g in geo:
        if g is not None:
            r = min(r, 0.9 * g.self_reach(2.0 * r / 0.9))
    if not r > 0:
        raise ConvergenceError(f"tube_field built paths without positive clearance (clearance {clearance:.3g}); "
                               "move nearly touching points apart")
    return TubeField(X.copy(), Y.copy(), T, r, tuple(np.asarray(p, dtype=np.float64) for p in paths), clearance)


@dataclass(frozen=True)
class AutonomousResult:
    """Outcome of :func:`autonomous_interpolate`.

    Attributes
    ----------
    control : Control
        One constant piece of width P on [0, T] (L = 0 switches).
    field : TubeField
        The step-1 field V.
    max_error : float
        :math:`\\sup_i |\\Phi_T(x_i) - y_i|`, measured with :func:`flow`.
    field_error : float
        :math:`\\max |V - W\\sigma(A\\cdot + b)|` on fresh test points in the tube cores
        (distance <= r/4 from a path, where the trajectories run).
    step1_error : float
        :math:`\\sup_i |x_i(T) - y_i|` for the flow of V itself (DOP853), ~ 0.
    kappa : int
        :math:`(d + 2) d P`, the paper's parameter count.
    num_switches : int
        0.
    status : str
        ``"approximate"`` (the theorem's claim; the error is in ``max_error``).
    """

    control: Control
    field: TubeField
    max_error: float
    field_error: float
    step1_error: float
    kappa: int
    num_switches: int = 0
    status: str = "approximate"


def autonomous_interpolate(X: Any, Y: Any, *, width: int, T: float = 1.0, random_state: Any = None,
                           num_samples: int | None = None, ridge: float = 1e-10,
                           check_step1: bool = True, field: TubeField | None = None) -> AutonomousResult:
    """Constant controls (W, A, b) of width P whose flow nearly interpolates the data (Thm 3.4).

    .. math:: \\dot x = W\\sigma(Ax + b), \\qquad
              \\min_W \\sum_m |W\\sigma(Az_m + b) - V(z_m)|^2 + \\lambda |W|^2,

    with V the step-1 field of :func:`tube_field` (straight or bent paths), random
    hyperplanes (A, b) through the tubes and sample points :math:`z_m` in the tube cores.

    Parameters
    ----------
    X, Y : arrays (N, d)
        Inputs and targets (crossing straight paths are bent, see :func:`tube_field`).
    width : int
        Number of neurons P >= 1.
    T : float
        Time horizon (> 0).
    random_state : None, int or Generator
        Seeds the hyperplanes and the sample points.
    num_samples : int, optional
        Least-squares sample points (default ``max(20 P, 2000)``).
    ridge : float
        Ridge parameter :math:`\\lambda` (relative to the number of samples), >= 0.
    check_step1 : bool
        Integrate V with DOP853 to certify step 1 (``step1_error``).
    field : TubeField, optional
        The step-1 field ``tube_field(X, Y, T=T)`` built once and reused (e.g. across widths);
        it must have been built from the same X, Y and T.

    Returns
    -------
    AutonomousResult
        ``control``, ``max_error`` (verified with :func:`flow`), ``field_error``, ``kappa``.

    Raises
    ------
    DatasetError
        Bad shapes, repeated inputs or targets (see :func:`tube_field`).
    ConvergenceError
        No bent paths could be routed (see :func:`tube_field`).
    ParameterError
        width < 1, T <= 0, num_samples < 1, ridge < 0, a ``field`` built from other data.
    """
    P = check_int(width, "width", minimum=1)
    if field is None:
        field = tube_field(X, Y, T=T)
    else:
        if not isinstance(field, TubeField):
            raise ParameterError(f"field must be a TubeField from tube_field(X, Y, T=T); got {type(field).__name__}")
        Xc = as_points(X, "X", min_dim=2)
        Yc = as_points(Y, "Y", dim=Xc.shape[1])
        if (Xc.shape != field.X.shape or Yc.shape != field.Y.shape or not np.array_equal(Xc, field.X)
                or not np.array_equal(Yc, field.Y) or check_positive(T, "T") != field.T):
            raise ParameterError("field was built from other data: pass the TubeField of tube_field(X, Y, T=T) "
                                 "for these X, Y and T, or leave field=None")
    X, Y, T = field.X, field.Y, field.T
    N, d = X.shape
    M = max(20 * P, 2000) if num_samples is None else check_int(num_samples, "num_samples", minimum=1)
    if not (isinstance(ridge, int | float) and ridge >= 0 and math.isfinite(ridge)):
        raise ParameterError(f"ridge must be a finite number >= 0; got {ridge!r}")
    rng = check_random_state(random_state)
    lo, hi = field.box
    A = rng.standard_normal((P, d))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    centres = field.sample(P, rng, tube_fraction=1.0)  # hyperplanes through the tubes
    b = -np.sum(A * centres, axis=1)
    Z = field.sample(M, rng, tube_fraction=1.0, core=True)  # fit where the trajectories run
    F = np.maximum(Z @ A.T + b, 0.0)  # (M, P)
    V = field(Z)
    lam = math.sqrt(ridge * M)
    Fa = np.vstack([F, lam * np.eye(P)]) if lam > 0 else F
    Va = np.vstack([V, np.zeros((P, d))]) if lam > 0 else V
    Wt, *_ = scipy.linalg.lstsq(Fa, Va, lapack_driver="gelsd")
    W = Wt.T  # (d, P)
    control = Control((Piece(T, W, A, b),))
    XT = flow(control, X)
    err = float(np.max(np.linalg.norm(XT - Y, axis=1)))
    Zt = field.sample(4000, np.random.default_rng(rng.integers(2**31)), tube_fraction=1.0, core=True)
    ferr = float(np.max(np.linalg.norm(np.maximum(Zt @ A.T + b, 0.0) @ W.T - field(Zt), axis=1)))
    s1 = 0.0
    if check_step1:
        sol = solve_ivp(lambda _t, y: field(y.reshape(N, d)).ravel(), (0.0, T), X.ravel(), method="DOP853",
                        rtol=1e-10, atol=1e-12)
        s1 = float(np.max(np.linalg.norm(sol.y[:, -1].reshape(N, d) - Y, axis=1)))
    return AutonomousResult(control, field, err, ferr, s1, (d + 2) * d * P)


def vertex_autonomous(X: Any, Y: Any, *, T: float = 1.0) -> Control | None:
    """Exact autonomous control (L = 0, width N) when every path can be isolated by a hyperplane.

    Neuron i has a hyperplane :math:`a_i\\cdot x + b_i = 0` with :math:`a_i \\perp y_i - x_i`,
    :math:`a_i\\cdot x_i + b_i \\ge 1` and every other segment :math:`[x_j, y_j]` in
    :math:`\\{a_i\\cdot x + b_i \\le -1\\}` (a linear program per point, HiGHS), and
    :math:`w_i = (y_i - x_i)/(T z_i)`, :math:`z_i = a_i\\cdot x_i + b_i`.  Along segment i
    only neuron i is active and :math:`z_i` is constant, so :math:`\\Phi_T(x_i) = y_i`
    exactly.  Feasible with probability -> 1 as d grows for fixed N (points in general
    position in high dimension are vertices of their convex hull).  Returns ``None``
    when some LP is infeasible or when the control, checked with :func:`flow`, misses a
    target by more than 1e-8 (relative to the data scale).

    Parameters
    ----------
    X, Y : arrays (N, d)
    T : float
    """
    from scipy.optimize import linprog

    X = as_points(X, "X", min_dim=2)
    Y = as_points(Y, "Y", dim=X.shape[1])
    check_same_rows(X, Y)
    T = check_positive(T, "T")
    N, d = X.shape
    W = np.zeros((d, N))
    A = np.zeros((N, d))
    b = np.zeros(N)
    scale = max(float(np.abs(np.vstack([X, Y])).max()), 1.0)
    for i in range(N):
        others = np.vstack([np.delete(X, i, axis=0), np.delete(Y, i, axis=0)]) / scale
        # variables (a, b, t): minimise sum t, |a| <= t (largest l1-margin, well scaled)
        k = len(others)
        A_ub = np.zeros((k + 1 + 2 * d, 2 * d + 1))
        A_ub[:k, :d], A_ub[:k, d] = others, 1.0
        A_ub[k, :d], A_ub[k, d] = -X[i] / scale, -1.0
        A_ub[k + 1:k + 1 + d, :d], A_ub[k + 1:k + 1 + d, d + 1:] = np.eye(d), -np.eye(d)
        A_ub[k + 1 + d:, :d], A_ub[k + 1 + d:, d + 1:] = -np.eye(d), -np.eye(d)
        b_ub = np.r_[-np.ones(k + 1), np.zeros(2 * d)]
        A_eq = np.r_[(Y[i] - X[i]) / scale, np.zeros(d + 1)][None, :]
        res = linprog(np.r_[np.zeros(d + 1), np.ones(d)], A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[0.0],
                      bounds=[(None, None)] * (d + 1) + [(0, None)] * d, method="highs")
        if res.status != 0:
            return None
        A[i], b[i] = res.x[:d] / scale, res.x[d]
        z = float(A[i] @ X[i] + b[i])
        W[:, i] = (Y[i] - X[i]) / (T * z)
    control = Control((Piece(T, W, A, b),))
    # verified, not assumed: the exact flow must carry every x_i to y_i
    err = float(np.max(np.linalg.norm(flow(control, X) - Y, axis=1)))
    return control if err <= 1e-8 * scale else None

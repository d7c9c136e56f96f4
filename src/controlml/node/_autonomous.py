"""Approximate simultaneous control with an autonomous neural ODE (Theorem 3.4).

.. math:: \\dot x = W\\sigma(Ax + b), \\qquad \\sup_i |y_i - \\Phi_T(x_i)| \\le
          C\\,\\frac{\\log_2 \\kappa}{\\kappa^{1/d}}, \\quad \\kappa = (d + 2) d P,

with :math:`(W, A, b)` constant (L = 0 switches).  The proof has two steps, both
built here:

1. **A Lipschitz time-independent field** whose integral curves carry
   :math:`x_i` to :math:`y_i` in time T.  We use straight paths
   :math:`S_i = [x_i, y_i]`: when they are pairwise disjoint (always for generic
   data in d >= 3; in d = 2 when no two segments cross), with
   :math:`r = \\tfrac12 \\min_{i \\ne j} \\operatorname{dist}(S_i, S_j)`,

   .. math:: V(x) = \\sum_i \\psi\\bigl(\\operatorname{dist}(x, S_i)/r\\bigr)\\,\\frac{y_i - x_i}{T},

   with the C^1 bump :math:`\\psi(t) = (1 - t^2)_+^2` (:math:`\\psi(0) = 1`, :math:`\\psi'(0) = 0`).
   The tubes of radius r are disjoint, so :math:`V = (y_i - x_i)/T` on :math:`S_i` and
   the integral curve from :math:`x_i` is the segment, reached at time T exactly.
   V is C^1 with compact support, hence globally Lipschitz.
2. **Its approximation by a width-P shallow ReLU field** :math:`W\\sigma(Ax + b)`:
   the hyperplanes are drawn at random through the domain (unit normals
   :math:`a_j`, offsets through uniform points of the bounding box of the tubes),
   and W is the least-squares fit (``scipy.linalg.lstsq``, small ridge) of V on
   sample points, most of them in the tubes where the trajectories run.  By
   Gronwall, :math:`\\sup_i |\\Phi_T(x_i) - y_i| \\le T e^{\\mathrm{Lip}(V) T}
   \\sup_{\\text{tubes}} |V - W\\sigma(A\\cdot + b)|` as long as the trajectories stay
   in the tubes; the measured error comes from :func:`~controlml.node.flow` (exact
   event-driven ReLU flow), not from this estimate.

Limitation: crossing straight paths in d = 2 raise a :class:`DatasetError`
(the theorem bends the paths, Fig. 3.3; bent paths are not built here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
from scipy.integrate import solve_ivp

from .._checks import (
    as_points,
    check_distinct_rows,
    check_int,
    check_positive,
    check_random_state,
    check_same_rows,
)
from ..errors import DatasetError
from ._control import Control, Piece
from ._flow import flow

__all__ = ["AutonomousResult", "TubeField", "tube_field", "autonomous_interpolate", "vertex_autonomous"]


def _seg_dist(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> float:
    """Distance between segments [p0, p1] and [q0, q1] (any dimension)."""
    u, v, w0 = p1 - p0, q1 - q0, p0 - q0
    a, b, c, d, e = u @ u, u @ v, v @ v, u @ w0, v @ w0
    den = a * c - b * b
    cands = []
    if den > 1e-14 * max(a * c, 1e-300):
        s = np.clip((b * e - c * d) / den, 0.0, 1.0)
        t = np.clip((a * e - b * d) / den, 0.0, 1.0) if c > 0 else 0.0
        cands.append((s, t))
    for s in (0.0, 1.0):
        t = np.clip((b * s + e) / c, 0.0, 1.0) if c > 0 else 0.0
        cands.append((s, t))
    for t in (0.0, 1.0):
        s = np.clip((t * b - d) / a, 0.0, 1.0) if a > 0 else 0.0
        cands.append((s, t))
    return float(min(np.linalg.norm(p0 + s * u - q0 - t * v) for s, t in cands))


def _point_seg_dist(Z: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    u = p1 - p0
    uu = float(u @ u)
    s = np.clip(((Z - p0) @ u) / uu, 0.0, 1.0) if uu > 0 else np.zeros(Z.shape[0])
    return np.linalg.norm(Z - p0 - s[:, None] * u, axis=1)


def _psi(t: np.ndarray) -> np.ndarray:
    s = np.clip(t, 0.0, 1.0)  # C^1 bump: psi(0) = 1, psi'(0) = 0, psi = 0 on [1, oo)
    return (1.0 - s * s) ** 2


@dataclass(frozen=True)
class TubeField:
    """Step 1 of Theorem 3.4: the C^1 field V whose integral curves are the segments [x_i, y_i].

    Attributes
    ----------
    X, Y : arrays (N, d)
        Start and end points.
    T : float
        Travel time.
    r : float
        Tube radius (half the smallest distance between two segments).
    """

    X: np.ndarray
    Y: np.ndarray
    T: float
    r: float

    def __call__(self, Z: Any) -> np.ndarray:
        """V at the rows of Z (M, d) -> (M, d)."""
        Z = np.atleast_2d(np.asarray(Z, dtype=np.float64))
        out = np.zeros_like(Z)
        for x, y in zip(self.X, self.Y, strict=False):
            out += _psi(_point_seg_dist(Z, x, y) / self.r)[:, None] * ((y - x) / self.T)[None, :]
        return out

    @property
    def lipschitz(self) -> float:
        """An upper bound on Lip(V): max |y_i - x_i| / T * sup|psi'| / r (sup|psi'| = 8/(3 sqrt 3))."""
        return float(np.max(np.linalg.norm(self.Y - self.X, axis=1)) / self.T * 8.0 / (3.0 * math.sqrt(3.0))
                     / self.r)

    def sample(self, M: int, rng: np.random.Generator, *, tube_fraction: float = 0.8,
               core: bool = False) -> np.ndarray:
        """M points: ``tube_fraction`` of them in the tubes (their cores, radius r/4, if ``core``),
        the rest uniform in the bounding box."""
        N, d = self.X.shape
        Mt = int(round(M * tube_fraction))
        i = rng.integers(0, N, Mt)
        s = rng.uniform(size=Mt)
        base = self.X[i] + s[:, None] * (self.Y[i] - self.X[i])
        g = rng.standard_normal((Mt, d))
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        rad = (0.25 if core else 1.0) * self.r * rng.uniform(size=Mt) ** (1.0 / d)
        lo, hi = self.box
        return np.vstack([base + rad[:, None] * g, rng.uniform(lo, hi, size=(M - Mt, d))])

    @property
    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box of the tubes."""
        P = np.vstack([self.X, self.Y])
        return P.min(axis=0) - self.r, P.max(axis=0) + self.r


def tube_field(X: Any, Y: Any, *, T: float = 1.0) -> TubeField:
    """Step 1 of Theorem 3.4: a C^1, globally Lipschitz field carrying each x_i to y_i in time T.

    Parameters
    ----------
    X, Y : arrays (N, d)
        Inputs and targets, d >= 2, the segments :math:`[x_i, y_i]` pairwise disjoint.
    T : float
        Travel time (> 0).

    Raises
    ------
    DatasetError
        Shapes, NaN, repeated inputs, or two segments that meet (e.g. crossing paths in d = 2).
    """
    X = as_points(X, "X", min_dim=2)
    Y = as_points(Y, "Y", dim=X.shape[1])
    check_same_rows(X, Y)
    T = check_positive(T, "T")
    check_distinct_rows(X, "X", "the flow of a neural ODE is injective")
    N = X.shape[0]
    r = math.inf
    for i in range(N):
        for j in range(i + 1, N):
            dij = _seg_dist(X[i], Y[i], X[j], Y[j])
            if dij <= 1e-12 * (1.0 + float(np.abs(np.vstack([X, Y])).max())):
                raise DatasetError(
                    f"the straight paths [x_{i}, y_{i}] and [x_{j}, y_{j}] meet: an autonomous field cannot "
                    "carry both along them (its integral curves never cross). Bent paths are not built here; "
                    "embed the data in d >= 3 (generic segments are disjoint) or reorder the targets")
            r = min(r, 0.5 * dij)
    if not math.isfinite(r):  # one point
        r = max(float(np.linalg.norm(Y[0] - X[0])), 1.0)
    return TubeField(X.copy(), Y.copy(), T, r)


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
        (distance <= r/4 from a segment, where the trajectories run).
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
                           check_step1: bool = True) -> AutonomousResult:
    """Constant controls (W, A, b) of width P whose flow nearly interpolates the data (Thm 3.4).

    .. math:: \\dot x = W\\sigma(Ax + b), \\qquad
              \\min_W \\sum_m |W\\sigma(Az_m + b) - V(z_m)|^2 + \\lambda |W|^2,

    with V the step-1 field of :func:`tube_field` and random hyperplanes (A, b)
    through the domain.

    Parameters
    ----------
    X, Y : arrays (N, d)
        Inputs and targets (pairwise disjoint segments :math:`[x_i, y_i]`).
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

    Returns
    -------
    AutonomousResult
        ``control``, ``max_error`` (verified with :func:`flow`), ``field_error``, ``kappa``.

    Raises
    ------
    DatasetError
        Bad shapes, repeated inputs, meeting paths (see :func:`tube_field`).
    ParameterError
        width < 1, T <= 0, num_samples < 1, ridge < 0.
    """
    P = check_int(width, "width", minimum=1)
    field = tube_field(X, Y, T=T)
    X, Y, T = field.X, field.Y, field.T
    N, d = X.shape
    M = max(20 * P, 2000) if num_samples is None else check_int(num_samples, "num_samples", minimum=1)
    if not (isinstance(ridge, int | float) and ridge >= 0 and math.isfinite(ridge)):
        from ..errors import ParameterError

        raise ParameterError(f"ridge must be a finite number >= 0; got {ridge!r}")
    rng = check_random_state(random_state)
    lo, hi = field.box
    A = rng.standard_normal((P, d))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    centres = field.sample(P, rng, tube_fraction=0.5)  # hyperplanes through the tubes and the box
    b = -np.sum(A * centres, axis=1)
    Z = field.sample(M, rng)
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

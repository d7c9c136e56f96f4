"""Flow maps of the neural ODE (3.3) under a piecewise-constant control.

For the ReLU (and leaky ReLU) the vector field of a constant piece,
:math:`f(x) = W\\sigma(Ax + b)`, is continuous and affine on each cell of the
arrangement of the hyperplanes :math:`H_j = \\{a_j \\cdot x + b_j = 0\\}`, so
every piece is integrated without a time step:

* **single neuron** (Fig. 3.1): with :math:`z = a\\cdot x + b`, :math:`\\kappa = a\\cdot w`,
  the half-space :math:`\\{z \\le 0\\}` is invariant and on :math:`\\{z > 0\\}`
  :math:`z(t) = z_0 e^{\\kappa t}`, hence
  :math:`x(t) = x_0 + w z_0 (e^{\\kappa t} - 1)/\\kappa` (:math:`x_0 + t z_0 w` if
  :math:`\\kappa = 0`): compression (:math:`\\kappa < 0`), parallel motion
  (:math:`\\kappa = 0`), expansion (:math:`\\kappa > 0`);
* **shear** (:math:`AW = 0`: every direction :math:`w_j` is orthogonal to every
  normal :math:`a_i`): :math:`Ax` is invariant, so :math:`x(t) = x_0 + t\\,W\\sigma(Ax_0 + b)`
  exactly, for any activation;
* **general width P**: inside a cell with activation pattern :math:`g \\in \\{\\gamma, 1\\}^P`
  the field is affine, :math:`f(x) = Mx + c` with :math:`M = W\\,\\mathrm{diag}(g) A`,
  and the flow is a matrix exponential of the augmented matrix
  :math:`\\begin{pmatrix} M & c \\\\ 0 & 0\\end{pmatrix}`.  A point is advanced to the
  first time one of its :math:`z_j(t)` changes sign (bracketed on a grid, then
  located to machine precision with Brent's method), its pattern is updated
  from the sign of :math:`\\dot z_j = a_j \\cdot f(x)`, and so on until the end of the
  piece.  No step is taken across a kink.

Smooth activations (tanh, sigmoid) go through SciPy's adaptive DOP853, restarted
at every switch time, unless the piece is a shear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import expm
from scipy.optimize import brentq

from .._checks import as_points, check_int, check_option, check_positive
from ..errors import ControlError, ConvergenceError
from ._activations import ACTIVATIONS, PIECEWISE_LINEAR, activation_fn, negative_slope
from ._control import Control, Piece
from ._shear import eval_spline, parallel, single_normal_shear, spline_from_arrays

__all__ = ["flow", "piece_flow", "piece_kind", "Trajectory"]

_SHEAR_RTOL = 1e-13


@dataclass(frozen=True)
class Trajectory:
    """States along the flow, for plots.

    Attributes
    ----------
    t : array (K,)
        Sample times in [0, T], including 0, every switch time and T.
    X : array (K, N, d)
        ``X[k]`` is :math:`\\Phi_{t_k}` applied to the inputs.
    """

    t: np.ndarray
    X: np.ndarray


def _effective(piece: Piece) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = np.linalg.norm(piece.W, axis=0) > 0
    return piece.W[:, keep], piece.A[keep], piece.b[keep]


def piece_kind(piece: Piece) -> str:
    """How a piece is integrated: ``"rest"``, ``"shear"``, ``"single"`` or ``"general"``."""
    W, A, _ = _effective(piece)
    if W.shape[1] == 0:
        return "rest"
    AW = A @ W
    tol = _SHEAR_RTOL * np.linalg.norm(A, axis=1)[:, None] * np.linalg.norm(W, axis=0)[None, :]
    if np.all(np.abs(AW) <= tol):
        return "shear"
    if W.shape[1] == 1:
        return "single"
    return "general"


# ---------------------------------------------------------------------------------------
# exact integrators for piecewise-linear activations
# ---------------------------------------------------------------------------------------
def _single(W: np.ndarray, A: np.ndarray, b: np.ndarray, X: np.ndarray, t: float,
            gamma: float) -> np.ndarray:
    w, a = W[:, 0], A[0]
    z = X @ a + b[0]
    g = np.where(z > 0, 1.0, gamma)
    lam = g * float(a @ w)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(lam != 0, np.expm1(lam * t) / np.where(lam != 0, lam, 1.0), t)
    return X + (g * z * phi)[:, None] * w[None, :]


def _sigma_pl(Z: np.ndarray, gamma: float) -> np.ndarray:
    return np.where(Z > 0, Z, gamma * Z)


def _general(W: np.ndarray, A: np.ndarray, b: np.ndarray, X: np.ndarray, tau: float,
             gamma: float, max_events: int) -> np.ndarray:
    """Event-driven exact flow of x' = W sigma(Ax + b) for a piecewise-linear sigma."""
    X = X.copy()
    N, d = X.shape
    t_left = np.full(N, tau)
    anorm = np.linalg.norm(A, axis=1)
    for _ in range(max_events + 1):
        idx = np.flatnonzero(t_left > 0)
        if idx.size == 0:
            return X
        Xi = X[idx]
        Z = Xi @ A.T + b
        ztol = 1e-12 * (np.linalg.norm(Xi, axis=1)[:, None] * anorm[None, :] + np.abs(b) + 1e-300)
        F = _sigma_pl(Z, gamma) @ W.T
        dZ = F @ A.T
        pos = (Z > ztol) | ((np.abs(Z) <= ztol) & (dZ > 0))
        patterns, inv = np.unique(pos, axis=0, return_inverse=True)
        inv = inv.ravel()
        for gidx, pat in enumerate(patterns):
            members = idx[inv == gidx]
            g = np.where(pat, 1.0, gamma)
            M = (W * g) @ A
            c = (W * g) @ b
            B = np.zeros((d + 1, d + 1))
            B[:d, :d], B[:d, d] = M, c
            _advance_group(B, A, b, anorm, pat, X, t_left, members)
    raise ConvergenceError(
        f"the exact integrator met more than {max_events} hyperplane crossings in one piece; "
        "the field may slide along a hyperplane. Increase max_events or perturb the control.")


def _advance_group(B: np.ndarray, A: np.ndarray, b: np.ndarray, anorm: np.ndarray,
                   pat: np.ndarray, X: np.ndarray, t_left: np.ndarray, members: np.ndarray) -> None:
    d = X.shape[1]
    Y0 = np.hstack([X[members], np.ones((members.size, 1))])
    tl = t_left[members]
    tmax = float(tl.max())
    nrm = float(np.linalg.norm(B, 1))
    n = int(np.clip(np.ceil(8 * nrm * tmax), 8, 512))
    h = tmax / n
    Eh = expm(B * h)
    zscale = 1e-12 * (np.linalg.norm(Y0[:, :d], axis=1)[:, None] * anorm[None, :] + np.abs(b) + 1e-300)

    def changed(Y, zs):
        Z = Y[:, :d] @ A.T + b
        return np.where(pat, Z < -zs, Z > zs)

    first = np.full(members.size, -1)
    Y = Y0
    for k in range(1, n + 1):
        Y = Y @ Eh.T
        ch = changed(Y, zscale).any(axis=1) & (first < 0) & (k * h < tl)
        first[ch] = k
    # the state at the end of the remaining time, for points with no grid event
    done = first < 0
    for tv in np.unique(tl[done]):
        sel = np.flatnonzero(done & (tl == tv))
        Yend = Y0[sel] @ expm(B * tv).T
        late = changed(Yend, zscale[sel]).any(axis=1)
        # an event between the last grid point and t_left
        for i in sel[late]:
            first[i] = max(int(np.ceil(tv / h)), 1)
        ok = sel[~late]
        X[members[ok]] = Yend[~late, :d]
        t_left[members[ok]] = 0.0
    for i in np.flatnonzero(first >= 0):
        lo = (first[i] - 1) * h
        hi = min(first[i] * h, tl[i])
        y_lo = expm(B * lo) @ Y0[i] if lo > 0 else Y0[i]
        series = _TaylorFlow(B, y_lo, hi - lo)
        Yhi = series(hi - lo)
        Zhi = Yhi[:d] @ A.T + b
        zs = zscale[i]
        js = np.flatnonzero(np.where(pat, Zhi < -zs, Zhi > zs))
        delta = hi - lo
        for j in js:
            zj = series.linear(A[j], b[j])
            if (zj(0.0) > 0) == (Zhi[j] > 0):
                continue  # no sign change of the raw value on [lo, hi] (tolerance band)
            delta = min(delta, brentq(zj, 0.0, hi - lo, xtol=4e-16 * max(hi, 1e-300), rtol=8.9e-16))
        X[members[i]] = series(delta)[:d]
        s_star = lo + delta
        t_left[members[i]] = tl[i] - s_star if tl[i] - s_star > 1e-15 * tmax else 0.0


class _TaylorFlow:
    """y(delta) = expm(B delta) y0 on [0, h], as a Taylor polynomial when that is exact.

    With the grid chosen so that ||B h|| is small, the series converges to machine
    precision in a few terms and every evaluation during root finding is a dot product
    with precomputed Krylov vectors B^k y0 / k!; otherwise it falls back to expm.
    """

    def __init__(self, B: np.ndarray, y0: np.ndarray, h: float):
        self.B, self.y0 = B, y0
        terms = [y0]
        v = y0
        scale = np.linalg.norm(y0) + 1e-300
        self.ok = False
        for k in range(1, 40):
            v = (B @ v) * (h / k)
            terms.append(v)
            if np.linalg.norm(v) <= 1e-18 * scale:
                self.ok = True
                break
        self.h = h
        self.V = np.array(terms)  # (K, d+1), term k scaled by h^k / k!

    def __call__(self, delta: float) -> np.ndarray:
        if not self.ok:
            return expm(self.B * delta) @ self.y0
        r = delta / self.h if self.h > 0 else 0.0
        return np.polynomial.polynomial.polyval(r, self.V)

    def linear(self, a: np.ndarray, beta: float):
        """delta -> a . x(delta) + beta, with x the first d entries."""
        d = a.size
        if not self.ok:
            return lambda delta: float(self(delta)[:d] @ a + beta)
        c = self.V[:, :d] @ a
        c[0] += beta
        h = self.h
        return lambda delta: float(np.polynomial.polynomial.polyval(delta / h if h > 0 else 0.0, c))


def _smooth(piece: Piece, X: np.ndarray, activation: str, rtol: float, atol: float) -> np.ndarray:
    sig = activation_fn(activation)
    W, A, b = piece.W, piece.A, piece.b
    N, d = X.shape

    def rhs(_t, y):
        Z = y.reshape(N, d) @ A.T + b
        return (sig(Z) @ W.T).ravel()

    sol = solve_ivp(rhs, (0.0, piece.duration), X.ravel(), method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:
        raise ConvergenceError(f"DOP853 failed on a piece: {sol.message}; loosen rtol/atol")
    return sol.y[:, -1].reshape(N, d)


def piece_flow(piece: Piece, X: np.ndarray, t: float | None = None, *, activation: str = "relu",
               rtol: float = 1e-11, atol: float = 1e-13, max_events: int = 10_000) -> np.ndarray:
    """Flow of one constant piece for time ``t`` (default: its duration), X (N, d) -> (N, d)."""
    t = piece.duration if t is None else t
    if t != piece.duration:
        piece = Piece(t, piece.W, piece.A, piece.b)
    kind = piece_kind(piece)
    if kind == "rest":
        return X.copy()
    if kind == "shear":
        sig = activation_fn(activation)
        return X + t * (sig(X @ piece.A.T + piece.b) @ piece.W.T)
    if activation not in PIECEWISE_LINEAR:
        return _smooth(piece, X, activation, rtol, atol)
    gamma = negative_slope(activation)
    W, A, b = _effective(piece)
    if kind == "single":
        return _single(W, A, b, X, t, gamma)
    return _general(W, A, b, X, t, gamma, max_events)


def _relu_runs(control: Control, X: np.ndarray, kw: dict) -> np.ndarray:
    """ReLU flow, fusing consecutive shear pieces with a common normal into one spline.

    Single-neuron pieces are applied in place on the transposed state (d, N), whose
    contiguous rows make each closed-form update a few streaming passes.
    """
    dur, W, A, b = control.arrays
    XT = np.array(X.T, order="C")  # (d, N), always a copy: updated in place below
    ok, normals = single_normal_shear(W, A)
    keep = np.linalg.norm(W, axis=1) > 0  # (K, P)
    nkeep = keep.sum(axis=1)
    first = np.argmax(keep, axis=1)
    idx = np.arange(len(dur))
    kappa = np.einsum("kd,kd->k", A[idx, first], W[idx, :, first])
    k, n = 0, len(dur)
    while k < n:
        if nkeep[k] == 0:
            k += 1
            continue
        if not ok[k]:
            if nkeep[k] == 1:  # single neuron, closed form (Fig. 3.1)
                j = first[k]
                z = A[k, j] @ XT
                z += b[k, j]
                np.maximum(z, 0.0, out=z)
                z *= np.expm1(kappa[k] * dur[k]) / kappa[k] if kappa[k] != 0 else dur[k]
                XT += W[k, :, j][:, None] * z
            else:
                XT = np.ascontiguousarray(piece_flow(control.pieces[k], XT.T, **kw).T)
            k += 1
            continue
        ref = normals[k]
        j = k + 1
        while j < n and (nkeep[j] == 0 or (ok[j] and parallel(normals[j], ref))):
            j += 1
        sp = spline_from_arrays(dur[k:j], W[k:j], A[k:j], b[k:j], ref)
        XT = np.ascontiguousarray(eval_spline(sp, XT.T).T)
        k = j
    return np.ascontiguousarray(XT.T)


def flow(control: Control | Piece, X: Any, *, activation: str = "relu",
         return_trajectory: bool = False, num_samples: int = 16, rtol: float = 1e-11,
         atol: float = 1e-13, max_events: int = 10_000) -> Any:
    """The flow map :math:`\\Phi_T(\\cdot; W, A, b)` of (3.3) applied to the rows of X.

    Parameters
    ----------
    control : Control or Piece
        Piecewise-constant control on [0, T].
    X : array (N, d)
        Initial states :math:`x_i^0`.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"}
        Scalar activation :math:`\\sigma`.  ReLU and leaky ReLU (slope 0.01) are
        integrated exactly (closed forms or event-driven matrix exponentials);
        tanh and sigmoid with DOP853 restarted at every switch (shear pieces exactly).
    return_trajectory : bool
        Also return a :class:`Trajectory` sampled ``num_samples`` times per piece.
    num_samples : int
        Samples per piece in the trajectory.
    rtol, atol : float
        Tolerances of DOP853 (smooth activations only).
    max_events : int
        Guard on hyperplane crossings per piece (general ReLU pieces).

    Returns
    -------
    X_T : array (N, d)
        :math:`\\Phi_T(x_i^0)`.

    Notes
    -----
    Consecutive ReLU shear pieces whose neurons share one normal commute and
    leave :math:`a\\cdot x` invariant; they are applied at once as a linear spline
    in :math:`a\\cdot x` (see ``controlml.node._shear``), exactly and in
    :math:`O(N \\log N)`, accurately even for the steep splines of large
    interpolation problems.
    trajectory : Trajectory
        Only when ``return_trajectory``.

    Raises
    ------
    DatasetError
        X is not a finite (N, d) array with d = control.dim.
    """
    if isinstance(control, Piece):
        control = Control((control,))
    if not isinstance(control, Control):
        raise ControlError(f"control must be a Control or a Piece; got {type(control).__name__}")
    check_option(activation, "activation", ACTIVATIONS)
    X = as_points(X, "X", dim=control.dim)
    rtol = check_positive(rtol, "rtol")
    atol = check_positive(atol, "atol")
    max_events = check_int(max_events, "max_events", minimum=1)
    kw = dict(activation=activation, rtol=rtol, atol=atol, max_events=max_events)
    if not return_trajectory:
        if activation == "relu":
            return _relu_runs(control, X, kw)
        for p in control.pieces:
            X = piece_flow(p, X, **kw)
        return X
    num_samples = check_int(num_samples, "num_samples", minimum=1)
    ts, Xs, t0 = [0.0], [X], 0.0
    for p in control.pieces:
        h = p.duration / num_samples
        for k in range(num_samples):
            X = piece_flow(p, X, h, **kw)
            ts.append(t0 + (k + 1) * h)
            Xs.append(X)
        t0 += p.duration
    return X, Trajectory(np.array(ts), np.stack(Xs))

"""Runs of shear pieces sharing one normal: a vector-valued linear spline in s = a.x.

If every neuron of consecutive ReLU pieces has its normal parallel to one
vector :math:`a` and every direction :math:`w_j \\perp a`, then :math:`s = a\\cdot x`
is invariant along the whole run, the pieces commute, and the run maps

.. math:: x \\mapsto x + \\sum_j \\tau_j w_j \\sigma(\\alpha_j s + b_j),
          \\qquad a_j = \\alpha_j a,

a continuous piecewise-linear function of s with one knot
:math:`c_j = -b_j/\\alpha_j` per neuron.  It is evaluated here in knot-relative
form (values at the knots and slopes between them, accumulated in extended
precision), which stays accurate when the knots are very close, i.e. when the
slopes are large: the regime of interpolating controls for large N.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Spline", "single_normal_shear", "spline_from_arrays", "eval_spline", "parallel"]

_PAR_RTOL = 1e-13


def single_normal_shear(W: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For stacked pieces W (K, d, P), A (K, P, d): which are shears with one normal, and it.

    Returns ``ok`` (K,) and ``normals`` (K, d) (the first active neuron's a_j).
    Neurons with w_j = 0 are ignored.
    """
    K, d, P = W.shape
    wn = np.linalg.norm(W, axis=1)  # (K, P)
    an = np.linalg.norm(A, axis=2)  # (K, P)
    keep = wn > 0
    cand = keep & (an > 0)
    has = cand.any(axis=1)
    idx = np.argmax(cand, axis=1)
    ref = A[np.arange(K), idx]  # (K, d)
    rr = np.einsum("kd,kd->k", ref, ref)
    rr_safe = np.where(rr > 0, rr, 1.0)
    coef = np.einsum("kpd,kd->kp", A, ref) / rr_safe[:, None]
    resid = np.linalg.norm(A - coef[:, :, None] * ref[:, None, :], axis=2)
    par = np.all(~keep | (resid <= _PAR_RTOL * an), axis=1)
    wdot = np.abs(np.einsum("kdp,kd->kp", W, ref))
    perp = np.all(~keep | (wdot <= _PAR_RTOL * wn * np.sqrt(rr)[:, None]), axis=1)
    return has & par & perp, ref


def parallel(a: np.ndarray, ref: np.ndarray) -> bool:
    """Whether a is parallel to ref (relative tolerance 1e-13)."""
    rr = float(ref @ ref)
    r = a - (a @ ref / rr) * ref
    return bool(np.linalg.norm(r) <= _PAR_RTOL * np.linalg.norm(a))


class Spline:
    """Knots, cumulative slopes and knot values of a run, ready for evaluation."""

    def __init__(self, ref, knots_r, V_r, knots_l, V_l, const):
        self.ref = ref
        self.right = _prefix(knots_r, V_r)
        self.left = _prefix(-knots_l, V_l)
        self.const = const


def _prefix(knots: np.ndarray, V: np.ndarray):
    if knots.size == 0:
        return None
    order = np.argsort(knots, kind="stable")
    c = knots[order].astype(np.longdouble)
    S = np.cumsum(V[order].astype(np.longdouble), axis=0)  # slope right of each knot
    F = np.zeros_like(S)
    F[1:] = np.cumsum(S[:-1] * np.diff(c)[:, None], axis=0)  # value at each knot
    return c, S, F


def _eval_one(part, s: np.ndarray) -> np.ndarray:
    c, S, F = part
    sl = s.astype(np.longdouble)
    m = np.searchsorted(c, sl, side="left") - 1  # last knot strictly below s
    out = np.zeros((s.size, S.shape[1]), dtype=np.longdouble)
    act = m >= 0
    mm = m[act]
    out[act] = F[mm] + S[mm] * (sl[act] - c[mm])[:, None]
    return out


def spline_from_arrays(dur: np.ndarray, W: np.ndarray, A: np.ndarray, b: np.ndarray,
                       ref: np.ndarray) -> Spline:
    """The spline of a run: dur (K,), W (K, d, P), A (K, P, d), b (K, P), common normal ref (d,)."""
    K, d, P = W.shape
    w = W.transpose(0, 2, 1).reshape(-1, d)
    a = A.reshape(-1, d)
    bb = b.reshape(-1)
    tau = np.repeat(dur, P)
    keep = np.any(w != 0, axis=1)
    w, a, bb, tau = w[keep], a[keep], bb[keep], tau[keep]
    rr = float(ref @ ref)
    alpha = (a @ ref) / rr
    alpha[np.all(a == ref, axis=1)] = 1.0  # bitwise-equal normals: exact knots and weights
    one = alpha == 1.0
    V = np.where(one[:, None], tau[:, None] * w, (tau * np.abs(alpha))[:, None] * w)
    pos, neg, zero = alpha > 0, alpha < 0, alpha == 0
    knots = np.zeros_like(bb)
    knots[~zero] = -bb[~zero] / alpha[~zero]
    const = ((tau * np.maximum(bb, 0.0))[zero][:, None] * w[zero]).sum(axis=0)
    return Spline(ref, knots[pos], V[pos], knots[neg], V[neg], const)


def eval_spline(sp: Spline, X: np.ndarray) -> np.ndarray:
    """Apply the run to X (N, d).

    The projection is always computed on a C-contiguous copy so that it is bitwise
    the one the interpolation construction solved against (steep splines amplify
    the last-bit differences between BLAS summation orders).
    """
    X = np.ascontiguousarray(X)
    s = X @ sp.ref
    disp = np.zeros(X.shape, dtype=np.longdouble)
    if sp.right is not None:
        disp += _eval_one(sp.right, s)
    if sp.left is not None:
        disp += _eval_one(sp.left, -s)
    return (X + disp.astype(np.float64)) + sp.const

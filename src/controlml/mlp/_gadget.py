"""The width-2 "collapse one run" gadget shared by the classifier and the approximation.

A scalar state ``w >= 0`` is carried through the network.  Finished values sit in
``[0, F]`` (``F`` the largest label value); pending values sit in ``[A*, inf)`` with
``A* = 2F + 2``, in increasing order of the projection.  One step collapses the
leftmost pending run ``[a, b]`` (the next run starts at ``c > b``) onto its value
``ell`` with two ReLU layers of width 2:

    h1 = relu(w),                    h2 = relu(w - tau)
    n1 = relu(h1 - (1 + s) h2 + kappa), n2 = relu(h2 - delta)
    w' = n1 + s n2 - kappa           (affine, folded into the next layer)

With ``tau = a - delta``, ``s = (tau - ell) / delta`` and ``w_c = (b + c) / 2``,
``kappa = s (w_c - a) - ell``, the map ``w -> w'`` is

    w'(w) = w                      for 0 <= w <= tau        (finished points unchanged)
    w'(w) = ell                    for a <= w <= w_c        (the run, collapsed)
    w'(w) = ell + s (w - w_c)      for w >= w_c             (pending points, increasing)

The slope is chosen so that the next run starts at ``A*`` again (``s = 2 (A* - ell) / (c - b)``)
unless that would put ``tau`` below ``F + 1`` (then ``s = (F + 1 - ell) / (a - F - 1)``); both
keep ``kappa >= 2 > 0``, ``tau >= F + 1`` and the pending values ``>= A*``: the invariant holds
and the magnitudes stay of the order ``A* (range / gap)`` -- no growth with the number of steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Step", "plan_steps", "Builder"]


@dataclass(frozen=True)
class Step:
    """Parameters of one collapse step (two layers)."""

    tau: float
    delta: float
    s: float
    kappa: float


def plan_steps(lo: np.ndarray, hi: np.ndarray, values: np.ndarray, F: float, *,
               collapse_last: bool) -> tuple[float, list[Step]]:
    """Plan the steps collapsing runs ``[lo_j, hi_j]`` (sorted, disjoint) onto ``values_j``.

    Returns ``(alpha, steps)``: the first scalar is ``w0 = A* + alpha (z - lo_0)`` and the
    steps collapse runs ``0..K-2`` (``collapse_last=False``: the last run is finished by
    ``min(w, F)``, so its value must be ``F``) or ``0..K-1`` (``collapse_last=True``: a
    fictitious next run at unit distance, then ``min(w, F)`` clamps stray pending points).
    All computations are done in local coordinates (differences of the original ``z``), so
    no cancellation against large offsets occurs.
    """
    K = lo.shape[0]
    A_star = 2.0 * F + 2.0
    t_min = F + 1.0
    span = float(hi[-1] - lo[0])
    alpha = 1.0 / span if span > 0 else 1.0
    steps: list[Step] = []
    a = A_star
    al = alpha
    n_steps = K if collapse_last else K - 1
    for j in range(n_steps):
        ell = float(values[j])
        width = al * float(hi[j] - lo[j])
        b = a + width
        g = al * float(lo[j + 1] - hi[j]) if j + 1 < K else max(width, 1.0)
        s_t = 2.0 * (A_star - ell) / g
        s_m = (t_min - ell) / (a - t_min)
        s = max(s_t, s_m)
        delta = (a - ell) / (1.0 + s)
        tau = a - delta
        w_c = b + 0.5 * g
        kappa = s * (w_c - a) - ell
        steps.append(Step(tau=tau, delta=delta, s=s, kappa=kappa))
        a = ell + 0.5 * s * g
        al = al * s
    return alpha, steps


class Builder:
    """Builds an MLP layer by layer; a scalar is an affine expression ``(coef, const)`` of the
    current neurons, so affine read-outs fold into the next layer at no depth cost."""

    def __init__(self, d_in: int):
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        self.width = d_in

    def unit(self, i: int) -> tuple[np.ndarray, float]:
        e = np.zeros(self.width)
        e[i] = 1.0
        return e, 0.0

    def layer(self, rows: list[tuple[np.ndarray, float]]) -> list[tuple[np.ndarray, float]]:
        A = np.stack([np.asarray(r[0], dtype=np.float64) for r in rows])
        b = np.array([float(r[1]) for r in rows])
        self.layers.append((A, b))
        self.width = len(rows)
        return [self.unit(i) for i in range(self.width)]

    @staticmethod
    def lin(*terms: tuple[float, tuple[np.ndarray, float]], const: float = 0.0):
        """``sum_i c_i e_i + const`` for expressions ``e_i`` (all over the same neurons)."""
        coef = sum(c * e[0] for c, e in terms)
        return coef, const + sum(c * e[1] for c, e in terms)

    def step(self, w, st: Step, carry=()):
        """Two layers collapsing one run; ``carry`` are non-negative expressions passed along."""
        carry = list(carry)
        h = self.layer([w, self.lin((1.0, w), const=-st.tau), *carry])
        h1, h2, hc = h[0], h[1], h[2:]
        n = self.layer([self.lin((1.0, h1), (-(1.0 + st.s), h2), const=st.kappa),
                        self.lin((1.0, h2), const=-st.delta), *hc])
        w_new = self.lin((1.0, n[0]), (st.s, n[1]), const=-st.kappa)
        return w_new, n[2:]

    def clamp(self, w, F: float, carry=()):
        """One layer: ``(relu(w), relu(w - F))``; returns the expression ``min(w, F)`` for ``w >= 0``."""
        h = self.layer([w, self.lin((1.0, w), const=-F), *carry])
        return self.lin((1.0, h[0]), (-1.0, h[1])), h[2:]

"""A slow, independent reference for the exact piecewise-linear flow (tests and benchmarks).

Inside one cell of the hyperplane arrangement :math:`\\{a_j\\cdot x + b_j = 0\\}` the field
:math:`W\\sigma(Ax + b)` is affine, so DOP853 integrates it to its own tolerance; SciPy's
event location stops it at the next crossing, where the activation pattern is updated.
Nothing is shared with :func:`~controlml.node.flow`'s Taylor/event machinery.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ._control import Piece

__all__ = ["cellwise_flow"]


def cellwise_flow(piece: Piece, x0: np.ndarray, *, gamma: float = 0.0, rtol: float = 1e-12
                  ) -> tuple[np.ndarray, int]:
    """x(T) (d,) for one start x0 (d,) under a ReLU (gamma = 0) or leaky-ReLU piece, and the number
    of hyperplane crossings met."""
    W, A, b, T = piece.W, piece.A, piece.b, piece.duration
    x, t, crossings = np.array(x0, dtype=float), 0.0, 0
    while True:
        z = A @ x + b
        tol = 1e-11 * (np.linalg.norm(x) * np.linalg.norm(A, axis=1) + np.abs(b))
        dz = A @ (W @ np.where(z > 0, z, gamma * z))
        pos = (z > tol) | ((np.abs(z) <= tol) & (dz > 0))
        g = np.where(pos, 1.0, gamma)
        M, c = (W * g) @ A, (W * g) @ b
        sgn = np.where(pos, 1.0, -1.0)
        on = np.abs(z) <= tol  # the plane just crossed: its own event, from z = 0
        rest = np.flatnonzero(~on)
        events = [lambda _t, y, j=rest, s=sgn: np.min(s[j] * (A[j] @ y + b[j]), initial=1.0)]
        events += [lambda _t, y, j=j, s=sgn[j]: s * (A[j] @ y + b[j]) for j in np.flatnonzero(on)]
        for event in events:
            event.terminal, event.direction = True, -1
        sol = solve_ivp(lambda _t, y, M=M, c=c: M @ y + c, (t, T), x, method="DOP853",
                        rtol=rtol, atol=1e-15, events=events)
        x, t = sol.y[:, -1], sol.t[-1]
        if sol.status == 0:
            return x, crossings
        crossings += 1

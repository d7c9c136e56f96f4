"""Exact flows against torchdiffeq's dopri5, and the construction's scaling.

Setting of issue 2: 2,000 points through 300 random single-neuron ReLU pieces
in d = 2.  torchdiffeq integrates piece by piece (split at every switch, as its
maintainers advise for piecewise-constant fields) at rtol 1e-5 and 1e-9; both
errors are measured against the exact flow, in the same run.

General width (Theorem 3.4's fitted fields): one piece x' = W relu(Ax + b) in d = 2 with
P = 128 / 512 random hyperplanes through [0, 1]^2 and ||W|| = 1, N = 50 / 2,000 points,
T = 1.  The exact event-driven flow against torchdiffeq dopri5 (rtol 1e-9) and SciPy DOP853
(rtol 1e-9), same run; every error is measured against a tight reference (DOP853 at rtol
1e-13 inside each cell, restarted at every crossing located by SciPy) on a subset of points.
The baselines integrate the first 50 points only (their cost grows faster than N: every kink
of any point cuts the joint step), so ``ratio`` there is per point, a lower bound.
"""

from __future__ import annotations

import numpy as np

from benchmarks._timing import best_time


def _random_control(rng, num_pieces, d=2):
    from controlml.node import Control, Piece

    return Control(tuple(Piece(0.01, rng.standard_normal((d, 1)), rng.standard_normal((1, d)),
                               rng.standard_normal(1)) for _ in range(num_pieces)))


def _torchdiffeq_flow(control, X, rtol):
    import torch
    from torchdiffeq import odeint

    x = torch.as_tensor(X, dtype=torch.float64)
    for p in control.pieces:
        W = torch.tensor(p.W)
        A = torch.tensor(p.A)
        b = torch.tensor(p.b)

        def f(_t, y, W=W, A=A, b=b):
            return torch.relu(y @ A.T + b) @ W.T

        t = torch.tensor([0.0, p.duration], dtype=torch.float64)
        x = odeint(f, x, t, method="dopri5", rtol=rtol, atol=rtol * 1e-3)[-1]
    return x.numpy()


def _arrangement_piece(rng, P, d=2):
    from controlml.node import Piece

    A = rng.standard_normal((P, d))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    b = -np.einsum("pd,pd->p", A, rng.uniform(0, 1, (P, d)))
    W = rng.standard_normal((d, P))
    W /= np.linalg.norm(W, 2)
    return Piece(1.0, W, A, b)


def _torchdiffeq_piece(piece, X, rtol):
    import torch
    from torchdiffeq import odeint

    W, A, b = (torch.tensor(v) for v in (piece.W, piece.A, piece.b))
    t = torch.tensor([0.0, piece.duration], dtype=torch.float64)
    x = torch.as_tensor(X, dtype=torch.float64)
    with torch.no_grad():
        return odeint(lambda _t, y: torch.relu(y @ A.T + b) @ W.T, x, t, method="dopri5",
                      rtol=rtol, atol=rtol * 1e-3)[-1].numpy()


def _dop853_piece(piece, X, rtol):
    from scipy.integrate import solve_ivp

    N, d = X.shape

    def rhs(_t, y):
        return (np.maximum(y.reshape(N, d) @ piece.A.T + piece.b, 0.0) @ piece.W.T).ravel()

    sol = solve_ivp(rhs, (0.0, piece.duration), X.ravel(), method="DOP853", rtol=rtol,
                    atol=rtol * 1e-3)
    return sol.y[:, -1].reshape(N, d)


def _cellwise_reference(piece, x0):
    """DOP853 (rtol 1e-13) inside one cell at a time, restarted at every crossing."""
    from controlml.node.flows import cellwise_flow

    return cellwise_flow(piece, x0, rtol=1e-13)[0]


def _general_width_rows(rng, quick):
    from controlml.node import flow

    rows = []
    for P in ((128,) if quick else (128, 512)):
        piece = _arrangement_piece(rng, P)
        for N in ((50,) if quick else (50, 2000)):
            X = rng.uniform(0, 1, (N, 2))
            t_ours, exact = _best_of(lambda piece=piece, X=X: flow(piece, X), 1 if N > 100 else 3)
            sub = np.arange(min(N, 10 if quick else 25))
            ref = np.array([_cellwise_reference(piece, X[i]) for i in sub])
            ours_err = float(np.abs(exact[sub] - ref).max())
            # the baselines integrate one joint system whose every kink (of any point) cuts
            # the step, so their cost grows faster than N: they run on the first nb points
            # and the ratio compares time per point (a lower bound of the full-N ratio)
            nb = min(N, 10 if quick else 50)
            for label, fn in (("torchdiffeq dopri5 rtol=1e-9", _torchdiffeq_piece),
                              ("scipy DOP853 rtol=1e-9", _dop853_piece)):
                t_base, approx = _best_of(lambda fn=fn, piece=piece, Xb=X[:nb]: fn(piece, Xb, 1e-9), 1)
                rows.append({"name": f"general width P={P}, N={N}, d=2, T=1 (one piece)",
                             "ours_s": t_ours, "baseline": label, "baseline_s": t_base,
                             "ratio": (t_base / nb) / (t_ours / N), "baseline_points": nb,
                             "ours_error_vs_reference": ours_err,
                             "baseline_error_vs_reference": float(np.abs(approx[sub[sub < nb]]
                                                                         - ref[sub < nb]).max()),
                             "baseline_error_vs_exact": float(np.abs(approx - exact[:nb]).max()),
                             "reference_points": int(sub.size)})
    return rows



def run(quick: bool = False) -> list[dict]:
    from controlml.node import flow, interpolate

    rng = np.random.default_rng(0)
    n_pts, n_pieces = (200, 30) if quick else (2000, 300)
    control = _random_control(rng, n_pieces)
    X = rng.standard_normal((n_pts, 2))
    _torchdiffeq_flow(control, X[:5], 1e-5)  # warm-up (imports, first-call overheads)
    t_ours, exact = _best_of(lambda: flow(control, X), 3)
    # an independent tight reference to show that ours is exact
    reference = _torchdiffeq_flow(control, X, 1e-12)
    ours_err = float(np.abs(exact - reference).max())
    rows = []
    for rtol in (1e-5, 1e-9):
        t_base, approx = _best_of(lambda rtol=rtol: _torchdiffeq_flow(control, X, rtol), 2)
        rows.append({"name": f"flow {n_pts} pts x {n_pieces} single-neuron pieces, d=2",
                     "ours_s": t_ours, "baseline": f"torchdiffeq dopri5 rtol={rtol:g}",
                     "baseline_s": t_base, "ratio": t_base / t_ours,
                     "baseline_error_vs_exact": float(np.abs(approx - exact).max()),
                     "ours_error_vs_dopri5_rtol1e-12": ours_err})
    for N in ((100, 1000) if quick else (100, 1000, 10_000)):
        Xi, Yi = rng.standard_normal((N, 2)), rng.standard_normal((N, 2))
        t_c, res = _best_of(lambda Xi=Xi, Yi=Yi: interpolate(Xi, Yi, width=1, random_state=0), 1)
        rows.append({"name": f"interpolate N={N}, d=2, P=1", "ours_s": t_c, "baseline": "-",
                     "baseline_s": float("nan"), "ratio": float("nan"),
                     "switches": res.num_switches, "bound": res.bound,
                     "relative_error": res.relative_error, "status": res.status})
    rows += _general_width_rows(rng, quick)
    return rows


def _best_of(fn, repeat):
    return best_time(fn, repeat)

"""Exact flows against torchdiffeq's dopri5, and the construction's scaling.

Setting of issue 2: 2,000 points through 300 random single-neuron ReLU pieces
in d = 2.  torchdiffeq integrates piece by piece (split at every switch, as its
maintainers advise for piecewise-constant fields) at rtol 1e-5 and 1e-9; both
errors are measured against the exact flow, in the same run.
"""

from __future__ import annotations

import time

import numpy as np


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


def _best_of(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


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
    return rows

"""HYCO vs physics-only vs PINN on the Helmholtz case, and the physical solver's cost vs grid size.

1. ``fitters``: time per epoch and time to a parameter error of 0.1 of
   :func:`controlml.hyco.hyco_fit`, :func:`physics_fit` and :func:`pinn_fit` on the
   authors' Helmholtz case (25 points in (0, pi)^2, no noise, their widths (256, 256),
   learning rates and epochs; the PINN with their 400 + 400 points), over a few seeds.
   "time to 0.1" is epochs-to-0.1 x the measured time per epoch (``None``: not reached).
2. ``solver``: one forward + backward of :class:`controlml.hyco.Helmholtz2D` (assembly,
   ``splu``, bilinear read-out, transposed solve) on n x n meshes, n = 18, 64, 256
   (289 ... 65,025 unknowns), against the same system solved densely
   (``torch.linalg.solve`` with autograd) where it fits in memory. The log-log slope of
   time vs unknowns says how the sparse solve scales (1 = linear).

One torch thread throughout, so the ratios compare code, not core counts.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from benchmarks._timing import best_time


def _fitters(quick: bool) -> list[dict]:
    from controlml.reproduce.experiments.sec5_hyco import run_helmholtz_case

    epochs = 40 if quick else 1288
    seeds = 1 if quick else 2
    n_pinn = 50 if quick else 400
    widths = (64, 64) if quick else (256, 256)
    per: dict[str, list[float]] = {}
    hit: dict[str, list] = {}
    err: dict[str, list[float]] = {}
    for s in range(seeds):
        out = run_helmholtz_case(0.0, np.random.default_rng([16, s]), epochs=epochs,
                                 widths=widths, n_interior=n_pinn, n_boundary=n_pinn)
        for m in ("HYCO", "physics-only", "PINN"):
            r = out[m]
            per.setdefault(m, []).append(r.seconds / epochs)
            e = r.epochs_to(0.1)
            hit.setdefault(m, []).append(None if e is None else e * r.seconds / epochs)
            err.setdefault(m, []).append(r.final_error)
    rows = []
    base = float(np.median(per["physics-only"]))
    for m in per:
        reached = [h for h in hit[m] if h is not None]
        rows.append({"case": "helmholtz fitters", "method": m, "epochs": epochs, "seeds": seeds,
                     "ms_per_epoch": 1e3 * float(np.median(per[m])),
                     "ratio_to_physics_only": float(np.median(per[m])) / base,
                     "time_to_err_0.1_s": float(np.median(reached)) if reached else None,
                     "runs_reaching_0.1": f"{len(reached)}/{seeds}",
                     "final_error_median": float(np.median(err[m]))})
    return rows


def _fwd_bwd(m, X: torch.Tensor, dense: bool) -> None:
    m.phi.grad = None
    m.interpolate(m.solve(dense=dense), X).sum().backward()


def _solver(quick: bool) -> list[dict]:
    from controlml.hyco import Helmholtz2D

    ns = (18, 64) if quick else (18, 64, 256)
    rows, sizes, times = [], [], []
    X = torch.rand(200, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 6 - 3
    for n in ns:
        m = Helmholtz2D([2.0, 0.5, 0.5, 2.0, 0.5, 0.5], n=n)

        t_sp = _best(functools.partial(_fwd_bwd, m, X, False))
        t_dense = _best(functools.partial(_fwd_bwd, m, X, True)) if n <= 64 else None
        sizes.append(m.pattern.n)
        times.append(t_sp)
        rows.append({"case": "helmholtz solver fwd+bwd", "mesh": f"{n}x{n}",
                     "unknowns": m.pattern.n, "sparse_ms": 1e3 * t_sp,
                     "dense_ms": None if t_dense is None else 1e3 * t_dense,
                     "dense_over_sparse": None if t_dense is None else t_dense / t_sp})
    slope = float(np.polyfit(np.log(sizes), np.log(times), 1)[0])
    rows.append({"case": "helmholtz solver scaling", "loglog_slope_time_vs_unknowns": slope,
                 "from": f"{sizes[0]} to {sizes[-1]} unknowns"})
    return rows


def run(quick: bool = False) -> list[dict]:
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _solver(quick) + _fitters(quick)
    finally:
        torch.set_num_threads(old)


def _best(f, repeat: int = 3) -> float:
    """Best of ``repeat`` runs after a warm-up call (seconds)."""
    return best_time(f, repeat, warmup=True)[0]

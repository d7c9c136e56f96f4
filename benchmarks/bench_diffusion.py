"""Exact-score diffusion sampler vs a straightforward NumPy implementation and the matmul limit.

Workload (issue 6): 10,000 samples x 1,000 data points x 1,000 Euler-Maruyama steps in d = 2
(the reverse SDE, nu = 1, geometric grid from t_max = 1 to t_min = 1e-3, lemniscate data).

- ``ours``: :func:`controlml.diffusion.sample` (torch, float32, blocked, one fused
  "logits" product, in-place exp, one product for the weighted sums).
- ``baseline``: the same equations written the straightforward NumPy way (float64
  broadcasting of the (n, I, d) differences, max-subtracted softmax, matmul).  Its cost
  per step is constant, so it is timed on ``baseline_steps`` steps and scaled to the full
  run (the column says so); on those steps both start from the same points with nu = 0
  and ``max_abs_diff`` compares their outputs.
- ``matmul bound``: the same run's time of the two products a step cannot avoid, at the
  step's shapes ((n, d+2) @ (d+2, I) and (n, I) @ (I, d+1), float32), times the number
  of steps, measured here; and the pure flop bound from the machine's float32 GEMM rate
  (a 2048^2 product, measured here).  With d = 2 these products are memory-bound, so
  the flop bound is far out of reach for any implementation: the measured-shape bound is
  the meaningful one.

Everything runs on one thread (``torch.set_num_threads(1)``; the NumPy loop is
single-threaded apart from its small BLAS product), so the ratios compare code, not
core counts.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from benchmarks._timing import best_time


def _numpy_sampler(x: np.ndarray, X: np.ndarray, ts: np.ndarray, nu: float,
                   rng: np.random.Generator) -> np.ndarray:
    """The backward SDE written the straightforward way (float64 NumPy)."""
    x = x.copy()
    for k in range(len(ts) - 1):
        t, h = ts[k], ts[k] - ts[k + 1]
        diff = x[:, None, :] - X[None, :, :]
        L = -(diff**2).sum(-1) / (4 * t)
        L -= L.max(1, keepdims=True)
        W = np.exp(L)
        W /= W.sum(1, keepdims=True)
        s = (W @ X - x) / (2 * t)
        x = x + (1 + nu) * s * h
        if nu > 0:
            x = x + math.sqrt(2 * nu * h) * rng.standard_normal(x.shape)
    return x


def run(quick: bool = False) -> list[dict]:
    from controlml.datasets import lemniscate
    from controlml.diffusion import HeatKernelScore, sample, time_grid

    torch.set_num_threads(1)  # one core for everyone: numpy's loop is single-threaded too
    n, I, steps = (1000, 200, 50) if quick else (10_000, 1000, 1000)
    d = 2
    base_steps = steps if quick else 20
    X = lemniscate(I, random_state=0)
    ts = time_grid(1.0, 1e-3, steps)
    hk32 = HeatKernelScore(X, dtype=torch.float32)
    hk64 = HeatKernelScore(X, dtype=torch.float64)

    # ours, full run
    t0 = time.perf_counter()
    res = sample(hk32, n, t_max=1.0, t_min=1e-3, nu=1.0, steps=steps, method="euler",
                 random_state=1)
    ours_s = time.perf_counter() - t0

    # baseline on base_steps steps, same start, nu = 0 (deterministic, to compare outputs)
    x0 = hk64.sample_marginal(n, 1.0, random_state=2)
    sub = ts[: base_steps + 1]
    rng = np.random.default_rng(3)
    t0 = time.perf_counter()
    ref = _numpy_sampler(x0, X, sub, 0.0, rng)
    base_sub = time.perf_counter() - t0
    baseline_s = base_sub * steps / base_steps
    ours_sub = sample(hk32, n, t_max=1.0, t_min=float(sub[-1]), nu=0.0, steps=base_steps,
                      method="euler", x0=x0)
    ours64_sub = sample(hk64, n, t_max=1.0, t_min=float(sub[-1]), nu=0.0, steps=base_steps,
                        method="euler", x0=x0)
    diff32 = float(np.max(np.abs(ours_sub.X - ref)))
    diff64 = float(np.max(np.abs(ours64_sub.X - ref)))
    ours64_s = ours64_sub.seconds * steps / base_steps

    # matmul bound at the step's shapes (float32), and the pure flop bound
    g = torch.Generator().manual_seed(0)
    A = torch.randn(n, d + 2, generator=g)
    K = torch.randn(d + 2, I, generator=g)
    P = torch.rand(n, I, generator=g)
    V = torch.randn(I, d + 1, generator=g)
    out1 = torch.empty(n, I)
    out2 = torch.empty(n, d + 1)

    def two_products():
        torch.mm(A, K, out=out1)
        torch.mm(P, V, out=out2)

    per_step = _best(two_products, repeat=5)
    matmul_bound_s = per_step * steps
    S = torch.randn(2048, 2048, generator=g)
    gemm = _best(lambda: S @ S, repeat=3)
    peak = 2 * 2048**3 / gemm
    flops = steps * (2 * n * I * (d + 2) + 2 * n * I * (d + 1))
    flop_bound_s = flops / peak
    common = dict(n=n, I=I, d=d, steps=steps, baseline_steps_timed=base_steps,
                  matmul_bound_s=matmul_bound_s, peak_gflops=peak / 1e9,
                  flop_bound_s=flop_bound_s, torch_threads=torch.get_num_threads(),
                  status=res.status)
    return [
        dict(name=f"reverse SDE, Euler, float32 ({n}x{I}x{steps}, d={d})", ours_s=ours_s,
             baseline="numpy straightforward (float64 broadcast)", baseline_s=baseline_s,
             ratio=baseline_s / ours_s, x_matmul_bound=ours_s / matmul_bound_s,
             x_flop_bound=ours_s / flop_bound_s, max_abs_diff=diff32, **common),
        dict(name=f"reverse SDE, Euler, float64 ({n}x{I}x{steps}, d={d})", ours_s=ours64_s,
             baseline="numpy straightforward (float64 broadcast)", baseline_s=baseline_s,
             ratio=baseline_s / ours64_s, x_matmul_bound=ours64_s / matmul_bound_s,
             x_flop_bound=ours64_s / flop_bound_s, max_abs_diff=diff64,
             note=f"float64 timed on {base_steps} steps and scaled", **common),
    ]


def _best(f, repeat: int = 3) -> float:
    """Best of ``repeat`` runs after a warm-up call (seconds)."""
    return best_time(f, repeat, warmup=True)[0]

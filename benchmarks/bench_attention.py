"""Hardmax self-attention dynamics and equilibrium prediction vs the straightforward baselines.

- ``hardmax_dynamics``: our batched float64 NumPy implementation of (4.1) (one batched product for
  the scores, vectorised tie masks and leader masks) against the per-token loop a user would
  write from (4.1a)-(4.1b) (the style of the public ``hardmaxDynamics`` notebook code), on the
  same batch of sequences; ``max_abs_diff`` compares the final tokens.
- ``face QP``: our simplex QP (Clarabel through cvxpy + exact KKT polish) against SciPy's
  SLSQP on the same faces; ``max_abs_diff`` is the largest difference of the projections and
  ``kkt_ours``/``kkt_slsqp`` the optimality residual max |<Ap, l - p>| on the support.
"""

from __future__ import annotations

import time

import numpy as np


def _loop_dynamics(Z: np.ndarray, A: np.ndarray, alpha: float, K: int, rtol: float = 1e-12) -> np.ndarray:
    Z = Z.copy()
    for _ in range(K):
        new = np.empty_like(Z)
        for b in range(Z.shape[0]):
            X = Z[b]
            R = np.linalg.norm(X, axis=1).max()
            for i in range(X.shape[0]):
                a = A @ X[i]
                s = X @ a
                C = np.flatnonzero(s >= s.max() - rtol * np.linalg.norm(a) * R)
                new[b, i] = (X[i] + alpha * X[C].mean(axis=0)) / (1 + alpha)
        Z = new
    return Z


def _timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def run(quick: bool = False) -> list[dict]:
    from scipy.optimize import minimize

    from controlml.attention import face_projection, hardmax_dynamics

    rng = np.random.default_rng(0)
    rows = []
    B, n, d, K = (8, 32, 4, 20) if quick else (32, 64, 8, 50)
    Z = rng.normal(size=(B, n, d))
    M = rng.normal(size=(d, d))
    A = M @ M.T + np.eye(d)
    ours, t_ours = _timed(lambda: hardmax_dynamics(Z, A, 0.5, K, keep_trajectory=False).Z)
    base, t_base = _timed(lambda: _loop_dynamics(Z, A, 0.5, K))
    rows.append(dict(name=f"hardmax_dynamics B={B} n={n} d={d} K={K}", ours_s=t_ours,
                     baseline="per-token NumPy loop", baseline_s=t_base, ratio=t_base / t_ours,
                     max_abs_diff=float(np.abs(ours - base).max())))

    faces = [rng.normal(size=(k, d)) + 3.0 for k in ([2, 3, 4] if quick else [2, 3, 4, 6, 8])]

    def kkt(L, p):
        return float(np.max(np.abs(L @ A @ p - p @ A @ p)))

    def slsqp(L):
        G = L @ A @ L.T
        m = L.shape[0]
        r = minimize(lambda x: x @ G @ x, np.full(m, 1.0 / m), jac=lambda x: 2 * G @ x, method="SLSQP",
                     bounds=[(0, None)] * m, constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                     options={"ftol": 1e-14, "maxiter": 500})
        return L.T @ r.x

    face_projection(faces[0], A), slsqp(faces[0])  # warm up (cvxpy import and canonicalisation)
    P_ours, t_ours = _timed(lambda: [face_projection(L, A)[0] for L in faces])
    P_base, t_base = _timed(lambda: [slsqp(L) for L in faces])
    # support of each projection (for the residual): vertices with <Ap, l> at the minimum
    res_o = max(kkt(L[np.isclose(L @ A @ p, (L @ A @ p).min(), rtol=1e-6)], p) for L, p in zip(faces, P_ours, strict=False))
    res_b = max(kkt(L[np.isclose(L @ A @ p, (L @ A @ p).min(), rtol=1e-6)], p) for L, p in zip(faces, P_base, strict=False))
    rows.append(dict(name=f"face QP ({len(faces)} faces, d={d})", ours_s=t_ours, baseline="scipy SLSQP",
                     baseline_s=t_base, ratio=t_base / t_ours,
                     max_abs_diff=float(max(np.abs(a - b).max() for a, b in zip(P_ours, P_base, strict=False))),
                     kkt_ours=res_o, kkt_slsqp=res_b))
    return rows

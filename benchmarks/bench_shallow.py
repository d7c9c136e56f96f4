"""fit_sparse (continuum, column generation) vs the LP on a fixed grid of neurons (HiGHS, cvxpy).

Rows: N = 200 with d = 2 (smooth target, default gap_tol = 1e-6, and gap_tol = 1e-4: still
certified, far below the grid's own error) and d = 10, eps = 0.05; the hard (non-smooth)
families of issue 18 at N = 200, d = 2, gap_tol = 1e-4 (a jump, a kink along a circle, noise
with eps > 0); a scaling row N = 1000, d = 10.
The grid has 20,000 neurons uniformly on S^d; the same grid feeds HiGHS (scipy linprog)
and cvxpy (in a child process, stopped after ``cvx_timeout`` seconds).  Our value must be <= the grid's (it optimises over the continuum).

Two ratios per row: ``ratio`` is the grid LP's time over our whole default run (to the
stopping rule); ``ratio_at_grid_value`` is the grid LP's time over our time to reach a value
no worse than the grid's (``SparseFit.trace``: every round's restricted LP is a feasible
network, so stopping there, ``max_iter = round + 1``, returns that value).  In d = 10 the
stopping rule's certificate is an estimate and the run goes on far below the grid's value.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import linprog

from controlml.shallow import fit_sparse


def _data(N: int, d: int, seed: int = 0, kind: str = "smooth"):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (N, d))
    if kind == "jump":  # a smooth part plus a jump along both axes
        y = np.cos(2 * X[:, 0]) * X[:, 1] + 0.3 * np.sign(X[:, 0] * X[:, 1])
    elif kind == "kink":  # a kink along the circle |x| = 0.5^(1/2)
        y = np.abs(X[:, 0] ** 2 + X[:, 1] ** 2 - 0.5)
    elif kind == "noise":  # a smooth target plus noise (fitted within eps)
        y = np.sin(np.pi * X[:, 0]) * np.cos(np.pi * X[:, -1]) + 0.1 * rng.standard_normal(N)
    else:
        y = np.sin(np.pi * X[:, 0]) * np.cos(np.pi * X[:, -1])
    return X, y


def _grid(M: int, D: int, seed: int = 1) -> np.ndarray:
    T = np.random.default_rng(seed).standard_normal((M, D))
    return T / np.linalg.norm(T, axis=1, keepdims=True)


def _highs_grid(Phi: np.ndarray, y: np.ndarray, eps: float) -> tuple[float, int]:
    M = Phi.shape[1]
    B = np.hstack([Phi, -Phi])
    c = np.ones(2 * M)
    if eps == 0:
        r = linprog(c, A_eq=B, b_eq=y, bounds=(0, None), method="highs-ds")
    else:
        r = linprog(c, A_ub=np.vstack([B, -B]), b_ub=np.r_[y + eps, eps - y], bounds=(0, None),
                    method="highs-ds")
    w = r.x[:M] - r.x[M:]
    return float(r.fun), int(np.count_nonzero(np.abs(w) > 1e-9))


def _cvxpy_grid(Phi: np.ndarray, y: np.ndarray, eps: float) -> tuple[float, int]:
    import warnings

    import cvxpy as cp  # dev dependency, imported lazily

    w = cp.Variable(Phi.shape[1])
    cons = [Phi @ w == y] if eps == 0 else [cp.abs(Phi @ w - y) <= eps]
    prob = cp.Problem(cp.Minimize(cp.norm1(w)), cons)
    with warnings.catch_warnings():  # cvxpy's bound propagation warns on infinite bounds
        warnings.simplefilter("ignore", RuntimeWarning)
        prob.solve(solver=cp.HIGHS if "HIGHS" in cp.installed_solvers() else None)
    return float(prob.value), int(np.count_nonzero(np.abs(w.value) > 1e-7))


def _cvxpy_child(Phi, y, eps, q) -> None:  # runs in a child process (killable on timeout)
    t = time.perf_counter()
    v, a = _cvxpy_grid(Phi, y, eps)
    q.put((time.perf_counter() - t, v, a))


def _cvxpy_timed(Phi, y, eps, timeout: float):
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_cvxpy_child, args=(Phi, y, eps, q))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None
    return q.get() if not q.empty() else None


def _row(N: int, d: int, eps: float, M: int, *, cvx: bool, max_iter: int = 200,
         cvx_timeout: float = 300.0, gap_tol: float = 1e-6, kind: str = "smooth") -> dict:
    X, y = _data(N, d, kind=kind)
    t = time.perf_counter()
    fit = fit_sparse(X, y, eps=eps, random_state=0, max_iter=max_iter, gap_tol=gap_tol)
    ours = time.perf_counter() - t
    row = {"name": f"{kind}: N={N}, d={d}, eps={eps}, gap_tol={gap_tol:g}", "ours_s": ours,
           "ours_value": fit.value, "ours_atoms": fit.n_atoms, "ours_gap": fit.gap,
           "rel_gap": fit.gap / fit.value, "certificate": fit.bound_kind, "status": fit.status,
           "rounds": fit.iterations}
    if M:
        t = time.perf_counter()
        Phi = np.maximum(np.column_stack([X, np.ones(N)]) @ _grid(M, d + 1).T, 0.0)
        gv, ga = _highs_grid(Phi, y, eps)
        gs = time.perf_counter() - t
        t_hit = fit.trace.time_to(gv)
        row.update(baseline=f"HiGHS on a {M}-neuron grid", baseline_s=gs, ratio=gs / ours,
                   grid_value=gv, grid_atoms=ga, value_no_worse=fit.value <= gv * (1 + 1e-9),
                   ours_s_to_grid_value=t_hit, ratio_at_grid_value=gs / t_hit)
        if np.isfinite(t_hit):  # confirm by a run stopped at that round (same seed, same path)
            k = int(np.flatnonzero(fit.trace.value <= gv)[0]) + 1
            t = time.perf_counter()
            early = fit_sparse(X, y, eps=eps, random_state=0, max_iter=k, gap_tol=gap_tol)
            te = time.perf_counter() - t
            row.update(stopped_rounds=k, stopped_s=te, stopped_value=early.value,
                       stopped_ratio=gs / te, stopped_no_worse=early.value <= gv * (1 + 1e-9))
        if cvx:
            try:
                import cvxpy  # noqa: F401
            except ImportError:
                row.update(cvxpy_s=float("nan"), cvxpy_value="cvxpy not installed")
            else:
                res = _cvxpy_timed(Phi, y, eps, cvx_timeout)
                if res is None:
                    row.update(cvxpy_s=f">{cvx_timeout:.0f} (stopped)",
                               cvxpy_ratio=f">{cvx_timeout / ours:.3g}", cvxpy_value="n/a")
                else:
                    cs, cv, ca = res
                    row.update(cvxpy_s=cs, cvxpy_ratio=cs / ours, cvxpy_value=cv, cvxpy_atoms=ca)
    else:
        row.update(baseline="none (scaling run)", baseline_s=float("nan"), ratio=float("nan"))
    return row


def run(quick: bool = False) -> list[dict]:
    """Side-by-side rows; ``quick`` shrinks N and the grid."""
    if quick:
        return [_row(30, 2, 0.05, 2000, cvx=True), _row(40, 2, 0.0, 2000, cvx=False, kind="jump"),
                _row(30, 10, 0.05, 2000, cvx=True)]
    hard = [_row(200, 2, e, 20_000, cvx=False, gap_tol=1e-4, kind=k)
            for k, e in (("jump", 0.0), ("kink", 0.0), ("noise", 0.05))]
    return [_row(200, 2, 0.05, 20_000, cvx=True), _row(200, 2, 0.05, 20_000, cvx=False, gap_tol=1e-4),
            *hard, _row(200, 10, 0.05, 20_000, cvx=True),
            _row(1000, 10, 0.05, 0, cvx=False, max_iter=10)]

"""Finite-horizon optimal control: Riccati recursion or adjoint + conjugate gradients."""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._checks import check_int, check_option, check_positive
from ..errors import ConvergenceError, DatasetError, ParameterError
from ._problem import Dynamics, LQProblem
from ._riccati import _DENSE_LIMIT, riccati_gains, riccati_rollout

__all__ = ["OCPResult", "solve_ocp", "cost_gradient"]

_METHODS = ("riccati", "adjoint")


@dataclass(frozen=True)
class OCPResult:
    """Solution of the discretised finite-horizon problem.

    Attributes
    ----------
    t : (K+1,) ndarray
        The time grid t_k = k dt, k = 0..K.
    x : (K+1, n) ndarray
        The optimal states x_k.
    u : (K, m) ndarray
        The optimal controls u_k (constant on [t_k, t_{k+1}]).
    cost : float
        The discrete cost J(u) (:meth:`LQProblem.cost`).
    method : {"riccati", "adjoint"}
        The method that solved it.
    iterations : int
        Conjugate-gradient iterations (0 for Riccati).
    residual : float
        Relative gradient norm |grad J(u)| / |grad J(0)| at the returned u (adjoint; NaN
        for Riccati, which is exact).
    seconds : float
        Wall time of the solve.
    status : {"ok", "max_iter"}
        "max_iter" when conjugate gradients stopped at ``max_iter`` before ``rtol``.
    """

    t: np.ndarray
    x: np.ndarray
    u: np.ndarray
    cost: float
    method: str
    iterations: int
    residual: float
    seconds: float
    status: str


def _gradient(dyn: Dynamics, keys: Sequence[Any], x0: np.ndarray, u: np.ndarray, *,
              affine: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of J at u (K, m) by the discrete adjoint; returns (grad (K, m), x (K+1, n)).

    lam_K = 2 (wx_K Q + QT)(x_K - x_d);  going back, p = E^{-T} lam_{k+1},
    dJ/du_k = 2 wu R (u_k - u_d) + G^T p,   lam_k = 2 wx_k Q (x_k - x_d) + F^T p.
    ``affine=False`` drops x0 and the targets (the linear part: grad = 2 H u).
    """
    p = dyn.p
    K = u.shape[0]
    wx, wu = p.weights(K)
    xd = p.xd if affine else np.zeros(p.n)
    ud = p.ud if affine else np.zeros(p.m)
    x = dyn.simulate(x0, u, keys)
    dx = x - xd
    lam = 2 * (wx[K] * (p.Q @ dx[K]) + p.QT @ dx[K])
    g = np.empty_like(u)
    R2 = 2 * wu * p.R
    for k in range(K - 1, -1, -1):
        a, b = dyn.adjoint_step(keys[k], lam)
        g[k] = R2 @ (u[k] - ud) + b
        lam = 2 * wx[k] * (p.Q @ dx[k]) + a
    return g, x


def cost_gradient(problem: LQProblem, u: np.ndarray) -> tuple[float, np.ndarray]:
    """J(u) and its gradient (K, m) by the adjoint equation (for checks against differences).

    Going back from lam_K = 2 (wx_K Q + QT)(x_K - x_d) with p = E^{-T} lam_{k+1}:
    dJ/du_k = 2 wu R (u_k - u_d) + G^T p and lam_k = 2 wx_k Q (x_k - x_d) + F^T p, where
    E x_{k+1} = F x_k + G u_k is the time stepping and wx_k, wu the stage weights.

    Parameters
    ----------
    problem : LQProblem
        The problem (full A at every step).
    u : (K, m) array_like
        The controls u_k, one row per time step.

    Returns
    -------
    cost : float
        The discrete cost J(u).
    gradient : (K, m) ndarray
        dJ/du, the exact gradient of the discrete cost.
    """
    p = problem
    u = np.asarray(u, dtype=np.float64)
    if u.shape != (p.K, p.m):
        raise DatasetError(f"u must have shape (K, m) = ({p.K}, {p.m}); got {u.shape}")
    dyn = Dynamics(p)
    g, x = _gradient(dyn, [None] * p.K, p.x0, u)
    return p.cost(x, u), g


def _solve_adjoint(dyn: Dynamics, keys: Sequence[Any], x0: np.ndarray, *, rtol: float,
                   max_iter: int, u_init: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, int, float, str]:
    """Minimise the quadratic J(u) = u^T H u + 2 b^T u + c by CG on H u = -b.

    H v = grad J_0(v)/2 (the adjoint gradient without x0 and targets) and b = grad J(0)/2;
    every product costs one forward and one backward sweep with the cached sparse LU factors.
    Preconditioned by (wu R)^{-1}.
    """
    p = dyn.p
    K, m = len(keys), p.m
    zero = np.zeros(p.n)
    g0, _ = _gradient(dyn, keys, x0, np.zeros((K, m)))
    b = -0.5 * g0.ravel()
    _, wu = p.weights(K)
    Rinv = np.linalg.inv(wu * p.R)

    def matvec(v):
        g, _ = _gradient(dyn, keys, zero, np.asarray(v).reshape(K, m), affine=False)
        return 0.5 * g.ravel()

    def precond(v):
        return (np.asarray(v).reshape(K, m) @ Rinv.T).ravel()

    H = spla.LinearOperator((K * m, K * m), matvec=matvec, dtype=np.float64)
    M = spla.LinearOperator((K * m, K * m), matvec=precond, dtype=np.float64)
    count = [0]

    def cb(_):
        count[0] += 1

    bnorm = np.linalg.norm(b)
    if bnorm == 0:
        u = np.zeros((K, m))
        return u, dyn.simulate(x0, u, keys), 0, 0.0, "ok"
    u_start = None if u_init is None else u_init.ravel()
    try:
        with np.errstate(over="raise", invalid="raise"):
            sol, info = spla.cg(H, b, x0=u_start, rtol=rtol, atol=0.0, maxiter=max_iter, M=M,
                                callback=cb)
    except FloatingPointError as exc:
        raise ConvergenceError(
            "the adjoint method overflowed: the open-loop dynamics grow too fast over the "
            f"horizon of {K} steps for single shooting; use method='riccati' (or a shorter "
            "horizon, e.g. MPC)") from exc
    u = sol.reshape(K, m)
    g, x = _gradient(dyn, keys, x0, u)
    res = float(np.linalg.norm(g) / np.linalg.norm(g0))
    return u, x, count[0], res, "ok" if info == 0 else "max_iter"


def _solve_riccati(dyn: Dynamics, keys: Sequence[Any], x0: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    gains, ff = riccati_gains(dyn, keys)
    return riccati_rollout(dyn, keys, gains, ff, x0)


def _check_method(method: str, n: int) -> None:
    check_option(method, "method", _METHODS)
    if method == "riccati" and n > _DENSE_LIMIT:
        raise ParameterError(f"method='riccati' works with dense n x n matrices (n <= "
                             f"{_DENSE_LIMIT}); the problem has n = {n}: use method='adjoint'")


def solve_ocp(problem: LQProblem, method: str = "riccati", *, rtol: float = 1e-10,
              max_iter: int = 1000, u_init: Any = None,
              operator_keys: Sequence[Any] | None = None,
              dynamics: Dynamics | None = None) -> OCPResult:
    """Solve the discretised finite-horizon LQ problem on [0, T].

    ``method="riccati"``: the time-varying discrete Riccati recursion (dense, exact, O(K n^3)).
    ``method="adjoint"``: conjugate gradients on the reduced quadratic J(u), each Hessian
    product one forward and one adjoint sweep with precomputed sparse LU factors of
    I - dt/2 A (continuous time): O(iterations K nnz(LU)), for large sparse n.
    Both give the same minimiser (up to ``rtol``).

    Parameters
    ----------
    problem : LQProblem
        The problem; its cost (weights, targets, terminal weight) and x0 define the solve.
    method : {"riccati", "adjoint"}, default "riccati"
        The time-varying Riccati recursion (dense, for n <= 3000) or conjugate gradients
        on the reduced cost with adjoint gradients (sparse, any n).
    rtol : float, default 1e-10
        Relative residual at which conjugate gradients stop (adjoint only): |H u - b| / |b|
        for the reduced system H u = b, i.e. |grad J(u)| / |grad J(0)|.
    max_iter : int, default 1000
        Maximum number of conjugate-gradient iterations (adjoint only); when reached,
        the result has ``status="max_iter"``.
    u_init : (K, m) array_like, optional
        Initial guess of the controls for conjugate gradients (adjoint only).  Default
        None: zero.
    operator_keys : sequence of hashable, optional
        The operator of each time step, as keys of ``dynamics``: entry k is None (the full
        A) or a tuple omega of part indices (the batch operator A_omega = sum_{m in omega}
        A_m / pi_m, which must have been registered with
        :meth:`Dynamics.register_batch`).  Its length (normally K) is the number of steps
        solved.  Default None: the full A at every one of the K steps.
        :func:`randomized_splitting` passes the drawn batches here.
    dynamics : Dynamics, optional
        The cached time stepping (operators and sparse LU factors of I - dt/2 A) of this
        ``problem``; its problem's weights are the ones used, so build it with
        ``Dynamics(problem)``.  Pass one instance to repeated calls to reuse the
        factorisations.  Default None: a new one is built.

    Returns
    -------
    OCPResult
        The optimal states, controls and cost, with the solver's diagnostics.
    """
    _check_method(method, problem.n)
    rtol = check_positive(rtol, "rtol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if u_init is not None:
        u_init = np.asarray(u_init, dtype=np.float64)
        if u_init.shape != (problem.K, problem.m):
            raise DatasetError(f"u_init must have shape (K, m) = ({problem.K}, {problem.m}); "
                               f"got {u_init.shape}")
    dyn = dynamics if dynamics is not None else Dynamics(problem)
    keys = [None] * problem.K if operator_keys is None else operator_keys
    t0 = _time.perf_counter()
    if method == "riccati":
        x, u = _solve_riccati(dyn, keys, problem.x0)
        its, res, status = 0, float("nan"), "ok"
    else:
        u, x, its, res, status = _solve_adjoint(dyn, keys, problem.x0, rtol=rtol,
                                                max_iter=max_iter, u_init=u_init)
    secs = _time.perf_counter() - t0
    return OCPResult(problem.times[: len(keys) + 1], x, u, problem.cost(x, u), method, its, res,
                     secs, status)


def steady_state(problem: LQProblem) -> tuple[np.ndarray, np.ndarray]:
    """The steady optimum (x_bar, u_bar) of the running cost, from the sparse KKT system.

    (x_bar, u_bar) = argmin l(x) + m(u) = (x - x_d)^T Q (x - x_d) + (u - u_d)^T R (u - u_d)
    subject to A x + B u = 0 (continuous) or x = A x + B u (discrete): the solution of
    [[Q, 0, A'^T], [0, R, B^T], [A', B, 0]] (x, u, lambda) = (Q x_d, R u_d, 0) with
    A' = A (continuous) or A - I (discrete); least squares if the system is singular.

    Parameters
    ----------
    problem : LQProblem
        The problem (its A, B, Q, R, targets and ``time``; x0, T and QT are not used).

    Returns
    -------
    x_bar : (n,) ndarray
        The steady state.
    u_bar : (m,) ndarray
        The steady control.
    """
    p = problem
    n, m = p.n, p.m
    A = sp.csr_matrix(p.A) if p.time == "continuous" else sp.csr_matrix(p.A) - sp.identity(n)
    B = sp.csr_matrix(p.B)
    Q = sp.csr_matrix(p.Q)
    R = sp.csr_matrix(p.R)
    KKT = sp.bmat([[Q, None, A.T], [None, R, B.T], [A, B, None]], format="csc")
    rhs = np.concatenate([Q @ p.xd, R @ p.ud, np.zeros(n)])
    try:
        sol = spla.splu(KKT).solve(rhs)
    except RuntimeError:
        sol = sla.lstsq(KKT.toarray(), rhs)[0]
    return sol[:n], sol[n:n + m]

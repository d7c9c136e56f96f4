"""Riccati: the infinite-horizon LQR (algebraic equation) and the finite-horizon recursion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ..errors import ConvergenceError, DatasetError, ParameterError
from ._problem import Dynamics, LQProblem

__all__ = ["LQRResult", "lqr", "uncontrollable_modes"]

_DENSE_LIMIT = 3000


def _dense(M: Any) -> np.ndarray:
    return M.toarray() if sp.issparse(M) else np.asarray(M, dtype=np.float64)


@dataclass(frozen=True)
class LQRResult:
    """Infinite-horizon LQR of a problem.

    Attributes
    ----------
    P : (n, n) stabilising solution of the algebraic Riccati equation
    K : (m, n) gain, u = -K x (continuous: R^{-1} B^T P)
    cost : x0^T P x0, the optimal cost of the regulator from x0
    closed_loop_eigenvalues : (n,) eigenvalues of A - B K
    decay_rate : mu = -max Re lambda(A - BK) (continuous) or -log rho(A - BK)/dt (discrete)
    time : "continuous" or "discrete"
    status : "ok"
    """

    P: np.ndarray
    K: np.ndarray
    cost: float
    closed_loop_eigenvalues: np.ndarray
    decay_rate: float
    time: str
    status: str = "ok"


def uncontrollable_modes(A: Any, B: Any, *, time: str = "continuous", only_unstable: bool = True,
                         tol: float = 1e-9) -> list[tuple[complex, np.ndarray]]:
    """Eigenvalues lambda of A with rank [A - lambda I, B] < n (PBH test), with an eigenvector.

    ``only_unstable`` keeps Re lambda >= 0 (continuous) or |lambda| >= 1 (discrete): a
    non-empty answer means (A, B) is not stabilisable.  Dense (eigen-decomposition of A).

    Parameters
    ----------
    A : (n, n) array_like or sparse matrix
        The state matrix (continuous time) or the one-step map (discrete time).
    B : (n, m) array_like or sparse matrix
        The control matrix.
    time : {"continuous", "discrete"}, default "continuous"
        Which eigenvalues count as unstable: Re lambda >= 0 (continuous) or |lambda| >= 1
        (discrete), both up to a relative rounding margin of 1e-12.
    only_unstable : bool, default True
        Report only the unstable uncontrollable modes (False: every uncontrollable mode).
    tol : float, default 1e-9
        Relative rank tolerance: lambda is uncontrollable when the smallest singular value
        of [A - lambda I, B] is <= tol * max(|A|_2, |B|_2) * sqrt(n).

    Returns
    -------
    list of (complex, (n,) ndarray)
        The uncontrollable eigenvalues lambda, each with its (complex) eigenvector of A.
    """
    Ad, Bd = _dense(A), _dense(B)
    n = Ad.shape[0]
    lam, V = np.linalg.eig(Ad)
    scale = max(np.linalg.norm(Ad, 2), np.linalg.norm(Bd, 2), 1e-300)
    out = []
    for j, lj in enumerate(lam):
        unstable = (lj.real >= -1e-12 * scale) if time == "continuous" else (abs(lj) >= 1 - 1e-12)
        if only_unstable and not unstable:
            continue
        Mj = np.hstack([Ad - lj * np.eye(n), Bd.astype(complex)])
        s = np.linalg.svd(Mj, compute_uv=False)
        if s[-1] <= tol * scale * np.sqrt(n):
            out.append((complex(lj), V[:, j]))
    return out


def lqr(problem: LQProblem, *, discretized: bool = False) -> LQRResult:
    """Infinite-horizon LQR: the stabilising solution P of the algebraic Riccati equation.

    Continuous: A^T P + P A - P B R^{-1} B^T P + Q = 0 (``scipy.linalg.solve_continuous_are``),
    K = R^{-1} B^T P.  Discrete: P = A^T P A - A^T P B (R + B^T P B)^{-1} B^T P A + Q
    (``solve_discrete_are``), K = (R + B^T P B)^{-1} B^T P A.  The regulator (targets are
    ignored) from x0 costs x0^T P x0.  Dense: for n <= 3000.

    ``discretized=True`` (continuous problems): the discrete algebraic equation of the
    Crank--Nicolson time stepping that :func:`solve_ocp` and :func:`mpc` solve,
    A_d = (I - dt/2 A)^{-1}(I + dt/2 A), B_d = dt (I - dt/2 A)^{-1} B, weights dt Q, dt R;
    its cost x0^T P_d x0 - dt/2 x0^T Q x0 is the limit of the discretised finite-horizon
    costs as T grows (the trapezoidal rule gives x0 half a weight), and K_d is their
    limiting feedback.  It differs from the continuous one by O(dt^2) on smooth modes.

    Parameters
    ----------
    problem : LQProblem
        The problem: its A, B, Q, R, ``time`` (and ``dt``, ``x0``) are used; ``T``, ``QT``
        and the targets are ignored.  Its state dimension must be n <= 3000.
    discretized : bool, default False
        For a continuous-time problem, solve the discrete algebraic Riccati equation of its
        Crank--Nicolson time stepping (see above) instead of the continuous one; the result
        then has ``time="discrete"``.  No effect on a discrete-time problem.

    Returns
    -------
    LQRResult
        P, the gain K, the cost from x0, the closed-loop eigenvalues and decay rate.

    Raises
    ------
    DatasetError
        (A, B) is not stabilisable; the message names the unstable uncontrollable mode (PBH).
    ParameterError
        The problem has n > 3000 (use ``solve_ocp(method="adjoint")``).
    ConvergenceError
        The Riccati equation has no stabilising solution ((A, Q^(1/2)) not detectable).
    """
    p = problem
    if p.n > _DENSE_LIMIT:
        raise ParameterError(f"lqr solves a dense Riccati equation, limited to n <= {_DENSE_LIMIT}"
                             f"; the problem has n = {p.n}: use solve_ocp(method='adjoint')")
    A, B, Q, R = _dense(p.A), _dense(p.B), _dense(p.Q), p.R
    time = p.time
    if discretized and p.time == "continuous":
        dyn = Dynamics(p)
        A, B = dyn.dense(None)
        Q, R = p.dt * Q, p.dt * R
        time = "discrete"
    bad = uncontrollable_modes(A, B, time=time)
    if bad:
        lam, v = bad[0]
        k = int(np.argmax(np.abs(v)))
        which = "Re lambda >= 0" if time == "continuous" else "|lambda| >= 1"
        raise DatasetError(
            f"(A, B) is not stabilisable: the mode lambda = {lam.real:.6g}{lam.imag:+.6g}j of A "
            f"is unstable ({which}) and uncontrollable (PBH: rank [A - lambda I, B] < n = {p.n}); "
            f"its eigenvector is largest at state {k}. No feedback can make it decay: add an "
            "actuator (a column of B) acting on that mode, or remove the mode from the model.")
    try:
        if time == "continuous":
            P = sla.solve_continuous_are(A, B, Q, R)
            K = np.linalg.solve(R, B.T @ P)
        else:
            P = sla.solve_discrete_are(A, B, Q, R)
            K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ConvergenceError(
            f"the algebraic Riccati equation has no stabilising solution ({exc}); (A, B) is "
            "stabilisable, so check that (A, Q^(1/2)) is detectable: every unstable mode must "
            "be seen by Q") from exc
    P = (P + P.T) / 2
    lam = np.linalg.eigvals(A - B @ K)
    cost = float(p.x0 @ P @ p.x0)
    if time == "continuous":
        rate = float(-np.max(lam.real))
    else:
        rate = float(-np.log(np.max(np.abs(lam))) / p.dt)
        if p.time == "continuous":
            cost -= 0.5 * float(p.x0 @ Q @ p.x0)
    return LQRResult(P, K, cost, lam, rate, time)


def riccati_gains(dyn: Dynamics, keys: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Backward recursion of the time-varying discrete Riccati equation with affine terms.

    With stage cost wx_k l(x_k) + wu m(u_k) and dynamics x_{k+1} = A_k x_k + B_k u_k
    (A_k, B_k = E^{-1}F, E^{-1}G of the operator keys[k]), the value function is
    V_k(x) = x^T P_k x + 2 s_k^T x + c_k and the optimal control u_k = -K_k x_k - f_k with

        S = wu R + B^T P B,  K_k = S^{-1} B^T P A,  f_k = S^{-1} (B^T s - wu R u_d),
        P_k = wx_k Q + A^T P A - (B^T P A)^T K_k,   s_k = -wx_k Q x_d + A^T s - (B^T P A)^T f_k,

    from P_K = wx_K Q + QT, s_K = -(wx_K Q + QT) x_d.  Returns (K (K, m, n), f (K, m)).
    """
    p = dyn.p
    K = len(keys)
    wx, wu = p.weights(K)
    Q, QT, R = _dense(p.Q), _dense(p.QT), p.R
    xd, ud = p.xd, p.ud
    P = wx[K] * Q + QT
    s = -P @ xd
    gains = np.empty((K, p.m, p.n))
    ff = np.empty((K, p.m))
    wRud = wu * (R @ ud)
    for k in range(K - 1, -1, -1):
        Ad, Bd = dyn.dense(keys[k])
        PA = P @ Ad
        BtPA = Bd.T @ PA
        S = wu * R + Bd.T @ P @ Bd
        cho = sla.cho_factor(S)
        Kk = sla.cho_solve(cho, BtPA)
        fk = sla.cho_solve(cho, Bd.T @ s - wRud)
        P = wx[k] * Q + Ad.T @ PA - BtPA.T @ Kk
        P = (P + P.T) / 2
        s = -wx[k] * (Q @ xd) + Ad.T @ s - BtPA.T @ fk
        gains[k] = Kk
        ff[k] = fk
    return gains, ff


def riccati_rollout(dyn: Dynamics, keys: Sequence[Any], gains: np.ndarray, ff: np.ndarray,
                    x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed-loop states (K+1, n) and controls (K, m) of u_k = -K_k x_k - f_k."""
    K = len(keys)
    x = np.empty((K + 1, dyn.n))
    u = np.empty((K, dyn.p.m))
    x[0] = x0
    for k in range(K):
        u[k] = -gains[k] @ x[k] - ff[k]
        x[k + 1] = dyn.step(keys[k], x[k], u[k])
    return x, u

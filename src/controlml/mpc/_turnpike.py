"""The turnpike: exponential closeness of the finite-horizon optimum to the steady optimum."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ._ocp import solve_ocp, steady_state
from ._problem import LQProblem
from ._riccati import lqr

__all__ = ["TurnpikeResult", "turnpike", "fit_turnpike"]


@dataclass(frozen=True)
class TurnpikeResult:
    """Turnpike measurement of a finite-horizon optimum.

    Attributes
    ----------
    t : (K+1,) ndarray
        The time grid t_k = k dt.
    state_gap : (K+1,) ndarray
        |x(t_k) - x_bar|, the Euclidean distance of the optimal state to the steady state.
    control_gap : (K,) ndarray
        |u_k - u_bar|, the distance of the optimal control to the steady control.
    x_bar : (n,) ndarray
        The steady optimal state.
    u_bar : (m,) ndarray
        The steady optimal control.
    mu : float
        Fitted rate of state_gap(t) ~ C (e^{-mu t} + e^{-mu (T - t)}) (least squares on
        the logarithms, :func:`fit_turnpike`).
    C : float
        Fitted constant of that fit.
    r2 : float
        Its coefficient of determination on the logarithms.
    mu_control : float
        The same rate fitted to control_gap (at the midpoints of the steps).
    C_control : float
        The constant of the control fit.
    r2_control : float
        The coefficient of determination of the control fit.
    mu_spectral : float
        Decay rate of the closed loop of the infinite-horizon LQR of the time stepping,
        ``lqr(problem, discretized=True).decay_rate`` (NaN when n > 3000).
    status : str
        "ok".
    """

    t: np.ndarray
    state_gap: np.ndarray
    control_gap: np.ndarray
    x_bar: np.ndarray
    u_bar: np.ndarray
    mu: float
    C: float
    r2: float
    mu_control: float
    C_control: float
    r2_control: float
    mu_spectral: float
    status: str = "ok"


def fit_turnpike(t: np.ndarray, gap: np.ndarray, T: float, *, floor: float = 1e-12
                 ) -> tuple[float, float, float]:
    """Fit gap(t) ~ C (e^{-mu t} + e^{-mu (T - t)}); returns (mu, C, R^2 of the log fit).

    For fixed mu the best log C is the mean of log gap - log phi_mu; mu is found by a bounded
    scalar search.  Points below ``floor`` x max(gap) (rounding level) are left out.

    Parameters
    ----------
    t : (P,) array_like
        The times of the samples, in [0, T].
    gap : (P,) array_like
        The measured gaps (distances to the steady optimum) at ``t``, >= 0 with a positive
        maximum.
    T : float
        The horizon of the problem (the second exponential decays from t = T).
    floor : float, default 1e-12
        Relative cut-off: samples with gap <= floor * max(gap) are left out of the fit.

    Returns
    -------
    mu : float
        The fitted rate.
    C : float
        The fitted constant.
    r2 : float
        The coefficient of determination of the fit on the logarithms.
    """
    t = np.asarray(t, dtype=np.float64)
    g = np.asarray(gap, dtype=np.float64)
    keep = g > floor * g.max()
    t, lg = t[keep], np.log(g[keep])

    def resid(mu):
        lphi = np.logaddexp(-mu * t, -mu * (T - t))
        c = np.mean(lg - lphi)
        return lg - lphi - c, c

    def sse(logmu):
        r, _ = resid(np.exp(logmu))
        return float(r @ r)

    hi = np.log(200.0 / T * max(1.0, np.log(g.max() / g.min() + 1.0)))
    best = minimize_scalar(sse, bounds=(np.log(1e-3 / T), hi), method="bounded",
                           options={"xatol": 1e-10})
    mu = float(np.exp(best.x))
    r, c = resid(mu)
    sst = float(np.sum((lg - lg.mean()) ** 2))
    r2 = 1.0 - float(r @ r) / sst if sst > 0 else 1.0
    return mu, float(np.exp(c)), r2


def turnpike(problem: LQProblem, *, method: str = "riccati") -> TurnpikeResult:
    """Measure the turnpike of the finite-horizon optimum of ``problem``.

    Solves the problem on [0, T], computes the steady optimum (x_bar, u_bar) (the static
    problem min l(x) + m(u) s.t. A x + B u = 0), and fits |x(t) - x_bar| and |u(t) - u_bar|
    by C (e^{-mu t} + e^{-mu (T - t)}).  The theory predicts mu equal to the decay rate of
    the infinite-horizon closed loop of the time stepping, -log rho(A_d - B_d K_d)/dt
    (``lqr(problem, discretized=True)``; for the modes that the
    data excite; the fitted mu can be larger when the slowest mode is not excited).

    Parameters
    ----------
    problem : LQProblem
        The problem on [0, T] (full A; a long horizon shows the turnpike best).
    method : {"riccati", "adjoint"}, default "riccati"
        How :func:`solve_ocp` solves the finite-horizon problem.

    Returns
    -------
    TurnpikeResult
        The gaps, the steady optimum and the fitted and spectral rates.
    """
    sol = solve_ocp(problem, method=method)
    xb, ub = steady_state(problem)
    sg = np.linalg.norm(sol.x - xb, axis=1)
    cg = np.linalg.norm(sol.u - ub, axis=1)
    t = sol.t
    tm = (t[:-1] + t[1:]) / 2
    mu, C, r2 = fit_turnpike(t, sg, problem.T)
    muc, Cc, r2c = fit_turnpike(tm, cg, problem.T)
    mus = lqr(problem, discretized=True).decay_rate if problem.n <= 3000 else float("nan")
    return TurnpikeResult(t, sg, cg, xb, ub, mu, C, r2, muc, Cc, r2c, mus)

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
    t : (K+1,) times;  state_gap : (K+1,) |x(t) - x_bar|;  control_gap : (K,) |u(t) - u_bar|
    x_bar : (n,), u_bar : (m,) the steady optimum
    mu, C, r2 : fit of state_gap by C (e^{-mu t} + e^{-mu (T - t)}) (least squares in log scale)
        and its coefficient of determination on the logarithms
    mu_control, C_control, r2_control : the same fit of control_gap (at the midpoints)
    mu_spectral : decay rate of the closed loop A - BK of the infinite-horizon LQR
    status : "ok"
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

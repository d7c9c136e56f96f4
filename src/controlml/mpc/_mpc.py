"""Model predictive control, with the full model or a random batch (RBM) model."""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_option, check_positive, check_random_state
from ..errors import ParameterError
from ._batches import RBM, draw_keys
from ._ocp import _check_method, _solve_adjoint
from ._problem import Dynamics, LQProblem
from ._riccati import riccati_gains, riccati_rollout

__all__ = ["MPCResult", "mpc"]


@dataclass(frozen=True)
class MPCResult:
    """Closed-loop MPC run on [0, T].

    Attributes
    ----------
    t : (K+1,) ndarray
        The time grid t_k = k dt.
    x : (K+1, n) ndarray
        The closed-loop states of the true plant (always evolved with the full A).
    u : (K, m) ndarray
        The controls applied to the plant.
    cost : float
        The problem's cost J of the closed loop (x, u).
    step_seconds : (S,) ndarray
        Wall time of each of the S receding-horizon solves.
    solves : int
        S, the number of receding-horizon solves (ceil(K / control_steps)).
    cg_iterations : (S,) ndarray of int
        Conjugate-gradient iterations of each solve (``solver="adjoint"``; 0 for Riccati).
    prediction_steps : int
        The prediction horizon in time steps, T_p / dt.
    control_steps : int
        The control horizon in time steps, tau / dt.
    rbm : RBM or None
        The random batch setting of the model, or None (full model).
    status : {"ok", "max_iter"}
        "max_iter" when some conjugate-gradient solve stopped at ``max_iter``.
    """

    t: np.ndarray
    x: np.ndarray
    u: np.ndarray
    cost: float
    step_seconds: np.ndarray
    solves: int
    cg_iterations: np.ndarray
    prediction_steps: int
    control_steps: int
    rbm: Any
    status: str

    @property
    def seconds_per_step(self) -> float:
        """Mean wall time of one receding-horizon solve."""
        return float(np.mean(self.step_seconds))


def _steps(value: float, dt: float, name: str) -> int:
    v = check_positive(value, name)
    k = round(v / dt)
    if k < 1 or abs(k * dt - v) > 1e-9 * max(v, 1.0):
        raise ParameterError(f"{name} must be a positive multiple of dt = {dt!r}; got {value!r}")
    return k


def mpc(problem: LQProblem, *, prediction_horizon: float, control_horizon: float,
        solver: str = "riccati", rbm: RBM | None = None, random_state: Any = None,
        progress: bool = True, rtol: float = 1e-10, max_iter: int = 1000,
        dynamics: Dynamics | None = None) -> MPCResult:
    """Receding-horizon control of ``problem`` on [0, T].

    At t_k (k = 0, tau, 2 tau, ...) solve the problem on [t_k, min(t_k + T_p, T)] from the
    measured state x(t_k) (the model: the full A, or with ``rbm`` a random batch operator
    drawn anew on every interval of length h), apply its first tau = ``control_horizon``
    of controls to the plant, which always evolves with the true A, and repeat.  The
    window's cost is the problem's cost restricted to it (QT only when it reaches T).

    Parameters
    ----------
    problem : LQProblem
        The problem on [0, T]: the plant, the cost, and the initial state x0.
    prediction_horizon : float
        T_p > 0, the length of each window's optimal control problem (a multiple of dt;
        windows are cut at T).
    control_horizon : float
        tau, 0 < tau <= T_p, the time for which each window's controls are applied before
        re-planning (a multiple of dt).
    solver : {"riccati", "adjoint"}, default "riccati"
        "riccati": the dense recursion (n <= 3000; with the full model the gains are the
        same in every window and are computed once per window length and terminal flag).
        "adjoint": conjugate gradients with adjoint gradients and cached sparse LU factors.
    rbm : RBM, optional
        Random batch model: on every interval of length ``rbm.h`` the model uses a random
        batch operator A_omega = sum_{m in omega} A_m / pi_m (needs A given as parts).
        Default None: the model is the full A.
    random_state : None, int or numpy.random.Generator, optional
        Seed or generator of the batch draws (used only with ``rbm``).
    progress : bool, default True
        Show a tqdm progress bar over the windows.
    rtol : float, default 1e-10
        Relative residual at which each conjugate-gradient solve stops (``solver="adjoint"``).
    max_iter : int, default 1000
        Maximum conjugate-gradient iterations per window (``solver="adjoint"``); when reached,
        the result has ``status="max_iter"``.
    dynamics : Dynamics, optional
        The cached time stepping (operators, batch operators and sparse LU factors) of this
        ``problem`` (``Dynamics(problem)``); pass one instance to repeated runs on the same
        problem (e.g. several horizons or seeds) to reuse the factorisations.  Default
        None: a new one is built.

    Returns
    -------
    MPCResult
        The closed-loop trajectory, its cost and the per-solve timings.
    """
    p = problem
    check_option(solver, "solver", ("riccati", "adjoint"))
    _check_method(solver, p.n)
    Kp = _steps(prediction_horizon, p.dt, "prediction_horizon")
    Kc = _steps(control_horizon, p.dt, "control_horizon")
    if Kc > Kp:
        raise ParameterError(f"control_horizon ({control_horizon!r}) must be <= "
                             f"prediction_horizon ({prediction_horizon!r})")
    if rbm is not None:
        if not isinstance(rbm, RBM):
            raise ParameterError(f"rbm must be an RBM(batches, h) or None; got "
                                 f"{type(rbm).__name__}")
        if p.parts is None:
            raise ParameterError("rbm needs the problem's A given as parts A = sum_m A_m "
                                 "(LQProblem([A_1, ..., A_M], ...))")
        rule = rbm.rule(len(p.parts))
        s = rbm.steps_per_batch(p.dt)
    rng = check_random_state(random_state)
    K = p.K
    dyn = dynamics if dynamics is not None else Dynamics(p)
    x = np.empty((K + 1, p.n))
    u = np.empty((K, p.m))
    x[0] = p.x0
    times, its = [], []
    gain_cache: dict[tuple[int, bool], tuple[np.ndarray, np.ndarray]] = {}
    status = "ok"
    starts = range(0, K, Kc)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="MPC", leave=False)
    for k in starts:
        L = min(Kp, K - k)
        terminal = k + L == K
        t0 = _time.perf_counter()
        win = p._window(x[k], L, terminal=terminal)
        dw = dyn.with_problem(win)
        if rbm is None:
            keys = [None] * L
        else:
            keys = draw_keys(rule, s, L, rng)
            for om in set(keys):
                dyn.register_batch(rule, om)
        if solver == "riccati":
            if rbm is None:
                if (L, terminal) not in gain_cache:
                    gain_cache[(L, terminal)] = riccati_gains(dw, keys)
                gains, ff = gain_cache[(L, terminal)]
            else:
                gains, ff = riccati_gains(dw, keys)
            _, uw = riccati_rollout(dw, keys, gains, ff, x[k])
            its.append(0)
        else:
            uw, _, it, _, st = _solve_adjoint(dw, keys, x[k], rtol=rtol, max_iter=max_iter)
            its.append(it)
            if st != "ok":
                status = st
        times.append(_time.perf_counter() - t0)
        for j in range(min(Kc, L)):
            u[k + j] = uw[j]
            x[k + j + 1] = dyn.step(None, x[k + j], uw[j])
    return MPCResult(p.times, x, u, p.cost(x, u), np.asarray(times), len(times),
                     np.asarray(its), Kp, Kc, rbm, status)

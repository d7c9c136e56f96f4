"""Randomized time-splitting of A = sum_m A_m and its convergence in expectation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int, check_random_state
from ..errors import ParameterError
from ._batches import RBM, draw_keys
from ._ocp import OCPResult, solve_ocp
from ._problem import LQProblem, Dynamics

__all__ = ["SplittingResult", "randomized_splitting", "SplittingStudy", "splitting_study"]


@dataclass(frozen=True)
class SplittingResult:
    """Optimal control of one random draw of the split model.

    Attributes
    ----------
    t : (K+1,);  x : (K+1, n) the split model's optimal states;  u : (K, m) its optimal control
    cost : J_h(omega, u_h) of the split model;  cost_true : J(u_h) on the true dynamics
    batches : list of the K drawn subsets (one per step);  ocp : the underlying OCPResult
    """

    t: np.ndarray
    x: np.ndarray
    u: np.ndarray
    cost: float
    cost_true: float
    batches: list
    ocp: OCPResult


def _need_parts(problem: LQProblem) -> None:
    if problem.parts is None:
        raise ParameterError("randomized splitting needs A given as parts: "
                             "LQProblem([A_1, ..., A_M], B, Q, R, ...) with A = sum_m A_m")


def randomized_splitting(problem: LQProblem, *, h: float, batches: Any = "one-part",
                         pi: Any = None, random_state: Any = None, method: str = "riccati",
                         dynamics: Dynamics | None = None) -> SplittingResult:
    """Solve the LQ problem with the randomly split dynamics (Veldman & Zuazua 2022).

    On every interval of length h (floor(h/dt) steps) a subset omega_k is drawn and the
    model uses A_h = sum_{m in omega_k} A_m / pi_m (E[A_h] = A); the optimal control u_h of
    this random problem is returned with its cost and its cost on the true dynamics.

    Parameters
    ----------
    problem : LQProblem with A given as parts
    h : float >= dt;  batches : "one-part", "drop-one", "random-subsets", BatchRule or callable
    pi : inclusion probabilities for a callable;  random_state : seed
    method : "riccati" or "adjoint"
    """
    _need_parts(problem)
    rbm = RBM(batches, h, pi)
    rule = rbm.rule(len(problem.parts))
    s = rbm.steps_per_batch(problem.dt)
    rng = check_random_state(random_state)
    dyn = dynamics if dynamics is not None else Dynamics(problem)
    keys = draw_keys(rule, s, problem.K, rng)
    for om in set(keys):
        dyn.register_batch(rule, om)
    sol = solve_ocp(problem, method, _keys=keys, dynamics=dyn)
    xt = dyn.simulate(problem.x0, sol.u)
    return SplittingResult(sol.t, sol.x, sol.u, sol.cost, problem.cost(xt, sol.u), keys, sol)


@dataclass(frozen=True)
class SplittingStudy:
    """Errors of the split model's optimum against the full optimum, over draws, against h.

    Attributes
    ----------
    h : (H,) interval lengths;  draws : number of draws per h
    state_error : (H,) root mean square over draws of max_k |x_h(t_k) - x*(t_k)|
    final_state_error : (H,) RMS of |x_h(T) - x*(T)|
    control_error : (H,) RMS of |u_h - u*|_{L2(0,T)}
    cost_error : (H,) RMS of |J_h(omega, u_h) - J*|;  mean_cost_error : (H,) |E J_h - J*|
    slope_state, slope_control, slope_cost : least-squares slopes of log error vs log h
    reference : the full problem's OCPResult
    """

    h: np.ndarray
    draws: int
    state_error: np.ndarray
    final_state_error: np.ndarray
    control_error: np.ndarray
    cost_error: np.ndarray
    mean_cost_error: np.ndarray
    slope_state: float
    slope_control: float
    slope_cost: float
    reference: OCPResult


def _slope(h: np.ndarray, e: np.ndarray) -> float:
    ok = e > 0
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(h[ok]), np.log(e[ok]), 1)[0])


def splitting_study(problem: LQProblem, hs: Sequence[float], *, draws: int = 20,
                    batches: Any = "one-part", pi: Any = None, method: str = "riccati",
                    random_state: Any = None, progress: bool = False) -> SplittingStudy:
    """The expectation study: errors of :func:`randomized_splitting` against h over draws.

    The theory (Veldman & Zuazua 2022) bounds E|x_h - x*|^2, E|u_h - u*|^2 and E|J_h - J*|
    by C h, i.e. root-mean-square errors O(sqrt h): the fitted slopes are at least 1/2.
    """
    _need_parts(problem)
    draws = check_int(draws, "draws", minimum=1)
    hs = np.asarray(hs, dtype=np.float64)
    if hs.ndim != 1 or hs.size < 1:
        raise ParameterError(f"hs must be a non-empty 1-D sequence of h values; got {hs!r}")
    for h in hs:
        RBM(batches, float(h), pi).steps_per_batch(problem.dt)  # validates every h first
    rng = check_random_state(random_state)
    dyn = Dynamics(problem)
    ref = solve_ocp(problem, method, dynamics=dyn)
    dt = problem.dt
    H = hs.size
    se, fe, ce, je, mj = (np.zeros(H) for _ in range(5))
    it = [(i, d) for i in range(H) for d in range(draws)]
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="splitting draws", leave=False)
    costs = np.zeros((H, draws))
    for i, d in it:
        r = randomized_splitting(problem, h=float(hs[i]), batches=batches, pi=pi,
                                 random_state=rng, method=method, dynamics=dyn)
        se[i] += np.max(np.linalg.norm(r.x - ref.x, axis=1)) ** 2
        fe[i] += np.linalg.norm(r.x[-1] - ref.x[-1]) ** 2
        ce[i] += dt * np.sum((r.u - ref.u) ** 2)
        je[i] += (r.cost - ref.cost) ** 2
        costs[i, d] = r.cost
    se, fe, ce, je = (np.sqrt(v / draws) for v in (se, fe, ce, je))
    mj = np.abs(costs.mean(axis=1) - ref.cost)
    return SplittingStudy(hs, draws, se, fe, ce, je, mj, _slope(hs, se), _slope(hs, ce),
                          _slope(hs, je), ref)

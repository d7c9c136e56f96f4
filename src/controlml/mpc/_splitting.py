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
from ._problem import Dynamics, LQProblem

__all__ = ["SplittingResult", "randomized_splitting", "SplittingStudy", "splitting_study"]


@dataclass(frozen=True)
class SplittingResult:
    """Optimal control of one random draw of the split model.

    Attributes
    ----------
    t : (K+1,) ndarray
        The time grid t_k = k dt.
    x : (K+1, n) ndarray
        The split model's optimal states x_h.
    u : (K, m) ndarray
        Its optimal control u_h.
    cost : float
        J_h(omega, u_h), the optimal cost of the split model.
    cost_true : float
        J(u_h), the cost of the control u_h applied to the true dynamics (the full A).
    batches : list of tuple of int
        The K drawn subsets omega_k of part indices, one per time step (constant over each
        interval of length h).
    ocp : OCPResult
        The underlying solve of the split problem (method, iterations, timings).
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
    problem : LQProblem
        The problem, with A given as parts ``[A_1, ..., A_M]``.
    h : float
        The length of the intervals on which one batch is kept, h >= dt (an interval is
        floor(h/dt) time steps).
    batches : str, BatchRule or callable, default "one-part"
        The law of the batches: "one-part" (one part, uniform), "drop-one" (all parts but
        one, uniform), "random-subsets" (each part independently with probability 1/2), a
        :class:`BatchRule` for M parts, or a callable ``sampler(rng) -> subset`` (then give
        ``pi``).
    pi : (M,) array_like, optional
        Inclusion probabilities pi_m = P(m in omega) of a callable ``batches`` (required
        then, ignored otherwise).
    random_state : None, int or numpy.random.Generator, optional
        Seed or generator of the batch draws.
    method : {"riccati", "adjoint"}, default "riccati"
        How :func:`solve_ocp` solves the split problem.
    dynamics : Dynamics, optional
        The cached time stepping of this ``problem`` (``Dynamics(problem)``); the drawn
        batch operators and their LU factors are added to it, so passing one instance to
        repeated draws reuses them.  Default None: a new one is built.

    Returns
    -------
    SplittingResult
        The split model's optimum, its cost and its cost on the true dynamics.
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
    sol = solve_ocp(problem, method, operator_keys=keys, dynamics=dyn)
    xt = dyn.simulate(problem.x0, sol.u)
    return SplittingResult(sol.t, sol.x, sol.u, sol.cost, problem.cost(xt, sol.u), keys, sol)


@dataclass(frozen=True)
class SplittingStudy:
    """Errors of the split model's optimum against the full optimum, over draws, against h.

    Attributes
    ----------
    h : (H,) ndarray
        The interval lengths h.
    draws : int
        The number of random draws per h.
    state_error : (H,) ndarray
        Root mean square over the draws of max_k |x_h(t_k) - x*(t_k)|.
    final_state_error : (H,) ndarray
        Root mean square of |x_h(T) - x*(T)|.
    control_error : (H,) ndarray
        Root mean square of |u_h - u*|_{L2(0,T)} (sum_k dt |u_h,k - u*_k|^2, square-rooted).
    cost_error : (H,) ndarray
        Root mean square of |J_h(omega, u_h) - J*|.
    mean_cost_error : (H,) ndarray
        |mean over the draws of J_h(omega, u_h) - J*|, the sample estimate of |E J_h - J*|.
    slope_state : float
        Least-squares slope of log ``state_error`` against log h (NaN with fewer than two
        positive errors).
    slope_control : float
        The same slope for ``control_error``.
    slope_cost : float
        The same slope for ``cost_error``.
    reference : OCPResult
        The full problem's optimum (x*, u*, J*).
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

    Parameters
    ----------
    problem : LQProblem
        The problem, with A given as parts ``[A_1, ..., A_M]``.
    hs : sequence of float
        The H interval lengths h to study (each >= dt), a non-empty 1-D sequence.
    draws : int, default 20
        The number of independent draws per h (>= 1).
    batches : str, BatchRule or callable, default "one-part"
        The law of the batches, as in :func:`randomized_splitting`.
    pi : (M,) array_like, optional
        Inclusion probabilities of a callable ``batches``.
    method : {"riccati", "adjoint"}, default "riccati"
        How :func:`solve_ocp` solves the full and the split problems.
    random_state : None, int or numpy.random.Generator, optional
        Seed or generator of all the draws (one stream, in the order h, then draw).
    progress : bool, default False
        Show a tqdm progress bar over the H x draws solves.

    Returns
    -------
    SplittingStudy
        The error statistics per h and their fitted slopes.
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

r"""Theorem 2.2 made measurable: the bound (2.11)-(2.13), the value function v(ε) and ε*."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import as_points, check_int, check_nonnegative, check_positive
from ..errors import DatasetError, ParameterError
from ..metrics import wasserstein1
from ._data import check_data, check_eps
from ._network import ShallowNetwork
from ._solver import SparseFit, fit_sparse

__all__ = ["GeneralizationBound", "generalization_bound", "ValueFunction", "value_function",
           "EpsilonChoice", "optimal_epsilon", "ValidationChoice", "validation_epsilon"]


@dataclass(frozen=True)
class GeneralizationBound:
    r"""Each term of (2.11)-(2.13) for one network.

    Attributes
    ----------
    irreducible : float
        :math:`d_{KR}(m_{train}, m_{test})` (on :math:`\mathbb R^{d+1}`).
    training_bias : float
        :math:`\frac1N\sum_i |f(x_i) - y_i|`.
    shift : float
        :math:`d_{KR}(m_X, m_{X'})`.
    sensitivity : float
        :math:`d_{KR}(m_X, m_{X'})\,\mathcal L\sum_j |w_j|\,\|a_j\|`.
    r : float
        ``training_bias + sensitivity`` (2.12).
    bound : float
        ``irreducible + r``, the right side of (2.11).
    measured : float
        :math:`d_{KR}(m_{test}, m_{pred}(\Theta))`, the left side of (2.11).
    U : float
        :math:`\mathcal U(\varepsilon) = \varepsilon + d_{KR}(m_X, m_{X'})\,\mathrm{val}(PR_\varepsilon)`
        (2.13), or NaN when ``eps`` was not given.
    holds : bool
        ``measured <= bound`` (and ``r <= U`` when ``U`` is defined), up to 1e-9.
    """

    irreducible: float
    training_bias: float
    shift: float
    sensitivity: float
    r: float
    bound: float
    measured: float
    U: float
    holds: bool


def generalization_bound(net: ShallowNetwork, X_train: Any, y_train: Any, X_test: Any, y_test: Any,
                         *, eps: float | None = None, value: float | None = None,
                         max_points: int = 5000, random_state: Any = None) -> GeneralizationBound:
    r"""The terms of Thm 2.2 for ``net`` on a train / test split, W1 by POT.

    .. math::
        d_{KR}(m_{test}, m_{pred}(\Theta)) \le d_{KR}(m_{train}, m_{test})
        + \underbrace{\tfrac1N\textstyle\sum_i|f(x_i)-y_i| + d_{KR}(m_X,m_{X'})\mathcal L\sum_j|w_j|\|a_j\|}_{r(\Theta)},
        \qquad r(\Theta_\varepsilon) \le \varepsilon + d_{KR}(m_X, m_{X'})\,\mathrm{val}(PR_\varepsilon).

    Parameters
    ----------
    net : ShallowNetwork
    X_train : array (N, d)
    y_train : array (N,)
    X_test : array (N', d)
    y_test : array (N',)
    eps : float, optional
        If given, also :math:`\mathcal U(\varepsilon)`; ``net`` should then solve (Pε).
    value : float, optional
        val(PRε) for :math:`\mathcal U`; defaults to :math:`\sum_j|w_j|` of ``net``
        (equal to it when ``net`` solves (PRε) with atoms on the unit sphere).
    max_points, random_state
        Passed to :func:`controlml.metrics.wasserstein1`.
    """
    if not isinstance(net, ShallowNetwork):
        raise ParameterError(f"net must be a ShallowNetwork; got {type(net).__name__}")
    X, Y = check_data(X_train, y_train, distinct=False)
    Xp, Yp = check_data(X_test, y_test, distinct=False)
    if X.shape[1] != net.dim or Xp.shape[1] != net.dim:
        raise DatasetError(f"X_train and X_test must have d = {net.dim} columns like the network; "
                           f"got {X.shape[1]} and {Xp.shape[1]}")
    kw = {"max_points": max_points, "random_state": random_state}
    train = np.column_stack([X, Y])
    test = np.column_stack([Xp, Yp])
    pred = np.column_stack([Xp, net(Xp)])
    irreducible = wasserstein1(train, test, **kw)
    measured = wasserstein1(test, pred, **kw)
    shift = wasserstein1(X, Xp, **kw)
    bias = float(np.mean(np.abs(net(X) - Y)))
    sens = shift * net.sensitivity
    r = bias + sens
    bound = irreducible + r
    U = float("nan")
    holds = measured <= bound + 1e-9
    if eps is not None:
        eps = check_eps(eps)
        val = net.total_variation if value is None else check_nonnegative(value, "value")
        U = eps + shift * val
        holds = holds and r <= U + 1e-9 * max(1.0, U)
    return GeneralizationBound(irreducible, bias, shift, sens, r, bound, measured, U, bool(holds))


@dataclass(frozen=True)
class ValueFunction:
    r""":math:`v(\varepsilon) = \mathrm{val}(PR_\varepsilon)` on a grid.

    Attributes
    ----------
    eps : array (K,)
    value : array (K,)
        Primal values.
    lower : array (K,)
        Lower bounds from the duals.
    dual_l1 : array (K,)
        :math:`\|p_\varepsilon\|_1` of the feasible dual (``SparseFit.feasible_dual``);
        :math:`-\|p_\varepsilon\|_1` is a slope (subgradient) of v at ε.
    fits : tuple of SparseFit
    """

    eps: np.ndarray
    value: np.ndarray
    lower: np.ndarray
    dual_l1: np.ndarray
    fits: tuple


def value_function(X: Any, y: Any, eps_grid: Any, *, random_state: Any = None,
                   progress: bool = False, max_iter: int = 200) -> ValueFunction:
    r"""Solve (PRε) for every ε of ``eps_grid`` (K,) with :func:`fit_sparse`.

    v is convex and non-increasing, zero for :math:`\varepsilon \ge \|Y\|_\infty`, and
    :math:`v(\varepsilon') \ge p_\varepsilon^\top Y - \varepsilon'\|p_\varepsilon\|_1` for all ε' (weak duality).

    Parameters
    ----------
    X : array (N, d)
        Distinct training inputs.
    y : array (N,)
        Labels :math:`Y`.
    eps_grid : array_like (K,)
        Tolerances :math:`\varepsilon \ge 0` (finite, non-empty; flattened).
    random_state : None, int or numpy.random.Generator
        Passed to every :func:`fit_sparse` call (random starts of the ascent oracle).
    progress : bool
        Show a tqdm bar over the grid.
    max_iter : int
        Column-generation rounds per solve (see :func:`fit_sparse`; default 200).

    Returns
    -------
    ValueFunction
        Values, dual lower bounds, :math:`\|p_\varepsilon\|_1` and the fits, in grid order.

    Raises
    ------
    DatasetError
        Bad X, y (see :func:`fit_sparse`).
    ParameterError
        ``eps_grid`` empty, non-finite or negative.
    """
    X, Y = check_data(X, y)
    grid = np.asarray(eps_grid, dtype=np.float64).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ParameterError("eps_grid must be a non-empty array of finite values >= 0")
    it = grid
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(grid, desc="value_function", leave=False)
    fits = tuple(fit_sparse(X, Y, eps=float(e), random_state=random_state, max_iter=max_iter)
                 for e in it)
    return ValueFunction(grid.copy(), np.array([f.value for f in fits]),
                         np.array([f.lower_bound for f in fits]),
                         np.array([np.sum(np.abs(f.feasible_dual)) for f in fits]), fits)


@dataclass(frozen=True)
class EpsilonChoice:
    r"""Minimiser of :math:`\mathcal U(\varepsilon) = \varepsilon + \delta\,v(\varepsilon)`, :math:`\delta = d_{KR}(m_X, m_{X'})`.

    Attributes
    ----------
    eps_star : float
    U_star : float
        :math:`\mathcal U(\varepsilon^*)`.
    delta : float
        The shift :math:`d_{KR}(m_X, m_{X'})`.
    threshold : float
        :math:`\delta^* = 1/\|p_{0^+}\|_1`: :math:`\varepsilon^* = 0` iff :math:`\delta \le \delta^*`.
    regime : {"exact", "relaxed"}
        ``"exact"`` when :math:`\varepsilon^*=0` (small shift), else ``"relaxed"``.
    eps_evaluated, U_evaluated : arrays
        The points visited by the bisection.
    fit : SparseFit
        The solution at :math:`\varepsilon^*`.
    status : str
    """

    eps_star: float
    U_star: float
    delta: float
    threshold: float
    regime: str
    eps_evaluated: np.ndarray
    U_evaluated: np.ndarray
    fit: SparseFit
    status: str


def optimal_epsilon(X: Any, y: Any, *, delta: float | None = None, X_test: Any = None,
                    rtol: float = 1e-3, max_bisect: int = 30, random_state: Any = None,
                    max_iter: int = 200) -> EpsilonChoice:
    r"""The tolerance minimising the bound (2.13): :math:`\varepsilon^* = \arg\min_\varepsilon \varepsilon + \delta\,v(\varepsilon)`.

    U is convex with right derivative :math:`1 - \delta\|p_\varepsilon\|_1`
    (:math:`\|p_\varepsilon\|_1` non-increasing), so :math:`\varepsilon^* = 0` iff
    :math:`\delta \le 1/\|p_{0^+}\|_1`, and otherwise
    :math:`\varepsilon^* = \inf\{\varepsilon : \|p_\varepsilon\|_1 \le 1/\delta\}`, found by
    bisection on :math:`[0, \|Y\|_\infty]` (one (PRε) solve per step).

    Parameters
    ----------
    X : array (N, d)
        Distinct training inputs.
    y : array (N,)
        Labels :math:`Y`.
    delta : float, optional
        The shift :math:`d_{KR}(m_X, m_{X'})`; or give ``X_test`` (N', d) to compute it.
    X_test : array (N', d), optional
        Test inputs :math:`X'`; then :math:`\delta = W_1(m_X, m_{X'})` (exact, uniform
        weights).  Give exactly one of ``delta`` and ``X_test``.
    rtol : float
        Bisection stops when the bracket is below ``rtol * ||Y||_inf``.
    max_bisect : int
        Maximum number of bisection steps (>= 1; default 30); when reached the status is
        ``"max_bisect"``.
    random_state : None, int or numpy.random.Generator
        Passed to every :func:`fit_sparse` call.
    max_iter : int
        Column-generation rounds per (PRε) solve (see :func:`fit_sparse`; default 200).

    Returns
    -------
    EpsilonChoice
        :math:`\varepsilon^*`, :math:`\mathcal U(\varepsilon^*)`, the threshold
        :math:`\delta^*`, the points visited and the fit at :math:`\varepsilon^*`.

    Raises
    ------
    ParameterError
        Both or neither of ``delta`` and ``X_test``; bad option values.
    """
    X, Y = check_data(X, y)
    if (delta is None) == (X_test is None):
        raise ParameterError("give exactly one of delta (the shift d_KR(m_X, m_X')) and X_test")
    if delta is None:
        Xp = as_points(X_test, "X_test", dim=X.shape[1])
        delta = wasserstein1(X, Xp)
    delta = check_nonnegative(delta, "delta")
    rtol = check_positive(rtol, "rtol")
    max_bisect = check_int(max_bisect, "max_bisect", minimum=1)
    ymax = float(np.max(np.abs(Y)))
    kw = {"random_state": random_state, "max_iter": max_iter}
    evals: dict[float, SparseFit] = {}

    def fit(e: float) -> SparseFit:
        if e not in evals:
            evals[e] = fit_sparse(X, Y, eps=e, **kw)
        return evals[e]

    def U(e: float) -> float:
        return e + delta * fit(e).value

    h = 1e-6 * max(ymax, 1e-300)
    p0 = float(np.sum(np.abs(fit(h).feasible_dual)))
    threshold = 1.0 / p0 if p0 > 0 else float("inf")
    status = "converged"
    if ymax == 0 or delta <= threshold:
        e_star = 0.0
    else:
        lo, hi = h, ymax
        for _ in range(max_bisect):
            if hi - lo <= rtol * ymax:
                break
            mid = 0.5 * (lo + hi)
            if delta * np.sum(np.abs(fit(mid).feasible_dual)) > 1.0:
                lo = mid  # U still decreasing
            else:
                hi = mid
        else:
            status = "max_bisect"
        e_star = min((lo, hi), key=U)
    Ustar = U(e_star)
    es = np.array(sorted(evals))
    return EpsilonChoice(float(e_star), float(Ustar), float(delta), float(threshold),
                         "exact" if e_star == 0.0 else "relaxed", es,
                         np.array([U(e) for e in es]), fit(e_star), status)


@dataclass(frozen=True)
class ValidationChoice:
    r"""Data-driven ε: the grid point minimising :math:`d_{KR}(m_{val}, m_{pred})`.

    Attributes
    ----------
    eps : array (K,)
    discrepancy : array (K,)
        :math:`d_{KR}(m_{val}, m_{pred}(\Theta_\varepsilon))`.
    eps_best : float
    fits : tuple of SparseFit
    """

    eps: np.ndarray
    discrepancy: np.ndarray
    eps_best: float
    fits: tuple


def validation_epsilon(X: Any, y: Any, X_val: Any, y_val: Any, eps_grid: Any, *,
                       random_state: Any = None, max_iter: int = 200) -> ValidationChoice:
    r"""Choose ε on held-out data: :math:`\arg\min_{\varepsilon\in\text{grid}} W_1(m_{val}, m_{pred}(\Theta_\varepsilon))`.

    A data-driven alternative to :func:`optimal_epsilon`, whose :math:`\mathcal U` is a
    worst-case bound.

    Parameters
    ----------
    X : array (N, d)
        Distinct training inputs.
    y : array (N,)
        Training labels.
    X_val : array (N', d)
        Held-out inputs (repeated rows allowed).
    y_val : array (N',)
        Held-out labels.
    eps_grid : array_like (K,)
        Candidate tolerances :math:`\varepsilon \ge 0`, solved with :func:`value_function`.
    random_state : None, int or numpy.random.Generator
        Passed to every :func:`fit_sparse` call.
    max_iter : int
        Column-generation rounds per solve (see :func:`fit_sparse`; default 200).

    Returns
    -------
    ValidationChoice
        The grid, the discrepancy :math:`W_1` between the validation pairs
        :math:`(x'_i, y'_i)` and the predictions :math:`(x'_i, f_\varepsilon(x'_i))` for
        each ε, the best ε and the fits.

    Raises
    ------
    DatasetError
        Bad data, or ``X_val`` with another number of columns than ``X``.
    """
    X, Y = check_data(X, y)
    Xv, Yv = check_data(X_val, y_val, distinct=False)
    if Xv.shape[1] != X.shape[1]:
        raise DatasetError(f"X_val must have {X.shape[1]} columns like X; got {Xv.shape[1]}")
    vf = value_function(X, Y, eps_grid, random_state=random_state, max_iter=max_iter)
    val = np.column_stack([Xv, Yv])
    disc = np.array([wasserstein1(val, np.column_stack([Xv, f.network(Xv)])) for f in vf.fits])
    k = int(np.argmin(disc))
    return ValidationChoice(vf.eps, disc, float(vf.eps[k]), vf.fits)

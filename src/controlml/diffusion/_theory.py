"""Checks of the theory: Li-Yau, the backward energy estimate, sqrt(t) concentration."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.special import gammaln

from .._checks import as_float_array, as_points, check_int, check_positive, check_random_state
from ..errors import ParameterError
from ._sampler import sample
from ._score import HeatKernelScore

__all__ = ["LiYauCheck", "EnergyEstimate", "Concentration", "li_yau_check", "energy_estimate",
           "concentration", "nearest_distance"]


def _times(t: Any, name: str = "t") -> np.ndarray:
    arr = np.atleast_1d(as_float_array(t, name, "a positive number or a 1-D array of them",
                                       ParameterError))
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError(f"{name} must be a positive number or a 1-D array of them; got {t!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ParameterError(f"{name} must be finite and > 0; got {arr.tolist()!r}")
    return arr


def nearest_distance(X: Any, Y: Any) -> np.ndarray:
    r"""Distance of each row of ``X`` (n, d) to the nearest row of ``Y`` (m, d) -> (n,).

    :math:`\min_j |x_k - y_j|` through a k-d tree (:class:`scipy.spatial.cKDTree`).

    Parameters
    ----------
    X : array, shape (n, d)
        Query points (at least one).
    Y : array, shape (m, d)
        Reference points (at least one).

    Returns
    -------
    ndarray, shape (n,)
    """
    from scipy.spatial import cKDTree

    X = as_points(X, "X")
    Y = as_points(Y, "Y", dim=X.shape[1])
    return cKDTree(Y).query(X, k=1)[0]


# --------------------------------------------------------------------------- Li-Yau
@dataclass(frozen=True)
class LiYauCheck:
    r"""The Li--Yau inequality :math:`\operatorname{div}s \ge -d/(2t)` on random points.

    Attributes
    ----------
    t : ndarray (K,)
        Times checked.
    min_margin : ndarray (K,)
        :math:`\min_x (\operatorname{div}s(x,t) + d/(2t))` over the points (>= 0 when it holds).
    scaled_margin : ndarray (K,)
        ``min_margin * 2t/d`` (dimensionless; -1 would be the worst violation of a bound
        twice as weak).
    worst_point : ndarray (K, d)
        Where the minimum was found.
    autograd_error : float
        Largest relative gap between the closed-form divergence and the trace of the
        autograd Hessian of :math:`\log u` (NaN when not computed).
    n_points : int
        Points per time.
    holds : bool
        Every margin >= -tol (rounding) and the autograd agreement <= 1e-6.
    status : str
        ``"holds"`` or ``"violated"``.
    """

    t: np.ndarray
    min_margin: np.ndarray
    scaled_margin: np.ndarray
    worst_point: np.ndarray
    autograd_error: float
    n_points: int
    holds: bool
    status: str


def _autograd_div(score: HeatKernelScore, x: np.ndarray, t: float) -> np.ndarray:
    """Trace of the Hessian of log u by double autograd, in float64."""
    xt = torch.as_tensor(x, dtype=torch.float64).requires_grad_(True)
    lu = score.log_u(xt, t)
    (g,) = torch.autograd.grad(lu.sum(), xt, create_graph=True)
    div = torch.zeros(x.shape[0], dtype=torch.float64)
    for j in range(score.d):
        (hj,) = torch.autograd.grad(g[:, j].sum(), xt, retain_graph=True)
        div = div + hj[:, j]
    return div.detach().numpy()


def li_yau_check(score: Any, t: Any = (1e-3, 1e-2, 1e-1, 1.0), *, n_points: int = 2000,
                 autograd_points: int = 64, random_state: Any = None) -> LiYauCheck:
    r"""Check :math:`\operatorname{div}s(x,t) \ge -\frac{d}{2t}` on random points.

    Half of the points are drawn from :math:`u(\cdot,t)` (near the data, where the
    bound is nearly attained), half uniformly in the data's bounding box enlarged by
    :math:`3\sqrt{2t}+1`.  For a :class:`HeatKernelScore` the closed-form divergence
    is also compared with the trace of the autograd Hessian of :math:`\log u`.

    Parameters
    ----------
    score : HeatKernelScore or NeuralScore
        Anything with ``divergence(x, t)``, ``X`` (I, d) and ``d``.
    t : float or array (K,)
        Times (> 0).
    n_points : int
        Points per time.
    autograd_points : int
        Points per time of the autograd cross-check (HeatKernelScore only; 0 skips it).
    random_state : int or Generator, optional

    Returns
    -------
    LiYauCheck
    """
    ts = _times(t)
    n_points = check_int(n_points, "n_points", minimum=2)
    autograd_points = check_int(autograd_points, "autograd_points", minimum=0)
    if not hasattr(score, "divergence") or not hasattr(score, "X"):
        raise ParameterError(f"score must be a HeatKernelScore or a NeuralScore; got "
                             f"{type(score).__name__}")
    rng = check_random_state(random_state)
    d = score.d
    X = score.X
    lo, hi = X.min(0), X.max(0)
    margins, worst, ag = [], [], 0.0
    for tk in ts:
        pad = 3.0 * math.sqrt(2.0 * tk) + 1.0
        near = X[rng.integers(0, X.shape[0], n_points // 2)] + math.sqrt(2 * tk) * \
            rng.standard_normal((n_points // 2, d))
        far = rng.uniform(lo - pad, hi + pad, (n_points - n_points // 2, d))
        pts = np.vstack([near, far])
        div = np.asarray(score.divergence(pts, float(tk)), dtype=np.float64)
        m = div + d / (2.0 * tk)
        k = int(np.argmin(m))
        margins.append(m[k])
        worst.append(pts[k])
        if autograd_points and isinstance(score, HeatKernelScore):
            sub = pts[rng.choice(pts.shape[0], min(autograd_points, pts.shape[0]), replace=False)]
            ref = _autograd_div(score, sub, float(tk))
            mine = score.divergence(sub, float(tk))
            ag = max(ag, float(np.max(np.abs(mine - ref)) / (np.max(np.abs(ref)) + d / tk)))
    margins = np.asarray(margins)
    scaled = margins * 2.0 * ts / d
    tol = 1e-9 if getattr(score, "dtype", torch.float64) == torch.float64 else 1e-4
    agerr = ag if (autograd_points and isinstance(score, HeatKernelScore)) else float("nan")
    holds = bool(np.all(scaled >= -tol) and (math.isnan(agerr) or agerr <= 1e-6))
    return LiYauCheck(t=ts, min_margin=margins, scaled_margin=scaled, worst_point=np.asarray(worst),
                      autograd_error=agerr, n_points=n_points, holds=holds,
                      status="holds" if holds else "violated")


# --------------------------------------------------------------------------- energy
@dataclass(frozen=True)
class EnergyEstimate:
    r"""The backward energy estimate of Sec. 5 on a grid (d = 1 or 2).

    With :math:`E(t)=\int u^2`, the paper's identity and bound read

    .. math::
        \tfrac12 E'(t) - \int|\nabla u|^2 = \int u^2 \operatorname{div}s
        \;\ge\; -\tfrac{d}{2t}E(t),
        \qquad\text{so}\qquad E(t) \le (T/t)^{d} E(T),\; t \le T.

    Attributes
    ----------
    t : ndarray (K,)
        Increasing times.
    energy : ndarray (K,)
        :math:`E(t)` by quadrature on the grid.
    energy_exact : ndarray (K,)
        :math:`E(t) = I^{-2}\sum_{ij} G(x_i-x_j, 2t)` in closed form.
    dE_dt : ndarray (K,)
        :math:`E'(t)` in closed form.
    grad_energy : ndarray (K,)
        :math:`\int|\nabla u|^2` (grid).
    div_term : ndarray (K,)
        :math:`\int u^2\operatorname{div}s` (grid).
    lower_bound : ndarray (K,)
        :math:`-\frac{d}{2t}E(t)` (grid).
    identity_residual : float
        Largest relative residual of the identity above.
    quadrature_error : float
        Largest relative gap between grid and closed-form :math:`E`.
    backward_ratio : ndarray (K,)
        :math:`t^d E(t) / (T^d E(T))` with :math:`T = \max t` (the estimate says <= 1).
    grid_step : float
        Largest grid spacing (each time has its own grid, spacing :math:`\sqrt{2t}/4`).
    holds : bool
        Bound and backward estimate hold (up to quadrature error).
    status : str
        ``"holds"``, ``"violated"`` or ``"under-resolved"`` (grid too coarse for the
        smallest time; raise ``max_grid``).
    """

    t: np.ndarray
    energy: np.ndarray
    energy_exact: np.ndarray
    dE_dt: np.ndarray
    grad_energy: np.ndarray
    div_term: np.ndarray
    lower_bound: np.ndarray
    identity_residual: float
    quadrature_error: float
    backward_ratio: np.ndarray
    grid_step: float
    holds: bool
    status: str


def _pair_energy(X: np.ndarray, t: float) -> tuple[float, float]:
    """Closed forms of E(t) and E'(t) (sum over pairs of G(x_i - x_j, 2t))."""
    I, d = X.shape
    D2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    G = (8.0 * math.pi * t) ** (-d / 2) * np.exp(-D2 / (8.0 * t))
    E = G.sum() / I**2
    dE = (G * (D2 / (8.0 * t * t) - d / (2.0 * t))).sum() / I**2
    return float(E), float(dE)


def energy_estimate(score: HeatKernelScore, t: Any, *, max_grid: int | None = None,
                    pad: float = 6.0) -> EnergyEstimate:
    r"""Check the backward energy estimate on a grid, in dimension 1 or 2.

    Parameters
    ----------
    score : HeatKernelScore
        Data of dimension ``d`` in {1, 2} (at most 2000 points for the pair sums).
    t : array (K,)
        Times (> 0), sorted increasingly here.
    max_grid : int, optional
        Largest number of grid points per axis (default 200000 in 1-D, 1500 in 2-D).
    pad : float
        Each time's grid covers the data's bounding box enlarged by ``pad * sqrt(2t)``.

    Returns
    -------
    EnergyEstimate
    """
    if not isinstance(score, HeatKernelScore):
        raise ParameterError(f"score must be a HeatKernelScore; got {type(score).__name__}")
    if score.d not in (1, 2):
        raise ParameterError(f"energy_estimate works on a grid in dimension 1 or 2; the data have "
                             f"d = {score.d}")
    if score.I > 2000:
        raise ParameterError(f"energy_estimate sums over pairs of data points: use at most 2000 "
                             f"points; got I = {score.I}")
    ts = np.sort(_times(t))
    pad = check_positive(pad, "pad")
    d = score.d
    max_grid = check_int(max_grid if max_grid is not None else (200_000 if d == 1 else 1500),
                         "max_grid", minimum=10)
    X = score.X
    E, Eg, D, L, Ee, dE, steps = [], [], [], [], [], [], []
    resolved = True
    for tk in ts:
        # one grid per time: the box where u(., t) lives, spacing sqrt(2t)/4
        w = math.sqrt(2.0 * tk)
        lo, hi = X.min(0) - pad * w, X.max(0) + pad * w
        m = np.minimum(np.ceil((hi - lo) / (w / 4.0)).astype(int) + 1, max_grid)
        axes = [np.linspace(lo[j], hi[j], m[j]) for j in range(d)]
        hs = np.array([ax[1] - ax[0] for ax in axes])
        resolved = resolved and bool(np.max(hs) <= w / 2.0)
        steps.append(float(np.max(hs)))
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
        cell = float(np.prod(hs))
        lu, s, dv = score.evaluate(grid, float(tk))
        u2 = np.exp(2.0 * lu)
        E.append(u2.sum() * cell)
        Eg.append((u2 * (s * s).sum(1)).sum() * cell)
        D.append((u2 * dv).sum() * cell)
        L.append(-d / (2 * tk) * E[-1])
        e, de = _pair_energy(X, float(tk))
        Ee.append(e)
        dE.append(de)
    E, Eg, D, L, Ee, dE = map(np.asarray, (E, Eg, D, L, Ee, dE))
    resid = np.abs(0.5 * dE - Eg - D) / (np.abs(0.5 * dE) + Eg + np.abs(D))
    qerr = float(np.max(np.abs(E - Ee) / Ee))
    ratio = ts**d * Ee / (ts[-1] ** d * Ee[-1])
    tol = 10 * qerr + 1e-10
    holds = bool(np.all(D >= L * (1 + tol)) and np.all(ratio <= 1 + 1e-12))
    status = "under-resolved" if not resolved else ("holds" if holds else "violated")
    return EnergyEstimate(t=ts, energy=E, energy_exact=Ee, dE_dt=dE, grad_energy=Eg, div_term=D,
                          lower_bound=L, identity_residual=float(np.max(resid)),
                          quadrature_error=qerr, backward_ratio=ratio, grid_step=float(max(steps)),
                          holds=holds, status=status)


# --------------------------------------------------------------------------- concentration
@dataclass(frozen=True)
class Concentration:
    r"""How generated points concentrate on the data as the stopping time :math:`\tau \to 0`.

    For the exact score the law at :math:`\tau` is :math:`u(\cdot,\tau)`, so the mean
    distance to the nearest data point behaves like
    :math:`\sqrt{2\tau}\,\mathbb E|\xi| = 2\sqrt{\tau}\,\Gamma(\frac{d+1}{2})/\Gamma(\frac d2)`
    once :math:`\sqrt{2\tau}` is small against the data spacing.

    Attributes
    ----------
    tau : ndarray (K,)
        Stopping times.
    mean_distance : ndarray (K,)
        Mean distance of the samples to the nearest data point.
    predicted : ndarray (K,)
        :math:`2\sqrt\tau\,\Gamma(\frac{d+1}2)/\Gamma(\frac d2)`.
    slope : float
        Least-squares slope of log distance against log tau (1/2 predicted).
    status : str
        ``"ok"`` or the sampler's status if a run failed.
    """

    tau: np.ndarray
    mean_distance: np.ndarray
    predicted: np.ndarray
    slope: float
    status: str


def concentration(score: HeatKernelScore, tau: Any = (1e-5, 1e-4, 1e-3), *, n: int = 2000,
                  t_max: float = 1.0, steps: int = 400, nu: Any = 1.0, method: str = "euler",
                  random_state: Any = None) -> Concentration:
    r"""Measure the :math:`\sqrt\tau` concentration of generated samples on the data.

    Runs :func:`sample` from ``t_max`` down to each :math:`\tau` and measures the mean
    distance of the ``n`` samples to their nearest data point.

    Parameters
    ----------
    score : HeatKernelScore
        The exact score of the data.
    tau : float or array of float, shape (k,)
        Stopping times, each in (0, t_max).
    n : int
        Samples per stopping time.
    t_max : float > 0
        Initial time of the backward dynamics.
    steps : int
        Time steps of each sampler run.
    nu : float (scalar) or as in :func:`sample`
        Noise level of the sampler.
    method : str
        Sampler stepper (see :func:`sample`).
    random_state : int, None or numpy.random.Generator
        Randomness of the samplers.

    Returns
    -------
    Concentration
    """
    taus = np.sort(_times(tau, "tau"))
    if not isinstance(score, HeatKernelScore):
        raise ParameterError(f"score must be a HeatKernelScore; got {type(score).__name__}")
    if taus[-1] >= t_max:
        raise ParameterError(f"every tau must be < t_max = {t_max}; got {taus[-1]}")
    rng = check_random_state(random_state)
    d = score.d
    dist, status = [], "ok"
    for tk in taus:
        res = sample(score, n, t_max=t_max, t_min=float(tk), nu=nu, steps=steps, method=method,
                     random_state=rng)
        if res.status != "ok":
            status = res.status
        dist.append(float(np.mean(nearest_distance(res.X, score.X))))
    dist = np.asarray(dist)
    c = 2.0 * math.exp(gammaln((d + 1) / 2) - gammaln(d / 2))
    slope = float(np.polyfit(np.log(taus), np.log(dist), 1)[0]) if len(taus) > 1 else float("nan")
    return Concentration(tau=taus, mean_distance=dist, predicted=c * np.sqrt(taus), slope=slope,
                         status=status)

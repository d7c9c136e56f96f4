"""Backward (generative) dynamics of the heat flow: reverse SDE, probability-flow ODE, in between."""

from __future__ import annotations

import abc
import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from .._checks import as_points, check_int, check_nonnegative, check_option, check_positive
from .._torch import check_device, check_dtype, limit_threads, torch_generator
from ..errors import ParameterError

__all__ = ["DiffusionSample", "ScoreFunction", "sample", "time_grid"]

_METHODS = ("euler", "heun", "rk4")
_GRIDS = ("geometric", "uniform", "quadratic")


def time_grid(t_max: float, t_min: float, steps: int, *, grid: str = "geometric") -> np.ndarray:
    r"""Decreasing times :math:`t_0 = t_{max} > t_1 > \dots > t_K = t_{min}`, shape (K+1,).

    ``"geometric"``: :math:`t_k = t_{max}(t_{min}/t_{max})^{k/K}` (steps proportional to
    :math:`t`, where the score blows up like :math:`1/t`); ``"quadratic"``: uniform in
    :math:`\sqrt t`; ``"uniform"``: uniform in :math:`t`.

    Parameters
    ----------
    t_max : float
        Start time :math:`t_{max} > t_{min}` of the backward dynamics.
    t_min : float
        Stopping time :math:`t_{min} > 0`.
    steps : int
        Number K of steps (>= 1).
    grid : {"geometric", "uniform", "quadratic"}
        Spacing of the times (default ``"geometric"``).

    Returns
    -------
    ndarray (K+1,)
        The times, with the end points exactly ``t_max`` and ``t_min``.

    Raises
    ------
    ParameterError
        Non-positive times, ``t_min >= t_max``, ``steps < 1`` or an unknown ``grid``.
    """
    t_max, t_min = _check_times(t_max, t_min)
    steps = check_int(steps, "steps", minimum=1)
    check_option(grid, "grid", _GRIDS)
    k = np.arange(steps + 1) / steps
    if grid == "geometric":
        ts = t_max * (t_min / t_max) ** k
    elif grid == "quadratic":
        ts = (math.sqrt(t_max) + k * (math.sqrt(t_min) - math.sqrt(t_max))) ** 2
    else:
        ts = t_max + k * (t_min - t_max)
    ts[0], ts[-1] = t_max, t_min
    return ts


def _check_times(t_max: Any, t_min: Any) -> tuple[float, float]:
    t_min = check_positive(t_min, "t_min")
    t_max = check_positive(t_max, "t_max")
    if not t_min < t_max:
        raise ParameterError(f"t_min must be < t_max (the backward dynamics runs from t_max down "
                             f"to t_min); got t_min={t_min!r}, t_max={t_max!r}")
    return t_max, t_min


@dataclass(frozen=True)
class DiffusionSample:
    r"""Samples of the backward dynamics and how they were produced.

    Attributes
    ----------
    X : ndarray (n, d)
        The generated points at :math:`t = t_{min}` (float64).
    X0 : ndarray (n, d)
        The starting points at :math:`t = t_{max}`.
    t : ndarray (K+1,)
        The decreasing time grid.
    nu : ndarray (K+1,)
        The diffusivity :math:`\nu(t_k)` on the grid.
    paths : ndarray (K+1, k, d)
        Trajectories of the first ``keep_paths`` samples (k = 0 when none were kept).
    method, init, grid : str
        Step, initial law and grid used.
    t_max, t_min : float
        Start and stopping time (:math:`\tau = t_{min}`).
    nfe : int
        Score evaluations per sample.
    seconds : float
        Wall time of the loop.
    status : str
        ``"ok"``, or ``"non-finite"`` if some sample left the floats.
    """

    X: np.ndarray
    X0: np.ndarray
    t: np.ndarray
    nu: np.ndarray
    paths: np.ndarray
    method: str
    init: str
    grid: str
    t_max: float
    t_min: float
    nfe: int
    seconds: float
    status: str


def _nu_values(nu: Any, ts: np.ndarray, extra: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate the diffusivity on the grid (and stage times); check it is finite and >= 0."""
    pts = ts if extra is None else np.concatenate([ts, extra])
    if callable(nu):
        vals = np.array([float(nu(float(t))) for t in pts], dtype=np.float64)
        bad = ~np.isfinite(vals) | (vals < 0)
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ParameterError(f"nu(t) must be finite and >= 0 on [t_min, t_max]; got "
                                 f"nu({pts[k]:.6g}) = {vals[k]!r}")
    else:
        vals = np.full(len(pts), check_nonnegative(nu, "nu"))
    return vals[: len(ts)], vals[len(ts):]


@runtime_checkable
class ScoreFunction(Protocol):
    """What :func:`sample` needs of a score: its dimension, precision, device and hot path.

    ``score_tensor(x, t)`` returns :math:`s(x, t)` (n, d) for a tensor ``x`` (n, d) of
    ``dtype`` on ``device`` with no validation (the samplers call it once or more per
    step); :class:`~controlml.diffusion.HeatKernelScore` and
    :class:`~controlml.diffusion.NeuralScore` implement it.
    """

    d: int
    dtype: torch.dtype
    device: torch.device

    def score_tensor(self, x: torch.Tensor, t: float) -> torch.Tensor: ...


class _Stepper(abc.ABC):
    """One step of the backward dynamics from ``ta`` down to ``tb`` (``h = ta - tb``), in place.

    ``sfun`` is the score's hot path, ``nus`` the diffusivity on the grid, ``gen`` the
    torch generator of the Brownian increments.  One subclass per method, chosen once.
    """

    nfe_per_step = 0

    def __init__(self, sfun: Any, nus: np.ndarray, gen: torch.Generator) -> None:
        self.sfun, self.nus, self.gen = sfun, nus, gen

    def noise(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        z = torch.randn(x.shape, generator=self.gen, dtype=x.dtype, device=x.device)
        return z if scale == 1.0 else z.mul_(scale)

    @abc.abstractmethod
    def step(self, x: torch.Tensor, k: int, ta: float, tb: float) -> None:
        """Advance ``x`` in place from ``t_a`` to ``t_b`` (step ``k`` of the grid)."""


class _Euler(_Stepper):
    """Euler--Maruyama: :math:`x \\mathrel{+}= h(1+\\nu_k)s(x, t_a) + \\sqrt{2\\nu_k h}\\,\\xi`."""

    nfe_per_step = 1

    def step(self, x: torch.Tensor, k: int, ta: float, tb: float) -> None:
        h, nu = ta - tb, self.nus[k]
        x.add_(self.sfun(x, ta).mul_(1.0 + nu), alpha=h)
        if nu > 0:
            x.add_(self.noise(x, 1.0), alpha=math.sqrt(2.0 * nu * h))


class _Heun(_Stepper):
    """Stochastic Heun (order 2 for the ODE; the same additive noise in predictor and corrector)."""

    nfe_per_step = 2

    def step(self, x: torch.Tensor, k: int, ta: float, tb: float) -> None:
        h, nus = ta - tb, self.nus
        f0 = self.sfun(x, ta).mul_(1.0 + nus[k])
        nbar = 0.5 * (nus[k] + nus[k + 1])
        noise = self.noise(x, math.sqrt(2.0 * nbar * h)) if nbar > 0 else None
        xp = x + h * f0
        if noise is not None:
            xp.add_(noise)
        f1 = self.sfun(xp, tb).mul_(1.0 + nus[k + 1])
        x.add_(f0.add_(f1), alpha=0.5 * h)
        if noise is not None:
            x.add_(noise)


class _RK4(_Stepper):
    """Classical Runge--Kutta 4 on :math:`dx/d\\bar t = s(x, t_a - \\bar t)` (the ODE, nu = 0)."""

    nfe_per_step = 4

    def step(self, x: torch.Tensor, k: int, ta: float, tb: float) -> None:
        h, tm, s = ta - tb, 0.5 * (ta + tb), self.sfun
        k1 = s(x, ta)
        k2 = s(x + (0.5 * h) * k1, tm)
        k3 = s(x + (0.5 * h) * k2, tm)
        k4 = s(x + h * k3, tb)
        x.add_(k1 + 2.0 * k2 + 2.0 * k3 + k4, alpha=h / 6.0)


_STEPPERS: dict[str, type[_Stepper]] = {"euler": _Euler, "heun": _Heun, "rk4": _RK4}


def sample(score: Any, n: int, *, t_max: float = 1.0, t_min: float = 1e-3, nu: Any = 1.0,
           steps: int = 1000, method: str = "euler", grid: str = "geometric",
           init: str = "exact", x0: Any = None, keep_paths: int = 0, dtype: Any = None,
           device: Any = None, num_threads: int | None = None, random_state: Any = None,
           progress: bool = False) -> DiffusionSample:
    r"""Generate samples by running the heat flow backward from ``t_max`` to ``t_min``.

    The forward heat equation :math:`u_t = \Delta u` is rewritten, for any
    diffusivity :math:`\nu(t) \ge 0`, as
    :math:`-\Delta u = \nu\Delta u - (1+\nu)\operatorname{div}(s u)`, whose reversal
    in time is the Fokker--Planck equation of

    .. math::
        dX = (1+\nu(t))\, s(X, t)\, d\bar t + \sqrt{2\nu(t)}\, dW,\qquad
        \bar t = t_{max} - t,

    started from :math:`u(\cdot, t_{max})`: the law of :math:`X` at time :math:`t`
    is :math:`u(\cdot, t)` for every :math:`\nu`.  ``nu=1`` is the reverse SDE,
    ``nu=0`` the probability-flow ODE.  Stopped at :math:`t_{min} = \tau > 0`
    because :math:`s` blows up like :math:`1/t`.

    Parameters
    ----------
    score : HeatKernelScore or NeuralScore
        Anything with ``d``, ``dtype``, ``device`` and ``score_tensor(x, t)`` (the
        :class:`ScoreFunction` protocol); ``sample_marginal`` is needed unless ``x0``
        is given.
    n : int
        Number of samples.
    t_max, t_min : float
        Start and stopping times, ``0 < t_min < t_max``.
    nu : float >= 0 or callable ``t -> float >= 0``
        Diffusivity :math:`\nu(t)`.
    steps : int
        Number of steps on the time grid.
    method : {"euler", "heun", "rk4"}
        Euler--Maruyama (order 1 for the ODE); stochastic Heun (order 2 for the
        ODE, additive noise); classical Runge--Kutta 4 (ODE only, ``nu`` must be 0).
    grid : {"geometric", "quadratic", "uniform"}
        Time grid, see :func:`time_grid` (geometric by default).
    init : {"exact", "gaussian"}
        Initial law: exact samples of the mixture :math:`u(\cdot, t_{max})` or its
        moment-matched Gaussian :math:`N(\bar x, \Sigma + 2t_{max}I)`.
    x0 : array (n, d), optional
        Explicit starting points (overrides ``init``).
    keep_paths : int
        Keep the trajectories of the first ``keep_paths`` samples.
    dtype, device : optional
        Precision and device of the loop (default: the score's).
    num_threads : int, optional
        Run the loop on at most this many torch CPU threads (restored afterwards);
        default: torch's current setting.  One thread is often fastest for small
        data sets or on a busy machine.
    random_state : int or Generator, optional
        Seeds the initial points and the Brownian increments.
    progress : bool
        tqdm bar over the steps.

    Returns
    -------
    DiffusionSample
    """
    # ------------------------------------------------------------ validation (before any work)
    d = getattr(score, "d", None)
    if d is None or not callable(getattr(score, "score_tensor", None)):
        raise ParameterError("score must be a HeatKernelScore or a NeuralScore (anything with d, "
                             f"dtype, device and score_tensor(x, t)); got {type(score).__name__}")
    n = check_int(n, "n", minimum=1)
    t_max, t_min = _check_times(t_max, t_min)
    steps = check_int(steps, "steps", minimum=1)
    check_option(method, "method", _METHODS)
    check_option(grid, "grid", _GRIDS)
    check_option(init, "init", ("exact", "gaussian"))
    keep_paths = check_int(keep_paths, "keep_paths", minimum=0)
    if keep_paths > n:
        raise ParameterError(f"keep_paths must be <= n = {n}; got {keep_paths}")
    if num_threads is not None:
        num_threads = check_int(num_threads, "num_threads", minimum=1)
    dtype = check_dtype(score.dtype if dtype is None else dtype)
    device = check_device(score.device if device is None else device)
    ts = time_grid(t_max, t_min, steps, grid=grid)
    mids = 0.5 * (ts[:-1] + ts[1:]) if method == "rk4" else None
    nus, nus_mid = _nu_values(nu, ts, mids)
    if method == "rk4" and (np.any(nus != 0.0) or np.any(nus_mid != 0.0)):
        raise ParameterError("method='rk4' integrates the probability-flow ODE only: use nu=0, "
                             "or method='euler'/'heun' for nu > 0")
    if x0 is not None:
        X0 = as_points(x0, "x0", dim=d)
        if X0.shape[0] != n:
            raise ParameterError(f"x0 must have n = {n} rows; got {X0.shape[0]}")
    elif not hasattr(score, "sample_marginal"):
        raise ParameterError("this score cannot sample u(., t_max): pass x0")
    rng, gen = torch_generator(random_state, device)
    if x0 is None:
        X0 = score.sample_marginal(n, t_max, how=init, random_state=rng)

    # ------------------------------------------------------------ the loop
    t0 = time.perf_counter()
    x = torch.as_tensor(X0, dtype=dtype, device=device).clone()
    paths = np.empty((steps + 1, keep_paths, d))
    if keep_paths:
        paths[0] = X0[:keep_paths]
    stepper = _STEPPERS[method](score.score_tensor, nus, gen)  # chosen once, not per step
    it: Any = range(steps)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"sampling ({method})", total=steps, leave=False)
    threads = limit_threads(num_threads) if num_threads is not None else contextlib.nullcontext()
    with torch.no_grad(), threads:
        for k in it:
            stepper.step(x, k, float(ts[k]), float(ts[k + 1]))
            if keep_paths:
                paths[k + 1] = x[:keep_paths].detach().cpu().numpy()
    nfe = stepper.nfe_per_step * steps
    X = x.detach().cpu().numpy().astype(np.float64)
    status = "ok" if np.all(np.isfinite(X)) else "non-finite"
    return DiffusionSample(X=X, X0=np.asarray(X0, dtype=np.float64), t=ts, nu=nus, paths=paths,
                           method=method, init="x0" if x0 is not None else init, grid=grid,
                           t_max=t_max, t_min=t_min, nfe=nfe, seconds=time.perf_counter() - t0,
                           status=status)

"""The authors' two test cases as ready-made (physical model, data) pairs."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from .._checks import check_int, check_nonnegative, check_option, check_random_state
from ..errors import ParameterError
from ._heat import HEAT_INIT, HEAT_TRUTH, Heat2D, sensor_paths
from ._helmholtz import HELMHOLTZ_TRUTH, Helmholtz2D

__all__ = ["helmholtz_problem", "heat_problem"]


def helmholtz_problem(noise: float = 0.0, *, n_obs: int = 25, n: int = 18,
                      random_state: Any = None) -> tuple[Helmholtz2D, tuple[np.ndarray, np.ndarray]]:
    """The StaticHYCO Helmholtz case: a model with the authors' random start and sparse data.

    ``n_obs`` points uniform in :math:`(0, \\pi)^2` (a quarter of the domain) observe the
    exact solution :math:`u = \\sin x \\sin y`, plus Gaussian noise of standard deviation
    ``noise * max u`` over the observations (their convention). The initial parameters are
    drawn as in their script: amplitudes :math:`A, B \\sim U(1, 3)`, centres
    :math:`a, b \\sim U(0, 1)^2`.

    Parameters
    ----------
    noise : float, default 0.0
        Relative noise level ``>= 0``: the standard deviation of the additive Gaussian noise
        is ``noise * max_i u_i``; ``0`` gives exact observations.
    n_obs : int, default 25
        Number ``N >= 1`` of observation points.
    n : int, default 18
        Subdivisions per side of the returned model's mesh (see :class:`Helmholtz2D`).
    random_state : None, int or numpy Generator
        Draws the observation points, the noise and the initial parameters.

    Returns
    -------
    (Helmholtz2D, (X (n_obs, 2), u (n_obs,)))
    """
    noise = check_nonnegative(noise, "noise")
    n_obs = check_int(n_obs, "n_obs", minimum=1)
    rng = check_random_state(random_state)
    X = rng.uniform(0.0, np.pi, (n_obs, 2))
    u = np.sin(X[:, 0]) * np.sin(X[:, 1])
    if noise > 0:
        u = u + noise * np.max(u) * rng.standard_normal(n_obs)
    amp = rng.uniform(1.0, 3.0, 2)
    cx = rng.uniform(0.0, 1.0, 2)
    cy = rng.uniform(0.0, 1.0, 2)
    phi0 = [amp[0], cx[0], cy[0], amp[1], cx[1], cy[1]]
    return Helmholtz2D(phi0, n=n, true_params=HELMHOLTZ_TRUTH), (X, u)


@functools.lru_cache(maxsize=4)
def _heat_reference(n: int, steps: int) -> tuple[Heat2D, torch.Tensor]:
    ref = Heat2D(HEAT_TRUTH, n=n, steps=steps)
    with torch.no_grad():
        U = ref.solve()
    return ref, U


def heat_problem(coverage: str = "full", *, n: int = 18, steps: int = 50, snapshots: int = 25,
                 fraction: float = 0.6, noise: float = 0.0, reference: tuple[int, int] = (61, 400),
                 random_state: Any = None) -> tuple[Heat2D, tuple[np.ndarray, np.ndarray]]:
    """The DynamicHYCO heat case: 100 moving sensors, of which a fraction is kept.

    The data are the heat flow with the true diffusivity computed on a finer grid
    (``reference = (nodes, steps)``, so the fitted model does not share the data's
    discretisation), read at ``snapshots`` equispaced times in ``(0, 1]`` along
    :func:`sensor_paths`; readings whose sensor has left the square are dropped.

    Parameters
    ----------
    coverage : {"full", "half", "quarter"}
    n, steps : int
        The fitted model's grid (nodes per side) and number of implicit steps.
    snapshots : int
        Observation times.
    fraction : float in (0, 1]
        Share of the 100 sensors used (the authors: 0.6), drawn at random.
    noise : float
        Gaussian noise, standard deviation ``noise * max|u|``.
    reference : (int, int), default (61, 400)
        ``(nodes per side, implicit steps)`` of the :class:`Heat2D` solve at
        :data:`HEAT_TRUTH` that generates the data (computed once and cached); it should be
        finer than the fitted model's ``(n, steps)``.
    random_state : None, int or numpy Generator
        Draws the kept sensors and the noise.

    Returns
    -------
    (Heat2D starting at the authors' initial guess, (X (N, 3) = (x, y, t), u (N,)))
    """
    check_option(coverage, "coverage", ("full", "half", "quarter"))
    snapshots = check_int(snapshots, "snapshots", minimum=1)
    if not 0.0 < float(fraction) <= 1.0:
        raise ParameterError(f"fraction must be in (0, 1]; got {fraction!r}")
    noise = check_nonnegative(noise, "noise")
    rng = check_random_state(random_state)
    ref, U = _heat_reference(*reference)
    times = np.linspace(0.0, 1.0, snapshots + 1)[1:]
    P = sensor_paths(coverage, times)                       # (K, 100, 2)
    keep = rng.choice(P.shape[1], size=max(1, int(round(fraction * P.shape[1]))), replace=False)
    P = P[:, np.sort(keep)]
    X = np.concatenate([P.reshape(-1, 2), np.repeat(times, P.shape[1])[:, None]], 1)
    inside = np.all(np.abs(X[:, :2]) <= 3.0, axis=1)
    X = X[inside]
    u = ref.interpolate(U, torch.as_tensor(X)).numpy()
    if noise > 0:
        u = u + noise * np.abs(u).max() * rng.standard_normal(u.shape)
    return Heat2D(HEAT_INIT, n=n, steps=steps), (X, u)

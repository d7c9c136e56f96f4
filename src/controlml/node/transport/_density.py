"""Target densities on the plane for the transport experiments (Sec. 3.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..._checks import as_points, as_vector, check_positive
from ...errors import ParameterError

__all__ = ["gaussian_mixture_density", "curve_density"]


def gaussian_mixture_density(means: Any, stds: Any, weights: Any = None) -> Callable[[np.ndarray], np.ndarray]:
    """Isotropic Gaussian mixture :math:`\\rho(x) = \\sum_k \\pi_k \\mathcal N(x; \\mu_k, s_k^2 I)`.

    Parameters
    ----------
    means : array (K, d)
    stds : array (K,)
        Standard deviations :math:`s_k > 0`.
    weights : array (K,), optional
        Mixture weights (normalised; uniform by default).

    Returns
    -------
    callable
        ``rho(X (N, d)) -> (N,)``.
    """
    mu = as_points(means, "means")
    K, d = mu.shape
    s = as_vector(stds, "stds", size=K)
    if np.any(s <= 0):
        raise ParameterError(f"stds must be > 0; got {s.tolist()}")
    w = np.full(K, 1.0 / K) if weights is None else as_vector(weights, "weights", size=K)
    if np.any(w < 0) or w.sum() <= 0:
        raise ParameterError("weights must be non-negative with a positive sum")
    w = w / w.sum()
    c = w / (2 * np.pi * s**2) ** (d / 2)

    def rho(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        d2 = ((X[:, None, :] - mu[None]) ** 2).sum(-1)
        return (c * np.exp(-d2 / (2 * s**2))).sum(axis=1)

    return rho


def curve_density(curve: Any, width: float) -> Callable[[np.ndarray], np.ndarray]:
    """Unnormalised density concentrated near a curve: :math:`\\exp(-\\mathrm{dist}(x, \\Gamma)^2 / (2\\,\\mathrm{width}^2))`.

    Parameters
    ----------
    curve : array (M, d)
        Dense points of the curve :math:`\\Gamma` (the distance is to this point set).
    width : float
        Thickness of the tube.

    Returns
    -------
    callable
        ``rho(X (N, d)) -> (N,)`` (not normalised: :func:`transport` normalises on its box).
    """
    from scipy.spatial import cKDTree

    C = as_points(curve, "curve")
    width = check_positive(width, "width")
    tree = cKDTree(C)

    def rho(X: np.ndarray) -> np.ndarray:
        dist, _ = tree.query(np.asarray(X, dtype=np.float64))
        return np.exp(-(dist**2) / (2 * width**2))

    return rho

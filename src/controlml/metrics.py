"""Distances between measures and densities: W1 (via POT), KL, L1.

.. math::
    W_1(\\mu, \\nu) = \\min_{\\pi \\in \\Pi(\\mu,\\nu)} \\int |x - y| \\, d\\pi(x, y)
    = \\sup_{\\mathrm{Lip}(f) \\le 1} \\int f \\, d(\\mu - \\nu)

(the Kantorovich-Rubinstein duality, so :func:`wasserstein1` is also the
KR distance ``d_KR`` used in the generalization bounds of Sec. 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import (
    as_float_array,
    as_points,
    as_vector,
    check_int,
    check_positive,
    check_random_state,
)
from .errors import DatasetError

__all__ = ["wasserstein1", "kl_divergence", "l1_distance"]


def _weights(w: Any, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.full(n, 1.0 / n)
    w = as_vector(w, name, size=n)
    if np.any(w < 0) or w.sum() <= 0:
        raise DatasetError(f"{name} must be non-negative with a positive sum")
    return w / w.sum()


def wasserstein1(X: Any, Y: Any, a: Any = None, b: Any = None, *,
                 max_points: int = 5000, random_state: Any = None) -> float:
    """Exact W1 between two discrete measures with Euclidean ground cost.

    Parameters
    ----------
    X : array (N, d)
        Support of the first measure.
    Y : array (M, d)
        Support of the second measure.
    a, b : array (N,), (M,), optional
        Weights (uniform by default; normalised to sum 1).
    max_points : int
        Supports larger than this are subsampled (uniformly, weights carried)
        before the exact network-simplex solve (``ot.emd2``), which is
        :math:`O(n^3)`; pass a larger value for exact results on big clouds.
    random_state : int or Generator, optional
        For the subsampling.

    Returns
    -------
    float
        :math:`W_1`.
    """
    import ot

    X = as_points(X, "X")
    Y = as_points(Y, "Y", dim=X.shape[1])
    a = _weights(a, X.shape[0], "a")
    b = _weights(b, Y.shape[0], "b")
    check_int(max_points, "max_points", minimum=2)
    rng = check_random_state(random_state)
    if X.shape[0] > max_points:
        idx = rng.choice(X.shape[0], max_points, replace=False, p=a)
        X, a = X[idx], np.full(max_points, 1.0 / max_points)
    if Y.shape[0] > max_points:
        idx = rng.choice(Y.shape[0], max_points, replace=False, p=b)
        Y, b = Y[idx], np.full(max_points, 1.0 / max_points)
    M = ot.dist(X, Y, metric="euclidean")
    return float(ot.emd2(a, b, M, numItermax=10_000_000))


def kl_divergence(p: Any, q: Any, *, cell_volume: float = 1.0) -> float:
    """KL(p || q) = sum p log(p / q) * cell_volume for densities on a common grid.

    ``p`` and ``q`` are arrays of the same shape (densities sampled on cells of
    volume ``cell_volume``); cells where ``p = 0`` contribute 0, cells with
    ``p > 0 = q`` make the divergence infinite.

    Parameters
    ----------
    p, q : array, shape (any, e.g. (n1, n2))
        Non-negative densities on the same grid (same shape, at least one cell).
    cell_volume : float > 0
        Volume of one grid cell.

    Returns
    -------
    float
    """
    p, q = _densities(p, q)
    cell_volume = check_positive(cell_volume, "cell_volume")
    p, q = p.ravel(), q.ravel()
    if np.any(p < 0) or np.any(q < 0) or not (np.all(np.isfinite(p)) and np.all(np.isfinite(q))):
        raise DatasetError("p and q must be finite non-negative densities")
    m = p > 0
    if np.any(q[m] == 0):
        return float("inf")
    return float(np.sum(p[m] * np.log(p[m] / q[m])) * cell_volume)


def l1_distance(p: Any, q: Any, *, cell_volume: float = 1.0) -> float:
    """||p - q||_{L1} for densities sampled on a common grid of cells of volume ``cell_volume``.

    Parameters
    ----------
    p, q : array, shape (any, e.g. (n1, n2))
        Densities on the same grid (same shape, at least one cell).
    cell_volume : float > 0
        Volume of one grid cell.

    Returns
    -------
    float
    """
    p, q = _densities(p, q)
    cell_volume = check_positive(cell_volume, "cell_volume")
    return float(np.sum(np.abs(p - q)) * cell_volume)


def _densities(p: Any, q: Any) -> tuple[np.ndarray, np.ndarray]:
    p = as_float_array(p, "p", "an array of density values")
    q = as_float_array(q, "q", "an array of density values")
    if p.shape != q.shape:
        raise DatasetError(f"p and q must have the same shape; got {p.shape} and {q.shape}")
    if p.size == 0:
        raise DatasetError("p and q are empty: pass densities sampled on at least one cell")
    return p, q

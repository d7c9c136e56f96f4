"""Input validation shared by the Sec. 2 solvers (runs before any work)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_points, as_vector, check_nonnegative, check_same_rows, find_equal_rows
from ..errors import DatasetError

__all__ = ["check_data", "check_eps", "check_scale", "lift"]

_MIN_SEPARATION = 1e-9  # relative to the scale of the lifted inputs (x, 1)
_MAX_ABS = 1e15  # larger entries: products overflow or swamp HiGHS's absolute tolerances


def check_data(X: Any, y: Any, *, distinct: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Validate a training set: X (N, d) finite, y (N,) finite, same N, distinct rows.

    Repeated inputs violate the consistency assumption of Sec. 2.2; the message
    names the rows and says whether their labels disagree (inconsistent data,
    no network can fit them) or agree (redundant rows: drop them).
    """
    if X is None or (hasattr(X, "__len__") and len(X) == 0):
        raise DatasetError("X is empty: (PR0) needs at least one data point (N >= 1); "
                           "pass an array of shape (N, d)")
    X = as_points(X, "X")
    yv = np.asarray(y, dtype=np.float64) if not isinstance(y, np.ndarray) else y
    if getattr(yv, "ndim", 1) == 2 and yv.shape[1] == 1:
        yv = yv[:, 0]
    yv = as_vector(yv, "y")
    check_same_rows(X, yv[:, None], ("X", "y"))
    pair = find_equal_rows(X) if distinct else None
    if pair is not None:
        i, j = pair
        if yv[i] != yv[j]:
            raise DatasetError(
                f"X has two equal rows ({i} and {j}) with different labels y[{i}]={yv[i]:g}, "
                f"y[{j}]={yv[j]:g}: the data set is inconsistent (Sec. 2.2) and no function "
                "represents it; average or remove the repeated inputs")
        raise DatasetError(
            f"X has two equal rows ({i} and {j}) (with equal labels): Sec. 2.2 assumes distinct "
            "inputs, so distinct rows are required; drop the repeated rows")
    if distinct:
        check_scale(X, yv)
    return X, yv


def check_scale(X: np.ndarray, y: np.ndarray) -> None:
    r"""Refuse data whose scale double precision cannot resolve, before any work.

    The neurons see the lifted inputs :math:`\tilde x_i = (x_i, 1)`: rows of X closer than
    1e-9 of :math:`\max(1, \|X\|_\infty)` are one point for every neuron's hyperplane
    (e.g. X ~ 1e-200, where the offset 1 swamps the data), and entries above 1e15 overflow
    products or swamp the LP's absolute tolerances.  Either way the fix is to rescale.
    """
    big = float(np.max(np.abs(X), initial=0.0))
    for name, v, how in (("X", big, "standardise each column"),
                         ("y", float(np.max(np.abs(y), initial=0.0)), "divide y by max |y|")):
        if v > _MAX_ABS:
            raise DatasetError(
                f"{name} has entries up to {v:.3g}, beyond what the LP solver resolves (<= "
                f"{_MAX_ABS:.0e}): rescale {name} to order one (e.g. {how}; "
                "SparseShallowRegressor(standardize=True) does both) and retry")
    if X.shape[0] < 2:
        return
    from scipy.spatial import cKDTree

    dist, idx = cKDTree(X).query(X, k=2)
    i = int(np.argmin(dist[:, 1]))
    j = int(idx[i, 1] if idx[i, 1] != i else idx[i, 0])  # ties at distance 0 may list i second
    dmin = float(dist[i, 1])
    scale = max(1.0, big)
    if dmin <= _MIN_SEPARATION * scale:
        i, j = min(i, j), max(i, j)
        raise DatasetError(
            f"rows {i} and {j} of X are only {dmin:.3g} apart, below {_MIN_SEPARATION:g} of the "
            f"scale {scale:.3g} of the lifted inputs (x, 1) (largest |X| = {big:.3g}): in double "
            "precision no neuron separates them. Rescale X to order one (e.g. standardise each "
            "column) and retry")


def check_eps(eps: Any) -> float:
    """eps >= 0, finite."""
    return check_nonnegative(eps, "eps")


def lift(X: np.ndarray) -> np.ndarray:
    r"""Append the constant 1: :math:`\tilde x_i = (x_i, 1)` so that :math:`\langle a,x\rangle + b = \theta\cdot\tilde x`."""
    return np.column_stack([X, np.ones(X.shape[0])])

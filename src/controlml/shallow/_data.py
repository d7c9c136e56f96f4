"""Input validation shared by the Sec. 2 solvers (runs before any work)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_points, as_vector, check_nonnegative, check_same_rows, find_equal_rows
from ..errors import DatasetError

__all__ = ["check_data", "check_eps", "lift"]


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
    return X, yv


def check_eps(eps: Any) -> float:
    """eps >= 0, finite."""
    return check_nonnegative(eps, "eps")


def lift(X: np.ndarray) -> np.ndarray:
    r"""Append the constant 1: :math:`\tilde x_i = (x_i, 1)` so that :math:`\langle a,x\rangle + b = \theta\cdot\tilde x`."""
    return np.column_stack([X, np.ones(X.shape[0])])

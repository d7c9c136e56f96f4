"""Shared input validation with one message style.

Every message names the argument, says what was expected, what was received,
and, where it helps, what to do.  All checks run before any numerical work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import DatasetError, ParameterError

__all__ = [
    "as_points",
    "as_vector",
    "check_same_rows",
    "check_distinct_rows",
    "find_equal_rows",
    "check_finite",
    "check_positive",
    "check_nonnegative",
    "check_int",
    "check_option",
    "check_random_state",
]


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    return f"{type(x).__name__} {x!r}"[:120]


def check_finite(X: np.ndarray, name: str) -> None:
    """Raise :class:`DatasetError` naming the first non-finite entry of ``X``."""
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        where = ", ".join(str(int(i)) for i in bad)
        raise DatasetError(
            f"{name} contains a non-finite value (NaN or inf) at index ({where}): "
            "remove or impute it before calling."
        )


def as_points(
    X: Any,
    name: str = "X",
    *,
    min_rows: int = 1,
    min_dim: int = 1,
    dim: int | None = None,
) -> np.ndarray:
    """Validate a point cloud and return it as a C-contiguous float64 array (N, d)."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{name} must be a numeric array of shape (N, d); got {_describe(X)}") from exc
    if arr.ndim != 2:
        raise DatasetError(f"{name} must be 2-D of shape (N, d); got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise DatasetError(f"{name} must have at least {min_rows} row(s); got {arr.shape[0]}")
    if arr.shape[1] < min_dim:
        raise DatasetError(f"{name} must have at least {min_dim} column(s); got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise DatasetError(f"{name} must have {dim} columns; got shape {arr.shape}")
    check_finite(arr, name)
    return np.ascontiguousarray(arr)


def as_vector(x: Any, name: str, *, size: int | None = None) -> np.ndarray:
    """Validate a finite 1-D float64 vector, optionally of a given size."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{name} must be a numeric vector; got {_describe(x)}") from exc
    if arr.ndim != 1:
        raise DatasetError(f"{name} must be 1-D; got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise DatasetError(f"{name} must have {size} entries; got {arr.shape[0]}")
    check_finite(arr, name)
    return arr


def check_same_rows(X: np.ndarray, Y: np.ndarray, names: tuple[str, str] = ("X", "Y")) -> None:
    """Raise unless ``X`` and ``Y`` have the same number of rows."""
    if X.shape[0] != Y.shape[0]:
        raise DatasetError(
            f"{names[0]} and {names[1]} must have the same number of rows; "
            f"got {X.shape[0]} and {Y.shape[0]}"
        )


#: rows whose difference is at most this many units in the last place of their own magnitude
#: count as equal: no computation that rounds them (centring, projecting) can tell them apart
DISTINCT_ULPS = 64


def check_distinct_rows(X: np.ndarray, name: str, why: str, *, ulps: float = DISTINCT_ULPS) -> None:
    """Raise :class:`DatasetError` naming two equal (or numerically equal) rows of ``X`` (N, d).

    Rows i, j count as equal when :math:`\\max_k |X_{ik} - X_{jk}| \\le
    \\mathrm{ulps}\\cdot\\varepsilon\\,\\max(\\|X_i\\|_\\infty, \\|X_j\\|_\\infty)`
    (:math:`\\varepsilon` the machine epsilon): rows that close are the same point to working
    precision (rows 1e-15 apart made interpolation come out inexact instead of refused),
    whatever the units of the data.  ``why`` completes the sentence "... so distinct rows
    are required", e.g. "a neural ODE flow is injective".
    """
    pair = find_equal_rows(X)
    gap = 0.0
    if pair is None and X.shape[0] > 1 and ulps > 0:
        size = np.max(np.abs(X), axis=1)
        rel = ulps * np.finfo(np.float64).eps
        r = rel * float(size.max())
        if r > 0:
            from scipy.spatial import cKDTree

            cand = cKDTree(X).query_pairs(r, p=np.inf, output_type="ndarray")
            if cand.size:
                i, j = cand[:, 0], cand[:, 1]
                diff = np.max(np.abs(X[i] - X[j]), axis=1)
                close = diff <= rel * np.maximum(size[i], size[j])
                if close.any():
                    i, j = min(tuple(sorted(map(int, row))) for row in cand[close])
                    pair, gap = (i, j), float(np.max(np.abs(X[i] - X[j])))
    if pair is not None:
        i, j = pair
        what = f"two equal rows ({i} and {j})" if gap == 0 else (
            f"two rows equal to working precision ({i} and {j}: max |{name}[{i}] - {name}[{j}]| = "
            f"{gap:.3g}, within {ulps:g} ulps of their size)")
        raise DatasetError(f"{name} has {what}: {why}, so distinct rows are required")


def find_equal_rows(X: np.ndarray) -> tuple[int, int] | None:
    """Indices (i < j) of two equal rows of X (N, d), or None; O(N log N) by a lexicographic sort."""
    if X.shape[0] < 2:
        return None
    order = np.lexsort(X.T[::-1])
    S = X[order]
    same = np.all(S[1:] == S[:-1], axis=1)
    if not np.any(same):
        return None
    k = int(np.argmax(same))
    i, j = sorted((int(order[k]), int(order[k + 1])))
    return i, j


def check_positive(value: Any, name: str) -> float:
    """Return ``value`` as float, raising unless it is finite and > 0."""
    v = _as_real(value, name)
    if not v > 0:
        raise ParameterError(f"{name} must be > 0; got {value!r}")
    return v


def check_nonnegative(value: Any, name: str) -> float:
    """Return ``value`` as float, raising unless it is finite and >= 0."""
    v = _as_real(value, name)
    if not v >= 0:
        raise ParameterError(f"{name} must be >= 0; got {value!r}")
    return v


def _as_real(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a real number; got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a real number; got {_describe(value)}") from exc
    if not math.isfinite(v):
        raise ParameterError(f"{name} must be finite; got {value!r}")
    return v


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as int, raising unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParameterError(f"{name} must be an integer; got {_describe(value)}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ParameterError(f"{name} must be >= {minimum}; got {v}")
    return v


def check_option(value: Any, name: str, options: Iterable[str]) -> str:
    """Raise unless ``value`` is one of ``options``."""
    opts = tuple(options)
    if value not in opts:
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, opts))}; got {value!r}")
    return value


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``None``, an int or a Generator into a :class:`numpy.random.Generator`."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (
        isinstance(random_state, int | np.integer) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise ParameterError(
        f"random_state must be None, an int or a numpy Generator; got {_describe(random_state)}"
    )

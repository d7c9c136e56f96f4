"""Shared input validation with one message style.

Every message names the argument, says what was expected, what was received,
and, where it helps, what to do.  All checks run before any numerical work.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import DatasetError, NumericalError, ParameterError

__all__ = [
    "as_float_array",
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
    "resolve_seed_alias",
    "renamed_kwarg",
    "torch_seed",
    "check_scale",
    "check_result_finite",
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


def as_float_array(X: Any, name: str, expected: str = "a numeric array",
                   error: type[Exception] = DatasetError) -> np.ndarray:
    """``X`` as a float64 array, refusing what would silently lose information.

    One rule for every package: complex values (NumPy would drop the imaginary part),
    strings (even numeric ones) and other non-numeric objects raise ``error`` naming
    ``name``, what was ``expected`` and what was received.
    """
    if isinstance(X, str | bytes):
        raise error(f"{name} must be {expected}; got a string {X!r:.60}")
    try:
        raw = np.asarray(X)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise error(f"{name} must be {expected}; got {_describe(X)} (not a regular array)") from exc
    kind = raw.dtype.kind
    if kind == "c" or (kind == "O" and any(isinstance(v, complex | np.complexfloating)
                                         for v in raw.ravel()[:10000])):
        raise error(
            f"{name} must be real-valued ({expected}); got complex values: pass the real part "
            f"(numpy.real({name})) explicitly if that is what you mean"
        )
    if kind in "USV" or (kind == "O" and any(isinstance(v, str | bytes) for v in raw.ravel()[:10000])):
        raise error(f"{name} must be {expected} of numbers; got {raw.dtype.name} entries (strings or "
                    "records): convert them to numbers first")
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise error(f"{name} must be {expected}; got {_describe(X)}") from exc


def as_points(
    X: Any,
    name: str = "X",
    *,
    min_rows: int = 1,
    min_dim: int = 1,
    dim: int | None = None,
) -> np.ndarray:
    """Validate a point cloud and return it as a C-contiguous float64 array (N, d)."""
    arr = as_float_array(X, name, "a numeric array of shape (N, d)")
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
    arr = as_float_array(x, name, "a numeric vector")
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
    """One rule for float parameters: a real number (int, float, NumPy real scalar or 0-d real
    array); booleans, strings (even numeric ones) and complex numbers are refused."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a real number; got {_describe(value)}")
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


def check_scale(X: np.ndarray, name: str, what: str, *, factor: float = 1.0,
                dtype: Any = np.float64, hint: str = "") -> None:
    """Raise :class:`DatasetError` when products of entries of ``X`` overflow ``dtype``.

    ``what`` names the quantity that is quadratic in ``X`` (e.g. "the squared distances
    |x - x_i|^2"); ``factor`` bounds how much larger than ``max|X|^2 * d`` it may get.
    Decided before any work: a finite input must never give a silent inf or NaN.
    """
    if X.size == 0:
        return
    m = float(np.max(np.abs(X)))
    d = X.shape[-1] if X.ndim else 1
    big = float(np.finfo(dtype).max)
    if m > 0 and m * m * d * factor * 4.0 > big:
        raise DatasetError(
            f"{name} has entries up to {m:.3g}: {what} overflow {np.dtype(dtype).name} (largest "
            f"{big:.3g}); rescale {name} (e.g. divide it by {m:.3g}){hint}"
        )


def check_result_finite(value: Any, what: str, hint: str = "") -> None:
    """Raise :class:`NumericalError` if a computed result holds NaN or inf (never return one)."""
    arr = np.asarray(value)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise NumericalError(
            f"{what} overflowed (non-finite values in the result although the input was finite); "
            f"rescaling the input data helps{hint}"
        )


def renamed_kwarg(value: Any, old_value: Any, old: str, new: str, func: str,
                  what: str = "") -> Any:
    """``value`` of the argument ``new``, or the deprecated ``old`` one (FutureWarning) when
    the caller gave it (``old_value`` not None)."""
    if old_value is None:
        return value
    import warnings

    warnings.warn(f"{func}({old}=...) is deprecated and will be removed in the next release; "
                  f"pass {new}=...{what}", FutureWarning, stacklevel=3)
    return old_value


def resolve_seed_alias(random_state: Any, seed: Any, func: str) -> Any:
    """``random_state``, or the deprecated ``seed`` (with a FutureWarning) when it is given."""
    if seed is None:
        return random_state
    import warnings

    warnings.warn(f"{func}(seed=...) is deprecated and will be removed in the next release; "
                  "pass random_state=... (an int, None or a numpy Generator)",
                  FutureWarning, stacklevel=3)
    return seed


def torch_seed(random_state: Any) -> int:
    """An int seed for a ``torch.Generator`` derived from ``random_state`` (int, None or a
    numpy Generator): an int is used as is, so results match the former ``seed=`` argument."""
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ParameterError(f"random_state must be >= 0; got {random_state}")
        return int(random_state)
    rng = check_random_state(random_state)
    return int(rng.integers(0, 2**63 - 1))

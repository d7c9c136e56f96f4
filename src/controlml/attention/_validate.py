"""Input validation shared by the attention package (one message style, before any work)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import (
    as_float_array,
    check_distinct_rows,
    check_finite,
    check_nonnegative,
    check_positive,
)
from ..errors import DatasetError, ParameterError

__all__ = ["as_token_batch", "check_spd", "check_alpha", "check_tau", "check_tie_rtol",
           "check_theorem_tokens"]


def as_token_batch(Z: Any, name: str = "Z") -> tuple[np.ndarray, bool]:
    """Return ``Z`` as float64 (B, n, d) and whether the input was batched (3-D)."""
    arr = as_float_array(Z, name, "a numeric array of shape (n, d) or (batch, n, d)")
    if arr.ndim not in (2, 3):
        raise DatasetError(f"{name} must have shape (n, d) or (batch, n, d); got shape {arr.shape}")
    batched = arr.ndim == 3
    if not batched:
        arr = arr[None]
    if arr.shape[0] < 1:
        raise DatasetError(f"{name} must hold at least one sequence; got shape {arr.shape}")
    if arr.shape[1] < 1:
        raise DatasetError(
            f"{name} has no tokens (n = 0, shape {arr.shape}): a sequence needs at least one token"
        )
    if arr.shape[2] < 1:
        raise DatasetError(f"{name} tokens must have dimension d >= 1; got shape {arr.shape}")
    check_finite(arr, name)
    return np.ascontiguousarray(arr), batched


def check_spd(A: Any, d: int, name: str = "A") -> np.ndarray:
    """Return ``A`` as a float64 (d, d) symmetric positive definite matrix or raise saying which
    property fails."""
    M = as_float_array(A, name, f"a numeric ({d}, {d}) matrix", ParameterError)
    if M.shape != (d, d):
        raise ParameterError(f"{name} must have shape (d, d) = ({d}, {d}) to match the tokens; got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise ParameterError(f"{name} contains a non-finite value (NaN or inf)")
    asym = float(np.max(np.abs(M - M.T)))
    scale = float(np.max(np.abs(M))) or 1.0
    if asym > 1e-12 * scale:
        i, j = np.unravel_index(int(np.argmax(np.abs(M - M.T))), M.shape)
        raise ParameterError(
            f"{name} must be symmetric positive definite (Thm 4.1), but it is not symmetric: "
            f"{name}[{i},{j}] = {float(M[i, j])!r} != {name}[{j},{i}] = {float(M[j, i])!r}; pass (A + A.T) / 2 "
            "if the bilinear form is what you mean"
        )
    M = 0.5 * (M + M.T)
    lam = float(np.linalg.eigvalsh(M)[0])
    if not lam > 1e-14 * scale * d:
        raise ParameterError(
            f"{name} must be symmetric positive definite (Thm 4.1), but it is not positive definite: "
            f"its smallest eigenvalue is {lam:.3e}"
        )
    return M


def check_alpha(alpha: Any) -> float:
    """alpha > 0 (the step size of (4.1a))."""
    return check_positive(alpha, "alpha")


def check_tau(tau: Any) -> float:
    """tau >= 0 finite: the softmax temperature (0 = hardmax)."""
    return check_nonnegative(tau, "tau")


def check_tie_rtol(tie_rtol: Any) -> float:
    """0 <= tie_rtol < 1."""
    if isinstance(tie_rtol, bool) or not isinstance(tie_rtol, int | float | np.floating):
        raise ParameterError(f"tie_rtol must be a float in [0, 1); got {tie_rtol!r}")
    t = float(tie_rtol)
    if not 0 <= t < 1:
        raise ParameterError(f"tie_rtol must be a float in [0, 1); got {tie_rtol!r}")
    return t


def check_theorem_tokens(Z: np.ndarray, name: str = "Z") -> None:
    """Thm 4.1 hypotheses: every token nonzero and the tokens of each sequence distinct."""
    norms = np.linalg.norm(Z, axis=-1)
    if np.any(norms == 0):
        b, i = (int(v) for v in np.argwhere(norms == 0)[0])
        where = f"{name}[{b}]" if Z.shape[0] > 1 else name
        raise DatasetError(
            f"{where} has a zero token (row {i}): Thm 4.1 assumes nonzero tokens, since A z_i = 0 "
            "makes every token tie in (4.1b) and z_i just moves to the mean; shift the data away from "
            "the origin, or pass check_hypotheses=False to run the dynamics anyway"
        )
    for b in range(Z.shape[0]):
        where = f"{name}[{b}]" if Z.shape[0] > 1 else name
        check_distinct_rows(
            Z[b], where,
            "Thm 4.1 assumes distinct tokens (two equal tokens follow the same path forever, so "
            "neither can ever attend only to itself and the leader notion C_i = {i} breaks; "
            "deduplicate with numpy.unique(Z, axis=0) or pass check_hypotheses=False)",
        )

"""Exact push-forward of densities by the neural transport equation (3.16).

.. math::
    \\partial_t \\rho + \\operatorname{div}_x\\big(w(t)\\,\\sigma(a(t)\\cdot x + b(t))\\,\\rho\\big) = 0,
    \\qquad \\rho(0) = \\rho_0 .

The solution is the push-forward :math:`\\rho(t) = (\\Phi_t)_\\# \\rho_0` by the flow of
(3.3), so with the change of variables

.. math::
    \\log \\rho_T(x) = \\log \\rho_0\\big(\\Phi_T^{-1}(x)\\big)
                    - \\log \\det D\\Phi_T\\big(\\Phi_T^{-1}(x)\\big).

For ReLU pieces every factor is closed form:

* **single neuron** :math:`(w, a, b)`, :math:`z = a\\cdot x + b`, :math:`\\kappa = a\\cdot w`,
  duration :math:`t`.  On the active side :math:`\\{z > 0\\}` (invariant, since
  :math:`z(t) = z_0 e^{\\kappa t}`) the map :math:`x \\mapsto x + w z (e^{\\kappa t} - 1)/\\kappa`
  is affine with Jacobian :math:`I + \\frac{e^{\\kappa t}-1}{\\kappa} w a^\\top`, whose
  determinant is :math:`1 + (e^{\\kappa t} - 1) = e^{\\kappa t}`; on :math:`\\{z \\le 0\\}`
  it is the identity.  The inverse uses the image's :math:`z` (same sign as the
  preimage's): :math:`x_0 = x - w z (1 - e^{-\\kappa t})/\\kappa`.
* **shear** (:math:`AW = 0`, any width): :math:`Ax` is invariant,
  :math:`x_0 = x - t W\\sigma(Ax + b)` and :math:`\\det = \\det(I_P + t D A W) = 1`.
* **general width**: the inverse is the flow of the reversed field :math:`-W\\sigma(Ax+b)`
  (exact, through :func:`controlml.node.flow`), but the log-determinant has no closed
  form, so :func:`pushforward_logdensity` refuses such pieces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..._checks import as_points
from ...errors import ControlError, ParameterError
from ..flows._control import Control, Piece
from ..flows._flow import _effective, piece_flow, piece_kind
from ..flows._shear import eval_spline, parallel, single_normal_shear, spline_from_arrays

__all__ = ["inverse_flow", "inverse_control", "pushforward_logdensity", "log_jacobian"]


def _as_control(control: Any) -> Control:
    if isinstance(control, Piece):
        return Control((control,))
    if not isinstance(control, Control):
        raise ControlError(f"control must be a Control or a Piece; got {type(control).__name__}")
    return control


def _single_inverse(piece: Piece, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of a single-neuron piece and the log-det of the FORWARD map at the preimage."""
    W, A, b = _effective(piece)
    w, a, t = W[:, 0], A[0], piece.duration
    kappa = float(a @ w)
    z = X @ a + b[0]
    act = z > 0
    with np.errstate(over="ignore", invalid="ignore"):
        psi = -np.expm1(-kappa * t) / kappa if kappa != 0.0 else t  # (1 - e^{-kappa t}) / kappa
        # inactive points never move, even where e^{-kappa t} overflows (no 0 * inf)
        X0 = X - np.where(act, z * psi, 0.0)[:, None] * w[None, :]
    return X0, np.where(act, kappa * t, 0.0)


def _runs(control: Control) -> list[tuple[str, int, int, Any]]:
    """Split the pieces into runs: ("spline", k, j, normal) for fusable shear runs, else ("piece", k, k+1, None)."""
    dur, W, A, b = control.arrays
    ok, normals = single_normal_shear(W, A)
    rest = ~np.any(W != 0, axis=(1, 2))
    out, k, n = [], 0, len(dur)
    while k < n:
        if not ok[k]:
            out.append(("piece", k, k + 1, None))
            k += 1
            continue
        ref = normals[k]
        j = k + 1
        while j < n and (rest[j] or (ok[j] and parallel(normals[j], ref))):
            j += 1
        out.append(("spline", k, j, ref))
        k = j
    return out


def _backward(control: Control, X: np.ndarray, with_logdet: bool) -> tuple[np.ndarray, np.ndarray]:
    dur, W, A, b = control.arrays
    logdet = np.zeros(X.shape[0])
    for kind, k, j, ref in reversed(_runs(control)):
        if kind == "spline":  # a run of commuting shears: the inverse is the run with -W
            X = eval_spline(spline_from_arrays(dur[k:j], -W[k:j], A[k:j], b[k:j], ref), X)
            continue
        piece = control.pieces[k]
        pk = piece_kind(piece)
        if pk == "rest":
            continue
        if pk == "shear":
            X = X - piece.duration * (np.maximum(X @ piece.A.T + piece.b, 0.0) @ piece.W.T)
        elif pk == "single":
            X, ld = _single_inverse(piece, X)
            logdet += ld
        else:
            if with_logdet:
                raise ControlError(
                    f"piece {k} has {piece.width} interacting neurons (kind 'general'): its Jacobian "
                    "determinant has no closed form. Exact densities need pieces that are single "
                    "neurons or shears (AW = 0); split the piece into single-neuron pieces.")
            X = piece_flow(Piece(piece.duration, -piece.W, piece.A, piece.b), X, activation="relu")
    return X, logdet


def inverse_flow(control: Control | Piece, X: Any) -> np.ndarray:
    """The inverse flow map :math:`\\Phi_T^{-1}` of a ReLU control, applied to the rows of X.

    .. math:: \\Phi_T^{-1} = \\Phi^{(0)\\,-1}_{t_0} \\circ \\cdots \\circ \\Phi^{(L)\\,-1}_{t_L},

    each piece inverted in closed form (single neurons, shears) or as the exact flow of
    its reversed field :math:`-W\\sigma(Ax + b)` (general width).

    Parameters
    ----------
    control : Control or Piece
        Piecewise-constant control on [0, T] (activation ReLU).
    X : array (N, d)
        Points :math:`x` at time T.

    Returns
    -------
    X0 : array (N, d)
        :math:`\\Phi_T^{-1}(x)`, so that ``flow(control, inverse_flow(control, X)) == X``.

    Raises
    ------
    ControlError
        ``control`` is not a Control or a Piece.
    DatasetError
        X is not a finite (N, d) array with d = control.dim.
    """
    control = _as_control(control)
    X = as_points(X, "X", dim=control.dim)
    return _backward(control, X, with_logdet=False)[0]


def inverse_control(control: Control | Piece) -> Control:
    """The control whose flow is :math:`\\Phi_T^{-1}`: the pieces in reverse order with :math:`W \\to -W`.

    The flow of the autonomous field :math:`-W\\sigma(Ax + b)` for time ``t`` inverts that of
    :math:`W\\sigma(Ax + b)`, so the inverse of a width-P control is again a width-P
    control with the same number of switches (any activation).

    Parameters
    ----------
    control : Control or Piece

    Returns
    -------
    Control
        With ``flow(inverse_control(c), flow(c, X)) == X``.
    """
    control = _as_control(control)
    return Control(tuple(Piece._trusted(p.duration, -p.W, p.A, p.b) for p in reversed(control.pieces)))


def log_jacobian(control: Control | Piece, X: Any) -> np.ndarray:
    """:math:`\\log\\det D\\Phi_T(x_0)` at the preimages :math:`x_0 = \\Phi_T^{-1}(x)` of the rows of X.

    .. math:: \\log\\det D\\Phi_T(x_0) = \\sum_{k:\\; a_k\\cdot x_k + b_k > 0} \\kappa_k t_k,
              \\qquad \\kappa_k = a_k\\cdot w_k,

    the sum over the single-neuron pieces whose backward characteristic :math:`x_k`
    (the state when piece ``k`` starts) lies on the active side; shears contribute 0.

    Parameters
    ----------
    control : Control or Piece
        ReLU control made of single-neuron, shear or rest pieces.
    X : array (N, d)
        Points at time T.

    Returns
    -------
    array (N,)

    Raises
    ------
    ControlError
        A piece has several interacting neurons (no closed-form determinant).
    """
    control = _as_control(control)
    X = as_points(X, "X", dim=control.dim)
    return _backward(control, X, with_logdet=True)[1]


def pushforward_logdensity(control: Control | Piece, log_rho0: Callable[[np.ndarray], Any],
                           X: Any) -> np.ndarray:
    """Exact log-density of :math:`\\rho(T) = (\\Phi_T)_\\#\\rho_0`, the solution of (3.16).

    .. math::
        \\log\\rho(T, x) = \\log\\rho_0\\big(\\Phi_T^{-1}(x)\\big)
        - \\sum_{k\\ \\text{active}} \\kappa_k t_k .

    Parameters
    ----------
    control : Control or Piece
        ReLU control made of single-neuron, shear or rest pieces (P = 1 is the
        setting of Thm 3.5; shears of any width are allowed).
    log_rho0 : callable
        ``log_rho0(X0 (N, d)) -> (N,)``, the initial log-density (``-inf`` off its support).
    X : array (N, d)
        Evaluation points at time T.

    Returns
    -------
    array (N,)
        :math:`\\log\\rho(T, x_i)` (``-inf`` where the preimage is off the support of :math:`\\rho_0`).

    Raises
    ------
    ControlError
        A piece has several interacting neurons, or ``log_rho0`` returns the wrong shape.
    """
    control = _as_control(control)
    if not callable(log_rho0):
        raise ControlError(f"log_rho0 must be a callable X (N, d) -> (N,); got {type(log_rho0).__name__}")
    X = as_points(X, "X", dim=control.dim)
    X0, logdet = _backward(control, X, with_logdet=True)
    with np.errstate(divide="ignore"):
        l0 = np.asarray(log_rho0(X0), dtype=np.float64)
    if l0.shape != (X.shape[0],):
        raise ControlError(f"log_rho0 must return shape ({X.shape[0]},); got {l0.shape}")
    return l0 - logdet


def uniform_box_logdensity(box: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``log_rho0`` of the uniform density on the box ``[[lo...], [hi...]]`` (2, d).

    .. math:: \\log\\rho_0(x) = -\\sum_{j=1}^d \\log(hi_j - lo_j)\\ \\text{inside the box},
              \\quad -\\infty \\text{ outside}.

    Parameters
    ----------
    box : array_like (2, d)
        ``[[lo_1, ..., lo_d], [hi_1, ..., hi_d]]``, finite with :math:`hi_j > lo_j`.

    Returns
    -------
    callable
        ``log_rho0(X0)`` mapping points X0 (N, d) to their log density (N,) (boundary
        included in the box), for :func:`pushforward_logdensity`.

    Raises
    ------
    ParameterError
        ``box`` is not a finite (2, d) array with hi > lo.
    """
    try:
        arr = np.array(box, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"box must be a (2, d) array [[lo...], [hi...]]; got {box!r}") from exc
    if arr.ndim != 2 or arr.shape[0] != 2 or not np.all(np.isfinite(arr)) or not np.all(arr[1] > arr[0]):
        raise ParameterError(f"box must be a finite (2, d) array [[lo...], [hi...]] with hi > lo; got {box!r}")
    lo, hi = arr
    logv = -float(np.sum(np.log(hi - lo)))

    def log_rho0(X0: np.ndarray) -> np.ndarray:
        inside = np.all((X0 >= lo) & (X0 <= hi), axis=1)
        return np.where(inside, logv, -np.inf)

    return log_rho0


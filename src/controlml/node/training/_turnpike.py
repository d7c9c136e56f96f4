"""The turnpike property of trained neural ODEs (Geshkovski & Zuazua, Acta Numer. 2022).

Training with a running cost over the whole horizon instead of a terminal loss,

.. math::
    J_T(\\theta) = \\int_0^T \\sum_{i=1}^N |x_i(t) - y_i|^2\\,dt
                 + \\beta \\int_0^T |\\theta(t)|^2\\,dt,
    \\qquad \\dot x_i = W(t)\\sigma(A(t)x_i + b(t)),\\ x_i(0) = x_i^0,

the optimal controls stay close, for most of :math:`[0, T]`, to the optimal
*steady* control, i.e. the solution of the static problem

.. math::
    \\min_{\\bar x, \\bar\\theta} \\sum_i |\\bar x_i - y_i|^2 + \\beta |\\bar\\theta|^2
    \\quad \\text{s.t.}\\quad \\bar W\\sigma(\\bar A\\bar x_i + \\bar b) = 0\\ \\forall i.

Its value is 0, reached at :math:`\\bar x_i = y_i`, :math:`\\bar\\theta = 0` (the zero
field leaves every point at rest), so the steady control is :math:`\\bar\\theta = 0` and
the turnpike says: act at the start, then rest near the targets with
:math:`\\theta(t) \\approx 0` in the middle of the interval, closer as T grows.

Discretisation: controls constant on pieces of a fixed length ``h`` (so ``T/h`` pieces),
the running cost by the trapezoid rule on ``samples_per_piece`` exact states per piece
(closed form for ReLU, P = 1; see :class:`TorchNODE`), :math:`\\int|\\theta|^2 = \\sum_k \\tau_k|\\theta_k|^2`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..._checks import (
    as_points,
    check_int,
    check_option,
    check_positive,
    check_same_rows,
)
from ...errors import ParameterError
from ..flows._activations import ACTIVATIONS
from ..flows._control import Control
from ._training import _check_training, _deprecated_seed, _optimise, _random_module

__all__ = ["TurnpikeResult", "fit_turnpike"]


@dataclass(frozen=True)
class TurnpikeResult:
    """Outcome of :func:`fit_turnpike`.

    Attributes
    ----------
    control : Control
        The trained control (L + 1 = T / h pieces).
    T : float
        Horizon.
    cost : float
        :math:`J_T` of ``control`` (the discretised running cost plus the penalty).
    times : array (K,)
        Sample times of the trajectory (every piece sampled, switch times included).
    tracking : array (K,)
        :math:`\\sum_i |x_i(t) - y_i|^2` at ``times``.
    piece_times : array (L+1,)
        Midpoints of the pieces.
    control_distance : array (L+1,)
        :math:`|\\theta_k - \\bar\\theta|` per piece (:math:`\\bar\\theta = 0`), Euclidean over (W, A, b).
    steady_control : array of shape ((2d+1)P,)
        :math:`\\bar\\theta` (zeros), flattened over (W, A, b).
    middle : tuple of float
        The window (as fractions of T) called "the middle".
    distance_middle : float
        :math:`\\max_k |\\theta_k - \\bar\\theta|` over the pieces inside the middle window.
    state_distance_middle : float
        :math:`\\max_t (\\sum_i |x_i(t) - y_i|^2)^{1/2}` over the samples in the middle window.
    distance_ends : float
        :math:`\\max_k |\\theta_k - \\bar\\theta|` over all pieces (reached near t = 0).
    history : array (epochs,)
        Cost per epoch.
    epochs : int
    status : str
        As in :class:`TrainingResult`.
    """

    control: Control
    T: float
    cost: float
    times: np.ndarray
    tracking: np.ndarray
    piece_times: np.ndarray
    control_distance: np.ndarray
    steady_control: np.ndarray
    middle: tuple[float, float]
    distance_middle: float
    state_distance_middle: float
    distance_ends: float
    history: np.ndarray
    epochs: int
    status: str


def _trapezoid(t: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return (0.5 * (f[1:] + f[:-1]) * (t[1:] - t[:-1])).sum()


def fit_turnpike(X: Any, Y: Any, *, T: float, h: float = 0.5, beta: float = 1e-2, width: int = 1,
                 activation: str = "relu", method: str = "auto", steps_per_piece: int = 4,
                 samples_per_piece: int = 4, middle: tuple[float, float] = (0.25, 0.75),
                 init_scale: float = 0.1, epochs: int = 2000, lr: float = 1e-2,
                 optimizer: str = "adam", schedule: str = "cosine", patience: int = 200,
                 tol: float = 1e-8,
                 checkpoint_dir: str | Path | None = None, checkpoint_every: int = 500,
                 random_state: Any = None, dtype: torch.dtype | None = None,
                 device: str | torch.device | None = None, progress: bool = False,
                 seed: Any = None) -> TurnpikeResult:
    """Train with a running cost on [0, T] and measure the distance to the steady control.

    .. math::
        \\min_\\theta\\ \\int_0^T \\sum_i |x_i(t) - y_i|^2 dt + \\beta\\int_0^T|\\theta(t)|^2 dt.

    Parameters
    ----------
    X, Y : array (N, d)
        Inputs and targets.
    T : float
        Horizon; must be a multiple of ``h`` (up to 1e-9).
    h : float
        Length of every constant piece (the ResNet's step); L + 1 = T / h pieces.
    beta : float
        Weight :math:`\\beta > 0` of the :math:`L^2` penalty on the controls.
    width, activation, method, steps_per_piece
        See :class:`TorchNODE`.
    samples_per_piece : int
        States per piece in the trapezoid rule of the running cost.
    middle : (float, float)
        The window :math:`[m_0 T, m_1 T]` on which the distance to the steady control is measured.
    init_scale, epochs, lr, optimizer, patience, tol, checkpoint_dir, checkpoint_every
        As in :func:`fit`.
    schedule : {"constant", "cosine"}
        Learning rate schedule of Adam, as in :func:`fit`; default ``"cosine"`` (from
        ``lr`` down to ``lr / 100`` at ``epochs``).
    random_state, dtype, device, progress, seed
        As in :func:`fit` (``seed``: deprecated alias of ``random_state``).

    Returns
    -------
    TurnpikeResult
        ``distance_middle`` (controls) and ``state_distance_middle`` (states) are the
        measured turnpike distances; they decrease as T grows.

    Raises
    ------
    DatasetError
        Bad X, Y.
    ParameterError
        T not a multiple of h, bad ``middle`` or other options.
    """
    random_state = _deprecated_seed(random_state, seed, "fit_turnpike")
    X = as_points(X, "X")
    Y = as_points(Y, "Y", dim=X.shape[1])
    check_same_rows(X, Y)
    N, d = X.shape
    T, h = check_positive(T, "T"), check_positive(h, "h")
    n = int(round(T / h))
    if n < 1 or abs(n * h - T) > 1e-9 * max(T, 1.0):
        raise ParameterError(f"T must be a positive multiple of h = {h}; got T = {T} (T / h = {T / h:.6g})")
    beta = check_positive(beta, "beta")
    P = check_int(width, "width", minimum=1)
    check_option(activation, "activation", ACTIVATIONS)
    steps_per_piece = check_int(steps_per_piece, "steps_per_piece", minimum=1)
    samples_per_piece = check_int(samples_per_piece, "samples_per_piece", minimum=1)
    try:
        m0, m1 = (float(v) for v in middle)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"middle must be a pair (m0, m1) with 0 <= m0 < m1 <= 1; got {middle!r}") from exc
    if not 0.0 <= m0 < m1 <= 1.0:
        raise ParameterError(f"middle must be a pair (m0, m1) with 0 <= m0 < m1 <= 1; got {middle!r}")
    init_scale = check_positive(init_scale, "init_scale")
    epochs, lr, optimizer, patience, tol, checkpoint_dir, checkpoint_every = _check_training(
        epochs, lr, optimizer, patience, tol, checkpoint_dir, checkpoint_every)
    schedule = check_option(schedule, "schedule", ("constant", "cosine"))

    module = _random_module(n, d, P, n * h, init_scale, random_state, activation, method, steps_per_piece,
                            dtype, device)
    Xt = torch.as_tensor(X, dtype=module.W.dtype, device=module.W.device)
    Yt = torch.as_tensor(Y, dtype=module.W.dtype, device=module.W.device)

    def parts() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        ts, Xs = module.trajectory(Xt, samples_per_piece)
        track = ((Xs - Yt) ** 2).sum(dim=(1, 2))
        theta2 = (module.W ** 2).sum(dim=(1, 2)) + (module.A ** 2).sum(dim=(1, 2)) + (module.b ** 2).sum(dim=1)
        penalty = (module.durations * theta2).sum()
        return ts, track, theta2, _trapezoid(ts, track) + beta * penalty

    out = _optimise(module, lambda: parts()[3], epochs=epochs, lr=lr, optimizer=optimizer,
                    patience=patience, tol=tol, progress=progress, desc=f"turnpike T={T:g}",
                    schedule=schedule,
                    checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every)
    with torch.no_grad():
        ts, track, theta2, cost = parts()
    ts, track = ts.cpu().numpy(), track.cpu().numpy()
    dist = np.sqrt(theta2.cpu().numpy())
    mids = (np.arange(n) + 0.5) * h
    in_mid = (mids - 0.5 * h >= m0 * T - 1e-12) & (mids + 0.5 * h <= m1 * T + 1e-12)
    if not np.any(in_mid):  # window shorter than a piece: the pieces whose midpoint is inside
        in_mid = (mids >= m0 * T) & (mids <= m1 * T)
    if not np.any(in_mid):
        in_mid = np.abs(mids - 0.5 * (m0 + m1) * T) == np.abs(mids - 0.5 * (m0 + m1) * T).min()
    t_mid = (ts >= m0 * T - 1e-12) & (ts <= m1 * T + 1e-12)
    return TurnpikeResult(
        control=module.to_control(), T=float(n * h), cost=float(cost), times=ts, tracking=track,
        piece_times=mids, control_distance=dist, steady_control=np.zeros((2 * d + 1) * P),
        middle=(m0, m1), distance_middle=float(dist[in_mid].max()),
        state_distance_middle=float(np.sqrt(track[t_mid].max())), distance_ends=float(dist.max()),
        history=out.history, epochs=out.epochs, status=out.status)

"""The ResNet (3.1) as the explicit Euler discretisation of a neural ODE control.

.. math:: x^{k+1} = x^k + W^k \\sigma(A^k x^k + b^k), \\qquad k = 0, \\dots, L - 1,

with :math:`W^k = h_k W(t_k)`, :math:`A^k = A(t_k)`, :math:`b^k = b(t_k)` on a grid
aligned with the switches of the control.  Being Euler's method, the ResNet
output differs from :math:`\\Phi_T` by :math:`O(1/L)` (first order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._checks import as_points, check_int, check_option
from ...errors import ParameterError
from ._activations import ACTIVATIONS, activation_fn
from ._control import Control, Piece

__all__ = ["ResNet", "to_resnet"]


@dataclass(frozen=True, eq=False)
class ResNet:
    """A residual network (3.1).

    Attributes
    ----------
    W : array (L, d, P)
        Residual output weights (the step size is absorbed in them).
    A : array (L, P, d)
        Input weights.
    b : array (L, P)
        Biases.
    activation : str
        Name of sigma.
    """

    W: np.ndarray
    A: np.ndarray
    b: np.ndarray
    activation: str = "relu"

    @property
    def depth(self) -> int:
        """Number of layers L."""
        return self.W.shape[0]

    def __call__(self, X: Any) -> np.ndarray:
        """Forward pass of X (N, d) through the L residual layers, returning (N, d)."""
        X = as_points(X, "X", dim=self.W.shape[1])
        sig = activation_fn(self.activation)
        for Wk, Ak, bk in zip(self.W, self.A, self.b, strict=True):
            X = X + sig(X @ Ak.T + bk) @ Wk.T
        return X


def to_resnet(control: Control | Piece, num_layers: int, *, activation: str = "relu") -> ResNet:
    """Euler discretisation of ``control`` with ``num_layers`` layers.

    Layers are distributed over the pieces in proportion to their durations
    (rounded to integers, at least one per piece), so every step lies inside one
    constant piece and the scheme is first order.

    Parameters
    ----------
    control : Control
        Control with L + 1 pieces.
    num_layers : int
        Total number of residual layers (>= number of pieces).
    activation : str
        Activation of the network.

    Returns
    -------
    ResNet
        With ``W`` (num_layers, d, P), ``A`` (num_layers, P, d), ``b`` (num_layers, P).
    """
    if isinstance(control, Piece):
        control = Control((control,))
    check_option(activation, "activation", ACTIVATIONS)
    n = check_int(num_layers, "num_layers", minimum=1)
    K = len(control.pieces)
    if n < K:
        raise ParameterError(f"num_layers must be >= the number of pieces ({K}); got {n}")
    durs = np.array([p.duration for p in control.pieces])
    ideal = n * durs / durs.sum()
    counts = np.maximum(1, np.floor(ideal)).astype(int)
    while counts.sum() < n:
        counts[np.argmax(ideal - counts)] += 1
    while counts.sum() > n:
        counts[np.argmax(np.where(counts > 1, counts - ideal, -np.inf))] -= 1
    Ws, As, bs = [], [], []
    for p, c in zip(control.pieces, counts, strict=True):
        h = p.duration / c
        Ws += [h * p.W] * c
        As += [p.A] * c
        bs += [p.b] * c
    return ResNet(np.stack(Ws), np.stack(As), np.stack(bs), activation)

"""Scalar activations of the neural ODE, by name."""

from __future__ import annotations

import numpy as np

from ..._checks import check_option

__all__ = ["ACTIVATIONS", "PIECEWISE_LINEAR", "LEAKY_SLOPE", "activation_fn", "negative_slope"]

#: Slope of leaky ReLU on the negative half-line.
LEAKY_SLOPE = 0.01

#: Activations for which every constant piece is integrated exactly (piecewise-affine fields).
PIECEWISE_LINEAR = ("relu", "leaky_relu")

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")


def negative_slope(activation: str) -> float:
    """gamma such that sigma(z) = gamma z for z <= 0 (piecewise-linear activations only)."""
    return 0.0 if activation == "relu" else LEAKY_SLOPE


def activation_fn(activation: str):
    """The vectorised NumPy function sigma."""
    check_option(activation, "activation", ACTIVATIONS)
    if activation == "relu":
        return lambda z: np.maximum(z, 0.0)
    if activation == "leaky_relu":
        return lambda z: np.where(z > 0, z, LEAKY_SLOPE * z)
    if activation == "tanh":
        return np.tanh
    return lambda z: 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic

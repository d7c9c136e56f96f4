"""controlml: machine learning as control.

Certified constructions, exact flows and the reproduction of every figure and
claim of E. Zuazua, *Machine Learning and Control: Foundations, Advances, and
Perspectives*.  One subpackage per section of the paper:

- :mod:`controlml.shallow` (Sec. 2): sparse shallow networks by convex relaxation.
- :mod:`controlml.node` (Sec. 3): controls, exact neural-ODE flows, explicit
  interpolating controls, classification, training, transport of measures.
- :mod:`controlml.attention` (Sec. 4): self-attention dynamics, leaders, exact
  sequence interpolation, the sentiment model.
- :mod:`controlml.diffusion` (Sec. 5): heat-kernel score and backward samplers.
- :mod:`controlml.mlp` (Sec. 5): explicit narrow ReLU MLPs (exact width-2 classifiers,
  width-(d+1) approximation, norm bounds for training).
- :mod:`controlml.federated` (Sec. 5): FedADMM-InSa, FedAvg/FedProx, the FL game, an attack.
- :mod:`controlml.mpc` (Sec. 5): LQR, turnpike, MPC, randomized splitting and RBM-MPC.
- :mod:`controlml.sanode` (Sec. 5): semi-autonomous neural ODEs (5.2).
- :mod:`controlml.hyco` (Sec. 5): hybrid cooperative learning, physics-only and PINN baselines.

Subpackages are imported on first access (``controlml.node``), so
``import controlml`` stays light.

The public API is what this module and the subpackages' ``__init__`` export.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import errors
from .errors import (
    ControlError,
    ControlMLError,
    ConvergenceError,
    DataNotFoundError,
    DatasetError,
    NumericalError,
    ParameterError,
)

_SUBPACKAGES = ("shallow", "node", "attention", "diffusion", "mlp", "federated", "mpc", "sanode",
                "hyco", "datasets", "metrics", "reproduce")


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'controlml' has no attribute {name!r}")


__all__ = [
    "__version__",
    "errors",
    "ControlMLError",
    "DatasetError",
    "ControlError",
    "ParameterError",
    "ConvergenceError",
    "DataNotFoundError",
    "NumericalError",
]

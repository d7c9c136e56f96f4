"""controlml: machine learning as control.

Certified constructions, exact flows and the reproduction of every figure and
claim of E. Zuazua, *Machine Learning and Control: Foundations, Advances, and
Perspectives*.  One subpackage per section of the paper:

- :mod:`controlml.node` (Sec. 3): controls, exact neural-ODE flows, explicit
  interpolating controls.

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
    ParameterError,
)

__all__ = [
    "__version__",
    "errors",
    "ControlMLError",
    "DatasetError",
    "ControlError",
    "ParameterError",
    "ConvergenceError",
    "DataNotFoundError",
]

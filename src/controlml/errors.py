"""Exceptions raised by controlml.

Every exception subclasses :class:`ControlMLError` *and* a builtin
(``ValueError``, ``RuntimeError`` or ``FileNotFoundError``) so users can catch
them plainly, e.g. ``except ValueError``.
"""

from __future__ import annotations

__all__ = [
    "ControlMLError",
    "DatasetError",
    "ControlError",
    "ParameterError",
    "ConvergenceError",
    "DataNotFoundError",
    "NumericalError",
]


class ControlMLError(Exception):
    """Base class of every controlml error."""


class DatasetError(ControlMLError, ValueError):
    """The data violate a hypothesis of the method (shape, finiteness, distinctness...)."""


class ControlError(ControlMLError, ValueError):
    """A control (piecewise-constant parameters of a neural ODE) is malformed."""


class ParameterError(ControlMLError, ValueError):
    """A keyword argument has an invalid value (negative tolerance, unknown option...)."""


class ConvergenceError(ControlMLError, RuntimeError):
    """A numerical method did not reach its target; the message says what to change."""


class DataNotFoundError(ControlMLError, FileNotFoundError):
    """A data set needed by a loader or an experiment is not where it was looked for."""


class NumericalError(ControlMLError, RuntimeError):
    """A result overflowed or became NaN in floating point; the message says what overflowed
    and how to rescale the input."""

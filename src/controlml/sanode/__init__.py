"""Sec. 5: semi-autonomous neural ODEs (SA-NODEs), eq. (5.2).

The field :math:`f(x,t)=W\\sigma(Ax+\\beta t+b)` with time-independent coefficients
(:class:`SANODE`), the equal-size piecewise-constant vanilla NODE of Sec. 3 it is compared
with (:class:`VanillaNODE`, :func:`authors_baseline`), batched training on trajectories
(:func:`fit_sanode`), the authors' four ODE systems (:func:`ode_data`) and the transport
variant (:func:`fit_transport`, :func:`transport_solution`).
"""

from ._data import NON_AUTONOMOUS, SYSTEMS, ODEData, ode_data, solve_system, system_field
from ._fit import (
    SOLVERS,
    SANODEFit,
    check_trajectories,
    fit_many,
    fit_sanode,
    integrate,
    predict,
    trajectory_errors,
)
from ._models import ACTIVATIONS, SANODE, VanillaNODE, authors_baseline
from ._transport import (
    DOSWELL_CONSTANT,
    TRANSPORT_FIELDS,
    TransportData,
    TransportFit,
    fit_transport,
    initial_density,
    relative_l1,
    transport_data,
    transport_field,
    transport_reference,
    transport_solution,
)

__all__ = [
    "SANODE",
    "VanillaNODE",
    "authors_baseline",
    "ACTIVATIONS",
    "SOLVERS",
    "SANODEFit",
    "fit_sanode",
    "fit_many",
    "integrate",
    "predict",
    "trajectory_errors",
    "check_trajectories",
    "SYSTEMS",
    "NON_AUTONOMOUS",
    "ODEData",
    "ode_data",
    "solve_system",
    "system_field",
    "TRANSPORT_FIELDS",
    "DOSWELL_CONSTANT",
    "TransportData",
    "TransportFit",
    "transport_data",
    "transport_field",
    "initial_density",
    "fit_transport",
    "transport_solution",
    "transport_reference",
    "relative_l1",
]

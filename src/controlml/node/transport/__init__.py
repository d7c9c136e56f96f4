"""Control of measures: the neural transport equation (paper Sec. 3.4).

:func:`transport` (Thm 3.5), :func:`transport_errors`, :func:`density_errors`,
:func:`num_pieces`, :func:`cells_for_switches`, :func:`grid_midpoints`, :class:`TargetDensity`
(``_transport``);
the flow of densities along a control, :func:`pushforward_logdensity`,
:func:`inverse_flow`, :func:`inverse_control`, :func:`log_jacobian`,
:func:`uniform_box_logdensity` (``_transport_flow``); target densities
:func:`gaussian_mixture_density`, :func:`curve_density` (``_density``).
"""

from ._density import curve_density, gaussian_mixture_density
from ._transport import (
    TargetDensity,
    TransportErrors,
    TransportResult,
    cells_for_switches,
    density_errors,
    grid_midpoints,
    num_pieces,
    transport,
    transport_errors,
)
from ._transport_flow import (
    inverse_control,
    inverse_flow,
    log_jacobian,
    pushforward_logdensity,
    uniform_box_logdensity,
)

__all__ = [
    "TargetDensity", "TransportErrors", "TransportResult", "cells_for_switches", "density_errors",
    "grid_midpoints", "num_pieces",
    "transport", "transport_errors", "curve_density", "gaussian_mixture_density",
    "inverse_control", "inverse_flow", "log_jacobian", "pushforward_logdensity",
    "uniform_box_logdensity",
]

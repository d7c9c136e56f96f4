"""Neural ODEs and ResNets as simultaneous control (paper Sec. 3).

- :class:`Piece`, :class:`Control`: piecewise-constant controls of (3.3).
- :func:`flow`: the exact flow map (closed forms and event-driven matrix
  exponentials for ReLU; DOP853 for smooth activations).
- :func:`interpolate`: explicit interpolating controls (Thm 3.1, Thm 3.3).
- :func:`to_resnet`, :class:`ResNet`: the ResNet (3.1) as the Euler scheme of a control.
"""

from ._activations import ACTIVATIONS
from ._control import Control, Piece
from ._flow import Trajectory, flow, piece_kind
from ._interpolate import InterpolationResult, interpolate, paper_bounds
from ._resnet import ResNet, to_resnet

# Sec. 3.2 classification / approximation / autonomous fields: exports go below this line
from ._classify import ClassificationResult, classification_bounds, classify, count_runs  # noqa: E402
from ._classify_prob import runs_distribution, switch_probability  # noqa: E402
from ._autonomous import AutonomousResult, TubeField, autonomous_interpolate, tube_field, vertex_autonomous  # noqa: E402,E501
from ._approximate import ApproximationResult, approximate, approximation_switches  # noqa: E402
from ._classify_multi import MulticlassResult, classify_multiclass  # noqa: E402
# Sec. 3.3 training and turnpike: exports go below this line
# (imported on first use, PEP 562: they need torch, which the exact NumPy parts do not)
_SEC33 = {**dict.fromkeys(("TorchNODE", "phi_expm1", "torch_bv_norm"), "_torch"), **dict.fromkeys(("TrainingResult", "fit", "load_checkpoint", "save_checkpoint", "training_objective"), "_training"), **dict.fromkeys(("AprioriBoundStudy", "BoundRun", "apriori_bound_study"), "_training_bound"), **dict.fromkeys(("TurnpikeResult", "fit_turnpike"), "_turnpike")}  # noqa: E501


def __getattr__(name):  # Sec. 3.3 lazy exports
    if name in _SEC33:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_SEC33[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Sec. 3.4 transport of measures: exports go below this line
from ._density import curve_density, gaussian_mixture_density  # noqa: E402
from ._transport import TransportErrors, TransportResult, cells_for_switches, density_errors, num_pieces, transport, transport_errors  # noqa: E402,E501
from ._transport_flow import inverse_control, inverse_flow, log_jacobian, pushforward_logdensity, uniform_box_logdensity  # noqa: E402,E501

__all__ = [
    "ACTIVATIONS", "Control", "Piece", "Trajectory", "flow", "piece_kind",
    "InterpolationResult", "interpolate", "paper_bounds", "ResNet", "to_resnet",
]
__all__ += ["TransportErrors", "TransportResult", "cells_for_switches", "density_errors", "curve_density", "gaussian_mixture_density", "inverse_control", "inverse_flow", "log_jacobian", "num_pieces", "pushforward_logdensity", "transport", "transport_errors", "uniform_box_logdensity"]  # Sec. 3.4 (after the base list)
__all__ += ["ClassificationResult", "classification_bounds", "classify", "count_runs", "runs_distribution", "switch_probability", "AutonomousResult", "TubeField", "autonomous_interpolate", "tube_field", "vertex_autonomous", "ApproximationResult", "approximate", "approximation_switches", "MulticlassResult", "classify_multiclass"]  # Sec. 3.2 (after the base list)
__all__ += list(_SEC33)  # Sec. 3.3 (after the base list)

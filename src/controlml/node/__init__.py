"""Neural ODEs and ResNets as simultaneous control (paper Sec. 3).

Controls and exact flows (Sec. 3.1, :mod:`controlml.node.flows`)
    :class:`Piece`, :class:`Control`: piecewise-constant controls of (3.3);
    :func:`flow`: the exact flow map (closed forms and event-driven matrix
    exponentials for ReLU, DOP853 for smooth activations); :func:`to_resnet`,
    :class:`ResNet`: the ResNet (3.1) as the Euler scheme of a control.
Simultaneous control (Sec. 3.2, :mod:`controlml.node.simultaneous`)
    :func:`interpolate` (Thm 3.1, Thm 3.3); :func:`classify`,
    :func:`classify_multiclass` (cluster and runs methods); :func:`approximate`
    (Thm 3.2); :func:`autonomous_interpolate` (Thm 3.4).
Training (Sec. 3.3, :mod:`controlml.node.training`)
    :class:`TorchNODE`, :func:`fit` (J_alpha of (3.13)), :func:`apriori_bound_study`
    ((3.11)-(3.15)), :func:`fit_turnpike`.  These need torch and are imported on
    first use, so the exact NumPy parts load without it.
Control of measures (Sec. 3.4, :mod:`controlml.node.transport`)
    :func:`pushforward_logdensity`, :func:`inverse_flow`, :func:`transport` (Thm 3.5).
"""

import importlib

from .flows import ACTIVATIONS, Control, Piece, ResNet, Trajectory, flow, piece_kind, to_resnet
from .simultaneous import (
    ApproximationResult,
    AutonomousResult,
    ClassificationResult,
    InterpolationResult,
    MulticlassResult,
    TubeField,
    approximate,
    approximation_switches,
    autonomous_interpolate,
    classification_bounds,
    classify,
    classify_multiclass,
    count_runs,
    interpolate,
    paper_bounds,
    runs_distribution,
    switch_probability,
    tube_field,
    vertex_autonomous,
)
from .transport import (
    TransportErrors,
    TransportResult,
    cells_for_switches,
    curve_density,
    density_errors,
    gaussian_mixture_density,
    inverse_control,
    inverse_flow,
    log_jacobian,
    num_pieces,
    pushforward_logdensity,
    transport,
    transport_errors,
    uniform_box_logdensity,
)

# Sec. 3.3: torch-based names, loaded on first access (PEP 562)
_LAZY = {
    **dict.fromkeys(("TorchNODE", "phi_expm1", "torch_bv_norm"), "training._torch"),
    **dict.fromkeys(("TrainingResult", "fit", "load_checkpoint", "save_checkpoint",
                     "training_objective"), "training._training"),
    **dict.fromkeys(("AprioriBoundStudy", "BoundRun", "apriori_bound_study"),
                    "training._training_bound"),
    **dict.fromkeys(("TurnpikeResult", "fit_turnpike"), "training._turnpike"),
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    # controls, flows, ResNet
    "ACTIVATIONS", "Control", "Piece", "Trajectory", "flow", "piece_kind", "ResNet", "to_resnet",
    # simultaneous control
    "InterpolationResult", "interpolate", "paper_bounds",
    "ClassificationResult", "classification_bounds", "classify", "count_runs",
    "MulticlassResult", "classify_multiclass", "runs_distribution", "switch_probability",
    "ApproximationResult", "approximate", "approximation_switches",
    "AutonomousResult", "TubeField", "autonomous_interpolate", "tube_field", "vertex_autonomous",
    # control of measures
    "TransportErrors", "TransportResult", "cells_for_switches", "density_errors", "num_pieces",
    "transport", "transport_errors", "curve_density", "gaussian_mixture_density",
    "inverse_control", "inverse_flow", "log_jacobian", "pushforward_logdensity",
    "uniform_box_logdensity",
    # training (lazy)
    *_LAZY,
]

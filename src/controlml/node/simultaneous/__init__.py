"""Simultaneous control: interpolation, classification, approximation (paper Sec. 3.2).

:func:`interpolate`, :func:`paper_bounds` (Thm 3.1, Thm 3.3; ``_interpolate``);
:func:`classify`, :func:`classification_bounds`, :func:`count_runs` (``_classify``),
:func:`classify_multiclass` (``_classify_multi``), :func:`runs_distribution`,
:func:`switch_probability` (``_classify_prob``); :func:`approximate` (Thm 3.2;
``_approximate``); :func:`autonomous_interpolate`, :func:`tube_field`,
:func:`vertex_autonomous` (Thm 3.4; ``_autonomous``, with the geometry of the disjoint
paths, their routing and B-spline smoothing, in ``_paths``).
"""

from ._approximate import ApproximationResult, approximate, approximation_switches
from ._autonomous import (
    AutonomousResult,
    TubeField,
    autonomous_interpolate,
    tube_field,
    vertex_autonomous,
)
from ._classify import ClassificationResult, classification_bounds, classify, count_runs
from ._classify_multi import MulticlassResult, classify_multiclass
from ._classify_prob import runs_distribution, switch_probability
from ._interpolate import InterpolationResult, interpolate, paper_bounds

__all__ = [
    "InterpolationResult", "interpolate", "paper_bounds",
    "ClassificationResult", "classification_bounds", "classify", "count_runs",
    "MulticlassResult", "classify_multiclass", "runs_distribution", "switch_probability",
    "ApproximationResult", "approximate", "approximation_switches",
    "AutonomousResult", "TubeField", "autonomous_interpolate", "tube_field", "vertex_autonomous",
]

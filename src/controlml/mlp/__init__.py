"""Sec. 5: narrow deep ReLU MLPs as simultaneous control.

The model (5.1) (:class:`MLP`), the explicit width-2 exact classifier
(:func:`classify_narrow`, the baseline :func:`classify_fixed_direction`, the scikit-learn
estimator :class:`NarrowMLPClassifier`), the explicit width-(d+1) approximation of continuous
targets (:func:`approximate_narrow`) and regularised training of width-2 networks against the
construction's norm bound (:func:`train_narrow`).
"""

from ._classify import (
    NarrowClassification,
    classify_fixed_direction,
    classify_narrow,
    count_runs,
    paper_depth_bound,
)
from ._model import MLP
from ._sklearn import NarrowMLPClassifier
from ._train import NarrowTraining, balance, train_narrow
from ._uat import NarrowApproximation, approximate_narrow, uat_depth

__all__ = [
    "MLP",
    "NarrowClassification",
    "classify_narrow",
    "classify_fixed_direction",
    "count_runs",
    "paper_depth_bound",
    "NarrowMLPClassifier",
    "NarrowApproximation",
    "approximate_narrow",
    "uat_depth",
    "NarrowTraining",
    "train_narrow",
    "balance",
]

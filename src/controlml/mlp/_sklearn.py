"""A scikit-learn estimator whose ``fit`` runs the explicit width-2 construction."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._classify import classify_narrow

__all__ = ["NarrowMLPClassifier"]


class NarrowMLPClassifier(ClassifierMixin, BaseEstimator):
    """Exact classifier by an explicit ReLU MLP of width 2 (no training).

    ``fit(X, y)`` runs :func:`~controlml.mlp.classify_narrow`: the training accuracy is 1 by
    construction (certified in float64), with depth ``2K <= 2N + 4M - 1``.  Prediction on new
    points uses the same network (it is a memoriser: expect no generalisation guarantee).

    Parameters
    ----------
    n_directions : int
        Projection directions examined (see :func:`classify_narrow`).
    random_state : None, int or Generator
        Seeds the direction search.

    Attributes
    ----------
    classes_ : ndarray (M,)
    network_ : MLP
    result_ : NarrowClassification
    n_features_in_ : int
    """

    def __init__(self, n_directions: int = 24, random_state: Any = None):
        self.n_directions = n_directions
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=False)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        self.result_ = classify_narrow(X, y, random_state=self.random_state,
                                       n_directions=self.n_directions)
        self.network_ = self.result_.network
        return self

    def predict(self, X):
        check_is_fitted(self, "network_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        pred = self.network_.predict(X)
        return np.asarray(pred, dtype=self.classes_.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True   # a memoriser: no claim off the training set
        return tags

"""scikit-learn estimator around :func:`fit_sparse`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._checks import check_option
from ._solver import fit_sparse

__all__ = ["SparseShallowRegressor"]


class SparseShallowRegressor(RegressorMixin, BaseEstimator):
    r"""Minimal-:math:`\ell_1` shallow ReLU network, (PR0)/(PRε), as a scikit-learn regressor.

    Parameters
    ----------
    eps : float
        Tolerance ε >= 0 (0: exact representation of the training data).
    oracle : {"auto", "exact", "ascent"}
        See :func:`controlml.shallow.fit_sparse`.
    max_iter : int
        Column-generation rounds.
    duplicates : {"average", "raise"}
        Repeated inputs violate Sec. 2.2's consistency assumption; ``"average"``
        replaces them by one point with the mean label (least-squares view),
        ``"raise"`` refuses them.
    random_state : int, optional

    Attributes
    ----------
    network_ : ShallowNetwork
    result_ : SparseFit
    n_features_in_ : int
    n_iter_ : int
        Column-generation rounds used.
    """

    def __init__(self, eps: float = 0.0, *, oracle: str = "auto", max_iter: int = 200,
                 duplicates: str = "average", random_state: Any = None) -> None:
        self.eps = eps
        self.oracle = oracle
        self.max_iter = max_iter
        self.duplicates = duplicates
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> SparseShallowRegressor:
        """Fit on X (N, d), y (N,)."""
        check_option(self.duplicates, "duplicates", ("average", "raise"))
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if self.duplicates == "average":
            Xu, inv = np.unique(X, axis=0, return_inverse=True)
            inv = inv.ravel()
            yu = np.bincount(inv, weights=y) / np.bincount(inv)
            X, y = Xu, yu
        self.result_ = fit_sparse(X, y, eps=self.eps, oracle=self.oracle, max_iter=self.max_iter,
                                  random_state=self.random_state)
        self.network_ = self.result_.network
        self.n_iter_ = self.result_.iterations
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (N,) at X (N, d)."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.network_(X)

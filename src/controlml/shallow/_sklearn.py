"""scikit-learn estimator around :func:`fit_sparse`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._checks import check_option
from ._network import ShallowNetwork
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
    standardize : bool
        Fit on standardised inputs :math:`(x - m)/s` and labels :math:`y/\|y\|_\infty`
        (ε scaled alike), then map the network back to the original units:
        :math:`a_j \to a_j/s`, :math:`b_j \to b_j - \langle a_j, m/s\rangle`,
        :math:`w_j \to \|y\|_\infty w_j` (the same function; the ℓ1 norm is then the
        one of the standardised problem).  Keeps HiGHS well conditioned on raw data.
    duplicates : {"average", "raise"}
        Repeated inputs violate Sec. 2.2's consistency assumption; ``"average"``
        replaces them by one point with the mean label (least-squares view),
        ``"raise"`` refuses them.
    random_state : int, optional

    Attributes
    ----------
    network_ : ShallowNetwork
        In the original units.
    result_ : SparseFit
        Of the (standardised) problem actually solved.
    n_features_in_ : int
    n_iter_ : int
        Column-generation rounds used.
    """

    def __init__(self, eps: float = 0.0, *, oracle: str = "auto", max_iter: int = 200,
                 standardize: bool = True, duplicates: str = "average",
                 random_state: Any = None) -> None:
        self.eps = eps
        self.standardize = standardize
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
        m, s, ys = np.zeros(X.shape[1]), np.ones(X.shape[1]), 1.0
        if self.standardize:
            m = X.mean(axis=0)
            s = X.std(axis=0)
            s[s == 0] = 1.0
            ys = float(np.max(np.abs(y))) or 1.0
        self.result_ = fit_sparse((X - m) / s, y / ys, eps=float(self.eps) / ys, oracle=self.oracle,
                                  max_iter=self.max_iter, random_state=self.random_state)
        net = self.result_.network
        A = net.A / s
        self.network_ = ShallowNetwork(net.w * ys, A, net.b - A @ m, net.activation)
        self.n_iter_ = self.result_.iterations
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (N,) at X (N, d)."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.network_(X)

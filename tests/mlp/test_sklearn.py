"""NarrowMLPClassifier follows the scikit-learn estimator contract."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits, make_moons
from sklearn.exceptions import SkipTestWarning
from sklearn.utils.estimator_checks import check_estimator

from controlml.mlp import NarrowMLPClassifier


def test_passes_sklearn_estimator_checks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)   # pandas / array-API checks skipped here
        results = check_estimator(NarrowMLPClassifier(random_state=0), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    assert not failed, failed
    assert sum(r["status"] == "passed" for r in results) > 30


def test_fit_predict_score_exact_on_training_data():
    X, y = make_moons(300, noise=0.2, random_state=0)
    clf = NarrowMLPClassifier(random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert list(clf.classes_) == [0, 1] and clf.n_features_in_ == 2
    assert clf.result_.depth <= 2 * 300 + 4 * 2 - 1 and clf.network_.max_width == 2
    clf2 = clone(clf).fit(X, y)
    assert np.array_equal(clf2.predict(X), clf.predict(X))


def test_digits_ten_classes_string_labels():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], np.array([f"d{v}" for v in y[:400]])
    clf = NarrowMLPClassifier(random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.predict(X).dtype == clf.classes_.dtype

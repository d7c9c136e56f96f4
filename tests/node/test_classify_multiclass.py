"""Multi-class classification with one width-1 control (ordered bands of x_d)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from controlml.errors import DatasetError, ParameterError
from controlml.node import classify, classify_multiclass, flow


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), N=st.integers(3, 30), d=st.integers(2, 5), M=st.integers(2, 5),
       shift=st.floats(-3, 3), scale=st.floats(0.2, 5))
def test_every_class_in_its_band(seed, N, d, M, shift, scale):
    rng = np.random.default_rng(seed)
    X = shift + scale * rng.standard_normal((N, d))
    lab = rng.integers(0, M, N)
    assume(np.unique(lab).size >= 2)
    res = classify_multiclass(X, lab, random_state=seed)
    F = flow(res.control, X)  # independent evaluation
    cls = np.searchsorted(res.classes, lab)
    t = np.r_[-np.inf, res.levels, np.inf]
    assert np.all((F[:, -1] > t[cls]) & (F[:, -1] < t[cls + 1]))
    assert res.success and res.margin > 0 and res.control.width == 1
    assert res.levels[0] == 1.0 and np.all(np.diff(res.levels) > 0)
    n_ge = [int(np.sum(cls >= k)) for k in range(1, res.classes.size)]
    assert res.num_switches <= sum(3 * math.ceil(n / d) for n in n_ge) + 1 - 1


def test_two_classes_match_the_binary_convention():
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(20, 3))
    lab = rng.integers(0, 2, 20)
    res = classify_multiclass(X, lab, random_state=0)
    F = flow(res.control, X)
    assert np.all((F[:, -1] > 1.0) == (lab == 1))
    assert classify(X, lab, random_state=0).success


def test_string_labels_sorted():
    X = np.random.default_rng(1).uniform(size=(12, 2))
    lab = np.array(["b", "a", "c"] * 4)
    res = classify_multiclass(X, lab, random_state=0)
    assert res.classes.tolist() == ["a", "b", "c"] and res.success


def test_errors():
    with pytest.raises(DatasetError, match="length N"):
        classify_multiclass(np.eye(3), [0, 1])
    with pytest.raises(DatasetError, match="d = 1"):
        classify_multiclass(np.zeros((3, 1)), [0, 1, 2])
    with pytest.raises(ParameterError, match="T"):
        classify_multiclass(np.eye(3), [0, 1, 2], T=-1.0)
    with pytest.raises(DatasetError, match="equal rows"):
        classify_multiclass(np.array([[0.0, 1.0], [0.0, 1.0]]), [0, 1])


def test_single_class_is_refused():
    with pytest.raises(DatasetError, match="single class"):
        classify_multiclass(np.eye(3)[:, :2] + 0.1, [4, 4, 4])

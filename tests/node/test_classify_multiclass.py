"""Multi-class classification with one width-1 control (ordered bands of x_d)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from controlml.errors import DatasetError, ParameterError
from controlml.node import classify, classify_multiclass, flow


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


# ------------------------------------------------------------------------------------------
# issue 4: the switch bound, horizontal clusters, status vs within_bound
# ------------------------------------------------------------------------------------------
def _multiclass_bound(cls, d):
    """sum_k 3ceil(n_{>=k}/d) - 1, +1 when class 0 is not already below t_1 = 1 (compression)."""
    return sum(3 * math.ceil(int(np.sum(cls >= k)) / d) for k in range(1, int(cls.max()) + 1)) - 1


def _check_bands(res, X, lab):
    F = flow(res.control, X)  # independent evaluation
    cls = np.searchsorted(res.classes, lab)
    t = np.r_[-np.inf, res.levels, np.inf]
    assert np.all((F[:, -1] > t[cls]) & (F[:, -1] < t[cls + 1]))
    return cls


def test_regression_seed_293_horizontal_cluster():
    """Hypothesis 'explore' counterexample: two class-2 movers lifted to the same height at k = 1
    made the line through them horizontal at k = 2 -> singletons, L = 11 > 8, status 'failed'."""
    seed, N, d, M, shift, scale = 293, 6, 2, 3, 0.0, 0.5
    rng = np.random.default_rng(seed)
    X = shift + scale * rng.standard_normal((N, d))
    lab = rng.integers(0, M, N)
    res = classify_multiclass(X, lab, random_state=seed)
    cls = _check_bands(res, X, lab)
    assert res.bound == 8 == _multiclass_bound(cls, d)  # 6 + 3 - 1, class 0 below 1: no compression
    assert res.num_switches <= 8 and res.within_bound
    assert res.status == "classified" and res.margin > 0


def test_equal_heights_of_movers_are_lifted_together():
    """Movers exactly on a horizontal line (n = e_d, no vertical shear direction): tilted tent, one cluster."""
    X = np.array([[0.1, 0.3], [0.9, 0.3], [0.5, 0.6], [0.3, 0.1], [0.7, 0.8]])
    lab = np.array([1, 1, 0, 0, 0])
    res = classify_multiclass(X, lab, random_state=0)
    _check_bands(res, X, lab)
    assert res.num_switches == 2 == res.bound and res.within_bound  # one tent (3 pieces)
    assert res.detail["pieces_per_lift"] == [3]


def _near_degenerate(seed, N, d, M, shift, scale, noise, which):
    """Random data whose movers sit (nearly) at a few common heights: (nearly) horizontal clusters."""
    rng = np.random.default_rng(seed)
    X = shift + scale * rng.standard_normal((N, d))
    lab = rng.integers(0, M, N)
    q = lab >= 1 if which else lab == M - 1
    X[q, -1] = shift + scale * np.round(2 * (X[q, -1] - shift) / scale) / 2
    X[q, -1] += noise * scale * rng.standard_normal(int(q.sum()))
    return X, lab


@given(seed=st.integers(0, 10_000), N=st.integers(3, 30), d=st.integers(2, 5), M=st.integers(2, 5),
       shift=st.floats(-3, 3), scale=st.floats(0.2, 5),
       noise=st.sampled_from([0.0, 1e-12, 1e-9, 1e-6, 1e-4]), which=st.booleans())
def test_bound_and_margin_near_degenerate_heights(seed, N, d, M, shift, scale, noise, which):
    """Classes >= 1 (or the top class) at (nearly) equal heights, class 0 generic: L <= bound, margin > 0."""
    X, lab = _near_degenerate(seed, N, d, M, shift, scale, noise, which)
    assume(np.unique(lab).size >= 2 and np.unique(X, axis=0).shape[0] == N)
    res = classify_multiclass(X, lab, random_state=seed)
    cls = _check_bands(res, X, lab)
    assert res.status == "classified" and res.margin > 0
    assert res.num_switches <= res.bound <= _multiclass_bound(cls, d) + 1
    assert res.within_bound


@given(seed=st.integers(0, 10_000), N=st.integers(3, 20), d=st.integers(2, 4), M=st.integers(2, 4))
def test_degenerate_grid_classifies_and_reports_the_bound(seed, N, d, M):
    """Grid data (not in general position): always correct; an overrun only shows in within_bound."""
    rng = np.random.default_rng(seed)
    X = np.round(2 * rng.standard_normal((N, d))) / 2
    lab = rng.integers(0, M, N)
    assume(np.unique(lab).size >= 2 and np.unique(X, axis=0).shape[0] == N)
    res = classify_multiclass(X, lab, random_state=seed)
    _check_bands(res, X, lab)
    assert res.status == "classified" and res.margin > 0
    assert res.within_bound == (res.num_switches <= res.bound)


def test_bound_overrun_is_reported_not_failed():
    """A harmful point in the middle of the two movers: no slab holds both, two tents, L = 5 > 2."""
    X = np.array([[0.0, 0.0], [2.0, 0.5], [1.0, 0.25]])
    res = classify_multiclass(X, [1, 1, 0], random_state=0)
    _check_bands(res, X, np.array([1, 1, 0]))
    assert res.num_switches == 5 and res.bound == 2
    assert res.status == "classified" and res.success and not res.within_bound

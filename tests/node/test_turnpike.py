"""fit_turnpike: running-cost training, measured distances to the steady control, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from controlml.errors import ParameterError
from controlml.node import fit_turnpike


@pytest.fixture
def data():
    rng = np.random.default_rng(21)
    X = rng.uniform(-1, 1, (3, 2))
    return X, 0.8 * X @ np.array([[0.0, 1.0], [-1.0, 0.0]])


def test_turnpike_result_is_consistent(data):
    X, Y = data
    r = fit_turnpike(X, Y, T=1.0, h=0.25, beta=1e-2, width=2, activation="tanh", epochs=25,
                     lr=5e-2, random_state=0, steps_per_piece=1, samples_per_piece=2, dtype=torch.float64)
    dur, W, A, b = r.control.arrays
    assert len(dur) == 4 and r.T == pytest.approx(1.0)
    theta = np.concatenate([W.reshape(4, -1), A.reshape(4, -1), b.reshape(4, -1)], axis=1)
    np.testing.assert_allclose(r.control_distance, np.linalg.norm(theta, axis=1), rtol=1e-12)
    assert r.tracking[0] == pytest.approx(np.sum((X - Y) ** 2), rel=1e-12)
    assert r.times.shape == r.tracking.shape == (4 * 2 + 1,)
    # the middle window [T/4, 3T/4] holds pieces 1 and 2
    assert r.distance_middle == pytest.approx(r.control_distance[1:3].max())
    assert r.distance_ends == pytest.approx(r.control_distance.max())
    np.testing.assert_array_equal(r.steady_control, np.zeros(10))
    # the cost is the trapezoid running cost plus beta * sum tau |theta|^2
    running = np.sum(0.5 * (r.tracking[1:] + r.tracking[:-1]) * np.diff(r.times))
    assert r.cost == pytest.approx(running + 1e-2 * np.sum(dur * r.control_distance**2), rel=1e-10)
    assert r.history[-1] < r.history[0]


def test_turnpike_controls_settle_in_the_middle(data):
    X, Y = data
    res = [fit_turnpike(X, Y, T=T, h=0.25, beta=1e-2, width=2, activation="tanh",
                        steps_per_piece=1, samples_per_piece=2, optimizer="lbfgs", lr=1.0,
                        epochs=12, random_state=k, dtype=torch.float64) for k, T in enumerate((1.0, 2.0))]
    # the state in the middle is closer to the steady state y for the longer horizon
    assert res[1].state_distance_middle < res[0].state_distance_middle
    # and the controls there are nearly the steady control theta_bar = 0
    assert res[1].distance_middle < 1e-2 * res[1].distance_ends


def test_turnpike_errors(data):
    X, Y = data
    with pytest.raises(ParameterError, match="multiple of h"):
        fit_turnpike(X, Y, T=1.1, h=0.25)
    with pytest.raises(ParameterError, match="middle must be a pair"):
        fit_turnpike(X, Y, T=1.0, middle=(0.8, 0.2))
    with pytest.raises(ParameterError, match="beta must be > 0"):
        fit_turnpike(X, Y, T=1.0, beta=0.0)
    with pytest.raises(ParameterError, match="schedule must be one of"):
        fit_turnpike(X, Y, T=1.0, schedule="step")

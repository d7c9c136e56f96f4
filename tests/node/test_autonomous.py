"""Autonomous neural ODEs (Theorem 3.4 and the high-dimensional facts of Sec. 3.2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from controlml.errors import DatasetError, ParameterError
from controlml.node import autonomous_interpolate, flow, interpolate, tube_field, vertex_autonomous

X0 = np.array([[0.0, 0.0], [1.0, 0.2], [2.0, 0.0]])
Y0 = X0 + np.array([[0.3, 1.0], [-0.2, 1.0], [0.1, 1.1]])


def test_tube_field_values_and_integral_curves():
    V = tube_field(X0, Y0, T=2.0)
    s = np.linspace(0, 1, 7)[:, None]
    for x, y in zip(X0, Y0, strict=False):
        np.testing.assert_allclose(V(x + s * (y - x)), np.tile((y - x) / 2.0, (7, 1)), atol=1e-15)
    far = np.array([[10.0, 10.0], [-5.0, 0.0]])
    assert np.all(V(far) == 0.0)
    # independent integration of the field: the integral curves end at y_i at time T
    sol = solve_ivp(lambda _t, z: V(z.reshape(3, 2)).ravel(), (0, 2.0), X0.ravel(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol.y[:, -1].reshape(3, 2), Y0, atol=1e-8)
    # the Lipschitz bound holds on random pairs of points
    rng = np.random.default_rng(0)
    P, Q = rng.uniform(-0.5, 2.5, (500, 2)), rng.uniform(-0.5, 2.5, (500, 2))
    ratio = np.linalg.norm(V(P) - V(Q), axis=1) / np.linalg.norm(P - Q, axis=1)
    assert ratio.max() <= V.lipschitz


def test_crossing_paths_in_the_plane_raise():
    X = np.array([[0.0, 0.0], [1.0, 0.0]])
    Y = np.array([[1.0, 1.0], [0.0, 1.0]])
    with pytest.raises(DatasetError, match="meet"):
        tube_field(X, Y)
    # the same data lifted to d = 3 with a small offset are fine
    tube_field(np.c_[X, [0.0, 0.1]], np.c_[Y, [0.0, 0.1]])


def test_autonomous_interpolate_is_autonomous_and_measured():
    res = autonomous_interpolate(X0, Y0, width=16, random_state=0)
    assert res.control.num_switches == 0 and res.num_switches == 0
    assert res.control.width == 16 and res.kappa == 4 * 2 * 16
    err = np.max(np.linalg.norm(flow(res.control, X0) - Y0, axis=1))
    assert res.max_error == pytest.approx(err, rel=1e-10)
    assert res.step1_error < 1e-8


@pytest.mark.slow
def test_error_decreases_with_width():
    e_small = np.mean([autonomous_interpolate(X0, Y0, width=8, random_state=s).max_error for s in range(2)])
    e_large = np.mean([autonomous_interpolate(X0, Y0, width=64, random_state=s, check_step1=False).max_error
                       for s in range(2)])
    assert e_large < 0.7 * e_small


def test_interpolate_high_dimension_is_autonomous():
    """d > N and P >= N: the existing interpolate already reaches L = 0 (not duplicated here)."""
    rng = np.random.default_rng(1)
    X, Y = rng.uniform(size=(4, 6)), rng.uniform(size=(4, 6))
    res = interpolate(X, Y, width=4, random_state=0)
    assert res.num_switches == 0
    assert np.max(np.abs(flow(res.control, X) - Y)) < 1e-8


@settings(max_examples=10)
@given(seed=st.integers(0, 1000), N=st.integers(1, 4))
def test_vertex_autonomous_exact_in_high_dimension(seed, N):
    rng = np.random.default_rng(seed)
    d = 2 * N + 2  # 2N - 1 other endpoints and the orthogonality constraint: always feasible
    X, Y = rng.uniform(size=(N, d)), rng.uniform(size=(N, d))
    c = vertex_autonomous(X, Y, T=0.5)
    assert c is not None and c.num_switches == 0 and c.width == N
    np.testing.assert_allclose(flow(c, X), Y, atol=1e-9)


def test_vertex_autonomous_infeasible_in_the_plane():
    # the middle point of three collinear inputs cannot be cut off by a hyperplane
    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    Y = X + np.array([0.0, 1.0])
    assert vertex_autonomous(X, Y) is None


@pytest.mark.parametrize("kwargs, err, msg", [
    (dict(width=0), ParameterError, "width"),
    (dict(width=4, T=-1.0), ParameterError, "T"),
    (dict(width=4, ridge=-1.0), ParameterError, "ridge"),
    (dict(width=4, num_samples=0), ParameterError, "num_samples"),
])
def test_errors(kwargs, err, msg):
    with pytest.raises(err, match=msg):
        autonomous_interpolate(X0, Y0, **kwargs)


def test_data_errors():
    with pytest.raises(DatasetError, match="equal rows"):
        tube_field(np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [2.0, 2.0]]))
    with pytest.raises(DatasetError):
        tube_field(np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(DatasetError, match="column"):
        tube_field(np.zeros((2, 1)), np.ones((2, 1)))

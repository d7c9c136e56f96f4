"""Autonomous neural ODEs (Theorem 3.4 and the high-dimensional facts of Sec. 3.2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.interpolate import BSpline
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from controlml.errors import ConvergenceError, DatasetError, ParameterError
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


# crossing data in the plane: neighbours swap, so [x_0, y_0] crosses [x_1, y_1] and [x_2, y_2] crosses [x_3, y_3]
XC = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
YC = np.array([[1.0, 2.0], [0.0, 2.0], [3.0, 2.0], [2.0, 2.0]])


def _dense(field, num=3000):
    """Independent samples of the documented paths: scipy BSpline on clamped uniform knots."""
    out = []
    for C in field.paths:
        K = C.shape[0]
        if K == 2:
            out.append(C[0] + np.linspace(0.0, 1.0, num)[:, None] * (C[1] - C[0]))
        else:
            knots = np.r_[np.zeros(3), np.arange(K - 2, dtype=float), np.full(3, K - 3.0)]
            out.append(BSpline(knots, C, 3)(np.linspace(0.0, K - 3.0, num)))
    return out


@pytest.fixture(scope="module")
def crossing():
    return tube_field(XC, YC, T=1.5)


def test_crossing_paths_are_bent_and_disjoint(crossing):
    V = crossing
    assert len(V.bent) == 2 and all(V.paths[i].shape[0] >= 4 for i in V.bent)
    assert all(V.paths[i].shape == (2, 2) for i in range(4) if i not in V.bent)
    P = _dense(V)
    for i in range(4):  # the paths join x_i to y_i
        np.testing.assert_allclose(P[i][0], XC[i], atol=1e-14)
        np.testing.assert_allclose(P[i][-1], YC[i], atol=1e-14)
        # lengths: independent quadrature of the polyline of dense samples
        assert V.lengths[i] == pytest.approx(np.sum(np.linalg.norm(np.diff(P[i], axis=0), axis=1)), rel=1e-5)
    dmin = min(cdist(P[i], P[j]).min() for i in range(4) for j in range(i + 1, 4))
    assert V.clearance > 0 and dmin >= V.clearance
    assert dmin < 1.1 * V.clearance  # the reported clearance is tight, not an arbitrary small number
    assert 0 < V.r <= 0.45 * V.clearance and np.all(V.r < V.curvature_radius)


def test_bent_field_equals_path_velocity_on_the_path(crossing):
    V = crossing
    for i in V.bent:
        P = _dense(V, 400)[i]
        K = V.paths[i].shape[0]
        knots = np.r_[np.zeros(3), np.arange(K - 2, dtype=float), np.full(3, K - 3.0)]
        dP = BSpline(knots, V.paths[i], 3).derivative()(np.linspace(0.0, K - 3.0, 400))
        expected = V.lengths[i] / V.T * dP / np.linalg.norm(dP, axis=1, keepdims=True)
        np.testing.assert_allclose(V(P), expected, atol=1e-9 * V.lengths[i])
    assert np.all(V(np.array([[10.0, 10.0], [-5.0, 0.0]])) == 0.0)


def test_bent_sample_and_box(crossing):
    V = crossing
    rng = np.random.default_rng(5)
    Z = V.sample(2000, rng, tube_fraction=1.0, core=True)
    D = _dense(V)
    gap = max(np.linalg.norm(np.diff(p, axis=0), axis=1).max() for p in D)
    P = np.vstack(D)
    dist = cKDTree(P).query(Z)[0]
    assert dist.max() <= 0.25 * V.r + 0.5 * gap  # in the cores
    assert np.all(np.linalg.norm(V(Z), axis=1) > 0.8 * V.lengths.min() / V.T)  # psi(1/4) > 0.87
    lo, hi = V.box
    assert np.all(P >= lo) and np.all(P <= hi)
    assert np.all(V.sample(500, rng, tube_fraction=0.0) >= lo)


def test_bent_integral_curves_reach_the_targets(crossing):
    V = crossing
    sol = solve_ivp(lambda _t, z: V(z.reshape(4, 2)).ravel(), (0, V.T), XC.ravel(), method="DOP853",
                    rtol=1e-10, atol=1e-12)
    err = np.linalg.norm(sol.y[:, -1].reshape(4, 2) - YC, axis=1)
    assert err.max() < 1e-6 * V.lengths.max()


def test_bent_lipschitz_bound_holds(crossing):
    V = crossing
    rng = np.random.default_rng(3)
    lo, hi = V.box
    # random pairs in the box, and close pairs in the tubes (where the field varies fastest)
    P = np.vstack([rng.uniform(lo, hi, (3000, 2)), V.sample(3000, rng)])
    Q = P + np.vstack([rng.uniform(lo, hi, (3000, 2)) - P[:3000], 1e-3 * V.r * rng.standard_normal((3000, 2))])
    ratio = np.linalg.norm(V(P) - V(Q), axis=1) / np.linalg.norm(P - Q, axis=1)
    assert ratio.max() <= V.lipschitz
    assert ratio.max() >= 0.05 * V.lipschitz  # the bound is not vacuous


@pytest.mark.slow
@settings(max_examples=6)
@given(seed=st.integers(0, 10_000), N=st.integers(3, 5))
def test_random_planar_data_get_disjoint_paths_that_reach_the_targets(seed, N):
    """The paper's step 1 as a property: any consistent planar data set gets disjoint paths."""
    rng = np.random.default_rng(seed)
    X, Y = rng.uniform(size=(N, 2)), rng.uniform(size=(N, 2))
    try:
        V = tube_field(X, Y, T=1.0)
    except ConvergenceError as err:  # documented limit: endpoints far closer than the extent
        assume("could not route the bent paths" not in str(err))
        raise
    P = _dense(V)
    dmin = min(cdist(P[i], P[j]).min() for i in range(N) for j in range(i + 1, N))
    assert dmin >= V.clearance > 0 and 0 < V.r <= 0.5 * V.clearance
    sol = solve_ivp(lambda _t, z: V(z.reshape(N, 2)).ravel(), (0, 1.0), X.ravel(), method="DOP853",
                    rtol=1e-10, atol=1e-12)
    assert np.max(np.linalg.norm(sol.y[:, -1].reshape(N, 2) - Y, axis=1)) < 1e-6 * V.lengths.max()


def test_meeting_segments_in_three_dimensions_are_bent():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, -1.0, 0.0]])
    Y = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.5, 2.0, 0.0]])  # three segments through (0.5, 0.5, 0)
    V = tube_field(X, Y)
    assert len(V.bent) == 2 and V.r > 0
    P = _dense(V)
    assert min(cdist(P[i], P[j]).min() for i in range(3) for j in range(i + 1, 3)) >= V.clearance > 0
    sol = solve_ivp(lambda _t, z: V(z.reshape(3, 3)).ravel(), (0, 1.0), X.ravel(), method="DOP853",
                    rtol=1e-10, atol=1e-12)
    assert np.max(np.linalg.norm(sol.y[:, -1].reshape(3, 3) - Y, axis=1)) < 1e-6 * V.lengths.max()


def test_rest_point_on_a_segment_bends_the_segment():
    X = np.array([[0.0, 0.0], [0.5, 0.5], [2.0, 0.0]])
    Y = np.array([[1.0, 1.0], [0.5, 0.5], [2.5, 1.0]])  # x_1 = y_1 is a rest point on [x_0, y_0]
    V = tube_field(X, Y)
    assert V.bent == (0,)
    assert np.all(V(X[1:2]) == 0.0)  # the rest point stays
    assert cdist(_dense(V)[0], X[1:2]).min() >= V.clearance > 2 * V.r


def test_straight_paths_unchanged_when_disjoint():
    V = tube_field(X0, Y0)
    assert V.bent == () and all(p.shape == (2, 2) for p in V.paths)
    P = _dense(V)
    dmin = min(cdist(P[i], P[j]).min() for i in range(3) for j in range(i + 1, 3))
    assert V.r == pytest.approx(0.5 * dmin, rel=1e-3) and V.clearance == pytest.approx(2 * V.r)


def test_autonomous_interpolate_on_crossing_data():
    res = autonomous_interpolate(XC, YC, width=64, random_state=0, check_step1=False)
    assert res.field.bent and res.num_switches == 0 and res.control.width == 64
    err = np.max(np.linalg.norm(flow(res.control, XC) - YC, axis=1))
    assert res.max_error == pytest.approx(err, rel=1e-10)
    assert err < 0.5 * np.max(np.linalg.norm(YC - XC, axis=1))  # the trajectories follow the bent tubes


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


@pytest.mark.slow
def test_crossing_error_decreases_with_width():
    e = [np.mean([autonomous_interpolate(XC, YC, width=P, random_state=s, check_step1=False).max_error
                  for s in range(2)]) for P in (16, 128)]
    assert e[1] < 0.5 * e[0]


def test_prebuilt_field_is_reused_and_checked(crossing):
    a = autonomous_interpolate(XC, YC, width=8, T=1.5, random_state=1, check_step1=False, field=crossing)
    b = autonomous_interpolate(XC, YC, width=8, T=1.5, random_state=1, check_step1=False)
    assert a.field is crossing and a.max_error == pytest.approx(b.max_error, rel=1e-9)
    with pytest.raises(ParameterError, match="other data"):
        autonomous_interpolate(XC, YC, width=8, T=1.0, field=crossing)
    with pytest.raises(ParameterError, match="TubeField"):
        autonomous_interpolate(XC, YC, width=8, T=1.5, field="field")


def test_data_errors():
    with pytest.raises(DatasetError, match="Y has two equal rows"):
        tube_field(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(DatasetError, match="x_1 equals y_0"):
        tube_field(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 0.0], [2.0, 1.0]]))
    with pytest.raises(ConvergenceError, match="could not route"):  # endpoints far too close for the router
        tube_field(np.array([[0.0, 0.0], [1e-5, 0.0]]), np.array([[1e3, 1.0], [-1e3, 1.0]]))
    with pytest.raises(DatasetError, match="equal rows"):
        tube_field(np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [2.0, 2.0]]))
    with pytest.raises(DatasetError):
        tube_field(np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(DatasetError, match="column"):
        tube_field(np.zeros((2, 1)), np.ones((2, 1)))


def test_plot_tube_field_draws_planar_fields_and_rejects_others():
    from controlml import ParameterError
    from controlml.node import tube_field
    from controlml.plotting.node_classify import plot_tube_field

    X = np.array([[0.0, 0.0], [1.0, 0.0]])
    Y = np.array([[1.0, 1.0], [0.0, 1.0]])  # the straight paths cross: bent ones are drawn
    field = tube_field(X, Y)
    fig = plot_tube_field(field, np.stack([X, Y]))
    assert len(fig.axes[0].lines) >= 2  # one curve per path, plus the trajectories
    with pytest.raises(ParameterError, match=r"\(K, 2, 2\)"):
        plot_tube_field(field, X)
    with pytest.raises(ParameterError, match="d = 3"):
        plot_tube_field(tube_field(np.eye(3)[:2], np.eye(3)[:2] + 0.5))

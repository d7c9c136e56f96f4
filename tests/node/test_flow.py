"""The flow map against independent computations (SciPy DOP853 at rtol 1e-12)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from controlml import ControlError, ConvergenceError, DatasetError, ParameterError
from controlml.node import Control, Piece, flow, piece_kind
from controlml.node.flows import cellwise_flow

SIGMA = {
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
}


def reference_flow(control, X, activation="relu"):
    """Piece-by-piece DOP853 (rtol 1e-12): an independent computation."""
    sig = SIGMA[activation]
    N, d = X.shape
    for p in control.pieces:
        def rhs(_t, y, p=p):
            return (sig(y.reshape(N, d) @ p.A.T + p.b) @ p.W.T).ravel()
        X = solve_ivp(rhs, (0, p.duration), X.ravel(), method="DOP853",
                      rtol=1e-12, atol=1e-13).y[:, -1].reshape(N, d)
    return X


def random_control(rng, d, P, L=2):
    return Control(tuple(Piece(rng.uniform(0.2, 0.8), rng.standard_normal((d, P)) / np.sqrt(d),
                               rng.standard_normal((P, d)), rng.standard_normal(P))
                         for _ in range(L + 1)))


@pytest.mark.parametrize("P", [1, 2, 5])
@pytest.mark.parametrize("d", [2, 3, 10])
def test_relu_flow_matches_dop853(P, d):
    rng = np.random.default_rng(100 * P + d)
    c = random_control(rng, d, P)
    X = rng.standard_normal((15, d))
    ours, ref = flow(c, X), reference_flow(c, X)
    scale = 1.0 + np.abs(ref).max()
    # DOP853 steps over the kinks, so it is the less accurate of the two (~1e-9 relative)
    assert np.abs(ours - ref).max() <= 1e-8 * scale


@pytest.mark.parametrize("P", [2, 5])
def test_general_flow_is_a_semigroup(P):
    """Phi_{t+s} = Phi_s o Phi_t to machine precision: splitting pieces changes nothing."""
    rng = np.random.default_rng(P)
    c = random_control(rng, 3, P)
    X = rng.standard_normal((25, 3))
    halves = Control(tuple(Piece(p.duration / 2, p.W, p.A, p.b) for p in c.pieces for _ in range(2)))
    assert np.abs(flow(halves, X) - flow(c, X)).max() <= 1e-12 * (1 + np.abs(X).max())


@pytest.mark.parametrize("activation", ["leaky_relu", "tanh", "sigmoid"])
def test_other_activations_match_dop853(activation):
    rng = np.random.default_rng(7)
    c = random_control(rng, 3, 3)
    X = rng.standard_normal((10, 3))
    ours, ref = flow(c, X, activation=activation), reference_flow(c, X, activation)
    assert np.abs(ours - ref).max() <= 1e-8 * (1.0 + np.abs(ref).max())


@pytest.mark.parametrize("kappa_sign", [-1.0, 0.0, 1.0])
def test_single_neuron_closed_form(kappa_sign):
    """Fig. 3.1: compression (a.w < 0), parallel motion (= 0), expansion (> 0)."""
    a = np.array([0.0, 1.0])
    w = np.array([0.5, kappa_sign * 0.7])
    piece = Piece(1.3, w[:, None], a[None, :], [-0.2])
    assert piece_kind(piece) == ("shear" if kappa_sign == 0 else "single")
    X = np.array([[0.3, 1.0], [-1.0, 2.0], [0.5, -1.0], [2.0, 0.2]])
    out = flow(piece, X)
    z0 = X @ a - 0.2
    kappa = a @ w
    t = 1.3
    factor = t if kappa == 0 else np.expm1(kappa * t) / kappa
    expected = X + np.where(z0 > 0, z0 * factor, 0.0)[:, None] * w
    assert np.allclose(out, expected, rtol=0, atol=1e-14)
    # the inactive half-space does not move; the active side's distance scales by e^{kappa t}
    assert np.array_equal(out[z0 <= 0], X[z0 <= 0])
    z1 = out @ a - 0.2
    assert np.allclose(z1[z0 > 0], z0[z0 > 0] * np.exp(kappa * t), rtol=1e-13)


def test_shear_piece_is_exact_and_keeps_projection(rng):
    u = np.array([0.6, 0.8])
    perp = np.array([-0.8, 0.6])
    W = np.outer(perp, [1.0, -2.0, 0.5])
    piece = Piece(0.7, W, np.tile(u, (3, 1)), [0.1, -0.3, 0.4])
    assert piece_kind(piece) == "shear"
    X = rng.standard_normal((50, 2))
    out = flow(piece, X)
    assert np.allclose(out @ u, X @ u, atol=1e-14)
    expected = X + 0.7 * (np.maximum(X @ piece.A.T + piece.b, 0) @ W.T)
    assert np.allclose(out, expected, atol=1e-13)
    assert np.allclose(out, reference_flow(Control((piece,)), X), atol=1e-10)


def test_fused_shear_runs_agree_with_piece_by_piece(rng):
    """Many shear pieces sharing a normal are applied as one spline: same map."""
    u = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    basis = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]]) / np.array([[np.sqrt(2)], [1.0]])
    pieces = []
    for _ in range(20):
        W = (rng.standard_normal((2, 2)).T @ basis).T  # directions orthogonal to u
        sign = rng.choice([-1.0, 1.0], size=2)[:, None]
        pieces.append(Piece(0.05, W, sign * u, rng.standard_normal(2)))
    c = Control(tuple(pieces))
    X = rng.standard_normal((40, 3))
    sequential = X.copy()
    for p in pieces:
        sequential = flow(p, sequential)
    assert np.allclose(flow(c, X), sequential, atol=1e-12)


def test_general_piece_handles_many_crossings():
    """A rotation-like field crosses its hyperplanes repeatedly within one piece."""
    W = np.array([[0.0, -1.0, 0.0, 1.0], [1.0, 0.0, -1.0, 0.0]])
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    piece = Piece(6.0, W, A, np.zeros(4))  # x' = (-y, x): rotation, crossings every pi/2
    assert piece_kind(piece) == "general"
    X = np.array([[1.0, 0.0], [0.0, 2.0], [-0.5, -0.5]])
    R = np.array([[np.cos(6.0), -np.sin(6.0)], [np.sin(6.0), np.cos(6.0)]])
    assert np.allclose(flow(piece, X), X @ R.T, atol=1e-12)


def test_trajectory(rng):
    c = random_control(rng, 2, 2, L=1)
    X = rng.standard_normal((5, 2))
    XT, traj = flow(c, X, return_trajectory=True, num_samples=4)
    assert traj.X.shape == (9, 5, 2) and traj.t.shape == (9,)
    assert traj.t[0] == 0.0 and traj.t[-1] == pytest.approx(c.T)
    assert np.array_equal(traj.X[0], X)
    assert np.allclose(traj.X[-1], XT, atol=1e-10)
    assert np.all(np.diff(traj.t) > 0)


def test_flow_bad_input(rng):
    c = random_control(rng, 2, 1)
    with pytest.raises(DatasetError, match="must have 2 columns"):
        flow(c, np.zeros((3, 3)))
    with pytest.raises(DatasetError, match="non-finite"):
        flow(c, np.array([[0.0, np.nan]]))
    with pytest.raises(ParameterError, match="activation"):
        flow(c, np.zeros((1, 2)), activation="softplus")
    with pytest.raises(ValueError, match="Control or a Piece"):
        flow("nope", np.zeros((1, 2)))


@pytest.mark.parametrize("N", [1, 4])
def test_flow_never_modifies_its_input(N):
    piece = Piece(1.0, np.array([[1.0], [0.5]]), np.array([[1.0, 0.0]]), [0.0])
    X = np.ones((N, 2))
    before = X.copy()
    out = flow(Control((piece, piece)), X)
    assert np.array_equal(X, before) and not np.array_equal(out, before)


# ---------------------------------------------------------------------------------------
# general width: the vectorised event-driven integrator against an independent computation
# ---------------------------------------------------------------------------------------
def cell_reference(piece, x0, gamma=0.0, rtol=1e-12):
    """DOP853 inside one cell at a time, restarted at every crossing: x(T), #crossings."""
    return cellwise_flow(piece, x0, gamma=gamma, rtol=rtol)


def arrangement_piece(rng, P, d=2, T=1.0, wscale=1.0):
    """Theorem 3.4's setting: random hyperplanes through [0, 1]^d, a small W."""
    A = rng.standard_normal((P, d))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    b = -np.einsum("pd,pd->p", A, rng.uniform(0, 1, (P, d)))
    W = rng.standard_normal((d, P))
    W *= wscale / np.linalg.norm(W, 2)
    return Piece(T, W, A, b)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("P, wscale", [(16, 6.0), (128, 1.5)])
def test_general_width_matches_cellwise_dop853(P, wscale, activation):
    rng = np.random.default_rng(P + (activation == "relu"))
    piece = arrangement_piece(rng, P, wscale=wscale)
    assert piece_kind(piece) == "general"
    X = rng.uniform(0, 1, (12, 2))
    ours = flow(piece, X, activation=activation)
    gamma = 0.0 if activation == "relu" else 0.01
    crossings = 0
    for x0, x1 in zip(X, ours, strict=True):
        ref, k = cell_reference(piece, x0, gamma)
        crossings += k
        assert np.abs(x1 - ref).max() <= 1e-10 * (1 + np.abs(ref).max())
    assert crossings >= 3 * len(X)  # many kinks really were crossed


def test_general_width_semigroup_many_hyperplanes():
    """Splitting a P = 64 piece into 7 unequal parts changes the flow by round-off only."""
    rng = np.random.default_rng(3)
    piece = arrangement_piece(rng, 64, wscale=2.0)
    cuts = np.diff(np.r_[0.0, np.sort(rng.uniform(0, 1, 6)), 1.0])
    split = Control(tuple(Piece(c, piece.W, piece.A, piece.b) for c in cuts))
    X = rng.uniform(0, 1, (40, 2))
    assert np.abs(flow(split, X) - flow(piece, X)).max() <= 1e-12


def test_points_on_hyperplanes_and_tangent_grazing():
    """x' = (-y, x) plus a neuron active above the tangent line y = 1 of the unit circle.

    The unit circle only touches {y = 1} (at (0, 1), tangentially), so its points rotate
    exactly; a point starting on the touching point, points starting on the rotation's own
    hyperplanes {x = 0}, {y = 0}, and one grazing the line at t = pi/2 all follow
    the rotation; a wrong activation at the graze would push them by w = (1, 1).
    """
    W = np.array([[0.0, -1.0, 0.0, 1.0, 1.0], [1.0, 0.0, -1.0, 0.0, 1.0]])
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])
    piece = Piece(3.0, W, A, [0.0, 0.0, 0.0, 0.0, -1.0])
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, -1.0], [-1.0, 0.0], [0.6, 0.8], [0.0, 0.5]])
    R = np.array([[np.cos(3.0), -np.sin(3.0)], [np.sin(3.0), np.cos(3.0)]])
    assert np.abs(flow(piece, X) - X @ R.T).max() <= 1e-13


def test_sliding_along_a_hyperplane_with_tangent_field():
    """On {y = 0} both neurons rest and the drift is tangent: points slide exactly along it."""
    W = np.array([[0.0, 0.0, 1.0], [-1.0, 1.0, 0.0]])
    A = np.array([[0.0, 1.0], [0.0, -1.0], [0.0, 0.0]])
    piece = Piece(2.0, W, A, [0.0, 0.0, 1.0])  # x' = (1, -y)
    assert piece_kind(piece) == "general"
    X = np.array([[0.3, 0.0], [-1.0, 0.0], [0.2, 0.5], [0.1, -0.7], [0.0, 1e-300]])
    expected = np.column_stack([X[:, 0] + 2.0, X[:, 1] * np.exp(-2.0)])
    assert np.abs(flow(piece, X) - expected).max() <= 1e-14
    assert np.all(flow(piece, X)[:2, 1] == 0.0)


def test_max_events_raises():
    """The rotation crosses a hyperplane every pi/2: 6 s needs 3 to 4 crossings per point."""
    W = np.array([[0.0, -1.0, 0.0, 1.0], [1.0, 0.0, -1.0, 0.0]])
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    piece = Piece(6.0, W, A, np.zeros(4))
    X = np.array([[1.0, 0.5], [0.0, 2.0]])
    with pytest.raises(ConvergenceError, match="more than 2 hyperplane crossings"):
        flow(piece, X, max_events=2)
    R = np.array([[np.cos(6.0), -np.sin(6.0)], [np.sin(6.0), np.cos(6.0)]])
    assert np.allclose(flow(piece, X, max_events=5), X @ R.T, atol=1e-12)
    with pytest.raises(ParameterError, match="max_events"):
        flow(piece, X, max_events=0)


def test_regressions_of_the_grid_integrator():
    """Two cases the former fixed-grid/brentq integrator got wrong, on the same P = 128 field.

    Point 20 of the sample crosses a hyperplane twice between two grid nodes (it was off by
    4e-8); the second point lies exactly on a hyperplane (z = 0.0), leaves it and comes back:
    the root at s = 0 stalled the former integrator until max_events.
    """
    rng = np.random.default_rng(0)
    piece = arrangement_piece(rng, 128)
    x20 = rng.uniform(0, 1, (50, 2))[20]
    on = np.array([0.8677941157710098, 0.5044772080230684])
    assert np.min(np.abs(piece.A @ on + piece.b)) == 0.0
    short = Piece(0.9574195075127673, piece.W, piece.A, piece.b)
    for p, x0 in ((piece, x20), (short, on)):
        ref, crossings = cell_reference(p, x0)
        assert crossings >= 2
        assert np.abs(flow(p, x0[None]) - ref).max() <= 1e-12


def test_point_where_many_hyperplanes_meet():
    """40 hyperplanes through c: c is an equilibrium (every z_j = 0); the others still exact."""
    rng = np.random.default_rng(5)
    c = np.array([0.5, 0.5])
    A = rng.standard_normal((40, 2))
    piece = Piece(1.0, rng.standard_normal((2, 40)) * 0.5, A, -A @ c)
    X = np.vstack([c, rng.uniform(0, 1, (6, 2))])
    out = flow(piece, X)
    assert np.array_equal(out[0], c)
    for x0, x1 in zip(X[1:], out[1:], strict=True):
        ref, _ = cell_reference(piece, x0)
        assert np.abs(x1 - ref).max() <= 1e-10 * (1 + np.abs(ref).max())


# --- issue 11: overflow of exp(kappa t) -------------------------------------------------
_STEEP = Piece(1.0, np.array([[8.0], [0.0]]), np.array([[100.0, 0.0]]), np.array([1.0]))  # kappa t = 800


@pytest.mark.parametrize("trajectory", [False, True])
def test_inactive_points_never_move_even_when_exp_kappa_t_overflows(trajectory):
    X = np.array([[-5.0, 0.0], [-0.01, 3.0]])  # a.x + b < 0: the inactive side
    out = flow(_STEEP, X, return_trajectory=trajectory)
    XT = out[0] if trajectory else out
    np.testing.assert_array_equal(XT, X)
    # also inside a longer control, before and after moderate pieces
    mild = Piece(0.5, np.array([[0.0], [0.2]]), np.array([[0.0, 1.0]]), np.array([0.0]))  # moves x_2 only
    ref = flow(Control((mild, mild)), X)
    np.testing.assert_array_equal(flow(Control((mild, _STEEP, mild)), X), ref)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_active_points_that_overflow_raise_a_clear_error(activation):
    X = np.array([[-5.0, 0.0], [1.0, 0.0]])  # the second point is active
    mild = Piece(0.5, np.array([[0.0], [0.2]]), np.array([[0.0, 1.0]]), np.array([0.0]))  # moves x_2 only
    with pytest.raises(ControlError, match=r"piece 1 .*kappa\*t = a\.w \* duration = 800.*Rescal"):
        flow(Control((mild, _STEEP)), X, activation=activation)


def test_inverse_flow_leaves_inactive_points_where_they_are_when_exp_overflows():
    from controlml.node import inverse_flow

    compress = Piece(1.0, np.array([[-8.0], [0.0]]), np.array([[100.0, 0.0]]), np.array([1.0]))
    X = np.array([[-5.0, 0.0], [-0.01, 2.0]])  # inactive: a.x + b <= 0
    np.testing.assert_array_equal(inverse_flow(compress, X), X)

"""Thm 4.1: predicted clustered equilibrium (leaders + A-projections onto faces) vs long runs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from controlml.attention import equilibrium, face_projection, hardmax_dynamics


def _spd(rng, d):
    M = rng.normal(size=(d, d))
    return M @ M.T + 0.5 * np.eye(d)


def test_face_projection_closed_form():
    # segment from (1, 1) to (1, -1), A = I: projection of 0 is (1, 0)
    p, lam = face_projection([[1.0, 1.0], [1.0, -1.0]], np.eye(2))
    np.testing.assert_allclose(p, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(lam, [0.5, 0.5], atol=1e-12)
    # A-norm: minimiser of (x)^T A x on the segment x = (1, s), s in [-1, 1]: s* = -A01/A11
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    p, _ = face_projection([[1.0, 1.0], [1.0, -1.0]], A)
    np.testing.assert_allclose(p, [1.0, -0.5], atol=1e-10)
    # vertex case: projection lands on the nearest vertex
    p, lam = face_projection([[1.0, 0.0], [3.0, 1.0]], np.eye(2))
    np.testing.assert_allclose(p, [1.0, 0.0], atol=1e-10)


def test_square_equilibrium():
    Z = np.array([[1.0, 1.0], [1.0, -1.0], [0.5, 0.0]])
    e = equilibrium(Z, np.eye(2), 0.5)
    np.testing.assert_allclose(e.Z_star, [[1, 1], [1, -1], [1, 0]], atol=1e-14)
    assert e.faces == [(0,), (1,), (0, 1)]
    assert e.status == "certified"
    assert list(e.leaders) == [0, 1]


def _mirror(rng, n, d):
    """Random configuration symmetric under z_1 -> -z_1 (A diagonal keeps the exact ties), plus
    tokens on the mirror: they converge to projections onto faces, not to leaders."""
    Z = rng.normal(size=(n, d))
    Z[:, 0] = np.abs(Z[:, 0]) + 0.1
    F = Z.copy()
    F[:, 0] *= -1
    axis = rng.normal(size=(3, d))
    axis[:, 0] = 0.0
    return np.concatenate([Z, F, axis])


@settings(max_examples=12)
@given(st.integers(0, 10_000), st.integers(2, 3), st.booleans())
def test_long_run_reaches_predicted_equilibrium(seed, d, symmetric):
    rng = np.random.default_rng(seed)
    if symmetric:
        Z = _mirror(rng, 4, d)
        A = np.diag(rng.uniform(0.5, 2.0, size=d))
    else:
        Z = rng.normal(size=(8, d))
        A = _spd(rng, d)
    alpha = float(rng.uniform(0.3, 2.0))
    e = equilibrium(Z, A, alpha)
    assert e.status == "certified"
    assert e.kkt_residual < 1e-8 and e.support_gap < 1e-8
    # run the dynamics much longer, independently, and compare
    r = hardmax_dynamics(Z, A, alpha, 3 * e.layers, keep_trajectory=False)
    assert np.abs(r.Z - e.Z_star).max() < 1e-8
    assert r.leaders_stable_from <= e.layers
    # every predicted token is a leader or lies on a face spanned by leaders
    lead = set(int(i) for i in e.leaders)
    for i, F in enumerate(e.faces):
        assert set(F) <= lead
        np.testing.assert_allclose(e.weights[i] @ e.Z_layers, e.Z_star[i], atol=1e-12)


def test_symmetric_configuration_has_face_clusters(rng):
    Z = _mirror(rng, 5, 3)
    A = np.diag([1.0, 2.0, 0.5])
    e = equilibrium(Z, A, 1.0)
    assert any(len(F) > 1 for F in e.faces)  # a non-leader cluster exists
    for i, F in enumerate(e.faces):
        if len(F) > 1:
            p = e.Z_star[i]
            L = e.Z_layers[list(F)]
            # A-orthogonality: p is the A-projection of 0 on the affine hull of its face
            np.testing.assert_allclose((L - p) @ A @ p, 0.0, atol=1e-10)


def test_batched_equilibrium(rng):
    Z = rng.normal(size=(3, 7, 2))
    e = equilibrium(Z, np.eye(2), 0.8)
    assert e.Z_star.shape == (3, 7, 2)
    assert len(e.leaders) == 3 and len(e.faces) == 3
    for b in range(3):
        eb = equilibrium(Z[b], np.eye(2), 0.8)
        np.testing.assert_allclose(eb.Z_star, e.Z_star[b], atol=1e-12)

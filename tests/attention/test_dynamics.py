"""Hardmax (4.1) / softmax (4.2) dynamics: closed forms, properties of Thm 4.1, the tau -> 0 limit."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from controlml.attention import (
    attention_weights,
    hardmax_dynamics,
    hardmax_step,
    leaders,
    softmax_dynamics,
    softmax_step,
)


def _loop_hardmax_step(Z, A, alpha, rtol=1e-12):
    """Independent token-by-token implementation of (4.1a)-(4.1b)."""
    out = np.empty_like(Z)
    R = max(np.linalg.norm(z) for z in Z)
    for i, zi in enumerate(Z):
        s = [float(zl @ (A @ zi)) for zl in Z]
        tol = rtol * np.linalg.norm(A @ zi) * R
        C = [j for j, v in enumerate(s) if v >= max(s) - tol]
        out[i] = zi + alpha / (1 + alpha) * sum(Z[l] - zi for l in C) / len(C)
    return out


def _spd(rng, d):
    M = rng.normal(size=(d, d))
    return M @ M.T + 0.5 * np.eye(d)


def test_hardmax_step_matches_token_loop(rng):
    for d in (2, 3, 5):
        Z = rng.normal(size=(9, d))
        A = _spd(rng, d)
        np.testing.assert_allclose(hardmax_step(Z, A, 0.7), _loop_hardmax_step(Z, A, 0.7), rtol=0, atol=1e-14)


def test_softmax_step_matches_formula(rng):
    Z = rng.normal(size=(7, 3))
    A = _spd(rng, 3)
    tau, alpha = 0.8, 0.3
    S = Z @ A @ Z.T
    P = np.exp(S / tau)
    P /= P.sum(axis=1, keepdims=True)
    expected = Z + alpha / (1 + alpha) * (P @ Z - Z)
    np.testing.assert_allclose(softmax_step(Z, A, alpha, tau), expected, atol=1e-14)
    np.testing.assert_allclose(attention_weights(Z, A, tau), P, atol=1e-14)


def test_batched_equals_per_sequence(rng):
    Z = rng.normal(size=(4, 6, 2))
    A = _spd(rng, 2)
    r = hardmax_dynamics(Z, A, 0.5, 40)
    for b in range(4):
        rb = hardmax_dynamics(Z[b], A, 0.5, 40)
        np.testing.assert_array_equal(r.Z[b], rb.Z)
        np.testing.assert_array_equal(r.leader_mask[:, b], rb.leader_mask)
        assert r.leaders_stable_from[b] == rb.leaders_stable_from
    assert r.trajectory.shape == (41, 4, 6, 2)


def test_square_tie_creates_a_non_leader_cluster():
    """A token half way between two symmetric leaders ties and converges to their midpoint."""
    Z = np.array([[1.0, 1.0], [1.0, -1.0], [0.5, 0.0]])
    r = hardmax_dynamics(Z, np.eye(2), 0.5, 100)
    np.testing.assert_allclose(r.Z[2], [1.0, 0.0], atol=1e-14)
    assert list(np.flatnonzero(r.leader_mask[-1])) == [0, 1]


def test_tie_tolerance_decides_rotated_ties(rng):
    """Rotating a mirror-symmetric configuration breaks exact ties by rounding only; the relative
    tolerance restores them (the limit is rotation equivariant), exact comparison does not."""
    Z = rng.normal(size=(6, 2))
    Z = np.concatenate([Z, Z * [1, -1], [[0.3, 0.0], [-0.2, 0.0]]])
    th = 0.7
    Q = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    ref = hardmax_dynamics(Z, np.eye(2), 0.5, 1500).Z
    rot = hardmax_dynamics(Z @ Q.T, np.eye(2), 0.5, 1500).Z @ Q
    assert np.abs(rot - ref).max() < 1e-12
    exact = hardmax_dynamics(Z @ Q.T, np.eye(2), 0.5, 1500, tie_rtol=0.0).Z @ Q
    assert np.abs(exact - ref).max() > 1e-3


def test_tau_zero_dispatches_to_hardmax(rng):
    Z = rng.normal(size=(3, 8, 2))
    A = _spd(rng, 2)
    a = softmax_dynamics(Z, A, 0.5, 0.0, 30)
    b = hardmax_dynamics(Z, A, 0.5, 30)
    np.testing.assert_array_equal(a.Z, b.Z)
    assert a.tau == 0.0


def test_small_tau_is_stable_and_tends_to_hardmax(rng):
    Z = 30.0 * rng.normal(size=(10, 3))  # scores ~1e3: exp(score / tau) overflows without care
    A = _spd(rng, 3)
    errs = []
    for tau in (1.0, 1e-1, 1e-2, 1e-3, 1e-6):
        r = softmax_dynamics(Z, A, 0.5, tau, 20)
        assert np.all(np.isfinite(r.trajectory))
        errs.append(np.abs(r.Z - hardmax_dynamics(Z, A, 0.5, 20).Z).max())
    assert errs[-1] < 1e-12
    assert errs[-1] <= errs[0]


@given(st.integers(0, 10_000), st.integers(2, 3), st.integers(3, 9), st.floats(0.1, 3.0))
def test_a_norm_grows_and_hull_shrinks(seed, d, n, alpha):
    """The two effects in the proof of Thm 4.1: ||z_i||_A never decreases, and every new token is a
    convex combination of the old ones (ours: each row of the step is a row-stochastic mix)."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    A = _spd(rng, d)
    r = hardmax_dynamics(Z, A, alpha, 25)
    T = r.trajectory
    nA = np.einsum("kid,de,kie->ki", T, A, T)
    # ties within the relative tolerance 1e-12 of (4.1b) allow a decrease of that order only
    assert np.all(np.diff(nA, axis=0) >= -1e-10 * nA[:-1])
    P = attention_weights(T[0], A)
    np.testing.assert_allclose(T[1], (T[0] + alpha * P @ T[0]) / (1 + alpha), atol=1e-13)
    assert np.all(P >= 0) and np.allclose(P.sum(axis=1), 1.0)


@given(st.integers(0, 10_000), st.integers(2, 3), st.integers(2, 9))
def test_leaders_are_fixed_points(seed, d, n):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    A = _spd(rng, d)
    L = leaders(Z, A)
    assert len(L) >= 1  # the token with the largest ||z||_A leads
    Z1 = hardmax_step(Z, A, 0.9)
    np.testing.assert_allclose(Z1[L], Z[L], rtol=1e-15, atol=1e-15)  # (z + a z)/(1 + a) rounds
    # independent check of the definition C_i = {i}
    S = Z @ A @ Z.T
    for i in range(n):
        others = np.delete(S[i], i)
        assert (i in L) == bool(S[i, i] > others.max())


def test_leader_set_stabilises_and_status(rng):
    Z = rng.normal(size=(12, 2))
    r = hardmax_dynamics(Z, np.eye(2), 1.0, 400)
    k0 = int(r.leaders_stable_from)
    assert k0 < 400
    final = r.trajectory[-1][r.leader_mask[-1]]
    # leaders are fixed points: from k0 on the leader set is the final one (as points; a token
    # numerically merged with a leader, within sqrt(tie_rtol), may represent it)
    for k in range(k0, 401):
        Lk = r.trajectory[k][r.leader_mask[k]]
        assert Lk.shape == final.shape
        D = np.linalg.norm(Lk[:, None] - final[None], axis=-1)
        assert D.min(axis=0).max() < 1e-5 and D.min(axis=1).max() < 1e-5
    if k0 > 0:
        prev = r.trajectory[k0 - 1][r.leader_mask[k0 - 1]]
        D = np.linalg.norm(prev[:, None] - final[None], axis=-1)
        assert prev.shape != final.shape or D.min(axis=0).max() > 1e-5 or D.min(axis=1).max() > 1e-5
    assert r.status == "stationary"
    assert hardmax_dynamics(Z, np.eye(2), 1.0, 3).status == "max_layers"
    assert hardmax_dynamics(Z, np.eye(2), 1.0, 3, keep_trajectory=False).trajectory is None

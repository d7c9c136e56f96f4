"""The exact arrangement oracle (d <= 2) against dense sampling and the brute-force vertex/face enumeration."""

import itertools

import numpy as np
import pytest

from controlml.shallow._oracle import Arrangement, ascent, eta, exact_oracle


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_sup_dominates_dense_sampling_and_is_attained(d, seed):
    rng = np.random.default_rng(seed)
    N = 12
    Xt = np.column_stack([rng.uniform(-1, 1, (N, d)), np.ones(N)])
    p = rng.normal(size=N)
    pts, vals, sup, upper = exact_oracle(Xt, p, k=10**9, tol=0.0)
    assert sup == upper  # a full scan: the bracket is closed
    S = rng.normal(size=(200_000, d + 1))
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    sampled = np.abs(eta(S, Xt, p)).max()
    assert sup >= sampled - 1e-12
    # attained at a returned point, and the returned values are |eta| there
    assert np.isclose(vals.max(), sup)
    assert np.allclose(vals, np.abs(eta(pts, Xt, p)))
    # a fine sampling comes close: the sweep does not overshoot
    assert sup <= sampled * 1.01 + 1e-12


def _brute_force_sup(Xt, p):
    """max |eta| over every face of the arrangement on S^2, enumerated independently.

    Candidates: the vertices (cross products of pairs), the critical points of every
    edge (g projected on each great circle, for every pattern of the other
    hyperplanes that any vertex of that circle shows) and of every cell (+-g for every
    pattern read at the vertices and their neighbourhoods).  Only points whose value is
    evaluated directly count, so this is a lower bound that is exact when every face
    is met, as for points in general position.
    """
    N = Xt.shape[0]
    U = Xt / np.linalg.norm(Xt, axis=1, keepdims=True)
    cands = []
    for i, j in itertools.combinations(range(N), 2):
        v = np.cross(U[i], U[j])
        v /= np.linalg.norm(v)
        for s in (1, -1):
            vert = s * v
            cands.append(vert)
            base = (vert @ Xt.T > 1e-12) * p
            for mi, mj in itertools.product((0, 1), repeat=2):
                g = base @ Xt + mi * p[i] * Xt[i] + mj * p[j] * Xt[j]
                cands.extend([g, -g])
                for o, m in ((i, mj), (j, mi)):  # on the circle of one of the pair
                    other = j if o == i else i
                    ge = base @ Xt + m * p[other] * Xt[other]
                    ge = ge - (ge @ U[o]) * U[o]
                    cands.extend([ge, -ge])
    C = np.array([c / np.linalg.norm(c) for c in cands if np.linalg.norm(c) > 1e-300])
    return np.abs(eta(C, Xt, p)).max()


@pytest.mark.parametrize("seed", range(6))
def test_sweep_equals_brute_force_enumeration_in_d2(seed):
    rng = np.random.default_rng(seed)
    N = 9
    Xt = np.column_stack([rng.uniform(-1, 1, (N, 2)), np.ones(N)])
    p = rng.normal(size=N)
    _, _, sup, upper = exact_oracle(Xt, p, k=10**9, tol=0.0)
    assert sup == upper
    assert sup == pytest.approx(_brute_force_sup(Xt, p), rel=1e-12)


def test_degenerate_grid_data_with_many_ties():
    """Three or more data on a line: several great circles through one vertex."""
    g = np.arange(-2.0, 3.0)
    X = np.array([(a, b) for a in g for b in g])
    Xt = np.column_stack([X, np.ones(len(X))])
    rng = np.random.default_rng(3)
    for _ in range(5):
        p = rng.normal(size=len(X))
        _, _, sup, upper = exact_oracle(Xt, p, k=10**9, tol=0.0)
        S = rng.normal(size=(200_000, 3))
        S /= np.linalg.norm(S, axis=1, keepdims=True)
        sampled = np.abs(eta(S, Xt, p)).max()
        assert sampled - 1e-12 <= sup <= sampled * 1.01
        assert sup == upper


def test_early_stop_keeps_a_certified_upper_bound():
    rng = np.random.default_rng(4)
    N = 60
    Xt = np.column_stack([rng.uniform(-1, 1, (N, 2)), np.ones(N)])
    p = rng.normal(size=N) / 3
    A = Arrangement(Xt)
    _, _, sup_full, up_full = A(p, k=10**9, tol=0.0)
    pts, vals, sup, upper = A(p, k=10**9, tol=0.0, enough=1, chunk=8)
    assert sup_full == up_full
    assert sup <= sup_full + 1e-12 and upper >= sup_full - 1e-12
    assert np.all(vals > 1.0)


def test_ascent_never_decreases_eta():
    rng = np.random.default_rng(0)
    N, D = 30, 6
    Xt = np.column_stack([rng.normal(size=(N, D - 1)), np.ones(N)])
    p = rng.normal(size=N)
    S = rng.normal(size=(100, D))
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    T, v = ascent(S, Xt, p)
    assert np.all(np.abs(v) >= np.abs(eta(S, Xt, p)) - 1e-12)
    assert np.allclose(v, eta(T, Xt, p))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ascent_stops_only_at_a_critical_point_or_a_kink(seed):
    """Where a point stops, no step towards its cell's maximiser tau = s g_F/||g_F|| improves |eta|:
    either it is tau, or the arc to tau leaves the cell within the shortest trial step, i.e. a
    hyperplane lies within h_min ||tau - theta|| of it.  The old full-jump-only rule stopped at
    points far inside their cells (fails this)."""
    rng = np.random.default_rng(seed)
    N, D = 40, 7
    Xt = np.column_stack([rng.uniform(-1, 1, (N, D - 1)), np.ones(N)])
    p = rng.normal(size=N)
    S = rng.normal(size=(200, D))
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    n_halvings = 12
    T, v = ascent(S, Xt, p, n_steps=10_000, n_halvings=n_halvings)
    T, v = T[v != 0], v[v != 0]  # eta = 0: a cell where no unit is active, never moved
    assert v.size > 150
    Z = T @ Xt.T
    G = ((Z > 0) * p) @ Xt * np.sign(v)[:, None]
    tau = G / np.linalg.norm(G, axis=1, keepdims=True)
    step = np.linalg.norm(tau - T, axis=1)
    dist = np.min(np.abs(Z) / np.linalg.norm(Xt, axis=1), axis=1)  # to the nearest hyperplane
    h_min = 0.5 ** (n_halvings - 1)
    assert np.all((step <= 1e-12) | (dist <= h_min * step * (1 + 1e-9)))
    # and |eta| = s theta.g_F there: the point is a maximiser of its own linear piece or a kink
    assert np.allclose(np.abs(v), np.sum(T * G, axis=1), rtol=1e-12, atol=1e-12)


def test_ascent_beats_dense_random_sampling():
    """From 200 starts the ascent's sup |eta| exceeds the best of 200,000 random points (d = 10)."""
    rng = np.random.default_rng(7)
    N, D = 100, 11
    Xt = np.column_stack([rng.uniform(-1, 1, (N, D - 1)), np.ones(N)])
    p = rng.normal(size=N)
    R = rng.normal(size=(200_000, D))
    R /= np.linalg.norm(R, axis=1, keepdims=True)
    sampled = np.max(np.abs(eta(R, Xt, p)))
    T, v = ascent(R[:200], Xt, p)
    assert np.max(np.abs(v)) > sampled

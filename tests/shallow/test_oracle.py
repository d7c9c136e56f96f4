"""The exact arrangement oracle (d <= 2) against dense sampling of the sphere."""

import numpy as np
import pytest

from controlml.shallow._oracle import ascent, eta, exact_oracle


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_sup_dominates_dense_sampling_and_is_attained(d, seed):
    rng = np.random.default_rng(seed)
    N = 12
    Xt = np.column_stack([rng.uniform(-1, 1, (N, d)), np.ones(N)])
    p = rng.normal(size=N)
    pts, vals, sup, exact = exact_oracle(Xt, p, k=10**9, tol=0.0)
    assert exact
    S = rng.normal(size=(200_000, d + 1))
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    sampled = np.abs(eta(S, Xt, p)).max()
    assert sup >= sampled - 1e-12
    # attained at a returned point (violators above 1 are returned when sup > 1)
    if sup > 1:
        assert np.isclose(np.abs(vals).max(), sup) or np.abs(vals).max() > 1
    # a fine sampling comes close: the enumeration does not overshoot
    assert sup <= sampled * 1.01 + 1e-12


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

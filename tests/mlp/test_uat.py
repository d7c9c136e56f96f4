"""Width-(d+1) approximation: equals the piecewise-constant interpolant off the slabs; rate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from controlml.errors import ConvergenceError, DatasetError, ParameterError
from controlml.mlp import approximate_narrow, uat_depth


def _smooth(X):
    return np.sin(2 * np.pi * X[:, 0]) * np.cos(np.pi * X[:, -1]) + 0.5


@pytest.mark.parametrize("d, n", [(1, 8), (1, 33), (2, 5), (3, 3)])
def test_network_is_the_piecewise_constant_interpolant_off_the_slabs(d, n):
    res = approximate_narrow(_smooth, domain=[(-1.0, 2.0)] * d, depth=uat_depth(n, d))
    assert res.n_cells == n and res.max_width == d + 1 and res.depth <= uat_depth(n, d)
    assert all(w <= d + 1 for w in res.network.widths[1:-1])
    # independent check at random points away from the cell boundaries: the value at the centre
    rng = np.random.default_rng(0)
    k = rng.integers(0, n, (500, d))
    U = (k + rng.uniform(0.05, 0.95, (500, d))) / n
    X = -1.0 + 3.0 * U
    centres = -1.0 + 3.0 * (k + 0.5) / n
    assert np.allclose(res.network(X)[:, 0], _smooth(centres), atol=1e-6)
    assert res.deviation < 1e-6
    assert abs(res.error - res.error_piecewise) <= res.deviation + 1e-12


def test_error_rate_matches_depth_to_the_minus_one_over_d():
    """For a Lipschitz target the L^2 error falls like h = O(L^{-1/d}) (slope fitted)."""
    for d, ns in [(1, (4, 8, 16, 32, 64)), (2, (2, 4, 8, 16))]:
        L, E = [], []
        for n in ns:
            r = approximate_narrow(_smooth, domain=[(0.0, 1.0)] * d, depth=uat_depth(n, d),
                                   n_quad=4000)
            L.append(r.depth)
            E.append(r.error)
        slope = np.polyfit(np.log(L), np.log(E), 1)[0]
        assert -1.2 / d < slope < -0.8 / d, (d, slope)


def test_tol_mode_and_to_torch():
    res = approximate_narrow(lambda X: np.abs(X[:, 0] - 0.2), domain=(0.0, 1.0), tol=0.01, p=1)
    assert res.status == "tol reached" and res.error <= 0.01
    X = np.linspace(0, 1, 301)[:, None]
    with torch.no_grad():
        t = res.network.to_torch()(torch.as_tensor(X)).numpy()
    assert np.allclose(t, res.network(X), atol=1e-9)
    with pytest.raises(ConvergenceError, match="max_depth"):
        approximate_narrow(_smooth, domain=[(0.0, 1.0)] * 2, tol=1e-4, max_depth=200)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(domain=[(0.0, 1.0)]), ParameterError, "exactly one of depth"),
    (dict(domain=[(0.0, 1.0)], depth=10, tol=0.1), ParameterError, "exactly one of depth"),
    (dict(domain=[(1.0, 0.0)], depth=10), ParameterError, "lo < hi"),
    (dict(domain=[(0.0, np.inf)], depth=10), ParameterError, "lo < hi"),
    (dict(domain=[[0.0, 1.0, 2.0]], depth=10), ParameterError, "shape"),
    (dict(domain=[(0.0, 1.0)], depth=10, p=0.5), ParameterError, "p must"),
    (dict(domain=[(0.0, 1.0)], tol=-1.0), ParameterError, "tol"),
    (dict(domain=[(0.0, 1.0)], depth=2), ParameterError, "depth"),
])
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        approximate_narrow(_smooth, **kwargs)


def test_bad_targets():
    with pytest.raises(ParameterError, match="callable"):
        approximate_narrow(3.0, domain=(0, 1), depth=10)
    with pytest.raises(DatasetError, match="non-finite"):
        approximate_narrow(lambda X: np.where(X[:, 0] > 0.5, np.nan, 1.0), domain=(0, 1), depth=10)
    with pytest.raises(DatasetError, match="N = "):
        approximate_narrow(lambda X: X, domain=[(0, 1), (0, 1)], depth=20)

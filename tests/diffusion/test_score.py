"""HeatKernelScore against closed forms, finite differences and autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from controlml.diffusion import HeatKernelScore
from controlml.errors import DatasetError, ParameterError


def _fd_grad(f, x, h=1e-6):
    return np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.shape[1])], 1)


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("t", [1e-2, 0.3, 2.0])
def test_score_matches_finite_differences_of_log_u(rng, d, t):
    X = rng.standard_normal((40, d))
    hk = HeatKernelScore(X)
    x = rng.standard_normal((25, d)) * 1.5
    fd = _fd_grad(lambda z: hk.log_u(z, t), x)
    s = hk.score(x, t)
    assert np.allclose(s, fd, rtol=1e-6, atol=1e-6 * (1 + np.abs(s).max()))


def test_single_point_closed_forms(rng):
    c = np.array([[0.3, -1.2]])
    hk = HeatKernelScore(c)
    x = rng.standard_normal((10, 2))
    t = 0.07
    logG = -np.log(4 * np.pi * t) - ((x - c) ** 2).sum(1) / (4 * t)
    assert np.allclose(hk.log_u(x, t), logG, rtol=1e-12, atol=1e-10)
    assert np.allclose(hk.score(x, t), (c - x) / (2 * t), rtol=1e-12, atol=1e-10)
    assert np.allclose(hk.divergence(x, t), -2 / (2 * t), rtol=1e-12)


def test_score_and_divergence_match_autograd(rng):
    X = rng.standard_normal((30, 3))
    hk = HeatKernelScore(X, block_size=64)  # several blocks over data and queries
    x = torch.as_tensor(rng.standard_normal((12, 3)), dtype=torch.float64).requires_grad_(True)
    t = 0.05
    lu = hk.log_u(x, t)
    (g,) = torch.autograd.grad(lu.sum(), x, create_graph=True)
    lap = sum(torch.autograd.grad(g[:, j].sum(), x, retain_graph=True)[0][:, j] for j in range(3))
    xs = x.detach().numpy()
    assert np.allclose(hk.score(xs, t), g.detach().numpy(), rtol=1e-9, atol=1e-9)
    assert np.allclose(hk.divergence(xs, t), lap.detach().numpy(), rtol=1e-8, atol=1e-8)


def test_divergence_matches_finite_differences_of_score(rng):
    X = rng.standard_normal((20, 2))
    hk = HeatKernelScore(X)
    x = rng.standard_normal((8, 2))
    t, h = 0.2, 1e-6
    fd = sum((hk.score(x + h * e, t)[:, j] - hk.score(x - h * e, t)[:, j]) / (2 * h)
             for j, e in enumerate(np.eye(2)))
    assert np.allclose(hk.divergence(x, t), fd, rtol=1e-6, atol=1e-5)


def test_stable_at_tiny_t_and_far_queries():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    hk = HeatKernelScore(X)
    x = np.array([[1e3, -2e3], [0.5, 0.5 + 1e-3], [1e3, 900.0]])
    t = 1e-6
    lu, s, dv = hk.evaluate(x, t)
    assert np.all(np.isfinite(lu)) and np.all(np.isfinite(s)) and np.all(np.isfinite(dv))
    # far away the score points to the nearest data point
    nearest = X[np.argmin(((x[:, None] - X[None]) ** 2).sum(-1), 1)]
    assert np.allclose(s[[0, 2]], (nearest[[0, 2]] - x[[0, 2]]) / (2 * t), rtol=1e-9)
    d2 = ((x[0] - nearest[0]) ** 2).sum()
    assert lu[0] == pytest.approx(-math.log(3) - math.log(4 * math.pi * t) - d2 / (4 * t), rel=1e-12)
    # float32 tensors follow the same path without overflow
    s32 = hk.score(torch.as_tensor(x, dtype=torch.float32), t)
    assert s32.dtype == torch.float32 and bool(torch.isfinite(s32).all())


def test_blocks_and_streaming_paths_agree(rng):
    X = rng.standard_normal((9000, 2))  # > 8192: the streaming (online log-sum-exp) path
    x = rng.standard_normal((7, 2))
    a = HeatKernelScore(X)
    b = HeatKernelScore(X, block_size=5000)
    for t in (1e-3, 0.5):
        assert np.allclose(a.score(x, t), b.score(x, t), rtol=1e-10, atol=1e-8)
        assert np.allclose(a.divergence(x, t), b.divergence(x, t), rtol=1e-9, atol=1e-6)
        assert np.allclose(a.log_u(x, t), b.log_u(x, t), rtol=1e-12)
    small = HeatKernelScore(X[:100], block_size=3)
    full = HeatKernelScore(X[:100])
    assert np.allclose(small.score(x, 0.01), full.score(x, 0.01), rtol=1e-10, atol=1e-8)
    # many queries, blocks of 10 rows x 100 data points on the sampler's hot path
    q = rng.standard_normal((1234, 2))
    blocked = HeatKernelScore(X[:100], block_size=1000).score(q, 0.01)
    assert np.allclose(blocked, full.score(q, 0.01), rtol=1e-10, atol=1e-8)


def test_float32_close_to_float64(rng):
    X = rng.standard_normal((200, 2))
    x = rng.standard_normal((100, 2))
    s64 = HeatKernelScore(X).score(x, 0.01)
    s32 = HeatKernelScore(X, dtype=torch.float32).score(x, 0.01)
    assert s32.dtype == np.float64
    assert np.max(np.abs(s32 - s64)) <= 1e-4 * np.max(np.abs(s64))


def test_sample_marginal_moments(rng):
    X = rng.standard_normal((5, 2)) * 2
    hk = HeatKernelScore(X)
    mean, cov = hk.gaussian_moments(0.3)
    for how in ("exact", "gaussian"):
        Z = hk.sample_marginal(40_000, 0.3, how=how, random_state=1)
        assert np.allclose(Z.mean(0), mean, atol=0.05)
        assert np.allclose(np.cov(Z.T), cov, atol=0.1)
    assert np.allclose(cov, np.cov(X.T, bias=True) + 0.6 * np.eye(2))


@given(st.integers(1, 4), st.floats(1e-5, 10.0), st.integers(0, 10_000))
def test_li_yau_property(d, t, seed):
    r = np.random.default_rng(seed)
    X = r.standard_normal((int(r.integers(1, 30)), d)) * r.uniform(0.1, 3)
    hk = HeatKernelScore(X)
    x = np.vstack([X + math.sqrt(2 * t) * r.standard_normal(X.shape), r.standard_normal((10, d)) * 3])
    assert np.all(hk.divergence(x, t) * (2 * t / d) >= -1 - 1e-9)


def test_bad_input():
    with pytest.raises(DatasetError, match="at least 1 row"):
        HeatKernelScore(np.zeros((0, 2)))
    with pytest.raises(DatasetError, match="non-finite"):
        HeatKernelScore(np.array([[0.0, np.nan]]))
    hk = HeatKernelScore(np.zeros((3, 2)) + np.arange(3)[:, None])
    with pytest.raises(DatasetError, match="2 columns"):
        hk.score(np.zeros((4, 3)), 0.1)
    with pytest.raises(DatasetError, match=r"shape \(n, 2\)"):
        hk.score(torch.zeros(4, 3), 0.1)
    with pytest.raises(ParameterError, match="t must be > 0"):
        hk.log_u(np.zeros((1, 2)), 0.0)
    with pytest.raises(ParameterError, match="dtype"):
        HeatKernelScore(np.zeros((2, 2)), dtype=torch.int32)
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="CUDA is not available"):
            HeatKernelScore(np.zeros((2, 2)), device="cuda")

"""Neural surrogate score: denoising score matching, divergence penalty, sampling with it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from controlml.diffusion import (
    HeatKernelScore,
    NeuralScore,
    li_yau_check,
    sample,
    train_score_model,
)
from controlml.errors import DatasetError, ParameterError


def test_dsm_learns_the_gaussian_score():
    # one data point: the exact score is -x / (2t)
    ns = train_score_model(np.zeros((1, 2)), t_min=0.05, t_max=1.0, hidden=32, depth=2,
                           steps=600, batch_size=256, lr=3e-3, random_state=0)
    assert isinstance(ns, NeuralScore) and ns.status == "ok"
    x = np.random.default_rng(1).standard_normal((50, 2)) * 0.5
    for t in (0.1, 0.5):
        exact = HeatKernelScore(np.zeros((1, 2))).score(x * np.sqrt(2 * t), t)
        ours = ns.score(x * np.sqrt(2 * t), t)
        assert np.linalg.norm(ours - exact) / np.linalg.norm(exact) < 0.15


def test_divergence_is_exact_and_sampling_works(rng):
    X = rng.standard_normal((20, 2))
    ns = train_score_model(X, steps=20, hidden=16, depth=2, penalty=1.0, M=5.0, random_state=1,
                           dtype=torch.float64)
    x = rng.standard_normal((6, 2))
    h, t = 1e-6, 0.1
    fd = sum((ns.score(x + h * e, t)[:, j] - ns.score(x - h * e, t)[:, j]) / (2 * h)
             for j, e in enumerate(np.eye(2)))
    assert np.allclose(ns.divergence(x, t), fd, rtol=1e-5, atol=1e-5)
    res = sample(ns, 30, t_min=0.01, steps=20, random_state=2)
    assert res.status == "ok" and res.X.shape == (30, 2)
    ly = li_yau_check(ns, (0.01, 0.1), n_points=50, random_state=3)
    assert np.isnan(ly.autograd_error) and ly.min_margin.shape == (2,)


def test_penalty_pushes_divergence_above_minus_M(rng):
    X = rng.standard_normal((50, 2)) * 0.3
    kw = dict(t_min=1e-3, hidden=32, depth=2, steps=300, batch_size=128, random_state=4)
    plain = train_score_model(X, **kw)
    pen = train_score_model(X, penalty=10.0, M=20.0, **kw)
    probe = X + 0.03 * rng.standard_normal(X.shape)
    worst = [float(m.divergence(probe, 1e-3).min()) for m in (plain, pen)]
    assert worst[0] < -20.0  # the plain fit follows the exact score's -d/(2t) = -1000
    assert worst[1] > worst[0] and (-20.0 - worst[1]) < 0.5 * (-20.0 - worst[0])


def test_hutchinson_in_high_dimension(rng):
    X = rng.standard_normal((30, 12))
    ns = train_score_model(X, steps=15, hidden=16, depth=1, penalty=1.0, random_state=5)
    assert ns.divergence_method == "hutchinson" and ns.status == "ok"
    assert np.all(np.isfinite(ns.penalties))


def test_bad_input():
    with pytest.raises(DatasetError, match="at least 1 row"):
        train_score_model(np.zeros((0, 2)))
    with pytest.raises(ParameterError, match="t_min must be < t_max"):
        train_score_model(np.zeros((2, 2)), t_min=1.0, t_max=0.5)
    with pytest.raises(ParameterError, match="penalty must be >= 0"):
        train_score_model(np.zeros((2, 2)), penalty=-1.0)
    with pytest.raises(ParameterError, match="divergence must be one of"):
        train_score_model(np.zeros((2, 2)), divergence="trace")

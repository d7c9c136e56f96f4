"""Guidance by repulsion: forces against brute force, RBM unbiased, gradients, MPC steers."""

import numpy as np
import pytest
import torch

from controlml.errors import DatasetError, ParameterError
from controlml.mpc import GuidanceModel


@pytest.fixture(autouse=True)
def _torch_one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_full_forces_match_brute_force():
    g = GuidanceModel(3, 60)
    X = g.initial_evaders(0)
    d = X[None, :, :] - X[:, None, :]
    w = 1 - g.delta**2 / ((d**2).sum(-1) + g.eps**2)
    assert np.allclose(g.evader_forces(X), g.alpha / g.N * (w[..., None] * d).sum(1), atol=1e-13)


def test_rbm_force_is_exact_mean_over_all_pairings():
    # N = 4, p = 2: the mean over uniformly random splits is the full force (3 pairings)
    g = GuidanceModel(1, 4, batch_size=2)
    X = g.initial_evaders(1)
    rng = np.random.default_rng(0)
    seen = {}
    for _ in range(400):
        F = g.evader_forces(X, rng=rng)
        seen[F.tobytes()] = F
    assert len(seen) == 3
    assert np.allclose(sum(seen.values()) / 3, g.evader_forces(X), atol=1e-13)


def test_gradient_descent_gradient_matches_finite_differences():
    g = GuidanceModel(2, 20, T=1.0)
    X0, Y0 = g.initial_evaders(2), g.initial_drivers()
    U = np.random.default_rng(3).standard_normal((g.K, 2, 2))
    Ut = torch.as_tensor(U).requires_grad_(True)
    XT, _, _, _ = g._rollout(torch.as_tensor(X0), torch.as_tensor(Y0), Ut, None)
    (grad,) = torch.autograd.grad(g._cost(XT, Ut), Ut)
    V = np.random.default_rng(4).standard_normal(U.shape)
    e = 1e-6
    fd = (g.simulate(X0, Y0, U + e * V)[2] - g.simulate(X0, Y0, U - e * V)[2]) / (2 * e)
    assert fd == pytest.approx(float((grad.numpy() * V).sum()), rel=1e-6)


def test_rbm_mpc_steers_the_herd():
    g = GuidanceModel(2, 50)
    X0, Y0 = g.initial_evaders(5), g.initial_drivers()
    r = g.run_mpc(X0, Y0, prediction_steps=10, control_steps=5, iterations=6, random_state=0)
    assert r.distance[0] > 4 and r.distance[-1] < 0.5
    assert r.evaders.shape == (g.K + 1, 50, 2) and r.u.shape == (g.K, 2, 2)


def test_guidance_bad_input():
    with pytest.raises(ParameterError, match="batch_size must divide num_evaders = 10"):
        GuidanceModel(1, 10, batch_size=3)
    with pytest.raises(ParameterError, match="num_evaders must be >= 2"):
        GuidanceModel(1, 1)
    with pytest.raises(DatasetError, match="target must be a finite point"):
        GuidanceModel(1, 4, target=(1.0, np.nan))
    g = GuidanceModel(1, 4)
    with pytest.raises(DatasetError, match=r"X0 must have shape \(N, 2\) = \(4, 2\)"):
        g.simulate(np.zeros((3, 2)), np.zeros((1, 2)), np.zeros((2, 1, 2)))
    with pytest.raises(ParameterError, match="control_steps"):
        g.run_mpc(np.zeros((4, 2)), np.zeros((1, 2)), prediction_steps=2, control_steps=3)
    with pytest.raises(ParameterError, match="plant must be one of"):
        g.run_mpc(np.zeros((4, 2)), np.zeros((1, 2)), prediction_steps=2, control_steps=1,
                  plant="exact")

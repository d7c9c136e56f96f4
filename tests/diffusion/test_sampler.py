"""Backward samplers: closed-form laws, convergence orders, an independent ODE solve, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from controlml.diffusion import HeatKernelScore, sample, time_grid
from controlml.errors import DatasetError, ParameterError


def test_time_grid():
    ts = time_grid(1.0, 1e-3, 30)
    assert ts[0] == 1.0 and ts[-1] == 1e-3 and np.all(np.diff(ts) < 0)
    assert np.allclose(ts[1:] / ts[:-1], (1e-3) ** (1 / 30))  # geometric
    assert np.allclose(np.diff(time_grid(2.0, 1.0, 4, grid="uniform")), -0.25)
    assert np.allclose(np.diff(np.sqrt(time_grid(4.0, 1.0, 4, grid="quadratic"))), -0.25)


@pytest.mark.parametrize("method,order", [("euler", 1.0), ("heun", 2.0), ("rk4", 4.0)])
def test_ode_order_against_closed_form(method, order):
    # one data point c: dx/dt = -(c - x)/(2t), so x(t) = c + (x0 - c) sqrt(t / T)
    c = np.array([[0.5, -0.25]])
    hk = HeatKernelScore(c)
    x0 = np.array([[2.0, 1.0], [-1.0, 3.0]])
    T, tau = 1.0, 0.05
    exact = c + (x0 - c) * math.sqrt(tau / T)
    steps = np.array([8, 16, 32, 64])
    err = [np.abs(sample(hk, 2, t_max=T, t_min=tau, nu=0.0, steps=int(k), method=method,
                         x0=x0).X - exact).max() for k in steps]
    slope = -np.polyfit(np.log(steps), np.log(err), 1)[0]
    assert abs(slope - order) < 0.3, (err, slope)


def test_rk4_matches_torchdiffeq_on_a_nonlinear_score():
    from torchdiffeq import odeint

    X = np.array([[-1.0], [0.3], [1.5]])
    hk = HeatKernelScore(X)
    x0 = np.linspace(-3, 3, 7)[:, None]
    T, tau = 1.0, 0.02
    ours = sample(hk, 7, t_max=T, t_min=tau, nu=0.0, steps=400, method="rk4", x0=x0).X

    def f(tbar, y):  # dy/dtbar = s(y, T - tbar)
        return hk.score(y, float(T - tbar))

    ref = odeint(f, torch.as_tensor(x0), torch.tensor([0.0, T - tau]), method="dopri5",
                 rtol=1e-10, atol=1e-12)[-1].numpy()
    assert np.allclose(ours, ref, atol=1e-6)


def test_reverse_sde_single_gaussian_law():
    c = np.array([[1.0, -2.0]])
    hk = HeatKernelScore(c)
    tau = 0.01
    res = sample(hk, 20_000, t_max=1.0, t_min=tau, nu=1.0, steps=200, random_state=3)
    assert res.status == "ok"
    assert np.allclose(res.X.mean(0), c[0], atol=0.01)
    assert np.allclose(res.X.var(0), 2 * tau, rtol=0.06)  # law N(c, 2 tau I)


@pytest.mark.parametrize("nu,method", [(0.0, "heun"), (0.5, "heun"), (1.0, "euler"),
                                       (lambda t: 2.0 * t, "heun")])
def test_two_point_law_at_tmin(nu, method):
    X = np.array([[-1.0], [0.5]])
    hk = HeatKernelScore(X)
    tau = 0.02
    res = sample(hk, 4000, t_max=2.0, t_min=tau, nu=nu, steps=300, method=method,
                 random_state=7)
    exact = hk.sample_marginal(4000, tau, random_state=8)
    noise = wasserstein_distance(hk.sample_marginal(4000, tau, random_state=9)[:, 0], exact[:, 0])
    w = wasserstein_distance(res.X[:, 0], exact[:, 0])
    assert w <= 3 * noise + 0.01, (w, noise)


def test_gaussian_init_paths_and_reproducibility(rng):
    X = rng.standard_normal((20, 2))
    hk = HeatKernelScore(X, dtype=torch.float32)
    a = sample(hk, 50, t_max=1.0, t_min=1e-3, steps=40, init="gaussian", keep_paths=3,
               random_state=5)
    b = sample(hk, 50, t_max=1.0, t_min=1e-3, steps=40, init="gaussian", keep_paths=3,
               random_state=5)
    assert np.array_equal(a.X, b.X)
    assert a.paths.shape == (41, 3, 2) and np.allclose(a.paths[-1], a.X[:3], atol=1e-6)
    assert a.init == "gaussian" and a.nfe == 40
    near = np.sqrt(((a.X[:, None] - X[None]) ** 2).sum(-1)).min(1)
    assert near.mean() < 0.15


def test_bad_input():
    hk = HeatKernelScore(np.array([[0.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ParameterError, match="t_min must be < t_max"):
        sample(hk, 10, t_max=0.1, t_min=0.1)
    with pytest.raises(ParameterError, match="t_min must be > 0"):
        sample(hk, 10, t_max=1.0, t_min=0.0)
    with pytest.raises(ParameterError, match="nu must be >= 0"):
        sample(hk, 10, nu=-0.5)
    with pytest.raises(ParameterError, match=r"nu\(t\) must be finite and >= 0"):
        sample(hk, 10, nu=lambda t: t - 0.5)
    with pytest.raises(ParameterError, match="rk4"):
        sample(hk, 10, nu=1.0, method="rk4")
    with pytest.raises(ParameterError, match="method must be one of"):
        sample(hk, 10, method="leapfrog")
    with pytest.raises(DatasetError, match="2 columns"):
        sample(hk, 3, x0=np.zeros((3, 1)))
    with pytest.raises(ParameterError, match="x0 must have n = 4 rows"):
        sample(hk, 4, x0=np.zeros((3, 2)))
    with pytest.raises(ParameterError, match="keep_paths"):
        sample(hk, 2, keep_paths=3)
    with pytest.raises(ParameterError, match="score must be"):
        sample(object(), 2)
    with pytest.raises(TypeError):
        sample(hk, 2, unknown_option=1)
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="CUDA"):
            sample(hk, 2, device="cuda")

"""Thm 2.2: the bound terms, U(eps), the value function and eps*."""

import numpy as np
import ot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controlml.shallow import (
    ShallowNetwork,
    fit_sparse,
    generalization_bound,
    optimal_epsilon,
    validation_epsilon,
    value_function,
)


def _w1(U, V):
    return ot.emd2(np.full(len(U), 1 / len(U)), np.full(len(V), 1 / len(V)),
                   ot.dist(U, V, metric="euclidean"))


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000), N=st.integers(1, 8), Np=st.integers(1, 8), d=st.integers(1, 3),
       P=st.integers(1, 5))
def test_bound_2_11_holds_for_any_network(seed, N, Np, d, P):
    rng = np.random.default_rng(seed)
    X, Xp = rng.normal(size=(N, d)), rng.normal(size=(Np, d)) * rng.uniform(0.1, 2)
    y, yp = rng.normal(size=N), rng.normal(size=Np)
    net = ShallowNetwork(rng.normal(size=P) * 2, rng.normal(size=(P, d)), rng.normal(size=P))
    gb = generalization_bound(net, X, y, Xp, yp)
    assert gb.measured <= gb.bound + 1e-9
    assert gb.holds
    # terms against an independent computation
    assert np.isclose(gb.training_bias, np.mean(np.abs(net(X) - y)))
    assert np.isclose(gb.irreducible, _w1(np.c_[X, y], np.c_[Xp, yp]))
    assert np.isclose(gb.shift, _w1(X, Xp))
    assert np.isclose(gb.sensitivity,
                      gb.shift * np.sum(np.abs(net.w) * np.linalg.norm(net.A, axis=1)))
    assert np.isclose(gb.bound, gb.irreducible + gb.training_bias + gb.sensitivity)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_r_below_U_for_the_relaxed_solution(eps):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (12, 2))
    y = np.sin(3 * X[:, 0])
    Xp = rng.uniform(-1, 1, (20, 2)) + 0.2
    fit = fit_sparse(X, y, eps=eps, random_state=0)
    gb = generalization_bound(fit.network, X, y, Xp, np.sin(3 * Xp[:, 0]), eps=eps)
    assert gb.training_bias <= eps + 1e-8
    assert gb.r <= gb.U + 1e-9
    assert np.isclose(gb.U, eps + gb.shift * fit.value)
    assert gb.holds


def test_value_function_convex_nonincreasing_with_dual_slopes():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (12, 1))
    y = np.cos(3 * X[:, 0])
    grid = np.linspace(0, 1, 6)
    vf = value_function(X, y, grid, random_state=0)
    s = np.diff(vf.value) / np.diff(grid)
    assert np.all(s <= 1e-9)
    assert np.all(np.diff(s) >= -1e-5)
    assert vf.value[-1] == 0.0
    for i, f in enumerate(vf.fits):  # -||p_eps||_1 is a subgradient: supporting line below v
        line = f.feasible_dual @ y - grid * vf.dual_l1[i]
        assert np.all(vf.value >= line - 1e-5)
        assert abs(line[i] - vf.value[i]) <= 1e-5 * max(1, vf.value[i])


def test_optimal_epsilon_two_regimes():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (12, 2))
    y = np.sin(2 * X[:, 0]) + 0.05 * rng.standard_normal(12)
    small = optimal_epsilon(X, y, delta=1e-6, random_state=0)
    assert small.eps_star == 0.0 and small.regime == "exact" and small.delta <= small.threshold
    large = optimal_epsilon(X, y, delta=0.5, random_state=0)
    assert large.eps_star > 0 and large.regime == "relaxed" and large.delta > large.threshold
    # eps* minimises U on a grid (U convex)
    grid = np.linspace(0, np.abs(y).max(), 9)
    U = grid + 0.5 * value_function(X, y, grid, random_state=0).value
    assert large.U_star <= U.min() + 1e-3
    # the threshold is 1 / ||p_0+||_1
    p = fit_sparse(X, y, eps=1e-6 * np.abs(y).max(), random_state=0).feasible_dual
    assert np.isclose(large.threshold, 1 / np.abs(p).sum(), rtol=1e-3)


def test_validation_epsilon_picks_grid_minimum():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (10, 1))
    y = X[:, 0] ** 2 + 0.1 * rng.standard_normal(10)
    Xv = rng.uniform(-1, 1, (30, 1))
    yv = Xv[:, 0] ** 2 + 0.1 * rng.standard_normal(30)
    vc = validation_epsilon(X, y, Xv, yv, [0.0, 0.05, 0.1, 0.2], random_state=0)
    assert vc.eps_best == vc.eps[np.argmin(vc.discrepancy)]
    f = vc.fits[1].network
    assert np.isclose(vc.discrepancy[1], _w1(np.c_[Xv, yv], np.c_[Xv, f(Xv)]))

"""MPC and RBM-MPC: the plant is the true system; MPC tends to the optimum as T_p grows."""

import numpy as np
import pytest
import scipy.sparse as sp

from controlml.mpc import RBM, LQProblem, fit_turnpike, heat_ring, lqr, mpc, solve_ocp, turnpike


def _cn(p, x0, u):
    """Independent Crank--Nicolson of the TRUE A with dense solves."""
    A = p.A.toarray() if sp.issparse(p.A) else np.asarray(p.A)
    B = p.B.toarray() if sp.issparse(p.B) else np.asarray(p.B)
    I = np.eye(p.n)
    x = [x0]
    for k in range(u.shape[0]):
        x.append(np.linalg.solve(I - p.dt / 2 * A, (I + p.dt / 2 * A) @ x[-1] + p.dt * B @ u[k]))
    return np.array(x)


def test_one_window_mpc_is_the_open_loop_optimum():
    p = heat_ring(n=20, T=30.0)
    r = mpc(p, prediction_horizon=30, control_horizon=30, progress=False)
    s = solve_ocp(p)
    assert r.solves == 1
    assert np.allclose(r.u, s.u, atol=1e-12) and r.cost == pytest.approx(s.cost, rel=1e-12)


def test_mpc_riccati_equals_adjoint_and_plant_is_true_system():
    p = heat_ring(n=30, T=40.0)
    a = mpc(p, prediction_horizon=8, control_horizon=3, progress=False)
    b = mpc(p, prediction_horizon=8, control_horizon=3, solver="adjoint", progress=False)
    assert a.solves == 14 and np.all(b.cg_iterations > 0)
    assert np.max(np.abs(a.u - b.u)) < 1e-7 * np.max(np.abs(a.u))
    assert np.allclose(a.x, _cn(p, p.x0, a.u), atol=1e-10)
    c = mpc(p, prediction_horizon=8, control_horizon=3, rbm=RBM("drop-one", 1.0),
            random_state=0, progress=False)
    # the RBM model only predicts; the state is the TRUE plant's response to the controls
    assert np.allclose(c.x, _cn(p, p.x0, c.u), atol=1e-10)
    assert not np.allclose(c.u, a.u)
    # RBM-MPC stays close to MPC (100/99-type perturbation of the model)
    assert abs(c.cost - a.cost) < 0.05 * a.cost


def test_mpc_cost_tends_to_the_infinite_horizon_optimum():
    rng = np.random.default_rng(3)
    n = 8
    A = rng.standard_normal((n, n))
    A = 1.02 * A / np.max(np.abs(np.linalg.eigvals(A)))  # mildly unstable open loop
    B = rng.standard_normal((n, 2))
    p = LQProblem(A, B, np.eye(n), np.eye(2), x0=rng.standard_normal(n), T=300, dt=1,
                  time="discrete")
    J = lqr(p).cost
    gaps = [mpc(p, prediction_horizon=Tp, control_horizon=1, progress=False).cost - J
            for Tp in (2, 4, 8, 16)]
    assert all(g >= -1e-9 * J for g in gaps)  # no feedback beats the optimum
    assert gaps[-1] < 1e-6 * J
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3]


def test_rbm_mpc_reproducible():
    p = heat_ring(n=12, T=20.0)
    kw = dict(prediction_horizon=6, control_horizon=2, rbm=RBM("one-part", 2.0), progress=False)
    assert np.array_equal(mpc(p, random_state=4, **kw).u, mpc(p, random_state=4, **kw).u)
    assert not np.array_equal(mpc(p, random_state=4, **kw).u, mpc(p, random_state=5, **kw).u)


def test_fit_turnpike_recovers_a_known_profile():
    t = np.linspace(0, 10, 201)
    g = 3.0 * (np.exp(-0.7 * t) + np.exp(-0.7 * (10 - t)))
    mu, C, r2 = fit_turnpike(t, g, 10.0)
    assert mu == pytest.approx(0.7, rel=1e-6) and C == pytest.approx(3.0, rel=1e-6)
    assert r2 == pytest.approx(1.0, abs=1e-10)


def test_turnpike_rate_is_the_closed_loop_spectral_rate():
    n = 20
    A = sp.diags([np.ones(n - 1), -2 * np.ones(n), np.ones(n - 1)], [-1, 0, 1]) * (n + 1) ** 2 * 0.05
    B = np.zeros((n, 2))
    B[3, 0] = B[15, 1] = 1.0
    p = LQProblem(A, B, np.eye(n), 0.1 * np.eye(2), x0=np.zeros(n), T=16.0, dt=0.02,
                  x_target=np.sin(np.linspace(0, 3, n)))
    tp = turnpike(p)
    assert tp.mu == pytest.approx(tp.mu_spectral, rel=0.1)
    # the middle of the trajectory is exponentially close to the steady optimum
    mid = tp.state_gap[len(tp.t) // 2]
    assert mid < 1e-2 * tp.state_gap[0]
    assert mid <= 1.5 * tp.C * 2 * np.exp(-tp.mu * p.T / 2)

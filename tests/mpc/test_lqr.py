"""LQR and finite-horizon optimal control against closed forms and independent solvers."""

import math

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp

from controlml.mpc import LQProblem, cost_gradient, heat1d, lqr, solve_ocp, steady_state


@pytest.mark.parametrize("a,b,q,r", [(1.0, 1.0, 1.0, 1.0), (-0.5, 2.0, 3.0, 0.7), (2.0, 0.3, 0.5, 4.0)])
def test_scalar_care_closed_form(a, b, q, r):
    p = LQProblem([[a]], [[b]], [[q]], [[r]], x0=[1.7], T=1.0, dt=0.1)
    res = lqr(p)
    P = (a + math.sqrt(a * a + b * b * q / r)) * r / (b * b)
    assert res.P[0, 0] == pytest.approx(P, rel=1e-12)
    assert res.K[0, 0] == pytest.approx(b * P / r, rel=1e-12)
    assert res.cost == pytest.approx(P * 1.7**2, rel=1e-12)
    assert res.decay_rate == pytest.approx(math.sqrt(a * a + b * b * q / r), rel=1e-10)


@pytest.mark.parametrize("a,b,q,r", [(1.2, 1.0, 1.0, 1.0), (0.5, 2.0, 3.0, 0.7)])
def test_scalar_dare_closed_form(a, b, q, r):
    p = LQProblem([[a]], [[b]], [[q]], [[r]], x0=[1.0], T=5, dt=1, time="discrete")
    # P = q + a^2 P - a^2 b^2 P^2/(r + b^2 P)  <=>  b^2 P^2 + (r - a^2 r - q b^2) P - q r = 0
    c1 = r - a * a * r - q * b * b
    P = (-c1 + math.sqrt(c1 * c1 + 4 * b * b * q * r)) / (2 * b * b)
    assert lqr(p).P[0, 0] == pytest.approx(P, rel=1e-12)


def test_long_finite_horizon_discrete_matches_dare(rng):
    n, m = 12, 3
    A = rng.standard_normal((n, n))
    A = 0.97 * A / np.max(np.abs(np.linalg.eigvals(A)))  # stable open loop: single shooting ok
    B = rng.standard_normal((n, m))
    p = LQProblem(A, B, np.eye(n), 0.5 * np.eye(m), x0=rng.standard_normal(n), T=400, dt=1,
                  time="discrete")
    L = lqr(p)
    for method in ("riccati", "adjoint"):
        s = solve_ocp(p, method)
        assert s.cost == pytest.approx(L.cost, rel=1e-8)
        # far from T the optimal control is the stationary feedback
        assert np.allclose(s.u[:50], -(L.K @ s.x[:50].T).T, atol=1e-7)


def test_continuous_finite_horizon_converges_to_care_at_second_order(rng):
    n = 6
    A = rng.standard_normal((n, n)) - 2 * np.eye(n)
    B = rng.standard_normal((n, 2))
    x0 = rng.standard_normal(n)
    care = lqr(LQProblem(A, B, np.eye(n), np.eye(2), x0=x0, T=1, dt=0.5)).cost
    errs = []
    for dt in (0.02, 0.01, 0.005):
        p = LQProblem(A, B, np.eye(n), np.eye(2), x0=x0, T=30, dt=dt)
        J = solve_ocp(p).cost
        assert J == pytest.approx(lqr(p, discretized=True).cost, rel=1e-9)
        errs.append(abs(J - care))
    order = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(order > 1.8), order  # Crank-Nicolson + trapezoid: O(dt^2)


def test_riccati_and_adjoint_agree_with_targets_and_terminal(rng):
    n, m = 15, 2
    A = sp.random(n, n, density=0.3, random_state=3, format="csr") - 1.5 * sp.identity(n)
    B = rng.standard_normal((n, m))
    M = rng.standard_normal((n, n))
    p = LQProblem(A, B, M @ M.T / n, np.diag([1.0, 0.3]), x0=rng.standard_normal(n), T=2,
                  dt=0.02, QT=np.eye(n), x_target=rng.standard_normal(n), u_target=[0.5, -1])
    r1 = solve_ocp(p, "riccati")
    r2 = solve_ocp(p, "adjoint", rtol=1e-12)
    assert r2.status == "ok" and r2.iterations > 0
    assert np.max(np.abs(r1.u - r2.u)) < 1e-7 * np.max(np.abs(r1.u))
    assert r1.cost == pytest.approx(r2.cost, rel=1e-11)
    # the Riccati solution is a stationary point of J (independent: adjoint gradient)
    _, g = cost_gradient(p, r1.u)
    _, g0 = cost_gradient(p, np.zeros_like(r1.u))
    assert np.linalg.norm(g) < 1e-8 * np.linalg.norm(g0)


def test_heat1d_riccati_vs_adjoint():
    p = heat1d()
    r1, r2 = solve_ocp(p, "riccati"), solve_ocp(p, "adjoint")
    assert np.max(np.abs(r1.u - r2.u)) < 1e-6
    assert sp.issparse(p.A) and all(sp.issparse(a) for a in p.parts)


def test_adjoint_gradient_matches_finite_differences(rng):
    p = heat1d(K=32)
    p = p.replace(QT=np.eye(p.n), x_target=0.3 * np.ones(p.n))
    u = rng.standard_normal((p.K, p.m))
    J, g = cost_gradient(p, u)
    for _ in range(3):
        v = rng.standard_normal(u.shape)
        eps = 1e-4
        fd = (cost_gradient(p, u + eps * v)[0] - cost_gradient(p, u - eps * v)[0]) / (2 * eps)
        assert fd == pytest.approx(float(np.sum(g * v)), rel=1e-7)
    # J(u) is quadratic: the cost returned equals the problem's cost of the simulated state
    assert J == pytest.approx(p.cost(np.vstack([p.x0, np.zeros((p.K, p.n))]) * 0 + _sim(p, u), u))


def _sim(p, u):
    """Independent Crank--Nicolson with dense solves."""
    A = p.A.toarray() if sp.issparse(p.A) else p.A
    B = p.B.toarray() if sp.issparse(p.B) else p.B
    I = np.eye(p.n)
    x = [p.x0]
    for k in range(p.K):
        x.append(np.linalg.solve(I - p.dt / 2 * A, (I + p.dt / 2 * A) @ x[-1] + p.dt * B @ u[k]))
    return np.array(x)


def test_steady_state_solves_the_static_problem(rng):
    n = 8
    A = rng.standard_normal((n, n)) - 3 * np.eye(n)
    B = rng.standard_normal((n, 3))
    xd = rng.standard_normal(n)
    p = LQProblem(A, B, np.eye(n), np.eye(3), x0=np.zeros(n), T=1, dt=0.1, x_target=xd)
    xb, ub = steady_state(p)
    assert np.allclose(A @ xb + B @ ub, 0, atol=1e-10)
    # independent: eliminate x = -A^{-1} B u and minimise the quadratic in u
    S = -np.linalg.solve(A, B)
    u_ref = np.linalg.solve(S.T @ S + np.eye(3), S.T @ xd)
    assert np.allclose(ub, u_ref, atol=1e-10)


def test_lqr_agrees_with_scipy_directly(rng):
    n = 10
    A = rng.standard_normal((n, n))
    B = rng.standard_normal((n, 2))
    p = LQProblem(sp.csr_matrix(A), B, np.eye(n), np.eye(2), x0=np.ones(n), T=1, dt=0.1)
    assert np.allclose(lqr(p).P, sla.solve_continuous_are(A, B, np.eye(n), np.eye(2)))
    assert np.all(lqr(p).closed_loop_eigenvalues.real < 0)

"""Transport variant: references against closed forms, the learned solution, training, bad input."""

import numpy as np
import pytest
import torch

from controlml.errors import DatasetError, ParameterError
from controlml.sanode import (
    DOSWELL_CONSTANT,
    SANODE,
    fit_transport,
    initial_density,
    relative_l1,
    transport_data,
    transport_field,
    transport_reference,
    transport_solution,
)

_G = np.linspace(-3.0, 3.0, 31)
_GX, _GY = np.meshgrid(_G, _G)
_Y = np.column_stack([_GX.ravel(), _GY.ravel()])


def test_doswell_constant_is_3_sqrt3_over_2_and_peak_speed_is_one():
    assert DOSWELL_CONSTANT == pytest.approx(1.5 * np.sqrt(3), abs=1e-5)  # 2.59807 truncates 2.5980762
    f, div = transport_field("doswell")
    r = np.linspace(0.01, 3, 30001)
    speed = np.linalg.norm(f(0.0, np.column_stack([r, 0 * r])), axis=1)
    assert speed.max() == pytest.approx(1.0, abs=1e-5)
    assert np.all(div(0.0, _Y) == 0)


def test_sin_reference_matches_the_closed_form():
    """x' = sin x / (1 + t^2): tan(x/2) = tan(x0/2) exp(arctan t); rho = z0(x0) |dx0/dx|."""
    z0 = initial_density("sin", test=True)
    for tau in (0.7, 5.0):
        ref = transport_reference("sin", z0, (_G, _G), tau)[0]
        E = np.exp(-np.arctan(tau))
        x0 = 2 * np.arctan(np.tan(_Y / 2) * E)
        J = E / np.cos(_Y / 2) ** 2 / (1 + np.tan(_Y / 2) ** 2 * E**2)
        np.testing.assert_allclose(ref, z0(x0) * J.prod(1), rtol=1e-8, atol=1e-10)


def test_doswell_reference_is_a_rotation_by_omega_r_t():
    z0 = initial_density("doswell", test=True)   # tanh(y / 0.1): a sharp front
    tau = 2.0
    ref = transport_reference("doswell", z0, _Y, tau)[0]
    r = np.hypot(_Y[:, 0], _Y[:, 1])
    a = -DOSWELL_CONSTANT * np.tanh(r) / np.cosh(r) ** 2 / np.maximum(r, 1e-12) * tau
    back = np.column_stack([np.cos(a) * _Y[:, 0] - np.sin(a) * _Y[:, 1],
                            np.sin(a) * _Y[:, 0] + np.cos(a) * _Y[:, 1]])
    np.testing.assert_allclose(ref, z0(back), atol=1e-7)


def test_data_z_follows_the_divergence():
    D = transport_data("sin", spacing=1.0, num_times=11)
    assert D.trajectories.shape == (81, 11, 3) and D.t[-1] == 5.0
    X = D.trajectories
    # z(t) = z0 * J^-1 with the closed-form Jacobian along each coordinate
    E = np.exp(np.arctan(D.t))[None, :, None]          # (1, M, 1)
    x0 = X[:, :1, :2]                                  # (N, 1, 2)
    J = (E / np.cos(x0 / 2) ** 2 / (1 + np.tan(x0 / 2) ** 2 * E**2)).prod(-1)   # (N, M)
    inner = np.all(np.abs(X[:, 0, :2]) < np.pi - 1e-9, axis=1)
    assert inner.sum() == 49
    np.testing.assert_allclose(X[inner, :, 2], 0.5 / J[inner], rtol=1e-8)
    np.testing.assert_allclose(X[inner, :, :2], 2 * np.arctan(np.tan(x0[inner] / 2) * E), atol=1e-9)


def test_transport_solution_of_a_known_field_matches_the_reference():
    """A SANODE whose field we set by hand: f = W tanh(A x + b) with A = I, W = c I."""
    m = SANODE(2, 2, activation="tanh", dtype=torch.float64)
    with torch.no_grad():
        m.A.copy_(torch.eye(2, dtype=torch.float64))
        m.W.copy_(0.3 * torch.eye(2, dtype=torch.float64))
        m.beta.zero_(), m.b.zero_()
    z0 = initial_density("sin", test=True)
    times = [0.0, 1.0, 2.5]
    got = transport_solution(m, z0, (_G, _G), times, step_size=0.01)
    # independent reference: SciPy on the same field, log-Jacobian by the closed divergence
    from scipy.integrate import solve_ivp

    N = _Y.shape[0]

    def rhs(s, u):
        X = u[:2 * N].reshape(2, N).T
        return np.concatenate([(0.3 * np.tanh(X)).T.ravel(), (0.3 / np.cosh(X) ** 2).sum(1)])

    for k, tau in enumerate(times):
        if tau == 0:
            np.testing.assert_allclose(got[0], z0(_Y))
            continue
        sol = solve_ivp(rhs, (tau, 0.0), np.concatenate([_Y.T.ravel(), np.zeros(N)]),
                        method="DOP853", rtol=1e-11, atol=1e-12)
        end = sol.y[:, -1]
        ref = z0(end[:2 * N].reshape(2, N).T) * np.exp(end[2 * N:])
        assert np.abs(got[k] - ref).max() < 1e-7
    # mass is conserved (density transported inside the box, far from its edge)
    assert relative_l1(got[2], got[0]) > 0.05


@pytest.mark.slow
def test_fit_transport_reduces_the_error():
    D = transport_data("sin", spacing=1.0, num_times=21, T=2.0)
    fit = fit_transport(D, P=40, epochs=150, lr=3e-2, z_weight=1.0, random_state=0,
                        progress=False, dtype=torch.float64)
    assert fit.status == "ok"
    assert fit.loss_history[-1] < fit.loss_history[0] / 10
    assert fit.x_error < fit.initial_x_error / 2
    assert fit.z_error < fit.initial_z_error / 2


def test_transport_bad_inputs():
    with pytest.raises(ParameterError, match="field must be one of"):
        transport_data("vortex")
    with pytest.raises(DatasetError, match="t is required"):
        fit_transport(np.zeros((3, 4, 3)))
    with pytest.raises(DatasetError, match="d = 2"):
        fit_transport(np.zeros((3, 4, 3)), np.arange(4.0), model=SANODE(3, 2), epochs=1)
    with pytest.raises(DatasetError, match="t must be a time >= 0"):
        transport_solution(SANODE(2, 2), initial_density("sin"), _Y, -1.0)
    with pytest.raises(DatasetError, match="grid must have 2 columns"):
        transport_solution(SANODE(2, 2), initial_density("sin"), np.zeros((4, 3)), 1.0)
    with pytest.raises(ParameterError, match="z_weight must be > 0"):
        fit_transport(np.zeros((3, 4, 3)), np.arange(4.0), z_weight=0.0)

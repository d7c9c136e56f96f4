"""Physical and synthetic models: discretisation order, closed forms, gradients vs finite differences."""

import math

import numpy as np
import pytest
import torch

from controlml.errors import ParameterError
from controlml.hyco import (
    HEAT_TRUTH,
    HELMHOLTZ_TRUTH,
    Heat2D,
    Helmholtz2D,
    PhysicalModel,
    Synthetic,
    sensor_paths,
)


def _order(ns, errs):
    return -np.polyfit(np.log(ns), np.log(errs), 1)[0]


def test_helmholtz_fem_error_at_truth_is_second_order():
    # closed form: the manufactured right-hand side makes u = sin x sin y the exact solution
    ns, errs = (9, 18, 36), []
    for n in ns:
        m = Helmholtz2D(HELMHOLTZ_TRUTH, n=n)
        with torch.no_grad():
            U = m.solve().numpy()
        x = -np.pi + m.h * np.arange(n + 1)
        errs.append(np.abs(U - np.outer(np.sin(x), np.sin(x))).max())
    assert abs(_order(ns, errs) - 2.0) < 0.15
    assert 0.02 < errs[1] < 0.05          # the authors' 18 x 18 mesh: 0.037


def test_helmholtz_is_a_physical_model_and_interpolates_its_nodes():
    m = Helmholtz2D([2.0, 0.5, 0.5, 2.0, 0.5, 0.5])
    assert isinstance(m, PhysicalModel)
    with torch.no_grad():
        U = m.solve()
        X = torch.tensor(m.nodes[[0, 25, 100, 200]])
        assert torch.allclose(m(X), U.reshape(-1)[[0, 25, 100, 200]], atol=1e-13)


def test_helmholtz_forcing_matches_autograd_residual_of_the_exact_solution():
    m = Helmholtz2D(HELMHOLTZ_TRUTH)
    X = torch.rand(50, 2, dtype=torch.float64) * 6 - 3

    def u(Y):
        return torch.sin(Y[:, 0]) * torch.sin(Y[:, 1])

    r = m.pde_residual(u, X, torch.tensor(HELMHOLTZ_TRUTH, dtype=torch.float64))
    assert r.abs().max() < 1e-12
    r2 = m.pde_residual(u, X, torch.tensor([3.0, -1, -1, 1, 2, 1], dtype=torch.float64))
    assert r2.abs().max() > 1e-2


def _fd_check(model, X, w, eps=1e-6):
    phi = model.phi
    loss = (model(X) * w).sum()
    (g,) = torch.autograd.grad(loss, phi)
    fd = torch.zeros_like(g)
    with torch.no_grad():
        for k in range(phi.numel()):
            e = torch.zeros_like(phi)
            e[k] = eps
            fd[k] = ((model.interpolate(model.solve(phi + e), X) * w).sum()
                     - (model.interpolate(model.solve(phi - e), X) * w).sum()) / (2 * eps)
    return g, fd


def test_helmholtz_gradient_matches_finite_differences():
    m = Helmholtz2D([2.0, 0.3, -0.4, 1.5, 0.7, 0.2])
    X = torch.rand(40, 2, dtype=torch.float64) * 6 - 3
    w = torch.randn(40, dtype=torch.float64)
    g, fd = _fd_check(m, X, w)
    assert torch.allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_heat_scheme_matches_its_closed_form_on_an_eigenmode():
    # constant kappa = 0.1 (A = 0) and u0 an eigenfunction of the 5-point Laplacian:
    # implicit Euler multiplies it by (1 + dt * 0.1 * lam_h)^(-1) per step, exactly
    def u0(x, y):
        return torch.sin(math.pi * (x + 3) / 6) * torch.sin(math.pi * (y + 3) / 6)

    errs = []
    for n, steps in ((13, 25), (25, 100), (49, 400)):
        m = Heat2D([0.0, 0.0, 1, -2, 1, -2], n=n, steps=steps, u0=u0)
        with torch.no_grad():
            U = m.solve()
        lam = 2 * (4 / m.h**2) * math.sin(math.pi * m.h / 12) ** 2
        g = torch.as_tensor(m.x)
        mode = u0(g[:, None], g[None, :])
        disc = mode * (1 + m.dt * 0.1 * lam) ** (-steps)
        assert torch.allclose(U[-1], disc, atol=1e-12)
        exact = mode * math.exp(-0.1 * 2 * (math.pi / 6) ** 2)
        errs.append(float((U[-1] - exact).abs().max()))
    assert errs[0] > errs[1] > errs[2]
    assert errs[1] / errs[2] > 3.0           # O(h^2 + dt) with dt ~ h^2: factor ~4


def test_heat_gradient_matches_finite_differences():
    m = Heat2D([1.2, 0.8, 0.9, -1.5, 0.6, -1.8], n=12, steps=10)
    X = torch.rand(60, 3, dtype=torch.float64) * torch.tensor([6.0, 6.0, 1.0]) \
        - torch.tensor([3.0, 3.0, 0.0])
    w = torch.randn(60, dtype=torch.float64)
    g, fd = _fd_check(m, X, w)
    assert torch.allclose(g, fd, rtol=1e-5, atol=1e-9)


def test_heat_truth_metric_and_sensor_paths():
    m = Heat2D(HEAT_TRUTH, n=8, steps=2)
    assert m.param_error(torch.tensor(HEAT_TRUTH)) == 0.0
    t = np.linspace(0, 1, 11)
    P = sensor_paths("quarter", t)
    assert P.shape == (11, 100, 2)
    r = np.linalg.norm(P - 1.5, axis=2)
    assert np.allclose(r, r[0] * np.exp(-0.1 * t)[:, None])   # damped rotation about (1.5, 1.5)


def test_synthetic_shapes_and_options():
    net = Synthetic(3, (16, 16), random_state=0)
    assert net(torch.zeros(5, 3)).shape == (5,)
    a = Synthetic(2, (8, 8), random_state=1)(torch.ones(2, 2))
    b = Synthetic(2, (8, 8), random_state=1)(torch.ones(2, 2))
    assert torch.equal(a, b)
    assert Synthetic(2, (8, 4), resnet=False, activation="tanh", init="xavier")(
        torch.ones(1, 2)).shape == (1,)
    with pytest.raises(ParameterError, match="equal widths"):
        Synthetic(2, (8, 4))
    with pytest.raises(ParameterError, match="activation"):
        Synthetic(2, (8,), activation="sigmoid")


def test_helmholtz_sparse_lu_and_its_adjoint_match_a_dense_solve():
    m = Helmholtz2D([2.0, 0.3, -0.4, 1.5, 0.7, 0.2], n=12)
    X = torch.rand(30, 2, dtype=torch.float64) * 6 - 3
    grads = []
    for dense in (False, True):
        m.phi.grad = None
        out = m.interpolate(m.solve(dense=dense), X)
        out.pow(2).sum().backward()
        grads.append((out.detach(), m.phi.grad.clone()))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-12)
    assert torch.allclose(grads[0][1], grads[1][1], rtol=1e-9, atol=1e-12)

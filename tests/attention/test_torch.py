"""The torch attention layer: agreement with the NumPy dynamics, gradients, stability."""

import numpy as np
import pytest
import torch

from controlml.attention import attention_step_torch, hardmax_step, softmax_step
from controlml.errors import DatasetError, ParameterError


def test_matches_numpy_softmax_and_hardmax(rng):
    Z = rng.normal(size=(3, 7, 2))
    A = np.array([[2.0, 1.0], [1.0, 1.0]])
    for tau in (0.0, 1e-3, 0.5, 2.0):
        ours = attention_step_torch(torch.tensor(Z), torch.tensor(A), 0.6, tau).numpy()
        ref = softmax_step(Z, A, 0.6, tau)
        np.testing.assert_allclose(ours, ref, atol=1e-13)
    np.testing.assert_allclose(
        attention_step_torch(torch.tensor(Z), A, 0.6, 0.0).numpy(), hardmax_step(Z, A, 0.6), atol=1e-13)


def test_gradcheck_softmax_in_Z_A_alpha(rng):
    Z = torch.tensor(rng.normal(size=(2, 5, 3)), requires_grad=True)
    M = rng.normal(size=(3, 3))
    A = torch.tensor(M @ M.T + np.eye(3), requires_grad=True)
    alpha = torch.tensor(0.7, requires_grad=True)
    assert torch.autograd.gradcheck(lambda Z, A, a: attention_step_torch(Z, A, a, 0.4), (Z, A, alpha))


def test_hardmax_gradient_is_that_of_the_frozen_pattern(rng):
    Z = torch.tensor(rng.normal(size=(1, 6, 2)), requires_grad=True)
    alpha = torch.tensor(0.5, requires_grad=True)
    out = attention_step_torch(Z, torch.eye(2), alpha, 0.0)
    out.sum().backward()
    # d/dalpha of (z + a m)/(1 + a) = (m - z)/(1 + a)^2 with m the hardmax mean
    m = torch.tensor(hardmax_step(Z.detach().numpy()[0], np.eye(2), 1e300))  # alpha -> inf: z -> m
    expected = ((m - Z.detach()[0]) / 1.5**2).sum()
    assert abs(alpha.grad.item() - expected.item()) < 1e-10
    assert torch.autograd.gradcheck(lambda Z: attention_step_torch(Z, torch.eye(2), 0.5, 0.0), (Z,))


def test_tiny_tau_is_finite_and_hardmax(rng):
    Z = torch.tensor(50.0 * rng.normal(size=(4, 9, 3)))
    out = attention_step_torch(Z, torch.eye(3), 1.0, 1e-6)
    assert torch.isfinite(out).all()
    np.testing.assert_allclose(out.numpy(), attention_step_torch(Z, torch.eye(3), 1.0, 0.0).numpy(), atol=1e-12)


def test_float32_and_device_kept():
    Z = torch.randn(2, 4, 3, dtype=torch.float32)
    out = attention_step_torch(Z, np.eye(3), 0.5, 0.1)
    assert out.dtype == torch.float32 and out.device == Z.device


def test_errors():
    Z = torch.randn(2, 4, 3)
    with pytest.raises(DatasetError, match=r"shape \(batch, n, d\)"):
        attention_step_torch(torch.randn(4, 3), torch.eye(3), 0.5, 0.1)
    with pytest.raises(DatasetError, match="torch tensor"):
        attention_step_torch(np.zeros((1, 2, 3)), torch.eye(3), 0.5, 0.1)
    with pytest.raises(ParameterError, match=r"A must have shape \(d, d\) = \(3, 3\)"):
        attention_step_torch(Z, torch.eye(2), 0.5, 0.1)
    with pytest.raises(ParameterError, match="tau"):
        attention_step_torch(Z, torch.eye(3), 0.5, -1.0)
    with pytest.raises(ParameterError, match="alpha"):
        attention_step_torch(Z, torch.eye(3), -1.0, 0.1)
    with pytest.raises(ParameterError, match="scalar"):
        attention_step_torch(Z, torch.eye(3), torch.ones(2), 0.1)

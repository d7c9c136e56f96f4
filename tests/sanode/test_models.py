"""SA-NODE and vanilla NODE fields: exact divergence against autograd, parameter counts, pieces."""

import numpy as np
import pytest
import torch

from controlml.errors import DatasetError, ParameterError
from controlml.sanode import SANODE, VanillaNODE, authors_baseline


def _autograd_div(model, x, t):
    x = x.clone().requires_grad_(True)
    f = model.field(x, t)
    div = torch.zeros(x.shape[0], dtype=x.dtype)
    for k in range(x.shape[1]):
        (g,) = torch.autograd.grad(f[:, k].sum(), x, retain_graph=True)
        div = div + g[:, k]
    return div


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("per_component", [False, True])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_divergence_matches_autograd(activation, per_component, d):
    m = SANODE(d, 17, activation=activation, per_component=per_component, random_state=d,
               dtype=torch.float64)
    with torch.no_grad():
        m.W.normal_()  # an O(1) output layer so the check is not trivially small
    x = torch.randn(64, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for t in (0.0, 1.3, 4.9):
        exact = m.divergence(x, t)
        ref = _autograd_div(m, x, t)
        assert exact.shape == (64,)
        assert torch.allclose(exact, ref, rtol=1e-12, atol=1e-12)
        assert ref.abs().max() > 1e-2


def test_authors_divergence_formula_is_wrong():
    """The authors sum both columns of each branch's A; only column k enters d f_k / d x_k."""
    m = SANODE(2, 30, activation="sigmoid", per_component=True, random_state=0,
               dtype=torch.float64)
    with torch.no_grad():
        m.W.normal_()
    x = torch.randn(50, 2, dtype=torch.float64)
    t = torch.tensor(0.7, dtype=torch.float64)
    z = torch.einsum("nd,kpd->nkp", x, m.A) + m.beta * t + m.b
    s = torch.sigmoid(z)
    authors = (s * (1 - s) * (m.W * m.A.sum(-1))).sum((-1, -2))
    ref = _autograd_div(m, x, t)
    assert torch.allclose(m.divergence(x, t), ref, atol=1e-12)
    assert (authors - ref).abs().max() > 0.1


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_vanilla_divergence_matches_autograd(activation):
    m = VanillaNODE(3, 11, 4, T=2.0, activation=activation, random_state=0, dtype=torch.float64)
    with torch.no_grad():
        m.W.normal_()
    x = torch.randn(40, 3, dtype=torch.float64)
    for t in (0.1, 0.6, 1.99):
        assert torch.allclose(m.divergence(x, t), _autograd_div(m, x, t), atol=1e-12)


def test_parameter_counts():
    assert SANODE(2, 100).num_parameters == 600           # (2d + 2) P
    assert SANODE(2, 100, per_component=True).num_parameters == 1000   # 10 P (the authors')
    assert SANODE(3, 7, per_component=True).num_parameters == 3 * 6 * 7
    v = VanillaNODE.equal_size(SANODE(2, 100), 10)
    assert (v.P, v.num_parameters) == (12, 600)
    v = VanillaNODE.equal_size(SANODE(2, 100, per_component=True), 10)
    assert (v.P, v.num_parameters) == (20, 1000)
    assert VanillaNODE.equal_size(600, 10, d=2).num_parameters == 600
    assert authors_baseline().num_parameters == 505_000


def test_shapes_and_names():
    m = SANODE(2, 5)
    assert m.W.shape == (2, 5) and m.A.shape == (5, 2) and m.beta.shape == (5,) and m.b.shape == (5,)
    m = SANODE(2, 5, per_component=True)
    assert m.A.shape == (2, 5, 2) and m.beta.shape == (2, 5) and m.b.shape == (2, 5)
    assert m.W.dtype == torch.float32


def test_field_formula_against_numpy():
    m = SANODE(2, 9, activation="tanh", random_state=3, dtype=torch.float64)
    x = np.random.default_rng(0).normal(size=(5, 2))
    W, A, beta, b = (p.detach().numpy() for p in (m.W, m.A, m.beta, m.b))
    ref = np.tanh(x @ A.T + beta * 2.5 + b) @ W.T
    got = m.field(torch.as_tensor(x), 2.5).detach().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-13)


def test_vanilla_pieces_constant_in_time():
    m = VanillaNODE(2, 4, 5, T=5.0, random_state=0, dtype=torch.float64)
    assert [m.piece(s) for s in (0.0, 0.999, 1.0, 2.0, 4.99, 5.0, 7.0)] == [0, 0, 1, 2, 4, 4, 4]
    x = torch.randn(3, 2, dtype=torch.float64)
    assert torch.equal(m.field(x, 1.1), m.field(x, 1.9))
    assert not torch.equal(m.field(x, 0.5), m.field(x, 1.5))


def test_same_seed_same_model():
    a, b = SANODE(2, 8, random_state=5), SANODE(2, 8, random_state=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("kwargs, match", [
    (dict(d=2, P=0), "P must be >= 1"),
    (dict(d=0, P=3), "d must be >= 1"),
    (dict(d=2, P=3, activation="softplus"), "activation must be one of"),
    (dict(d=2, P=3, dtype="float16"), "dtype"),
])
def test_bad_model_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        SANODE(**kwargs)


def test_bad_vanilla_arguments_and_x_shape():
    with pytest.raises(ParameterError, match="num_pieces must be >= 1"):
        VanillaNODE(2, 3, 0)
    with pytest.raises(ParameterError, match="T must be > 0"):
        VanillaNODE(2, 3, 2, T=-1.0)
    with pytest.raises(DatasetError, match=r"x must have shape \(N, 2\)"):
        SANODE(2, 3).divergence(torch.zeros(4, 3), 0.0)

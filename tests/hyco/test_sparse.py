"""The differentiable sparse solves: against dense linear algebra and gradcheck in float64."""

import numpy as np
import pytest
import torch

from controlml.errors import ConvergenceError, ParameterError
from controlml.hyco import SparsePattern, implicit_steps, sparse_solve


def _random_system(n=12, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero((rng.random((n, n)) < 0.3) | np.eye(n, dtype=bool))
    pat = SparsePattern(rows, cols, n)
    vals = rng.standard_normal(pat.nnz) * 0.3 + (pat.rows == pat.cols) * 4.0
    return pat, torch.tensor(vals, dtype=torch.float64)


def test_pattern_sums_duplicates_like_a_dense_assembly():
    pat = SparsePattern([0, 1, 1, 0], [0, 1, 1, 1], 2)
    A = pat.dense(pat.assemble(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)))
    assert torch.equal(A, torch.tensor([[1.0, 4.0], [0.0, 5.0]], dtype=torch.float64))
    assert np.allclose(pat.to_scipy(pat.assemble(torch.ones(4, dtype=torch.float64)).numpy())
                       .toarray(), [[1, 1], [0, 2]])


@pytest.mark.parametrize("k", [None, 3])
def test_sparse_solve_matches_dense_solve(k):
    pat, v = _random_system()
    shape = (pat.n,) if k is None else (pat.n, k)
    b = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = sparse_solve(v, b, pat)
    ref = np.linalg.solve(pat.dense(v).numpy(), b.numpy())
    assert np.allclose(x.numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("k", [None, 2])
def test_sparse_solve_gradcheck(k):
    pat, v = _random_system(n=8, seed=3)
    v = v.clone().requires_grad_(True)
    shape = (pat.n,) if k is None else (pat.n, k)
    b = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda vv, bb: sparse_solve(vv, bb, pat), (v, b))


def test_implicit_steps_matches_repeated_dense_solves_and_gradcheck():
    pat, v = _random_system(n=7, seed=5)
    u0 = torch.randn(pat.n, dtype=torch.float64)
    U = implicit_steps(v, u0, 4, pat)
    A = pat.dense(v).numpy()
    u = u0.numpy()
    for k in range(4):
        u = np.linalg.solve(A, u)
        assert np.allclose(U[k].numpy(), u, atol=1e-12)
    vv = v.clone().requires_grad_(True)
    uu = u0.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: implicit_steps(a, b, 3, pat), (vv, uu))


def test_singular_matrix_and_bad_shapes_raise():
    pat = SparsePattern([0, 1], [0, 1], 2)
    with pytest.raises(ConvergenceError, match="singular"):
        sparse_solve(torch.tensor([1.0, 0.0], dtype=torch.float64),
                     torch.ones(2, dtype=torch.float64), pat)
    with pytest.raises(ParameterError, match="values must have shape"):
        sparse_solve(torch.ones(3, dtype=torch.float64), torch.ones(2, dtype=torch.float64), pat)
    with pytest.raises(ParameterError, match="lie in"):
        SparsePattern([0, 2], [0, 1], 2)

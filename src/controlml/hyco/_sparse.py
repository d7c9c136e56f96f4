"""Differentiable sparse linear solves (SciPy sparse LU forward, transposed solve backward).

For a matrix :math:`A(v)` whose nonzero values ``v`` (nnz,) sit on a fixed sparsity
pattern and a right-hand side ``b``, :func:`sparse_solve` returns :math:`x = A^{-1} b`.
Its adjoint is one more solve with the same LU factors:

.. math::
    \\lambda = A^{-T} \\bar x, \\qquad \\bar b = \\lambda, \\qquad
    \\bar v_k = -\\lambda_{r_k}\\, x_{c_k}\\quad (A_{r_k c_k} = v_k).

:func:`implicit_steps` applies the same idea to ``S`` implicit time steps
:math:`u_{k+1} = A^{-1} u_k` with one factorisation for the whole trajectory; the
adjoint runs backwards in time, :math:`\\mu_k = A^{-T}(\\bar u_k + \\mu_{k+1})`,
:math:`\\bar v = -\\sum_k \\mu_k[r]\\, u_k[c]`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from ..errors import ConvergenceError, ParameterError

__all__ = ["SparsePattern", "sparse_solve", "implicit_steps"]


class SparsePattern:
    """A fixed sparsity pattern of an ``(n, n)`` matrix, assembled from (row, col) entries.

    Parameters
    ----------
    rows, cols : array of int, shape (m,)
        Positions of the ``m`` entries that :meth:`assemble` sums (duplicates allowed:
        finite-element assembly adds element contributions on shared positions).
    n : int
        Matrix size.

    Attributes
    ----------
    rows, cols : ndarray (nnz,)
        The distinct positions, in compressed-sparse-column order.
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, n: int) -> None:
        rows = np.asarray(rows, dtype=np.int64).ravel()
        cols = np.asarray(cols, dtype=np.int64).ravel()
        if rows.shape != cols.shape:
            raise ParameterError(f"rows and cols must have the same length; got {rows.size} and "
                                 f"{cols.size}")
        if rows.size and (rows.min() < 0 or cols.min() < 0 or rows.max() >= n or cols.max() >= n):
            raise ParameterError(f"pattern entries must lie in [0, {n}); got rows in "
                                 f"[{rows.min()}, {rows.max()}], cols in [{cols.min()}, {cols.max()}]")
        key = cols * n + rows
        uniq, inverse = np.unique(key, return_inverse=True)
        self.n = int(n)
        self.rows = uniq % n
        self.cols = uniq // n
        self.indptr = np.searchsorted(self.cols, np.arange(n + 1)).astype(np.int64)
        self._inverse = torch.as_tensor(inverse.ravel(), dtype=torch.long)
        self._rows_t = torch.as_tensor(self.rows, dtype=torch.long)
        self._cols_t = torch.as_tensor(self.cols, dtype=torch.long)

    @property
    def nnz(self) -> int:
        """Number of distinct nonzero positions."""
        return int(self.rows.size)

    def assemble(self, entries: torch.Tensor) -> torch.Tensor:
        """Sum the ``m`` entry values onto the pattern: returns the ``(nnz,)`` values vector."""
        out = torch.zeros(self.nnz, dtype=entries.dtype, device=entries.device)
        return out.index_add(0, self._inverse.to(entries.device), entries)

    def to_scipy(self, values: np.ndarray) -> sp.csc_matrix:
        """The CSC matrix with these ``values`` (nnz,)."""
        return sp.csc_matrix((values, self.rows, self.indptr), shape=(self.n, self.n))

    def dense(self, values: torch.Tensor) -> torch.Tensor:
        """The dense ``(n, n)`` matrix (tests and small problems only)."""
        A = torch.zeros(self.n, self.n, dtype=values.dtype, device=values.device)
        return A.index_put((self._rows_t, self._cols_t), values, accumulate=True)

    def factor(self, values: torch.Tensor):
        """Sparse LU factors (``scipy.sparse.linalg.splu``) of the matrix with ``values``."""
        A = self.to_scipy(values.detach().cpu().numpy().astype(np.float64))
        try:
            return spla.splu(A, permc_spec="MMD_AT_PLUS_A")
        except RuntimeError as exc:  # "Factor is exactly singular"
            raise ConvergenceError(f"the sparse system matrix is singular ({exc}); check the "
                                   "model parameters (a coefficient may have lost positivity)") from exc


def _values_grad(pattern: SparsePattern, lam: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r, c = pattern._rows_t, pattern._cols_t
    if x.dim() == 1:
        return -(lam[r] * x[c])
    # (n, k) right-hand sides or (S, n) time levels: sum the outer-product contributions
    return -(lam[r] * x[c]).sum(dim=1)


class _SparseSolve(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values, b, pattern):
        lu = pattern.factor(values)
        x_np = lu.solve(b.detach().cpu().numpy().astype(np.float64))
        x = torch.as_tensor(x_np, dtype=b.dtype, device=b.device)
        ctx.lu = lu
        ctx.pattern = pattern
        ctx.save_for_backward(x)
        return x

    @staticmethod
    def backward(ctx, gx):
        (x,) = ctx.saved_tensors
        lam_np = ctx.lu.solve(gx.detach().cpu().numpy().astype(np.float64), trans="T")
        lam = torch.as_tensor(lam_np, dtype=x.dtype, device=x.device)
        gv = _values_grad(ctx.pattern, lam, x) if ctx.needs_input_grad[0] else None
        gb = lam if ctx.needs_input_grad[1] else None
        return gv, gb, None


def sparse_solve(values: torch.Tensor, b: torch.Tensor, pattern: SparsePattern) -> torch.Tensor:
    """Solve :math:`A x = b` with ``A`` given by ``values`` (nnz,) on ``pattern``; differentiable.

    Parameters
    ----------
    values : Tensor (nnz,)
        Nonzero values of ``A`` in the order of ``pattern``.
    b : Tensor (n,) or (n, k)
        Right-hand side(s).
    pattern : SparsePattern

    Returns
    -------
    Tensor, same shape as ``b``
        ``x = A^{-1} b``; gradients flow to ``values`` and ``b`` through one transposed
        solve with the same LU factors.
    """
    if values.shape != (pattern.nnz,):
        raise ParameterError(f"values must have shape ({pattern.nnz},); got {tuple(values.shape)}")
    if b.shape[0] != pattern.n:
        raise ParameterError(f"b must have {pattern.n} rows; got shape {tuple(b.shape)}")
    return _SparseSolve.apply(values, b, pattern)


class _ImplicitSteps(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values, u0, steps, pattern):
        lu = pattern.factor(values)
        u = u0.detach().cpu().numpy().astype(np.float64)
        out = np.empty((steps, u.size))
        for k in range(steps):
            u = lu.solve(u)
            out[k] = u
        U = torch.as_tensor(out, dtype=u0.dtype, device=u0.device)
        ctx.lu = lu
        ctx.pattern = pattern
        ctx.save_for_backward(U)
        return U

    @staticmethod
    def backward(ctx, G):
        (U,) = ctx.saved_tensors
        g = G.detach().cpu().numpy().astype(np.float64)
        S = g.shape[0]
        mus = np.empty_like(g)
        mu = np.zeros(g.shape[1])
        for k in range(S - 1, -1, -1):
            mu = ctx.lu.solve(g[k] + mu, trans="T")
            mus[k] = mu
        M = torch.as_tensor(mus, dtype=U.dtype, device=U.device)
        gv = None
        if ctx.needs_input_grad[0]:
            r, c = ctx.pattern._rows_t, ctx.pattern._cols_t
            gv = -(M[:, r] * U[:, c]).sum(dim=0)
        gu0 = M[0] if ctx.needs_input_grad[1] else None
        return gv, gu0, None, None


def implicit_steps(values: torch.Tensor, u0: torch.Tensor, steps: int,
                   pattern: SparsePattern) -> torch.Tensor:
    """``steps`` solves :math:`u_{k+1} = A^{-1} u_k` with one LU factorisation; differentiable.

    Parameters
    ----------
    values : Tensor (nnz,)
        Nonzero values of ``A`` (e.g. :math:`I + \\Delta t\\, L(\\kappa)` for implicit Euler).
    u0 : Tensor (n,)
        Initial state.
    steps : int
        Number of steps ``S``.
    pattern : SparsePattern

    Returns
    -------
    Tensor (S, n)
        ``u_1, ..., u_S``; the backward pass is the discrete adjoint (S transposed solves).
    """
    if values.shape != (pattern.nnz,):
        raise ParameterError(f"values must have shape ({pattern.nnz},); got {tuple(values.shape)}")
    if u0.shape != (pattern.n,):
        raise ParameterError(f"u0 must have shape ({pattern.n},); got {tuple(u0.shape)}")
    return _ImplicitSteps.apply(values, u0, int(steps), pattern)

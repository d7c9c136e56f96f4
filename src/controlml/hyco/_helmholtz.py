"""Static physical model: a Helmholtz-type equation with Gaussian coefficients, P1 FEM.

.. math::
    -\\nabla\\cdot(\\kappa\\nabla u) + \\eta u = f \\ \\text{in } \\Omega = (-\\pi, \\pi)^2,
    \\qquad u = 0 \\text{ on } \\partial\\Omega,

    \\kappa(x) = A e^{-|x - a|^2} + 1, \\qquad \\eta(x) = (B e^{-|x - b|^2} + 1)^2,
    \\qquad \\varphi = (A, a_1, a_2, B, b_1, b_2).

Discretisation as in the authors' StaticHYCO code: a uniform ``n x n`` square grid cut
into right triangles, P1 elements, ``kappa`` and ``eta`` evaluated at the element
centroids, consistent mass matrix, load vector ``(area/3) f`` at the vertices, the
solution read off by bilinear interpolation of the nodal values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .._checks import as_vector, check_int
from ..errors import ParameterError
from ._physical import grid_interpolate
from ._sparse import SparsePattern, sparse_solve

__all__ = ["Helmholtz2D", "HELMHOLTZ_TRUTH"]

#: The authors' true parameters (A, a1, a2, B, b1, b2).
HELMHOLTZ_TRUTH = (4.0, -1.0, -1.0, 1.0, 2.0, 1.0)


def _gauss(phi3: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return phi3[0] * torch.exp(-((x - phi3[1]) ** 2 + (y - phi3[2]) ** 2))


def helmholtz_kappa(phi: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:math:`\\kappa = A e^{-|x-a|^2} + 1`."""
    return _gauss(phi[0:3], x, y) + 1.0


def helmholtz_eta(phi: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:math:`\\eta = (B e^{-|x-b|^2} + 1)^2`."""
    return (_gauss(phi[3:6], x, y) + 1.0) ** 2


def manufactured_forcing(phi_true: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The right-hand side for which :math:`u = \\sin x \\sin y` solves the equation at ``phi_true``.

    :math:`f = -\\nabla\\kappa\\cdot\\nabla u + 2\\kappa \\sin x \\sin y + \\eta \\sin x \\sin y`.
    """
    p = torch.as_tensor(np.asarray(phi_true, dtype=np.float64))

    def f(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        pp = p.to(x.dtype)
        g = _gauss(pp[0:3], x, y)
        kx, ky = -2.0 * (x - pp[1]) * g, -2.0 * (y - pp[2]) * g
        s = torch.sin(x) * torch.sin(y)
        grad_dot = kx * torch.cos(x) * torch.sin(y) + ky * torch.sin(x) * torch.cos(y)
        return -grad_dot + 2.0 * (g + 1.0) * s + helmholtz_eta(pp, x, y) * s

    return f


class Helmholtz2D(torch.nn.Module):
    """P1 finite elements for :math:`-\\nabla\\cdot(\\kappa\\nabla u) + \\eta u = f` on ``(-pi, pi)^2``.

    Parameters
    ----------
    phi0 : array (6,)
        Initial parameters ``(A, a1, a2, B, b1, b2)``.
    n : int, default 18
        Subdivisions per side (the authors' 18 x 18 mesh: 19^2 nodes, 648 triangles).
    true_params : array (6,) or None, default ``HELMHOLTZ_TRUTH``
        The truth, for :meth:`param_error` (relative l2) and, when ``forcing`` is None,
        for the manufactured right-hand side (``u = sin x sin y``).
    forcing : callable ``f(x, y)`` on tensors, optional
        The right-hand side; fixed (it does not depend on ``phi``).

    Attributes
    ----------
    phi : nn.Parameter (6,) float64
    input_dim : int
        2.
    bounds : ndarray (2, 2)
    """

    input_dim = 2

    def __init__(self, phi0: Any, *, n: int = 18, true_params: Any = HELMHOLTZ_TRUTH,
                 forcing: Callable | None = None) -> None:
        super().__init__()
        n = check_int(n, "n", minimum=2)
        phi0 = as_vector(phi0, "phi0", size=6)
        self.true_params = None if true_params is None else as_vector(true_params, "true_params",
                                                                     size=6)
        if forcing is None:
            if self.true_params is None:
                raise ParameterError("forcing is None and true_params is None: give the right-hand "
                                     "side f(x, y), or the true parameters for the manufactured one")
            forcing = manufactured_forcing(self.true_params)
        if not callable(forcing):
            raise ParameterError(f"forcing must be a callable f(x, y); got {type(forcing).__name__}")
        self.phi = torch.nn.Parameter(torch.as_tensor(phi0, dtype=torch.float64).clone())
        self.n = n
        self.lo, self.hi = -np.pi, np.pi
        self.h = (self.hi - self.lo) / n
        self.bounds = np.array([[self.lo, self.hi], [self.lo, self.hi]])
        self.forcing = forcing
        self._build()

    def _build(self) -> None:
        n, h = self.n, self.h
        grid = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)          # node (i, j): x_i, y_j
        x = self.lo + h * np.arange(n + 1)
        nodes = np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2)
        t1 = np.stack([grid[:-1, :-1].ravel(), grid[1:, :-1].ravel(), grid[1:, 1:].ravel()], 1)
        t2 = np.stack([grid[:-1, :-1].ravel(), grid[1:, 1:].ravel(), grid[:-1, 1:].ravel()], 1)
        elems = np.concatenate([t1, t2], 0)
        area = h * h / 2.0
        coords = nodes[elems]                                           # (E, 3, 2)
        b = np.roll(coords[:, :, 1], -1, axis=1) - np.roll(coords[:, :, 1], -2, axis=1)
        c = np.roll(coords[:, :, 0], -2, axis=1) - np.roll(coords[:, :, 0], -1, axis=1)
        Ke = (b[:, :, None] * b[:, None, :] + c[:, :, None] * c[:, None, :]) / (4 * area)
        Me = np.broadcast_to((area / 12.0) * (np.ones((3, 3)) + np.eye(3)), Ke.shape)
        interior = np.zeros((n + 1) ** 2, dtype=bool)
        interior[grid[1:-1, 1:-1].ravel()] = True
        num = -np.ones((n + 1) ** 2, dtype=np.int64)
        num[interior] = np.arange(interior.sum())
        E = elems.shape[0]
        eid = np.repeat(np.arange(E), 9)
        gi = np.repeat(elems, 3, axis=1).ravel()
        gj = np.tile(elems, (1, 3)).ravel()
        keep = interior[gi] & interior[gj]
        self._eid = torch.as_tensor(eid[keep])
        self._K = torch.as_tensor(Ke.reshape(-1)[keep])
        self._M = torch.as_tensor(np.ascontiguousarray(Me).reshape(-1)[keep])
        self.pattern = SparsePattern(num[gi[keep]], num[gj[keep]], int(interior.sum()))
        cen = coords.mean(axis=1)
        self._cx = torch.as_tensor(cen[:, 0])
        self._cy = torch.as_tensor(cen[:, 1])
        # load vector: each element adds (area/3) f(vertex) to its vertices
        nt = torch.as_tensor(nodes)
        fv = self.forcing(nt[:, 0], nt[:, 1]).detach().to(torch.float64).numpy()
        count = np.bincount(elems.ravel(), minlength=(n + 1) ** 2)
        F = (area / 3.0) * count * fv
        self._F = torch.as_tensor(F[interior])
        self._interior = torch.as_tensor(np.flatnonzero(interior))
        self.nodes = nodes

    # -- the solver ----------------------------------------------------------------------------
    def kappa(self, X: torch.Tensor, phi: torch.Tensor | None = None) -> torch.Tensor:
        """:math:`\\kappa` at points ``X`` (N, 2)."""
        phi = self.phi if phi is None else phi
        return helmholtz_kappa(phi, X[:, 0], X[:, 1])

    def eta(self, X: torch.Tensor, phi: torch.Tensor | None = None) -> torch.Tensor:
        """:math:`\\eta` at points ``X`` (N, 2)."""
        phi = self.phi if phi is None else phi
        return helmholtz_eta(phi, X[:, 0], X[:, 1])

    def assemble(self, phi: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Stiffness + mass values ``(nnz,)`` on :attr:`pattern` and the load vector, interior dofs."""
        phi = self.phi if phi is None else phi
        kap = helmholtz_kappa(phi, self._cx, self._cy)
        et = helmholtz_eta(phi, self._cx, self._cy)
        entries = kap[self._eid] * self._K + et[self._eid] * self._M
        return self.pattern.assemble(entries), self._F

    def solve(self, phi: torch.Tensor | None = None, *, dense: bool = False) -> torch.Tensor:
        """Nodal solution ``(n+1, n+1)`` (index ``[i, j]`` at ``(x_i, y_j)``), zero on the boundary.

        ``dense=True`` solves the same system with ``torch.linalg.solve`` (small meshes only:
        a check and a benchmark baseline).
        """
        values, F = self.assemble(phi)
        if dense:
            u_in = torch.linalg.solve(self.pattern.dense(values), F)
        else:
            u_in = sparse_solve(values, F, self.pattern)
        U = torch.zeros((self.n + 1) ** 2, dtype=u_in.dtype)
        U = U.index_put((self._interior,), u_in)
        return U.reshape(self.n + 1, self.n + 1)

    def interpolate(self, U: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """Bilinear interpolation of the nodal field ``U`` at ``X`` (N, 2) -> (N,)."""
        return grid_interpolate(U, [(self.lo, self.h), (self.lo, self.h)], X)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """:math:`u_\\varphi(X)`, shape (N,), differentiable in ``phi``."""
        return self.interpolate(self.solve(), X)

    # -- protocol ------------------------------------------------------------------------------
    def param_error(self, phi: torch.Tensor) -> float:
        """:math:`\\|\\varphi - \\varphi^*\\| / \\|\\varphi^*\\|` (the authors' metric)."""
        if self.true_params is None:
            return float("nan")
        p = np.asarray(phi.detach().cpu().numpy(), dtype=np.float64)
        return float(np.linalg.norm(p - self.true_params) / np.linalg.norm(self.true_params))

    def sample_collocation(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` uniform points in ``(-pi, pi)^2``."""
        return self.lo + (self.hi - self.lo) * torch.rand(n, 2, generator=generator,
                                                          dtype=torch.float64)

    def sample_boundary(self, n: int, generator: torch.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n // 4`` uniform points on each side with the value 0 (the authors' layout)."""
        m = max(1, n // 4)
        s1 = self.lo + (self.hi - self.lo) * torch.rand(m, generator=generator, dtype=torch.float64)
        s2 = self.lo + (self.hi - self.lo) * torch.rand(m, generator=generator, dtype=torch.float64)
        lo = torch.full((m,), self.lo, dtype=torch.float64)
        hi = torch.full((m,), self.hi, dtype=torch.float64)
        X = torch.cat([torch.stack([s1, lo], 1), torch.stack([s1, hi], 1),
                       torch.stack([lo, s2], 1), torch.stack([hi, s2], 1)])
        return X, torch.zeros(X.shape[0], dtype=torch.float64)

    def pde_residual(self, u: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor,
                     phi: torch.Tensor) -> torch.Tensor:
        """:math:`-\\nabla\\cdot(\\kappa\\nabla u) + \\eta u - f` at ``X`` (N, 2) by autograd."""
        X = X.detach().clone().requires_grad_(True)
        uu = u(X)
        g = torch.autograd.grad(uu.sum(), X, create_graph=True)[0]
        kap = helmholtz_kappa(phi.to(X.dtype), X[:, 0], X[:, 1])
        flux = kap[:, None] * g
        div = 0.0
        for k in range(2):
            div = div + torch.autograd.grad(flux[:, k].sum(), X, create_graph=True)[0][:, k]
        f = self.forcing(X[:, 0], X[:, 1])
        return -div + helmholtz_eta(phi.to(X.dtype), X[:, 0], X[:, 1]) * uu - f

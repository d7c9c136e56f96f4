"""Dynamic physical model: the heat equation with a Gaussian-sum diffusivity, implicit steps.

.. math::
    u_t = \\nabla\\cdot(\\kappa\\nabla u) \\ \\text{on } (-3, 3)^2 \\times (0, T], \\quad
    u = 0 \\text{ on the boundary}, \\quad u(\\cdot, 0) = -e^{-|x + (1,1)|^2} + e^{-|x - (1,1)|^2},

    \\kappa(x) = \\mathrm{clamp}\\big(0.1 + \\textstyle\\sum_{i=1}^{2} A_i e^{-|x - c_i|^2},\\ 0,\\ 2.5\\big),
    \\qquad \\varphi = (A_1, A_2, c_{1,x}, c_{2,x}, c_{1,y}, c_{2,y})

(the authors' DynamicHYCO heat problem; their truth (3, 2.5, 1, -2, 1, -2)). Space: the
conservative five-point scheme on an ``n x n`` node grid with face diffusivities
:math:`\\kappa_{i+1/2,j} = (\\kappa_{ij} + \\kappa_{i+1,j})/2`; time: implicit Euler,
:math:`(I + \\Delta t\\, L_\\kappa) u^{k+1} = u^k`, all steps with one sparse LU
(:func:`implicit_steps`). The field at ``(x, y, t)`` is the trilinear interpolant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .._checks import as_vector, check_int, check_option, check_positive
from ..errors import ParameterError
from ._physical import grid_interpolate
from ._sparse import SparsePattern, implicit_steps

__all__ = ["Heat2D", "HEAT_TRUTH", "HEAT_INIT", "sensor_paths"]

#: The authors' truth (A1, A2, x1, x2, y1, y2) and their initial guess.
HEAT_TRUTH = (3.0, 2.5, 1.0, -2.0, 1.0, -2.0)
HEAT_INIT = (1.0, 1.0, 1.4, -1.8, -1.3, -1.1)
_L = 3.0


def heat_kappa(phi: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:math:`\\kappa = \\mathrm{clamp}(0.1 + \\sum_i A_i e^{-|x - c_i|^2}, 0, 2.5)`."""
    k = 0.1 + phi[0] * torch.exp(-((x - phi[2]) ** 2 + (y - phi[4]) ** 2)) \
        + phi[1] * torch.exp(-((x - phi[3]) ** 2 + (y - phi[5]) ** 2))
    return torch.clamp(k, 0.0, 2.5)


def heat_initial(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:math:`u_0 = -e^{-|x + (1,1)|^2} + e^{-|x - (1,1)|^2}`."""
    return -torch.exp(-((x + 1) ** 2 + (y + 1) ** 2)) + torch.exp(-((x - 1) ** 2 + (y - 1) ** 2))


class Heat2D(torch.nn.Module):
    """Implicit-Euler, conservative finite differences for :math:`u_t = \\nabla\\cdot(\\kappa\\nabla u)`.

    Parameters
    ----------
    phi0 : array (6,)
        Initial ``(A1, A2, x1, x2, y1, y2)``.
    n : int, default 18
        Nodes per side, boundary included (the authors' ``nX = 18``).
    steps : int, default 50
        Implicit steps over ``(0, T]``.
    T : float, default 1.0
    true_params : array (6,) or None, default ``HEAT_TRUTH``
        For :meth:`param_error`: the authors' metric
        :math:`\\|A - A^*\\|/\\|A^*\\| + \\|c - c^*\\|/\\|c^*\\|`.
    u0 : callable ``u0(x, y)`` on tensors, optional
        Initial condition (default: the authors' two Gaussians).

    Attributes
    ----------
    phi : nn.Parameter (6,) float64
    input_dim : int
        3, inputs ``(x, y, t)``.
    bounds : ndarray (3, 2)
    """

    input_dim = 3

    def __init__(self, phi0: Any = HEAT_INIT, *, n: int = 18, steps: int = 50, T: float = 1.0,
                 true_params: Any = HEAT_TRUTH, u0: Callable | None = None) -> None:
        super().__init__()
        self.n = check_int(n, "n", minimum=3)
        self.steps = check_int(steps, "steps", minimum=1)
        self.T = check_positive(T, "T")
        phi0 = as_vector(phi0, "phi0", size=6)
        self.true_params = None if true_params is None else as_vector(true_params, "true_params",
                                                                     size=6)
        if u0 is not None and not callable(u0):
            raise ParameterError(f"u0 must be a callable u0(x, y); got {type(u0).__name__}")
        self.initial = heat_initial if u0 is None else u0
        self.phi = torch.nn.Parameter(torch.as_tensor(phi0, dtype=torch.float64).clone())
        self.h = 2 * _L / (self.n - 1)
        self.dt = self.T / self.steps
        self.bounds = np.array([[-_L, _L], [-_L, _L], [0.0, self.T]])
        self._build()

    def _build(self) -> None:
        n = self.n
        x = -_L + self.h * np.arange(n)
        self.x = x
        gx, gy = np.meshgrid(x, x, indexing="ij")
        self._gx, self._gy = torch.as_tensor(gx.ravel()), torch.as_tensor(gy.ravel())
        idx = np.arange(n * n).reshape(n, n)
        interior = np.zeros(n * n, dtype=bool)
        interior[idx[1:-1, 1:-1].ravel()] = True
        num = -np.ones(n * n, dtype=np.int64)
        num[interior] = np.arange(interior.sum())
        faces = np.concatenate([np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], 1),
                                np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1)])
        rows, cols, fid, sign = [], [], [], []
        for a, b in ((0, 1), (1, 0)):
            p, q = faces[:, a], faces[:, b]
            ip = interior[p]
            f = np.flatnonzero(ip)
            rows.append(num[p[f]])
            cols.append(num[p[f]])
            fid.append(f)
            sign.append(np.ones(f.size))
            g = np.flatnonzero(ip & interior[q])
            rows.append(num[p[g]])
            cols.append(num[q[g]])
            fid.append(g)
            sign.append(-np.ones(g.size))
        m = int(interior.sum())
        rows.append(np.arange(m))
        cols.append(np.arange(m))
        self.pattern = SparsePattern(np.concatenate(rows), np.concatenate(cols), m)
        self._fid = torch.as_tensor(np.concatenate(fid))
        self._sign = torch.as_tensor(np.concatenate(sign)) * (self.dt / self.h ** 2)
        self._faces = torch.as_tensor(faces)
        self._eye = torch.ones(m, dtype=torch.float64)
        self._interior = torch.as_tensor(np.flatnonzero(interior))
        u0 = self.initial(self._gx, self._gy).to(torch.float64)
        self._u0 = u0.reshape(n, n)
        self._u0_in = u0[self._interior]

    def kappa(self, X: torch.Tensor, phi: torch.Tensor | None = None) -> torch.Tensor:
        """:math:`\\kappa` at points ``X`` (N, >=2)."""
        phi = self.phi if phi is None else phi
        return heat_kappa(phi, X[:, 0], X[:, 1])

    def solve(self, phi: torch.Tensor | None = None) -> torch.Tensor:
        """The field on the grid at every time level, shape ``(steps + 1, n, n)`` (``[k, i, j]``
        at ``t_k = k dt``, ``(x_i, y_j)``)."""
        phi = self.phi if phi is None else phi
        kap = heat_kappa(phi, self._gx, self._gy)
        kf = 0.5 * (kap[self._faces[:, 0]] + kap[self._faces[:, 1]])
        entries = torch.cat([self._sign * kf[self._fid], self._eye])
        values = self.pattern.assemble(entries)
        U_in = implicit_steps(values, self._u0_in, self.steps, self.pattern)
        U = torch.zeros(self.steps, self.n * self.n, dtype=U_in.dtype)
        U = U.index_copy(1, self._interior, U_in)
        return torch.cat([self._u0[None], U.reshape(self.steps, self.n, self.n)])

    def interpolate(self, U: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """Trilinear interpolation of ``U`` (steps+1, n, n) at ``X`` (N, 3) = (x, y, t)."""
        return grid_interpolate(U, [(0.0, self.dt), (-_L, self.h), (-_L, self.h)],
                                X[:, [2, 0, 1]])

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """:math:`u_\\varphi(x, y, t)` at ``X`` (N, 3), shape (N,), differentiable in ``phi``."""
        return self.interpolate(self.solve(), X)

    def param_error(self, phi: torch.Tensor) -> float:
        """The authors' metric :math:`\\|A - A^*\\|/\\|A^*\\| + \\|c - c^*\\|/\\|c^*\\|`."""
        if self.true_params is None:
            return float("nan")
        p = np.asarray(phi.detach().cpu().numpy(), dtype=np.float64)
        t = self.true_params
        return float(np.linalg.norm(p[:2] - t[:2]) / np.linalg.norm(t[:2])
                     + np.linalg.norm(p[2:] - t[2:]) / np.linalg.norm(t[2:]))

    def sample_collocation(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` uniform points in ``(-3, 3)^2 x (0, T)``."""
        Z = torch.rand(n, 3, generator=generator, dtype=torch.float64)
        return torch.stack([-_L + 2 * _L * Z[:, 0], -_L + 2 * _L * Z[:, 1], self.T * Z[:, 2]], 1)

    def sample_boundary(self, n: int, generator: torch.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n // 2`` points on the lateral boundary (value 0) and ``n - n // 2`` at ``t = 0``
        (value :math:`u_0`)."""
        nb = n // 2
        m = max(1, nb // 4)
        s = -_L + 2 * _L * torch.rand(4, m, generator=generator, dtype=torch.float64)
        t = self.T * torch.rand(4, m, generator=generator, dtype=torch.float64)
        lo, hi = torch.full((m,), -_L, dtype=torch.float64), torch.full((m,), _L, dtype=torch.float64)
        side = torch.cat([torch.stack([s[0], lo, t[0]], 1), torch.stack([s[1], hi, t[1]], 1),
                          torch.stack([lo, s[2], t[2]], 1), torch.stack([hi, s[3], t[3]], 1)])
        ni = n - nb
        P = -_L + 2 * _L * torch.rand(ni, 2, generator=generator, dtype=torch.float64)
        init = torch.cat([P, torch.zeros(ni, 1, dtype=torch.float64)], 1)
        g = torch.cat([torch.zeros(side.shape[0], dtype=torch.float64),
                       self.initial(P[:, 0], P[:, 1])])
        return torch.cat([side, init]), g

    def pde_residual(self, u: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor,
                     phi: torch.Tensor) -> torch.Tensor:
        """:math:`u_t - \\nabla\\cdot(\\kappa\\nabla u)` at ``X`` (N, 3) by autograd."""
        X = X.detach().clone().requires_grad_(True)
        uu = u(X)
        g = torch.autograd.grad(uu.sum(), X, create_graph=True)[0]
        kap = heat_kappa(phi.to(X.dtype), X[:, 0], X[:, 1])
        div = 0.0
        for k in range(2):
            div = div + torch.autograd.grad((kap * g[:, k]).sum(), X, create_graph=True)[0][:, k]
        return g[:, 2] - div


def sensor_paths(coverage: str = "full", times: Any = None, *, side: int = 10) -> np.ndarray:
    """The authors' moving sensors: a ``side x side`` grid carried by a damped rotation.

    Each sensor solves :math:`\\dot x = M(x - c)`, :math:`M = [[-0.1, -1], [1, -0.1]]`, i.e.
    :math:`x(t) = c + e^{-0.1 t} R(t)(x_0 - c)`, from a uniform grid on
    ``[-3, 3]^2`` (``coverage="full"``, ``c = 0``), ``[-1.5, 3]^2`` ("half", ``c = (0.75, 0.75)``)
    or ``[0, 3]^2`` ("quarter", ``c = (1.5, 1.5)``).

    Parameters
    ----------
    coverage : {"full", "half", "quarter"}
    times : array (K,), default 51 points in [0, 1]
    side : int, default 10 (100 sensors)

    Returns
    -------
    ndarray (K, side**2, 2)
        Sensor positions; some leave ``[-3, 3]^2`` (the caller drops those readings).
    """
    check_option(coverage, "coverage", ("full", "half", "quarter"))
    side = check_int(side, "side", minimum=1)
    times = np.linspace(0.0, 1.0, 51) if times is None else np.asarray(times, dtype=np.float64)
    if times.ndim != 1:
        raise ParameterError(f"times must be 1-D; got shape {times.shape}")
    lo, c = {"full": (-3.0, 0.0), "half": (-1.5, 0.75), "quarter": (0.0, 1.5)}[coverage]
    a = np.linspace(lo, 3.0, side)
    P0 = np.stack(np.meshgrid(a, a, indexing="ij"), -1).reshape(-1, 2) - c
    ct, st, dmp = np.cos(times), np.sin(times), np.exp(-0.1 * times)
    x = c + dmp[:, None] * (ct[:, None] * P0[None, :, 0] - st[:, None] * P0[None, :, 1])
    y = c + dmp[:, None] * (st[:, None] * P0[None, :, 0] + ct[:, None] * P0[None, :, 1])
    return np.stack([x, y], -1)

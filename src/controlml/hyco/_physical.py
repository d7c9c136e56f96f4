"""The :class:`PhysicalModel` protocol and shared helpers for grid-based solvers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import torch

__all__ = ["PhysicalModel", "grid_interpolate"]


@runtime_checkable
class PhysicalModel(Protocol):
    """What HYCO, physics-only fitting and the PINN need from a physical model.

    A physical model is a differentiable solver :math:`u_\\varphi` with an explicit
    parameter vector :math:`\\varphi`; it is usually a ``torch.nn.Module`` (then
    ``copy.deepcopy`` gives the fitters independent copies).

    Attributes
    ----------
    phi : torch.nn.Parameter (p,)
        The unknown parameters (float64, ``requires_grad=True``).
    input_dim : int
        ``d``: 2 for a static field ``(x, y)``, 3 for ``(x, y, t)``.
    bounds : ndarray (d, 2)
        The box containing the domain (observations must lie inside it).

    Methods
    -------
    __call__(X) -> Tensor (N,)
        The solver's field at points ``X`` (N, d), differentiable in ``phi``.
    param_error(phi) -> float
        The distance of ``phi`` to the truth (``nan`` when the truth is unknown).
    sample_collocation(n, generator) -> Tensor (n, d)
        Points where the two HYCO players are asked to agree.
    sample_boundary(n, generator) -> (Tensor (n, d), Tensor (n,))
        Boundary (and initial) points with their prescribed values, for the PINN.
    pde_residual(u, X, phi) -> Tensor (N,)
        The strong-form residual of the PDE for a smooth ``u: (N, d) -> (N,)`` at
        ``X`` with parameters ``phi``, by autograd (for the PINN).
    """

    phi: torch.nn.Parameter
    input_dim: int
    bounds: np.ndarray

    def __call__(self, X: torch.Tensor) -> torch.Tensor: ...

    def param_error(self, phi: torch.Tensor) -> float: ...

    def sample_collocation(self, n: int, generator: torch.Generator) -> torch.Tensor: ...

    def sample_boundary(self, n: int, generator: torch.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def pde_residual(self, u: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor,
                     phi: torch.Tensor) -> torch.Tensor: ...


def _axis_weights(x: torch.Tensor, lo: float, h: float, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cell index in [0, n-1) and the fractional position in that cell (clamped to the grid)."""
    s = ((x - lo) / h).clamp(0.0, n - 1.0)
    i = torch.clamp(torch.floor(s), max=n - 2).long()
    return i, s - i


def grid_interpolate(values: torch.Tensor, axes: list[tuple[float, float]], X: torch.Tensor
                     ) -> torch.Tensor:
    """Multilinear interpolation of nodal ``values`` on a uniform tensor grid.

    Parameters
    ----------
    values : Tensor (n_1, ..., n_d)
        Nodal values; axis ``k`` has nodes ``lo_k + h_k * i``.
    axes : list of (lo, h), length d
    X : Tensor (N, d)
        Query points (clamped to the grid).

    Returns
    -------
    Tensor (N,)
        Bilinear (d = 2) or trilinear (d = 3) interpolant; differentiable in ``values``.
    """
    d = values.dim()
    idx, frac = [], []
    for k in range(d):
        i, f = _axis_weights(X[:, k].to(values.dtype), axes[k][0], axes[k][1], values.shape[k])
        idx.append(i)
        frac.append(f)
    out = torch.zeros(X.shape[0], dtype=values.dtype, device=values.device)
    for corner in range(2 ** d):
        w = torch.ones_like(out)
        ind = []
        for k in range(d):
            bit = (corner >> k) & 1
            w = w * (frac[k] if bit else 1.0 - frac[k])
            ind.append(idx[k] + bit)
        out = out + w * values[tuple(ind)]
    return out

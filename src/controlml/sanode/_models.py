r"""The SA-NODE vector field (5.2) and the piecewise-constant vanilla NODE (3.3) it is compared with.

SA-NODE (paper Sec. 5, eq. (5.2))

.. math::  \dot x(t) = W\,\sigma\big(A x(t) + \beta t + b\big),\qquad
           W\in\mathbb R^{d\times P},\ A\in\mathbb R^{P\times d},\ \beta, b\in\mathbb R^P,

with time-independent coefficients: time enters only through :math:`\beta t` inside the
activation.  The authors' code uses one :math:`P`-neuron branch per output component
(``per_component=True``): :math:`\dot x_k=\sum_j W_{kj}\sigma(A^{(k)}_j\cdot x+\beta^{(k)}_j t+
b^{(k)}_j)`, i.e. :math:`d` times as many inner parameters.

Vanilla NODE (paper Sec. 3, eq. (3.3)) with piecewise-constant controls on ``num_pieces``
equal sub-intervals of :math:`[0, T]`: :math:`\dot x = W_k\sigma(A_k x + b_k)` on piece
:math:`k`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._checks import check_int, check_option, check_positive
from .._torch import check_dtype, torch_generator
from ..errors import DatasetError

__all__ = ["SANODE", "VanillaNODE", "authors_baseline", "ACTIVATIONS"]

#: Activation names accepted by the models.
ACTIVATIONS = ("relu", "tanh", "sigmoid")


def _act(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "relu":
        return torch.relu(z)
    if name == "tanh":
        return torch.tanh(z)
    return torch.sigmoid(z)


def _dact(name: str, z: torch.Tensor) -> torch.Tensor:
    """sigma'(z); for ReLU the a.e. derivative 1[z > 0] (what autograd uses too)."""
    if name == "relu":
        return (z > 0).to(z.dtype)
    if name == "tanh":
        return 1.0 - torch.tanh(z) ** 2
    s = torch.sigmoid(z)
    return s * (1.0 - s)


def _as_time(t: Any, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(t, dtype=like.dtype, device=like.device)


class _Field(nn.Module):
    """Common interface: ``forward(t, x)`` (torchdiffeq order), ``field(x, t)``, ``divergence``."""

    d: int
    activation: str

    def field(self, x: torch.Tensor, t: Any) -> torch.Tensor:
        """f(x, t) for x (N, d) and a scalar t; returns (N, d)."""
        return self.forward(_as_time(t, x), x)

    def augmented(self, t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        r"""The transport characteristics :math:`(\dot x,\dot z)=(f(x,t),-\operatorname{div}f(x,t)\,z)`.

        ``state`` is (N, d + 1): positions then the density ``z`` along the characteristic.
        """
        x, z = state[:, : self.d], state[:, self.d:]
        return torch.cat([self.forward(t, x), -self.divergence(x, t)[:, None] * z], 1)

    @property
    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return int(sum(p.numel() for p in self.parameters()))

    def _check_x(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.d:
            raise DatasetError(
                f"x must have shape (N, {self.d}) for this d = {self.d} model; got {tuple(x.shape)}"
            )


class SANODE(_Field):
    r"""Semi-autonomous neural ODE field :math:`f(x,t)=W\sigma(Ax+\beta t+b)` (eq. (5.2)).

    Parameters
    ----------
    d : int
        State dimension.
    P : int
        Number of neurons (>= 1); per output component when ``per_component``.
    activation : {"relu", "tanh", "sigmoid"}
        :math:`\sigma`.
    per_component : bool
        ``False`` (default): the paper's (5.2), parameters ``W`` (d, P), ``A`` (P, d),
        ``beta`` (P,), ``b`` (P,): :math:`(2d+2)P` scalars.  ``True``: the authors' code,
        one branch per output, ``W`` (d, P), ``A`` (d, P, d), ``beta`` (d, P), ``b`` (d, P):
        :math:`d(d+3)P` scalars (10P for d = 2).
    random_state : None, int or numpy Generator
        Seeds the initialisation: rows of ``A`` ~ N(0, I), ``beta`` ~ N(0, 1/4),
        ``b`` ~ U(-2, 2) (hyperplanes spread over the box of the data) and a small output layer
        ``W`` ~ N(0, 1e-4/P), so training starts near the identity flow.
    dtype : torch dtype or name
        ``float32`` (default) or ``float64``.
    """

    def __init__(self, d: int, P: int, *, activation: str = "relu", per_component: bool = False,
                 random_state: Any = None, dtype: Any = torch.float32) -> None:
        super().__init__()
        self.d = check_int(d, "d", minimum=1)
        self.P = check_int(P, "P", minimum=1)
        self.activation = check_option(activation, "activation", ACTIVATIONS)
        self.per_component = bool(per_component)
        dt = check_dtype(dtype)
        _, gen = torch_generator(random_state, torch.device("cpu"))
        lead = (d,) if per_component else ()
        A = torch.randn(*lead, P, d, generator=gen, dtype=torch.float64)
        beta = 0.5 * torch.randn(*lead, P, generator=gen, dtype=torch.float64)
        b = 4.0 * torch.rand(*lead, P, generator=gen, dtype=torch.float64) - 2.0
        W = 0.01 * torch.randn(d, P, generator=gen, dtype=torch.float64) / math.sqrt(P)
        self.W = nn.Parameter(W.to(dt))
        self.A = nn.Parameter(A.to(dt))
        self.beta = nn.Parameter(beta.to(dt))
        self.b = nn.Parameter(b.to(dt))

    def _pre(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Pre-activations: (N, P), or (N, d, P) per component.

        ``t`` is a scalar, or one time per row of ``x`` (shape (N,) or (N, 1)).
        """
        if torch.is_tensor(t) and t.ndim > 0:
            t = t.reshape(-1, 1, 1) if self.per_component else t.reshape(-1, 1)
        if self.per_component:
            return torch.einsum("nd,kpd->nkp", x, self.A) + self.beta * t + self.b
        return x @ self.A.T + self.beta * t + self.b

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """f(x, t): x (N, d), t a scalar tensor or one time per row; returns (N, d)."""
        s = _act(self.activation, self._pre(x, t))
        if self.per_component:
            return (s * self.W).sum(-1)
        return s @ self.W.T

    def divergence(self, x: torch.Tensor, t: Any) -> torch.Tensor:
        r"""Exact :math:`\operatorname{div}_x f(x,t)=\sum_k\sum_j W_{kj}\sigma'(z_j)A_{jk}`, shape (N,).

        Per component: :math:`\sum_k\sum_j W_{kj}\sigma'(z^{(k)}_j)A^{(k)}_{jk}` -- only
        column ``k`` of branch ``k``'s inner weights enters :math:`\partial_k f_k` (the authors'
        code sums all columns, which is not the divergence).
        """
        self._check_x(x)
        t = _as_time(t, x)
        ds = _dact(self.activation, self._pre(x, t))
        if self.per_component:
            diagA = torch.diagonal(self.A, dim1=0, dim2=2).T  # (d, P): A[k, j, k]
            return (ds * (self.W * diagA)).sum((-1, -2))
        return ds @ (self.W.T * self.A).sum(1)

    def barron_norm(self) -> torch.Tensor:
        r"""The authors' penalty :math:`\sum_j\|W_{:,j}\|\,\|A_{j,:}\|` (per component: over branches)."""
        if self.per_component:
            return (self.W.abs() * self.A.norm(dim=-1)).sum()
        return (self.W.norm(dim=0) * self.A.norm(dim=1)).sum()

    def extra_repr(self) -> str:
        return (f"d={self.d}, P={self.P}, activation={self.activation!r}, "
                f"per_component={self.per_component}, num_parameters={self.num_parameters}")


class VanillaNODE(_Field):
    r"""Piecewise-constant-in-time neural ODE (3.3): :math:`\dot x=W_k\sigma(A_kx+b_k)` on piece k.

    Parameters
    ----------
    d : int
        State dimension.
    P : int
        Width of each piece (>= 1).
    num_pieces : int
        Number K of equal sub-intervals of ``[0, T]``; parameters ``W`` (K, d, P),
        ``A`` (K, P, d), ``b`` (K, P): :math:`K(2d+1)P` scalars.
    T : float
        Horizon (times beyond ``T`` use the last piece, before 0 the first).
    activation, random_state, dtype
        As in :class:`SANODE` (same initial distributions, with ``b`` in place of
        :math:`\beta t + b`).
    """

    def __init__(self, d: int, P: int, num_pieces: int, *, T: float = 5.0,
                 activation: str = "relu", random_state: Any = None,
                 dtype: Any = torch.float32) -> None:
        super().__init__()
        self.d = check_int(d, "d", minimum=1)
        self.P = check_int(P, "P", minimum=1)
        self.num_pieces = check_int(num_pieces, "num_pieces", minimum=1)
        self.T = check_positive(T, "T")
        self.activation = check_option(activation, "activation", ACTIVATIONS)
        dt = check_dtype(dtype)
        _, gen = torch_generator(random_state, torch.device("cpu"))
        K = num_pieces
        A = torch.randn(K, P, d, generator=gen, dtype=torch.float64)
        b = 4.0 * torch.rand(K, P, generator=gen, dtype=torch.float64) - 2.0
        W = 0.01 * torch.randn(K, d, P, generator=gen, dtype=torch.float64) / math.sqrt(P)
        self.W = nn.Parameter(W.to(dt))
        self.A = nn.Parameter(A.to(dt))
        self.b = nn.Parameter(b.to(dt))

    @classmethod
    def equal_size(cls, reference: nn.Module | int, num_pieces: int, **kwargs: Any) -> VanillaNODE:
        """A vanilla NODE with as many parameters as ``reference`` (a model or a count), rounded.

        The width is ``round(n / (num_pieces (2d + 1)))``; ``d`` is taken from the reference
        model (pass ``d=`` when ``reference`` is a count).
        """
        if isinstance(reference, nn.Module):
            n, d = sum(p.numel() for p in reference.parameters()), reference.d
            kwargs.pop("d", None)
        else:
            n, d = check_int(reference, "reference", minimum=1), kwargs.pop("d", None)
            if d is None:
                raise DatasetError("equal_size(count, ...) needs d=...: the state dimension")
        K = check_int(num_pieces, "num_pieces", minimum=1)
        P = max(1, round(n / (K * (2 * d + 1))))
        return cls(d, P, K, **kwargs)

    def piece(self, t: Any) -> int:
        """Index of the piece holding ``t`` (the left end of a piece belongs to it)."""
        k = math.floor(float(t) * self.num_pieces / self.T + 1e-6)
        return min(max(k, 0), self.num_pieces - 1)

    def _pre(self, x: torch.Tensor, k: int) -> torch.Tensor:
        return x @ self.A[k].T + self.b[k]

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """f(x, t): x (N, d), t a scalar tensor; returns (N, d)."""
        k = self.piece(t)
        return _act(self.activation, self._pre(x, k)) @ self.W[k].T

    def divergence(self, x: torch.Tensor, t: Any) -> torch.Tensor:
        r"""Exact :math:`\operatorname{div}_x f=\sum_j\sigma'(z_j)\sum_k W_{k,kj}A_{k,jk}`, shape (N,)."""
        self._check_x(x)
        k = self.piece(t)
        ds = _dact(self.activation, self._pre(x, k))
        return ds @ (self.W[k].T * self.A[k]).sum(1)

    def barron_norm(self) -> torch.Tensor:
        r""":math:`\sum_k\sum_j\|W_{k,:,j}\|\,\|A_{k,j,:}\|`."""
        return (self.W.norm(dim=1) * self.A.norm(dim=2)).sum()

    def extra_repr(self) -> str:
        return (f"d={self.d}, P={self.P}, num_pieces={self.num_pieces}, T={self.T}, "
                f"activation={self.activation!r}, num_parameters={self.num_parameters}")


def authors_baseline(d: int = 2, *, T: float = 5.0, random_state: Any = None,
                     dtype: Any = torch.float32) -> VanillaNODE:
    """The authors' vanilla NODE: 101 pieces of width 1000 (505,000 parameters for d = 2).

    ``VanillaNODE(d, 1000, 101, T=T, activation="relu")``: :math:`K(2d+1)P` parameters with
    :math:`K = 101` pieces and :math:`P = 1000` neurons per piece.

    Parameters
    ----------
    d : int
        State dimension (default 2, as the authors' planar systems).
    T : float
        Horizon :math:`[0, T]` split into the 101 equal pieces (default 5.0).
    random_state : None, int or numpy Generator
        Seeds the initialisation (see :class:`VanillaNODE`).
    dtype : torch dtype or name
        ``float32`` (default) or ``float64``.

    Returns
    -------
    VanillaNODE
    """
    return VanillaNODE(d, 1000, 101, T=T, activation="relu", random_state=random_state,
                       dtype=dtype)

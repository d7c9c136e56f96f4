"""Synthetic (data-driven) models: MLP and ResNet-MLP :math:`u_\\theta: \\mathbb R^d \\to \\mathbb R`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from .._checks import check_int, check_option, check_random_state
from ..errors import ParameterError

__all__ = ["Synthetic"]

_ACTS = {"relu": torch.relu, "tanh": torch.tanh, "gelu": torch.nn.functional.gelu,
         "silu": torch.nn.functional.silu}
_INITS = ("lecun", "xavier", "torch")


class Synthetic(torch.nn.Module):
    """A fully connected network :math:`u_\\theta(x)`, optionally with residual blocks.

    ``resnet=False`` (MLP): ``x -> s(W_1 x + b_1) -> ... -> s(W_L h + b_L) -> w^T h + c``
    with ``len(widths) = L`` hidden layers.

    ``resnet=True`` (the authors' ``ResNetSynthetic``): an input layer of width
    ``widths[0]``, then ``len(widths) - 1`` blocks ``h -> s(W s(W h + b) + b + h)`` whose two
    affine maps share one weight ``W`` (as in their code; all widths must be equal), an
    activation, and a linear read-out.

    Parameters
    ----------
    input_dim : int
        ``d`` (2 for ``(x, y)``, 3 for ``(x, y, t)``).
    widths : sequence of int, default (256, 256)
    activation : {"relu", "tanh", "gelu", "silu"}, default "relu"
        Use a smooth activation for a PINN (it differentiates the network twice).
    resnet : bool, default True
    init : {"lecun", "xavier", "torch"}, default "lecun"
        Weight initialisation: LeCun normal with zero biases (Flax's default, the authors'
        static code), Xavier uniform with zero biases (their heat code), or torch's default.
    dtype : torch.dtype, default torch.float32
    random_state : None, int or numpy Generator

    Notes
    -----
    Shapes: ``forward(X)`` takes ``(N, d)`` and returns ``(N,)``.
    """

    def __init__(self, input_dim: int = 2, widths: Sequence[int] = (256, 256), *,
                 activation: str = "relu", resnet: bool = True, init: str = "lecun",
                 dtype: torch.dtype = torch.float32, random_state: Any = None) -> None:
        super().__init__()
        self.input_dim = check_int(input_dim, "input_dim", minimum=1)
        widths = tuple(widths) if isinstance(widths, Sequence) else None
        if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ParameterError(f"widths must be a non-empty sequence of positive ints; got {widths!r}")
        if resnet and len(set(widths)) != 1:
            raise ParameterError(f"resnet=True needs equal widths (the blocks keep the width); got "
                                 f"{widths}; use resnet=False for a tapered MLP")
        self.activation = check_option(activation, "activation", _ACTS)
        check_option(init, "init", _INITS)
        if dtype not in (torch.float32, torch.float64):
            raise ParameterError(f"dtype must be torch.float32 or torch.float64; got {dtype!r}")
        self.widths, self.resnet, self.dtype = widths, bool(resnet), dtype
        self._act = _ACTS[activation]
        rng = check_random_state(random_state)
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        if resnet:
            self.inp = torch.nn.Linear(input_dim, widths[0], dtype=dtype)
            self.blocks = torch.nn.ModuleList(torch.nn.Linear(w, w, dtype=dtype) for w in widths[1:])
        else:
            dims = (input_dim, *widths)
            self.inp = torch.nn.Linear(input_dim, widths[0], dtype=dtype)
            self.blocks = torch.nn.ModuleList(torch.nn.Linear(dims[k], dims[k + 1], dtype=dtype)
                                              for k in range(1, len(widths)))
        self.out = torch.nn.Linear(widths[-1], 1, dtype=dtype)
        for lin in [self.inp, *self.blocks, self.out]:
            _init_linear(lin, init, gen)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """:math:`u_\\theta(X)`, ``X`` (N, d) -> (N,)."""
        h = self._act(self.inp(X.to(self.dtype)))
        for lin in self.blocks:
            if self.resnet:
                h = self._act(lin(self._act(lin(h))) + h)
            else:
                h = self._act(lin(h))
        if self.resnet:
            h = self._act(h)
        return self.out(h).squeeze(-1)


def _init_linear(lin: torch.nn.Linear, init: str, gen: torch.Generator) -> None:
    fan_out, fan_in = lin.weight.shape
    with torch.no_grad():
        if init == "lecun":   # truncated normal (+-2 sd), variance 1 / fan_in
            std = 1.0 / math.sqrt(fan_in) / 0.87962566103423978
            w = torch.empty_like(lin.weight).normal_(generator=gen)
            while True:
                bad = w.abs() > 2.0
                if not bad.any():
                    break
                w[bad] = torch.empty(int(bad.sum()), dtype=w.dtype).normal_(generator=gen)
            lin.weight.copy_(w * std)
            lin.bias.zero_()
        elif init == "xavier":
            a = math.sqrt(6.0 / (fan_in + fan_out))
            lin.weight.uniform_(-a, a, generator=gen)
            lin.bias.zero_()
        else:
            a = 1.0 / math.sqrt(fan_in)
            lin.weight.uniform_(-a, a, generator=gen)
            lin.bias.uniform_(-a, a, generator=gen)

r"""Several SA-NODEs (or vanilla NODEs) trained as one batched module.

Small models train at a cost dominated by autograd's per-operation overhead, not by
arithmetic, so :math:`G` independent models cost little more than one when their
operations are batched.  :class:`StackedField` holds :math:`G` models of the same kind
(widths padded to the largest with masked, gradient-free neurons) and evaluates all of them
on states of shape (G, N, d).  With the loss a *sum* of the per-model losses, every model
receives exactly its own gradient, and Adam acts entry-wise: training the stack is training
the models one by one.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ParameterError
from ._models import SANODE, VanillaNODE, _act

__all__ = ["StackedField"]


class StackedField(nn.Module):
    """G models of one kind as one module; ``forward(t, x)`` maps (G, N, d) to (G, N, d)."""

    def __init__(self, models: list[nn.Module]) -> None:
        super().__init__()
        if not models:
            raise ParameterError("models must be a non-empty list of SANODE or VanillaNODE")
        first = models[0]
        kind = type(first)
        if kind not in (SANODE, VanillaNODE):
            raise ParameterError(f"models must be SANODE or VanillaNODE; got {kind.__name__}")
        for i, m in enumerate(models):
            same = type(m) is kind and m.d == first.d and m.activation == first.activation
            if kind is SANODE:
                same = same and not m.per_component
            else:
                same = same and m.num_pieces == first.num_pieces and m.T == first.T
            if not same:
                raise ParameterError(
                    f"models[{i}] differs from models[0] in kind, d, activation, pieces or T (or is "
                    "a per-component SA-NODE): only models of one kind can be trained together"
                )
        self.kind = kind
        self.d = first.d
        self.activation = first.activation
        self.sizes = [m.P for m in models]
        P = max(self.sizes)
        G = len(models)
        dt = first.W.dtype
        mask = torch.zeros(G, P, dtype=dt)
        for g, p in enumerate(self.sizes):
            mask[g, :p] = 1.0
        self.register_buffer("mask", mask)

        def pad(name: str, axis: int) -> torch.Tensor:
            out = []
            for m in models:
                w = getattr(m, name).detach()
                shape = list(w.shape)
                shape[axis] = P - w.shape[axis]
                out.append(torch.cat([w, torch.zeros(shape, dtype=dt)], axis))
            return torch.stack(out)

        if kind is SANODE:
            self.W, self.A = nn.Parameter(pad("W", 1)), nn.Parameter(pad("A", 0))
            self.beta, self.b = nn.Parameter(pad("beta", 0)), nn.Parameter(pad("b", 0))
        else:
            self.num_pieces, self.T = first.num_pieces, first.T
            self._piece = first.piece
            self.W, self.A = nn.Parameter(pad("W", 2)), nn.Parameter(pad("A", 1))
            self.b = nn.Parameter(pad("b", 1))

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.kind is SANODE:
            z = torch.bmm(x, self.A.transpose(1, 2)) + (self.beta * t + self.b)[:, None, :]
            s = _act(self.activation, z) * self.mask[:, None, :]
            return torch.bmm(s, self.W.transpose(1, 2))
        k = self._piece(t)
        z = torch.bmm(x, self.A[:, k].transpose(1, 2)) + self.b[:, k][:, None, :]
        s = _act(self.activation, z) * self.mask[:, None, :]
        return torch.bmm(s, self.W[:, k].transpose(1, 2))

    def barron_norm(self) -> torch.Tensor:
        """Sum over the models of their Barron-type norms (padded neurons contribute 0)."""
        if self.kind is SANODE:
            return (self.W.norm(dim=1) * self.A.norm(dim=2)).sum()
        return (self.W.norm(dim=2) * self.A.norm(dim=3)).sum()

    def unstack(self, models: list[nn.Module]) -> list[nn.Module]:
        """Copies of ``models`` holding the stack's current parameters (on CPU)."""
        import copy

        out = []
        for g, m in enumerate(models):
            c = copy.deepcopy(m).to(device="cpu", dtype=self.W.dtype)
            p = self.sizes[g]
            with torch.no_grad():
                if self.kind is SANODE:
                    c.W.copy_(self.W[g, :, :p]), c.A.copy_(self.A[g, :p])
                    c.beta.copy_(self.beta[g, :p]), c.b.copy_(self.b[g, :p])
                else:
                    c.W.copy_(self.W[g, :, :, :p]), c.A.copy_(self.A[g, :, :p])
                    c.b.copy_(self.b[g, :, :p])
            out.append(c)
        return out

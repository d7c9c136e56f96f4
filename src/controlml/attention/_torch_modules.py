"""torch export of :class:`~controlml.attention.Transformer` (same forward pass, trainable)."""

from __future__ import annotations

from typing import Any

import torch

from ._torch import attention_weights_torch

__all__ = ["TorchTransformer"]


class _TorchFF(torch.nn.Module):
    def __init__(self, L: Any, dtype: Any, device: Any):
        super().__init__()
        t = lambda a: torch.nn.Parameter(torch.as_tensor(a, dtype=dtype, device=device).clone())  # noqa: E731
        self.U, self.b, self.W = t(L.U), t(L.b), t(L.W)
        self.eta = float(L.eta)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.eta * X + torch.relu(X @ self.U + self.b) @ self.W


class _TorchSA(torch.nn.Module):
    def __init__(self, L: Any, dtype: Any, device: Any):
        super().__init__()
        t = lambda a: torch.nn.Parameter(torch.as_tensor(a, dtype=dtype, device=device).clone())  # noqa: E731
        self.A, self.V = t(L.A), t(L.V)
        self.rho, self.tau, self.tie_rtol = float(L.rho), float(L.tau), float(L.tie_rtol)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        P = attention_weights_torch(X, self.A, self.tau, tie_rtol=self.tie_rtol)
        return self.rho * X + P @ X @ self.V


class TorchTransformer(torch.nn.Module):
    """``torch.nn.Module`` version of a :class:`Transformer`; input (batch, n, d)."""

    def __init__(self, T: Any, *, dtype: Any, device: Any):
        super().__init__()
        from ._transformer import FeedForward

        self.layers = torch.nn.ModuleList(
            _TorchFF(L, dtype, device) if isinstance(L, FeedForward) else _TorchSA(L, dtype, device)
            for L in T.layers
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        for L in self.layers:
            X = L(X)
        return X

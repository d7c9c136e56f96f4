"""Models as functions of one flat parameter vector, batched over clients.

A model is a map ``θ ↦ logits`` with ``θ ∈ R^P`` flat.  Every routine takes a stack of
parameter vectors ``Θ`` of shape ``(C, P)`` (one row per client) and a stack of batches
``X`` of shape ``(C, B, d)``, so the clients of a round train as one batched model
(``torch.bmm``); ``C = 1`` is one client.

- ``"logistic"``: multinomial logistic regression ``logits = X W + b`` (convex);
- ``"mlp"``: ``logits = relu(X W₁ + b₁) W₂ + b₂`` with ``d-h-K`` sizes (64-32-10 on digits).

Loss of client ``i`` on a batch with weights ``w`` (0/1 mask of padded rows):

    f(θ) = Σ_b w_b CE(logits_b, y_b) / Σ_b w_b  +  (l2/2) Σ_layers ‖W‖²   (biases unpenalised)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._checks import check_int, check_nonnegative, check_option
from ..errors import ParameterError

__all__ = ["FLModel"]


@dataclass(frozen=True)
class FLModel:
    """A model over flat parameter vectors.

    Parameters
    ----------
    kind : {"logistic", "mlp"}
    d : int
        Input dimension.
    num_classes : int
        Number of classes ``K``; labels must lie in ``{0, ..., K−1}``.
    hidden : int
        Width ``h`` of the MLP's hidden layer (ignored for ``"logistic"``).
    l2 : float
        ℓ2 penalty on the weight matrices (biases unpenalised).
    """

    kind: str = "mlp"
    d: int = 64
    num_classes: int = 10
    hidden: int = 32
    l2: float = 0.0

    def __post_init__(self) -> None:
        check_option(self.kind, "model kind", ("logistic", "mlp"))
        check_int(self.d, "d", minimum=1)
        check_int(self.num_classes, "num_classes", minimum=2)
        check_int(self.hidden, "hidden", minimum=1)
        check_nonnegative(self.l2, "l2")

    # ------------------------------------------------------------------ layout
    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """Shapes of the layers in the flat vector: ``[W, b]`` or ``[W1, b1, W2, b2]``."""
        d, K, h = self.d, self.num_classes, self.hidden
        if self.kind == "logistic":
            return [(d, K), (K,)]
        return [(d, h), (h,), (h, K), (K,)]

    @property
    def num_params(self) -> int:
        """``P``, the length of a parameter vector."""
        return sum(math.prod(s) for s in self.shapes)

    def unflatten(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """Views ``(C, *shape)`` of the layers of ``theta`` (C, P)."""
        out, k = [], 0
        for s in self.shapes:
            n = math.prod(s)
            out.append(theta[:, k:k + n].reshape(theta.shape[0], *s))
            k += n
        return out

    def weight_mask(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """1 on weight-matrix entries, 0 on biases, shape (P,)."""
        parts = [torch.full((math.prod(s),), 1.0 if len(s) == 2 else 0.0, dtype=dtype,
                            device=device) for s in self.shapes]
        return torch.cat(parts)

    def init(self, generator: torch.Generator, *, dtype=torch.float32) -> torch.Tensor:
        """A parameter vector (P,): uniform ``±1/√fan_in`` weights (PyTorch's default), zero
        biases for ``"logistic"``."""
        parts = []
        shapes = self.shapes
        for Ws, bs in zip(shapes[::2], shapes[1::2], strict=True):
            bound = 1.0 / math.sqrt(Ws[0])
            for s in (Ws, bs):
                if self.kind == "logistic":
                    parts.append(torch.zeros(math.prod(s), dtype=dtype))
                else:
                    u = torch.rand(math.prod(s), generator=generator, dtype=torch.float64)
                    parts.append(((2 * u - 1) * bound).to(dtype))
        return torch.cat(parts)

    # ----------------------------------------------------------------- forward
    def logits(self, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """Logits (C, B, K) of ``X`` (C, B, d) under ``theta`` (C, P)."""
        layers = self.unflatten(theta)
        if self.kind == "logistic":
            W, b = layers
            return torch.baddbmm(b[:, None, :], X, W)
        W1, b1, W2, b2 = layers
        H = torch.relu(torch.baddbmm(b1[:, None, :], X, W1))
        return torch.baddbmm(b2[:, None, :], H, W2)

    def loss(self, theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
             w: torch.Tensor) -> torch.Tensor:
        """Per-client regularised loss (C,) on ``X`` (C, B, d), ``y`` (C, B) and row weights
        ``w`` (C, B) (rows with weight 0 are padding)."""
        z = self.logits(theta, X)
        ce = torch.nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1),
                                               reduction="none").reshape(y.shape)
        f = (ce * w).sum(1) / w.sum(1).clamp_min(1.0)  # an all-padding batch gives 0
        if self.l2 > 0:
            f = f + 0.5 * self.l2 * (theta * theta * self.weight_mask(
                dtype=theta.dtype, device=theta.device)).sum(1)
        return f

    def grad(self, theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
             w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(f, ∇f)`` per client: shapes (C,) and (C, P), by explicit backpropagation.

        With ``Z`` the logits and ``G = (softmax(Z) − onehot(y)) w / Σw`` (C, B, K):
        ``∇_W = Xᵀ G``, ``∇_b = Σ_B G`` for the last layer; the MLP passes
        ``(G W₂ᵀ) ⊙ 1[A > 0]`` back to the first (``A = X W₁ + b₁``); plus ``l2 W``.
        Agrees with autograd of :meth:`loss` (tested).
        """
        with torch.no_grad():
            Cn, B, _ = X.shape
            layers = self.unflatten(theta)
            if self.kind == "logistic":
                W, b = layers
                Z = torch.baddbmm(b[:, None, :], X, W)
            else:
                W1, b1, W2, b2 = layers
                A = torch.baddbmm(b1[:, None, :], X, W1)
                H = torch.relu(A)
                Z = torch.baddbmm(b2[:, None, :], H, W2)
            logp = torch.log_softmax(Z, dim=-1)
            ce = -logp.gather(-1, y[..., None])[..., 0]
            den = w.sum(1).clamp_min(1.0)
            f = (ce * w).sum(1) / den
            G = logp.exp()
            G.scatter_add_(-1, y[..., None], -torch.ones_like(G[..., :1]))
            G = G * (w / den[:, None])[..., None]
            if self.kind == "logistic":
                grads = [X.transpose(1, 2) @ G, G.sum(1)]
            else:
                gW2, gb2 = H.transpose(1, 2) @ G, G.sum(1)
                dA = (G @ W2.transpose(1, 2)) * (A > 0)
                grads = [X.transpose(1, 2) @ dA, dA.sum(1), gW2, gb2]
            g = torch.cat([q.reshape(Cn, -1) for q in grads], dim=1)
            if self.l2 > 0:
                mask = self.weight_mask(dtype=theta.dtype, device=theta.device)
                f = f + 0.5 * self.l2 * (theta * theta * mask).sum(1)
                g = g + self.l2 * theta * mask
        return f, g

    def predict(self, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """Class predictions (N,) of one parameter vector ``theta`` (P,) on ``X`` (N, d)."""
        with torch.no_grad():
            return self.logits(theta[None], X[None])[0].argmax(-1)


def check_model(model, d: int, num_classes: int, l2: float | None) -> FLModel:
    """Build or validate the model for data of dimension ``d`` with ``num_classes`` labels."""
    if isinstance(model, str):
        check_option(model, "model", ("logistic", "mlp"))
        return FLModel(model, d, num_classes, l2=0.0 if l2 is None else l2)
    if not isinstance(model, FLModel):
        raise ParameterError(f"model must be 'logistic', 'mlp' or an FLModel; got {model!r}")
    if model.d != d:
        raise ParameterError(f"model expects inputs of dimension d = {model.d} but the data have "
                             f"d = {d}; build FLModel(..., d={d})")
    if model.num_classes < num_classes:
        raise ParameterError(
            f"the labels run over {num_classes} classes (0..{num_classes - 1}) but the model has "
            f"num_classes = {model.num_classes} outputs; use FLModel(..., num_classes="
            f"{num_classes}) or relabel the data")
    return model

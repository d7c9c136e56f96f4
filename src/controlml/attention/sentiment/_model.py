"""The weight-tied attention-only sentiment classifier of the hardmax-clustering experiment."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..._checks import check_int, check_nonnegative, check_positive, resolve_seed_alias, torch_seed
from ...errors import DatasetError, ParameterError
from .._torch import attention_step_torch, leader_mask_torch

__all__ = ["SentimentAttentionModel", "masked_attention_step"]


def masked_attention_step(Z: torch.Tensor, mask: torch.Tensor, alpha: Any, tau: float, *,
                          tie_rtol: float | None = None) -> torch.Tensor:
    r"""One layer (4.1) with :math:`A = I` on padded sequences; padding is never attended to.

    :func:`controlml.attention.attention_step_torch` with ``A = I`` and ``mask`` (the same
    code, hence the same hardmax tie rule as the NumPy dynamics):

    .. math::

        z_i \leftarrow \frac{z_i + \alpha \sum_{\ell\ \mathrm{real}} \pi^\tau_{i\ell} z_\ell}{1+\alpha},
        \qquad \pi^\tau_{i\cdot} = \mathrm{softmax}_\ell(\langle z_i, z_\ell\rangle/\tau)

    and for ``tau == 0`` the hardmax (4.3) over the real tokens.

    Parameters
    ----------
    Z : torch.Tensor, shape (B, n, d)
    mask : torch.Tensor of bool, shape (B, n)
        True on real tokens; each row needs at least one.
    alpha : float or 0-d tensor
    tau : float >= 0
    tie_rtol : float, optional
        Hardmax tie tolerance (default: 1e-12 in float64, ``64 * eps`` of lower precisions).

    Returns
    -------
    torch.Tensor, shape (B, n, d)
    """
    if not isinstance(Z, torch.Tensor) or Z.ndim != 3 or not torch.is_floating_point(Z):
        raise DatasetError(
            f"Z must be a floating-point torch tensor of shape (B, n, d); got "
            f"{tuple(Z.shape) if isinstance(Z, torch.Tensor) else type(Z).__name__}"
        )
    if mask is None:
        raise DatasetError("mask must be a bool tensor of shape (B, n); got None")
    eye = torch.eye(Z.shape[2], dtype=Z.dtype, device=Z.device)
    return attention_step_torch(Z, eye, alpha, tau, tie_rtol=tie_rtol, mask=mask)


def _token_ids(tokens: Any, mask: Any, vocab_size: int,
                   device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``tokens`` (B, n) ids and ``mask`` (B, n) (default ``tokens != 0``); return tensors."""
    try:
        t = torch.as_tensor(np.asarray(tokens) if not isinstance(tokens, torch.Tensor) else tokens)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise DatasetError(f"tokens must be an integer array of shape (B, n); got {type(tokens).__name__}") from exc
    if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 1:
        raise DatasetError(f"tokens must have shape (B, n) with B, n >= 1; got shape {tuple(t.shape)}")
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        raise DatasetError(f"tokens must hold integer ids; got dtype {t.dtype}")
    t = t.to(device=device, dtype=torch.long)
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or hi >= vocab_size:
        raise DatasetError(
            f"tokens must be ids in [0, {vocab_size}) (the model's vocab_size); got values in [{lo}, {hi}]"
        )
    if mask is None:
        m = t != 0
    else:
        m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
        if tuple(m.shape) != tuple(t.shape):
            raise DatasetError(f"mask must have the shape of tokens {tuple(t.shape)}; got {tuple(m.shape)}")
        m = m.to(device=device, dtype=torch.bool)
    empty = ~m.any(dim=1)
    if bool(empty.any()):
        r = int(torch.nonzero(empty)[0, 0])
        raise DatasetError(
            f"sequence {r} has no real token (mask all False): every review needs at least one "
            "token (Tokenizer.encode gives empty reviews the single token '<unk>')"
        )
    return t, m


class SentimentAttentionModel(torch.nn.Module):
    r"""Embedding, one weight-tied self-attention layer applied ``K`` times, mean pooling, linear readout.

    .. math::

        z_i(0) = E[w_i] \in \mathbb R^d,\qquad
        z_i(k+1) = \frac{z_i(k) + \alpha\sum_\ell \pi^\tau_{i\ell}(Z(k))\, z_\ell(k)}{1+\alpha},
        \qquad \hat y = \sigma\Big(v^\top \frac1{n}\sum_{i} z_i(K) + b\Big)

    with :math:`A = I` (query = key = identity), value :math:`\alpha I`, a single learnable
    :math:`\alpha = \mathrm{softplus}(a) > 0` (the hypothesis :math:`\alpha>0` of Thm 4.1),
    softmax weights (4.2) at a small temperature ``tau`` while training and the exact
    hardmax (4.3) (``tau=0``) for evaluation.  Padding tokens are neither attended to nor pooled.

    Parameters
    ----------
    vocab_size : int
        Number of token ids (``len(tokenizer.vocab)``); id 0 is padding.
    d : int
        Embedding dimension (the paper: 2, 4, 8, 16).
    K : int
        Number of applications of the shared attention layer (the paper: 8).
    alpha : float > 0
        Initial step size.
    tau : float > 0
        Training temperature (the paper: 1e-3).
    random_state : int, None or numpy.random.Generator
        Randomness of the initialisation (a ``torch.Generator`` seeded from it).
    seed : int, optional
        Deprecated alias of ``random_state`` (FutureWarning).
    dtype, device : torch dtype / device, optional
    """

    def __init__(self, vocab_size: int, d: int, *, K: int = 8, alpha: float = 1.0, tau: float = 1e-3,
                 random_state: Any = None, seed: int | None = None, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        self.vocab_size = check_int(vocab_size, "vocab_size", minimum=2)
        self.d = check_int(d, "d", minimum=1)
        self.K = check_int(K, "K", minimum=0)
        alpha0 = check_positive(alpha, "alpha")
        self.tau = check_positive(tau, "tau")
        seed = torch_seed(resolve_seed_alias(random_state, seed, "SentimentAttentionModel"))
        kw = {"dtype": dtype or torch.get_default_dtype(), "device": device}
        self.embedding = torch.nn.Embedding(self.vocab_size, self.d, padding_idx=0, **kw)
        self.readout = torch.nn.Linear(self.d, 1, **kw)
        self.alpha_raw = torch.nn.Parameter(torch.tensor(math.log(math.expm1(alpha0)), **kw))
        g = torch.Generator(device="cpu")
        g.manual_seed(seed)
        with torch.no_grad():
            w = torch.randn(self.vocab_size, self.d, generator=g, dtype=torch.float64)
            w[0] = 0.0
            self.embedding.weight.copy_(w)
            bound = 1.0 / math.sqrt(self.d)
            self.readout.weight.copy_((torch.rand(1, self.d, generator=g, dtype=torch.float64) * 2 - 1) * bound)
            self.readout.bias.zero_()
        self.seed = seed

    @property
    def alpha(self) -> torch.Tensor:
        """The step size :math:`\\alpha = \\mathrm{softplus}(a) > 0` (0-d tensor)."""
        return torch.nn.functional.softplus(self.alpha_raw)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments (for checkpoints)."""
        return {"vocab_size": self.vocab_size, "d": self.d, "K": self.K, "tau": self.tau}

    def _tau(self, tau: float | None) -> float:
        return self.tau if tau is None else check_nonnegative(tau, "tau")

    @torch.no_grad()
    def trajectory(self, tokens: Any, mask: Any = None, *, tau: float | None = 0.0) -> torch.Tensor:
        """Tokens at every layer, shape (K+1, B, n, d), without gradient (``tau=0``: hardmax;
        ``None``: the training temperature)."""
        t, m = _token_ids(tokens, mask, self.vocab_size, self.embedding.weight.device)
        tau_f = self._tau(tau)
        Z = self.embedding(t)
        out = [Z]
        for _ in range(self.K):
            Z = masked_attention_step(Z, m, self.alpha, tau_f)
            out.append(Z)
        return torch.stack(out)

    def forward(self, tokens: Any, mask: Any = None, *, tau: float | None = None) -> torch.Tensor:
        """Logits (B,) of the positive class (``tau=None``: the training temperature; 0: hardmax).

        Parameters
        ----------
        tokens : int array or tensor, shape (B, n)
        mask : bool array or tensor, shape (B, n), optional
            Real tokens (default ``tokens != 0``).
        """
        t, m = _token_ids(tokens, mask, self.vocab_size, self.embedding.weight.device)
        tau_f = self._tau(tau)
        Z = self.embedding(t)
        for _ in range(self.K):
            Z = masked_attention_step(Z, m, self.alpha, tau_f)
        w = m.to(Z.dtype)
        pooled = (Z * w[..., None]).sum(dim=1) / w.sum(dim=1, keepdim=True)
        return self.readout(pooled).squeeze(-1)

    @torch.no_grad()
    def leaders(self, tokens: Any, mask: Any = None, *, layer: int | None = None,
                tau: float = 0.0) -> torch.Tensor:
        r"""Leaders at layer ``layer`` (default ``K``): bool (B, n).

        Token :math:`i` is a leader at layer :math:`k` when its hardmax set
        :math:`\mathcal C_i(k)` only holds tokens coinciding with :math:`z_i(k)` (a repeated
        word is one point) and :math:`i` is the first of them, so each leader point is
        counted once.  ``tau`` selects the dynamics that produce :math:`Z(k)` (0: hardmax).
        """
        t, m = _token_ids(tokens, mask, self.vocab_size, self.embedding.weight.device)
        layer = self.K if layer is None else check_int(layer, "layer", minimum=0)
        if layer > self.K:
            raise ParameterError(f"layer must be in [0, K] = [0, {self.K}]; got {layer}")
        Z = self.trajectory(t, m, tau=tau)[layer]
        return _leaders_of(Z, m)

    @torch.no_grad()
    def leaders_per_layer(self, tokens: Any, mask: Any = None, *, tau: float = 0.0) -> torch.Tensor:
        """Leaders (see :meth:`leaders`) at every layer 0..K: bool (K+1, B, n)."""
        t, m = _token_ids(tokens, mask, self.vocab_size, self.embedding.weight.device)
        return torch.stack([_leaders_of(Z, m) for Z in self.trajectory(t, m, tau=tau)])


def _leaders_of(Z: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Leader mask (B, n) of token positions Z (B, n, d) with real-token mask m (B, n): the
    one definition of :func:`controlml.attention.leaders` (A = I)."""
    eye = torch.eye(Z.shape[2], dtype=Z.dtype, device=Z.device)
    return leader_mask_torch(Z, eye, mask=m)

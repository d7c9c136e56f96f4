"""One softmax / hardmax self-attention step (4.1)-(4.2) in PyTorch, usable with autograd."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..errors import DatasetError, ParameterError
from ._dynamics import DEFAULT_TIE_RTOL
from ._validate import check_tau, check_tie_rtol

__all__ = ["attention_step_torch", "attention_weights_torch"]


def _check_tensor_inputs(Z: Any, A: Any, tau: Any, tie_rtol: Any) -> tuple[torch.Tensor, torch.Tensor, float]:
    if not isinstance(Z, torch.Tensor):
        raise DatasetError(
            f"Z must be a torch tensor of shape (batch, n, d); got {type(Z).__name__}. "
            "Use controlml.attention.hardmax_dynamics / softmax_dynamics for NumPy arrays."
        )
    if Z.ndim != 3:
        raise DatasetError(f"Z must have shape (batch, n, d); got shape {tuple(Z.shape)}")
    if Z.shape[1] < 1 or Z.shape[2] < 1:
        raise DatasetError(f"Z must have at least one token of dimension >= 1; got shape {tuple(Z.shape)}")
    if not torch.is_floating_point(Z):
        raise DatasetError(f"Z must be a floating-point tensor; got dtype {Z.dtype}")
    d = Z.shape[2]
    if not isinstance(A, torch.Tensor):
        try:
            A = torch.as_tensor(A, dtype=Z.dtype, device=Z.device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ParameterError(f"A must be a (d, d) = ({d}, {d}) matrix; got {type(A).__name__}") from exc
    if tuple(A.shape) != (d, d):
        raise ParameterError(f"A must have shape (d, d) = ({d}, {d}) to match Z; got shape {tuple(A.shape)}")
    A = A.to(dtype=Z.dtype, device=Z.device)
    tau_f = check_tau(tau)
    check_tie_rtol(tie_rtol)
    return Z, A, tau_f


def attention_weights_torch(
    Z: torch.Tensor, A: Any, tau: float, *, tie_rtol: float = DEFAULT_TIE_RTOL
) -> torch.Tensor:
    r"""Attention matrix :math:`\pi^\tau(Z)` of (4.2), or of (4.3) when ``tau == 0``.

    .. math::

        \pi^\tau_{i\ell} = \frac{\exp(\langle A z_i, z_\ell\rangle/\tau)}
        {\sum_k \exp(\langle A z_i, z_k\rangle/\tau)},\qquad
        \pi^0_{i\ell} = \frac{\mathbf 1[\ell\in\mathcal C_i]}{|\mathcal C_i|}

    Hardmax ties: :math:`\ell\in\mathcal C_i` iff
    :math:`\langle Az_i,z_\ell\rangle \ge \max_k\langle Az_i,z_k\rangle - \mathrm{tie\_rtol}\,
    \|Az_i\|\max_k\|z_k\|` (a relative tolerance on the Cauchy-Schwarz scale of the scores).
    The hardmax weights are piecewise constant, so they carry no gradient.

    Parameters
    ----------
    Z : torch.Tensor, shape (batch, n, d)
    A : torch.Tensor or array, shape (d, d)
    tau : float, >= 0
        Temperature; 0 selects the hardmax (4.3).
    tie_rtol : float
        Relative tie tolerance of the hardmax.

    Returns
    -------
    torch.Tensor, shape (batch, n, n)
        Row-stochastic weights.
    """
    Z, A, tau_f = _check_tensor_inputs(Z, A, tau, tie_rtol)
    AZ = Z @ A.T  # (batch, n, d): rows A z_i
    S = AZ @ Z.transpose(1, 2)  # S[b, i, l] = <A z_i, z_l>
    if tau_f > 0:
        return torch.softmax(S / tau_f, dim=-1)  # max-subtracted internally: stable for tiny tau
    with torch.no_grad():
        scale = AZ.norm(dim=-1, keepdim=True) * Z.norm(dim=-1).amax(dim=-1, keepdim=True).unsqueeze(-1)
        mask = S >= S.amax(dim=-1, keepdim=True) - tie_rtol * scale
        W = mask.to(Z.dtype)
        return W / W.sum(dim=-1, keepdim=True)


def attention_step_torch(
    Z: torch.Tensor,
    A: Any,
    alpha: Any,
    tau: float,
    *,
    tie_rtol: float = DEFAULT_TIE_RTOL,
) -> torch.Tensor:
    r"""One self-attention layer (4.1a) with softmax (4.2) or hardmax (4.3) weights, in torch.

    .. math::

        z_i \leftarrow z_i + \frac{\alpha}{1+\alpha}\Big(\sum_\ell \pi^\tau_{i\ell}(Z)\, z_\ell - z_i\Big)
        = \frac{z_i + \alpha \sum_\ell \pi^\tau_{i\ell}(Z) z_\ell}{1+\alpha}

    Differentiable in ``Z``, ``A`` and ``alpha`` (softmax); with ``tau == 0`` the weights
    are constant (hardmax) and the gradient flows through the tokens and ``alpha`` only.
    Runs on the device and dtype of ``Z``.

    Parameters
    ----------
    Z : torch.Tensor, shape (batch, n, d)
        Batch of token sequences.
    A : torch.Tensor or array, shape (d, d)
        Attention matrix (symmetric positive definite in Thm 4.1; not checked here so that
        it can be trained).
    alpha : float or 0-d torch.Tensor
        Step size :math:`\alpha` (> 0 in Thm 4.1; may be a trainable scalar).
    tau : float, >= 0
        Softmax temperature; ``0`` gives the hardmax layer.
    tie_rtol : float
        Relative tie tolerance of the hardmax (see :func:`attention_weights_torch`).

    Returns
    -------
    torch.Tensor, shape (batch, n, d)
    """
    if isinstance(alpha, bool):
        raise ParameterError(f"alpha must be a real number or a 0-d tensor; got {alpha!r}")
    if isinstance(alpha, torch.Tensor):
        if alpha.numel() != 1:
            raise ParameterError(f"alpha must be a scalar (0-d tensor); got shape {tuple(alpha.shape)}")
    else:
        try:
            a = float(alpha)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"alpha must be a real number; got {type(alpha).__name__}") from exc
        if not math.isfinite(a) or a == -1.0:
            raise ParameterError(f"alpha must be finite and != -1 (the layer divides by 1 + alpha); got {alpha!r}")
    P = attention_weights_torch(Z, A, tau, tie_rtol=tie_rtol)
    return (Z + alpha * (P @ Z)) / (1 + alpha)

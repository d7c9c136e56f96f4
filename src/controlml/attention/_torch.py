"""One softmax / hardmax self-attention step (4.1)-(4.2) in PyTorch, usable with autograd."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..errors import DatasetError, ParameterError
from ._ties import default_tie_rtol, torch_hardmax
from ._validate import check_tau, check_tie_rtol

__all__ = ["attention_step_torch", "attention_weights_torch", "leader_mask_torch"]


def _check_key_mask(mask: Any, Z: torch.Tensor) -> torch.Tensor | None:
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != tuple(Z.shape[:2]):
        raise DatasetError(
            f"mask must be a bool tensor of shape (batch, n) = {tuple(Z.shape[:2])}; got "
            f"{(mask.dtype, tuple(mask.shape)) if isinstance(mask, torch.Tensor) else type(mask).__name__}"
        )
    if not bool(mask.any(dim=1).all()):
        r = int(torch.nonzero(~mask.any(dim=1))[0, 0])
        raise DatasetError(f"mask row {r} has no True entry: every row of mask needs at least one True (real token)")
    return mask.to(Z.device)


def _rtol(tie_rtol: Any, dtype: torch.dtype) -> float:
    return default_tie_rtol(dtype) if tie_rtol is None else check_tie_rtol(tie_rtol)


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
    if tie_rtol is not None:
        check_tie_rtol(tie_rtol)
    return Z, A, tau_f


def attention_weights_torch(
    Z: torch.Tensor, A: Any, tau: float, *, tie_rtol: float | None = None, mask: Any = None,
) -> torch.Tensor:
    r"""Attention matrix :math:`\pi^\tau(Z)` of (4.2), or of (4.3) when ``tau == 0``.

    .. math::

        \pi^\tau_{i\ell} = \frac{\exp(\langle A z_i, z_\ell\rangle/\tau)}
        {\sum_k \exp(\langle A z_i, z_k\rangle/\tau)},\qquad
        \pi^0_{i\ell} = \frac{\mathbf 1[\ell\in\mathcal C_i]}{|\mathcal C_i|}

    Hardmax ties: the rule of :func:`controlml.attention.hardmax_step` (scores within
    ``tie_rtol`` times :math:`\|Az_i\|\max_k\|z_k\|` of the maximum, one numerical point per
    cluster of coincident tokens), the same code as the NumPy dynamics. The hardmax weights
    are piecewise constant, so they carry no gradient.

    Parameters
    ----------
    Z : torch.Tensor, shape (batch, n, d)
    A : torch.Tensor or array, shape (d, d)
    tau : float, >= 0
        Temperature; 0 selects the hardmax (4.3).
    tie_rtol : float, optional
        Relative tie tolerance of the hardmax (default: ``DEFAULT_TIE_RTOL`` = 1e-12 in
        float64, ``64 * eps`` of lower precisions).
    mask : torch.Tensor of bool, shape (batch, n), optional
        True on real tokens; padding (False) is never attended to. Each row needs one True.

    Returns
    -------
    torch.Tensor, shape (batch, n, n)
        Row-stochastic weights.
    """
    Z, A, tau_f = _check_tensor_inputs(Z, A, tau, tie_rtol)
    key = _check_key_mask(mask, Z)
    return _weights_torch(Z, A, tau_f, _rtol(tie_rtol, Z.dtype), key)


def _weights_torch(Z: torch.Tensor, A: torch.Tensor, tau: float, rtol: float,
                   key: torch.Tensor | None) -> torch.Tensor:
    if tau > 0:
        S = (Z @ A.T) @ Z.transpose(1, 2)  # S[b, i, l] = <A z_i, z_l>
        if key is not None:
            S = S.masked_fill(~key[:, None, :], -math.inf)
        return torch.softmax(S / tau, dim=-1)  # max-subtracted internally: stable for tiny tau
    return torch_hardmax(Z, A, key, rtol, leaders=False)[0]


def attention_step_torch(
    Z: torch.Tensor,
    A: Any,
    alpha: Any,
    tau: float,
    *,
    tie_rtol: float | None = None,
    mask: Any = None,
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
    tie_rtol : float, optional
        Relative tie tolerance of the hardmax (see :func:`attention_weights_torch`).
    mask : torch.Tensor of bool, shape (batch, n), optional
        True on real tokens of padded sequences; padding is never attended to.

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
    Z, A, tau_f = _check_tensor_inputs(Z, A, tau, tie_rtol)
    key = _check_key_mask(mask, Z)
    P = _weights_torch(Z, A, tau_f, _rtol(tie_rtol, Z.dtype), key)
    return (Z + alpha * (P @ Z)) / (1 + alpha)


@torch.no_grad()
def leader_mask_torch(Z: Any, A: Any, *, tie_rtol: float | None = None, mask: Any = None) -> torch.Tensor:
    r"""Leaders of each sequence of a batch as a bool mask: :math:`\mathcal C_i = \{i\}`.

    The definition of :func:`controlml.attention.leaders` (same code): token i leads when its
    hardmax tie set only holds tokens coinciding with :math:`z_i` (up to
    ``sqrt(tie_rtol) * max |z|``; a repeated word is one point) and i is the first of them,
    so each leader point is counted once. Padding (``mask`` False) never leads.

    Parameters
    ----------
    Z : torch.Tensor, shape (batch, n, d)
    A : torch.Tensor or array, shape (d, d)
    tie_rtol : float, optional
        As in :func:`attention_weights_torch`.
    mask : torch.Tensor of bool, shape (batch, n), optional
        True on real tokens.

    Returns
    -------
    torch.Tensor of bool, shape (batch, n)
    """
    Z, A, _ = _check_tensor_inputs(Z, A, 0.0, tie_rtol)
    key = _check_key_mask(mask, Z)
    rtol = _rtol(tie_rtol, Z.dtype)
    return torch_hardmax(Z, A, key, rtol)[1]

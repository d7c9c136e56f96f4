"""A transformer of alternating ReLU feed-forward and self-attention layers (Sec. 4.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import as_float_array
from ..errors import DatasetError, ParameterError
from ._dynamics import DEFAULT_TIE_RTOL, _hardmax, _softmax_weights

__all__ = ["FeedForward", "SelfAttention", "Transformer", "readout"]


@dataclass(frozen=True)
class FeedForward:
    r"""Token-wise ReLU layer :math:`\mathrm{FF}(X) = \eta X + \mathrm{ReLU}(XU + b)W`.

    ``eta = 1``: residual (ResNet) layer; ``eta = 0``: non-residual layer.

    Attributes
    ----------
    U : ndarray, shape (d, h)
    b : ndarray, shape (h,)
    W : ndarray, shape (h, d)
    eta : float
    """

    U: np.ndarray
    b: np.ndarray
    W: np.ndarray
    eta: float = 1.0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.eta * X + np.maximum(X @ self.U + self.b, 0.0) @ self.W

    @property
    def num_parameters(self) -> int:
        """Nonzero entries of U, b, W (and eta when nonzero)."""
        return int(np.count_nonzero(self.U) + np.count_nonzero(self.b) + np.count_nonzero(self.W)
                   + (self.eta != 0))

    @property
    def width(self) -> int:
        return int(self.U.shape[1])


@dataclass(frozen=True)
class SelfAttention:
    r"""Self-attention layer :math:`\mathrm{SA}(X) = \rho X + \pi^\tau_A(X)\,X V`.

    :math:`\pi^\tau_A` is the softmax (4.2) with matrix A and temperature ``tau``, or the hardmax
    (4.3) when ``tau == 0`` (ties within ``tie_rtol``, as in :func:`hardmax_step`). The layer
    (4.1a) is ``rho = 1/(1+alpha)``, ``V = alpha/(1+alpha) I``.

    Attributes
    ----------
    A : ndarray, shape (d, d)
    V : ndarray, shape (d, d)
    rho : float
    tau : float
    tie_rtol : float
    """

    A: np.ndarray
    V: np.ndarray
    rho: float = 1.0
    tau: float = 0.0
    tie_rtol: float = DEFAULT_TIE_RTOL

    def weights(self, X: np.ndarray) -> np.ndarray:
        """Attention matrix, shape (B, n, n) for X (B, n, d)."""
        if self.tau > 0:
            S = X @ self.A.T @ X.transpose(0, 2, 1)  # <A z_i, z_l>
            return _softmax_weights(S, self.tau)
        return _hardmax(np.ascontiguousarray(X), np.ascontiguousarray(self.A), self.tie_rtol)[0]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.rho * X + self.weights(X) @ X @ self.V

    @property
    def num_parameters(self) -> int:
        """Nonzero entries of A, V (and rho when nonzero)."""
        return int(np.count_nonzero(self.A) + np.count_nonzero(self.V) + (self.rho != 0))


def _as_sequences(Z: Any, name: str) -> tuple[list[np.ndarray], bool]:
    if isinstance(Z, np.ndarray) and Z.ndim in (2, 3):
        arr = as_float_array(Z, name, "an array (n, d) or (N, n, d)")
        seqs = [arr] if arr.ndim == 2 else list(arr)
        single = arr.ndim == 2
    elif isinstance(Z, list | tuple):
        seqs, single = [], False
        for j, z in enumerate(Z):
            a = as_float_array(z, f"{name}[{j}]", "a numeric array of shape (n, d)")
            if a.ndim != 2:
                raise DatasetError(f"{name}[{j}] must have shape (n, d); got shape {a.shape}")
            seqs.append(a)
    else:
        arr = as_float_array(Z, name, "an array (n, d), (N, n, d) or a list of (n_j, d) arrays")
        return _as_sequences(arr, name) if arr.ndim in (2, 3) else _bad(name, arr)
    for j, a in enumerate(seqs):
        if a.shape[0] < 1:
            raise DatasetError(f"{name}[{j}] has no tokens (shape {a.shape}): every sequence needs one")
        if not np.all(np.isfinite(a)):
            raise DatasetError(f"{name}[{j}] contains a non-finite value (NaN or inf): remove or impute it")
    return seqs, single


def _bad(name: str, arr: np.ndarray):
    raise DatasetError(f"{name} must have shape (n, d) or (N, n, d); got shape {arr.shape}")


@dataclass(frozen=True)
class Transformer:
    r"""A composition :math:`T = L_K\circ\cdots\circ L_1` of :class:`FeedForward` and
    :class:`SelfAttention` layers acting on sequences :math:`Z\in(\mathbb R^d)^n`.

    Attributes
    ----------
    layers : tuple of FeedForward / SelfAttention
    d : int
        Token dimension.
    """

    layers: tuple
    d: int

    def forward(self, Z: Any, *, return_all: bool = False) -> Any:
        """Apply T.

        Parameters
        ----------
        Z : array (n, d), array (B, n, d), or list of (n_j, d) arrays
        return_all : bool
            Also return the list of intermediate states (one per layer, input first).

        Returns
        -------
        Same container as ``Z`` (float64); with ``return_all`` a pair (output, states).
        """
        if isinstance(Z, np.ndarray) and Z.ndim == 3:
            X = np.asarray(Z, dtype=np.float64)
            if X.shape[-1] != self.d:
                raise DatasetError(f"Z must have d = {self.d} columns; got shape {X.shape}")
            states = [X]
            for L in self.layers:
                X = L(X)
                states.append(X)
            return (X, states) if return_all else X
        seqs, single = _as_sequences(Z, "Z")
        outs, all_states = [], []
        for j, s in enumerate(seqs):
            if s.shape[1] != self.d:
                raise DatasetError(f"Z[{j}] must have d = {self.d} columns; got shape {s.shape}")
            o = self.forward(s[None], return_all=return_all)
            if return_all:
                outs.append(o[0][0])
                all_states.append([x[0] for x in o[1]])
            else:
                outs.append(o[0])
        if single:
            return (outs[0], all_states[0]) if return_all else outs[0]
        return (outs, all_states) if return_all else outs

    __call__ = forward

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def num_attention_layers(self) -> int:
        return sum(isinstance(L, SelfAttention) for L in self.layers)

    @property
    def num_blocks(self) -> int:
        """Blocks FF -> SA (a trailing FF counts as one more block)."""
        return (len(self.layers) + 1) // 2

    @property
    def num_parameters(self) -> int:
        """Nonzero parameters of all layers."""
        return sum(L.num_parameters for L in self.layers)

    def to_torch(self, *, dtype: Any = None, device: Any = None) -> Any:
        """Export as a ``torch.nn.Module`` acting on (batch, n, d) tensors (same forward pass).

        The parameters become ``torch.nn.Parameter`` (trainable); the hardmax layers keep
        their piecewise-constant weights (no gradient through the attention pattern).
        """
        import torch

        from ._torch_modules import TorchTransformer

        dtype = dtype or torch.get_default_dtype()
        return TorchTransformer(self, dtype=dtype, device=device)


def readout(Z: Any, *, rtol: float = 1e-9) -> np.ndarray:
    r"""The readout R: remove repeated tokens (first occurrence kept, order preserved).

    Two tokens are repeats when :math:`\|z_i - z_j\| \le \mathrm{rtol}\,\max(1, \max_k\|z_k\|)`
    (softmax layers reproduce a cluster point only up to rounding).

    Parameters
    ----------
    Z : array, shape (n, d)
    rtol : float >= 0

    Returns
    -------
    ndarray, shape (m, d), m <= n
    """
    X = as_float_array(Z, "Z", "a numeric array of shape (n, d)")
    if X.ndim != 2:
        raise DatasetError(f"Z must have shape (n, d); got shape {X.shape}")
    if X.shape[0] == 0:
        raise DatasetError(f"Z has no tokens (shape {X.shape}): a sequence needs at least one token")
    if not (isinstance(rtol, int | float) and not isinstance(rtol, bool)) or rtol < 0:
        raise ParameterError(f"rtol must be a float >= 0; got {rtol!r}")
    tol = rtol * max(1.0, float(np.linalg.norm(X, axis=1).max()))
    keep: list[int] = []
    for i in range(X.shape[0]):
        if not keep or np.min(np.linalg.norm(X[keep] - X[i], axis=1)) > tol:
            keep.append(i)
    return X[keep]

"""The multilayer perceptron (5.1) of the paper, as a list of explicit layers.

.. math::

    x^{k+1} = \\sigma(A^k x^k + b^k),\\qquad k = 0, \\dots, L-1,

with :math:`\\sigma` the component-wise ReLU on every hidden layer and the last map
:math:`x^L = A^{L-1} x^{L-1} + b^{L-1}` affine (the read-out).  The *depth* is
:math:`L`, the number of affine maps :math:`(A^k, b^k)` (the read-out included), as the
paper counts the layers of (5.1); the widths are :math:`d_0 = d, d_1, \\dots, d_L`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import as_points
from ..errors import DatasetError, ParameterError

__all__ = ["MLP"]


class MLP:
    """A ReLU multilayer perceptron given by its layers ``[(A^0, b^0), ..., (A^{L-1}, b^{L-1})]``.

    Parameters
    ----------
    layers : sequence of (A, b)
        ``A^k`` of shape ``(d_{k+1}, d_k)``, ``b^k`` of shape ``(d_{k+1},)``; consecutive
        shapes must chain.  ReLU follows every layer but the last (the affine read-out).
    classes : sequence (M,), optional
        For a classifier with a scalar output (``d_L = 1``): ``classes[c]`` is the label whose
        *code* is ``c``, for ``M`` classes (the network outputs the code; :meth:`predict`
        rounds it to the nearest code ``0..M-1`` and returns the label).  Default ``None``: no
        label map.  Stored as an object array; giving it for a vector output is an error.

    Attributes
    ----------
    layers : list of (ndarray, ndarray)
        Float64 copies of the parameters.
    widths : tuple of int
        ``(d_0, d_1, ..., d_L)``: input width, hidden widths, output width.
    depth : int
        ``L``, the number of affine layers (hidden layers + the read-out).
    num_parameters : int
        ``sum_k d_{k+1} (d_k + 1)``.
    classes : ndarray (M,) or None
        Labels by code, ``classes[c]`` for code ``c`` (object dtype; see above).
    """

    def __init__(self, layers: Sequence[tuple[Any, Any]], *, classes: Sequence | None = None):
        if len(layers) == 0:
            raise ParameterError("layers must hold at least one (A, b) pair; got an empty sequence")
        clean: list[tuple[np.ndarray, np.ndarray]] = []
        for k, layer in enumerate(layers):
            try:
                A, b = layer
            except (TypeError, ValueError) as exc:
                raise ParameterError(f"layers[{k}] must be a pair (A, b); got {type(layer).__name__}") from exc
            A = np.array(A, dtype=np.float64)
            b = np.array(b, dtype=np.float64).reshape(-1)
            if A.ndim != 2 or b.shape[0] != A.shape[0]:
                raise ParameterError(
                    f"layers[{k}]: A must be 2-D (d_out, d_in) and b of length d_out; got shapes "
                    f"{A.shape} and {b.shape}")
            if clean and clean[-1][0].shape[0] != A.shape[1]:
                raise ParameterError(
                    f"layers[{k}]: A has {A.shape[1]} input columns but layer {k - 1} outputs "
                    f"{clean[-1][0].shape[0]} values")
            if not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
                raise ParameterError(f"layers[{k}] has a non-finite weight or bias")
            clean.append((A, b))
        self.layers = clean
        self.classes = None if classes is None else np.asarray(classes, dtype=object)
        if self.classes is not None and self.widths[-1] != 1:
            raise ParameterError("classes is only meaningful for a network with a scalar output; "
                                 f"this one outputs {self.widths[-1]} values")

    # -- structure ---------------------------------------------------------------------------
    @property
    def widths(self) -> tuple[int, ...]:
        return (self.layers[0][0].shape[1], *(A.shape[0] for A, _ in self.layers))

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def max_width(self) -> int:
        """Largest hidden width ``max(d_1, ..., d_{L-1})`` (the output width if L = 1)."""
        hidden = self.widths[1:-1]
        return max(hidden) if hidden else self.widths[-1]

    @property
    def num_parameters(self) -> int:
        return int(sum(A.size + b.size for A, b in self.layers))

    def parameter_norm(self) -> float:
        """Euclidean norm of all weights and biases, :math:`\\|\\theta\\|_2`."""
        return float(np.sqrt(sum(np.sum(A * A) + np.sum(b * b) for A, b in self.layers)))

    def __repr__(self) -> str:
        return f"MLP(widths={self.widths[:4]}{'...' if self.depth > 3 else ''}, depth={self.depth})"

    # -- evaluation --------------------------------------------------------------------------
    def _input(self, X: Any) -> np.ndarray:
        X = as_points(X, "X")
        if X.shape[1] != self.widths[0]:
            raise DatasetError(f"X must have {self.widths[0]} columns (the input width d_0); "
                               f"got shape {X.shape}")
        return X

    def __call__(self, X: Any, *, return_hidden: bool = False) -> Any:
        """Evaluate the network on ``X`` (N, d_0) in float64; returns (N, d_L).

        With ``return_hidden=True`` also returns the list of states ``[x^0, ..., x^L]``.
        """
        H = self._input(X)
        states = [H] if return_hidden else None
        last = self.depth - 1
        for k, (A, b) in enumerate(self.layers):
            H = H @ A.T + b
            if k < last:
                np.maximum(H, 0.0, out=H)
            if states is not None:
                states.append(H)
        return (H, states) if return_hidden else H

    def predict(self, X: Any) -> np.ndarray:
        """Labels for a classifier: the output rounded to the nearest code, mapped by ``classes``.

        Without ``classes``, a scalar output is rounded to the nearest integer and a vector
        output returns its arg-max.
        """
        out = self(X)
        if out.shape[1] > 1:
            return np.argmax(out, axis=1)
        if self.classes is None:
            return np.rint(out[:, 0]).astype(np.int64)
        code = np.clip(np.rint(out[:, 0]), 0, len(self.classes) - 1).astype(np.int64)
        return _as_label_array(self.classes[code])

    def to_torch(self, dtype: Any = None):
        """An ``nn.Sequential`` of ``Linear`` / ``ReLU`` computing the same map (``dtype`` float64 default)."""
        import torch
        from torch import nn

        dtype = torch.float64 if dtype is None else dtype
        if dtype not in (torch.float32, torch.float64):
            raise ParameterError(f"dtype must be torch.float32 or torch.float64; got {dtype!r}")
        mods: list[nn.Module] = []
        last = self.depth - 1
        for k, (A, b) in enumerate(self.layers):
            lin = nn.Linear(A.shape[1], A.shape[0], dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.as_tensor(A, dtype=dtype))
                lin.bias.copy_(torch.as_tensor(b, dtype=dtype))
            mods.append(lin)
            if k < last:
                mods.append(nn.ReLU())
        return nn.Sequential(*mods)

    @classmethod
    def from_torch(cls, module, *, classes: Sequence | None = None) -> MLP:
        """The inverse of :meth:`to_torch` for a ``Sequential`` of ``Linear`` and ``ReLU``."""
        from torch import nn

        layers = []
        for m in module:
            if isinstance(m, nn.Linear):
                b = m.bias.detach().cpu().numpy() if m.bias is not None else np.zeros(m.out_features)
                layers.append((m.weight.detach().cpu().numpy(), b))
            elif not isinstance(m, nn.ReLU):
                raise ParameterError(f"from_torch accepts Linear and ReLU modules only; got {type(m).__name__}")
        return cls(layers, classes=classes)


def _as_label_array(values: np.ndarray) -> np.ndarray:
    """Object labels back to a plain dtype where possible (ints stay ints, strings stay str)."""
    items = values.tolist()
    if len({type(v) for v in items}) > 1 or any(isinstance(v, tuple) for v in items):
        return values
    try:
        out = np.array(items)
    except (TypeError, ValueError):
        return values
    return out if out.dtype != object and out.ndim == 1 else values

"""The shallow network (2.1) and its atomic-measure view (2.5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import as_points, as_vector, check_option
from ..errors import DatasetError

__all__ = ["ShallowNetwork", "ACTIVATIONS"]

#: activation name -> Lipschitz constant (the :math:`\mathcal{L}` of Thm 2.2)
ACTIVATIONS = {"relu": 1.0, "sigmoid": 0.25, "tanh": 1.0}


def _act(name: str, s: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(s, 0.0)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * s))
    return np.tanh(s)


@dataclass(frozen=True)
class ShallowNetwork:
    r"""A shallow (two-layer) network, eq. (2.1) of the paper.

    .. math::
        f_{\mathrm{shallow}}(x, \Theta) = \sum_{j \in [P]} w_j \,\sigma(\langle a_j, x\rangle + b_j)

    Parameters
    ----------
    w : array (P,)
        Output weights (amplitudes) :math:`w_j`.
    A : array (P, d)
        Input weights; row ``j`` is :math:`a_j`.
    b : array (P,)
        Biases :math:`b_j`.
    activation : {"relu", "sigmoid", "tanh"}
        :math:`\sigma`; ``"relu"`` (the paper's choice) by default.

    Notes
    -----
    The same network is the atomic measure (2.5)
    :math:`\mu = \sum_j w_j \delta_{(a_j, b_j)}` on :math:`\Omega \subset \mathbb{R}^{d+1}`,
    see :meth:`as_measure`; its total variation :math:`\|\mu\|_{TV} = \sum_j |w_j|`
    is the objective of (P0)/(PR0) when the atoms are distinct.
    """

    w: np.ndarray
    A: np.ndarray
    b: np.ndarray
    activation: str = "relu"

    def __post_init__(self) -> None:
        check_option(self.activation, "activation", ACTIVATIONS)
        w = np.asarray(self.w, dtype=np.float64)
        A = np.asarray(self.A, dtype=np.float64)
        b = np.asarray(self.b, dtype=np.float64)
        if w.ndim != 1:
            raise DatasetError(f"w must be 1-D of shape (P,); got shape {w.shape}")
        P = w.shape[0]
        if A.ndim != 2 or A.shape[0] != P:
            raise DatasetError(f"A must have shape (P, d) = ({P}, d) to match w; got shape {A.shape}")
        if b.shape != (P,):
            raise DatasetError(f"b must have shape (P,) = ({P},) to match w; got shape {b.shape}")
        for name, arr in (("w", w), ("A", A), ("b", b)):
            if not np.all(np.isfinite(arr)):
                raise DatasetError(f"{name} contains a non-finite value (NaN or inf)")
            arr.setflags(write=False)
        object.__setattr__(self, "w", w)
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "b", b)

    # -- sizes -----------------------------------------------------------------
    @property
    def width(self) -> int:
        """P, the number of neurons."""
        return int(self.w.shape[0])

    @property
    def dim(self) -> int:
        """d, the input dimension."""
        return int(self.A.shape[1])

    @property
    def n_atoms(self) -> int:
        """Number of neurons with a non-zero output weight."""
        return int(np.count_nonzero(self.w))

    @property
    def total_variation(self) -> float:
        r""":math:`\sum_j |w_j|`, the (P0) objective."""
        return float(np.sum(np.abs(self.w)))

    @property
    def sensitivity(self) -> float:
        r""":math:`\mathcal{L}\sum_j |w_j|\,\|a_j\|`, the factor of :math:`d_{KR}(m_X, m_{X'})` in (2.12)."""
        return float(ACTIVATIONS[self.activation] * np.sum(np.abs(self.w) * np.linalg.norm(self.A, axis=1)))

    # -- evaluation ------------------------------------------------------------
    def features(self, X: Any) -> np.ndarray:
        r"""The hidden layer :math:`\sigma(\langle a_j, x_i\rangle + b_j)`, shape (N, P)."""
        X = as_points(X, "X", dim=self.dim)
        return _act(self.activation, X @ self.A.T + self.b)

    def __call__(self, X: Any) -> np.ndarray:
        """Evaluate (2.1) at the rows of ``X`` (N, d); returns (N,)."""
        return self.features(X) @ self.w

    predict = __call__

    # -- measure view ----------------------------------------------------------
    def as_measure(self) -> tuple[np.ndarray, np.ndarray]:
        r"""The atomic measure (2.5): ``(weights (P,), atoms (P, d+1))`` with atom ``j`` = :math:`(a_j, b_j)`."""
        return self.w.copy(), np.column_stack([self.A, self.b])

    @classmethod
    def from_measure(cls, weights: Any, atoms: Any, activation: str = "relu") -> ShallowNetwork:
        r"""Build the network of the atomic measure :math:`\sum_j w_j\delta_{(a_j,b_j)}`.

        ``weights`` (P,), ``atoms`` (P, d+1) with rows :math:`(a_j, b_j)`.
        """
        atoms = as_points(atoms, "atoms", min_dim=2)
        weights = as_vector(weights, "weights", size=atoms.shape[0])
        return cls(weights, atoms[:, :-1], atoms[:, -1], activation)

    def pruned(self, tol: float = 0.0) -> ShallowNetwork:
        """The same function without the neurons whose ``|w_j| <= tol``."""
        keep = np.abs(self.w) > tol
        return ShallowNetwork(self.w[keep], self.A[keep], self.b[keep], self.activation)

    def normalized(self) -> ShallowNetwork:
        r"""ReLU only: rescale every neuron so that :math:`\|(a_j, b_j)\| = 1` (same function).

        Uses :math:`\sigma(t s) = t\sigma(s)` for :math:`t \ge 0`; neurons with
        :math:`(a_j, b_j) = 0` are dropped (they are identically zero).
        """
        if self.activation != "relu":
            raise DatasetError("normalized() uses the positive homogeneity of ReLU; activation is "
                               f"{self.activation!r}")
        atoms = np.column_stack([self.A, self.b])
        r = np.linalg.norm(atoms, axis=1)
        keep = r > 0
        atoms = atoms[keep] / r[keep, None]
        return ShallowNetwork(self.w[keep] * r[keep], atoms[:, :-1], atoms[:, -1], "relu")

"""Piecewise-constant controls of the neural ODE (3.3).

.. math::
    \\dot x(t) = W(t)\\,\\sigma(A(t) x(t) + b(t)), \\qquad t \\in (0, T),

with :math:`(W, A, b)` constant on each of the ``L + 1`` pieces of a partition
of :math:`[0, T]`; ``L`` is the number of switches (jumps), the paper's
measure of depth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._checks import check_positive
from ...errors import ControlError

__all__ = ["Piece", "Control"]


def _frozen(x: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ControlError(f"{name} must be a numeric array of shape {shape}") from exc
    if arr.shape != shape:
        raise ControlError(f"{name} must have shape {shape}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ControlError(f"{name} contains NaN or inf")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Piece:
    """One constant piece :math:`(W, A, b)` of a control, held for ``duration``.

    Parameters
    ----------
    duration : float
        Length of the time interval (> 0).
    W : array (d, P)
        Output weights; column ``j`` is the "wind" direction :math:`w_j` of neuron ``j``.
    A : array (P, d)
        Input weights; row ``j`` is the normal :math:`a_j` of the hyperplane :math:`H_j`.
    b : array (P,)
        Biases :math:`b_j`.
    """

    duration: float
    W: np.ndarray
    A: np.ndarray
    b: np.ndarray

    def __post_init__(self) -> None:
        try:
            dur = check_positive(self.duration, "duration")
        except ValueError as exc:
            raise ControlError(f"a piece's duration must be a finite number > 0; got {self.duration!r}") from exc
        W = np.asarray(self.W, dtype=np.float64)
        if W.ndim == 1:  # a single neuron given as w (d,)
            W = W[:, None]
        if W.ndim != 2:
            raise ControlError(f"W must have shape (d, P); got shape {W.shape}")
        d, P = W.shape
        A = np.asarray(self.A, dtype=np.float64)
        if A.ndim == 1 and P == 1:
            A = A[None, :]
        object.__setattr__(self, "duration", dur)
        object.__setattr__(self, "W", _frozen(W, "W", (d, P)))
        object.__setattr__(self, "A", _frozen(A, "A", (P, d)))
        object.__setattr__(self, "b", _frozen(np.atleast_1d(self.b), "b", (P,)))

    @classmethod
    def _trusted(cls, duration: float, W: np.ndarray, A: np.ndarray, b: np.ndarray) -> Piece:
        """Internal constructor for arrays already validated by a construction (no copies)."""
        p = object.__new__(cls)
        for name, v in (("W", W), ("A", A), ("b", b)):
            v = np.ascontiguousarray(v, dtype=np.float64)
            v.setflags(write=False)
            object.__setattr__(p, name, v)
        object.__setattr__(p, "duration", float(duration))
        return p

    @property
    def dim(self) -> int:
        """State dimension d."""
        return self.W.shape[0]

    @property
    def width(self) -> int:
        """Number of neurons P."""
        return self.W.shape[1]

    @property
    def theta(self) -> np.ndarray:
        """All parameters flattened, ``(W, A, b)``: shape ((2d + 1) P,)."""
        return np.concatenate([self.W.ravel(), self.A.ravel(), self.b])

    def __repr__(self) -> str:
        return f"Piece(duration={self.duration:.4g}, d={self.dim}, P={self.width})"


@dataclass(frozen=True, eq=False)
class Control:
    """A piecewise-constant control: a sequence of :class:`Piece` of equal (d, P).

    Attributes
    ----------
    pieces : tuple of Piece
        The constant pieces in time order.
    dim : int
        State dimension d.
    width : int
        Neurons per piece P.
    T : float
        Time horizon, the sum of the durations.
    num_switches : int
        L = number of pieces - 1 (the depth of the associated ResNet).
    num_parameters : int
        (L + 1) (2d + 1) P.
    """

    pieces: tuple[Piece, ...]

    def __post_init__(self) -> None:
        pieces = tuple(self.pieces)
        if not pieces:
            raise ControlError("a control needs at least one piece")
        for k, p in enumerate(pieces):
            if not isinstance(p, Piece):
                raise ControlError(f"pieces[{k}] must be a Piece; got {type(p).__name__}")
        d, P = pieces[0].dim, pieces[0].width
        for k, p in enumerate(pieces):
            if (p.dim, p.width) != (d, P):
                raise ControlError(
                    f"all pieces must share (d, P) = ({d}, {P}); piece {k} has ({p.dim}, {p.width}). "
                    "Pad narrower pieces with zero neurons (w = 0).")
        object.__setattr__(self, "pieces", pieces)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, durations: Sequence[float], W: Any, A: Any, b: Any) -> Control:
        """Build from stacked arrays: durations (L+1,), W (L+1, d, P), A (L+1, P, d), b (L+1, P)."""
        W, A, b = (np.asarray(v, dtype=np.float64) for v in (W, A, b))
        n = len(durations)
        if W.ndim != 3 or A.ndim != 3 or b.ndim != 2 or not (W.shape[0] == A.shape[0] == b.shape[0] == n):
            raise ControlError(
                "expected durations (L+1,), W (L+1, d, P), A (L+1, P, d), b (L+1, P); got "
                f"{n}, {W.shape}, {A.shape}, {b.shape}")
        return cls(tuple(Piece(float(t), W[k], A[k], b[k]) for k, t in enumerate(durations)))

    def to_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Inverse of :meth:`from_arrays`: (durations, W, A, b) stacked over pieces."""
        return (np.array([p.duration for p in self.pieces]), np.stack([p.W for p in self.pieces]),
                np.stack([p.A for p in self.pieces]), np.stack([p.b for p in self.pieces]))

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Cached :meth:`to_arrays` (read-only views)."""
        cached = self.__dict__.get("_arrays")
        if cached is None:
            cached = self.to_arrays()
            for a in cached:
                a.setflags(write=False)
            object.__setattr__(self, "_arrays", cached)
        return cached

    def then(self, other: Control) -> Control:
        """The concatenation: ``self`` on [0, T1], then ``other`` on [T1, T1 + T2]."""
        return Control(self.pieces + other.pieces)

    def rescaled(self, T: float) -> Control:
        """The same flow map on the horizon ``T``: durations times c = T / self.T, W divided by c."""
        T = check_positive(T, "T")
        c = T / self.T
        return Control(tuple(Piece(p.duration * c, p.W / c, p.A, p.b) for p in self.pieces))

    # -- attributes --------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.pieces[0].dim

    @property
    def width(self) -> int:
        return self.pieces[0].width

    @property
    def T(self) -> float:
        return float(sum(p.duration for p in self.pieces))

    @property
    def num_switches(self) -> int:
        return len(self.pieces) - 1

    @property
    def num_parameters(self) -> int:
        return len(self.pieces) * (2 * self.dim + 1) * self.width

    @property
    def switch_times(self) -> np.ndarray:
        """The L switching instants in (0, T), shape (L,)."""
        return np.cumsum([p.duration for p in self.pieces])[:-1]

    def __len__(self) -> int:
        return len(self.pieces)

    def __iter__(self) -> Iterable[Piece]:
        return iter(self.pieces)

    def __repr__(self) -> str:
        return (f"Control(d={self.dim}, P={self.width}, L={self.num_switches}, T={self.T:.4g}, "
                f"num_parameters={self.num_parameters})")

    # -- norms -------------------------------------------------------------------------------
    def bv_seminorm(self) -> float:
        """Total variation of :math:`\\theta = (a, b, w)` on [0, T]: the sum of the jumps.

        .. math:: |\\theta|_{BV} = \\sum_{k=0}^{L-1} |\\theta_{k+1} - \\theta_k|

        with :math:`|\\cdot|` the Euclidean norm of all parameters of a piece.
        """
        th = np.stack([p.theta for p in self.pieces])
        return float(np.linalg.norm(np.diff(th, axis=0), axis=1).sum())

    def bv_norm(self) -> float:
        """The BV norm of (3.11)/(3.13): :math:`\\|\\theta\\|_{L^1(0,T)} + |\\theta|_{BV}`.

        ``bv_norm() ** 2`` is the quantity bounded by K in (3.11) and (3.14).
        """
        l1 = sum(p.duration * float(np.linalg.norm(p.theta)) for p in self.pieces)
        return l1 + self.bv_seminorm()

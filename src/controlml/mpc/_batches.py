"""Random batches of the parts A = sum_m A_m (randomized time-splitting, RBM).

On every time interval of length <= h a subset omega_k of {0..M-1} is drawn, and the
dynamics use A_h = sum_{m in omega_k} A_m / pi_m with pi_m = P(m in omega), so that
E[A_h] = sum_m A_m (sum_{omega ni m} P(omega)) / pi_m = A exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._checks import check_option, check_positive
from ..errors import ParameterError

__all__ = ["BatchRule", "RBM", "mean_operator"]

_RULES = ("one-part", "drop-one", "random-subsets")


@dataclass(frozen=True)
class BatchRule:
    """A law of the random subset omega of the parts {0, ..., M-1}.

    Either a finite list of ``subsets`` with their ``probabilities`` (summing to 1), or a
    ``sampler(rng) -> subset`` with the inclusion probabilities ``pi`` (M,) it realises.

    Attributes
    ----------
    M : int, number of parts
    subsets : tuple of tuples of part indices, or None (sampler given)
    probabilities : (L,) probabilities of the subsets, or None
    pi : (M,) inclusion probabilities pi_m = P(m in omega), all > 0
    sampler : callable or None
    """

    M: int
    subsets: tuple | None
    probabilities: np.ndarray | None
    pi: np.ndarray
    sampler: Callable | None = None

    @classmethod
    def from_subsets(cls, subsets: Sequence[Sequence[int]], probabilities: Sequence[float],
                     M: int) -> BatchRule:
        """A finite law: ``subsets[l]`` drawn with ``probabilities[l]``."""
        subs = tuple(tuple(sorted({int(i) for i in s})) for s in subsets)
        probs = np.asarray(probabilities, dtype=np.float64)
        if probs.shape != (len(subs),):
            raise ParameterError(f"probabilities must have one entry per subset ({len(subs)}); "
                                 f"got shape {probs.shape}")
        if np.any(~np.isfinite(probs)) or np.any(probs < 0):
            raise ParameterError("batch probabilities must be finite and >= 0; got "
                                 f"{probs.tolist()}")
        if abs(probs.sum() - 1.0) > 1e-12:
            raise ParameterError(f"batch probabilities must sum to 1; they sum to {float(probs.sum())!r}: "
                                 "normalise them")
        for s in subs:
            if any(i < 0 or i >= M for i in s):
                raise ParameterError(f"subset {s} names a part outside 0..{M - 1}")
        pi = np.zeros(M)
        for s, p in zip(subs, probs, strict=True):
            pi[list(s)] += p
        _check_pi(pi)
        return cls(M, subs, probs, pi)

    @classmethod
    def from_sampler(cls, sampler: Callable, pi: Sequence[float], M: int) -> BatchRule:
        """A law given by ``sampler(rng) -> iterable of part indices`` with inclusion ``pi``."""
        if not callable(sampler):
            raise ParameterError(f"sampler must be callable; got {type(sampler).__name__}")
        piv = np.asarray(pi, dtype=np.float64)
        if piv.shape != (M,):
            raise ParameterError(f"pi must have one inclusion probability per part ({M}); got "
                                 f"shape {piv.shape}")
        _check_pi(piv)
        return cls(M, None, None, piv, sampler)

    @classmethod
    def named(cls, name: str, M: int, *, p: float = 0.5) -> BatchRule:
        """``"one-part"`` (omega = {m}, uniform), ``"drop-one"`` (omega = all but one, uniform),
        ``"random-subsets"`` (each part independently with probability ``p``)."""
        check_option(name, "batches", _RULES)
        if name == "one-part":
            return cls.from_subsets([(m,) for m in range(M)], np.full(M, 1.0 / M), M)
        if name == "drop-one":
            if M < 2:
                raise ParameterError("batches='drop-one' needs at least 2 parts")
            subs = [tuple(i for i in range(M) if i != m) for m in range(M)]
            return cls.from_subsets(subs, np.full(M, 1.0 / M), M)
        if not 0 < p <= 1:
            raise ParameterError(f"p must be in (0, 1]; got {p!r}")
        if M <= 12:
            subs, probs = [], []
            for mask in itertools.product((0, 1), repeat=M):
                k = sum(mask)
                subs.append(tuple(i for i in range(M) if mask[i]))
                probs.append(p**k * (1 - p) ** (M - k))
            probs = np.asarray(probs)
            return cls.from_subsets(subs, probs / probs.sum(), M)

        def sampler(rng):
            return tuple(np.flatnonzero(rng.random(M) < p))

        return cls.from_sampler(sampler, np.full(M, p), M)

    def draw(self, rng: np.random.Generator) -> tuple:
        if self.sampler is not None:
            return tuple(sorted({int(i) for i in self.sampler(rng)}))
        return self.subsets[int(rng.choice(len(self.subsets), p=self.probabilities))]

    def operator(self, parts: Sequence[Any], omega: tuple) -> Any:
        """A_omega = sum_{m in omega} A_m / pi_m (CSR)."""
        n = parts[0].shape[0]
        out = sp.csr_matrix((n, n))
        for m in omega:
            out = out + parts[m] / self.pi[m]
        return out


def _check_pi(pi: np.ndarray) -> None:
    if np.any(~np.isfinite(pi)) or np.any(pi <= 0) or np.any(pi > 1 + 1e-12):
        bad = int(np.argmax(~np.isfinite(pi) | (pi <= 0) | (pi > 1 + 1e-12)))
        raise ParameterError(f"every part must be drawn with probability in (0, 1] so that "
                             f"E[A_h] = A; part {bad} has pi = {float(pi[bad])!r}")


@dataclass(frozen=True)
class RBM:
    """Random batch setting: the rule of the batches and the length ``h`` of an interval.

    Parameters
    ----------
    batches : "one-part", "drop-one", "random-subsets", a :class:`BatchRule`, or a callable
        ``sampler(rng) -> subset`` (then give ``pi``, the inclusion probabilities (M,)).
    h : float > 0, the length of the intervals on which a batch is kept (>= the time step).
    pi : (M,) inclusion probabilities for a callable ``batches``.
    """

    batches: Any = "one-part"
    h: float = 1.0
    pi: Any = None

    def __post_init__(self):
        check_positive(self.h, "h")
        if isinstance(self.batches, str):
            check_option(self.batches, "batches", _RULES)
        elif not (isinstance(self.batches, BatchRule) or callable(self.batches)):
            raise ParameterError("batches must be 'one-part', 'drop-one', 'random-subsets', a "
                                 f"BatchRule or a callable; got {type(self.batches).__name__}")
        elif callable(self.batches) and not isinstance(self.batches, BatchRule) and self.pi is None:
            raise ParameterError("a callable batches needs pi, the probability of each part to be "
                                 "drawn, so that the batch operators can be rescaled by 1/pi_m")

    def rule(self, M: int) -> BatchRule:
        if isinstance(self.batches, BatchRule):
            if self.batches.M != M:
                raise ParameterError(f"the BatchRule is for {self.batches.M} parts; the problem "
                                     f"has {M}")
            return self.batches
        if isinstance(self.batches, str):
            return BatchRule.named(self.batches, M)
        return BatchRule.from_sampler(self.batches, self.pi, M)

    def steps_per_batch(self, dt: float) -> int:
        """Number of time steps per interval: floor(h/dt) (h >= dt required)."""
        s = int(np.floor(self.h / dt * (1 + 1e-12)))
        if s < 1:
            raise ParameterError(f"h must be >= the time step dt = {dt!r}; got h = {self.h!r}: "
                                 "refine dt or enlarge h")
        return s


def mean_operator(parts: Sequence[Any], rule: BatchRule) -> Any:
    """E[A_omega] = sum_omega P(omega) sum_{m in omega} A_m/pi_m, by enumeration (finite rules).

    Equals sum_m A_m for every valid rule; tested to rounding.

    Parameters
    ----------
    parts : sequence of M (n, n) sparse matrices or arrays
        The parts A_m, m = 0..M-1.
    rule : BatchRule
        A finite law of the batches (``subsets`` and ``probabilities`` given, not a
        sampler), for M parts.

    Returns
    -------
    scipy.sparse.csr_matrix
        The (n, n) mean batch operator E[A_omega].

    Raises
    ------
    ParameterError
        The rule is given by a sampler (no finite list of subsets to enumerate).
    """
    if rule.subsets is None:
        raise ParameterError("mean_operator needs a finite rule (subsets and probabilities)")
    n = parts[0].shape[0]
    out = sp.csr_matrix((n, n))
    for s, p in zip(rule.subsets, rule.probabilities, strict=True):
        if p > 0:
            out = out + p * rule.operator(parts, s)
    return out


def draw_keys(rule: BatchRule, s: int, K: int, rng: np.random.Generator) -> list[tuple]:
    """The batch of each of K steps, a new draw every s steps."""
    keys: list[tuple] = []
    while len(keys) < K:
        omega = rule.draw(rng)
        keys.extend([omega] * min(s, K - len(keys)))
    return keys

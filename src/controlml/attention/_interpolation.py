"""Exact sequence interpolation with hardmax / softmax transformers (Sec. 4.2), constructive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import (
    check_distinct_rows,
    check_int,
    check_option,
    check_positive,
    check_random_state,
    check_result_finite,
)
from ..errors import ConvergenceError, DatasetError
from ._transformer import FeedForward, SelfAttention, Transformer, _as_sequences, readout

__all__ = ["SequenceInterpolation", "interpolate_sequences"]

_NDIRS = 48  # random directions tried per ReLU bump


@dataclass(frozen=True)
class SequenceInterpolation:
    r"""Result of :func:`interpolate_sequences`.

    Attributes
    ----------
    transformer : Transformer
        T with :math:`(R\circ T)(Z^j) = Y^j` for every training pair (as sets).
    outputs : list of ndarray, shapes (m_j, d)
        :math:`R(T(Z^j))`.
    max_error : float
        Certificate: the largest Hausdorff distance between :math:`R(T(Z^j))` and :math:`Y^j`.
    num_layers, num_blocks, num_parameters : int
        Layers (FF and SA), blocks FF -> SA, and nonzero parameters of T. None depends on n.
    bound_blocks : int
        The paper's block count, :math:`2\sum_j m^j + 2N + 1` (hardmax) or
        :math:`2\sum_j m^j + 3N` (softmax).
    parameter_scale : int
        :math:`d\sum_j m^j` (the :math:`O(dNm)` of the paper); ``num_parameters / parameter_scale``
        is bounded independently of the data.
    num_witnesses : int
        Tokens used to separate the sequences (at most N - 1).
    tries : int
        Random draws used (each one is verified on the training data).
    attention : str
    tau : float
        Softmax temperature (0 for hardmax).
    status : str
        ``"interpolated"`` (``max_error <= atol``).
    """

    transformer: Transformer
    outputs: list
    max_error: float
    num_layers: int
    num_blocks: int
    num_parameters: int
    bound_blocks: int
    parameter_scale: int
    num_witnesses: int
    tries: int
    attention: str
    tau: float
    status: str


# ----------------------------------------------------------------------------- validation
def _key(row: np.ndarray) -> bytes:
    return np.ascontiguousarray(row + 0.0).tobytes()  # +0.0 folds -0.0 into 0.0


def _validate(Zs: Any, Ys: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    Z, _ = _as_sequences(Zs, "Zs")
    Y, _ = _as_sequences(Ys, "Ys")
    if len(Z) == 0:
        raise DatasetError("Zs holds no sequence (N = 0): pass at least one input sequence (n, d) "
                           "and its target sequence in Ys")
    if len(Z) != len(Y):
        raise DatasetError(f"Zs and Ys must hold the same number N of sequences; got {len(Z)} and {len(Y)}")
    d = Z[0].shape[1]
    for name, seqs in (("Zs", Z), ("Ys", Y)):
        for j, s in enumerate(seqs):
            if s.shape[1] != d:
                raise DatasetError(f"{name}[{j}] must have d = {d} columns like Zs[0]; got shape {s.shape}")
    if d < 2:
        raise DatasetError(
            "the tokens must have dimension d >= 2: the construction parks tokens on distinct points of "
            "a sphere in the negative orthant and separates sequences on a hyperplane, which needs d >= 2; "
            "embed 1-D tokens as (x, 0)"
        )
    for j, (z, y) in enumerate(zip(Z, Y, strict=False)):
        check_distinct_rows(z, f"Zs[{j}]", "hypothesis ii) of Sec. 4.2 asks for pairwise distinct tokens "
                            "within each input sequence (a sequence is a set of tokens)")
        check_distinct_rows(y, f"Ys[{j}]", "hypothesis ii) of Sec. 4.2 asks for pairwise distinct target "
                            "tokens (the readout removes repeats, so a repeated target cannot be produced)")
        if y.shape[0] > z.shape[0]:
            raise DatasetError(
                f"Ys[{j}] has m = {y.shape[0]} tokens but Zs[{j}] only n = {z.shape[0]}: a transformer maps "
                "n tokens to at most n distinct tokens, so m <= n is required"
            )
    seen: dict[frozenset, int] = {}
    for j, z in enumerate(Z):
        k = frozenset(_key(r) for r in z)
        if k in seen:
            raise DatasetError(
                f"Zs[{seen[k]}] and Zs[{j}] are the same set of tokens: hypothesis i) of Sec. 4.2 asks for "
                "pairwise distinct input sequences (T is permutation equivariant, so equal sets get equal "
                "outputs); merge the two pairs if their targets agree"
            )
        seen[k] = j
    # numerically coinciding but different tokens cannot be told apart by a stable construction
    allz = np.concatenate(Z)
    uniq = np.unique(allz + 0.0, axis=0)
    if uniq.shape[0] > 1:
        from scipy.spatial import cKDTree

        dist, _ = cKDTree(uniq).query(uniq, k=2)
        scale = max(1.0, float(np.abs(uniq).max()))
        if dist[:, 1].min() < 1e-9 * scale:
            i = int(np.argmin(dist[:, 1]))
            raise DatasetError(
                f"two different input tokens are closer than 1e-9 * {scale:.3g} (token {uniq[i].tolist()}): "
                "exact interpolation needs them to be either equal or clearly distinct; round the data"
                + (f" (all tokens are below {float(np.abs(uniq).max()):.3g}: rescale Zs and Ys "
                   "together to size ~1)" if float(np.abs(uniq).max()) < 1e-3 else "")
            )
    return Z, Y


# ----------------------------------------------------------------------------- ReLU bumps
class _Bumps:
    """Collects trapezoidal ReLU bumps (4 neurons each) into one FeedForward layer."""

    def __init__(self, d: int):
        self.d = d
        self.U: list[np.ndarray] = []
        self.b: list[float] = []
        self.W: list[np.ndarray] = []

    def constant(self, shift: np.ndarray) -> None:
        """One neuron ReLU(0 x + 1) * shift: a translation of every token."""
        if np.any(shift != 0):
            self.U.append(np.zeros(self.d))
            self.b.append(1.0)
            self.W.append(np.asarray(shift, dtype=np.float64))

    def add(self, v: np.ndarray, lo: float, hi: float, slope: float, value: np.ndarray) -> None:
        """Add ``value`` * trap(v.x), trap = 1 on [lo, hi], 0 outside [lo - slope, hi + slope]."""
        for bias, c in ((-(lo - slope), 1.0), (-lo, -1.0), (-hi, -1.0), (-(hi + slope), 1.0)):
            self.U.append(v)
            self.b.append(bias)
            self.W.append(c / slope * np.asarray(value, dtype=np.float64))

    def layer(self, eta: float) -> FeedForward:
        if not self.U:
            return FeedForward(np.zeros((self.d, 0)), np.zeros(0), np.zeros((0, self.d)), eta)
        return FeedForward(np.stack(self.U, axis=1), np.asarray(self.b), np.stack(self.W), eta)


def _best_direction(P_in: np.ndarray, P_out: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """Direction (among ``dirs``) separating the projections of P_in from those of P_out the most.

    Returns (v, lo, hi, gap) with [lo, hi] the hull of P_in's projections and ``gap`` the distance
    from it to the closest projection of P_out.
    """
    a = P_in @ dirs  # (k, D)
    lo, hi = a.min(axis=0), a.max(axis=0)
    if P_out.shape[0]:
        b = P_out @ dirs
        below = np.where(b < lo, lo - b, np.inf).min(axis=0)
        above = np.where(b > hi, b - hi, np.inf).min(axis=0)
        inside = np.any((b >= lo) & (b <= hi), axis=0)
        gap = np.where(inside, 0.0, np.minimum(below, above))
        # prefer wide gaps relative to the cluster's own width
        score = gap - (hi - lo)
    else:  # nothing to avoid: any finite support will do
        gap = 4.0 * (hi - lo) + np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi)))
        score = -(hi - lo)
    k = int(np.argmax(score))
    v, lo_k, hi_k = dirs[:, k], float(lo[k]), float(hi[k])
    if P_out.shape[0] and np.count_nonzero(b[:, k] > hi_k) > np.count_nonzero(b[:, k] < lo_k):
        # orient the bump so that most tokens lie on its exactly-zero side (t below the
        # support: every ReLU is 0), not on the side where its four ReLUs cancel up to rounding
        v, lo_k, hi_k = -v, -hi_k, -lo_k
    return v, lo_k, hi_k, float(gap[k])


def _random_dirs(d: int, rng: np.random.Generator) -> np.ndarray:
    D = rng.normal(size=(d, _NDIRS))
    return D / np.linalg.norm(D, axis=0)


def _move_points(bumps: _Bumps, sources: list[np.ndarray], moves: list[np.ndarray], vocab: np.ndarray,
                 src_idx: list[int], rng: np.random.Generator, scale: float) -> None:
    """Residual bumps moving each vocabulary point sources[k] by moves[k], nobody else."""
    dirs = _random_dirs(vocab.shape[1], rng)
    mask = np.ones(vocab.shape[0], dtype=bool)
    for s, mv, i in zip(sources, moves, src_idx, strict=False):
        mask[i] = False
        v, lo, hi, gap = _best_direction(s[None], vocab[mask], dirs)
        mask[i] = True
        if not gap > 1e-9 * scale:
            raise _Retry(f"no direction isolates a token (gap {gap:.2e})")
        w = gap / 4.0
        bumps.add(v, lo - w, hi + w, gap / 2.0, mv)


class _Retry(Exception):
    """This random draw failed its verification: draw again."""


# ----------------------------------------------------------------------------- the construction
def _witnesses(Z: list[np.ndarray]) -> list[bytes]:
    """Greedy separating set: tokens whose presence pattern tells the sequences apart (<= N - 1)."""
    sets = [frozenset(_key(r) for r in z) for z in Z]
    W: list[bytes] = []
    while True:
        classes: dict[tuple, list[int]] = {}
        for j, s in enumerate(sets):
            classes.setdefault(tuple(w in s for w in W), []).append(j)
        big = [c for c in classes.values() if len(c) > 1]
        if not big:
            return W
        c = big[0]
        # the token present in about half of the class splits it best
        cand: dict[bytes, int] = {}
        for j in c:
            for t in sets[j]:
                cand[t] = cand.get(t, 0) + 1
        t = min((t for t, k in cand.items() if k < len(c)), key=lambda t: (abs(2 * cand[t] - len(c)), t))
        W.append(t)


def _all_tokens(seqs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    allz = np.concatenate(seqs)
    lab = np.concatenate([np.full(s.shape[0], j) for j, s in enumerate(seqs)])
    return allz, lab


def _check_separated(seqs: list[np.ndarray], scale: float) -> None:
    from scipy.spatial import cKDTree

    allz, lab = _all_tokens(seqs)
    pairs = cKDTree(allz).query_pairs(1e-9 * scale, output_type="ndarray")
    if len(pairs):
        raise _Retry("two tokens coincide after the separation layer")


def _one_try(Z: list[np.ndarray], Y: list[np.ndarray], attention: str, tau: float, margin: float,
             rng: np.random.Generator) -> tuple[Transformer, int]:
    d = Z[0].shape[1]
    N = len(Z)
    m = [y.shape[0] for y in Y]
    tau_sa = 0.0 if attention == "hardmax" else tau
    layers: list[Any] = []
    seqs = [z.copy() for z in Z]
    allz = np.concatenate(seqs)
    scale = max(1.0, float(np.abs(allz).max()))

    # ---- block 1: make the token sets of different sequences pairwise disjoint
    shared = np.unique(allz + 0.0, axis=0).shape[0] < allz.shape[0]
    W = _witnesses(Z) if shared else []
    if shared:
        vocab = np.unique(allz + 0.0, axis=0)
        index = {_key(r): i for i, r in enumerate(vocab)}
        lo1 = float(vocab[:, 0].min())
        shift = np.zeros(d)
        shift[0] = 1.0 - lo1
        spread = max(1.0, float(np.ptp(vocab, axis=0).max()))
        H = float(vocab[:, 0].max()) + shift[0] + spread  # witnesses go to the hyperplane z_1 = H
        lo, hi = vocab.min(axis=0), vocab.max(axis=0)
        bumps = _Bumps(d)
        bumps.constant(shift)
        src = [vocab[index[w]] for w in W]
        dst = []
        for _ in W:
            q = lo + rng.uniform(size=d) * (hi - lo + 1.0)
            q[0] = H
            dst.append(q)
        _move_points(bumps, src, [q - s - shift for q, s in zip(dst, src, strict=False)], vocab,
                     [index[w] for w in W], rng, scale)
        ff1 = bumps.layer(1.0)
        seqs = [ff1(s[None])[0] for s in seqs]
        A1 = np.zeros((d, d))
        A1[0, 0] = 1.0
        if attention == "softmax":
            top = np.concatenate(seqs)[:, 0]
            below = top[top < H - 0.5 * spread]
            gap = (H - below.max()) * top.min() if below.size else spread
            A1 *= margin * tau / gap
        sig = np.abs(np.concatenate(seqs)).max()
        eps = rng.uniform(0.25, 0.5) * spread / sig
        sa1 = SelfAttention(A1, eps * np.eye(d), rho=1.0, tau=tau_sa, tie_rtol=1e-8)
        seqs = [sa1(s[None])[0] for s in seqs]
        _check_separated(seqs, scale)
        layers += [ff1, sa1]

    # ---- block 2: pick anchors, park / collect them, collapse each sequence onto m^j points
    allz, lab = _all_tokens(seqs)
    scale2 = max(1.0, float(np.abs(allz).max()))
    shift2 = 1.0 - allz.min(axis=0)
    hi2 = float((allz + shift2).max())
    t = hi2 * (2.0 + np.arange(N) / N)
    R = 2.0 * hi2
    n_park = sum(mj - 1 for mj in m)
    U_ = 0.2 + rng.uniform(size=(n_park, d))
    parked = -R * U_ / np.linalg.norm(U_, axis=1, keepdims=True)
    if n_park > 1:
        from scipy.spatial.distance import pdist

        if pdist(parked).min() < 1e-6 * R:
            raise _Retry("two parked points nearly coincide")
    anchors: list[np.ndarray] = []  # per sequence (m_j, d): parked..., collector
    src, moves, idx = [], [], []
    offsets = np.cumsum([0] + [s.shape[0] for s in seqs])
    k = 0
    for j, s in enumerate(seqs):
        a = np.empty((m[j], d))
        for p in range(m[j] - 1):
            a[p] = parked[k]
            k += 1
        a[m[j] - 1] = t[j]
        anchors.append(a)
        for p in range(m[j]):
            src.append(s[p])
            moves.append(a[p] - s[p] - shift2)
            idx.append(int(offsets[j] + p))
    bumps = _Bumps(d)
    bumps.constant(shift2)
    _move_points(bumps, src, moves, allz, idx, rng, scale2)
    ff2 = bumps.layer(1.0)
    seqs = [ff2(s[None])[0] for s in seqs]
    A2 = np.eye(d)
    if attention == "softmax":
        gaps = []
        for s in seqs:
            S = s @ s.T
            top2 = np.sort(S, axis=1)[:, -2:] if s.shape[0] > 1 else np.array([[0.0, np.inf]])
            gaps.append((top2[:, 1] - top2[:, 0]).min())
        A2 *= margin * tau / min(gaps)
    sa2 = SelfAttention(A2, np.eye(d), rho=0.0, tau=tau_sa)
    seqs = [sa2(s[None])[0] for s in seqs]
    layers += [ff2, sa2]

    # ---- block 3: send each cluster to its target
    allz, lab = _all_tokens(seqs)
    centers = np.concatenate(anchors)
    targets = np.concatenate(Y)
    dirs = _random_dirs(d, rng)
    bumps = _Bumps(d)
    # cluster of every token: its sequence's nearest anchor
    cl = np.empty(allz.shape[0], dtype=int)
    base = np.cumsum([0] + m)
    for j, s in enumerate(seqs):
        D = np.linalg.norm(s[:, None, :] - anchors[j][None], axis=-1)
        cl[lab == j] = base[j] + np.argmin(D, axis=1)
    eta = 1.0 if attention == "hardmax" else 0.0
    for c in range(centers.shape[0]):
        inside = cl == c
        P_in = allz[inside]
        if eta == 1.0:
            # the hardmax collapse copies the anchor exactly: one point per cluster
            if np.ptp(P_in, axis=0).max() > 1e-12 * scale2 or np.abs(P_in[0] - centers[c]).max() > 1e-6 * scale2:
                raise _Retry("the hardmax collapse missed its anchor")
            P_in = P_in[:1]
        v, lo, hi, gap = _best_direction(P_in, allz[~inside], dirs)
        if not gap > 1e-9 * scale2 or not gap > 4 * (hi - lo):
            raise _Retry("no direction isolates a cluster")
        w = gap / 4.0
        bumps.add(v, lo - w, hi + w, gap / 2.0, targets[c] - (P_in[0] if eta == 1.0 else 0.0))
    ff3 = bumps.layer(eta)
    layers.append(ff3)
    return Transformer(tuple(layers), d), len(W)


def _hausdorff(P: np.ndarray, Q: np.ndarray) -> float:
    D = np.linalg.norm(P[:, None, :] - Q[None, :, :], axis=-1)
    return float(max(D.min(axis=1).max(), D.min(axis=0).max()))


def interpolate_sequences(
    Zs: Any,
    Ys: Any,
    *,
    attention: str = "hardmax",
    tau: float = 1.0,
    softmax_margin: float = 8.0,
    atol: float = 1e-8,
    max_tries: int = 10,
    random_state: Any = None,
) -> SequenceInterpolation:
    r"""Build a transformer T with :math:`(R\circ T)(Z^j) = Y^j` for every pair (Sec. 4.2).

    R removes repeated tokens (:func:`readout`); sequences are sets (permutation invariance).
    T alternates residual ReLU layers :math:`X + \mathrm{ReLU}(XU+b)W` and self-attention
    :math:`\rho X + \pi^\tau_A(X)XV`, in three blocks whose sizes depend on N, m^j and d only,
    never on the input lengths n:

    1. *Separation* (only if two sequences share a token). A greedy separating set
       :math:`\mathcal W` of at most N - 1 tokens is chosen so that the traces
       :math:`Z^j\cap\mathcal W` are pairwise distinct (Bondy's argument: each new token splits
       a class of sequences with equal traces). A ReLU layer moves these witnesses onto distinct
       points of the hyperplane :math:`z_1 = H` above all other tokens; a hardmax layer with
       :math:`A = e_1e_1^\top`, :math:`V = \varepsilon I`, :math:`\rho = 1` then adds to every token
       of :math:`Z^j` the same shift :math:`\varepsilon\,\mathrm{mean}(Z^j\cap\mathcal W)` (its tokens
       tie, within a relative 1e-8), which differs between sequences, so the token sets become
       pairwise disjoint. Disjointness is verified; a failed random draw is redrawn.
    2. *Collapse*. Everything is translated into :math:`[1, h]^d`; for each sequence its first
       :math:`m^j` tokens are moved (one trapezoidal ReLU bump each, isolated along a direction
       that separates it from every other token) to :math:`m^j - 1` distinct points of the sphere
       of radius 2h in the negative orthant and to the collector :math:`t_j\mathbf 1`,
       :math:`t_j > h`. Attention with :math:`A = I`, :math:`V = I`, :math:`\rho = 0` then sends
       every other token of :math:`Z^j` onto :math:`t_j\mathbf 1` and keeps the anchors.
    3. *Targets*. One bump per cluster moves it to its target (residual, hardmax), or, for
       softmax, a *non-residual* layer :math:`\mathrm{ReLU}(XU+b)W` with a plateau on each
       cluster's small ball (the softmax leaves balls of radius about
       :math:`e^{-\text{margin}}`) maps the whole ball exactly onto the target.

    Parameters
    ----------
    Zs : array (N, n, d) or list of N arrays (n_j, d)
        Input sequences: pairwise distinct as sets, distinct tokens within each, d >= 2.
    Ys : array (N, m, d) or list of N arrays (m_j, d)
        Targets, distinct tokens within each, :math:`m^j \le n_j`.
    attention : {"hardmax", "softmax"}
    tau : float > 0
        Softmax temperature (ignored for hardmax); the attention matrices are scaled so that the
        leading weight margin is ``softmax_margin`` (leaked weight about ``exp(-softmax_margin)``).
    softmax_margin : float > 0
    atol : float > 0
        Required exactness of :math:`R(T(Z^j))` against :math:`Y^j` (Hausdorff distance).
    max_tries : int >= 1
        Random draws (each verified on the training data) before giving up.
    random_state : None, int or numpy Generator

    Returns
    -------
    SequenceInterpolation

    Raises
    ------
    DatasetError
        A hypothesis fails (equal sequences, repeated tokens, m_j > n_j, d < 2, NaN, ...).
    ConvergenceError
        No draw verified within ``max_tries`` (not observed in the tests).
    """
    check_option(attention, "attention", ("hardmax", "softmax"))
    tau_f = check_positive(tau, "tau")
    margin = check_positive(softmax_margin, "softmax_margin")
    atol_f = check_positive(atol, "atol")
    tries = check_int(max_tries, "max_tries", minimum=1)
    rng = check_random_state(random_state)
    Z, Y = _validate(Zs, Ys)
    M = max(float(np.max(np.abs(np.concatenate(Z + Y)))), 1.0)
    if M * np.finfo(np.float64).eps > atol_f:
        raise DatasetError(
            f"the tokens have entries up to {M:.3g}, so float64 rounding alone (~{M * 2.2e-16:.1e}) "
            f"exceeds atol = {atol_f:g}: no construction can be verified at this scale; rescale "
            f"Zs and Ys together (e.g. divide both by {M:.3g}) and scale the outputs back, or pass a "
            "larger atol"
        )
    N = len(Z)
    sum_m = sum(y.shape[0] for y in Y)
    d = Z[0].shape[1]
    last = ""
    for k in range(1, tries + 1):
        try:
            T, n_w = _one_try(Z, Y, attention, tau_f, margin, rng)
        except _Retry as exc:
            last = str(exc)
            continue
        outs = [readout(o) for o in T.forward(list(Z))]
        errs = [_hausdorff(o, y) if o.shape[0] == y.shape[0] else np.inf for o, y in zip(outs, Y, strict=False)]
        err = float(max(errs))
        if not np.isfinite(err):
            check_result_finite(np.concatenate(outs), "the outputs of the constructed transformer",
                                f" (tokens of size up to {M:.3g})")
        if err <= atol_f:
            bound = 2 * sum_m + (2 * N + 1 if attention == "hardmax" else 3 * N)
            return SequenceInterpolation(
                transformer=T, outputs=outs, max_error=err, num_layers=T.num_layers,
                num_blocks=T.num_blocks, num_parameters=T.num_parameters, bound_blocks=bound,
                parameter_scale=d * sum_m, num_witnesses=n_w, tries=k, attention=attention,
                tau=0.0 if attention == "hardmax" else tau_f, status="interpolated",
            )
        last = f"verification error {err:.3e} > atol = {atol_f:g}"
        if attention == "softmax":
            margin *= 2.0
    if last.startswith("verification error") and err <= 1e-11 * M:
        raise ConvergenceError(
            f"no verified construction in max_tries = {tries} random draws (last: {last}): that "
            f"error is float64 rounding for tokens of size up to {M:.3g}; rescale Zs and Ys "
            f"(e.g. divide both by {M:.3g}) or pass a larger atol"
        )
    raise ConvergenceError(
        f"no verified construction in max_tries = {tries} random draws (last: {last}); "
        "increase max_tries or, for softmax, softmax_margin"
    )

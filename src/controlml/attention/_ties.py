"""The one hardmax tie rule and leader rule of the package (NumPy; torch callers go through
:func:`torch_hardmax`).

Both :mod:`controlml.attention` (float64 NumPy dynamics, torch layers) and
:mod:`controlml.attention.sentiment` (padded batches) decide ties and leaders here, so that
the leaders counted by the sentiment model are those of :func:`controlml.attention.leaders`.

The rule, for token i with scores :math:`s_{ij} = \\langle Az_i, z_j\\rangle` over the real
tokens j:

1. *candidates*: :math:`s_{ij} \\ge \\max_\\ell s_{i\\ell} - \\mathrm{tie\\_rtol}\\,\\|Az_i\\|
   \\max_\\ell\\|z_\\ell\\|` (a rounding-level tolerance: exact ties such as a token on the
   bisector of two leaders survive the rounding of each layer);
2. *one point per cluster*: tokens within ``sqrt(tie_rtol) * max |z|`` of each other are one
   numerical point (a cluster); inside a cluster only the candidates with the cluster's largest
   score stay in :math:`\\mathcal C_i`, and the cluster gets the weight of one point (times the
   multiplicity of tokens that were equal initially, e.g. repeated words) shared equally by
   them, so which of two numerically equal tokens rounding ranks first never moves the mean.

Step 2 is what keeps a tolerance from creating a tie that exact arithmetic does not have: a
follower converging to a leader gets within the candidate tolerance of the leader's score
(its gap shrinks like its distance), but by then it is in the leader's cluster and scores
below it, so it never joins another token's tie set beside the leader (which would make the
mean lopsided and move the token to a different face).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["DEFAULT_TIE_RTOL", "default_tie_rtol", "merge_tol", "hardmax_weights", "leader_mask",
           "copy_matrix", "torch_hardmax"]

#: Default relative tolerance deciding hardmax ties in (4.1b) in float64.
DEFAULT_TIE_RTOL = 1e-12


def default_tie_rtol(dtype: torch.dtype) -> float:
    """``DEFAULT_TIE_RTOL`` in float64, ``64 * eps`` of lower precisions (7.6e-6 in float32)."""
    return max(DEFAULT_TIE_RTOL, 64 * torch.finfo(dtype).eps)


def merge_tol(tie_rtol: float) -> float:
    """Relative distance under which two tokens count as one point (coincident copies)."""
    return max(tie_rtol, 1e-16) ** 0.5


def _cluster_matrix(Z: np.ndarray, key: np.ndarray | None, rtol: float) -> np.ndarray:
    """G[b, i, j]: tokens i and j are one numerical point (real tokens only; diagonal True)."""
    sq = np.einsum("bnd,bnd->bn", Z, Z)
    R2 = (sq if key is None else np.where(key, sq, 0.0)).max(axis=-1)  # (B,)
    # squared distances from the Gram matrix: error ~ eps R^2, far below (merge_tol R)^2
    D2 = sq[:, :, None] + sq[:, None, :] - 2.0 * (Z @ Z.transpose(0, 2, 1))
    G = D2 <= (merge_tol(rtol) ** 2 * R2)[:, None, None]
    n = Z.shape[1]
    G |= np.eye(n, dtype=bool)[None]
    if key is not None:
        G &= key[:, None, :] & key[:, :, None]
        G |= np.eye(n, dtype=bool)[None]  # padding is its own point
    return G


def copy_matrix(Z: np.ndarray) -> np.ndarray:
    """E[b, i, j]: tokens i and j are bitwise copies (the same word, or equal initial tokens)."""
    return (Z[:, :, None, :] == Z[:, None, :, :]).all(axis=-1)


def hardmax_weights(Z: np.ndarray, A: np.ndarray, key: np.ndarray | None, rtol: float,
                    G: np.ndarray | None = None,
                    E: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hardmax weights (B, n, n), row-stochastic, and the tie sets :math:`\\mathcal C_i` (bool).

    ``Z`` (B, n, d), ``A`` (d, d) (rows of ``Z @ A.T`` are :math:`Az_i`), ``key`` (B, n) bool
    or None (True on real tokens; padding is never attended to), ``G`` the cluster matrix if
    already computed, ``E`` (B, n, n) bool: which tokens are copies of each other and count
    with their multiplicity (default: bitwise-equal tokens of ``Z``; the dynamics pass the
    copies of the initial tokens, so that tokens that converge to one point in floating
    point are not counted twice).

    Each cluster of coincident tokens holding a tie is one point of :math:`\\mathcal C_i`
    (with the multiplicity of its copies); its weight is shared equally by its members of
    top score, so which of two numerically equal tokens rounding ranks first never moves
    the mean.
    """
    AZ = Z @ A.T
    S = AZ @ Z.transpose(0, 2, 1)  # S[b, i, l] = <A z_i, z_l>
    if key is not None:
        S = np.where(key[:, None, :], S, -np.inf)
        R = np.where(key, np.linalg.norm(Z, axis=-1), 0.0).max(axis=-1)
    else:
        R = np.linalg.norm(Z, axis=-1).max(axis=-1)
    scale = np.linalg.norm(AZ, axis=-1) * R[:, None]  # (B, n)
    cand = S >= S.max(axis=-1, keepdims=True) - rtol * scale[..., None]
    multi = cand.sum(axis=-1) > 1
    if key is not None:
        multi &= key  # padding rows are never used
    cf = cand.astype(Z.dtype)
    W = cf / cf.sum(axis=-1, keepdims=True)
    if not np.any(multi):  # no ties at all: nothing to merge
        return W, cand
    B, n = Z.shape[:2]
    # ties among bitwise copies only (repeated words): the plain mean is the rule's mean
    b_, i_, j_ = np.nonzero(cand & multi[..., None])
    top = np.argmax(np.where(cand, S, -np.inf), axis=-1)
    if E is None:
        if np.all(Z[b_, j_] == Z[b_, top[b_, i_]]):
            return W, cand
    elif np.all(E[b_, j_, top[b_, i_]]):
        return W, cand
    if G is None:
        G = _cluster_matrix(Z, key, rtol)
    off = G & ~np.eye(n, dtype=bool)[None]
    if not np.any(off):
        return W, cand
    b_, i_, j_ = np.nonzero(off)
    if E is None:
        E = np.broadcast_to(np.eye(n, dtype=bool), G.shape).copy()
        E[b_, i_, j_] = np.all(Z[b_, i_] == Z[b_, j_], axis=-1)
    nc = ~E[b_, i_, j_]  # coincident pairs that are not copies
    if not np.any(nc):
        return W, cand
    NC = np.zeros(G.shape, dtype=Z.dtype)
    NC[b_[nc], i_[nc], j_[nc]] = 1.0
    # rows holding two candidates of one cluster that are not copies of each other
    need = np.any(cand & ((cf @ NC.transpose(0, 2, 1)) > 0.5), axis=-1) & multi
    if not np.any(need):
        return W, cand
    bi, ii = np.nonzero(need)
    r = np.arange(bi.size)[:, None]
    rep = np.argmax(G, axis=-1)[bi]  # (R, n): first index of each token's cluster
    Sc = np.where(cand[bi, ii], S[bi, ii], -np.inf)
    M = np.full(Sc.shape, -np.inf)
    np.maximum.at(M, (r, rep), Sc)
    kept_r = cand[bi, ii] & (Sc >= M[r, rep])
    kf = kept_r.astype(Z.dtype)
    count = np.zeros(Sc.shape)
    np.add.at(count, (r, rep), kf)  # kept members per cluster
    same = np.einsum("rk,rjk->rj", kf, E[bi].astype(Z.dtype))  # kept copies of z_j
    mult = np.zeros(Sc.shape)
    np.maximum.at(mult, (r, rep), same * kf)
    Wr = kf * mult[r, rep] / np.maximum(count[r, rep], 1.0)
    W[bi, ii] = Wr / Wr.sum(axis=-1, keepdims=True)
    kept = cand.copy()
    kept[bi, ii] = kept_r
    return W, kept


def leader_mask(C: np.ndarray, G: np.ndarray, key: np.ndarray | None) -> np.ndarray:
    """Leaders (B, n): i leads iff i is in :math:`\\mathcal C_i`, which only holds points of
    its own cluster, and no earlier token of that cluster leads (each point counted once).

    A follower that has converged onto its leader (same cluster) attends to the leader, not
    to itself, so the leader keeps its index; bitwise copies (repeated words) all attend to
    themselves and the first of them represents the point.
    """
    inside = ~np.any(C & ~G, axis=-1) & np.diagonal(C, axis1=-2, axis2=-1)
    n = C.shape[1]
    earlier = np.tril(np.ones((n, n), dtype=bool), k=-1)[None]  # j < i
    dup = np.any(G & earlier & inside[:, None, :], axis=-1)  # an earlier copy leads
    out = inside & ~dup
    if key is not None:
        out &= key
    return out


def torch_hardmax(Z: torch.Tensor, A: torch.Tensor, key: torch.Tensor | None,
                  rtol: float, leaders: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The same rule for torch tensors (any device): weights (B, n, n) in Z's dtype and the
    leader mask (B, n); computed by the NumPy code above on a float64 copy (no gradient)."""
    Zn = Z.detach().to("cpu", torch.float64).numpy()
    An = A.detach().to("cpu", torch.float64).numpy()
    kn = None if key is None else key.detach().cpu().numpy()
    G = _cluster_matrix(Zn, kn, rtol) if leaders else None
    W, C = hardmax_weights(Zn, An, kn, rtol, G)
    Wt = torch.from_numpy(W).to(device=Z.device, dtype=Z.dtype)
    if not leaders:
        return Wt, None
    return Wt, torch.from_numpy(leader_mask(C, G, kn)).to(Z.device)

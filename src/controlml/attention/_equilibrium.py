"""Predicted clustered limit of Thm 4.1: leaders and A-projections of 0 onto faces of their hull."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int
from ..errors import ConvergenceError, ParameterError
from ._dynamics import (
    DEFAULT_TIE_RTOL,
    _copies,
    _layer,
    _merge_tol,
    _prepare,
    _step,
)

__all__ = ["Equilibrium", "equilibrium", "face_projection"]


def _cvx_simplex_qp(R: np.ndarray, L: np.ndarray) -> np.ndarray:
    """argmin over the simplex of ||R L^T lam||^2 (L: (m, d) face vertices, R^T R = A), by Clarabel."""
    import cvxpy as cp

    m = L.shape[0]
    lam = cp.Variable(m)
    prob = cp.Problem(cp.Minimize(cp.sum_squares((R @ L.T) @ lam)), [lam >= 0, cp.sum(lam) == 1])
    prob.solve(solver=cp.CLARABEL)
    if lam.value is None or prob.status not in ("optimal", "optimal_inaccurate"):
        raise ConvergenceError(f"the face-projection QP was not solved (status {prob.status!r})")
    return np.asarray(lam.value, dtype=np.float64)


def _polish(A: np.ndarray, L: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Solve the KKT system exactly on the support found by the solver (affine A-projection)."""
    for thresh in (1e-7, 1e-5, 1e-3):
        S = np.flatnonzero(lam > thresh * lam.max())
        Ls = L[S]
        m = len(S)
        G = Ls @ A @ Ls.T
        K = np.zeros((m + 1, m + 1))
        K[:m, :m] = G
        K[:m, m] = 1.0
        K[m, :m] = 1.0
        rhs = np.zeros(m + 1)
        rhs[m] = 1.0
        sol, *_ = np.linalg.lstsq(K, rhs, rcond=None)
        mu = sol[:m]
        if np.all(mu >= -1e-12):
            out = np.zeros_like(lam)
            out[S] = np.clip(mu, 0.0, None)
            return out / out.sum()
    return lam


def face_projection(L: Any, A: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""A-projection of the origin onto the convex hull of the rows of ``L``.

    .. math::

        \lambda^* = \operatorname*{argmin}_{\lambda\in\Delta_m} \lambda^\top L A L^\top \lambda,
        \qquad p = L^\top\lambda^*,

    solved by Clarabel (through cvxpy) and polished by an exact KKT solve on the support.

    Parameters
    ----------
    L : array, shape (m, d)
        Vertices of the face.
    A : array, shape (d, d), symmetric positive definite

    Returns
    -------
    p : ndarray, shape (d,)
    lam : ndarray, shape (m,), barycentric weights (on the simplex)
    """
    from .._checks import as_points
    from ._validate import check_spd

    L_ = as_points(L, "L")
    A_ = check_spd(A, L_.shape[1], "A")
    lam = _face_lambda(L_, A_)
    return L_.T @ lam, lam


def _face_lambda(L: np.ndarray, A: np.ndarray) -> np.ndarray:
    if L.shape[0] == 1:
        return np.ones(1)
    R = np.linalg.cholesky(A).T  # A = R^T R
    return _polish(A, L, _cvx_simplex_qp(R, L))


@dataclass(frozen=True)
class Equilibrium:
    r"""Predicted clustered equilibrium :math:`Z^*` of Thm 4.1 (see :func:`equilibrium`).

    Shapes for a batch Z0 (B, n, d); the batch axis is dropped for an unbatched input.

    Attributes
    ----------
    Z_star : ndarray, shape (B, n, d)
        Predicted limit of every token.
    leaders : ndarray of int, shape (L,), or a list of them (one per sequence)
        Leader indices (first index of numerically merged copies).
    faces : list of list of tuple of int
        ``faces[b][i]``: leader indices spanning the face token i converges to (the support
        of its barycentric weights; a single index for a leader or a token merging with one).
    weights : ndarray, shape (B, n, n)
        Barycentric weights: ``Z_star[b, i] = weights[b, i] @ Z_layers[b]`` (rows on the simplex,
        supported on leaders).
    leaders_stable_from : ndarray of int, shape (B,)
        Layer from which the set of leaders did not change during the run.
    layers : int
        Layers of the dynamics run to identify leaders and faces.
    Z_layers : ndarray, shape (B, n, d)
        Tokens at that layer (the leaders are fixed points, so their rows are final).
    distance : ndarray, shape (B,)
        :math:`\max_i \|z_i(\text{layers}) - z^*_i\|` at the last layer run.
    kkt_residual : float
        Certificate, relative to :math:`\max\|z\|^2\|A\|`: the largest
        :math:`|\langle Az_i^*, \ell - z_i^*\rangle|` over each face's vertices (0 for the
        A-projection onto the face's affine hull).
    support_gap : float
        Certificate: the largest :math:`\langle Az_i^*, \ell - z_i^*\rangle` over all leaders,
        relative as above (<= 0 up to rounding: the face is exposed by the hyperplane with normal
        :math:`Az^*_i`, so :math:`z^*_i` attends to it in (4.1b), i.e. it is an equilibrium).
    status : str
        ``"certified"`` (both certificates below ``1e-8``), ``"uncertified"`` otherwise.
    """

    Z_star: np.ndarray
    leaders: list
    faces: list
    weights: np.ndarray
    leaders_stable_from: np.ndarray
    layers: int
    Z_layers: np.ndarray
    distance: np.ndarray
    kkt_residual: float
    support_gap: float
    status: str


def _faces_at(Z: np.ndarray, A: np.ndarray, window: list[np.ndarray], lead: np.ndarray,
              merged: np.ndarray) -> list[tuple[int, ...]]:
    """For each token, the leaders it attended to over ``window`` (closed over non-leaders)."""
    n = Z.shape[0]
    lead_set = set(int(i) for i in lead)
    # representative leader of each token merged with a leader
    rep = {}
    for i in range(n):
        for l in lead:
            if merged[i, l]:
                rep[i] = int(l)
    att = [set() for _ in range(n)]
    for M in window:
        for i in range(n):
            att[i].update(int(j) for j in np.flatnonzero(M[i]))
    faces: list[tuple[int, ...]] = []
    for i in range(n):
        if i in rep:
            faces.append((rep[i],))
            continue
        seen, todo, F = {i}, list(att[i]), set()
        while todo:
            j = todo.pop()
            if j in seen:
                continue
            seen.add(j)
            if j in rep:
                F.add(rep[j])
            elif j in lead_set:
                F.add(j)
            else:
                todo.extend(att[j])
        faces.append(tuple(sorted(F)))
    return faces


def _predict(Z: np.ndarray, A: np.ndarray, window: list[np.ndarray], lm: np.ndarray, t: float):
    n = Z.shape[0]
    lead = np.flatnonzero(lm)
    R = np.linalg.norm(Z, axis=-1).max()
    D = np.linalg.norm(Z[:, None] - Z[None], axis=-1)
    merged = D <= _merge_tol(t) * R
    faces = _faces_at(Z, A, window, lead, merged)
    W = np.zeros((n, n))
    cache: dict[tuple[int, ...], np.ndarray] = {}
    out_faces = []
    for i, F in enumerate(faces):
        if len(F) == 0:  # attends to nothing that leads yet: no prediction
            W[i, i] = 1.0
            out_faces.append(())
            continue
        if F not in cache:
            cache[F] = _face_lambda(Z[list(F)], A)
        lam = cache[F]
        W[i, list(F)] = lam
        out_faces.append(tuple(int(F[k]) for k in np.flatnonzero(lam > 0)))
    Zs = W @ Z
    # certificates
    scale = max(R * R * np.linalg.norm(A, 2), 1e-300)
    kkt, gap = 0.0, -np.inf
    for i in range(n):
        p = Zs[i]
        Ap = A @ p
        if out_faces[i]:
            kkt = max(kkt, float(np.max(np.abs(Z[list(out_faces[i])] @ Ap - p @ Ap))) / scale)
        if len(lead):
            gap = max(gap, float(np.max(Z[lead] @ Ap - p @ Ap)) / scale)
        if not out_faces[i]:
            kkt = np.inf
    return Zs, lead, out_faces, W, kkt, gap


def equilibrium(
    Z0: Any,
    A: Any,
    alpha: float,
    *,
    max_layers: int = 20000,
    chunk: int = 200,
    tie_rtol: float = DEFAULT_TIE_RTOL,
    progress: bool = False,
) -> Equilibrium:
    r"""Predict the clustered limit :math:`Z^* = \lim_k Z(k)` of the hardmax dynamics (Thm 4.1).

    Each token of :math:`Z^*` is a leader or the projection, in the norm
    :math:`\|x\|_A = \sqrt{x^\top A x}`, of the origin onto a face :math:`F` of the convex
    polytope :math:`\mathcal K` spanned by the leaders:

    .. math::

        z_i^* = L_F^\top\lambda^*,\qquad
        \lambda^* = \operatorname*{argmin}_{\lambda\ge 0,\ \mathbf 1^\top\lambda = 1}
        \lambda^\top L_F A L_F^\top \lambda .

    The dynamics (4.1) is run in chunks of ``chunk`` layers until the leader set and the
    faces (the leaders each token attended to during the last chunk, closed over the
    non-leaders it attended to) stop changing; then the small QP is solved per face with
    Clarabel (cvxpy) and polished by an exact KKT solve on its support. The prediction is
    certified by :math:`\langle Az^*_i, \ell-z^*_i\rangle = 0` on the face and
    :math:`\le 0` on every leader (``z*_i`` attends exactly to its face).

    Parameters
    ----------
    Z0 : array, shape (n, d) or (B, n, d)
        Initial tokens: nonzero and pairwise distinct within each sequence (Thm 4.1).
    A : array, shape (d, d), symmetric positive definite
    alpha : float > 0
    max_layers : int
        Give up (``ConvergenceError``) if leaders and faces have not settled by then.
    chunk : int
        Layers between two identifications of leaders and faces.
    tie_rtol : float
        Relative tie tolerance of (4.1b).
    progress : bool
        tqdm bar over chunks.

    Returns
    -------
    Equilibrium
    """
    Zb, batched, A_, a, t = _prepare(Z0, A, alpha, tie_rtol, True)
    K = check_int(max_layers, "max_layers", minimum=1)
    c = check_int(chunk, "chunk", minimum=2)
    if not isinstance(progress, bool):
        raise ParameterError(f"progress must be True or False; got {progress!r}")
    B = Zb.shape[0]
    Z = Zb
    it = range(0, K, c)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="equilibrium (chunks)", leave=False)
    prev = None
    lead_hist: list[list[np.ndarray]] = []  # per layer, per b: leader positions
    masks_hist: list[np.ndarray] = []
    layer = 0
    result = None
    E = _copies(Z)
    P, mask, lm = _layer(Z, A_, 0.0, t, E)
    masks_hist.append(lm)
    lead_hist.append([Z[b][lm[b]] for b in range(B)])
    for _ in it:
        window = []
        for _k in range(c):
            Z = _step(Z, P, a)
            layer += 1
            P, mask, lm = _layer(Z, A_, 0.0, t, E)
            masks_hist.append(lm)
            lead_hist.append([Z[b][lm[b]] for b in range(B)])
            window.append(mask)
        preds = [_predict(Z[b], A_, [w[b] for w in window], lm[b], t) for b in range(B)]
        Zs = np.stack([p[0] for p in preds])
        ok = all(p[4] <= 1e-8 and p[5] <= 1e-8 for p in preds)
        if prev is not None and ok:
            same_leaders = all(np.array_equal(p[1], q[1]) for p, q in zip(preds, prev[0], strict=False))
            R = np.linalg.norm(Z, axis=-1).max()
            if same_leaders and np.max(np.abs(Zs - prev[1])) <= 1e-10 * R:
                result = preds
                break
        prev = (preds, Zs)
    if result is None:
        raise ConvergenceError(
            f"the leaders and faces of the hardmax dynamics did not settle within max_layers = {K} "
            f"layers (alpha = {a}); increase max_layers (convergence in Thm 4.1 is only asymptotic, "
            "and slow for small alpha)"
        )
    from ._dynamics import _same_point_set

    stable = np.zeros(B, dtype=int)
    for b in range(B):
        final = lead_hist[-1][b]
        tol = _merge_tol(t) * np.linalg.norm(Z[b], axis=-1).max()
        k0 = layer
        for k in range(layer - 1, -1, -1):
            if _same_point_set(lead_hist[k][b], final, tol):
                k0 = k
            else:
                break
        stable[b] = k0
    Zs = np.stack([p[0] for p in result])
    dist = np.linalg.norm(Z - Zs, axis=-1).max(axis=-1)
    kkt = max(p[4] for p in result)
    gap = max(p[5] for p in result)
    status = "certified" if kkt <= 1e-8 and gap <= 1e-8 else "uncertified"
    W = np.stack([p[3] for p in result])
    return Equilibrium(
        Z_star=Zs if batched else Zs[0],
        leaders=[p[1] for p in result] if batched else result[0][1],
        faces=[p[2] for p in result] if batched else result[0][2],
        weights=W if batched else W[0],
        leaders_stable_from=stable if batched else stable[0],
        layers=layer,
        Z_layers=Z if batched else Z[0],
        distance=dist if batched else dist[0],
        kkt_residual=float(kkt),
        support_gap=float(gap),
        status=status,
    )

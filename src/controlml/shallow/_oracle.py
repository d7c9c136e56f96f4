r"""The dual oracle: :math:`\sup_{\theta \in S^d} |\eta(\theta)|`, :math:`\eta(\theta) = \sum_i p_i \sigma(\theta\cdot\tilde x_i)`.

With :math:`\tilde x_i = (x_i, 1)` and :math:`\theta = (a, b)`, the hyperplanes
:math:`\{\theta : \theta\cdot\tilde x_i = 0\}` cut the sphere into cells on each of
which :math:`\eta(\theta) = \theta\cdot g_F` is linear, :math:`g_F = \sum_{i:\theta\cdot\tilde x_i>0} p_i\tilde x_i`.
A maximiser lies in the relative interior of some face :math:`F` of this
arrangement, where it is either a vertex or the normalised projection of
:math:`\pm g_F` on the linear span of :math:`F`.  For :math:`d \le 2` every face
touches a vertex, so enumerating the vertices and, at each, the faces around it,
gives a finite candidate set containing a maximiser: the oracle is exact.  In
higher dimension the problem is NP-hard (Bach 2017) and a multi-start ascent
over cells gives an estimate (a lower bound on the supremum).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["eta", "ascent", "exact_candidates", "EXACT_MAX_DIM"]

EXACT_MAX_DIM = 2  # d <= 2: exact enumeration
_CHUNK = 2_000_000  # entries of a (C, N) block


def eta(T: np.ndarray, Xt: np.ndarray, p: np.ndarray) -> np.ndarray:
    r""":math:`\eta(\theta_c)` for the rows of ``T`` (C, D); returns (C,)."""
    C, N = T.shape[0], Xt.shape[0]
    out = np.empty(C)
    step = max(1, _CHUNK // max(N, 1))
    for s in range(0, C, step):
        Z = T[s:s + step] @ Xt.T
        np.maximum(Z, 0.0, out=Z)
        out[s:s + step] = Z @ p
    return out


def _normalize(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.linalg.norm(G, axis=1)
    ok = r > 1e-300
    return G[ok] / r[ok, None], ok


def ascent(starts: np.ndarray, Xt: np.ndarray, p: np.ndarray, *, n_steps: int = 30
           ) -> tuple[np.ndarray, np.ndarray]:
    r"""Cell-hopping ascent of :math:`|\eta|` on the sphere from each row of ``starts`` (C, D).

    Each step jumps to the maximiser :math:`\mathrm{sign}(\eta)\,g_F/\|g_F\|` of the
    linear piece of the current cell and is kept only if :math:`|\eta|` grows.
    Returns the final points (C, D) and their :math:`\eta` values (C,).
    """
    T = starts.copy()
    val = eta(T, Xt, p)
    active = np.ones(T.shape[0], dtype=bool)
    for _ in range(n_steps):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Z = T[idx] @ Xt.T
        G = ((Z > 0) * p) @ Xt
        G *= np.sign(val[idx])[:, None]
        r = np.linalg.norm(G, axis=1)
        ok = r > 1e-300
        new = np.zeros_like(G)
        new[ok] = G[ok] / r[ok, None]
        nv = eta(new, Xt, p)
        better = ok & (np.abs(nv) > np.abs(val[idx]) * (1 + 1e-13) + 1e-300)
        T[idx[better]] = new[better]
        val[idx[better]] = nv[better]
        active[idx[~better]] = False
    return T, val


def _project_out(G: np.ndarray, U: np.ndarray) -> np.ndarray:
    """Remove from the rows of G their component along the unit rows of U (row-wise pairs)."""
    return G - np.sum(G * U, axis=1, keepdims=True) * U


def exact_candidates(Xt: np.ndarray, p: np.ndarray, *, max_ties: int = 12
                     ) -> tuple[np.ndarray, np.ndarray, bool]:
    r"""A finite set of points of :math:`S^d` (d = D-1 <= 2) containing a maximiser of :math:`|\eta|`.

    Returns ``(candidates (C, D), upper (C,), exact)``.  ``upper[c]`` is
    :math:`|\eta|` at the candidate *if* it lies in the face it was built from
    (then it is the critical value :math:`\|\Pi g_F\|`); the true :math:`|\eta|` at any
    candidate is at most the supremum, which is attained at a valid one.  Vertices
    carry their exact value.  ``exact`` is False only when a vertex lies on more
    than ``max_ties`` hyperplanes (then only some of its faces are listed).
    """
    N, D = Xt.shape
    if D not in (2, 3):
        raise ValueError("exact_candidates needs d <= 2")
    nrm = np.linalg.norm(Xt, axis=1)
    U = Xt / nrm[:, None]
    tol = 1e-10
    cands = [U, -U]  # harmless extra points
    ups = [np.full(2 * N, np.inf)]
    exact = True
    if D == 2:
        V = np.column_stack([-U[:, 1], U[:, 0]])
        pairs = np.arange(N)[:, None]
    else:
        if N == 1:
            g = p[0] * Xt[0]
            C = np.vstack([U, -U, g / np.linalg.norm(g), -g / np.linalg.norm(g)])
            return C, np.full(4, np.abs(p[0]) * nrm[0]), True
        ii, jj = np.triu_indices(N, k=1)
        V = np.cross(U[ii], U[jj])
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        pairs = np.column_stack([ii, jj])
    V = np.vstack([V, -V])
    pairs = np.vstack([pairs, pairs])
    step = max(1, _CHUNK // N)
    pX = p[:, None] * Xt
    for s in range(0, V.shape[0], step):
        Vs, Ps = V[s:s + step], pairs[s:s + step]
        Z = (Vs @ U.T)
        tie = np.abs(Z) <= tol
        nties = tie.sum(axis=1)
        base = ((Z > tol) * p) @ Xt  # (c, D)
        cands.append(Vs)
        ups.append(np.abs(np.sum(Vs * base, axis=1)))  # exact: tied terms vanish at the vertex
        gen = nties <= D - 1
        # generic vertices: the hyperplanes through them are exactly those of the pair
        if np.any(gen):
            B, Pg = base[gen], Ps[gen]
            cols = [Pg[:, k] for k in range(D - 1)]
            G = []
            for mask in itertools.product((0, 1), repeat=D - 1):  # faces of full dimension
                g = B.copy()
                for k, m in enumerate(mask):
                    if m:
                        g += pX[cols[k]]
                G.append(g)
            if D == 3:  # edges: on the great circle of one of the pair, the other one on/off
                for z in range(2):
                    o = 1 - z
                    for m in (0, 1):
                        g = B + (pX[cols[o]] if m else 0.0)
                        G.append(_project_out(g, U[cols[z]]))
            G = np.vstack(G)
            Gn, ok = _normalize(G)
            r = np.linalg.norm(G[ok], axis=1)
            cands.extend([Gn, -Gn])
            ups.extend([r, r])
        for r in np.flatnonzero(~gen):
            H = np.flatnonzero(tie[r])
            if H.size > max_ties:
                exact = False
                H = H[np.argsort(-np.abs(p[H]))[:max_ties]]
            G = []
            zsets = [()] + ([(k,) for k in H] if D == 3 else [])
            for Zs in zsets:
                rest = [k for k in H if k not in Zs]
                for mask in itertools.product((0, 1), repeat=len(rest)):
                    g = base[r] + sum((pX[k] for k, m in zip(rest, mask, strict=True) if m), np.zeros(D))
                    if Zs:
                        u = U[Zs[0]]
                        g = g - (g @ u) * u
                    G.append(g)
            G = np.array(G)
            Gn, ok = _normalize(G)
            r = np.linalg.norm(G[ok], axis=1)
            cands.extend([Gn, -Gn])
            ups.extend([r, r])
    return _dedupe(np.vstack(cands), np.concatenate(ups)) + (exact,)


def _dedupe(C: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated candidates (a face is generated once from each of its vertices).

    Points equal to ~1e-11 are merged, keeping the largest critical value, which only
    moves a point earlier in the scan of :func:`exact_oracle` (its value is evaluated
    exactly there), so the supremum stays exact.
    """
    key = np.ascontiguousarray(np.round(C * 1e11).astype(np.int64))
    view = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
    _, first, inv = np.unique(view, return_index=True, return_inverse=True)
    best = np.full(first.size, -np.inf)
    np.maximum.at(best, inv.ravel(), up)
    return C[first], best


def exact_oracle(Xt: np.ndarray, p: np.ndarray, *, k: int, tol: float, chunk: int = 2048
                 ) -> tuple[np.ndarray, np.ndarray, float, bool]:
    r"""Exact :math:`\sup|\eta|` (d <= 2) and up to ``k`` most violating points.

    Candidates are evaluated in decreasing order of their critical value and the
    scan stops once no unevaluated candidate can beat the best value found, so
    the returned supremum is exact, unless the scan stopped early after finding
    ``20 k`` violators.  Returns ``(points, values, sup, sup_is_exact)``.
    """
    C, up, exact = exact_candidates(Xt, p)
    order = np.argsort(-up, kind="stable")
    best = 0.0
    complete = True
    pts, vals = [], []
    n_hit = 0
    for s in range(0, order.size, chunk):
        idx = order[s:s + chunk]
        if up[idx[0]] <= best:
            break
        v = eta(C[idx], Xt, p)
        best = max(best, float(np.max(np.abs(v))))
        hit = np.abs(v) > 1 + tol
        pts.append(C[idx][hit])
        vals.append(v[hit])
        n_hit += int(np.count_nonzero(hit))
        if n_hit >= 20 * k and best > 1 + tol:
            complete = s + chunk >= order.size
            break  # enough violators; the supremum is not needed this round
    P = np.vstack(pts) if pts else np.zeros((0, Xt.shape[1]))
    V = np.concatenate(vals) if vals else np.zeros(0)
    return P, V, best, exact and complete

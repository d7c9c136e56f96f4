r"""The dual oracle: :math:`\sup_{\theta \in S^d} |\eta(\theta)|`, :math:`\eta(\theta) = \sum_i p_i \sigma(\theta\cdot\tilde x_i)`.

With :math:`\tilde x_i = (x_i, 1)` and :math:`\theta = (a, b)`, the hyperplanes
:math:`H_i = \{\theta : \theta\cdot\tilde x_i = 0\}` cut the sphere into cells on each of
which :math:`\eta(\theta) = \theta\cdot g_F` is linear, :math:`g_F = \sum_{i:\theta\cdot\tilde x_i>0} p_i\tilde x_i`.

Exact for :math:`d \le 2` (:func:`exact_oracle`), by a sweep of the 1-skeleton:

* each great circle :math:`S^d \cap H_c` (for d = 1: the circle :math:`S^1` itself) is
  parametrised :math:`\theta(t) = \cos t\, u_c + \sin t\, v_c`; the other hyperplanes
  cross it at :math:`t = \psi_j \pm \pi/2`, and between two consecutive crossings
  :math:`\eta(\theta(t)) = A\cos t + B\sin t = R\cos(t - \varphi)` with :math:`g` updated
  by :math:`\pm p_j\tilde x_j` at each crossing (a cumulative sum after one sort).  Its
  maximum on the closed arc is :math:`R` when :math:`\varphi` lies in the arc, else an
  end value; likewise for :math:`-\eta`.  This gives :math:`\max|\eta|` over the whole
  skeleton (arcs and vertices) in :math:`O(N^2 \log N)`;
* on the closure of a 2-cell F (d = 2), :math:`|\eta| = |\theta\cdot g_F|` is maximal either
  on its boundary (already in the skeleton value) or at the interior critical point
  :math:`\pm g_F/\|g_F\|`, where the value is :math:`\|g_F\|`.  Every cell borders an
  arc and its :math:`g_F` is :math:`g` or :math:`g + p_c\tilde x_c` of that arc, so the cells
  are scanned in decreasing :math:`\|g_F\|` (an upper bound of :math:`|\eta|` on F) and the
  scan stops at the first :math:`\|g_F\|` below the best value found: the supremum is
  exact.

In higher dimension the problem is NP-hard (Bach 2017) and a multi-start ascent
over cells (:func:`ascent`) gives an estimate (a lower bound on the supremum).
"""

from __future__ import annotations

import numpy as np

__all__ = ["eta", "ascent", "Arrangement", "exact_oracle", "EXACT_MAX_DIM"]

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


def ascent(starts: np.ndarray, Xt: np.ndarray, p: np.ndarray, *, n_steps: int = 30,
           n_halvings: int = 12) -> tuple[np.ndarray, np.ndarray]:
    r"""Multi-start local ascent of :math:`|\eta|` on the sphere from each row of ``starts`` (C, D).

    On the cell F of the current point :math:`\theta`, :math:`|\eta| = s\,\theta\cdot g_F`
    (:math:`s = \mathrm{sign}\,\eta(\theta)`) is maximal on the sphere at
    :math:`\tau = s\,g_F/\|g_F\|`, and it increases strictly along the great-circle arc
    from :math:`\theta` to :math:`\tau` as long as the arc stays in F.  Each step tries
    :math:`\theta_h = ((1-h)\theta + h\tau)/\|\cdot\|` for :math:`h = 1, 1/2, 1/4, \dots`
    (``n_halvings`` trials) and keeps the first that increases :math:`|\eta|`: a full jump
    when τ lies in F (or in a better cell), a short move inside F otherwise.  A point
    stops when no trial increases :math:`|\eta|` (a critical point of its cell, or a
    kink where every direction towards τ leaves the cell at once; docs/shallow.md has
    the measured gain over jumping to τ or stopping).

    Returns the final points (C, D) and their :math:`\eta` values (C,); every value is
    :math:`|\eta|` >= its start's.
    """
    T = starts.astype(np.float64, copy=True)
    val = eta(T, Xt, p)
    active = np.flatnonzero(val != 0.0)
    for _ in range(n_steps):
        if active.size == 0:
            break
        G = ((T[active] @ Xt.T > 0) * p) @ Xt
        G, ok = _normalize(G * np.sign(val[active])[:, None])
        active = active[ok]
        moved = np.zeros(active.size, dtype=bool)
        todo = np.arange(active.size)
        for h in np.split(0.5 ** np.arange(n_halvings), range(2, n_halvings, 2)):
            if todo.size == 0:  # backtracking along the arc towards tau, 2 step sizes per block
                break
            Ta, Ga = T[active[todo]], G[todo]
            C = (1.0 - h)[None, :, None] * Ta[:, None, :] + h[None, :, None] * Ga[:, None, :]
            C /= np.linalg.norm(C, axis=2, keepdims=True)
            cv = eta(C.reshape(-1, C.shape[2]), Xt, p).reshape(C.shape[:2])
            up = np.abs(cv) > np.abs(val[active[todo]])[:, None] * (1 + 1e-13) + 1e-300
            hit = np.flatnonzero(np.any(up, axis=1))
            first = np.argmax(up[hit], axis=1)  # the longest improving step
            acc = active[todo[hit]]
            T[acc], val[acc] = C[hit, first], cv[hit, first]
            moved[todo[hit]] = True
            todo = np.delete(todo, hit)
        active = active[moved]
    return T, val


_TWO_PI = 2.0 * np.pi


class Arrangement:
    r"""The hyperplane arrangement of the lifted data on :math:`S^d` (d <= 2), swept by :meth:`__call__`.

    Everything that does not depend on the dual vector p is computed once here: the
    great circles :math:`\theta_c(t) = \cos t\,u_c + \sin t\,v_c` (for d = 1 the circle
    :math:`S^1` itself, crossed by every hyperplane; for d = 2 one circle per
    :math:`H_c`, crossed by the others), the crossing parameters sorted along each
    circle, which hyperplane switches on or off at each, and the activation pattern in
    the middle of the longest arc of each circle (read where it is robust).

    Parameters
    ----------
    Xt : array (N, D)
        Lifted data :math:`\tilde x_i = (x_i, 1)`, D in {2, 3}, distinct rows.
    """

    def __init__(self, Xt: np.ndarray):
        N, D = Xt.shape
        if D not in (2, 3):
            raise ValueError("the exact oracle needs d <= 2")
        self.Xt = Xt
        if D == 2:
            U, V, J = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.arange(N)[None, :]
        elif N == 1:
            U, V, J = np.zeros((0, D)), np.zeros((0, D)), np.zeros((0, 0), dtype=np.intp)
        else:
            U, V = _circle_bases(Xt)
            ar = np.arange(N - 1)
            J = np.where(ar[None, :] < np.arange(N)[:, None], ar[None, :], ar[None, :] + 1)  # all but c
        self.U, self.V, self.J = U, V, J
        C, M = J.shape
        XJ = Xt[J]
        psi = np.arctan2(np.einsum("cd,cmd->cm", V, XJ), np.einsum("cd,cmd->cm", U, XJ))
        # theta_c(t) . x_j = rho cos(t - psi_j): j switches on at psi_j - pi/2, off at psi_j + pi/2
        t = np.concatenate([np.mod(psi - np.pi / 2, _TWO_PI), np.mod(psi + np.pi / 2, _TWO_PI)], axis=1)
        sgn = np.concatenate([np.ones((C, M)), -np.ones((C, M))], axis=1)
        jj = np.concatenate([J, J], axis=1)
        o = np.argsort(t, axis=1, kind="stable")
        t, sgn, jj = (np.take_along_axis(x, o, 1) for x in (t, sgn, jj))
        tn = np.concatenate([t[:, 1:], t[:, :1] + _TWO_PI], axis=1)
        self.t, self.tn, self.gaps, self.sgn, self.jj = t, tn, tn - t, sgn, jj
        self.cs = np.stack([np.cos(t), np.sin(t), np.cos(tn), np.sin(tn)])
        rows = np.arange(C)
        self.ks = np.argmax(self.gaps, axis=1) if M else np.zeros(C, dtype=np.intp)
        t0 = t[rows, self.ks] + 0.5 * self.gaps[rows, self.ks] if M else np.zeros(C)
        self.on = (np.cos(t0[:, None] - psi) > 0).astype(np.float64)  # pattern after event ks
        # component-major (D, C, K) copies: the per-round work is then plain vector arithmetic
        self.XJ = np.moveaxis(XJ, 2, 0)  # (D, C, M)
        self.X1 = np.moveaxis(Xt[jj], 2, 0)  # (D, C, K): the hyperplane crossed at each arc's start
        self.sX = sgn[None] * self.X1
        if D == 3:  # for the cell tests: the hyperplanes crossing at each arc's two ends
            self.X2 = np.roll(self.X1, -1, axis=2)
            self.on1, self.on2 = sgn > 0, np.roll(sgn, -1, axis=1) < 0  # on inside the arc?
            self.Xc1 = np.einsum("dc,dck->ck", Xt.T, self.X1)  # x_c . x_{j1}
            self.Xc2 = np.einsum("dc,dck->ck", Xt.T, self.X2)
            self.nc2 = np.sum(Xt * Xt, axis=1)[:, None]

    def sweep(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Arcs: ``G`` (D, C, K) the vector :math:`g` on arc k of circle c (from its k-th to its
        (k+1)-th crossing), ``val`` (C, K) the maximum of :math:`|\eta|` on the closed arc
        and ``ta`` (C, K) where it is attained.

        On an arc :math:`\eta(\theta_c(t)) = A\cos t + B\sin t = R\cos(t - \varphi)`; its maximum
        is R if :math:`\varphi` is in the arc, else an end value (a vertex, where tied terms
        vanish, so the value is exact whichever side's g is used); likewise for
        :math:`-\eta` at :math:`\varphi + \pi`.
        """
        J, U, V, t, gaps = self.J, self.U, self.V, self.t, self.gaps
        C = J.shape[0]
        rows = np.arange(C)
        G = np.cumsum(p[self.jj][None] * self.sX, axis=2)  # (D, C, K)
        g0 = np.sum((self.on * p[J])[None] * self.XJ, axis=2)  # (D, C): g after event ks
        G += (g0 - G[:, rows, self.ks])[:, :, None]
        A = sum(G[i] * U[:, i, None] for i in range(G.shape[0]))
        B = sum(G[i] * V[:, i, None] for i in range(G.shape[0]))
        R = np.hypot(A, B)
        phi = np.arctan2(B, A)
        ct, st, ctn, stn = self.cs
        fs, fe = np.abs(A * ct + B * st), np.abs(A * ctn + B * stn)  # the two vertices
        val, ta = fs, t.copy()
        m = fe > val
        val, ta = np.where(m, fe, val), np.where(m, self.tn, ta)
        inside = np.mod(phi - t, _TWO_PI) <= gaps  # max of +eta inside the arc
        m = inside & (R > val)
        val, ta = np.where(m, R, val), np.where(m, phi, ta)
        inside = np.mod(phi + np.pi - t, _TWO_PI) <= gaps  # max of -eta inside the arc
        m = inside & (R > val)
        val, ta = np.where(m, R, val), np.where(m, phi + np.pi, ta)
        return G, val, ta

    def __call__(self, p: np.ndarray, *, k: int, tol: float, chunk: int = 4096,
                 enough: int | None = None) -> tuple[np.ndarray, np.ndarray, float, float]:
        r""":math:`\sup_{S^d}|\eta|`, bracketed by an attained value and a certified upper bound.

        Parameters
        ----------
        p : array (N,)
            Dual vector.
        k : int
            Columns wanted: the points with :math:`|\eta| > 1 + \mathrm{tol}` are returned,
            best first, at most ``20 k``.
        tol : float
            Violation threshold.
        chunk : int
            Cell critical points evaluated per block.
        enough : int, optional
            Stop the cell scan once this many violators are found (then ``sup_upper`` may
            exceed ``sup``); ``None`` scans to the end, so that ``sup == sup_upper``.

        Returns
        -------
        points : array (m, D)
            Maximisers of :math:`|\eta|` on arcs, vertices and cell interiors with
            :math:`|\eta| > 1 + \mathrm{tol}`, best first, and the best point found (even
            when it does not violate).
        values : array (m,)
            :math:`|\eta|` at them.
        sup : float
            The largest :math:`|\eta|` found (attained, so a lower bound of the supremum).
        sup_upper : float
            A certified upper bound of :math:`\sup_{S^d}|\eta|` (the skeleton maximum and the
            critical values of the cells left unscanned); equal to ``sup`` after a full scan.
        """
        Xt = self.Xt
        N, D = Xt.shape
        if D == 3 and N == 1:  # one hemisphere, where eta = p_0 theta . x_0
            x = Xt[0] / np.linalg.norm(Xt[0])
            s = float(abs(p[0]) * np.linalg.norm(Xt[0]))
            P = x[None] if s > 1 + tol else np.zeros((0, D))
            return P, eta(P, Xt, p), s, s
        G, val, ta = self.sweep(p)
        best = float(val.max())
        hit = val > 1 + tol
        hit.flat[np.argmax(val)] = True  # the maximiser on the skeleton, violating or not
        hit = np.nonzero(hit)
        pts = [np.cos(ta[hit])[:, None] * self.U[hit[0]] + np.sin(ta[hit])[:, None] * self.V[hit[0]]]
        vals = [val[hit]]
        upper = best
        if D == 3:
            cells, cvals, best, upper = self._cells(G, p, best, tol, chunk,
                                                    np.iinfo(np.int64).max if enough is None else enough)
            pts.append(cells)
            vals.append(cvals)
        P, v = np.vstack(pts), np.concatenate(vals)
        order = np.argsort(-v, kind="stable")[:20 * k]
        return P[order], v[order], best, upper

    def _cells(self, G: np.ndarray, p: np.ndarray, best: float, tol: float, chunk: int, enough: int
               ) -> tuple[np.ndarray, np.ndarray, float, float]:
        r"""Interior critical points :math:`\pm g_F/\|g_F\|` of the 2-cells beside the arcs (d = 2).

        The cell on side s of circle c beside arc k has :math:`g_F = g_{ck} + s\,p_c\tilde x_c`.
        Its critical point :math:`q = \pm g_F/\|g_F\|` can only lie in F if it is on side s of
        :math:`H_c` and on the arc's side of the two hyperplanes crossing at the arc's ends
        (F lies on one side of each); these signs are those of :math:`\pm g_F\cdot\tilde x_j`,
        read off three dot products of g.  The points passing are evaluated in decreasing
        :math:`\|g_F\|` until :math:`\|g_F\|` falls below the best value, which is then
        :math:`\sup|\eta|` over the cells, or until ``enough`` violators
        (:math:`|\eta| > 1 + tol`) are found.  Returns those points, their :math:`|\eta|`, the
        best :math:`|\eta|` found and an upper bound of :math:`\sup|\eta|` over the cells.
        """
        Xt = self.Xt
        D = Xt.shape[1]
        pc = p[:, None]
        h0 = sum(G[i] * Xt[:, i, None] for i in range(D))  # g . x_c
        h1 = sum(G[i] * self.X1[i] for i in range(D))  # g . x_j1
        h2 = sum(G[i] * self.X2[i] for i in range(D))  # g . x_j2
        n2 = sum(G[i] * G[i] for i in range(D))
        cand, crit = [], []
        for side in (0, 1):
            if side:  # g + p_c x_c
                n2 = n2 + 2 * pc * h0 + pc ** 2 * self.nc2
                h0, h1, h2 = h0 + pc * self.nc2, h1 + pc * self.Xc1, h2 + pc * self.Xc2
            big = n2 > best * best
            for sig in (1.0, -1.0):
                ok = big & ((sig * h0 > 0) == bool(side)) & ((sig * h1 > 0) == self.on1)
                ok &= (sig * h2 > 0) == self.on2
                c_idx, k_idx = np.nonzero(ok)
                if c_idx.size:
                    g = G[:, c_idx, k_idx].T + side * p[c_idx, None] * Xt[c_idx]
                    r = np.sqrt(n2[c_idx, k_idx])
                    cand.append(sig * g / r[:, None])
                    crit.append(r)
        if not cand:
            return np.zeros((0, D)), np.zeros(0), best, best
        Q, cr = _dedupe(np.vstack(cand), np.concatenate(crit))  # a cell is listed once per arc
        order = np.argsort(-cr, kind="stable")
        pts, vals, upper, n_hit, top = [], [], best, 0, best
        for s in range(0, order.size, chunk):
            idx = order[s:s + chunk]
            if cr[idx[0]] <= top:
                upper = top
                break
            v = np.abs(eta(Q[idx], Xt, p))
            top = max(top, float(v.max()))
            keep = v > min(1 + tol, top)  # the violators, and the best point so far
            pts.append(Q[idx][keep])
            vals.append(v[keep])
            n_hit += int(np.count_nonzero(v > 1 + tol))
            upper = max(top, float(cr[order[s + chunk]])) if s + chunk < order.size else top
            if n_hit >= enough:
                break
        if not pts:
            return np.zeros((0, D)), np.zeros(0), top, upper
        return np.vstack(pts), np.concatenate(vals), top, upper


def _circle_bases(Xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal (u_c, v_c) spanning the plane orthogonal to each row of Xt (N, 3)."""
    n = Xt / np.linalg.norm(Xt, axis=1, keepdims=True)
    e = np.zeros_like(n)
    e[np.arange(n.shape[0]), np.argmin(np.abs(n), axis=1)] = 1.0
    u = np.cross(n, e)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u, np.cross(n, u)


def exact_oracle(Xt: np.ndarray, p: np.ndarray, *, k: int, tol: float, chunk: int = 4096,
                 enough: int | None = None) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One call of :class:`Arrangement` (build the geometry, sweep once); same returns."""
    return Arrangement(Xt)(p, k=k, tol=tol, chunk=chunk, enough=enough)


def _dedupe(Q: np.ndarray, crit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge points equal to ~1e-11 (keeping the largest critical value: the scan stays exact)."""
    key = np.ascontiguousarray(np.round(Q * 1e11).astype(np.int64))
    view = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
    _, first, inv = np.unique(view, return_index=True, return_inverse=True)
    best = np.full(first.size, -np.inf)
    np.maximum.at(best, inv.ravel(), crit)
    return Q[first], best

"""Path geometry for autonomous interpolation (Theorem 3.4, step 1): disjoint paths x_i -> y_i.

Distances between segments and points (:func:`_seg_dist`, :func:`_point_seg_dist`), the bent
path as a clamped uniform cubic B-spline (:class:`_Curve`, with the power-basis coefficients
of :func:`_spline_coefficients`), sampling of paths (:func:`_segment_samples`,
:func:`_path_samples`, :func:`_sample_dist`), and the two routers that bend the paths
which would meet an earlier one: :func:`_route_plane` (d = 2: shortest paths on a
Delaunay graph refined near close endpoints, shortened by string pulling, corners
rounded) and :func:`_route_detour` (d >= 3: a detour through a random waypoint).  Both
raise :class:`_NoRoute` naming the path they could not place.  The field built on these
paths, and its fit by a ReLU network, are in :mod:`._autonomous`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse
from scipy.interpolate import BSpline, PPoly
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Delaunay, cKDTree

_GL_T, _GL_W = np.polynomial.legendre.leggauss(16)
_GL_T, _GL_W = (_GL_T + 1.0) / 2.0, _GL_W / 2.0  # Gauss-Legendre on [0, 1]


def _seg_dist(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> float:
    """Distance between segments [p0, p1] and [q0, q1] (any dimension)."""
    u, v, w0 = p1 - p0, q1 - q0, p0 - q0
    a, b, c, d, e = u @ u, u @ v, v @ v, u @ w0, v @ w0
    den = a * c - b * b
    cands = []
    if den > 1e-14 * max(a * c, 1e-300):
        s = np.clip((b * e - c * d) / den, 0.0, 1.0)
        t = np.clip((a * e - b * d) / den, 0.0, 1.0) if c > 0 else 0.0
        cands.append((s, t))
    for s in (0.0, 1.0):
        t = np.clip((b * s + e) / c, 0.0, 1.0) if c > 0 else 0.0
        cands.append((s, t))
    for t in (0.0, 1.0):
        s = np.clip((t * b - d) / a, 0.0, 1.0) if a > 0 else 0.0
        cands.append((s, t))
    return float(min(np.linalg.norm(p0 + s * u - q0 - t * v) for s, t in cands))


def _point_seg_dist(Z: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    u = p1 - p0
    uu = float(u @ u)
    s = np.clip(((Z - p0) @ u) / uu, 0.0, 1.0) if uu > 0 else np.zeros(Z.shape[0])
    return np.linalg.norm(Z - p0 - s[:, None] * u, axis=1)


def _poly(c: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, first and second derivative of cubics c (m, 4, d) at tau (m,)."""
    t = tau[:, None]
    c0, c1, c2, c3 = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    return (c0 + t * (c1 + t * (c2 + t * c3)), c1 + t * (2.0 * c2 + 3.0 * t * c3), 2.0 * c2 + 6.0 * t * c3)


def _spline_coefficients(C: np.ndarray) -> np.ndarray:
    """Power-basis coefficients (S, 4, d) on each span of the clamped uniform cubic B-spline
    with control points C (K, d), K >= 4, S = K - 3 spans, local parameter in [0, 1]
    (scipy's ``PPoly.from_spline`` per coordinate; the clamped ends' empty intervals skipped)."""
    S = C.shape[0] - 3
    knots = np.r_[np.zeros(3), np.arange(S + 1, dtype=np.float64), np.full(3, float(S))]
    pps = [PPoly.from_spline(BSpline(knots, C[:, j], 3)) for j in range(C.shape[1])]
    start = np.searchsorted(pps[0].x, np.arange(S), side="right") - 1  # the span [k, k + 1]
    return np.stack([pp.c[::-1, start].T for pp in pps], axis=-1)  # unit spans: tau = x - k


class _Curve:
    """A bent path: a clamped uniform cubic B-spline, with dense samples for projections."""

    def __init__(self, C: np.ndarray, spacing: float):
        self.coef = _spline_coefficients(C)
        S = self.S = self.coef.shape[0]
        c = np.repeat(self.coef, _GL_T.size, axis=0)
        tau = np.tile(_GL_T, S)
        speed = np.linalg.norm(_poly(c, tau)[1], axis=1).reshape(S, -1)
        self.span_lengths = speed @ _GL_W
        self.length = float(self.span_lengths.sum())
        n = np.maximum(4, np.ceil(1.25 * speed.max(axis=1) / spacing).astype(int) + 1)  # chords ~<= spacing
        self.u = np.concatenate([k + np.linspace(0.0, 1.0, m, endpoint=(k == S - 1)) for k, m in enumerate(n)])
        self.points = self.at(self.u)
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        self.s = np.r_[0.0, np.cumsum(seg)] * (self.length / max(seg.sum(), 1e-300))  # arclength (chords)
        self.spacing = float(seg.max()) if seg.size else 0.0
        self.tree = cKDTree(self.points)
        # curvature on a fine grid (64 points per span)
        tau = np.tile(np.linspace(0.0, 1.0, 64), S)
        _, p1, p2 = _poly(np.repeat(self.coef, 64, axis=0), tau)
        a, b, ab = np.sum(p1 * p1, 1), np.sum(p2 * p2, 1), np.sum(p1 * p2, 1)
        kappa = np.sqrt(np.maximum(a * b - ab * ab, 0.0)) / np.maximum(a, 1e-300) ** 1.5
        self.min_speed = float(np.sqrt(a.min()))
        self.curvature_radius = 0.98 / float(kappa.max()) if kappa.max() > 0 else math.inf

    def _eval(self, u: np.ndarray):
        k = np.minimum(u.astype(np.int64), self.S - 1)
        return _poly(self.coef[k], u - k)

    def at(self, u: np.ndarray) -> np.ndarray:
        return self._eval(np.asarray(u, dtype=np.float64))[0]

    def at_length(self, s: np.ndarray) -> np.ndarray:
        """Points at arclength s (approximately: linear interpolation of the sample table)."""
        return self.at(np.interp(s, self.s, self.u))

    def project(self, Z: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows of Z within ``cutoff`` of the curve (mask), their distance and the unit tangent at
        the nearest point (safeguarded Newton on (gamma(u) - z) . gamma'(u) = 0 from the nearest sample)."""
        d0, idx = self.tree.query(Z, distance_upper_bound=cutoff + self.spacing)
        mask = np.isfinite(d0)
        z = Z[mask]
        u0 = self.u[idx[mask]]
        u = u0.copy()
        for _ in range(6):
            p, p1, p2 = self._eval(u)
            diff = p - z
            a = np.sum(p1 * p1, 1)
            f = np.sum(diff * p1, 1)
            fp = a + np.sum(diff * p2, 1)
            fp = np.where(fp > 0.1 * a, fp, a)
            step = f / fp
            u_new = np.clip(u - step, 0.0, float(self.S))
            done = not np.any(np.abs(u_new - u) > 1e-13 * self.S)
            u = u_new
            if done:
                break
        p, p1, _ = self._eval(u)
        dist = np.linalg.norm(z - p, axis=1)
        worse = dist > d0[mask]
        if np.any(worse):  # never worse than the nearest sample
            u[worse] = u0[worse]
            p, p1, _ = self._eval(u)
            dist = np.linalg.norm(z - p, axis=1)
        tangent = p1 / np.linalg.norm(p1, axis=1, keepdims=True)
        return mask, dist, tangent

    def self_reach(self, radius: float) -> float:
        """Half the smallest distance between two samples at least pi * curvature radius apart in
        arclength (a bottleneck of the curve), searched up to ``radius``; inf when none."""
        if not math.isfinite(self.curvature_radius):
            return math.inf
        stride = max(1, int(radius / (8.0 * max(self.spacing, 1e-300))))  # about 16 samples per radius
        pts, s = self.points[::stride], self.s[::stride]
        pairs = cKDTree(pts).query_pairs(radius, output_type="ndarray")
        if pairs.size == 0:
            return math.inf
        far = np.abs(s[pairs[:, 0]] - s[pairs[:, 1]]) >= math.pi * self.curvature_radius
        if not np.any(far):
            return math.inf
        dmin = np.linalg.norm(pts[pairs[far, 0]] - pts[pairs[far, 1]], axis=1).min()
        return max(0.5 * (float(dmin) - stride * self.spacing), 0.0)


def _segment_samples(x: np.ndarray, y: np.ndarray, spacing: float) -> np.ndarray:
    n = max(2, int(math.ceil(np.linalg.norm(y - x) / spacing)) + 1)
    return x + np.linspace(0.0, 1.0, n)[:, None] * (y - x)


def _path_samples(path: np.ndarray, spacing: float) -> np.ndarray:
    if path.shape[0] == 2:
        return _segment_samples(path[0], path[1], spacing)
    return _Curve(path, spacing).points


def _sample_dist(A: np.ndarray, B: np.ndarray) -> float:
    return float(cKDTree(B).query(A)[0].min())


class _NoRoute(Exception):
    def __init__(self, i: int, why: str):
        super().__init__(i, why)
        self.i, self.why = i, why


def _round_corners(V: np.ndarray, a: Any) -> np.ndarray:
    """Control points (K, d) of a clamped cubic B-spline that follows the polyline V (m + 1, d)
    and rounds corner k within about ``a[k-1]`` of its vertex (collinear controls elsewhere, so
    the spline is straight away from the corners).  Corner k owns controls 3k - 2, 3k - 1, 3k."""
    if V.shape[0] == 2:
        return V[0] + np.linspace(0.0, 1.0, 4)[:, None] * (V[1] - V[0])
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), (V.shape[0] - 2,))
    C = [V[0]]
    for k in range(1, V.shape[0] - 1):
        ein, eout = V[k] - V[k - 1], V[k + 1] - V[k]
        lin, lout = float(np.linalg.norm(ein)), float(np.linalg.norm(eout))
        C += [V[k] - min(a[k - 1], lin / 2.5) * ein / lin, V[k], V[k] + min(a[k - 1], lout / 2.5) * eout / lout]
    C.append(V[-1])
    return np.asarray(C)


def _smooth_polyline(V: np.ndarray, a0: float, ok: Any, spacing: float) -> tuple[np.ndarray, _Curve] | None:
    """Round the corners of V as widely as ``ok(points) -> bool mask`` allows: start from a0 at every
    corner and halve the corners next to violating samples (at most 12 rounds)."""
    a = np.broadcast_to(np.asarray(a0, dtype=np.float64), (max(V.shape[0] - 2, 0),)).copy()
    a_first = a.copy()
    for _ in range(12):
        C = _round_corners(V, a)
        curve = _Curve(C, spacing)
        bad = ~ok(curve.points)
        if not np.any(bad) and curve.min_speed > 0:
            return C, curve
        if a.size == 0 or np.max(a / a_first) < 1e-3:
            return None
        spans = np.unique(np.minimum(curve.u[bad].astype(int), curve.S - 1)) if np.any(bad) else \
            np.arange(curve.S)
        hit = np.zeros(a.size, dtype=bool)
        for sp in spans:  # span sp uses controls sp..sp+3, owned by corners (sp + 2) // 3 .. (sp + 5) // 3
            lo, hi = max(1, (sp + 2) // 3), min(a.size, (sp + 5) // 3)
            hit[lo - 1:hi] = True
        a[hit] *= 0.5
    return None


def _simplify(V: np.ndarray) -> np.ndarray:
    """Drop repeated and collinear interior vertices of a polyline."""
    keep = [0]
    for k in range(1, V.shape[0] - 1):
        a, b = V[keep[-1]], V[k]
        e1, e2 = b - a, V[k + 1] - b
        n1, n2 = np.linalg.norm(e1), np.linalg.norm(e2)
        if n1 < 1e-15 or n2 < 1e-15:
            continue
        if abs(e1[0] * e2[1] - e1[1] * e2[0]) <= 1e-12 * n1 * n2 and e1 @ e2 > 0:
            continue
        keep.append(k)
    keep.append(V.shape[0] - 1)
    return V[keep]


def _route_plane(X: np.ndarray, Y: np.ndarray, keep: np.ndarray, ce: np.ndarray) -> list[np.ndarray]:
    """Bent paths in d = 2, routed one after the other (see :func:`tube_field`); raises _NoRoute.

    ``ce`` (2N,): the clearance wanted at each endpoint (rows of X then Y).  The clearance field
    :math:`c(x) = \\min(c_{\\max}, \\min_e c_e + |x - e|/4)` is small only near close endpoints; the
    graph is the Delaunay triangulation of nested lattices of step about c(x)/4 (finer near
    close endpoints) and of the endpoints."""
    N = X.shape[0]
    E = np.vstack([X, Y])
    lo, hi = E.min(axis=0), E.max(axis=0)
    ext = float(np.max(hi - lo))
    cmax = max(ext / 16.0, float(ce.max()))
    margin = 0.2 * ext + 4.0 * cmax
    lo, hi = lo - margin, hi + margin

    def cfun(Q):
        return np.minimum(cmax, np.min(ce[None, :] + 0.25 * np.linalg.norm(Q[:, None, :] - E[None], axis=2), 1))

    h0 = float(ce.min()) / 4.0
    K = max(int(math.floor(math.log2(cmax / (4.0 * h0)) + 1e-12)), 0)
    nodes = []
    for k in range(K + 1):
        hk = h0 * 2.0 ** k
        if k == K:
            n = np.ceil((hi - lo) / hk).astype(int) + 1
            if n[0] * n[1] > 4_000_000:
                raise _NoRoute(-1, "the routing lattice would need more than 4 million nodes")
            idx = np.stack(np.meshgrid(np.arange(n[0]), np.arange(n[1]), indexing="ij"), -1).reshape(-1, 2)
        else:
            parts = []
            for e, c_e in zip(E, ce, strict=False):
                R = (8.0 * hk - c_e) * 4.0  # c(x) < 4 h_{k+1} only within R of an endpoint
                if R <= 0:
                    continue
                a = np.floor((np.maximum(e - R, lo) - lo) / hk).astype(int)
                b = np.ceil((np.minimum(e + R, hi) - lo) / hk).astype(int)
                parts.append(np.stack(np.meshgrid(np.arange(a[0], b[0] + 1), np.arange(a[1], b[1] + 1),
                                                  indexing="ij"), -1).reshape(-1, 2))
            if not parts:
                continue
            idx = np.unique(np.vstack(parts), axis=0)
        Q = lo + idx * hk
        level = np.clip(np.floor(np.log2(cfun(Q) / (4.0 * h0) + 1e-12)), 0, K)
        nodes.append(Q[level == k])
    Gn = np.vstack(nodes)
    near_end = cKDTree(E).query(Gn)[0] < 0.25 * h0
    G = np.vstack([Gn[~near_end], E])  # the 2N endpoints are the last nodes
    n_nodes = G.shape[0]
    if n_nodes > 2_000_000:
        raise _NoRoute(-1, f"the routing graph would need {n_nodes} nodes")
    tri = Delaunay(G)
    sx = tri.simplices
    ed = np.unique(np.sort(np.vstack([sx[:, [0, 1]], sx[:, [1, 2]], sx[:, [0, 2]]]), axis=1), axis=0)
    cG = cfun(G)
    ew = np.linalg.norm(G[ed[:, 0]] - G[ed[:, 1]], axis=1)
    short = ew <= 0.6 * np.minimum(cG[ed[:, 0]], cG[ed[:, 1]])
    ea, eb, ew = ed[short, 0], ed[short, 1], ew[short]
    paths = [np.array([X[i], Y[i]]) for i in range(N)]
    if float(np.linalg.norm(Y - X, axis=1).sum()) / h0 > 2_000_000:  # paths are sampled at step h0
        raise _NoRoute(-1, "the paths would need more than 2 million samples at the finest step")
    placed = [_segment_samples(X[i], Y[i], h0) for i in np.flatnonzero(keep)]
    dp_grid = np.full(n_nodes, np.inf)  # distance of the nodes to the placed paths (exact below 4.5 cmax)
    for Pp in placed:
        dp_grid = np.minimum(dp_grid, cKDTree(Pp).query(G, distance_upper_bound=4.5 * cmax, workers=-1)[0])
    todo = [int(i) for i in np.argsort(np.linalg.norm(Y - X, axis=1), kind="stable") if not keep[i]]
    for n_done, j in enumerate(todo):
        rest = np.array(todo[n_done + 1:], dtype=int)
        rest_e = np.r_[rest, rest + N]
        t_placed = cKDTree(np.vstack(placed)) if placed else None

        def slack_of(Q, dp=None, t_placed=t_placed, rest_e=rest_e):
            if dp is None:
                dp = (t_placed.query(Q, distance_upper_bound=4.5 * cmax)[0] if t_placed is not None
                      else np.full(Q.shape[0], np.inf))
            sl = np.minimum(dp / cfun(Q) - 1.0, 3.0)
            if rest_e.size:
                de = np.linalg.norm(Q[:, None, :] - E[rest_e][None], axis=2) / (1.5 * ce[rest_e])[None, :]
                sl = np.minimum(sl, de.min(axis=1) - 1.0)
            return sl

        slack = slack_of(G, dp_grid)
        s, t = n_nodes - 2 * N + j, n_nodes - N + j
        slack[[s, t]] = np.maximum(slack[[s, t]], 0.0)
        free = slack >= 0.0
        ok = free[ea] & free[eb]
        pen = 1.0 + 4.0 * np.maximum(0.0, 1.0 - 0.5 * (slack[ea] + slack[eb]) / 3.0) ** 2  # keep off obstacles
        graph = scipy.sparse.coo_matrix(((ew * pen)[ok], (ea[ok], eb[ok])), shape=(n_nodes, n_nodes)).tocsr()
        dist, pred = dijkstra(graph, directed=False, indices=s, return_predecessors=True)
        if not np.isfinite(dist[t]):
            raise _NoRoute(j, "x and y are separated by the thickened earlier paths")
        chain = [t]
        while chain[-1] != s:
            chain.append(int(pred[chain[-1]]))
        V = G[chain[::-1]]
        sl = slack[chain[::-1]]
        cV = cG[chain[::-1]]

        def clear(i, k, V=V, sl=sl, cV=cV, slack_of=slack_of):
            # no closer to the obstacles than the graph path between the two vertices was
            p, q = V[i], V[k]
            n = max(2, int(math.ceil(np.linalg.norm(q - p) / (0.25 * min(cV[i], cV[k]) / 4.0))) + 1)
            Q = p + np.linspace(0.0, 1.0, n)[:, None] * (q - p)
            return bool(slack_of(Q).min() >= 0.7 * sl[i:k + 1].min() - 0.3)

        out, i = [V[0]], 0  # string pulling: jump to the farthest vertex seen in a straight line
        while i < V.shape[0] - 1:
            k = i + 1
            while k + 1 < V.shape[0] and clear(i, k + 1):
                k += 1
            out.append(V[k])
            i = k
        V = _simplify(np.asarray(out))
        if float(np.linalg.norm(np.diff(V, axis=0), axis=1).sum()) / h0 > 2_000_000:
            raise _NoRoute(-1, "the paths would need more than 2 million samples at the finest step")
        res = _smooth_polyline(V, 3.0 * cfun(V[1:-1]) if V.shape[0] > 2 else 0.0,
                               lambda Q, slack_of=slack_of: slack_of(Q) >= -1.0 / 3.0, h0)
        if res is None:
            raise _NoRoute(j, "its smoothed route comes too close to another path")
        C, curve = res
        paths[j] = C
        placed.append(curve.points)
        dp_grid = np.minimum(dp_grid, cKDTree(curve.points).query(G, distance_upper_bound=4.5 * cmax,
                                                                   workers=-1)[0])
    return paths


def _route_detour(X: np.ndarray, Y: np.ndarray, keep: np.ndarray) -> list[np.ndarray]:
    """Bent paths in d >= 3: a smoothed detour through the best of 48 random waypoints."""
    N, d = X.shape
    rng = np.random.default_rng(0)
    paths = [np.array([X[i], Y[i]]) for i in range(N)]
    ext = float(np.max(np.vstack([X, Y]).max(0) - np.vstack([X, Y]).min(0)))
    sp = ext / 400.0
    placed = [_segment_samples(X[i], Y[i], sp) for i in np.flatnonzero(keep)]
    todo = [int(i) for i in np.argsort(np.linalg.norm(Y - X, axis=1), kind="stable") if not keep[i]]
    for n_done, j in enumerate(todo):
        rest = todo[n_done + 1:]
        ends = np.vstack([X[rest], Y[rest]]) if rest else None
        u = Y[j] - X[j]
        ell = float(np.linalg.norm(u))
        best, best_score = None, 0.0
        for trial in range(48):
            n = rng.standard_normal(d)
            n -= (n @ u) / (u @ u) * u
            n /= np.linalg.norm(n)
            m = 0.5 * (X[j] + Y[j]) + ell * (0.15, 0.3, 0.5)[trial % 3] * n
            C = _round_corners(np.array([X[j], m, Y[j]]), ell / 6.0)
            P = _Curve(C, sp).points
            score = min(_sample_dist(P, np.vstack(placed)) if placed else math.inf,
                        0.5 * _sample_dist(P, ends) if ends is not None else math.inf)
            if score > best_score:
                best, best_score, best_P = C, score, P
        if best is None or best_score <= 4.0 * sp:
            raise _NoRoute(j, "no detour through a random waypoint clears the other paths")
        paths[j] = best
        placed.append(best_P)
    return paths

"""Approximate simultaneous control with an autonomous neural ODE (Theorem 3.4).

.. math:: \\dot x = W\\sigma(Ax + b), \\qquad \\sup_i |y_i - \\Phi_T(x_i)| \\le
          C\\,\\frac{\\log_2 \\kappa}{\\kappa^{1/d}}, \\quad \\kappa = (d + 2) d P,

with :math:`(W, A, b)` constant (L = 0 switches).  The proof has two steps, both
built here:

1. **A Lipschitz time-independent field** whose integral curves carry
   :math:`x_i` to :math:`y_i` in time T along pairwise disjoint paths
   :math:`\\gamma_i` (Fig. 3.3).  A straight path :math:`[x_i, y_i]` is kept when
   it meets no other path (always for generic data in d >= 3); the others are
   *bent* (see :func:`tube_field`): routed one after the other around the
   thickened earlier paths (in d = 2 a shortest path on a Delaunay graph refined
   near close endpoints, shortened by string pulling; in d >= 3 a detour through a
   random waypoint) and smoothed into a :math:`C^2` clamped cubic B-spline.  With the tube radius r below half the
   smallest distance between two paths and below the reach of every path,

   .. math:: V(x) = \\sum_i \\psi\\bigl(\\operatorname{dist}(x, \\gamma_i)/r\\bigr)\\,
             \\frac{L_i}{T}\\,\\tau_i(\\pi_i(x)),

   with :math:`L_i` the length of :math:`\\gamma_i`, :math:`\\pi_i` the nearest-point
   projection onto it, :math:`\\tau_i` its unit tangent and the C^1 bump
   :math:`\\psi(t) = (1 - t^2)_+^2` (:math:`\\psi(0) = 1`, :math:`\\psi'(0) = 0`).
   The tubes are disjoint, so on :math:`\\gamma_i` the field is the velocity of
   the constant-speed parametrisation of :math:`\\gamma_i`: the integral curve from
   :math:`x_i` is :math:`\\gamma_i`, and it reaches :math:`y_i` at time T exactly.
   V has compact support and is globally Lipschitz (:attr:`TubeField.lipschitz`).
2. **Its approximation by a width-P shallow ReLU field** :math:`W\\sigma(Ax + b)`:
   the hyperplanes are drawn at random through the tubes (unit normals
   :math:`a_j`, offsets through random points of the tubes), and W is the
   least-squares fit (``scipy.linalg.lstsq``, small ridge) of V on sample points
   of the tube cores (distance <= r/4 from a path), where the trajectories run:
   outside them the fitted field is free.  By
   Gronwall, :math:`\\sup_i |\\Phi_T(x_i) - y_i| \\le T e^{\\mathrm{Lip}(V) T}
   \\sup_{\\text{tubes}} |V - W\\sigma(A\\cdot + b)|` as long as the trajectories stay
   in the tubes; the measured error comes from :func:`~controlml.node.flow` (exact
   event-driven ReLU flow), not from this estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.integrate import solve_ivp
from scipy.interpolate import BSpline, PPoly
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Delaunay, cKDTree

from ..._checks import (
    as_points,
    check_distinct_rows,
    check_int,
    check_positive,
    check_random_state,
    check_same_rows,
)
from ...errors import ConvergenceError, DatasetError, ParameterError
from ..flows._control import Control, Piece
from ..flows._flow import flow

__all__ = ["AutonomousResult", "TubeField", "tube_field", "autonomous_interpolate", "vertex_autonomous"]

_PSI_LIP = 8.0 / (3.0 * math.sqrt(3.0))  # sup |psi'| for psi(t) = (1 - t^2)_+^2
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


def _psi(t: np.ndarray) -> np.ndarray:
    s = np.clip(t, 0.0, 1.0)  # C^1 bump: psi(0) = 1, psi'(0) = 0, psi = 0 on [1, oo)
    return (1.0 - s * s) ** 2


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


@dataclass(frozen=True)
class TubeField:
    """Step 1 of Theorem 3.4: the C^1 field V whose integral curves are the paths gamma_i.

    .. math:: V(x) = \\sum_i \\psi\\bigl(\\operatorname{dist}(x, \\gamma_i)/r\\bigr)\\,
              \\frac{L_i}{T}\\,\\tau_i(\\pi_i(x)), \\qquad \\psi(t) = (1 - t^2)_+^2.

    Attributes
    ----------
    X, Y : arrays (N, d)
        Start and end points.
    T : float
        Travel time.
    r : float
        Tube radius: below half the smallest distance between two paths and below
        the reach of every path (all segments: exactly half the smallest distance).
    paths : tuple of N arrays (K_i, d)
        Path i: ``K_i = 2``, the segment :math:`[x_i, y_i]`; ``K_i >= 4``, the control
        points of the clamped cubic B-spline (uniform knots :math:`0, \\dots, K_i - 3`,
        C^2) from :math:`x_i` to :math:`y_i`.  ``None`` at construction: all segments.
    clearance : float
        Smallest distance between two paths (inf for one path).
    """

    X: np.ndarray
    Y: np.ndarray
    T: float
    r: float
    paths: tuple[np.ndarray, ...] | None = None
    clearance: float = math.nan
    _curves: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        paths = self.paths
        if paths is None:
            paths = tuple(np.array([x, y]) for x, y in zip(self.X, self.Y, strict=False))
            object.__setattr__(self, "paths", paths)
        if math.isnan(self.clearance):
            object.__setattr__(self, "clearance", 2.0 * self.r if len(paths) > 1 else math.inf)
        object.__setattr__(self, "_curves",
                           tuple(None if p.shape[0] == 2 else _Curve(p, self.r / 16.0) for p in paths))

    @property
    def bent(self) -> tuple[int, ...]:
        """Indices of the bent (spline) paths."""
        return tuple(i for i, cv in enumerate(self._curves) if cv is not None)

    @property
    def lengths(self) -> np.ndarray:
        """(N,) lengths L_i of the paths (Gauss-Legendre quadrature on each spline span)."""
        return np.array([float(np.linalg.norm(p[1] - p[0])) if cv is None else cv.length
                         for p, cv in zip(self.paths, self._curves, strict=False)])

    @property
    def curvature_radius(self) -> np.ndarray:
        """(N,) lower bound of the radius of curvature of each path (inf for a segment; for a spline
        0.98 / the largest curvature sampled at 64 points per span)."""
        return np.array([math.inf if cv is None else cv.curvature_radius for cv in self._curves])

    def path_points(self, i: int, num: int = 200) -> np.ndarray:
        """(num, d) points of path i at equally spaced arclengths (approximately for a spline)."""
        s = np.linspace(0.0, 1.0, num)[:, None]
        cv = self._curves[i]
        if cv is None:
            return self.X[i] + s * (self.Y[i] - self.X[i])
        return cv.at_length(s[:, 0] * cv.length)

    def __call__(self, Z: Any) -> np.ndarray:
        """V at the rows of Z (M, d) -> (M, d)."""
        Z = np.atleast_2d(np.asarray(Z, dtype=np.float64))
        out = np.zeros_like(Z)
        for x, y, cv in zip(self.X, self.Y, self._curves, strict=False):
            if cv is None:
                out += _psi(_point_seg_dist(Z, x, y) / self.r)[:, None] * ((y - x) / self.T)[None, :]
            else:
                mask, dist, tangent = cv.project(Z, self.r)
                out[mask] += _psi(dist / self.r)[:, None] * (cv.length / self.T) * tangent
        return out

    @property
    def lipschitz(self) -> float:
        """An upper bound on Lip(V): :math:`\\max_i \\frac{L_i}{T}\\bigl(\\frac{\\sup|\\psi'|}{r}
        + \\frac{1}{\\rho_i - r}\\bigr)`, :math:`\\sup|\\psi'| = 8/(3\\sqrt 3)`, :math:`\\rho_i` the
        curvature radius of path i (the second term is 0 for a segment).

        In the tube, :math:`|\\nabla \\psi(\\operatorname{dist}/r)| \\le \\sup|\\psi'|/r` and the
        tangent of the nearest point moves at rate :math:`\\kappa/(1 - \\operatorname{dist}\\,\\kappa)
        \\le 1/(\\rho_i - r)`; V vanishes outside the disjoint tubes, so the local bounds
        are global (R^d is convex)."""
        L = self.lengths
        rho = self.curvature_radius
        extra = np.where(np.isfinite(rho), 1.0 / np.maximum(rho - self.r, 1e-300), 0.0)
        return float(np.max(L / self.T * (_PSI_LIP / self.r + extra)))

    def sample(self, M: int, rng: np.random.Generator, *, tube_fraction: float = 0.8,
               core: bool = False) -> np.ndarray:
        """M points: ``tube_fraction`` of them in the tubes (their cores, radius r/4, if ``core``),
        the rest uniform in the bounding box."""
        N, d = self.X.shape
        Mt = int(round(M * tube_fraction))
        i = rng.integers(0, N, Mt)
        s = rng.uniform(size=Mt)
        base = self.X[i] + s[:, None] * (self.Y[i] - self.X[i])
        for k, cv in enumerate(self._curves):
            if cv is not None and np.any(i == k):
                base[i == k] = cv.at_length(s[i == k] * cv.length)
        g = rng.standard_normal((Mt, d))
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        rad = (0.25 if core else 1.0) * self.r * rng.uniform(size=Mt) ** (1.0 / d)
        lo, hi = self.box
        return np.vstack([base + rad[:, None] * g, rng.uniform(lo, hi, size=(M - Mt, d))])

    @property
    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box of the tubes."""
        P = np.vstack([self.X, self.Y] + [cv.points for cv in self._curves if cv is not None])
        return P.min(axis=0) - self.r, P.max(axis=0) + self.r


def tube_field(X: Any, Y: Any, *, T: float = 1.0) -> TubeField:
    """Step 1 of Theorem 3.4: a C^1, globally Lipschitz field carrying each x_i to y_i in time T.

    .. math:: V(x) = \\sum_i \\psi\\bigl(\\operatorname{dist}(x, \\gamma_i)/r\\bigr)\\,
              \\frac{L_i}{T}\\,\\tau_i(\\pi_i(x))

    along pairwise disjoint paths :math:`\\gamma_i` from :math:`x_i` to :math:`y_i`
    (see :class:`TubeField`).

    **Paths.**  A segment :math:`[x_i, y_i]` meets another one when their distance is
    <= 1e-12 (relative to the data scale).  If no two segments meet, all paths are
    straight and r is half the smallest distance between them (as without bending).
    Otherwise a maximal set of segments is kept straight (greedily, fewest conflicts
    first; never a segment through another path's endpoint) and the others are bent,
    shortest first, each around the paths already placed:

    * d = 2: each endpoint e gets a clearance :math:`c_e` (a quarter of its distance to the
      other pairs' endpoints; for a bent pair's endpoint at most a third of its distance to
      a straight path), and the clearance field is
      :math:`c(x) = \\min(c_{\\max}, \\min_e c_e + |x - e|/4)`, small only near close
      endpoints.  The graph is the Delaunay triangulation (``scipy.spatial.Delaunay``) of
      nested lattices of step about c(x)/4 (finer near close endpoints) over the box of the
      data plus a margin, and of the endpoints; edges longer than 0.6 c are dropped.  A route
      is a shortest path (``scipy.sparse.csgraph.dijkstra``) through the nodes at least c(x)
      from the placed paths and 1.5 c_e from every later endpoint e, with edge weights that
      grow near these obstacles (the route keeps to the middle of the free corridors).  Then
      string pulling (jump to the farthest vertex in straight view that is not closer to the
      obstacles) and a C^2 clamped cubic B-spline rounding each corner (the rounding of a
      corner, first 3 c, is halved until the spline keeps 2c/3 from the placed paths and
      c_e from the later endpoints).  In the plane disjoint arcs never disconnect the domain,
      so a route exists; on the lattice it can be blocked when thickened paths close a
      narrow passage: then every c_e is halved (twice) before giving up.
    * d >= 3: a smoothed detour through the best of 48 random waypoints off the midpoint
      (generic detours miss every other curve in d >= 3).

    Then the clearance D (smallest distance between two paths, from dense samples minus
    their spacing) and :math:`r = \\min(0.45 D, 0.9\\,\\mathrm{reach}_i)`, the reach of
    a spline being the smaller of its curvature radius and half its narrowest bottleneck.

    Parameters
    ----------
    X, Y : arrays (N, d)
        Inputs and targets, d >= 2: the x_i distinct, the y_i distinct, and no
        x_i equal to a y_j with j != i (x_i = y_i is a rest point).
    T : float
        Travel time (> 0).

    Raises
    ------
    DatasetError
        Shapes, NaN, repeated inputs or targets, an input equal to another pair's target.
    ConvergenceError
        The router found no route with positive clearance (d = 2: endpoints so close compared
        with the data's extent that the paths would need more than 2 million samples or the
        lattice more than 4 million nodes, or thickened paths enclose an endpoint even at a
        quarter of the clearance; d >= 3: no random detour clears the others).
    """
    X = as_points(X, "X", min_dim=2)
    Y = as_points(Y, "Y", dim=X.shape[1])
    check_same_rows(X, Y)
    T = check_positive(T, "T")
    check_distinct_rows(X, "X", "the flow of a neural ODE is injective")
    check_distinct_rows(Y, "Y", "an injective flow cannot send two inputs to one target")
    N, d = X.shape
    scale = 1.0 + float(np.abs(np.vstack([X, Y])).max())
    tol = 1e-12 * scale
    if N > 1:
        dxy = np.linalg.norm(X[:, None, :] - Y[None, :, :], axis=2)
        np.fill_diagonal(dxy, np.inf)
        if dxy.min() <= tol:
            i, j = np.unravel_index(int(np.argmin(dxy)), dxy.shape)
            raise DatasetError(
                f"x_{i} equals y_{j}: the path of x_{j} would end where the path of x_{i} starts, and the "
                "tube construction needs pairwise disjoint paths; give distinct inputs and targets")
    D = np.full((N, N), np.inf)
    for i in range(N):
        for j in range(i + 1, N):
            D[i, j] = D[j, i] = _seg_dist(X[i], Y[i], X[j], Y[j])
    if N == 1:
        return TubeField(X.copy(), Y.copy(), T, max(float(np.linalg.norm(Y[0] - X[0])), 1.0))
    if D.min() > tol:  # all straight: unchanged construction
        return TubeField(X.copy(), Y.copy(), T, 0.5 * float(D.min()))
    conflict = D <= tol
    E = np.vstack([X, Y])
    owner = np.r_[np.arange(N), np.arange(N)]
    forced = np.zeros(N, dtype=bool)
    for i in range(N):
        others = owner != i
        forced[i] = bool(np.any(_point_seg_dist(E[others], X[i], Y[i]) <= tol))
    still = np.all(X == Y, axis=1)
    order = sorted(range(N), key=lambda i: (not still[i], int(conflict[i].sum()), i))
    keep = np.zeros(N, dtype=bool)
    for i in order:
        if not forced[i] and not np.any(conflict[i] & keep):
            keep[i] = True
    if d == 2:
        dE = np.linalg.norm(E[:, None] - E[None, :], axis=2)
        dE[owner[:, None] == owner[None, :]] = np.inf
        delta = dE.min(axis=1)  # each endpoint's distance to the other pairs' endpoints
        bent_e = ~np.r_[keep, keep]
        for i in np.flatnonzero(keep):  # a bent pair's endpoint keeps 3c from the straight paths
            delta[bent_e] = np.minimum(delta[bent_e], 4.0 / 3.0 * _point_seg_dist(E[bent_e], X[i], Y[i]))
        ce = 0.25 * delta  # endpoint discs of radius 1.5 c_e leave passages between them
        for attempt in range(3):
            try:
                paths = _route_plane(X, Y, keep, ce / 2 ** attempt)
                break
            except _NoRoute as err:
                if err.i < 0 or attempt == 2:
                    raise ConvergenceError(
                        f"tube_field could not bend the path of x_{err.i} (x_{err.i} = {X[err.i].tolist()} -> "
                        f"y_{err.i} = {Y[err.i].tolist()}): {err.why}. Try reordering the data, moving "
                        "nearly touching points apart, or embedding the data in d >= 3" if err.i >= 0 else
                        f"tube_field could not route the bent paths: {err.why} (clearance "
                        f"{float(ce.min()):.2g} needed near the closest endpoints, in a domain of size "
                        f"{float(np.max(E.max(0) - E.min(0))):.2g}); rescale the data or spread the points") from None
    else:
        try:
            paths = _route_detour(X, Y, keep)
        except _NoRoute as err:
            raise ConvergenceError(f"tube_field could not bend the path of x_{err.i}: {err.why}") from None
    # clearance and tube radius, from dense samples (spacing subtracted: a lower bound)
    ext = float(np.max(E.max(0) - E.min(0)))
    geo = [None if p.shape[0] == 2 else _Curve(p, ext / 2000.0) for p in paths]
    samples = [_segment_samples(X[i], Y[i], ext / 2000.0) if g is None else g.points for i, g in enumerate(geo)]
    gap = [0.0 if g is None else g.spacing for g in geo]
    clearance = math.inf
    for i in range(N):
        for j in range(i + 1, N):
            if geo[i] is None and geo[j] is None:
                dij = float(D[i, j])
            else:
                dij = _sample_dist(samples[i], samples[j]) - 0.5 * (gap[i] + gap[j])
            clearance = min(clearance, dij)
    r = 0.45 * clearance
    for g in geo:
        if g is not None:
            r = min(r, 0.9 * g.curvature_radius)
    for g in geo:
        if g is not None:
            r = min(r, 0.9 * g.self_reach(2.0 * r / 0.9))
    if not r > 0:
        raise ConvergenceError(f"tube_field built paths without positive clearance (clearance {clearance:.3g}); "
                               "move nearly touching points apart")
    return TubeField(X.copy(), Y.copy(), T, r, tuple(np.asarray(p, dtype=np.float64) for p in paths), clearance)


@dataclass(frozen=True)
class AutonomousResult:
    """Outcome of :func:`autonomous_interpolate`.

    Attributes
    ----------
    control : Control
        One constant piece of width P on [0, T] (L = 0 switches).
    field : TubeField
        The step-1 field V.
    max_error : float
        :math:`\\sup_i |\\Phi_T(x_i) - y_i|`, measured with :func:`flow`.
    field_error : float
        :math:`\\max |V - W\\sigma(A\\cdot + b)|` on fresh test points in the tube cores
        (distance <= r/4 from a path, where the trajectories run).
    step1_error : float
        :math:`\\sup_i |x_i(T) - y_i|` for the flow of V itself (DOP853), ~ 0.
    kappa : int
        :math:`(d + 2) d P`, the paper's parameter count.
    num_switches : int
        0.
    status : str
        ``"approximate"`` (the theorem's claim; the error is in ``max_error``).
    """

    control: Control
    field: TubeField
    max_error: float
    field_error: float
    step1_error: float
    kappa: int
    num_switches: int = 0
    status: str = "approximate"


def autonomous_interpolate(X: Any, Y: Any, *, width: int, T: float = 1.0, random_state: Any = None,
                           num_samples: int | None = None, ridge: float = 1e-10,
                           check_step1: bool = True, field: TubeField | None = None) -> AutonomousResult:
    """Constant controls (W, A, b) of width P whose flow nearly interpolates the data (Thm 3.4).

    .. math:: \\dot x = W\\sigma(Ax + b), \\qquad
              \\min_W \\sum_m |W\\sigma(Az_m + b) - V(z_m)|^2 + \\lambda |W|^2,

    with V the step-1 field of :func:`tube_field` (straight or bent paths), random
    hyperplanes (A, b) through the tubes and sample points :math:`z_m` in the tube cores.

    Parameters
    ----------
    X, Y : arrays (N, d)
        Inputs and targets (crossing straight paths are bent, see :func:`tube_field`).
    width : int
        Number of neurons P >= 1.
    T : float
        Time horizon (> 0).
    random_state : None, int or Generator
        Seeds the hyperplanes and the sample points.
    num_samples : int, optional
        Least-squares sample points (default ``max(20 P, 2000)``).
    ridge : float
        Ridge parameter :math:`\\lambda` (relative to the number of samples), >= 0.
    check_step1 : bool
        Integrate V with DOP853 to certify step 1 (``step1_error``).
    field : TubeField, optional
        The step-1 field ``tube_field(X, Y, T=T)`` built once and reused (e.g. across widths);
        it must have been built from the same X, Y and T.

    Returns
    -------
    AutonomousResult
        ``control``, ``max_error`` (verified with :func:`flow`), ``field_error``, ``kappa``.

    Raises
    ------
    DatasetError
        Bad shapes, repeated inputs or targets (see :func:`tube_field`).
    ConvergenceError
        No bent paths could be routed (see :func:`tube_field`).
    ParameterError
        width < 1, T <= 0, num_samples < 1, ridge < 0, a ``field`` built from other data.
    """
    P = check_int(width, "width", minimum=1)
    if field is None:
        field = tube_field(X, Y, T=T)
    else:
        if not isinstance(field, TubeField):
            raise ParameterError(f"field must be a TubeField from tube_field(X, Y, T=T); got {type(field).__name__}")
        Xc = as_points(X, "X", min_dim=2)
        Yc = as_points(Y, "Y", dim=Xc.shape[1])
        if (Xc.shape != field.X.shape or Yc.shape != field.Y.shape or not np.array_equal(Xc, field.X)
                or not np.array_equal(Yc, field.Y) or check_positive(T, "T") != field.T):
            raise ParameterError("field was built from other data: pass the TubeField of tube_field(X, Y, T=T) "
                                 "for these X, Y and T, or leave field=None")
    X, Y, T = field.X, field.Y, field.T
    N, d = X.shape
    M = max(20 * P, 2000) if num_samples is None else check_int(num_samples, "num_samples", minimum=1)
    if not (isinstance(ridge, int | float) and ridge >= 0 and math.isfinite(ridge)):
        raise ParameterError(f"ridge must be a finite number >= 0; got {ridge!r}")
    rng = check_random_state(random_state)
    lo, hi = field.box
    A = rng.standard_normal((P, d))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    centres = field.sample(P, rng, tube_fraction=1.0)  # hyperplanes through the tubes
    b = -np.sum(A * centres, axis=1)
    Z = field.sample(M, rng, tube_fraction=1.0, core=True)  # fit where the trajectories run
    F = np.maximum(Z @ A.T + b, 0.0)  # (M, P)
    V = field(Z)
    lam = math.sqrt(ridge * M)
    Fa = np.vstack([F, lam * np.eye(P)]) if lam > 0 else F
    Va = np.vstack([V, np.zeros((P, d))]) if lam > 0 else V
    Wt, *_ = scipy.linalg.lstsq(Fa, Va, lapack_driver="gelsd")
    W = Wt.T  # (d, P)
    control = Control((Piece(T, W, A, b),))
    XT = flow(control, X)
    err = float(np.max(np.linalg.norm(XT - Y, axis=1)))
    Zt = field.sample(4000, np.random.default_rng(rng.integers(2**31)), tube_fraction=1.0, core=True)
    ferr = float(np.max(np.linalg.norm(np.maximum(Zt @ A.T + b, 0.0) @ W.T - field(Zt), axis=1)))
    s1 = 0.0
    if check_step1:
        sol = solve_ivp(lambda _t, y: field(y.reshape(N, d)).ravel(), (0.0, T), X.ravel(), method="DOP853",
                        rtol=1e-10, atol=1e-12)
        s1 = float(np.max(np.linalg.norm(sol.y[:, -1].reshape(N, d) - Y, axis=1)))
    return AutonomousResult(control, field, err, ferr, s1, (d + 2) * d * P)


def vertex_autonomous(X: Any, Y: Any, *, T: float = 1.0) -> Control | None:
    """Exact autonomous control (L = 0, width N) when every path can be isolated by a hyperplane.

    Neuron i has a hyperplane :math:`a_i\\cdot x + b_i = 0` with :math:`a_i \\perp y_i - x_i`,
    :math:`a_i\\cdot x_i + b_i \\ge 1` and every other segment :math:`[x_j, y_j]` in
    :math:`\\{a_i\\cdot x + b_i \\le -1\\}` (a linear program per point, HiGHS), and
    :math:`w_i = (y_i - x_i)/(T z_i)`, :math:`z_i = a_i\\cdot x_i + b_i`.  Along segment i
    only neuron i is active and :math:`z_i` is constant, so :math:`\\Phi_T(x_i) = y_i`
    exactly.  Feasible with probability -> 1 as d grows for fixed N (points in general
    position in high dimension are vertices of their convex hull).  Returns ``None``
    when some LP is infeasible or when the control, checked with :func:`flow`, misses a
    target by more than 1e-8 (relative to the data scale).

    Parameters
    ----------
    X, Y : arrays (N, d)
    T : float
    """
    from scipy.optimize import linprog

    X = as_points(X, "X", min_dim=2)
    Y = as_points(Y, "Y", dim=X.shape[1])
    check_same_rows(X, Y)
    T = check_positive(T, "T")
    N, d = X.shape
    W = np.zeros((d, N))
    A = np.zeros((N, d))
    b = np.zeros(N)
    scale = max(float(np.abs(np.vstack([X, Y])).max()), 1.0)
    for i in range(N):
        others = np.vstack([np.delete(X, i, axis=0), np.delete(Y, i, axis=0)]) / scale
        # variables (a, b, t): minimise sum t, |a| <= t (largest l1-margin, well scaled)
        k = len(others)
        A_ub = np.zeros((k + 1 + 2 * d, 2 * d + 1))
        A_ub[:k, :d], A_ub[:k, d] = others, 1.0
        A_ub[k, :d], A_ub[k, d] = -X[i] / scale, -1.0
        A_ub[k + 1:k + 1 + d, :d], A_ub[k + 1:k + 1 + d, d + 1:] = np.eye(d), -np.eye(d)
        A_ub[k + 1 + d:, :d], A_ub[k + 1 + d:, d + 1:] = -np.eye(d), -np.eye(d)
        b_ub = np.r_[-np.ones(k + 1), np.zeros(2 * d)]
        A_eq = np.r_[(Y[i] - X[i]) / scale, np.zeros(d + 1)][None, :]
        res = linprog(np.r_[np.zeros(d + 1), np.ones(d)], A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[0.0],
                      bounds=[(None, None)] * (d + 1) + [(0, None)] * d, method="highs")
        if res.status != 0:
            return None
        A[i], b[i] = res.x[:d] / scale, res.x[d]
        z = float(A[i] @ X[i] + b[i])
        W[:, i] = (Y[i] - X[i]) / (T * z)
    control = Control((Piece(T, W, A, b),))
    # verified, not assumed: the exact flow must carry every x_i to y_i
    err = float(np.max(np.linalg.norm(flow(control, X) - Y, axis=1)))
    return control if err <= 1e-8 * scale else None

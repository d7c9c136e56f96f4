"""Classification with few switches (Sec. 3.2, item 3; Alvarez-Lopez, Orive-Illera & Zuazua).

Given inputs :math:`x_i \\in \\mathbb{R}^d` with binary labels, construct a width-1
ReLU control (3.6) such that, after the flow,

.. math:: \\Phi_T(x_i)^{(d)} > 1 \\ \\text{if } \\ell_i = 1, \\qquad
          \\Phi_T(x_i)^{(d)} < 1 \\ \\text{if } \\ell_i = 0

(the convention of the authors' code: the classes end on both sides of the
hyperplane :math:`\\{x_d = 1\\}`).  The construction runs in coordinates normalised
to the data's bounding box :math:`[0, 1]^d`; an affine change of variables
:math:`x = S x' + o` maps the NODE :math:`\\dot x' = w'\\sigma(a'\\cdot x' + b')` to
:math:`\\dot x = S w'\\sigma(a' S^{-1}(x - o) + b')`, again width 1, so the control
is returned in the user's coordinates.

Method ``"clusters"`` (deterministic)
-------------------------------------
*Movers* are the points of one class on the wrong side ("lift" plan: class 1,
moved up; "lower" plan: class 0, moved down; the plan with fewer pieces is
kept).  If the other class is not yet entirely on its side, one compression
piece (single neuron, :math:`a = \\pm e_d`, :math:`w = \\mp K e_d`) squeezes every
point beyond a level onto it first.  Points of the other class ("harmful") are
never moved again; movers only move in their direction.

* **Tent (3 pieces, a cluster of up to d movers).** A slab
  :math:`\\{|n\\cdot x - h| < \\varepsilon\\}` holds the cluster and no harmful point.
  Three shear pieces with normal n, direction :math:`v = e_d - n_d n \\perp n` and
  knots :math:`h - \\varepsilon, h, h + \\varepsilon`, slopes :math:`\\beta, -2\\beta, \\beta`,
  add the tent
  :math:`\\tau\\beta\\,[(s - h + \\varepsilon)_+ - 2(s - h)_+ + (s - h - \\varepsilon)_+]\\,v
  = \\tau\\beta\\,(\\varepsilon - |s - h|)_+\\,v`,
  :math:`s = n\\cdot x` (invariant under shears): every point outside the slab is
  unchanged, every point inside it moves up (:math:`v_d = 1 - n_d^2 > 0`), and
  :math:`\\beta` lifts every mover inside it above the threshold.  The normal: the
  hyperplane through the cluster (d movers in general position: it misses every
  harmful point) when it is not horizontal; when it is (nearly) horizontal,
  :math:`n = e_d` gives :math:`v = 0`, and the normal is tilted,
  :math:`n = \\cos\\delta\\, n_0 - \\sin\\delta\\, u` (u a horizontal unit vector
  orthogonal to :math:`n_0`): the cluster's projections then spread by at most
  :math:`\\sin\\delta\\,\\rho_C` and the harmful ones stay
  :math:`\\ge \\cos\\delta\\, g_0 - \\sin\\delta\\,\\rho_H` away (:math:`g_0 > 0` their distance
  to the hyperplane, :math:`\\rho` the spreads along u), so
  :math:`\\tan\\delta = g_0/(4(\\rho_C + \\rho_H))` always leaves a slab around the cluster
  with :math:`v_d = \\sin^2\\delta > 0`.  Among these normals (and a few more tilts)
  the one with the largest clearance :math:`\\times v_d` (the smallest slope
  :math:`\\beta`) is used; a slab so thin that rounding could move a point across
  its edge (clearance :math:`^2\\sqrt{v_d} < 10^{-10}\\,` lift, normalised coordinates) is
  refused, and a smaller cluster is taken instead.
* **Ramp (1 piece, a linearly separable cluster).** A linear program (HiGHS)
  looks for a half-space containing as many movers as possible and no harmful
  point (minimise the total violation of the movers); one shear piece lifts all
  the movers it contains.  It is used when it takes at least a third of
  :math:`\\min(d, \\#\\text{remaining})` movers, so it never does worse than the tent per piece.

Proved bound (ours).  Assume the points are in general position (no d + 1 of
them on an affine hyperplane).  A tent lifts above the threshold every mover it
touches, so the remaining movers always sit at their input positions (the
compression is an affine map of x_d): any d of them span a hyperplane that
misses the harmful points, and each tent takes at least
:math:`\\min(d, \\#\\text{remaining})` movers.  The tent-only schedule then needs
:math:`3\\lceil M/d\\rceil` pieces for M movers, plus one compression piece; with the
minority class as movers this gives :math:`L \\le 3\\lceil \\min(|R|, |B|)/d\\rceil`,
which is below the JML bound :math:`4\\lceil \\min(|R|,|B|)/d\\rceil - 1` whenever the
minority class is non-empty.  When the other class is already on its side
(e.g. data in :math:`[0,1]^d`, threshold 1) no compression is needed and
:math:`L \\le 3\\lceil M/d\\rceil - 1`.  The greedy schedule (ramps + tents) is kept
only when it uses no more pieces than the tent-only one.  Horizontal (or
nearly horizontal) clusters, e.g. movers at equal heights, are covered by the
tilt.  Two cases fall outside the proof and are reported by ``within_bound``
(the control still classifies): inputs not in general position (a harmful point
inside the convex hull of d movers: no slab holds them) and nearly degenerate
ones where every slab of a d-cluster fails the rounding floor above.  The
authors' code prints :math:`2\\lceil N/(2d)\\rceil - 1` for balanced data: we
report it, but we do not prove it (it is below our bound for d < N/2).

Method ``"runs"`` (probabilistic, along an axis)
------------------------------------------------
Sort the points along an axis :math:`e_j` (:math:`j \\ne d`) and split the colour
sequence into r runs.  Process the runs from one end; the run :math:`R_k` is cut off
from the unprocessed ones by a threshold c in the gap before it and lifted
(class 1) or lowered (class 0) by a shear whose hyperplane is tilted,
:math:`a = e_j \\pm m e_d` with :math:`m` a quarter of the gap, and
:math:`w \\propto \\pm(e_d \\mp m e_j) \\perp a`.  The tilt keeps every earlier run
(lifted above :math:`1 + D` or lowered below :math:`-D`,
:math:`D \\ge \\max_k (1 - c_k)/m_k`) outside the active half-space of a piece of
the opposite sign, while the runs still in the box :math:`[0,1]^d` on the other
side of c stay inactive.  Lifted points only move up, lowered ones only down.
The last run needs no piece when it is already on its side, so a run sequence
gives :math:`L = r - 1` switches, or :math:`r - 2` when an end run is correct (the
better orientation and the best of the d - 1 axes are used).  For i.i.d. data
the arrangement along each axis is a uniform random colour sequence,
independent across axes; :func:`switch_probability` gives the resulting law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog

from ..._checks import (
    as_points,
    check_distinct_rows,
    check_option,
    check_positive,
    check_random_state,
)
from ...errors import DatasetError
from ..flows._control import Control, Piece
from ..flows._flow import flow

__all__ = ["ClassificationResult", "classify", "classification_bounds", "count_runs"]

METHODS = ("clusters", "runs")


class _Classified:
    """``success``: every point ended on its side or in its band (``status == "classified"``)."""

    @property
    def success(self) -> bool:
        return self.status == "classified"  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ClassificationResult(_Classified):
    """Outcome of :func:`classify`.

    Attributes
    ----------
    control : Control
        Width-1 piecewise-constant control on [0, T].
    labels : array (N,)
        The labels as 0/1 integers.
    final : array (N, d)
        :math:`\\Phi_T(x_i)`, measured with :func:`flow`.
    margin : float
        :math:`\\min_i \\pm(\\Phi_T(x_i)^{(d)} - 1)` (+ for class 1, - for class 0);
        > 0 exactly when every point is on its side.
    num_switches : int
        L of ``control``.
    bound : int
        The bound we prove for the method used (see ``bounds``).
    bounds : dict
        Our bound and the authors' values, by source.
    method : str
        ``"clusters"`` or ``"runs"``.
    detail : dict
        Method details (plan, number of ramps/tents, axis, runs ...).
    status : str
        ``"classified"`` when ``margin > 0`` (every point on its side), else ``"failed"``.
    within_bound : bool
        ``num_switches <= bound``.  Reported apart from ``status``: a correct control
        that overruns the bound (only possible for inputs that are not in general
        position, see the module notes) is still ``"classified"``.
    """

    control: Control
    labels: np.ndarray
    final: np.ndarray
    margin: float
    num_switches: int
    bound: int
    bounds: dict[str, int] = field(default_factory=dict)
    method: str = "clusters"
    detail: dict = field(default_factory=dict)
    status: str = "classified"
    within_bound: bool = True


# ------------------------------------------------------------------------------------------
# input handling and coordinates
# ------------------------------------------------------------------------------------------
def _labels01(labels: Any, N: int) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != N:
        raise DatasetError(f"labels must be a 1-D array of length N = {N}; got shape {lab.shape}")
    vals = np.unique(lab)
    if vals.size > 2:
        raise DatasetError(
            f"labels must be binary; got {vals.size} classes {vals[:5].tolist()}. For several classes, "
            "use classify_multiclass (one control, ordered bands of x_d)")
    if vals.size == 2:
        if set(vals.tolist()) <= {0, 1} or set(vals.tolist()) <= {False, True}:
            return (lab == vals[1]).astype(np.int64) if vals[1] in (1, True) else (lab == 1).astype(np.int64)
        raise DatasetError(f"labels must be 0/1 (or booleans); got the values {vals.tolist()}")
    if vals.size == 1 and vals[0] in (0, 1):
        return (lab == 1).astype(np.int64)
    raise DatasetError(f"labels must be 0/1 (or booleans); got the values {vals.tolist()}")


def _frame(X: np.ndarray, flip: bool, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal scale S and offset o with X = Xn * S + o, Xn in [0, 1]^d (x_d reversed if flip).

    With ``level``, the range of x_d is widened to hold it: the threshold is then in
    [0, 1] too, and data that are nearly flat in x_d far from the threshold are not
    blown up along x_d.
    """
    lo, hi = X.min(axis=0), X.max(axis=0)
    if level is not None:
        lo[-1], hi[-1] = min(lo[-1], level), max(hi[-1], level)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    S, o = span.copy(), lo.copy()
    if flip:
        S[-1], o[-1] = -span[-1], hi[-1]
    return S, o


def _to_user(pieces: list[tuple[np.ndarray, np.ndarray, float]], S: np.ndarray, o: np.ndarray,
             tau: float) -> list[Piece]:
    """(w', a', b') in normalised coordinates -> Piece in the user's coordinates."""
    out = []
    for w, a, b in pieces:
        A = a / S
        out.append(Piece._trusted(tau, (S * w)[:, None], A[None, :], np.array([b - A @ o])))
    return out


def _apply_shear(Xn: np.ndarray, w: np.ndarray, a: np.ndarray, b: float, tau: float) -> np.ndarray:
    z = Xn @ a + b
    return Xn + tau * np.maximum(z, 0.0)[:, None] * w[None, :]


def _apply_single(Xn: np.ndarray, w: np.ndarray, a: np.ndarray, b: float, tau: float) -> np.ndarray:
    z = Xn @ a + b
    kappa = float(a @ w)
    phi = math.expm1(kappa * tau) / kappa if kappa != 0 else tau
    return Xn + (np.maximum(z, 0.0) * phi)[:, None] * w[None, :]


# ------------------------------------------------------------------------------------------
# bounds
# ------------------------------------------------------------------------------------------
def classification_bounds(labels: Any, d: int) -> dict[str, int]:
    """Switch bounds for binary classification of labelled points in dimension d.

    Returns ours (proved, cluster method, for any data:
    :math:`3\\lceil\\min(|R|,|B|)/d\\rceil`), the JML bound
    :math:`4\\lceil \\min(|R|,|B|)/d\\rceil - 1` and, for balanced data, the value
    printed by the authors' code :math:`2\\lceil N/(2d)\\rceil - 1`.

    Parameters
    ----------
    labels : array_like (N,)
        Binary labels; the points with label 1 are one class (|B|), all others the
        other class (|R|).
    d : int
        Dimension of the points.

    Returns
    -------
    dict of str to int
        The bound's label -> number of switches (the authors' value only when both
        classes have the same size).
    """
    lab = np.asarray(labels)
    n1 = int(np.sum(lab == 1))
    n0 = int(lab.size - n1)
    m = min(n0, n1)
    out = {"ours: 3ceil(min(|R|,|B|)/d)": 3 * math.ceil(m / d),
           "JML: 4ceil(min(|R|,|B|)/d)-1": max(4 * math.ceil(m / d) - 1, 0)}
    if n0 == n1:
        out["authors' code: 2ceil(N/(2d))-1"] = max(2 * math.ceil(lab.size / (2 * d)) - 1, 0)
    return out


def count_runs(s: np.ndarray, labels: np.ndarray) -> int:
    """Number of runs of equal labels in the order of ``s`` (ties broken stably).

    Parameters
    ----------
    s : array (N,)
        Scores (e.g. the projection of the points on an axis) giving the order.
    labels : array (N,)
        Labels of the points, in the same order as ``s``.

    Returns
    -------
    int
        :math:`1 +` the number of label changes along the sorted sequence (0 when N = 0).
    """
    lab = np.asarray(labels)[np.argsort(s, kind="stable")]
    return int(1 + np.count_nonzero(lab[1:] != lab[:-1])) if lab.size else 0


# ------------------------------------------------------------------------------------------
# the runs method
# ------------------------------------------------------------------------------------------
def _runs_plan(Xn: np.ndarray, lab: np.ndarray, theta: float, j: int, o: int) -> tuple[int, float]:
    """(number of pieces, smallest gap used) for axis j, orientation o, in normalised coords."""
    s = Xn[:, j] if o == 1 else 1.0 - Xn[:, j]
    order = np.argsort(-s, kind="stable")  # far end (large s) first
    ls, ss = lab[order], s[order]
    starts = np.flatnonzero(np.r_[True, ls[1:] != ls[:-1]])
    r = starts.size
    last = order[starts[-1]:]
    ok_last = np.all(np.where(lab[last] == 1, Xn[last, -1] > theta, Xn[last, -1] < theta))
    pieces = r - 1 if ok_last else r
    gaps = [ss[k - 1] - ss[k] for k in starts[1:]]
    return pieces, (min(gaps) if gaps else 1.0)


def _runs_build(Xn: np.ndarray, lab: np.ndarray, theta: float, j: int, o: int, tau: float):
    N, d = Xn.shape
    s = Xn[:, j] if o == 1 else 1.0 - Xn[:, j]
    off = 0.0 if o == 1 else 1.0
    order = np.argsort(-s, kind="stable")
    ls = lab[order]
    starts = list(np.flatnonzero(np.r_[True, ls[1:] != ls[:-1]])) + [N]
    runs = [order[starts[k]:starts[k + 1]] for k in range(len(starts) - 1)]
    last = runs[-1]
    if np.all(np.where(lab[last] == 1, Xn[last, -1] > theta, Xn[last, -1] < theta)):
        runs = runs[:-1]
    # thresholds and tilts
    cs, ms = [], []
    for k, run in enumerate(runs):
        smin = float(s[run].min())
        rest = order[starts[k + 1]:]
        if rest.size:
            smax_rest = float(s[rest].max())
            c, m = 0.5 * (smin + smax_rest), 0.25 * (smin - smax_rest)
        else:
            c, m = smin - 0.5, 0.25
        if not m > 0:
            raise DatasetError(f"two points have equal coordinate {j}: the runs method needs distinct "
                               "coordinates along its axis (use method='clusters')")
        cs.append(c)
        ms.append(m)
    D = max((1.0 - c) / m for c, m in zip(cs, ms, strict=False)) + 1.0 if cs else 1.0
    up, down = max(1.0, theta) + D + 1.0, min(0.0, theta) - D - 1.0
    ej = np.zeros(d)
    ej[j] = o
    ed = np.zeros(d)
    ed[-1] = 1.0
    Y = Xn.copy()
    out = []
    for run, c, m in zip(runs, cs, ms, strict=False):
        if lab[run[0]] == 1:
            a, b = ej + m * ed, off - c - m
            v = ed - m * ej
            z = Y[run] @ a + b
            beta = float(np.max((up - Y[run, -1]) / (tau * z)))
        else:
            a, b = ej - m * ed, off - c
            v = -(ed + m * ej)
            z = Y[run] @ a + b
            beta = float(np.max((Y[run, -1] - down) / (tau * z)))
        w = beta * v
        out.append((w, a, b))
        Y = _apply_shear(Y, w, a, b, tau)
    return out


# ------------------------------------------------------------------------------------------
# the cluster method
# ------------------------------------------------------------------------------------------
def _max_margin(Ms: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Maximal-margin (l-inf normalised) hyperplane n.x + b with Ms on the + side, H strictly on the - side."""
    d = Ms.shape[1]
    scale = max(float(np.abs(np.vstack([Ms, H])).max()), 1.0)
    A_ub = np.zeros((Ms.shape[0] + H.shape[0], d + 2))
    k = Ms.shape[0]
    A_ub[:k, :d], A_ub[:k, d], A_ub[:k, d + 1] = -Ms / scale, -1.0, 1.0
    A_ub[k:, :d], A_ub[k:, d], A_ub[k:, d + 1] = H / scale, 1.0, 1.0
    res = linprog(np.r_[np.zeros(d + 1), -1.0], A_ub=A_ub, b_ub=np.zeros(A_ub.shape[0]),
                  bounds=[(-1, 1)] * d + [(None, None), (0, 1)], method="highs")
    if res.status != 0 or not res.x[d + 1] > 1e-9:
        return None
    n, b, t = res.x[:d] / scale, res.x[d], res.x[d + 1]
    b = b + 0.5 * t  # harmful at <= -t/2 < 0, movers at >= t/2 > 0
    if not (np.all(H @ n + b < 0) and np.all(Ms @ n + b > 0)):
        return None
    return n, float(b)


def _lp_cluster(M: np.ndarray, H: np.ndarray, rng: np.random.Generator
                ) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Half-space {n.x + b > 0} with every row of H strictly outside and many rows of M inside.

    Directions: random ones, the coordinate axes and the directions from the harmful
    centroid to each mover; for each, the movers beyond the largest harmful
    projection are cut off.  The largest such set is then re-separated with the
    maximal-margin hyperplane of a linear program (HiGHS), which may cut off more.
    """
    k, d = M.shape
    if H.shape[0] == 0:
        n = np.zeros(d)
        n[-1] = -1.0
        return n, float(M[:, -1].max()) + 1.0, np.arange(k)
    mm = _max_margin(M, H)
    if mm is not None:
        return mm[0], mm[1], np.arange(k)
    U = np.vstack([rng.standard_normal((256, d)), np.eye(d), -np.eye(d), M - H.mean(axis=0)])
    U /= np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-300)
    PM, PH = M @ U.T, H @ U.T  # (k, K), (h, K)
    top = PH.max(axis=0)
    counts = np.sum(PM > top, axis=0)
    best = int(np.argmax(counts))
    if counts[best] == 0:
        return None
    sel = np.flatnonzero(PM[:, best] > top[best])
    mm = _max_margin(M[sel], H)
    if mm is not None:
        n, b = mm
        inside = np.flatnonzero(M @ n + b > 0)
        if inside.size >= sel.size:
            return n, b, inside
    n = U[best]
    thr = 0.5 * (top[best] + PM[sel, best].min())
    return n, -thr, sel


_COND = 1e-10  # see _tent_slabs
_SAFE = 1e-9  # in the normalised coordinates (data in [0, 1]^d)
_TILTS = 2.0 ** -np.arange(0.0, 15.0)  # tilts of a (nearly) horizontal cluster hyperplane, largest first


def _tent_normals(C: np.ndarray, d: int, rng: np.random.Generator, P: np.ndarray | None = None) -> np.ndarray:
    """Candidate unit normals (K, d), n_d >= 0, for a slab around the cluster C (k, d).

    The normals of the hyperplanes through C (the null space of its differences:
    the unique one for k = d affinely independent points, random ones for k < d),
    and each of them tilted by :math:`2^{-j}` (j = 0..14) towards random (horizontal
    and general) directions: when the hyperplane through C is horizontal,
    :math:`n = e_d` gives no vertical direction :math:`v \\perp n`, and a slightly
    tilted slab still holds C and misses the harmful points.  With the harmful
    points P, the safe tilts of :func:`_safe_tilts` are added.
    """
    k = C.shape[0]
    if k > 1:
        D0 = C[1:] - C[0]
        _, sv, Vt = np.linalg.svd(D0, full_matrices=True)
        null = Vt[np.sum(sv > 1e-12 * max(sv.max(), 1e-300)):]
    else:
        null = np.eye(d)
    base = null[-1:] if null.shape[0] == 1 else rng.standard_normal((16, null.shape[0])) @ null
    base = base / np.linalg.norm(base, axis=1, keepdims=True)
    U = rng.standard_normal((6, d))
    U[:3, -1] = 0.0  # horizontal tilts: the largest vertical component of v per tilt
    U /= np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-300)
    tilted = (base[:2, None, None, :] + _TILTS[None, :, None, None] * U[None, None, :, :]).reshape(-1, d)
    Nc = np.vstack([base, tilted] + ([] if P is None else [_safe_tilts(C, P, base[:2], rng)]))
    Nc /= np.maximum(np.linalg.norm(Nc, axis=1, keepdims=True), 1e-300)
    return np.where(Nc[:, -1:] < 0, -Nc, Nc)


def _safe_tilts(C: np.ndarray, P: np.ndarray, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normals n = cos(delta) n0 - sin(delta) u, u a unit vector orthogonal to n0 (lowering n_d).

    For a cluster C on the hyperplane :math:`n_0\\cdot x = h_0` whose nearest other point of
    P is at distance :math:`g_0 > 0`, the projections on n spread by at most
    :math:`\\sin\\delta\\,\\rho_C` (:math:`\\rho_C = \\max_i |u\\cdot(c_i - \\bar c)|`) and the
    other points stay at least :math:`\\cos\\delta\\, g_0 - \\sin\\delta\\,\\rho_P` away, so
    :math:`\\tan\\delta = g_0 / (4(\\rho_C + \\rho_P))` leaves a slab around C that misses
    P, with :math:`1 - n_d^2 > 0` even when :math:`n_0 = e_d` (horizontal hyperplane).
    """
    d = C.shape[1]
    out = []
    cbar = C.mean(axis=0)
    for n0 in base:
        v0 = np.eye(1, d, d - 1).ravel() - n0[-1] * n0
        if np.linalg.norm(v0) > 1e-3:
            u = v0 / np.linalg.norm(v0)
        else:
            u = rng.standard_normal(d)
            u[-1] = 0.0
            u -= (u @ n0) * n0
            u /= max(np.linalg.norm(u), 1e-300)
        g0 = float(np.min(np.abs((P - cbar) @ n0))) if P.shape[0] else 1.0
        rho = float(np.max(np.abs((C - cbar) @ u))) + (float(np.max(np.abs((P - cbar) @ u))) if P.shape[0] else 0.0)
        if g0 > 0:
            delta = math.atan(g0 / (4.0 * max(rho, 1e-300)))
            out.append(math.cos(delta) * n0 - math.sin(delta) * u)
    return np.array(out).reshape(-1, d)


def _tent_slabs(C: np.ndarray, R: np.ndarray, Hpts: np.ndarray, Nc: np.ndarray, lift: float, top: int = 4):
    """Best slabs {|n.x - h| < eps} holding the cluster C, none of Hpts, for the normals Nc.

    For each normal: h is the middle of the cluster's projections (half-spread r),
    g the distance from h of the nearest harmful projection; a slab needs g > r.
    The half-width eps is the middle of the widest gap of the list r, the
    projections of the other remaining movers R falling in (r, g), g: every mover
    inside (dev <= a < eps) is lifted, with a lift factor eps - dev >= (b - a)/2.
    Returns [(score, n, h, eps, inside mask over R)] (score = (b - a)/2 * v_d,
    v_d = 1 - n_d^2 the vertical part of the tent direction), best first.

    Conditioning: a lift by ``lift`` needs the slope :math:`\\beta = \\text{lift}/\\text{score}`;
    rounding moves the (shear-invariant) projection :math:`n\\cdot x` of a point by about
    :math:`\\beta\\sqrt{v_d}\\,\\epsilon_{\\rm mach}`, which must stay far below the clearance
    (b - a)/2 of the slab: slabs with
    :math:`((b - a)/2)^2\\sqrt{v_d} < 10^{-10}\\,\\text{lift}` are refused (a smaller cluster is
    used instead; this can only happen for nearly degenerate data).
    """
    SC = C @ Nc.T
    hs = 0.5 * (SC.max(axis=0) + SC.min(axis=0))
    rs = 0.5 * (SC.max(axis=0) - SC.min(axis=0))
    DR = np.abs(R @ Nc.T - hs)
    if Hpts.shape[0]:
        gs = np.min(np.abs(Hpts @ Nc.T - hs), axis=0)
    else:
        gs = DR.max(axis=0) + 2.0  # no harmful point: one slab takes every mover
    vd = 1.0 - Nc[:, -1] ** 2
    tol = 1e-9 * (1.0 + np.abs(hs))
    pre = np.where((gs - rs > tol) & (vd > 1e-12), 0.5 * (gs - rs) * vd, -np.inf)
    out = []
    for j in np.argsort(-pre)[:top]:
        if not np.isfinite(pre[j]):
            break
        r, g, dev = rs[j], gs[j], DR[:, j]
        pts = np.r_[r, np.sort(dev[(dev > r) & (dev < g)]), g]
        gap = np.diff(pts)
        i = int(np.argmax(gap))
        if not gap[i] > tol[j]:
            continue
        eps = 0.5 * (pts[i] + pts[i + 1])
        if (0.5 * gap[i]) ** 2 * math.sqrt(vd[j]) < _COND * lift:
            continue
        out.append((0.5 * gap[i] * vd[j], Nc[j], float(hs[j]), float(eps), dev < eps))
    out.sort(key=lambda t: -t[0] * np.count_nonzero(t[4]))
    return out


def _tent_cluster(Y: np.ndarray, idx: np.ndarray, Hpts: np.ndarray, d: int, rng: np.random.Generator,
                  lift: float):
    """A slab (n, h, eps, lifted movers) holding up to d movers (rows idx of Y) and no harmful point.

    Clusters of k = min(d, #idx) movers (the k first along the first axis, then
    along random directions) are tried first; smaller clusters only when no
    slab holds any k-cluster tried.  A single mover always has one (distinct points).
    """
    R = Y[idx]
    for k in range(min(d, idx.size), 0, -1):
        best = None
        tries = 1 if idx.size <= k else 12
        for t in range(tries):
            u = np.eye(1, d, 0).ravel() if t == 0 else rng.standard_normal(d)
            sel = np.argsort(R @ u, kind="stable")[:k]
            slabs = _tent_slabs(R[sel], R, Hpts, _tent_normals(R[sel], d, rng, Hpts), lift)
            if slabs and (best is None or slabs[0][0] * np.count_nonzero(slabs[0][4])
                          > best[0] * np.count_nonzero(best[4])):
                best = slabs[0]
        if best is not None:
            return best[1:]
    # a single mover: the best slab without the conditioning floor (never empty for distinct points)
    for t in range(4):
        one = R[[0 if t == 0 else int(rng.integers(idx.size))]]
        slabs = _tent_slabs(one, R, Hpts, _tent_normals(one, d, rng, Hpts), 0.0)
        if slabs:
            return slabs[0][1:]
    raise DatasetError("the cluster method found no slab around a single mover that misses the other class "
                       "(is a point repeated?)")


def _clusters_build(Xn: np.ndarray, lab: np.ndarray, theta: float, tau_hint: float,
                    rng: np.random.Generator, greedy: bool):
    """Pieces (normalised coords, lift plan: class 1 up) and counts; tau = 1 per piece."""
    N, d = Xn.shape
    ed = np.zeros(d)
    ed[-1] = 1.0
    pieces = []
    Y = Xn.copy()
    # points within _SAFE of the threshold count as on the wrong side (the flow of the
    # assembled control reproduces these heights only up to rounding)
    if np.any(Y[lab == 0, -1] >= theta - _SAFE):  # compression of everything above ell down to ell
        ell = min(0.0, theta) - 1.0
        top = float(Y[:, -1].max()) - ell
        K = math.log(2.0 * top / (theta - ell))
        w, a, b = -K * ed, ed.copy(), -ell
        pieces.append(("compress", w, a, b))
        Y = _apply_single(Y, w, a, b, 1.0)
    up = theta + 1.0
    movers = np.flatnonzero((lab == 1) & (Y[:, -1] <= theta + _SAFE))
    harmful = Y[lab == 0]
    remaining = movers.copy()
    nramps = ntents = 0
    while remaining.size:
        took = False
        if greedy:
            lp = _lp_cluster(Y[remaining], harmful, rng)
            if lp is not None:
                n, b, inside = lp
                nn = float(np.linalg.norm(n))
                if nn > 0 and inside.size * 3 >= min(d, remaining.size):
                    n, b = n / nn, b / nn
                    v = ed - n[-1] * n
                    if v[-1] > 1e-6:
                        sel = remaining[inside]
                        z = Y[sel] @ n + b
                        beta = float(np.max((up - Y[sel, -1]) / (z * v[-1])))
                        w = beta * v
                        pieces.append(("ramp", w, n, b))
                        Y = _apply_shear(Y, w, n, b, 1.0)
                        remaining = remaining[Y[remaining, -1] <= theta + _SAFE]
                        nramps += 1
                        took = True
        if not took:
            n, h, eps, inside = _tent_cluster(Y, remaining, harmful, d, rng,
                                              up + 0.5 - float(Y[remaining, -1].min()))
            sel = remaining[inside]
            v = ed - n[-1] * n
            # generic target height (not the same for every tent): later lifts of the
            # multi-class scheme then meet no lifted points at equal heights
            target = up + 0.5 * rng.random()
            beta = float(np.max((target - Y[sel, -1]) / ((eps - np.abs(Y[sel] @ n - h)) * v[-1])))
            for c, sl in ((h - eps, beta), (h, -2 * beta), (h + eps, beta)):
                pieces.append(("tent", sl * v, n.copy(), -c))
                Y = _apply_shear(Y, sl * v, n, -c, 1.0)
            remaining = remaining[Y[remaining, -1] <= theta + _SAFE]
            ntents += 1
    return pieces, {"ramps": nramps, "tents": ntents, "movers": int(movers.size),
                    "compression": bool(pieces and pieces[0][0] == "compress")}


def _finalise_pieces(raw, tau: float):
    """Rescale the unit-duration pieces to duration tau (w -> w / tau)."""
    return [(w / tau, a, b) for (_, w, a, b) in raw]


# ------------------------------------------------------------------------------------------
# public entry point
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """One candidate construction of :func:`classify`: a frame of the data and its pieces.

    ``Xn = (X - o) / S`` are the inputs in the normalised frame (x_d reversed when
    ``flip``: class 0 is lowered instead of class 1 lifted), ``theta`` the threshold
    ``x_d = 1`` in that frame, ``labels`` the labels of the class that moves (1 - labels
    when flipped); ``info`` is reported in the result; ``raw`` holds the cluster method's
    pieces before their durations are known (None for the runs method, which builds its
    pieces once the duration ``tau`` is fixed).
    """

    num_pieces: int
    flip: bool
    S: np.ndarray
    o: np.ndarray
    Xn: np.ndarray
    theta: float
    labels: np.ndarray
    info: dict
    raw: list | None = None

    def pieces(self, T: float, method: str) -> list[Piece]:
        """The plan's pieces in the user's coordinates, of equal durations T / num_pieces."""
        d = self.Xn.shape[1]
        if self.num_pieces == 0:
            return [Piece._trusted(T, np.zeros((d, 1)), np.eye(1, d), np.zeros(1))]
        tau = T / self.num_pieces
        if method == "runs":
            raw = _runs_build(self.Xn, self.labels, self.theta, self.info["axis"],
                              self.info["orientation"], tau)
        else:
            raw = _finalise_pieces(self.raw, tau)
        return _to_user(raw, self.S, self.o, tau)


def _plan(X: np.ndarray, lab: np.ndarray, method: str, flip: bool, rng: np.random.Generator) -> _Plan:
    """The plan of ``method`` in the frame that lifts class 1 (``flip``: lowers class 0)."""
    d = X.shape[1]
    S, o = _frame(X, flip, 1.0 if method == "clusters" else None)
    Xn = (X - o) / S
    theta = (1.0 - o[-1]) / S[-1]
    labp = lab if not flip else 1 - lab
    if method == "runs":
        plans = [(_runs_plan(Xn, labp, theta, j, oo), j, oo) for j in range(d - 1) for oo in (1, -1)]
        (npieces, _gap), j, oo = min(plans, key=lambda p: (p[0][0], -p[0][1]))
        info = {"axis": j, "orientation": oo, "runs": count_runs(Xn[:, j], labp)}
        return _Plan(npieces, flip, S, o, Xn, theta, labp, info)
    seed = int(rng.integers(2**31))
    raw_g, info_g = _clusters_build(Xn, labp, theta, 1.0, np.random.default_rng(seed), True)
    raw_t, info_t = _clusters_build(Xn, labp, theta, 1.0, np.random.default_rng(seed), False)
    raw, info = (raw_g, info_g) if len(raw_g) <= len(raw_t) else (raw_t, info_t)
    plan_bound = 3 * math.ceil(info["movers"] / d) + int(info["compression"]) - 1
    info = dict(info, plan="lower class 0" if flip else "lift class 1", plan_bound=max(plan_bound, 0))
    return _Plan(len(raw), flip, S, o, Xn, theta, labp, info, raw)


def classify(X: Any, labels: Any, *, method: str = "clusters", T: float = 1.0,
             random_state: Any = None) -> ClassificationResult:
    """Construct a width-1 control that separates two classes across :math:`\\{x_d = 1\\}`.

    .. math:: \\Phi_T(x_i)^{(d)} > 1 \\ (\\ell_i = 1), \\qquad \\Phi_T(x_i)^{(d)} < 1 \\ (\\ell_i = 0),

    for the ReLU neural ODE :math:`\\dot x = w(t)\\,\\sigma(a(t)\\cdot x + b(t))` (3.6)
    with piecewise-constant :math:`(w, a, b)`.  Multi-class data: see
    :func:`~controlml.node.classify_multiclass` (ordered bands of :math:`x_d`).

    Parameters
    ----------
    X : array (N, d)
        Inputs, pairwise distinct, d >= 2.
    labels : array (N,)
        0/1 labels (or booleans).
    method : {"clusters", "runs"}
        ``"clusters"``: deterministic; clusters of up to d movers carried together
        (bound :math:`3\\lceil\\min(|R|,|B|)/d\\rceil`).  ``"runs"``: one piece per run of
        equal labels along the best coordinate axis :math:`j \\ne d`.
    T : float
        Time horizon (> 0); the pieces have equal durations.
    random_state : None, int or Generator
        Seeds the choice of clusters (``"clusters"``).

    Returns
    -------
    ClassificationResult
        ``control``, ``num_switches``, ``bound``, ``bounds``, ``margin``, ``status``
        (``"classified"`` iff every point ends on its side) and ``within_bound``
        (``num_switches <= bound``, reported separately).

    Raises
    ------
    DatasetError
        d < 2, labels not binary or of the wrong length, repeated inputs, NaN/inf,
        or equal coordinates along every axis (runs).
    ParameterError
        unknown method, T <= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from controlml.node import classify
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(20, 3)); labels = np.arange(20) % 2
    >>> res = classify(X, labels, method="clusters", random_state=0)
    >>> res.status, res.margin > 0, res.within_bound
    ('classified', True, True)
    """
    X = as_points(X, "X")
    N, d = X.shape
    if d < 2:
        raise DatasetError("X has d = 1 column: 1-D flows preserve order (Sec. 3.1); embed the data in "
                           "d >= 2 dimensions")
    lab = _labels01(labels, N)
    method = check_option(method, "method", METHODS)
    T = check_positive(T, "T")
    check_distinct_rows(X, "X", "the flow of a neural ODE is injective")
    rng = check_random_state(random_state)
    bounds = classification_bounds(lab, d)

    plans = [_plan(X, lab, method, flip, rng) for flip in (False, True)]  # flip: lower class 0
    best = min(plans, key=lambda p: p.num_pieces)  # the first on ties
    control = Control(tuple(best.pieces(T, method)))
    info = best.info
    final = flow(control, X)
    sgn = np.where(lab == 1, 1.0, -1.0)
    margin = float(np.min(sgn * (final[:, -1] - 1.0)))
    L = control.num_switches
    if method == "runs":
        bound = max(int(info["runs"]) - 1, 0)
        bounds = dict(bounds, **{"ours (runs): r - 1 on the chosen axis": bound})
    else:
        bound = int(info["plan_bound"])
        bounds = dict(bounds, **{"ours (plan used): 3ceil(M/d)-1, +1 with compression": bound})
    status = "classified" if margin > 0 else "failed"
    return ClassificationResult(control, lab, final, margin, L, bound, bounds, method, info, status,
                                bool(L <= bound))

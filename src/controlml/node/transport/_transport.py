"""L1-approximate control of the neural transport equation (3.16), Thm 3.5, in d = 2.

Construction (a discrete Knothe map made of width-1 ReLU pieces)
------------------------------------------------------------------
Source: :math:`\\rho_0` uniform on a rectangle :math:`S`.  Target: a density
:math:`\\rho_1` on a rectangle :math:`B = [l_1, u_1]\\times[l_2, u_2]`, replaced by its
cell averages :math:`\\bar\\rho_1` on an ``n x m`` grid (column masses :math:`M_j`,
cell masses :math:`m_{ij}`; mixed with a uniform ``floor`` so every cell has mass).
All maps below are compositions of single-neuron pieces, each with a closed-form
flow and Jacobian:

0. **translation** (one piece with :math:`a = 0`): the corner of :math:`S` goes to :math:`(l_1, l_2)`.
1. **column masses** (``n`` pieces, :math:`a = e_1`, :math:`w \\parallel e_1`,
   :math:`\\kappa \\ne 0`): the 1-D monotone piecewise-linear map of :math:`x_1` that sends
   the source quantiles of :math:`M_0, M_0 + M_1, \\dots` to the column boundaries
   :math:`\\alpha_j = l_1 + j h_1`.  The piece with threshold :math:`\\alpha_j` multiplies the
   slope on :math:`\\{x_1 > \\alpha_j\\}` by :math:`r = e^{\\kappa t}`.  Column ``j`` then
   carries mass :math:`M_j`, uniformly.
2. **separate the columns** (``2(n - 1)`` shears :math:`a = e_1`, :math:`w \\parallel e_2`):
   :math:`x_2 \\mathrel{+}= g(x_1)`, with :math:`g` a ramp of height ``D`` (> the source height) on
   :math:`[\\alpha_j - \\delta, \\alpha_j]` at each inner boundary, so column ``j`` is lifted
   by :math:`jD` and the columns' :math:`x_2`-ranges become disjoint.
3. **cell masses** (``n (m + 1)`` pieces, :math:`a = e_2`, :math:`w \\parallel e_2`): column by
   column from the bottom, the 1-D piecewise-linear map of :math:`x_2` that sends the
   conditional quantiles to the cell boundaries; its last piece restores slope 1, so
   the columns above are only translated (their density is unchanged) and the columns
   below are on the inactive side.  Within a column the pieces go top-down (thresholds
   at the source quantiles), so the columns above are stretched by at most
   :math:`m L_S / L_B` on the way, whatever the slopes.
4. **bring the columns back** (``2(n - 1)`` shears): :math:`x_2 \\mathrel{-}= g'(x_1)`.

So :math:`\\rho(T) = \\bar\\rho_1` exactly, except on the ramps (a set of
:math:`\\rho_0`-mass at most ``ramp``: that fraction of each column but the last), and

.. math:: \\|\\rho(T) - \\rho_1\\|_{L^1} \\le \\|\\bar\\rho_1 - \\rho_1\\|_{L^1}
          + 2\\,\\mathrm{floor} + 2\\,\\rho_0(\\text{ramps}) \\xrightarrow[n, m\\to\\infty]{} 0,

with ``L + 1 = n m + 6 n - 3`` pieces (at most; pieces with ratio 1 are dropped).
For a Lipschitz :math:`\\rho_1` the first term is :math:`O(h)`, i.e. :math:`O(L^{-1/2})`.

Limitation: d = 2 and a uniform source on a rectangle (any density on a box is
reached through its cell averages; a non-uniform source would need the inverse of
such a map, not built here).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._checks import as_points, check_int, check_positive, check_random_state
from ...errors import ParameterError
from ..flows._control import Control, Piece
from ..flows._flow import flow
from ._transport_flow import inverse_control, pushforward_logdensity, uniform_box_logdensity

__all__ = ["TransportResult", "TransportErrors", "transport", "transport_errors", "density_errors", "num_pieces",
           "cells_for_switches"]

E2 = np.array([0.0, 1.0])
_SEQ = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64)


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------
def _as_box(box: Any, name: str) -> np.ndarray:
    try:
        arr = np.array(box, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a (2, 2) array [[lo_1, lo_2], [hi_1, hi_2]]; "
                             f"got {box!r}") from exc
    if arr.shape != (2, 2) or not np.all(np.isfinite(arr)) or not np.all(arr[1] > arr[0]):
        raise ParameterError(
            f"{name} must be a finite (2, 2) array [[lo_1, lo_2], [hi_1, hi_2]] with hi > lo; got "
            f"{arr.tolist() if arr.size <= 8 else arr.shape}. Only d = 2 rectangles are supported.")
    arr.setflags(write=False)
    return arr


def grid_midpoints(box: Any, nx: int, ny: int) -> tuple[np.ndarray, float]:
    """Midpoints of an ``nx x ny`` grid of a rectangle, and the area of one cell.

    Parameters
    ----------
    box : array_like (2, 2)
        ``[[lo_1, lo_2], [hi_1, hi_2]]``.
    nx, ny : int
        Cells along :math:`x_1` and :math:`x_2`.

    Returns
    -------
    G : array (nx * ny, 2)
        The cell midpoints in C order (:math:`x_1` major), so ``f(G).reshape(nx, ny)`` is an
        image with :math:`x_1` along the first axis.
    vol : float
        The area of one cell, so ``f(G).sum() * vol`` is the midpoint rule for the integral.
    """
    box = np.asarray(box, dtype=np.float64)
    x1 = box[0, 0] + (np.arange(nx) + 0.5) * (box[1, 0] - box[0, 0]) / nx
    x2 = box[0, 1] + (np.arange(ny) + 0.5) * (box[1, 1] - box[0, 1]) / ny
    G = np.stack(np.meshgrid(x1, x2, indexing="ij"), axis=-1).reshape(-1, 2)
    return G, float(np.prod(box[1] - box[0]) / (nx * ny))


class TargetDensity:
    """A density restricted to its box and normalised (a callable or cell weights).

    :meth:`density` evaluates it at points X (N, 2) (zero outside ``box``),
    :meth:`sample` draws exact samples, :meth:`cell_masses` integrates it over a grid.
    ``TransportResult.target`` is the target :math:`\\rho_1` of a :func:`transport` run.
    """

    def __init__(self, rho1: Any, box: np.ndarray, quad: int, name: str = "rho1"):
        self.box = box
        self.name = name
        if callable(rho1):
            self.fn = rho1
            G, vol = grid_midpoints(box, 256, 256)
            vals = self._call(G)
            Z = float(vals.sum() * vol)
            if not Z > 0:
                raise ParameterError(f"{name} integrates to 0 on its box: it must be a density with mass there")
            self.Z = Z
            self.hist = None
        else:
            try:
                H = np.array(rho1, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ParameterError(f"{name} must be a callable density X (N, 2) -> (N,) or an (n1, n2) "
                                     "array of non-negative cell weights on its box") from exc
            if H.ndim != 2 or not np.all(np.isfinite(H)) or np.any(H < 0) or H.sum() <= 0:
                raise ParameterError(
                    f"{name} given as an array must be (n1, n2) finite non-negative cell weights with a "
                    f"positive sum (a piecewise-constant density on its box); got shape {H.shape}")
            self.hist = H / H.sum()
            self.fn = None
            self.Z = 1.0
        self.quad = quad

    def _call(self, X: np.ndarray) -> np.ndarray:
        v = np.asarray(self.fn(X), dtype=np.float64)
        if v.shape != (X.shape[0],) or not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ParameterError(f"{self.name}(X) must return finite non-negative values of shape (N,) for X (N, 2)")
        return v

    def density(self, X: np.ndarray) -> np.ndarray:
        """The normalised density at X (N, 2), shape (N,); zero outside the box."""
        box = self.box
        inside = np.all((X >= box[0]) & (X <= box[1]), axis=1)
        out = np.zeros(X.shape[0])
        if self.hist is not None:
            n1, n2 = self.hist.shape
            rel = (X[inside] - box[0]) / (box[1] - box[0])
            i = np.minimum((rel[:, 0] * n1).astype(int), n1 - 1)
            j = np.minimum((rel[:, 1] * n2).astype(int), n2 - 1)
            cell = float(np.prod(box[1] - box[0])) / (n1 * n2)
            out[inside] = self.hist[i, j] / cell
        else:
            out[inside] = self._call(X[inside]) / self.Z
        return out

    def cell_masses(self, n: int, m: int) -> np.ndarray:
        """Masses of the n x m cells (midpoint rule with quad^2 points per cell, or exact for weights)."""
        if self.hist is not None:
            n1, n2 = self.hist.shape
            if n1 % n == 0 and n2 % m == 0:
                return self.hist.reshape(n, n1 // n, m, n2 // m).sum(axis=(1, 3))
            q1, q2 = n * max(1, math.ceil(64 / n)), m * max(1, math.ceil(64 / m))
        else:
            q1, q2 = n * self.quad, m * self.quad
        G, vol = grid_midpoints(self.box, q1, q2)
        v = self.density(G).reshape(n, q1 // n, m, q2 // m).sum(axis=(1, 3)) * vol
        return v / v.sum()

    def sample(self, N: int, random_state: Any = None) -> np.ndarray:
        """N (N, 2) exact samples on box: cell weights directly, callables by rejection."""
        rng = check_random_state(random_state)
        box = self.box
        if self.hist is not None:
            n1, n2 = self.hist.shape
            k = rng.choice(n1 * n2, size=N, p=self.hist.ravel())
            i, j = np.divmod(k, n2)
            u = rng.uniform(size=(N, 2))
            rel = np.column_stack([(i + u[:, 0]) / n1, (j + u[:, 1]) / n2])
            return box[0] + rel * (box[1] - box[0])
        G, _ = grid_midpoints(box, 256, 256)
        bound = 1.5 * float(self.density(G).max())
        out, have = [], 0
        while have < N:
            P = box[0] + rng.uniform(size=(4 * N, 2)) * (box[1] - box[0])
            keep = rng.uniform(size=4 * N) * bound < self.density(P)
            out.append(P[keep])
            have += int(keep.sum())
        return np.concatenate(out)[:N]


# ---------------------------------------------------------------------------------------
# the construction
# ---------------------------------------------------------------------------------------
def num_pieces(n: int, m: int) -> int:
    """Upper bound on the number of pieces ``L + 1 = n m + 6 n - 3`` for an n x m grid.

    Parameters
    ----------
    n : int
        Number of cells along the first axis (columns of the grid).
    m : int
        Number of cells along the second axis.

    Returns
    -------
    int
        :math:`nm + 6n - 3`, the pieces used by :func:`transport` on an ``(n, m)`` grid.
    """
    return n * m + 6 * n - 3


def cells_for_switches(num_switches: int) -> int:
    """The largest n with ``num_pieces(n, n) <= num_switches + 1`` (n >= 1).

    Parameters
    ----------
    num_switches : int
        Budget L of switches (L + 1 pieces).

    Returns
    -------
    int
        The side n of the largest square ``(n, n)`` grid whose construction fits the
        budget; 1 when even ``(1, 1)`` does not (the smallest grid).
    """
    n = 1
    while num_pieces(n + 1, n + 1) <= num_switches + 1:
        n += 1
    return n


def _pieces_1d(axis: int, start: float, knots_img: np.ndarray, slopes: np.ndarray,
               restore: bool) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    """Single-neuron pieces realising a monotone PL map of coordinate ``axis``.

    The map is the identity below ``start`` and has slope ``slopes[i]`` on the i-th
    image interval ``[knots_img[i], knots_img[i+1]]`` (``knots_img[0] == start``); with
    ``restore`` a last piece at ``knots_img[-1]`` brings the slope back to 1.
    Returns (a, w_unit, b, log_ratio) per piece: the piece has kappa * t = log_ratio.
    """
    out = []
    e = np.zeros(2)
    e[axis] = 1.0
    prev = 0.0
    logs = np.log(slopes)
    for i, ls in enumerate(logs):
        out.append((e, e, -float(knots_img[i]), float(ls - prev)))
        prev = ls
    if restore:
        out.append((e, e, -float(knots_img[-1]), float(-prev)))
    return out


def _build(src: np.ndarray, box: np.ndarray, masses: np.ndarray, T: float, ramp: float) -> Control:
    n, m = masses.shape
    Ls, Lt = src[1] - src[0], box[1] - box[0]
    h1, h2 = Lt[0] / n, Lt[1] / m
    ops: list[tuple[str, tuple]] = []
    shift = box[0] - src[0]
    if np.any(shift != 0):
        ops.append(("translate", (shift,)))
    # 1. column masses along x1
    M = masses.sum(axis=1)
    slopes1 = h1 / (Ls[0] * M)
    alpha = box[0, 0] + h1 * np.arange(n + 1)
    for p in _pieces_1d(0, alpha[0], alpha, slopes1, restore=False):
        ops.append(("single", p))
    # 2. lift column j by j D (ramps on [alpha_j - delta, alpha_j])
    D = 1.125 * Ls[1]  # > Ls: the lifted columns are disjoint (and so are their images)
    delta = ramp * h1
    Delta = Lt[1] - Ls[1]
    left = alpha - delta
    width = alpha - left  # the float width of each ramp, so that rate * width == D to rounding
    for j in range(1, n):
        ops.append(("shear", (left[j], D / width[j])))
        ops.append(("shear", (alpha[j], -D / width[j])))
    # 3. cell masses along x2, column by column from the bottom
    for j in range(n):
        y = box[0, 1] + j * (D + Delta)
        p = masses[j] / M[j]
        slopes2 = h2 / (Ls[1] * p)
        # top-down: each piece scales {x2 > source knot} (points below it have not moved
        # yet), so the columns above are stretched by at most 1/slope = Ls p / h2 <= m Ls / Lt
        # on the way (bottom-up would stretch them by the slope itself, up to 1/floor)
        src_knots = y + Ls[1] * np.concatenate([[0.0], np.cumsum(p)])
        logs = np.log(slopes2)
        ratios = np.diff(np.concatenate([[0.0], logs, [0.0]]))  # log r_i, i = 0..m
        for i in range(m, -1, -1):
            ops.append(("single", (E2, E2, -float(src_knots[i]), float(ratios[i]))))
    # 4. bring column j down by j (D + Delta)
    for j in range(1, n):
        ops.append(("shear", (left[j], -(D + Delta) / width[j])))
        ops.append(("shear", (alpha[j], (D + Delta) / width[j])))
    # drop ratio-1 pieces, then give every piece the same duration tau = T / (L + 1)
    ops = [o for o in ops if not (o[0] == "single" and o[1][3] == 0.0)]
    tau = T / len(ops)
    pieces = []
    e1, e2 = np.array([[1.0, 0.0]]), np.array([[0.0], [1.0]])
    for kind, args in ops:
        if kind == "translate":
            pieces.append(Piece(tau, (args[0] / tau)[:, None], np.zeros((1, 2)), [1.0]))
        elif kind == "single":
            a, wu, b, lr = args
            pieces.append(Piece(tau, (wu * (lr / tau))[:, None], a[None, :], [b]))
        else:
            c, rate = args
            pieces.append(Piece(tau, e2 * (rate / tau), e1, [-c]))
    return Control(tuple(pieces))


@dataclass(frozen=True)
class TransportErrors:
    """Errors of :math:`\\rho(T)` against :math:`\\rho_1` (restricted to its box, normalised).

    Attributes
    ----------
    l1 : float
        :math:`\\|\\rho(T) - \\rho_1\\|_{L^1}`: midpoint rule on a grid of the box (aligned
        with the cells in :func:`transport`)
        (exact density of :math:`\\rho(T)` there) plus the mass :math:`\\rho(T)` puts outside it.
    kl : float
        :math:`KL(\\rho_1\\,\\|\\,\\rho(T))` on the same grid (``inf`` if :math:`\\rho(T)` vanishes
        where :math:`\\rho_1` does not).
    w1 : float
        :math:`W_1` between ``num_samples`` pushed samples of :math:`\\rho_0` and as many exact
        samples of :math:`\\rho_1` (POT, exact network simplex).
    mass : float
        Quadrature of :math:`\\rho(T)` on the box grid (close to 1).
    """

    l1: float
    kl: float
    w1: float
    mass: float


@dataclass(frozen=True)
class TransportResult:
    """A control driving :math:`\\rho_0` (uniform on ``source_box``) near :math:`\\rho_1` (on ``box``).

    Attributes
    ----------
    control : Control
        The width-1 ReLU control (T, L = num_switches).
    num_switches : int
        L.
    num_cells : tuple of int
        The grid (n, m) of cell averages of :math:`\\rho_1`.
    masses : array (n, m)
        The cell masses that :math:`\\rho(T)` reproduces exactly (after the floor).
    source_box, box : array (2, 2)
        ``[[lo_1, lo_2], [hi_1, hi_2]]`` of :math:`\\rho_0` and of :math:`\\rho_1`.
    errors : TransportErrors
        L1 / KL / W1 errors (the certificate).
    bound : float
        Upper bound of the L1 error from the construction:
        :math:`\\|\\bar\\rho_1 - \\rho_1\\|_{L^1}` (quadrature) + 2 floor + 2 ramp mass.
    tol : float or None
        The requested L1 tolerance, if any.
    status : str
        ``"ok"``, or ``"tolerance_not_met"`` when ``tol`` was asked and ``max_cells`` was hit.
    target : TargetDensity
        The target :math:`\\rho_1` as the construction saw it (normalised on ``box``):
        ``target.density(X)``, ``target.sample(N, random_state)``.
    _source : TargetDensity or None
        Private: the non-uniform source density :math:`\\rho_0` on ``source_box``
        (given with ``source_box`` to :func:`transport`), used by :meth:`log_rho0` and
        :meth:`sample`; ``None`` when :math:`\\rho_0` is uniform on ``source_box``.
    """

    control: Control
    num_switches: int
    num_cells: tuple[int, int]
    masses: np.ndarray
    source_box: np.ndarray
    box: np.ndarray
    errors: TransportErrors
    bound: float
    tol: float | None
    status: str
    target: TargetDensity | None = field(default=None, repr=False, compare=False)
    _source: Any = field(default=None, repr=False, compare=False)

    def log_rho0(self, X: Any) -> np.ndarray:
        """:math:`\\log\\rho_0` at X (N, 2) (uniform on ``source_box``, or the given source density)."""
        X = as_points(X, "X", dim=2)
        if self._source is None:
            return uniform_box_logdensity(self.source_box)(X)
        with np.errstate(divide="ignore"):
            return np.log(self._source.density(X))

    def log_density(self, X: Any) -> np.ndarray:
        """Exact :math:`\\log\\rho(T, x)` for X (N, 2) (see :func:`pushforward_logdensity`)."""
        return pushforward_logdensity(self.control, self.log_rho0, X)

    def sample(self, N: int, *, random_state: Any = None) -> np.ndarray:
        """N samples of :math:`\\rho(T)`: samples of :math:`\\rho_0` pushed by ``flow``, (N, 2)."""
        N = check_int(N, "N", minimum=2)
        rng = check_random_state(random_state)
        return flow(self.control, _source_samples(self._source, self.source_box, N, rng))


def _source_samples(source: Any, src: np.ndarray, N: int, rng: np.random.Generator) -> np.ndarray:
    if source is None:
        return src[0] + rng.uniform(size=(N, 2)) * (src[1] - src[0])
    return source.sample(N, rng)


def _average_error(target: TargetDensity, raw: np.ndarray, aligned: tuple[int, int]) -> float:
    """||cell average - rho||_1 by the midpoint rule on a grid aligned with the cells."""
    n, m = raw.shape
    box = target.box
    G, vol = grid_midpoints(box, *aligned)
    q = target.density(G)
    cell_area = float(np.prod(box[1] - box[0])) / (n * m)
    rel = (G - box[0]) / (box[1] - box[0])
    ii = np.minimum((rel[:, 0] * n).astype(int), n - 1)
    jj = np.minimum((rel[:, 1] * m).astype(int), m - 1)
    return float(np.abs(raw[ii, jj] / cell_area - q).sum() * vol)


def _errors(log_density: Callable[[np.ndarray], np.ndarray], samples: np.ndarray, target: TargetDensity,
            grid: int, Y: np.ndarray, random_state: Any) -> TransportErrors:
    from ...metrics import kl_divergence, wasserstein1

    g1, g2 = (grid, grid) if isinstance(grid, int) else grid
    G, vol = grid_midpoints(target.box, g1, g2)
    with np.errstate(under="ignore"):
        p = np.exp(log_density(G))
    q = target.density(G)
    mass = float(p.sum() * vol)
    l1 = float(np.abs(p - q).sum() * vol + max(0.0, 1.0 - mass))
    kl = kl_divergence(q, p, cell_volume=vol)
    w1 = wasserstein1(samples, Y, max_points=max(samples.shape[0], Y.shape[0]), random_state=random_state)
    return TransportErrors(l1=l1, kl=kl, w1=w1, mass=mass)


def density_errors(log_density: Callable[[np.ndarray], Any], samples: Any, rho1: Any, *, box: Any,
                   grid: int = 256, random_state: Any = None) -> TransportErrors:
    """L1, KL and W1 errors of any model density against :math:`\\rho_1` on ``box`` (same rules as :func:`transport`).

    Parameters
    ----------
    log_density : callable
        ``log_density(X (N, 2)) -> (N,)``, the model's log-density (e.g. a trained flow's).
    samples : array (N, 2)
        Samples of the model, compared in W1 with N exact samples of :math:`\\rho_1`.
    rho1 : callable or array (n1, n2)
        Target density (normalised on ``box``) or cell weights.
    box : array (2, 2)
    grid : int
        Quadrature points per side.
    random_state : int or Generator, optional
        For the samples of :math:`\\rho_1`.

    Returns
    -------
    TransportErrors
    """
    box = _as_box(box, "box")
    grid = check_int(grid, "grid", minimum=2)
    samples = as_points(samples, "samples", dim=2)
    if not callable(log_density):
        raise ParameterError("log_density must be a callable X (N, 2) -> (N,)")
    rng = check_random_state(random_state)
    target = TargetDensity(rho1, box, 4)
    Y = target.sample(samples.shape[0], rng)

    def logd(G: np.ndarray) -> np.ndarray:
        v = np.asarray(log_density(G), dtype=np.float64)
        if v.shape != (G.shape[0],):
            raise ParameterError(f"log_density must return shape ({G.shape[0]},); got {v.shape}")
        return v

    return _errors(logd, samples, target, grid, Y, rng)


def transport_errors(control: Control, source_box: Any, rho1: Any, *, box: Any, grid: int = 256,
                     num_samples: int = 2000, random_state: Any = None) -> TransportErrors:
    """L1, KL and W1 errors of :math:`(\\Phi_T)_\\#\\,\\mathrm{Unif}(S)` against :math:`\\rho_1` on ``box``.

    Parameters
    ----------
    control : Control
        A ReLU control of single-neuron / shear pieces in d = 2.
    source_box : array (2, 2)
        The rectangle S of the uniform :math:`\\rho_0`.
    rho1 : callable or array (n1, n2)
        Target density ``rho1(X (N, 2)) -> (N,)`` (normalised on ``box`` here), or
        non-negative cell weights of a piecewise-constant density on ``box``.
    box : array (2, 2)
        Rectangle where :math:`\\rho_1` lives.
    grid : int
        Quadrature points per side for L1 / KL.
    num_samples : int
        Samples of each measure for W1.
    random_state : int or Generator, optional

    Returns
    -------
    TransportErrors
    """
    src = _as_box(source_box, "source_box")
    box = _as_box(box, "box")
    grid = check_int(grid, "grid", minimum=2)
    num_samples = check_int(num_samples, "num_samples", minimum=2)
    rng = check_random_state(random_state)
    target = TargetDensity(rho1, box, 4)
    U = src[0] + rng.uniform(size=(num_samples, 2)) * (src[1] - src[0])
    Y = target.sample(num_samples, rng)
    logd = uniform_box_logdensity(src)
    return _errors(lambda G: pushforward_logdensity(control, logd, G), flow(control, U), target,
                   grid, Y, rng)


def _grid_sizes(num_switches: Any, num_cells: Any, tol: Any, max_cells: int, *,
                pieces_per_cell_grid: int) -> tuple[list[tuple[int, int]], float | None]:
    """The grids :func:`transport` tries, from exactly one of a switch budget, a grid or a
    tolerance (``pieces_per_cell_grid`` is 2 when a non-uniform source doubles the control)."""
    given = [k for k, v in (("num_switches", num_switches), ("num_cells", num_cells), ("tol", tol))
             if v is not None]
    if len(given) != 1:
        raise ParameterError("give exactly one of num_switches, num_cells or tol; got "
                             f"{given or 'none'}")
    if num_switches is not None:
        num_switches = check_int(num_switches, "num_switches", minimum=0)
        per = pieces_per_cell_grid
        need = per * num_pieces(2, 2) - (per - 1)
        if num_switches + 1 < need:
            raise ParameterError(f"num_switches must be >= {need - 1} (a 2 x 2 grid needs {need} pieces"
                                 f"{'' if per == 1 else ' with a non-uniform source'}); got {num_switches}")
        n = cells_for_switches(num_switches if per == 1 else (num_switches + 1) // 2)
        sizes = [(n, n)]
    elif num_cells is not None:
        try:
            n, m = (int(v) for v in num_cells)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"num_cells must be a pair (n, m) of ints >= 1; got {num_cells!r}") from exc
        if n < 1 or m < 1:
            raise ParameterError(f"num_cells must be a pair (n, m) of ints >= 1; got {num_cells!r}")
        sizes = [(n, m)]
    else:
        tol = check_positive(tol, "tol")
        sizes = [(k, k) for k in _SEQ if k <= max_cells] or [(max_cells, max_cells)]
    return sizes, tol


def transport(rho0: Any, rho1: Any, *, box: Any, source_box: Any = None, num_switches: int | None = None,
              num_cells: tuple[int, int] | None = None, tol: float | None = None, T: float = 1.0,
              floor: float = 1e-3, ramp: float = 1e-6, quad: int = 4, grid: int = 256,
              num_samples: int = 2000, max_cells: int = 64, random_state: Any = None,
              progress: bool = False) -> TransportResult:
    """Width-1 ReLU control of (3.16) driving :math:`\\rho_0` to an L1-approximation of :math:`\\rho_1` (Thm 3.5).

    .. math::
        \\partial_t\\rho + \\operatorname{div}_x(w\\,\\sigma(a\\cdot x + b)\\rho) = 0,\\quad
        \\rho(0) = \\rho_0,\\qquad \\|\\rho(T) - \\rho_1\\|_{L^1(\\mathbb{R}^2)} < \\varepsilon .

    The control is the discrete Knothe construction of ``controlml.node._transport``:
    :math:`\\rho(T)` equals the cell averages of :math:`\\rho_1` on an ``n x m`` grid
    (mixed with ``floor`` of uniform mass), up to ramps of relative width ``ramp``,
    with at most ``n m + 6 n - 3`` pieces.

    Parameters
    ----------
    rho0 : array (2, 2), or callable / array (k1, k2) with ``source_box``
        Without ``source_box``: ``[[lo_1, lo_2], [hi_1, hi_2]]``, :math:`\\rho_0` is uniform
        on this rectangle.  With ``source_box``: any density on that rectangle, as a
        callable or cell weights like ``rho1``; the control is then the inverse of the
        construction for :math:`\\rho_0` (which maps its cell averages to the uniform
        density, an L1 isometry for the rest) followed by the one for :math:`\\rho_1`:
        at most ``2 (n m + 6 n - 3) - 1`` pieces, error bound the sum of both.
    rho1 : callable or array (n1, n2)
        Target density ``rho1(X (N, 2)) -> (N,)`` (restricted to ``box`` and normalised
        there), or non-negative cell weights of a piecewise-constant density on ``box``.
    box : array (2, 2)
        Rectangle where :math:`\\rho_1` lives.
    source_box : array (2, 2), optional
        Rectangle where a non-uniform :math:`\\rho_0` lives (see ``rho0``).
    num_switches, num_cells, tol
        Give exactly one: a budget L of switches (the largest square grid that fits);
        a grid ``(n, m)``; or an L1 tolerance (square grids refined until the measured
        L1 error is <= tol, up to ``max_cells`` per side).
    T : float
        Time horizon (every piece lasts T / (L + 1)).
    floor : float in [0, 1)
        Mass spread uniformly over the cells so that every cell has mass (finite
        slopes, finite KL); adds at most 2 floor to the L1 error.
    ramp : float in (0, 0.5)
        Width of the column-separating shear ramps, relative to a column.
    quad : int
        Midpoint points per cell side for the cell masses of a callable rho1.
    grid, num_samples : int
        Sizes of the error evaluation (see :class:`TransportErrors`).
    max_cells : int
        Largest grid side tried with ``tol``.
    random_state : int or Generator, optional
        For the W1 samples.
    progress : bool
        tqdm bar over the grids tried (``tol`` mode).

    Returns
    -------
    TransportResult

    Raises
    ------
    ParameterError
        Bad boxes, not exactly one of num_switches / num_cells / tol, a switch budget
        below 12 (the 2 x 2 grid needs 13 pieces), bad rho1.
    """
    if source_box is None:
        src = _as_box(rho0, "rho0")
    else:
        src = _as_box(source_box, "source_box")
    box = _as_box(box, "box")
    T = check_positive(T, "T")
    floor = float(floor)
    if not 0.0 <= floor < 1.0:
        raise ParameterError(f"floor must be in [0, 1); got {floor!r}")
    ramp = float(ramp)
    if not 0.0 < ramp < 0.5:
        raise ParameterError(f"ramp must be in (0, 0.5); got {ramp!r}")
    quad = check_int(quad, "quad", minimum=1)
    grid = check_int(grid, "grid", minimum=2)
    num_samples = check_int(num_samples, "num_samples", minimum=2)
    max_cells = check_int(max_cells, "max_cells", minimum=2)
    sizes, tol = _grid_sizes(num_switches, num_cells, tol, max_cells,
                             pieces_per_cell_grid=1 if source_box is None else 2)
    rng = check_random_state(random_state)
    source = None if source_box is None else TargetDensity(rho0, src, quad, name="rho0")
    target = TargetDensity(rho1, box, quad)
    Y = target.sample(num_samples, rng)
    U = _source_samples(source, src, num_samples, rng)
    if source is None:
        logd = uniform_box_logdensity(src)
    else:
        def logd(X0: np.ndarray) -> np.ndarray:
            with np.errstate(divide="ignore"):
                return np.log(source.density(X0))
    result = None
    it = sizes
    if progress and len(sizes) > 1:
        from tqdm.auto import tqdm

        it = tqdm(sizes, desc="transport: refining the grid", leave=False)
    for n, m in it:
        raw = target.cell_masses(n, m)
        masses = (1.0 - floor) * raw + floor / (n * m)
        masses.setflags(write=False)
        if np.any(masses <= 0):
            raise ParameterError("rho1 has empty cells and floor = 0: pass floor > 0 (e.g. 1e-3)")
        control = _build(src, box, masses, T, ramp)
        aligned = (n * max(1, math.ceil(grid / n)), m * max(1, math.ceil(grid / m)))
        # bound: ||cell average - rho1||_1 (quadrature) + 2 floor + 2 ramp mass, where the
        # ramps hold a fraction `ramp` of each column but the last
        bound = _average_error(target, raw, aligned) + 2 * floor + 2 * ramp
        if source is not None:
            raw0 = source.cell_masses(n, m)
            masses0 = (1.0 - floor) * raw0 + floor / (n * m)
            if np.any(masses0 <= 0):
                raise ParameterError("rho0 has empty cells and floor = 0: pass floor > 0 (e.g. 1e-3)")
            # inverse_control(C0) maps the cell averages of rho0 to the uniform density exactly,
            # and any push-forward is an L1 isometry, so the errors add up
            C0 = _build(src, src, masses0, T, ramp)
            control = inverse_control(C0).then(control).rescaled(T)
            bound += _average_error(source, raw0, aligned) + 2 * floor + 2 * ramp
        errs = _errors(lambda G, c=control: pushforward_logdensity(c, logd, G), flow(control, U),
                       target, aligned, Y, rng)
        status = "ok"
        if tol is not None and errs.l1 > tol:
            status = "tolerance_not_met"
        result = TransportResult(control=control, num_switches=control.num_switches, num_cells=(n, m),
                                 masses=masses, source_box=src, box=box, errors=errs, bound=bound,
                                 tol=tol, status=status, target=target, _source=source)
        if tol is None or errs.l1 <= tol:
            break
    assert result is not None
    return result

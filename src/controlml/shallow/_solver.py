r"""Sparse shallow networks by convex relaxation: (PR0) / (PRε) over the continuum of neurons."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._checks import check_int, check_nonnegative, check_option, check_positive, check_random_state
from ..errors import ConvergenceError, ParameterError
from ._data import check_data, check_eps, lift
from ._exact import staircase_atoms
from ._lp import RestrictedMaster, caratheodory_reduce, solve_lp
from ._network import ShallowNetwork
from ._oracle import EXACT_MAX_DIM, eta
from ._pricing import AscentPricer, ExactPricer, unit_directions

__all__ = ["SparseFit", "FitTrace", "fit_sparse"]


@dataclass(frozen=True)
class FitTrace:
    r"""Per-round log of :func:`fit_sparse` (R rounds).

    Every round's restricted LP solution is itself a feasible network (ε-fit, at most N
    atoms after reduction), so ``value[k]`` is attained by the network one would get by
    stopping after round k (``max_iter = k + 1``).

    Attributes
    ----------
    elapsed : array (R,)
        Seconds since the call started, at the end of each round's LP and oracle.
    value : array (R,)
        Restricted-LP value :math:`\sum_j |w_j|` (non-increasing).
    lower_bound : array (R,)
        The lower bound the stopping rule used after the round (certified when exact).
    sup_eta : array (R,)
        The oracle's :math:`\sup|\eta|` for that round's dual.
    n_columns : array (R,)
        Neurons in the restricted LP.
    """

    elapsed: np.ndarray
    value: np.ndarray
    lower_bound: np.ndarray
    sup_eta: np.ndarray
    n_columns: np.ndarray

    def time_to(self, target: float) -> float:
        """Seconds until the restricted-LP value first reached ``<= target`` (inf if never)."""
        hit = np.flatnonzero(self.value <= target)
        return float(self.elapsed[hit[0]]) if hit.size else float("inf")


@dataclass(frozen=True)
class SparseFit:
    r"""Result of :func:`fit_sparse`.

    Attributes
    ----------
    network : ShallowNetwork
        The extreme solution: ``n_atoms <= N`` neurons with :math:`\|(a_j,b_j)\| = 1`.
    value : float
        Primal value :math:`\sum_j |w_j|` (an upper bound on val(PRε)).
    dual : array (N,)
        Dual vector :math:`p` of :math:`\max_p\, p^\top Y - \varepsilon\|p\|_1` s.t.
        :math:`\sup_{\theta\in\Omega}|\eta(\theta)|\le 1`, :math:`\eta(\theta)=\sum_i p_i\sigma(\theta\cdot\tilde x_i)`:
        with the exact oracle, the restricted-LP dual of the round with the best certified
        lower bound; otherwise the last round's.
    sup_eta : float
        :math:`\sup|\eta|` for ``dual`` as the oracle bounds it: a certified upper bound
        for the exact oracle (d <= 2), the best value found by the ascent otherwise.
    lower_bound : float
        :math:`(p^\top Y - \varepsilon\|p\|_1)/\max(1, \mathrm{sup\_eta})`: a certified lower
        bound on val(PRε) when ``bound_kind == "exact"``; an estimate otherwise
        (``sup_eta`` is then itself only a lower bound on the supremum).
    bound_kind : {"exact", "estimated"}
        ``"exact"`` when the oracle swept the hyperplane arrangement (d <= 2).
    gap : float
        ``value - lower_bound``.
    n_atoms : int
        Number of neurons; at most N (Thm 2.1).
    eps : float
        The tolerance ε.
    max_residual : float
        :math:`\max_i |f(x_i) - y_i|` (<= ε up to solver tolerance).
    iterations : int
        Column-generation rounds.
    n_columns : int
        Size of the final restricted LP.
    status : str
        ``"optimal"`` (exact certificate, relative gap <= ``gap_tol``), ``"converged"``
        (no violated constraint found, certificate estimated), ``"max_iter"``.
    trace : FitTrace
        Value, bound, :math:`\sup|\eta|` and time of every round (convergence plots,
        time-to-target benchmarks).
    """

    network: ShallowNetwork
    value: float
    dual: np.ndarray
    sup_eta: float
    lower_bound: float
    bound_kind: str
    gap: float
    n_atoms: int
    eps: float
    max_residual: float
    iterations: int
    n_columns: int
    status: str
    trace: FitTrace

    @property
    def feasible_dual(self) -> np.ndarray:
        r"""``dual / max(1, sup_eta)`` (N,): the dual scaled into :math:`\sup|\eta| \le 1`.

        Dual feasible (certified when ``bound_kind == "exact"``), so by weak duality
        :math:`\mathrm{val}(PR_{\varepsilon'}) \ge p^\top Y - \varepsilon'\|p\|_1` for every
        :math:`\varepsilon' \ge 0`: the supporting line of the value function used for
        slopes and thresholds.  ``dual`` itself may violate the constraint by the last
        round's margin (``sup_eta - 1``, of the order of ``gap_tol``).
        """
        return self.dual / max(1.0, self.sup_eta)


@dataclass(frozen=True)
class _Settings:
    """The tuning knobs of :func:`fit_sparse`, validated, defaults filled in for N."""

    tol: float
    gap_tol: float
    max_iter: int
    n_starts: int
    n_verify: int
    max_new: int
    slide_steps: int
    prune: float
    max_age: int
    smoothing: float

    @classmethod
    def make(cls, N: int, *, tol, gap_tol, max_iter, n_starts, n_verify, max_new, slide,
             slide_steps, prune, max_age, smoothing) -> _Settings:
        n_starts = max(64, N) if n_starts is None else check_int(n_starts, "n_starts", minimum=1)
        smoothing = check_nonnegative(smoothing, "smoothing")
        if smoothing >= 1:
            raise ParameterError(f"smoothing must be in [0, 1) (the weight of the best dual in the "
                                 f"pricing point); got {smoothing!r}")
        return cls(tol=check_positive(tol, "tol"), gap_tol=check_positive(gap_tol, "gap_tol"),
                   max_iter=check_int(max_iter, "max_iter", minimum=1), n_starts=n_starts,
                   n_verify=5 * n_starts if n_verify is None else check_int(n_verify, "n_verify",
                                                                           minimum=0),
                   max_new=_DEFAULT_NEW * N if max_new is None else check_int(max_new, "max_new",
                                                                              minimum=1),
                   slide_steps=check_int(slide_steps, "slide_steps", minimum=0) if slide else 0,
                   prune=check_nonnegative(prune, "prune"),
                   max_age=check_int(max_age, "max_age", minimum=0), smoothing=smoothing)


_DEFAULT_NEW = 10  # columns priced in per round, per data point (measured, docs/shallow.md)


@dataclass
class _Dual:
    """A dual vector with its oracle bound and weak-duality lower bound."""

    p: np.ndarray
    sup: float
    lower: float


class _Columns:
    r"""The restricted LP's neurons ``Theta`` (M, D), mirrored in a warm-started :class:`RestrictedMaster`.

    Each column has an *age*: rounds since it was last in the support or near-active
    (:math:`|\eta| \ge` ``prune``).  Only columns older than ``max_age`` are deleted: the
    first implementation deleted every far column as soon as the LP held more than 2N, and
    46 % of the columns priced in later landed in a cell whose column had been deleted (the
    column set cycled and the restricted dual oscillated; docs/shallow.md).
    """

    def __init__(self, Xt: np.ndarray, Y: np.ndarray, eps: float, Theta: np.ndarray) -> None:
        self.Xt = Xt
        self.master = RestrictedMaster(Y, eps)
        self.Theta = Theta
        self.age = np.zeros(Theta.shape[0], dtype=np.int64)
        self.master.add(self.features(Theta))

    def features(self, T: np.ndarray) -> np.ndarray:
        """Φ (N, m) of the neurons T (m, D)."""
        return np.maximum(self.Xt @ T.T, 0.0)

    def solve(self, Y: np.ndarray, eps: float):
        lp = self.master.solve()
        if not lp.success:  # fall back to a from-scratch solve (dual simplex, then IPM)
            lp = solve_lp(self.features(self.Theta), Y, eps)
        if not lp.success:
            raise ConvergenceError(f"HiGHS failed on the restricted LP ({self.Theta.shape[0]} "
                                   f"neurons): {lp.message}. Rescale X and y to order one and retry")
        return lp

    def add(self, new: np.ndarray, p: np.ndarray) -> None:
        """Append neurons ``new`` (m, D), each with the one sign that prices in at ``p``."""
        if new.shape[0] == 0:
            return
        Phi = self.features(new)
        self.master.add(Phi, signs=Phi.T @ p)
        self.Theta = np.vstack([self.Theta, new])
        self.age = np.concatenate([self.age, np.zeros(new.shape[0], dtype=np.int64)])

    def drop_last(self, m: int) -> None:
        M = self.Theta.shape[0]
        self.master.delete(np.arange(M - m, M))
        self.Theta, self.age = self.Theta[:M - m], self.age[:M - m]

    def forget(self, w: np.ndarray, col_eta: np.ndarray, prune: float, max_age: int) -> None:
        """Age the columns of the last solve (``w``, ``col_eta`` (M0,)) and delete the old ones."""
        M0 = w.shape[0]
        fresh = (w != 0) | (np.abs(col_eta) >= prune)
        self.age[:M0] = np.where(fresh, 0, self.age[:M0] + 1)
        old = np.flatnonzero(self.age > max_age)
        if old.size:
            keep = np.ones(self.Theta.shape[0], dtype=bool)
            keep[old] = False
            self.master.delete(old)
            self.Theta, self.age = self.Theta[keep], self.age[keep]


def _lower_bound(p: np.ndarray, Y: np.ndarray, eps: float, sup: float) -> float:
    r"""Weak duality: :math:`(p^\top Y - \varepsilon\|p\|_1)/\max(1, \sup|\eta_p|)` <= val(PRε)."""
    return float(p @ Y - eps * np.sum(np.abs(p))) / max(1.0, sup)


def _price(pricer, cols: _Columns, p: np.ndarray, col_eta: np.ndarray, center: _Dual | None,
           s: _Settings, Y: np.ndarray, eps: float, N: int) -> tuple[np.ndarray, list[_Dual]]:
    r"""Price the restricted LP's dual ``p``; returns the violators (m, D) and the duals bounded.

    With ``smoothing = α > 0`` and a certified best dual ``center``, the oracle is first asked
    at :math:`p_\alpha = \alpha\,p_{\mathrm{center}} + (1-\alpha)\,p` (Wentges smoothing /
    in-out separation); its maximisers that still violate at ``p`` are the new columns.  When
    none does (a mis-price), the oracle is asked at ``p`` itself.
    """
    near = np.flatnonzero(np.abs(col_eta) >= 0.5)  # ascent starts: the nearest to active
    near = cols.Theta[near[np.argsort(-np.abs(col_eta[near]))[:N]]]
    bounded = []
    if s.smoothing > 0 and center is not None:
        q = s.smoothing * center.p + (1 - s.smoothing) * p
        pr = pricer.price(q, near)
        bounded.append(_Dual(q, pr.sup, _lower_bound(q, Y, eps, pr.sup)))
        cand = pr.points[pr.values > 1 + s.tol]
        if cand.shape[0]:
            at_p = np.abs(eta(cand, cols.Xt, p))
            if np.any(at_p > 1 + s.tol):
                return cand[at_p > 1 + s.tol], bounded
    pr = pricer.price(p, near)
    sup = float(max(pr.sup, np.max(np.abs(col_eta), initial=0.0)))
    bounded.append(_Dual(p, sup, _lower_bound(p, Y, eps, sup)))
    return pr.points[pr.values > 1 + s.tol], bounded


def _distinct(T: np.ndarray, k: int) -> np.ndarray:
    """Up to k rows of T (sorted best first), pairwise distinct to 1e-9, best first."""
    key = np.ascontiguousarray(np.round(T * 1e9).astype(np.int64))
    view = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
    _, first = np.unique(view, return_index=True)
    return T[np.sort(first)[:k]]


def fit_sparse(X: Any, y: Any, *, eps: float = 0.0, domain: str = "sphere",
               oracle: str = "auto", tol: float = 1e-7, gap_tol: float = 1e-6, max_iter: int = 200,
               n_starts: int | None = None, n_verify: int | None = None,
               max_new: int | None = None,
               slide: bool = True, slide_steps: int = 10, prune: float = 0.9,
               max_age: int = 0, smoothing: float = 0.0,
               random_state: Any = None, progress: bool = False) -> SparseFit:
    r"""Minimal-:math:`\ell_1` shallow ReLU network through (or within ε of) the data: (PR0) / (PRε).

    .. math::
        \mathrm{val}(PR_\varepsilon) = \min_{\mu \in \mathcal M(\Omega)} \|\mu\|_{TV}
        \quad\text{s.t.}\quad \Big|\int_\Omega \sigma(\langle a, x_i\rangle + b)\,d\mu(a,b) - y_i\Big|
        \le \varepsilon,\ i \in [N]

    (equality constraints, (PR0), when ε = 0), solved over the continuum of
    neurons :math:`(a, b) \in \Omega` by column generation: a restricted LP on a
    finite set of neurons (HiGHS via highspy, primal simplex warm-started from the
    previous basis; ``linprog`` from scratch as a fallback) alternates with an oracle that
    returns the most violated dual constraints
    :math:`\max_{(a,b)\in\Omega}|\sum_i p_i\sigma(\langle a,x_i\rangle+b)|`.
    The final simplex vertex (with a Carathéodory reduction as safeguard) has at
    most N atoms, an extreme point as in Thm 2.1.

    Parameters
    ----------
    X : array (N, d)
        Distinct inputs (Sec. 2.2), of order one (rows closer than 1e-9 of the scale of the
        lifted inputs :math:`(x, 1)` are refused: rescale).
    y : array (N,)
        Labels :math:`Y`.
    eps : float
        Tolerance :math:`\varepsilon \ge 0`.
    domain : {"sphere", "ball"}
        :math:`\Omega`.  For ReLU both give the same value and solutions: an atom
        :math:`w\delta_\theta` with :math:`0<\|\theta\|<1` is replaced by
        :math:`w\|\theta\|\delta_{\theta/\|\theta\|}` (same function, smaller TV),
        so minimisers over the unit ball live on the unit sphere :math:`S^d`; the
        solver always works on :math:`S^d`.
    oracle : {"auto", "exact", "ascent"}
        ``"exact"``: sweep the hyperplane arrangement of the lifted data (d <= 2 only,
        :class:`~._pricing.ExactPricer`).  ``"ascent"``: multi-start backtracking ascent
        over the cells (any d; the certificate is then an estimate,
        :class:`~._pricing.AscentPricer`).  ``"auto"``: exact when d <= 2.
    tol : float
        A dual constraint is violated when :math:`|\eta| > 1 + \mathrm{tol}`.
    gap_tol : float
        Stop as soon as ``value - lower_bound <= gap_tol * max(1, value)``.
    max_iter : int
        Column-generation rounds.
    n_starts : int, optional
        Random starting points of the ascent (default ``max(64, N)``): the best of
        ``8 * n_starts`` random directions, beside the (at most N) restricted-LP columns with
        the largest :math:`|\eta| \ge 0.5`.
    n_verify : int, optional
        Estimated oracle only: before a run stops (no violator, or the estimated gap met), a
        deeper ascent from ``n_verify`` random starts (the best of 8× as many directions)
        must find none either; its violators are added and the run goes on otherwise
        (default ``5 * n_starts``; 0 turns it off).
    max_new : int, optional
        Most violated distinct local maximisers of :math:`|\eta|` added per round
        (default ``10 N``).
    slide : bool
        Sliding refinement once no violator is left: move the atoms along the ascent
        direction of :math:`\mathrm{sign}(w_j)\,\eta` and re-solve the LP on old plus moved
        atoms, so the value never increases and feasibility is never lost.
    slide_steps : int
        Rounds of sliding.
    prune : float
        A column is *near-active* when :math:`|\eta| \ge` ``prune``.
    max_age : int
        Columns neither in the support nor near-active for more than ``max_age``
        consecutive rounds are deleted from the restricted LP (default 0: at once; with
        10N new columns per round the column set no longer cycles, and a larger LP costs
        more than the rounds it saves: N = 200 jump target, 5.5 s / 18 rounds at 0 against
        9.3 s / 10 rounds at 20, docs/shallow.md).
    smoothing : float
        Dual smoothing :math:`\alpha \in [0, 1)` (Wentges; exact oracle only): price at
        :math:`\alpha p_{\mathrm{best}} + (1-\alpha) p` (``p_best``: the dual with the best
        certified bound), falling back to ``p`` when that finds no column violated at ``p``.
        0 (default) prices at ``p``; docs/shallow.md has the measurements.
    random_state : int or Generator, optional
    progress : bool
        tqdm bar over the rounds.

    Returns
    -------
    SparseFit

    Raises
    ------
    DatasetError
        Empty, non-finite, mismatched, or repeated inputs (naming the rows); inputs whose
        scale is too small or too large for double precision (rescale them).
    ParameterError
        ``eps < 0``, an unknown option.
    ConvergenceError
        HiGHS failed on a restricted LP.
    """
    t_start = time.perf_counter()
    X, Y = check_data(X, y)
    eps = check_eps(eps)
    check_option(domain, "domain", ("sphere", "ball"))
    check_option(oracle, "oracle", ("auto", "exact", "ascent"))
    N, d = X.shape
    if oracle == "exact" and d > EXACT_MAX_DIM:
        raise ParameterError(f"oracle='exact' enumerates the hyperplane arrangement and needs d <= "
                             f"{EXACT_MAX_DIM}; got d = {d}. Use oracle='ascent' (or 'auto')")
    s = _Settings.make(N, tol=tol, gap_tol=gap_tol, max_iter=max_iter, n_starts=n_starts,
                       n_verify=n_verify, max_new=max_new, slide=slide, slide_steps=slide_steps,
                       prune=prune, max_age=max_age, smoothing=smoothing)
    rng = check_random_state(random_state)
    Xt = lift(X)
    if oracle == "exact" or (oracle == "auto" and d <= EXACT_MAX_DIM):  # chosen once
        pricer = ExactPricer(Xt, tol=s.tol, max_new=s.max_new)
    else:
        pricer = AscentPricer(Xt, rng, n_starts=s.n_starts, n_verify=s.n_verify,
                              stop_margin=max(s.tol, 2 * s.gap_tol))
        s = replace(s, smoothing=0.0)  # no certified best dual to smooth towards
    exact = pricer.bound_kind == "exact"
    atoms0, _ = staircase_atoms(X, rng)
    cols = _Columns(Xt, Y, eps, np.vstack([atoms0, unit_directions(rng, 4 * N, d + 1)]))
    rounds = range(s.max_iter)
    if progress:
        from tqdm.auto import tqdm

        rounds = tqdm(rounds, desc="fit_sparse", leave=False)
    status, slides_left, best, log = "max_iter", s.slide_steps, None, []
    for _ in rounds:
        Theta_lp, lp = cols.Theta, cols.solve(Y, eps)
        col_eta = cols.features(Theta_lp).T @ lp.p
        new, bounded = _price(pricer, cols, lp.p, col_eta, best if exact else None, s, Y, eps, N)
        for dual in bounded:  # certified bounds can be maxed over rounds, estimated ones cannot
            if best is None or not exact or dual.lower > best.lower:
                best = dual
        log.append((time.perf_counter() - t_start, lp.value, best.lower, bounded[-1].sup,
                    Theta_lp.shape[0]))
        if new.shape[0] and lp.value - best.lower <= s.gap_tol * max(1.0, lp.value):
            status = "converged"  # certified (d <= 2) or estimated to the requested relative gap
            break
        if new.shape[0]:
            cols.add(np.vstack([_distinct(new, s.max_new), _merge_in_cells(Theta_lp, lp.w, Xt)]),
                     lp.p)
        elif slides_left > 0 and np.any(lp.w != 0):
            slides_left = _slide(cols, lp, Y, eps, slides_left)
        else:
            status = "converged"
            break
        cols.forget(lp.w, col_eta, s.prune, s.max_age)
    return _result(X, Y, eps, cols, Theta_lp, lp, best, status, pricer.bound_kind, s, log)


def _slide(cols: _Columns, lp, Y: np.ndarray, eps: float, slides_left: int) -> int:
    """One sliding step: add moved atoms, keep them if the LP value drops; returns slides left."""
    moved = _slide_proposals(cols.Theta, lp.w, cols.Xt, lp.p)
    if moved.shape[0] == 0:
        return 0
    basis = cols.master.get_basis()
    cols.add(moved, lp.p)
    lp2 = cols.master.solve()
    if not lp2.success:
        lp2 = solve_lp(cols.features(cols.Theta), Y, eps)
    if lp2.success and lp2.value < lp.value * (1 - 1e-10):
        return slides_left - 1
    cols.drop_last(moved.shape[0])
    cols.master.set_basis(basis)
    return 0


def _result(X, Y, eps, cols: _Columns, Theta: np.ndarray, lp, best: _Dual, status: str,
            bound_kind: str, s: _Settings, log: list) -> SparseFit:
    """The network of the last solved restricted LP, reduced to <= N atoms, with its certificate."""
    d = X.shape[1]
    Phi = cols.features(Theta)
    w = caratheodory_reduce(Phi, lp.w)
    S = np.flatnonzero(w)
    atoms, wS = Theta[S], w[S]
    net = ShallowNetwork(wS, atoms[:, :d], atoms[:, d])
    value = float(np.sum(np.abs(wS)))
    gap = value - best.lower
    if status == "converged" and bound_kind == "exact" and gap <= max(s.gap_tol, 10 * s.tol) * max(1.0, value):
        status = "optimal"
    resid = float(np.max(np.abs(Phi[:, S] @ wS - Y))) if S.size else float(np.max(np.abs(Y)))
    c = np.array(log).reshape(-1, 5).T
    trace = FitTrace(c[0], c[1], c[2], c[3], c[4].astype(np.int64))
    return SparseFit(net, value, best.p, best.sup, best.lower, bound_kind, gap, int(S.size), eps,
                     resid, len(log), int(Theta.shape[0]), status, trace)


def _merge_in_cells(Theta: np.ndarray, w: np.ndarray, Xt: np.ndarray) -> np.ndarray:
    r"""One atom per (activation cell, sign) of the support: :math:`z = \sum_j w_j\theta_j`, :math:`z/\|z\|`.

    On a cell the features are linear in :math:`\theta`, so :math:`\|z\|\,\delta_{z/\|z\|}` has the
    same features as the group and total variation :math:`\|z\| \le \sum_j |w_j|`.
    """
    S = np.flatnonzero(w)
    if S.size < 2:
        return np.zeros((0, Theta.shape[1]))
    pat = (Xt @ Theta[S].T > 0).T
    key = np.column_stack([pat, w[S] > 0])
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    out = []
    for g in np.flatnonzero(cnt > 1):
        m = S[inv.ravel() == g]
        z = np.abs(w[m]) @ Theta[m]
        out.append(z / np.linalg.norm(z))
    return np.array(out).reshape(-1, Theta.shape[1])


def _slide_proposals(Theta: np.ndarray, w: np.ndarray, Xt: np.ndarray, p: np.ndarray) -> np.ndarray:
    r"""Atoms moved along the tangential gradient of :math:`\mathrm{sign}(w_j)\eta`, several step sizes."""
    S = np.flatnonzero(w)
    T = Theta[S]
    G = ((T @ Xt.T > 0) * p) @ Xt
    G *= np.sign(w[S])[:, None]
    G -= np.sum(G * T, axis=1, keepdims=True) * T
    gn = np.linalg.norm(G, axis=1)
    ok = gn > 1e-12
    if not np.any(ok):
        return np.zeros((0, Theta.shape[1]))
    T, G = T[ok], G[ok] / gn[ok, None]
    out = []
    for h in (1e-3, 1e-2, 5e-2):
        M = T + h * G
        out.append(M / np.linalg.norm(M, axis=1, keepdims=True))
    return np.vstack(out)

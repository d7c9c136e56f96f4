r"""Sparse shallow networks by convex relaxation: (PR0) / (PRε) over the continuum of neurons."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int, check_option, check_positive, check_random_state
from ..errors import ConvergenceError
from ._data import check_data, check_eps, lift
from ._exact import staircase_atoms
from ._lp import RestrictedMaster, caratheodory_reduce, solve_lp
from ._network import ShallowNetwork
from ._oracle import EXACT_MAX_DIM, Arrangement, ascent, eta

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


def _unit(rng: np.random.Generator, n: int, D: int) -> np.ndarray:
    T = rng.standard_normal((n, D))
    return T / np.linalg.norm(T, axis=1, keepdims=True)


def _random_ascent(rng: np.random.Generator, Xt: np.ndarray, p: np.ndarray, fixed: np.ndarray,
                   n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ascent` from ``fixed`` (m, D) and the n best of 8n random directions."""
    R = _unit(rng, 8 * n, Xt.shape[1])
    rv = eta(R, Xt, p)
    return ascent(np.vstack([fixed, R[np.argsort(-np.abs(rv))[:n]]]), Xt, p)


def _distinct(T: np.ndarray, vals: np.ndarray, k: int) -> np.ndarray:
    """Indices of up to k rows of T with the largest |vals|, pairwise distinct (1e-9)."""
    order = np.argsort(-np.abs(vals))
    key = np.round(T[order] * 1e9).astype(np.int64)
    _, first = np.unique(key, axis=0, return_index=True)
    keep = order[np.sort(first)]
    return keep[:k]


def fit_sparse(X: Any, y: Any, *, eps: float = 0.0, domain: str = "sphere",
               oracle: str = "auto", tol: float = 1e-7, gap_tol: float = 1e-6, max_iter: int = 200,
               n_starts: int | None = None, n_verify: int | None = None,
               max_new: int | None = None,
               slide: bool = True, slide_steps: int = 10, prune: float = 0.9,
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
    returns the most violated dual constraint
    :math:`\max_{(a,b)\in\Omega}|\sum_i p_i\sigma(\langle a,x_i\rangle+b)|`.
    The final simplex vertex (with a Carathéodory reduction as safeguard) has at
    most N atoms, an extreme point as in Thm 2.1.

    Parameters
    ----------
    X : array (N, d)
        Distinct inputs (Sec. 2.2).
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
        ``"exact"``: enumerate the cells of the hyperplane arrangement of the
        lifted data (d <= 2 only).  ``"ascent"``: multi-start backtracking ascent over the cells
        (any d; the certificate is then an estimate).  ``"auto"``: exact when d <= 2.
    tol : float
        A dual constraint is violated when :math:`|\eta| > 1 + \mathrm{tol}`; also the
        relative gap for ``status == "optimal"``.
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
        (default ``5 * n_starts``; 0 turns it off).  On N = 200, d = 10 the regular search
        declared "no violator" where the deeper one found sup |η| up to 1.02, i.e. a
        certificate 2 % too optimistic (measured).
    max_new : int, optional
        Columns added per round (default N).
    prune : float
        Old non-basic columns with :math:`|\eta| <` ``prune`` are dropped from the
        restricted LP once it has more than 2N columns.
    slide : bool
        Sliding refinement: move the atoms along the ascent direction of
        :math:`\mathrm{sign}(w_j)\,\eta` and re-solve the LP on old plus moved atoms,
        so the value never increases and feasibility is never lost.
    slide_steps : int
        Rounds of sliding.
    random_state : int or Generator, optional
    progress : bool
        tqdm bar over the rounds.

    Returns
    -------
    SparseFit

    Raises
    ------
    DatasetError
        Empty, non-finite, mismatched, or repeated inputs (naming the rows).
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
    tol = check_positive(tol, "tol")
    gap_tol = check_positive(gap_tol, "gap_tol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    slide_steps = check_int(slide_steps, "slide_steps", minimum=0)
    N, d = X.shape
    if oracle == "exact" and d > EXACT_MAX_DIM:
        from ..errors import ParameterError

        raise ParameterError(f"oracle='exact' enumerates the hyperplane arrangement and needs d <= "
                             f"{EXACT_MAX_DIM}; got d = {d}. Use oracle='ascent' (or 'auto')")
    n_starts = max(64, N) if n_starts is None else check_int(n_starts, "n_starts", minimum=1)
    n_verify = 5 * n_starts if n_verify is None else check_int(n_verify, "n_verify", minimum=0)
    max_new = N if max_new is None else check_int(max_new, "max_new", minimum=1)
    use_exact = oracle == "exact" or (oracle == "auto" and d <= EXACT_MAX_DIM)
    rng = check_random_state(random_state)

    Xt = lift(X)
    D = d + 1
    arrangement = Arrangement(Xt) if use_exact else None  # the p-independent geometry, once
    atoms0, _ = staircase_atoms(X, rng)
    Theta = np.vstack([atoms0, _unit(rng, 4 * N, D)])  # the staircase and a random pool
    it_range = range(max_iter)
    if progress:
        from tqdm.auto import tqdm

        it_range = tqdm(it_range, desc="fit_sparse", leave=False)

    status = "max_iter"
    slides_left = slide_steps if slide else 0
    best_dual = None  # (p, bound on sup |eta_p|, lower bound) of the best dual found so far
    lp = None
    rounds = 0
    master = RestrictedMaster(Y, eps)  # warm-started across rounds; mirrors the rows of Theta
    master.add(np.maximum(Xt @ Theta.T, 0.0))
    log: list[tuple] = []
    for _ in it_range:
        rounds += 1
        Phi = np.maximum(Xt @ Theta.T, 0.0)
        Theta_lp = Theta
        lp = master.solve()
        if not lp.success:  # fall back to a from-scratch solve (dual simplex, then IPM)
            lp = solve_lp(Phi, Y, eps)
        if not lp.success:
            raise ConvergenceError(f"HiGHS failed on the restricted LP ({Theta.shape[0]} neurons): "
                                   f"{lp.message}. Rescale X and y to order one and retry")
        p = lp.p
        col_eta = Phi.T @ p

        if use_exact:  # sweep the arrangement: sup |eta| bracketed, best local maximisers
            T, v, _, sup_p = arrangement(p, k=max_new, tol=tol, enough=2 * max_new)
        else:  # multi-start ascent from near-active columns and the best random directions
            near = np.flatnonzero(np.abs(col_eta) >= 0.5)  # at most N, the nearest to active
            near = near[np.argsort(-np.abs(col_eta[near]))[:N]]
            T, v = _random_ascent(rng, Xt, p, Theta[near], n_starts)
            if n_verify and np.max(np.abs(v)) <= 1 + max(tol, 2 * gap_tol):  # about to stop:
                T2, v2 = _random_ascent(rng, Xt, p, Theta[:0], n_verify)  # look deeper first
                T, v = np.vstack([T, T2]), np.concatenate([v, v2])
            sup_p = float(np.max(np.abs(v)))
        sup_p = float(max(sup_p, np.max(np.abs(col_eta), initial=0.0)))
        lb_p = float(p @ Y - eps * np.sum(np.abs(p))) / max(1.0, sup_p)  # weak duality, p rescaled
        # certified bounds (d <= 2) can be maxed over rounds; estimated ones (d >= 3: sup |eta|
        # only bounded from below by the ascent) cannot: the max would pick the most optimistic
        if best_dual is None or not use_exact or lb_p > best_dual[2]:
            best_dual = (p, sup_p, lb_p)
        viol = np.abs(v) > 1 + tol
        lower = best_dual[2]
        log.append((time.perf_counter() - t_start, lp.value, lower, sup_p, Theta_lp.shape[0]))
        if np.any(viol) and lp.value - lower <= gap_tol * max(1.0, lp.value):
            status = "converged"  # certified (d <= 2) or estimated to the requested relative gap
            break
        if np.any(viol):
            idx = np.flatnonzero(viol)
            keep = idx[_distinct(T[idx], v[idx], max_new)]
            new = np.vstack([T[keep], _merge_in_cells(Theta, lp.w, Xt)])
            Theta = np.vstack([Theta, new])
            Phi_new = np.maximum(Xt @ new.T, 0.0)
            master.add(Phi_new, signs=Phi_new.T @ p)  # only the sign that prices in
        elif slides_left > 0 and np.any(lp.w != 0):
            slides_left -= 1
            moved = _slide_proposals(Theta, lp.w, Xt, p)
            if moved.shape[0] == 0:
                slides_left = 0
                continue
            Phi2 = np.maximum(Xt @ moved.T, 0.0)
            basis = master.get_basis()
            master.add(Phi2, signs=Phi2.T @ p)
            lp2 = master.solve()
            if not lp2.success:
                lp2 = solve_lp(np.hstack([Phi, Phi2]), Y, eps)
            if lp2.success and lp2.value < lp.value * (1 - 1e-10):
                Theta = np.vstack([Theta, moved])
            else:
                master.delete(np.arange(Theta.shape[0], Theta.shape[0] + moved.shape[0]))
                master.set_basis(basis)
                slides_left = 0
        else:
            status = "converged"
            break
        M0 = lp.w.shape[0]
        if M0 > 2 * N:  # forget old columns far from active (non-basic, |eta| < prune)
            keep = np.ones(Theta.shape[0], dtype=bool)
            keep[:M0] = (np.abs(col_eta) >= prune) | (lp.w != 0)
            Theta = Theta[keep]
            master.delete(np.flatnonzero(~keep[:M0]))

    assert lp is not None
    Theta = Theta_lp  # the neurons of the last restricted LP (later additions are unsolved)
    Phi = np.maximum(Xt @ Theta.T, 0.0)
    w = caratheodory_reduce(Phi, lp.w)
    S = np.flatnonzero(w)
    atoms, wS = Theta[S], w[S]
    net = ShallowNetwork(wS, atoms[:, :d], atoms[:, d])
    value = float(np.sum(np.abs(wS)))
    p, sup_eta, lower = best_dual  # the dual with the best lower bound found
    bound_kind = "exact" if use_exact else "estimated"
    gap = value - lower
    if status == "converged" and bound_kind == "exact" and gap <= max(gap_tol, 10 * tol) * max(1.0, value):
        status = "optimal"
    resid = float(np.max(np.abs(Phi[:, S] @ wS - Y))) if S.size else float(np.max(np.abs(Y)))
    cols = np.array(log).reshape(-1, 5).T
    trace = FitTrace(cols[0], cols[1], cols[2], cols[3], cols[4].astype(np.int64))
    return SparseFit(net, value, p, sup_eta, lower, bound_kind, gap, int(S.size), eps, resid,
                     rounds, int(Theta.shape[0]), status, trace)


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

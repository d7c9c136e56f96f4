"""Flow maps of the neural ODE (3.3) under a piecewise-constant control.

For the ReLU (and leaky ReLU) the vector field of a constant piece,
:math:`f(x) = W\\sigma(Ax + b)`, is continuous and affine on each cell of the
arrangement of the hyperplanes :math:`H_j = \\{a_j \\cdot x + b_j = 0\\}`, so
every piece is integrated without a time step:

* **single neuron** (Fig. 3.1): with :math:`z = a\\cdot x + b`, :math:`\\kappa = a\\cdot w`,
  the half-space :math:`\\{z \\le 0\\}` is invariant and on :math:`\\{z > 0\\}`
  :math:`z(t) = z_0 e^{\\kappa t}`, hence
  :math:`x(t) = x_0 + w z_0 (e^{\\kappa t} - 1)/\\kappa` (:math:`x_0 + t z_0 w` if
  :math:`\\kappa = 0`): compression (:math:`\\kappa < 0`), parallel motion
  (:math:`\\kappa = 0`), expansion (:math:`\\kappa > 0`);
* **shear** (:math:`AW = 0`: every direction :math:`w_j` is orthogonal to every
  normal :math:`a_i`): :math:`Ax` is invariant, so :math:`x(t) = x_0 + t\\,W\\sigma(Ax_0 + b)`
  exactly, for any activation;
* **general width P**: inside a cell with activation pattern :math:`g \\in \\{\\gamma, 1\\}^P`
  the field is affine, :math:`f(x) = Mx + c` with :math:`M = W\\,\\mathrm{diag}(g) A`,
  and the flow is a matrix exponential of the augmented matrix
  :math:`\\begin{pmatrix} M & c \\\\ 0 & 0\\end{pmatrix}`, stepped as its Taylor
  polynomial (steps :math:`h \\le 1/(2\\|B\\|_1)`, machine precision).  A point is advanced
  to the first time one of its :math:`z_j(t)` changes sign (screened by the reach of the
  step, sampled, certified between samples by a second-derivative bound, then located
  to ~1 ulp by safeguarded Newton on the polynomial, for all points at once), its
  pattern is updated from the sign of :math:`\\dot z_j = a_j \\cdot f(x)`, and so on
  until the end of the piece.  No step is taken across a kink.

Smooth activations (tanh, sigmoid) go through SciPy's adaptive DOP853, restarted
at every switch time, unless the piece is a shear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from ..._checks import as_points, check_int, check_option, check_positive
from ...errors import ControlError, ConvergenceError
from ._activations import ACTIVATIONS, PIECEWISE_LINEAR, activation_fn, negative_slope
from ._control import Control, Piece
from ._shear import eval_spline, parallel, single_normal_shear, spline_from_arrays

__all__ = ["flow", "piece_flow", "piece_kind", "Trajectory"]

_SHEAR_RTOL = 1e-13


@dataclass(frozen=True)
class Trajectory:
    """States along the flow, for plots.

    Attributes
    ----------
    t : array (K,)
        Sample times in [0, T], including 0, every switch time and T.
    X : array (K, N, d)
        ``X[k]`` is :math:`\\Phi_{t_k}` applied to the inputs.
    """

    t: np.ndarray
    X: np.ndarray


def _effective(piece: Piece) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = np.linalg.norm(piece.W, axis=0) > 0
    return piece.W[:, keep], piece.A[keep], piece.b[keep]


def piece_kind(piece: Piece) -> str:
    """How a piece is integrated: ``"rest"``, ``"shear"``, ``"single"`` or ``"general"``.

    Neurons with a zero output column :math:`w_j = 0` are dropped first; then the piece is

    - ``"rest"``: no neuron left (the field is zero, points do not move);
    - ``"shear"``: :math:`a_i \\cdot w_j = 0` for all i, j (relative tolerance 1e-13 of
      :math:`|a_i||w_j|`): no neuron moves any point across a hyperplane, so the flow is
      the explicit shear :math:`x + t\\sum_j w_j\\sigma(a_j\\cdot x + b_j)`;
    - ``"single"``: one interacting neuron, integrated in closed form with
      :math:`\\varphi(\\lambda, t) = (e^{\\lambda t} - 1)/\\lambda`;
    - ``"general"``: several interacting neurons (event-driven matrix exponentials for
      piecewise-linear activations).

    Parameters
    ----------
    piece : Piece
        The constant piece :math:`(W, A, b)`, W (d, P), A (P, d), b (P,).

    Returns
    -------
    str
        One of ``"rest"``, ``"shear"``, ``"single"``, ``"general"``.
    """
    W, A, _ = _effective(piece)
    if W.shape[1] == 0:
        return "rest"
    AW = A @ W
    tol = _SHEAR_RTOL * np.linalg.norm(A, axis=1)[:, None] * np.linalg.norm(W, axis=0)[None, :]
    if np.all(np.abs(AW) <= tol):
        return "shear"
    if W.shape[1] == 1:
        return "single"
    return "general"


# ---------------------------------------------------------------------------------------
# exact integrators for piecewise-linear activations
# ---------------------------------------------------------------------------------------
def _single(W: np.ndarray, A: np.ndarray, b: np.ndarray, X: np.ndarray, t: float,
            gamma: float) -> np.ndarray:
    w, a = W[:, 0], A[0]
    z = X @ a + b[0]
    g = np.where(z > 0, 1.0, gamma)
    lam = g * float(a @ w)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        phi = np.where(lam != 0, np.expm1(lam * t) / np.where(lam != 0, lam, 1.0), t)
        # points that do not move (z = 0, or z < 0 for the ReLU) stay put even where
        # exp(kappa t) overflows: never 0 * inf; an active point that overflows is inf here
        # and is reported by flow() with the piece and kappa t
        disp = np.where(g * z != 0, g * z * phi, 0.0)
        return X + disp[:, None] * w[None, :]


def _sigma_pl(Z: np.ndarray, gamma: float) -> np.ndarray:
    return np.where(Z > 0, Z, gamma * Z)


# Step of the Taylor stepper, as a fraction of 1 / ||B||_1: the series then converges
# to machine precision in about 17 terms and never loses more than a factor e to cancellation.
_THETA = 0.5
# samples per step at which every nearby hyperplane is checked (a step is cut where the
# second-derivative bound cannot exclude a crossing between two samples)
_SAMPLES = 8
_ZTOL = 1e-12  # relative band around a hyperplane inside which a point counts as on it
_EPS = np.finfo(float).eps
_NEIGHBOURS = 32  # hyperplanes per neighbour list (the rest is certified far away)
_SGRID = np.arange(_SAMPLES + 1) / _SAMPLES  # sample points of a step, as fractions of h
_DELTA = 1.0 / _SAMPLES


def _bnorm(B: np.ndarray) -> np.ndarray:
    """||B||_1 (largest column sum) of a stack (n, d+1, d+1)."""
    return np.abs(B).sum(axis=1).max(axis=1)


def _horner(C: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and derivatives of the polynomials sum_k C[:, k] s^k at s (m,)."""
    p = C[:, -1].copy()
    dp = np.zeros_like(p)
    for k in range(C.shape[1] - 2, -1, -1):
        dp = dp * s + p
        p = p * s + C[:, k]
    return p, dp


def _poly_states(V: np.ndarray, s: np.ndarray) -> np.ndarray:
    """sum_k V[:, k] s^k for V (n, K, m), s (n,) -> (n, m)."""
    y = V[:, -1].copy()
    for k in range(V.shape[1] - 2, -1, -1):
        y = y * s[:, None] + V[:, k]
    return y


def _first_roots(C: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A root of each polynomial C[i] in (lo_i, hi_i] given C_i(lo_i) > 0 > C_i(hi_i).

    Safeguarded Newton, vectorised: the bracket shrinks at every evaluation, a Newton
    step leaving it is replaced by bisection; stops at a step of ~1 ulp.
    """
    x = 0.5 * (lo + hi)
    todo = np.arange(C.shape[0])
    out = x.copy()
    for _ in range(200):
        if todo.size == 0:
            break
        c, xl, xh, xx = C[todo], lo[todo], hi[todo], x[todo]
        f, fp = _horner(c, xx)
        pos = f > 0
        xl = np.where(pos, xx, xl)
        xh = np.where(pos, xh, xx)
        with np.errstate(divide="ignore", invalid="ignore"):
            xn = xx - f / fp
        bad = ~np.isfinite(xn) | (xn <= xl) | (xn >= xh)
        xn = np.where(bad, 0.5 * (xl + xh), xn)
        done = (f == 0) | (np.abs(xn - xx) <= 2 * _EPS * np.abs(xx)) | (xh - xl <= 2 * _EPS * xh)
        out[todo] = np.where(f == 0, xx, xn)
        lo[todo], hi[todo], x[todo] = xl, xh, xn
        todo = todo[~done]
    return np.clip(out, lo, hi)


def _general(W: np.ndarray, A: np.ndarray, b: np.ndarray, X: np.ndarray, tau: float,
             gamma: float, max_events: int) -> np.ndarray:
    """Event-driven exact flow of x' = W sigma(Ax + b) for a piecewise-linear sigma.

    All points advance together.  Point i carries its activation pattern g_i, the
    augmented matrix B_i of its cell and a step h_i <= THETA / ||B_i||_1; one step is the
    Taylor polynomial of expm(B_i s h_i) y_i (Krylov vectors of all points at once).
    Each point keeps a list of its 32 nearest hyperplanes, all others being at least rho
    away from the list's anchor; steps are cut to stay inside that radius, so the work per
    step does not grow with P.  Along a step u_j(s) = +-z_j lies between the quadratics
    u_j(0) + L_j s -/+ |a_j| sum_{k>=2} ||V_k|| s^2: the step is cut where the upper one
    surely crosses, and only the pairs whose lower one crosses earlier are candidates;
    those few pairs are sampled on the step, the first sign change against the pattern is
    located to ~1 ulp (vectorised safeguarded Newton on the polynomial), and between two
    samples a second-derivative bound certifies that no crossing was stepped over (else
    the step is cut).  The pattern is then updated from the sign of dz/dt on the
    hyperplanes reached (rank-one changes of B).

    The stages of one step are the methods of :class:`_EventFlow`, in this order:
    ``_neighbours`` (lists), ``_update_cells`` (patterns, B), ``_taylor`` (V, h),
    ``_screen`` (candidate pairs, step cut), ``_sample_pairs`` (first flagged sample),
    ``_locate`` (crossing times) and ``_apply`` (states, times, patterns).
    """
    return _EventFlow(W, A, b, X, tau, gamma, max_events).run()


def _rescale_steps(V: np.ndarray, h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Shorten the steps with s < 1 to s h: V_k scales as s^k (in place); returns the new h."""
    short = s < 1.0
    if short.any():
        V[short] *= (s[short, None] ** np.arange(V.shape[1]))[:, :, None]
        h = np.where(short, h * s, h)
    return h


@dataclass
class _Pairs:
    """(point, hyperplane) pairs that may cross on this step, with their sampled u_j(s).

    ``pi`` indexes the active points, ``pl`` the neighbour list, ``pj`` the hyperplane;
    ``C`` (m, K) are the polynomial coefficients of u_j(s) (> 0 on the pattern's side),
    ``Us`` its values at the samples, ``lpair`` the first flagged sample (S+1: none) and
    ``at`` whether the pair decides its point's step.
    """

    pi: np.ndarray
    pl: np.ndarray
    zs: np.ndarray
    pj: np.ndarray | None = None
    C: np.ndarray | None = None
    Us: np.ndarray | None = None
    lpair: np.ndarray | None = None
    at: np.ndarray | None = None


class _EventFlow:
    """The state of :func:`_general` for all points: positions, patterns, cells, steps."""

    def __init__(self, W: np.ndarray, A: np.ndarray, b: np.ndarray, X: np.ndarray, tau: float,
                 gamma: float, max_events: int) -> None:
        N, d = X.shape
        self.A, self.b, self.gamma, self.tau, self.max_events = A, b, gamma, tau, max_events
        self.N, self.d, self.P = N, d, A.shape[0]
        self.Y = np.hstack([X, np.ones((N, 1))])
        self.t_left = np.full(N, float(tau))
        self.events = np.zeros(N, dtype=np.int64)
        self.anorm = np.linalg.norm(A, axis=1)
        self.absb = np.abs(b)
        self.pat = np.zeros((N, self.P), dtype=bool)
        self.B = np.zeros((N, d + 1, d + 1))
        self.bnorm = np.zeros(N)
        self.fresh = np.zeros(N, dtype=bool)  # pattern to be updated (after an event)
        self.dirty = np.ones(N, dtype=bool)  # B to be rebuilt from the pattern
        self.hcap = np.full(N, np.inf)
        self.hmin = 1e-13 * tau
        self.WAb = (W.T[:, :, None] * np.hstack([A, b[:, None]])[:, None, :]).reshape(self.P, -1)
        self._initial_pattern(X, W)
        # neighbour lists: the k nearest hyperplanes of an anchor xa; all others lie at least
        # rho from it, so while a step moves a point less than rho - |x - xa| only the list
        # can be met
        self.k_nb = min(self.P, _NEIGHBOURS)
        self.nbr = np.zeros((N, self.k_nb), dtype=np.int64)
        self.rho = np.full(N, -1.0)
        self.xa = np.zeros((N, d))
        with np.errstate(divide="ignore"):
            self.ainv = np.where(self.anorm > 0, 1.0 / self.anorm, np.inf)

    def _initial_pattern(self, X: np.ndarray, W: np.ndarray) -> None:
        """The side of each hyperplane, or for a point on it (|z| <= zs) the side dz/dt =
        a_j . f(x) points to (f is continuous: any pattern gives the same dz/dt)."""
        A, b = self.A, self.b
        Z = X @ A.T + b
        zs = _ZTOL * (np.linalg.norm(X, axis=1)[:, None] * self.anorm + self.absb + 1e-300)
        self.pat[:] = Z > zs
        bi, bj = np.nonzero(np.abs(Z) <= zs)
        if bi.size:
            self.pat[bi, bj] = np.einsum("md,md->m", _sigma_pl(Z[bi], self.gamma) @ W.T, A[bj]) > 0

    def run(self) -> np.ndarray:
        active = np.arange(self.N)
        while active.size:
            active = self._step(active)
        return self.Y[:, :self.d]

    def _step(self, i: np.ndarray) -> np.ndarray:
        """One step of the points i; returns those with time left."""
        d = self.d
        x0 = self.Y[i, :d]
        moved = self._neighbours(i, x0)
        nb = self.nbr[i]
        Al = self.A[nb]  # (n, k, d)
        Z0 = np.einsum("nkd,nd->nk", Al, x0) + self.b[nb]
        anl = self.anorm[nb]
        zs = _ZTOL * (np.linalg.norm(x0, axis=1)[:, None] * anl + self.absb[nb] + 1e-300)
        self._update_cells(i, nb, Al, Z0, zs)
        V, h = self._taylor(i)
        # stay inside the neighbour list's safe radius: |x(s) - x0| <= s * reach
        reach = np.linalg.norm(V[:, 1:, :d], axis=2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_nb = np.where(reach > 0, 0.99 * (self.rho[i] - moved) / reach, 1.0)
        h = _rescale_steps(V, h, np.clip(s_nb, 0.0, 1.0))
        pati = self.pat[i[:, None], nb]
        pairs, h = self._screen(V, h, Al, Z0, anl, zs, pati)
        lstar, cut = self._sample_pairs(pairs, V, h, nb, pati)
        s_end, hit, flip_j = self._locate(i.size, pairs, lstar, cut)
        return self._apply(i, V, h, s_end, hit, flip_j, cut)

    def _neighbours(self, i: np.ndarray, x0: np.ndarray) -> np.ndarray:
        """Renew the lists of the points that moved more than half their safe radius;
        returns |x0 - anchor| (0 for renewed lists)."""
        A, b, P = self.A, self.b, self.P
        moved = np.linalg.norm(x0 - self.xa[i], axis=1)
        rb = np.flatnonzero(moved > 0.5 * self.rho[i])
        if rb.size:
            ir = i[rb]
            if self.k_nb < P:
                dist = np.abs(x0[rb] @ A.T + b) * self.ainv
                part = np.argpartition(dist, self.k_nb, axis=1)
                rho_new = dist[np.arange(rb.size), part[:, self.k_nb]]
                if np.any(rho_new <= 0):  # a point on more than k_nb hyperplanes: no lists
                    self.k_nb = P
                    self.nbr = np.tile(np.arange(P), (self.N, 1))
                    self.rho[:] = np.inf
                    rb, ir = np.arange(i.size), i
                else:
                    self.nbr[ir] = part[:, :self.k_nb]
                    self.rho[ir] = rho_new
            if self.k_nb == P:
                self.nbr[ir] = np.arange(P)
                self.rho[ir] = np.inf
            self.xa[ir] = x0[rb]
            moved[rb] = 0.0
            self.dirty[ir] = True  # B from scratch now and then: no drift of the rank-one updates
        return moved

    def _update_cells(self, i: np.ndarray, nb: np.ndarray, Al: np.ndarray, Z0: np.ndarray,
                      zs: np.ndarray) -> None:
        """Patterns after an event (rank-one changes of B), and B rebuilt where dirty."""
        d, gamma, B, pat = self.d, self.gamma, self.B, self.pat
        fr = np.flatnonzero(self.fresh[i])
        if fr.size:
            # after an event only hyperplanes in the band |z| <= zs can change side
            # the field is continuous, so f(x) = B y with the pattern of the cell just left
            bi, bl = np.nonzero(np.abs(Z0[fr]) <= zs[fr])
            if bi.size:
                m = i[fr[bi]]
                F = np.einsum("mij,mj->mi", B[m, :d, :], self.Y[m])
                j = nb[fr[bi], bl]
                new = np.einsum("md,md->m", F, Al[fr[bi], bl]) > 0
                ch = new != pat[m, j]
                pat[m, j] = new
                if ch.any():
                    # rank-one updates B += (g_new - g_old) w_j (a_j | b_j)
                    sg = np.where(new[ch], 1.0 - gamma, gamma - 1.0)
                    np.add.at(B, (m[ch], slice(0, d), slice(None)),
                              sg[:, None, None] * self.WAb[j[ch]].reshape(-1, d, d + 1))
                    self.bnorm[m] = _bnorm(B[m])
            self.fresh[i[fr]] = False
        r = i[self.dirty[i]]
        if r.size:
            # [M | c] = sum_j g_j w_j (a_j | b_j): one product for all points
            Mc = np.where(pat[r], 1.0, gamma) @ self.WAb
            B[r, :d, :] = Mc.reshape(r.size, d, d + 1)
            self.bnorm[r] = _bnorm(B[r])
            self.dirty[r] = False

    def _taylor(self, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Krylov vectors V_k = B^k y h^k / k! (n, K, d+1) of all points at once, and h."""
        with np.errstate(divide="ignore"):
            h = np.minimum(np.minimum(self.t_left[i], _THETA / self.bnorm[i]), self.hcap[i])
        Bi = self.B[i]
        v = self.Y[i]
        terms = [v]
        scale = np.linalg.norm(v, axis=1)
        for k in range(1, 60):
            v = np.einsum("nij,nj->ni", Bi, v) * (h / k)[:, None]
            terms.append(v)
            if np.all(np.linalg.norm(v, axis=1) <= 1e-18 * scale):
                break
        return np.stack(terms, axis=1), h

    def _screen(self, V: np.ndarray, h: np.ndarray, Al: np.ndarray, Z0: np.ndarray,
                anl: np.ndarray, zs: np.ndarray, pati: np.ndarray) -> tuple[_Pairs, np.ndarray]:
        """Candidate pairs, and steps cut where some hyperplane is surely crossed.

        u_j(s) = sgn_j z_j(x(s h)) lies between the quadratics U0 + L s -/+ |a_j| R2 s^2;
        the first time the upper one reaches -zs some hyperplane is surely crossed, so the
        step is cut there (V_k scales as h^k), and only hyperplanes whose lower quadratic
        reaches -zs earlier remain candidates.
        """
        d, n, K = self.d, V.shape[0], V.shape[1]
        U0 = np.where(pati, Z0, -Z0)  # > 0 on the side of the pattern
        Z1 = Z0 + np.einsum("nkd,nd->nk", Al, V[:, 1, :d])
        U1 = np.where(pati, Z1, -Z1)  # U0 + L
        R2 = np.linalg.norm(V[:, 2:, :d], axis=2).sum(axis=1) if K > 2 else np.zeros(n)
        pi, pl = np.nonzero((U0 < -zs) | (U1 < anl * R2[:, None] - zs))
        if not pi.size:
            return _Pairs(pi, pl, zs[pi, pl]), h
        U0p, zsp = U0[pi, pl], zs[pi, pl]
        Lp, aR2p, c0 = U1[pi, pl] - U0p, anl[pi, pl] * R2[pi], U0p + zsp
        disc = Lp * Lp - 4.0 * aR2p * c0
        with np.errstate(divide="ignore", invalid="ignore"):
            s_up = np.where((Lp < 0) & (disc >= 0),
                            2.0 * c0 / (-Lp + np.sqrt(np.maximum(disc, 0.0))), np.inf)
        s_cap = np.ones(n)
        np.minimum.at(s_cap, pi, s_up)
        s_cap = np.where(s_cap > 0, s_cap, 1.0)
        if (s_cap < 1.0).any():
            h = _rescale_steps(V, h, s_cap)
            sp = s_cap[pi]
            keep = np.minimum(U0p, U0p + Lp * sp - aR2p * sp * sp) < -zsp
            pi, pl, zsp = pi[keep], pl[keep], zsp[keep]
        return _Pairs(pi, pl, zsp), h

    def _sample_pairs(self, pairs: _Pairs, V: np.ndarray, h: np.ndarray, nb: np.ndarray,
                      pati: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First sample index (1..S) at which each point's pairs cross or are not certified
        (S+1: never), and the points whose step must be cut (not certified first)."""
        S, K, n = _SAMPLES, V.shape[1], V.shape[0]
        lstar = np.full(n, S + 1)
        unsure_pt = np.zeros(n, dtype=bool)
        pi, pl, zsp = pairs.pi, pairs.pl, pairs.zs
        if not pi.size:
            return lstar, unsure_pt
        pj = nb[pi, pl]
        C = np.einsum("mkd,md->mk", V[pi, :, :self.d], self.A[pj])
        C[:, 0] += self.b[pj]
        C[~pati[pi, pl]] *= -1.0
        pw = _SGRID[None, :] ** np.arange(K)[:, None]  # (K, S+1)
        Us = C @ pw
        dUs = (C[:, 1:] * np.arange(1, K)) @ pw[:K - 1]
        S2 = np.abs(C[:, 2:] * (np.arange(2, K) * np.arange(1, K - 1))).sum(axis=1)[:, None]
        viol = Us[:, 1:] < -zsp[:, None]
        q = 0.5 * S2 * _DELTA * _DELTA
        certA = np.minimum(Us[:, :-1], Us[:, :-1] + dUs[:, :-1] * _DELTA - q) >= -zsp[:, None]
        certB = np.minimum(Us[:, 1:], Us[:, 1:] - dUs[:, 1:] * _DELTA - q) >= -zsp[:, None]
        unsure = ~viol & ~(certA | certB) & (h[pi] > self.hmin)[:, None]
        flag = viol | unsure
        lpair = np.where(flag.any(axis=1), flag.argmax(axis=1) + 1, S + 1)
        np.minimum.at(lstar, pi, lpair)
        at = lpair == lstar[pi]  # pairs that decide their point's step
        un = at & (lpair <= S)
        un &= unsure[np.arange(pi.size), np.minimum(lpair, S) - 1]
        unsure_pt[pi[un]] = True
        pairs.pj, pairs.C, pairs.Us, pairs.lpair, pairs.at = pj, C, Us, lpair, at
        return lstar, unsure_pt

    def _locate(self, n: int, pairs: _Pairs, lstar: np.ndarray,
                cut: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each step ends (fraction s_end of h), whether at a crossing (hit), and the
        hyperplane whose pattern bit contradicts the motion (flip_j, -1: none)."""
        s_end = np.ones(n)
        hit = np.zeros(n, dtype=bool)
        flip_j = np.full(n, -1)
        # (a) cut steps: advance to the last certified sample, sample finer next time
        s_end[cut] = (lstar[cut] - 1) * _DELTA
        # (b) crossings: locate the first root in the first flagged sub-interval
        ev = (lstar <= _SAMPLES) & ~cut
        if not ev.any():
            return s_end, hit, flip_j
        sel = pairs.at & ev[pairs.pi]
        m_i, C_e, l_e = pairs.pi[sel], pairs.C[sel], pairs.lpair[sel]
        lo = (l_e - 1) * _DELTA
        hi = l_e * _DELTA
        flo = pairs.Us[sel, l_e - 1]
        fhi = pairs.Us[sel, l_e]
        root = np.full(m_i.size, np.nan)
        proper = flo > 0
        root[~proper & (lo > 0)] = lo[~proper & (lo > 0)]  # on the hyperplane already
        # a point on the hyperplane at s = 0: deflate the root at 0
        defl = ~proper & (lo == 0)
        Cd = np.zeros_like(C_e)
        Cd[:, :-1] = C_e[:, 1:]
        qlo = Cd[:, 0]
        qhi = (fhi - C_e[:, 0]) / hi
        okd = defl & (qlo > 0) & (qhi < 0)
        root[defl & ~okd] = -1.0  # the pattern contradicts the motion: flip that bit
        Cr = np.where(proper[:, None], C_e, Cd)
        need = proper | okd
        if need.any():
            root[need] = _first_roots(Cr[need], lo[need].astype(float), hi[need].astype(float))
        # per point: earliest root; a contradiction (-1) wins and flips its hyperplane
        best = np.full(n, np.inf)
        np.minimum.at(best, m_i, root)
        s_end[ev] = best[ev]
        flips = root < 0
        flip_j[m_i[flips]] = pairs.pj[sel][flips]
        hit[ev] = True
        return s_end, hit, flip_j

    def _apply(self, i: np.ndarray, V: np.ndarray, h: np.ndarray, s_end: np.ndarray,
               hit: np.ndarray, flip_j: np.ndarray, cut: np.ndarray) -> np.ndarray:
        """Advance the states and clocks, update step caps and patterns; returns the points
        with time left."""
        t_left, hcap, hmin = self.t_left, self.hcap, self.hmin
        flip = flip_j >= 0
        move = s_end > 0
        mv = np.flatnonzero(move & ~flip)
        self.Y[i[mv]] = _poly_states(V[mv], s_end[mv])
        dt = s_end * h
        full = ~hit & ~cut
        new_t = np.where(full & (h >= t_left[i]), 0.0, t_left[i] - np.where(flip, 0.0, dt))
        new_t[new_t <= 1e-15 * self.tau] = 0.0
        t_left[i] = new_t
        hcap[i[cut]] = np.maximum(h[cut] * _DELTA, hmin)
        relax = ~cut
        hcap[i[relax]] = hcap[i[relax]] * 4.0
        hit &= ~flip
        self.fresh[i[hit]] = True
        hcap[i[hit]] = np.inf
        if flip.any():
            fi = i[flip]
            self.pat[fi, flip_j[flip]] ^= True
            self.dirty[fi] = True
            hcap[fi] = np.maximum(h[flip] * _DELTA, hmin)
        self.events[i[hit | flip]] += 1
        if np.any(self.events[i] > self.max_events):
            raise ConvergenceError(
                f"the exact integrator met more than {self.max_events} hyperplane crossings in "
                "one piece; the field may slide along a hyperplane. Increase max_events or "
                "perturb the control.")
        return i[t_left[i] > 0]


def _smooth(piece: Piece, X: np.ndarray, activation: str, rtol: float, atol: float) -> np.ndarray:
    sig = activation_fn(activation)
    W, A, b = piece.W, piece.A, piece.b
    N, d = X.shape

    def rhs(_t, y):
        Z = y.reshape(N, d) @ A.T + b
        return (sig(Z) @ W.T).ravel()

    sol = solve_ivp(rhs, (0.0, piece.duration), X.ravel(), method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:
        raise ConvergenceError(f"DOP853 failed on a piece: {sol.message}; loosen rtol/atol")
    return sol.y[:, -1].reshape(N, d)


def piece_flow(piece: Piece, X: np.ndarray, t: float | None = None, *, activation: str = "relu",
               rtol: float = 1e-11, atol: float = 1e-13, max_events: int = 10_000) -> np.ndarray:
    """Flow of one constant piece for time ``t`` (default: its duration), X (N, d) -> (N, d)."""
    t = piece.duration if t is None else t
    if t != piece.duration:
        piece = Piece(t, piece.W, piece.A, piece.b)
    kind = piece_kind(piece)
    if kind == "rest":
        return X.copy()
    if kind == "shear":
        sig = activation_fn(activation)
        return X + t * (sig(X @ piece.A.T + piece.b) @ piece.W.T)
    if activation not in PIECEWISE_LINEAR:
        return _smooth(piece, X, activation, rtol, atol)
    gamma = negative_slope(activation)
    W, A, b = _effective(piece)
    if kind == "single":
        return _single(W, A, b, X, t, gamma)
    return _general(W, A, b, X, t, gamma, max_events)


def _relu_runs(control: Control, X: np.ndarray, kw: dict) -> np.ndarray:
    """ReLU flow, fusing consecutive shear pieces with a common normal into one spline.

    Single-neuron pieces are applied in place on the transposed state (d, N), whose
    contiguous rows make each closed-form update a few streaming passes.
    """
    dur, W, A, b = control.arrays
    XT = np.array(X.T, order="C")  # (d, N), always a copy: updated in place below
    ok, normals = single_normal_shear(W, A)
    keep = np.linalg.norm(W, axis=1) > 0  # (K, P)
    nkeep = keep.sum(axis=1)
    first = np.argmax(keep, axis=1)
    idx = np.arange(len(dur))
    kappa = np.einsum("kd,kd->k", A[idx, first], W[idx, :, first])
    k, n = 0, len(dur)
    while k < n:
        if nkeep[k] == 0:
            k += 1
            continue
        if not ok[k]:
            if nkeep[k] == 1:  # single neuron, closed form (Fig. 3.1)
                j = first[k]
                z = A[k, j] @ XT
                z += b[k, j]
                np.maximum(z, 0.0, out=z)
                with np.errstate(over="ignore"):
                    factor = np.expm1(kappa[k] * dur[k]) / kappa[k] if kappa[k] != 0 else dur[k]
                if np.isfinite(factor):
                    z *= factor
                else:  # inactive points (z = 0) stay put; active ones overflow (reported by flow)
                    z = np.where(z > 0, np.inf, 0.0)
                with np.errstate(over="ignore", invalid="ignore"):
                    XT += W[k, :, j][:, None] * z
            else:
                XT = np.ascontiguousarray(piece_flow(control.pieces[k], XT.T, **kw).T)
            k += 1
            continue
        ref = normals[k]
        j = k + 1
        while j < n and (nkeep[j] == 0 or (ok[j] and parallel(normals[j], ref))):
            j += 1
        sp = spline_from_arrays(dur[k:j], W[k:j], A[k:j], b[k:j], ref)
        XT = np.ascontiguousarray(eval_spline(sp, XT.T).T)
        k = j
    return np.ascontiguousarray(XT.T)


def _raise_overflow(control: Control, X: np.ndarray, kw: dict) -> None:
    """Find the first piece whose flow leaves the floating-point range and say why.

    Only called once the flow came out non-finite from finite inputs, so the cost of
    replaying the pieces one by one is paid on the error path only.
    """
    for k, p in enumerate(control.pieces):
        with np.errstate(over="ignore", invalid="ignore"):
            Y = piece_flow(p, X, **kw)
        bad = ~np.isfinite(Y).all(axis=1)
        if bad.any():
            what = piece_kind(p)
            detail = ""
            if what == "single":
                W, A, _ = _effective(p)
                kt = float(A[0] @ W[:, 0]) * p.duration
                detail = (f" (single neuron, kappa*t = a.w * duration = {kt:.4g}: exp(kappa*t) "
                          f"{'overflows' if abs(kt) > 709.0 else 'times the distance to the hyperplane overflows'}"
                          " for points on the active side)")
            raise ControlError(
                f"the flow of piece {k}{detail} leaves the floating-point range for "
                f"{int(bad.sum())} of {X.shape[0]} points (first: row {int(np.argmax(bad))}); points "
                "that do not move stay where they are, these would pass |x| = 1.8e308. Rescaling "
                "helps: a smaller |a . w| or duration for that piece, or data of a smaller size")
        X = Y
    raise ControlError("the flow leaves the floating-point range; rescale the data or the control")


def flow(control: Control | Piece, X: Any, *, activation: str = "relu",
         return_trajectory: bool = False, num_samples: int = 16, rtol: float = 1e-11,
         atol: float = 1e-13, max_events: int = 10_000) -> Any:
    """The flow map :math:`\\Phi_T(\\cdot; W, A, b)` of (3.3) applied to the rows of X.

    Parameters
    ----------
    control : Control or Piece
        Piecewise-constant control on [0, T].
    X : array (N, d)
        Initial states :math:`x_i^0`.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"}
        Scalar activation :math:`\\sigma`.  ReLU and leaky ReLU (slope 0.01) are
        integrated exactly (closed forms or event-driven matrix exponentials);
        tanh and sigmoid with DOP853 restarted at every switch (shear pieces exactly).
    return_trajectory : bool
        Also return a :class:`Trajectory` sampled ``num_samples`` times per piece.
    num_samples : int
        Samples per piece in the trajectory.
    rtol, atol : float
        Tolerances of DOP853 (smooth activations only).
    max_events : int
        Guard on the hyperplane crossings of one point within one piece (general
        ReLU pieces); more raise :class:`~controlml.errors.ConvergenceError`.

    Returns
    -------
    X_T : array (N, d)
        :math:`\\Phi_T(x_i^0)`.

    Notes
    -----
    Consecutive ReLU shear pieces whose neurons share one normal commute and
    leave :math:`a\\cdot x` invariant; they are applied at once as a linear spline
    in :math:`a\\cdot x` (see ``controlml.node.flows._shear``), exactly and in
    :math:`O(N \\log N)`, accurately even for the steep splines of large
    interpolation problems.
    trajectory : Trajectory
        Only when ``return_trajectory``.

    Raises
    ------
    DatasetError
        X is not a finite (N, d) array with d = control.dim.
    ConvergenceError
        A point crosses more than ``max_events`` hyperplanes in one general ReLU piece.
    ControlError
        The flow of some piece leaves the floating-point range (for a single neuron:
        :math:`e^{\\kappa t}` overflows, :math:`\\kappa t \\gtrsim 709`) for a point that
        moves; the message names the piece and :math:`\\kappa t`.  Points that do not move
        (on the inactive side of a ReLU neuron) are returned unchanged whatever
        :math:`\\kappa t`.
    """
    if isinstance(control, Piece):
        control = Control((control,))
    if not isinstance(control, Control):
        raise ControlError(f"control must be a Control or a Piece; got {type(control).__name__}")
    check_option(activation, "activation", ACTIVATIONS)
    X = as_points(X, "X", dim=control.dim)
    rtol = check_positive(rtol, "rtol")
    atol = check_positive(atol, "atol")
    max_events = check_int(max_events, "max_events", minimum=1)
    kw = dict(activation=activation, rtol=rtol, atol=atol, max_events=max_events)
    if not return_trajectory:
        if activation == "relu":
            XT = _relu_runs(control, X, kw)
        else:
            XT = X
            for p in control.pieces:
                XT = piece_flow(p, XT, **kw)
        if not np.isfinite(XT).all():
            _raise_overflow(control, X, kw)
        return XT
    num_samples = check_int(num_samples, "num_samples", minimum=1)
    ts, Xs, t0 = [0.0], [X], 0.0
    for p in control.pieces:
        h = p.duration / num_samples
        for k in range(num_samples):
            X = piece_flow(p, X, h, **kw)
            if not np.isfinite(X).all():
                _raise_overflow(control, Xs[0], kw)
            ts.append(t0 + (k + 1) * h)
            Xs.append(X)
        t0 += p.duration
    return X, Trajectory(np.array(ts), np.stack(Xs))

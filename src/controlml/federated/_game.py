"""The FL participation game: a potential game whose equilibrium efforts jump at λ*.

Liu, Wang & Zuazua (arXiv 2411.11793).  Client ``i`` chooses an effort ``s_i`` in
``[q_i, Q_i]`` (its local epochs) and earns, per round, the server's reward minus its
running cost,

    P_i(s) = λ s̄ s_i − α_i s_i²,          s̄ = Σ_j ρ_j s_j,   ρ_j = D_j / Σ D,

summed over the ``T`` rounds (efforts are constant over rounds).  ``P_i`` is concave in
``s_i`` when ``α_i > λ ρ_i``, and the best response to the others' efforts is

    BR_i(s_{−i}) = clip( λ s̄_{−i} / (2 (α_i − λ ρ_i)), q_i, Q_i ),   s̄_{−i} = s̄ − ρ_i s_i,

(or ``Q_i`` when ``α_i ≤ λ ρ_i``).  Because ``BR_i`` depends on ``s`` only through
``s̄_{−i}``, an equilibrium is a fixed point of the scalar map

    F(x) = Σ_i ρ_i clip( λ x / (2 α_i − λ ρ_i), q_i, Q_i ),

so :meth:`FLGame.fixed_points` lists every Nash equilibrium exactly (``F`` is piecewise
linear), an independent check of the best-response dynamics.

Critical reward factors (the paper's, with ρ-weighted means ``q̄ = Σ ρ_i q_i``):

    λ₁ = 2 min_i α_i q_i / (q̄ + ρ_i q_i)         (below: everybody at q_i),
    λ* solves Σ_i λ / (2 α_i/ρ_i − λ) = 1       (efforts jump from ≤ c₁ to ≥ c₂),
    λ₂ = 2 max_i α_i Q_i / (Q̄ + ρ_i Q_i)         (above: everybody at Q_i).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import check_int, check_nonnegative, check_positive, check_random_state
from ..errors import ParameterError

__all__ = ["FLGame", "NashResult", "CriticalRewards", "game_efforts_to_epochs"]


@dataclass(frozen=True)
class NashResult:
    """An (ε-)Nash equilibrium reached by best-response dynamics.

    Attributes
    ----------
    s : ndarray (m,)
        Equilibrium efforts.
    gap : float
        ε-NE gap ``max_i [P_i(BR_i, s_{−i}) − P_i(s)]`` (over the ``T`` rounds).
    sweeps : int
        Best-response sweeps used.
    mean_effort : float
        ``mean(s)`` (the authors' "average effort").
    status : str
        ``"ok"`` if ``gap <= tol``, ``"max_sweeps"`` otherwise.
    """

    s: np.ndarray
    gap: float
    sweeps: int
    mean_effort: float
    status: str


@dataclass(frozen=True)
class CriticalRewards:
    """The reward factors λ₁ < λ* < λ₂ and the effort bounds c₁ ≤ c₂ at the jump.

    Computed by :meth:`FLGame.critical_rewards`, with ``q̄ = Σ ρ_i q_i``, ``Q̄ = Σ ρ_i Q_i``.

    Attributes
    ----------
    lambda1 : float
        ``λ₁ = 2 min_i α_i q_i / (q̄ + ρ_i q_i)``: below it every player plays its minimal
        effort ``q_i``.
    lambda_star : float
        ``λ*``, the root of ``Σ_i λ / (2 α_i/ρ_i − λ) = 1`` in ``(0, min_i 2 α_i/ρ_i)``:
        where the equilibrium efforts jump.
    lambda2 : float
        ``λ₂ = 2 max_i α_i Q_i / (Q̄ + ρ_i Q_i)``: above it every player plays its maximal
        effort ``Q_i``.
    c1 : float
        ``c₁ = max_i q_i (2 α_i − λ* ρ_i) / λ*``, the largest breakpoint of ``F`` at which a
        player leaves ``q_i``: below the jump the aggregate effort ``s̄ = Σ ρ_j s_j`` is ``≤ c₁``.
    c2 : float
        ``c₂ = min_i Q_i (2 α_i − λ* ρ_i) / λ*``, the smallest breakpoint of ``F`` at which a
        player reaches ``Q_i``: above the jump ``s̄ ≥ c₂``.
    """

    lambda1: float
    lambda_star: float
    lambda2: float
    c1: float
    c2: float


def _as_positive_vector(x, name, m=None):
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if arr.size == 0 or (m is not None and arr.size not in (1, m)):
        raise ParameterError(
            f"{name} must be a vector of length m = {m} (or a scalar); got shape {np.shape(x)}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ParameterError(f"{name} must hold finite positive numbers; got min {arr.min()!r}")
    if m is not None and arr.size == 1:
        arr = np.full(m, arr[0])
    return arr


class FLGame:
    """The FL potential game with ``m`` players.

    Parameters
    ----------
    alpha : array (m,)
        Running-cost factors ``α_i > 0``.
    q, Q : array (m,) or scalar
        Minimal and maximal efforts, ``0 < q_i ≤ Q_i``.
    rho : array (m,) or None
        Data weights ``ρ_i`` (normalised to sum 1); ``None`` gives ``1/m``.
    reward : float
        The server's reward factor ``λ ≥ 0``.
    T : int
        Number of rounds the payoff sums over (the authors' ``T = 200``); it scales
        payoffs and the ε-NE gap only.
    """

    def __init__(self, alpha, q, Q, rho=None, reward: float = 1.0, *, T: int = 1) -> None:
        self.alpha = _as_positive_vector(alpha, "alpha")
        m = self.alpha.size
        self.q = _as_positive_vector(q, "q", m)
        self.Q = _as_positive_vector(Q, "Q", m)
        if np.any(self.Q < self.q):
            i = int(np.argmax(self.Q < self.q))
            raise ParameterError(f"Q must be >= q for every player; player {i} has "
                                 f"q = {self.q[i]!r} > Q = {self.Q[i]!r}")
        rho = np.full(m, 1.0 / m) if rho is None else _as_positive_vector(rho, "rho", m)
        self.rho = rho / rho.sum()
        self.reward = check_nonnegative(reward, "reward")
        self.T = check_int(T, "T", minimum=1)

    @property
    def m(self) -> int:
        """Number of players."""
        return self.alpha.size

    def with_reward(self, reward: float) -> FLGame:
        """The same players under another reward factor ``λ``."""
        return FLGame(self.alpha, self.q, self.Q, self.rho, reward, T=self.T)

    # ------------------------------------------------------------------ payoffs
    def _check_s(self, s) -> np.ndarray:
        s = np.asarray(s, dtype=np.float64)
        if s.shape != (self.m,):
            raise ParameterError(f"s must be efforts of shape ({self.m},); got shape {s.shape}")
        return s

    def payoffs(self, s) -> np.ndarray:
        """``P_i(s) = T (λ s̄ s_i − α_i s_i²)`` for every player, shape (m,)."""
        s = self._check_s(s)
        return self.T * (self.reward * (self.rho @ s) * s - self.alpha * s * s)

    def potential(self, s) -> float:
        """Weighted potential ``Φ(s) = T [λ/2 (s̄² + Σ_j ρ_j² s_j²) − Σ_j ρ_j α_j s_j²]``.

        A unilateral change of ``s_i`` changes ``Φ`` by ``ρ_i`` times the change of ``P_i``
        (``∂Φ/∂s_i = ρ_i ∂P_i/∂s_i``), so maximisers of ``Φ`` are equilibria.
        """
        s = self._check_s(s)
        r = self.rho
        sbar = r @ s
        return float(self.T * (self.reward / 2 * (sbar * sbar + (r * r) @ (s * s))
                               - (r * self.alpha) @ (s * s)))

    def best_responses(self, s) -> np.ndarray:
        """Every player's best response to the others' current efforts, all at once (m,)."""
        s = self._check_s(s)
        lam = self.reward
        sbar_minus = self.rho @ s - self.rho * s
        denom = 2.0 * (self.alpha - lam * self.rho)
        concave = denom > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            interior = np.where(concave, lam * sbar_minus / np.where(concave, denom, 1.0), 0.0)
        return np.where(concave, np.clip(interior, self.q, self.Q), self.Q)

    def gap(self, s) -> float:
        """ε-NE gap ``max_i [P_i(BR_i(s_{−i}), s_{−i}) − P_i(s)] ≥ 0``."""
        s = self._check_s(s)
        br = self.best_responses(s)
        lam = self.reward
        sbar_minus = self.rho @ s - self.rho * s

        def pay(x):
            return self.T * (lam * (sbar_minus + self.rho * x) * x - self.alpha * x * x)

        return float(max(0.0, np.max(pay(br) - pay(s))))

    # --------------------------------------------------------------- equilibria
    def initial_efforts(self, random_state=None) -> np.ndarray:
        """``s0_i ~ U[q_i, Q_i]`` (the authors' start)."""
        rng = check_random_state(random_state)
        return rng.uniform(self.q, self.Q)

    def nash_equilibrium(self, s0=None, *, tol: float = 1e-10, max_sweeps: int = 100_000,
                         random_state=None) -> NashResult:
        """Best-response dynamics until the ε-NE gap is ``<= tol``.

        Each sweep updates every player at once (vectorised best responses, a Jacobi sweep)
        from ``s0`` (default: ``U[q_i, Q_i]`` drawn from ``random_state``).  Where the
        dynamics converge slowly (``λ`` near ``λ*``, the spectral radius tends to 1) a
        sweep costs O(m) NumPy work, so thousands of sweeps for ``m = 10⁴`` take well
        under a second.  The equilibrium reached is the fixed point of ``F`` that the
        dynamics from ``s0`` approach (compare :meth:`fixed_points`).

        Returns
        -------
        NashResult
        """
        check_positive(tol, "tol")
        max_sweeps = check_int(max_sweeps, "max_sweeps", minimum=1)
        s = self.initial_efforts(random_state) if s0 is None else self._check_s(s0).copy()
        gap = self.gap(s)
        sweeps = 0
        while gap > tol and sweeps < max_sweeps:
            s = self.best_responses(s)
            sweeps += 1
            gap = self.gap(s)
        status = "ok" if gap <= tol else "max_sweeps"
        return NashResult(s=s, gap=gap, sweeps=sweeps, mean_effort=float(s.mean()),
                          status=status)

    def effort_map(self, x) -> np.ndarray:
        """The scalar map ``F(x) = Σ ρ_i clip(λ x / (2α_i − λρ_i), q_i, Q_i)`` (vectorised in x)."""
        x = np.asarray(x, dtype=np.float64)
        return self._phi(x[..., None]) @ self.rho

    def _phi(self, x):
        lam = self.reward
        denom = 2.0 * self.alpha - lam * self.rho
        concave = self.alpha > lam * self.rho
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.where(concave, lam * x / np.where(concave, denom, 1.0), self.Q)
        return np.clip(inner, self.q, self.Q)

    def fixed_points(self) -> list[np.ndarray]:
        """Every Nash equilibrium, exactly: the fixed points of the piecewise-linear ``F``.

        ``F`` is linear between the breakpoints ``x = q_i (2α_i − λρ_i)/λ`` and
        ``x = Q_i (2α_i − λρ_i)/λ``; on each piece ``F(x) = x`` is one linear equation.
        Returns the equilibrium effort vectors ``s_i = clip(λ x/(2α_i − λρ_i), q_i, Q_i)``,
        ordered by ``x``; a continuum (slope exactly 1) is reported by its endpoints.
        """
        lam = self.reward
        lo, hi = float(self.rho @ self.q), float(self.rho @ self.Q)
        if lam == 0:
            return [self.q.copy()]
        denom = 2.0 * self.alpha - lam * self.rho
        concave = self.alpha > lam * self.rho
        br = np.concatenate([self.q[concave] * denom[concave] / lam,
                             self.Q[concave] * denom[concave] / lam, [lo, hi]])
        knots = np.unique(np.clip(br, lo, hi))
        xs: list[float] = []
        for a, b in zip(knots[:-1], knots[1:], strict=True):
            fa, fb = self.effort_map(a), self.effort_map(b)
            ga, gb = fa - a, fb - b
            if abs(ga) <= 1e-13 * max(1, a):
                xs.append(float(a))
            if ga * gb < 0:
                xs.append(float(a + ga * (b - a) / (ga - gb)))
        if abs(self.effort_map(knots[-1]) - knots[-1]) <= 1e-13 * max(1, knots[-1]):
            xs.append(float(knots[-1]))
        xs = sorted(set(xs))
        return [self._phi(np.asarray(x)) for x in xs]

    # ---------------------------------------------------------- critical rewards
    def critical_rewards(self) -> CriticalRewards:
        """``λ₁``, ``λ*``, ``λ₂`` and the bounds ``c₁``, ``c₂`` of the paper.

        ``λ*`` is the root of ``g(λ) = Σ_i λ/(2α_i/ρ_i − λ) − 1``, increasing on
        ``(0, min 2α_i/ρ_i)``, found by Brent's method.
        """
        from scipy.optimize import brentq

        a, r, q, Q = self.alpha, self.rho, self.q, self.Q
        qbar, Qbar = float(r @ q), float(r @ Q)
        lam1 = float(2 * np.min(a * q / (qbar + q * r)))
        lam2 = float(2 * np.max(a * Q / (Qbar + Q * r)))
        top = float(np.min(2 * a / r))

        def g(lam):
            return float(np.sum(lam / (2 * a / r - lam)) - 1.0)

        lam_star = float(brentq(g, 0.0, top * (1 - 1e-15), xtol=1e-14, rtol=1e-15))
        c1 = float(np.max(2 * a * q / lam_star - q * r))
        c2 = float(np.min(2 * a * Q / lam_star - Q * r))
        return CriticalRewards(lam1, lam_star, lam2, c1, c2)

    def authors_cases(self) -> tuple[float, float, float, float]:
        """The authors' four reward factors on the 0.01 grid: the last grid value below λ₁,
        the two around λ*, the first above λ₂ (their ``cal_lambdas``)."""
        cr = self.critical_rewards()
        k1 = math.ceil(cr.lambda1 * 100) - 1
        kx = math.ceil(cr.lambda_star * 100) - 1
        k2 = math.floor(cr.lambda2 * 100) + 1
        return (round(k1 / 100, 2), round(kx / 100, 2), round((kx + 1) / 100, 2),
                round(k2 / 100, 2))

    # ----------------------------------------------------------- authors' setting
    @classmethod
    def authors_setting(cls, m: int = 1000, *, seed: int = 77, reward: float = 1.0,
                        T: int = 200) -> tuple[FLGame, np.ndarray]:
        """The players of the authors' ``config_game.yaml`` and their starting efforts.

        Draws, in the authors' order, from NumPy's legacy generator seeded with ``seed``:
        data sizes ``D ~ randint[40, 40]``, ``q ~ U[1, 1⁺)``, ``Q_i ~ U[max(q_i, 20), 30⁺)``,
        ``α ~ U[1, 2⁺)`` (``x⁺ = nextafter(x, ∞)``); the starting efforts
        ``s0_i ~ U[q_i, Q_i]`` come from a generator re-seeded with ``seed`` (they reseed
        before every λ).

        Returns
        -------
        (FLGame, ndarray (m,))
        """
        m = check_int(m, "m", minimum=1)
        rs = np.random.RandomState(seed)  # the authors' legacy stream  # noqa: NPY002
        D = rs.randint(40, 41, m)
        q = rs.uniform(1, np.nextafter(1.0, 2.0), m)
        Q = rs.uniform(np.maximum(q, 20.0), np.nextafter(30.0, 31.0))
        alpha = rs.uniform(1, np.nextafter(2.0, 3.0), m)
        rs0 = np.random.RandomState(seed)  # noqa: NPY002
        s0 = rs0.uniform(q, Q)
        return cls(alpha, q, Q, D / D.sum(), reward, T=T), s0


def game_efforts_to_epochs(s, *, max_epochs: int | None = None) -> np.ndarray:
    """Local epochs from equilibrium efforts: ``E_i = ceil(s_i)`` (the authors' training
    loop runs ``while epochs < s_i``), capped at ``max_epochs``; shape (m,), ints ≥ 1.

    Parameters
    ----------
    s : array (m,)
        Finite positive efforts ``s_i`` (e.g. ``NashResult.s``); a tolerance of ``1e-9``
        keeps ``s_i = 3 + 1e-12`` at 3 epochs.
    max_epochs : int or None
        Upper bound on every ``E_i``; ``None`` (default): no cap.

    Returns
    -------
    ndarray of int (m,)
        ``E_i = max(1, min(ceil(s_i), max_epochs))``, e.g. for :func:`simulate`'s
        ``local_epochs``.
    """
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ParameterError(f"s must be a non-empty vector of finite positive efforts; got {s!r}"[:200])
    E = np.ceil(s - 1e-9).astype(np.int64)
    if max_epochs is not None:
        E = np.minimum(E, check_int(max_epochs, "max_epochs", minimum=1))
    return np.maximum(E, 1)

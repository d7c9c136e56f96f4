"""Guidance by repulsion: drivers steer a herd of evaders (Ko & Zuazua), with RBM and MPC.

Evaders x_i in R^2 (i = 1..N), drivers y_j in R^2 (j = 1..M), controls u_j = driver
velocities::

    x_i' = (alpha/N) sum_{i'} phi(|x_i' - x_i|) (x_i' - x_i)
           + (beta/M) sum_j psi(|x_i - y_j|) (x_i - y_j),          y_j' = u_j,

    phi(r) = 1 - delta^2/(r^2 + eps^2)   (cohesion at long range, repulsion below delta),
    psi(r) = 1/(r^2 + eps^2)              (repulsion by the drivers, decaying like 1/r).

Cost J(u) = (1/N) sum_i |x_i(T) - x*|^2 + gamma sum_k dt sum_j |u_jk|^2, explicit Euler
with step dt.  The Random Batch Method (Jin, Li & Liu 2020) splits the evaders into random
batches of size p at every step and keeps only the interactions inside each batch,
rescaled by (N-1)/(p-1) (so its mean is the full force): O(N p) instead of O(N^2).
The optimal control of the RBM model with fixed batches is found by gradient descent
(torch autograd through the Euler steps, backtracking line search); MPC re-plans from the
true (full-interaction) state every few steps to correct the RBM error.

The structure (first-order herd, cohesion among evaders, repulsion by drivers, drivers
moved by their velocity, RBM + gradient descent + MPC) follows Ko & Zuazua
(arXiv 2004.14834); the kernels phi, psi and the constants are our choice: the paper's
exact kernels were not available to us.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._checks import check_int, check_option, check_positive, check_random_state
from ..errors import DatasetError, ParameterError

__all__ = ["GuidanceModel", "GuidanceResult"]


@dataclass(frozen=True)
class GuidanceResult:
    """A controlled run of the guidance model.

    Attributes
    ----------
    evaders : (K+1, N, 2) ndarray
        Evader positions x_i(t_k) of the plant (the full-interaction dynamics, or an
        independent RBM realisation with ``plant="rbm"``).
    drivers : (K+1, M, 2) ndarray
        Driver positions y_j(t_k).
    u : (K, M, 2) ndarray
        The applied driver velocities u_jk.
    cost : float
        J of the plant's run: (1/N) sum_i |x_i(T) - x*|^2 + gamma sum_k dt sum_j |u_jk|^2.
    distance : (K+1,) ndarray
        |mean_i x_i(t_k) - x*|, the distance of the herd's centre to the target.
    seconds : float
        Wall time of the run.
    iterations : int
        Total number of gradient-descent steps over all the MPC windows.
    status : str
        "ok".
    """

    evaders: np.ndarray
    drivers: np.ndarray
    u: np.ndarray
    cost: float
    distance: np.ndarray
    seconds: float
    iterations: int
    status: str = "ok"


class GuidanceModel:
    """The guidance-by-repulsion model (see the module docstring).

    Parameters
    ----------
    num_drivers : int
        M >= 1, the number of drivers (the controlled agents).
    num_evaders : int
        N >= 2, the number of evaders (the herd).
    target : (2,) array_like, default (3.0, 3.0)
        The herd's destination x* in R^2.
    T : float, default 6.0
        The horizon, > 0.
    dt : float, default 0.2
        The explicit Euler step, > 0 (T / dt must be an integer K).
    alpha : float, default 1.0
        Strength of the evader-evader interaction (kernel phi), > 0.
    beta : float, default 1.0
        Strength of the driver-evader repulsion (kernel psi), > 0.
    delta : float, default 0.2
        Comfort distance among evaders, > 0: phi(r) < 0 (repulsion) when
        r^2 + eps^2 < delta^2, cohesion beyond.
    eps : float, default 0.1
        Regularisation of the kernels' denominators r^2 + eps^2, > 0.
    gamma : float, default 0.01
        Weight of the control cost, > 0.
    batch_size : int, default 2
        p, the size of the random batches of evaders (2 <= p <= N, p divides N).
    """

    def __init__(self, num_drivers: int, num_evaders: int, *, target=(3.0, 3.0), T: float = 6.0,
                 dt: float = 0.2, alpha: float = 1.0, beta: float = 1.0, delta: float = 0.2,
                 eps: float = 0.1, gamma: float = 0.01, batch_size: int = 2):
        self.M = check_int(num_drivers, "num_drivers", minimum=1)
        self.N = check_int(num_evaders, "num_evaders", minimum=2)
        tgt = np.asarray(target, dtype=np.float64)
        if tgt.shape != (2,) or not np.all(np.isfinite(tgt)):
            raise DatasetError(f"target must be a finite point of R^2 (shape (2,)); got {target!r}")
        self.target = tgt
        self.T = check_positive(T, "T")
        self.dt = check_positive(dt, "dt")
        self.K = round(self.T / self.dt)
        if self.K < 1 or abs(self.K * self.dt - self.T) > 1e-9 * self.T:
            raise ParameterError(f"T / dt must be a positive integer; got T = {T!r}, dt = {dt!r}")
        self.alpha = check_positive(alpha, "alpha")
        self.beta = check_positive(beta, "beta")
        self.delta = check_positive(delta, "delta")
        self.eps = check_positive(eps, "eps")
        self.gamma = check_positive(gamma, "gamma")
        self.p = check_int(batch_size, "batch_size", minimum=2)
        if self.p > self.N or self.N % self.p:
            raise ParameterError(f"batch_size must divide num_evaders = {self.N} and be <= it; "
                                 f"got {self.p}: pick p in the divisors of N (e.g. 2)")

    # ----------------------------------------------------------------- state
    def initial_evaders(self, random_state: Any = None) -> np.ndarray:
        """N evaders uniform in the unit disc around the origin, (N, 2)."""
        rng = check_random_state(random_state)
        r = np.sqrt(rng.random(self.N))
        a = 2 * np.pi * rng.random(self.N)
        return np.column_stack([r * np.cos(a), r * np.sin(a)])

    def initial_drivers(self) -> np.ndarray:
        """M drivers on an arc behind the herd (opposite to the target), (M, 2)."""
        d = self.target / max(np.linalg.norm(self.target), 1e-12)
        base = np.arctan2(-d[1], -d[0])
        ang = base + np.linspace(-0.5, 0.5, self.M) if self.M > 1 else np.array([base])
        return 1.6 * np.column_stack([np.cos(ang), np.sin(ang)])

    # ---------------------------------------------------------------- forces
    def _phi_sum(self, Xq: torch.Tensor, X: torch.Tensor, Xsum: torch.Tensor) -> torch.Tensor:
        """sum_{i'} phi(|x_i' - x_q|)(x_i' - x_q) for query rows Xq (b, 2) against X (N, 2).

        phi = 1 - delta^2 w with w = 1/(r^2 + eps^2): the first part is sum_i' x_i' - N x_q,
        the second W @ X - x_q rowsum(W) with r^2 = |x_q|^2 + |x_i'|^2 - 2 x_q.x_i' (matmul).
        """
        r2 = ((Xq**2).sum(1)[:, None] + (X**2).sum(1)[None, :] - 2 * Xq @ X.T).clamp_min(0.0)
        W = 1.0 / (r2 + self.eps**2)
        return (Xsum[None, :] - X.shape[0] * Xq) - self.delta**2 * (W @ X - W.sum(1, keepdim=True) * Xq)

    def _full_evader_forces(self, X: torch.Tensor, block: int = 2048) -> torch.Tensor:
        Xsum = X.sum(0)
        out = [self._phi_sum(X[s:s + block], X, Xsum) for s in range(0, X.shape[0], block)]
        return (self.alpha / self.N) * torch.cat(out)

    def _rbm_evader_forces(self, X: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
        p = self.p
        Xb = X[perm].reshape(-1, p, 2)
        diff = Xb[:, None, :, :] - Xb[:, :, None, :]  # (B, p, p, 2): x_i' - x_i
        w = 1.0 - self.delta**2 / ((diff**2).sum(-1) + self.eps**2)
        Fb = (w[..., None] * diff).sum(2)  # the i' = i term is 0
        F = torch.empty_like(X)
        F[perm] = Fb.reshape(-1, 2)
        return (self.alpha / self.N) * (self.N - 1) / (p - 1) * F

    def _driver_forces(self, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        diff = X[:, None, :] - Y[None, :, :]
        w = 1.0 / ((diff**2).sum(-1) + self.eps**2)
        return (self.beta / self.M) * (w[..., None] * diff).sum(1)

    def evader_forces(self, X: Any, *, rng: Any = None) -> np.ndarray:
        """Evader-evader forces (N, 2): full O(N^2) when ``rng`` is None, else one random
        batch split of size p (O(N p), unbiased: its mean over splits is the full force)."""
        Xt = torch.as_tensor(np.asarray(X, dtype=np.float64))
        if Xt.shape != (self.N, 2):
            raise DatasetError(f"X must have shape (N, 2) = ({self.N}, 2); got {tuple(Xt.shape)}")
        with torch.no_grad():
            if rng is None:
                return self._full_evader_forces(Xt).numpy()
            g = check_random_state(rng)
            perm = torch.as_tensor(g.permutation(self.N))
            return self._rbm_evader_forces(Xt, perm).numpy()

    # ------------------------------------------------------------- dynamics
    def _rollout(self, X0: torch.Tensor, Y0: torch.Tensor, U: torch.Tensor,
                 perms: list | None) -> tuple[torch.Tensor, torch.Tensor, list, list]:
        X, Y = X0, Y0
        xs, ys = [X], [Y]
        for k in range(U.shape[0]):
            Fe = (self._full_evader_forces(X) if perms is None
                  else self._rbm_evader_forces(X, perms[k]))
            X = X + self.dt * (Fe + self._driver_forces(X, Y))
            Y = Y + self.dt * U[k]
            xs.append(X)
            ys.append(Y)
        return X, Y, xs, ys

    def _cost(self, XT: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
        tgt = torch.as_tensor(self.target)
        return ((XT - tgt) ** 2).sum(1).mean() + self.gamma * self.dt * (U**2).sum()

    def simulate(self, X0: Any, Y0: Any, U: Any, *, rbm: bool = False,
                 random_state: Any = None) -> tuple[np.ndarray, np.ndarray, float]:
        """Euler run under driver velocities U (K', M, 2): (evaders (K'+1, N, 2), drivers, cost)."""
        X0t, Y0t, Ut = self._as_inputs(X0, Y0, U)
        perms = self._perms(Ut.shape[0], check_random_state(random_state)) if rbm else None
        with torch.no_grad():
            XT, _, xs, ys = self._rollout(X0t, Y0t, Ut, perms)
            J = float(self._cost(XT, Ut))
        return torch.stack(xs).numpy(), torch.stack(ys).numpy(), J

    def _as_inputs(self, X0, Y0, U=None):
        X0 = np.asarray(X0, dtype=np.float64)
        Y0 = np.asarray(Y0, dtype=np.float64)
        if X0.shape != (self.N, 2):
            raise DatasetError(f"X0 must have shape (N, 2) = ({self.N}, 2); got {X0.shape}")
        if Y0.shape != (self.M, 2):
            raise DatasetError(f"Y0 must have shape (M, 2) = ({self.M}, 2); got {Y0.shape}")
        out = [torch.as_tensor(X0), torch.as_tensor(Y0)]
        if U is not None:
            U = np.asarray(U, dtype=np.float64)
            if U.ndim != 3 or U.shape[1:] != (self.M, 2):
                raise DatasetError(f"U must have shape (K, M, 2) with M = {self.M}; got {U.shape}")
            out.append(torch.as_tensor(U))
        return out

    def _perms(self, K: int, rng: np.random.Generator) -> list:
        return [torch.as_tensor(rng.permutation(self.N)) for _ in range(K)]

    # -------------------------------------------------------------- control
    def optimal_control(self, X0: Any, Y0: Any, *, steps: int | None = None, rbm: bool = True,
                        iterations: int = 40, U_init: Any = None, random_state: Any = None,
                        rtol: float = 1e-4) -> tuple[np.ndarray, float, int]:
        """Gradient descent on J over the driver velocities (steps, M, 2).

        With ``rbm=True`` the batches are drawn once and kept fixed (the cost is that of a
        fixed RBM trajectory, as in Ko & Zuazua); the gradient comes from torch autograd
        through the Euler steps; the step size is found by backtracking (Armijo).  Stops
        when the relative decrease of J falls below ``rtol``.  Returns (U, J, iterations).
        """
        steps = self.K if steps is None else check_int(steps, "steps", minimum=1)
        iterations = check_int(iterations, "iterations", minimum=1)
        X0t, Y0t = self._as_inputs(X0, Y0)
        rng = check_random_state(random_state)
        perms = self._perms(steps, rng) if rbm else None
        U = (torch.zeros((steps, self.M, 2), dtype=torch.float64) if U_init is None
             else torch.as_tensor(np.asarray(U_init, dtype=np.float64)).clone())

        def value_and_grad(U):
            U = U.detach().requires_grad_(True)
            XT, _, _, _ = self._rollout(X0t, Y0t, U, perms)
            J = self._cost(XT, U)
            (g,) = torch.autograd.grad(J, U)
            return J.item(), g

        def value(U):
            with torch.no_grad():
                XT, _, _, _ = self._rollout(X0t, Y0t, U, perms)
                return float(self._cost(XT, U))

        J, g = value_and_grad(U)
        step = 1.0
        it = 0
        for it in range(1, iterations + 1):  # noqa: B007
            gg = float((g**2).sum())
            if gg == 0:
                break
            while True:
                Un = U - step * g
                Jn = value(Un)
                if Jn <= J - 1e-4 * step * gg or step < 1e-10:
                    break
                step *= 0.5
            dec = J - Jn
            U = Un
            J, g = value_and_grad(U)
            step *= 2.0
            if dec <= rtol * abs(J):
                break
        return U.detach().numpy(), J, it

    def run_mpc(self, X0: Any, Y0: Any, *, prediction_steps: int, control_steps: int,
                rbm: bool = True, iterations: int = 20, random_state: Any = None,
                plant: str = "full", progress: bool = False) -> GuidanceResult:
        """MPC: plan over ``prediction_steps`` (RBM or full model), apply ``control_steps``
        to the plant, re-plan from the new state (warm start).

        ``plant="full"``: the true O(N^2) dynamics.  ``plant="rbm"``: an independent RBM
        realisation with fresh batches (for N ~ 10^4, where one full force evaluation costs
        seconds; the RBM converges to the full dynamics as dt -> 0)."""
        check_option(plant, "plant", ("full", "rbm"))
        Kp = check_int(prediction_steps, "prediction_steps", minimum=1)
        Kc = check_int(control_steps, "control_steps", minimum=1)
        if Kc > Kp:
            raise ParameterError(f"control_steps ({Kc}) must be <= prediction_steps ({Kp})")
        X0t, Y0t = self._as_inputs(X0, Y0)
        rng = check_random_state(random_state)
        t0 = _time.perf_counter()
        X, Y = X0t, Y0t
        xs, ys, us = [X], [Y], []
        U_prev = None
        total_it = 0
        starts = range(0, self.K, Kc)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="guidance MPC", leave=False)
        for k in starts:
            L = min(Kp, self.K - k)
            init = None
            if U_prev is not None:
                init = np.concatenate([U_prev[Kc:], np.repeat(U_prev[-1:], Kc, 0)])[:L]
                if init.shape[0] < L:
                    init = np.concatenate([init, np.repeat(init[-1:], L - init.shape[0], 0)])
            U, _, it = self.optimal_control(X.numpy(), Y.numpy(), steps=L, rbm=rbm,
                                            iterations=iterations, U_init=init,
                                            random_state=rng)
            total_it += it
            U_prev = U
            Ua = torch.as_tensor(U[: min(Kc, L)])
            pp = None if plant == "full" else self._perms(Ua.shape[0], rng)
            with torch.no_grad():
                X, Y, xk, yk = self._rollout(X, Y, Ua, pp)
            xs.extend(xk[1:])
            ys.extend(yk[1:])
            us.append(Ua)
        Uall = torch.cat(us)
        ev = torch.stack(xs).numpy()
        cost = float(self._cost(xs[-1], Uall))
        dist = np.linalg.norm(ev.mean(axis=1) - self.target, axis=1)
        return GuidanceResult(ev, torch.stack(ys).numpy(), Uall.numpy(), cost, dist,
                              _time.perf_counter() - t0, total_it)

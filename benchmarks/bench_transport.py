"""Constructed width-1 transport control (Thm 3.5) vs a continuous normalizing flow trained by maximum likelihood.

Target: the Gaussian mixture of the ``thm3.5`` experiment restricted to the box [-3, 3]^2.

- ``ours``: :func:`controlml.node.transport` from the uniform density on [0, 1]^2 with a
  switch budget L (no training: the control is written down from cell masses of the
  target density, which it needs to evaluate, not samples).  Time = building the control.
- ``baseline``: an FFJORD-style continuous normalizing flow (torchdiffeq ``odeint``, RK4 with
  a fixed step, exact divergence by autograd, d = 2), base N(0, I), velocity an MLP of
  (x, t) (2 hidden tanh layers of 32), trained by Adam on the negative log-likelihood of
  ``num_train`` exact samples of the target (400 steps of batch 256 in the full run, RK4 with
  8 steps).  Time = training.  Everything runs on one torch thread.

Both are then scored by the same code, :func:`controlml.node.density_errors`: L1 and
KL(rho_1 || model) by quadrature of the model's exact log-density on a grid of the box
(L1 also counts the model's mass outside the box), W1 between model samples and as many
target samples (POT).  ``ratio`` = baseline time / our time.
"""

from __future__ import annotations

import time

import numpy as np
import torch

_BOX = np.array([[-3.0, -3.0], [3.0, 3.0]])
_UNIT = np.array([[0.0, 0.0], [1.0, 1.0]])


def _target():
    from controlml.node import gaussian_mixture_density

    means = np.array([[-1.0, -1.0], [1.2, 0.8], [-0.5, 1.5]])
    stds = np.array([0.5, 0.4, 0.3])
    w = np.array([0.4, 0.35, 0.25])
    return gaussian_mixture_density(means, stds, w), (means, stds, w)


def _sample_target(params, N: int, rng: np.random.Generator) -> np.ndarray:
    means, stds, w = params
    out = []
    while sum(len(o) for o in out) < N:
        k = rng.choice(len(w), size=2 * N, p=w)
        X = means[k] + stds[k, None] * rng.standard_normal((2 * N, 2))
        out.append(X[np.all((X >= _BOX[0]) & (X <= _BOX[1]), axis=1)])
    return np.concatenate(out)[:N]


class _Field(torch.nn.Module):
    def __init__(self, hidden: int = 32):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden, 2))

    def forward(self, t, x):
        return self.net(torch.cat([x, t.expand(x.shape[0], 1)], dim=1))


class _Augmented(torch.nn.Module):
    """(z, l)' = (f(t, z), div f(t, z)): the exact trace in d = 2 (two autograd rows)."""

    def __init__(self, field: _Field, create_graph: bool):
        super().__init__()
        self.field = field
        self.create_graph = create_graph

    def forward(self, t, state):
        z, _ = state
        with torch.enable_grad():
            if not self.create_graph:  # evaluation: a fresh leaf, no graph kept between stages
                z = z.detach().requires_grad_(True)
            elif not z.requires_grad:
                z = z.requires_grad_(True)
            f = self.field(t, z)
            div = 0.0
            for i in range(2):
                div = div + torch.autograd.grad(f[:, i].sum(), z, create_graph=self.create_graph,
                                                retain_graph=True)[0][:, i]
        if not self.create_graph:
            return f.detach(), div.detach()
        return f, div


def _logp(field: _Field, x: torch.Tensor, steps: int, create_graph: bool) -> torch.Tensor:
    from torchdiffeq import odeint

    ts = torch.tensor([1.0, 0.0], dtype=x.dtype)
    z, ell = odeint(_Augmented(field, create_graph), (x, torch.zeros(x.shape[0], dtype=x.dtype)), ts,
                    method="rk4", options={"step_size": 1.0 / steps})
    z0, l0 = z[-1], ell[-1]
    base = -0.5 * (z0**2).sum(dim=1) - np.log(2 * np.pi)
    return base + l0


def _train_cnf(X: np.ndarray, iters: int, steps: int, batch: int, seed: int) -> _Field:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    field = _Field()
    opt = torch.optim.Adam(field.parameters(), lr=5e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iters)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    for _ in range(iters):
        idx = torch.randint(0, Xt.shape[0], (batch,), generator=gen)
        loss = -_logp(field, Xt[idx], steps, create_graph=True).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return field


def _cnf_logdensity(field: _Field, steps: int):
    def logd(G: np.ndarray) -> np.ndarray:
        out = []
        for chunk in np.array_split(G, max(1, len(G) // 8192)):
            x = torch.as_tensor(chunk, dtype=torch.float32)
            out.append(_logp(field, x, steps, create_graph=False).detach().double().numpy())
        return np.concatenate(out)

    return logd


def _cnf_sample(field: _Field, N: int, steps: int, seed: int) -> np.ndarray:
    from torchdiffeq import odeint

    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(N, 2, generator=gen)
    with torch.no_grad():
        x = odeint(field, z, torch.tensor([0.0, 1.0]), method="rk4", options={"step_size": 1.0 / steps})[-1]
    return x.double().numpy()


def run(quick: bool = False) -> list[dict]:
    rho1, params = _target()
    rng = np.random.default_rng(0)
    num_samples = 500 if quick else 3000
    grid = 64 if quick else 128
    budgets = (108,) if quick else (348, 1212)
    iters = 15 if quick else 400
    steps = 8
    num_train = 2000 if quick else 20000
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small products: one thread is steadier on a shared machine
    try:
        return _run(quick, rho1, params, rng, num_samples, grid, budgets, iters, steps, num_train)
    finally:
        torch.set_num_threads(threads)


def _run(quick, rho1, params, rng, num_samples, grid, budgets, iters, steps, num_train):
    from controlml.node import density_errors, transport

    # baseline: train once
    X = _sample_target(params, num_train, rng)
    t0 = time.perf_counter()
    field = _train_cnf(X, iters, steps, batch=256, seed=0)
    cnf_s = time.perf_counter() - t0
    e_cnf = density_errors(_cnf_logdensity(field, steps), _cnf_sample(field, num_samples, steps, 1), rho1,
                           box=_BOX, grid=grid, random_state=2)
    cnf_params = sum(p.numel() for p in field.parameters())
    rows = []
    for L in budgets:
        t0 = time.perf_counter()
        res = transport(_UNIT, rho1, box=_BOX, num_switches=L, grid=2, num_samples=2, random_state=0)
        ours_s = time.perf_counter() - t0
        e = density_errors(res.log_density, res.sample(num_samples, random_state=1), rho1, box=_BOX,
                           grid=grid, random_state=2)
        rows.append({
            "name": f"transport L={res.num_switches} vs CNF",
            "ours_s": ours_s, "baseline": f"CNF (torchdiffeq rk4, {iters} Adam steps)",
            "baseline_s": cnf_s, "ratio": cnf_s / ours_s,
            "ours_L1": e.l1, "ours_KL": e.kl, "ours_W1": e.w1, "ours_params": res.control.num_parameters,
            "cnf_L1": e_cnf.l1, "cnf_KL": e_cnf.kl, "cnf_W1": e_cnf.w1, "cnf_params": cnf_params,
            "num_switches": res.num_switches,
        })
    return rows

"""Federated learning: rounds/time to 90 % on digits, simulator vs Flower, the game at m = 10^4.

- ``rounds to 90 %``: FedADMM-InSa vs FedAvg vs FedProx in the in-process simulator
  (20 clients, 2 label shards each, 25 % per round, E = 10, MLP 64-32-10, seed 0): the first
  round whose test accuracy reaches 0.90, the wall time to get there, the local epochs spent.
- ``engine overhead``: the same FedAvg run (4 clients, all per round) in the simulator and
  through Flower's simulation engine on Ray (``run_flower``, 1 Ray CPU); per-round wall time
  of each (Flower's includes message passing, Ray actors and serialisation; Ray's start-up is
  reported separately as the first call's extra time is not per round).  Skipped without
  the ``fl`` extra.
- ``game m = 10^4``: the vectorised best-response dynamics (a Jacobi sweep of NumPy work) vs
  a player-by-player Gauss-Seidel loop in Python (the authors' scheme) near λ*, same players;
  the loop is timed on a few sweeps and scaled by the sweeps it needs (column says so).

One torch thread; ratios measured in one run.
"""

from __future__ import annotations

import time

import numpy as np
import torch


def _gauss_seidel_sweep(game, s):
    """One player-by-player best-response sweep (the authors' loop, scalar Python)."""
    lam, rho, a, q, Q = game.reward, game.rho, game.alpha, game.q, game.Q
    sbar = float(rho @ s)
    for i in range(s.size):
        sm = sbar - rho[i] * s[i]
        if a[i] - lam * rho[i] <= 0:
            new = Q[i]
        else:
            new = min(max(q[i], lam * sm / (2 * (a[i] - lam * rho[i]))), Q[i])
        sbar = sm + rho[i] * new
        s[i] = new
    return s


def run(quick: bool = False) -> list[dict]:
    from controlml.federated import FedProx, FLGame, simulate

    torch.set_num_threads(1)
    rows: list[dict] = []
    rounds = 30 if quick else 100
    for name, meth in (("fedadmm-insa", "fedadmm-insa"), ("fedavg", "fedavg"),
                       ("fedprox", FedProx(mu=0.1))):
        h = simulate(meth, num_clients=20, rounds=rounds, random_state=0, progress=False)
        k = h.rounds_to(0.90)
        per_round = h.wall_time / rounds
        rows.append({"bench": "rounds to 90 % (digits, 20 clients)", "method": name,
                     "rounds": k if k is not None else f"> {rounds}",
                     "time_s": round(per_round * k, 2) if k else None,
                     "epochs_to_90": int(h.epochs[:k].sum()) if k else None,
                     "final_acc": round(float(h.accuracy[-1]), 3)})
    # simulator vs Flower per-round overhead
    try:
        import flwr  # noqa: F401

        from controlml.federated.flower import run_flower
    except ImportError:
        rows.append({"bench": "engine overhead", "status": "skipped (no fl extra)"})
    else:
        R = 3 if quick else 10
        kw = dict(num_clients=4, rounds=R, fraction=1.0, local_epochs=2, random_state=0)
        hs = simulate("fedavg", progress=False, **kw)
        t0 = time.perf_counter()
        try:
            hf = run_flower("fedavg", num_cpus=1, **kw)
        finally:
            import ray

            ray.shutdown()
        total = time.perf_counter() - t0
        rows.append({"bench": "engine overhead (FedAvg, 4 clients)", "rounds": R,
                     "simulator_s_per_round": round(hs.wall_time / R, 4),
                     "flower_s_per_round": round(hf.wall_time / R, 4),
                     "flower_total_incl_ray_start_s": round(total, 1),
                     "ratio": round(hf.wall_time / hs.wall_time, 1),
                     "same_z": bool(np.abs(hf.z - hs.z).max() <= 1e-5)})
    # the game at m = 10^4
    m = 2000 if quick else 10_000
    game, s0 = FLGame.authors_setting(m, seed=77)
    lam = round(game.critical_rewards().lambda_star - 0.005, 3)
    g = game.with_reward(lam)
    t0 = time.perf_counter()
    ne = g.nash_equilibrium(s0, tol=1e-10)
    vec_s = time.perf_counter() - t0
    s = s0.copy()
    n_gs, t0 = 0, time.perf_counter()
    while g.gap(s) > 1e-10 and n_gs < 3:
        s = _gauss_seidel_sweep(g, s)
        n_gs += 1
    per_sweep = (time.perf_counter() - t0) / max(n_gs, 1)
    # sweeps the loop needs: run it vectorised-free only in quick mode, else estimate by the
    # authors' count at m = 1000 (939 sweeps near λ*)
    gs_est = per_sweep * 939
    rows.append({"bench": f"game NE near λ* (m = {m})", "lambda": lam,
                 "vectorised_s": round(vec_s, 3), "sweeps": ne.sweeps,
                 "gap": f"{ne.gap:.1e}", "gauss_seidel_s_per_sweep": round(per_sweep, 4),
                 "gauss_seidel_939_sweeps_s (scaled)": round(gs_est, 1),
                 "ratio": round(gs_est / vec_s, 1)})
    return rows


if __name__ == "__main__":  # pragma: no cover
    for r in run(quick=True):
        print(r)

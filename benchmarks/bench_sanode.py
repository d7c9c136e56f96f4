"""SA-NODE against the equal-size vanilla NODE and the authors' 505k-parameter NODE (pendulum).

Workload (issue 15): the pendulum (y, -sin x) from the authors' 21 x 21 grid on [-2, 2]^2,
T = 5, 101 times, 220 training / 221 test trajectories; one Euler step per sample interval;
Adam (lr 1e-2 for the small models, 1e-3 for the 505k one, which diverges at 1e-2), full
batch, loss 100 MSE + 1e-4 Barron norm (as :func:`controlml.sanode.fit_sanode`).

- ``equal epochs``: wall time per epoch and test max error after ``epochs`` epochs, for
  SA-NODE (P = 100, 600 parameters), the vanilla NODE of (3.3) with 10 pieces of width 12
  (600 parameters) and the authors' vanilla NODE (101 pieces of width 1000, 505,000
  parameters).
- ``time to error``: training time (evaluations excluded) until the test max error first
  drops below ``target``, checked every 10 epochs (``inf`` when it never does).
- ``batched vs loop``: one epoch of our batched training (all trajectories in one odeint
  call) against the same epoch written as a loop over trajectories (one odeint call and one
  backward pass each, gradients accumulated), as a per-trajectory data loader would do.

One torch thread, CPU, float32.
"""

from __future__ import annotations

import time

import numpy as np
import torch


def _train(model, D, epochs, lr, target, eval_every=10):
    from controlml.sanode import integrate, trajectory_errors

    X = torch.as_tensor(D.train, dtype=torch.float32).permute(1, 0, 2)
    t = torch.as_tensor(D.t, dtype=torch.float32)
    x0te = torch.as_tensor(D.test[:, 0], dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    train_s, reached, err = 0.0, float("inf"), float("nan")
    for e in range(1, epochs + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        pred = integrate(model, X[0], t)
        loss = 100.0 * torch.mean((pred[1:] - X[1:]) ** 2) + 1e-4 * model.barron_norm()
        loss.backward()
        opt.step()
        train_s += time.perf_counter() - t0
        if e % eval_every == 0 or e == epochs:
            with torch.no_grad():
                p = integrate(model, x0te, t).permute(1, 0, 2).double().numpy()
            err = trajectory_errors(p, D.test)[0]
            if err <= target and reached == float("inf"):
                reached = train_s
    return train_s, err, reached


def _loop_epoch(model, D):
    from controlml.sanode import integrate

    t = torch.as_tensor(D.t, dtype=torch.float32)
    model.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    n = len(D.train)
    for traj in D.train:
        X = torch.as_tensor(traj, dtype=torch.float32)
        pred = integrate(model, X[:1], t)[:, 0]
        (100.0 * torch.mean((pred[1:] - X[1:]) ** 2) / n).backward()
    return time.perf_counter() - t0


def _batched_epoch(model, D):
    from controlml.sanode import integrate

    X = torch.as_tensor(D.train, dtype=torch.float32).permute(1, 0, 2)
    t = torch.as_tensor(D.t, dtype=torch.float32)
    model.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    pred = integrate(model, X[0], t)
    (100.0 * torch.mean((pred[1:] - X[1:]) ** 2)).backward()
    return time.perf_counter() - t0


def run(quick: bool = False) -> list[dict]:
    from controlml.sanode import SANODE, VanillaNODE, authors_baseline, ode_data

    torch.set_num_threads(1)
    D = ode_data("pendulum", n_grid=11 if quick else 21, num_times=101, random_state=0)
    epochs = 20 if quick else 300
    target = 1.0 if quick else 0.5
    models = {
        "SA-NODE P=100": (SANODE(2, 100, random_state=0), 1e-2),
        "vanilla 10x12 (equal size)": (VanillaNODE.equal_size(SANODE(2, 100), 10, random_state=0),
                                       1e-2),
        "authors' vanilla 101x1000": (authors_baseline(random_state=0), 1e-3),
    }
    rows, base = [], None
    for name, (m, lr) in models.items():
        secs, err, reached = _train(m, D, epochs, lr, target)
        if base is None:
            base = secs
        rows.append({"case": "equal epochs", "model": name, "params": m.num_parameters,
                     "epochs": epochs, "train_s": round(secs, 2),
                     "s_per_epoch": round(secs / epochs, 4), "time_vs_SA": round(secs / base, 2),
                     "test_max_error": round(err, 4),
                     f"time_to_err<={target}": round(reached, 2) if np.isfinite(reached) else "never"})
    m = SANODE(2, 100, random_state=0)
    n_loop = 1
    loop = min(_loop_epoch(m, D) for _ in range(n_loop))
    batched = min(_batched_epoch(m, D) for _ in range(3))
    rows.append({"case": "batched vs loop", "model": "SA-NODE P=100",
                 "trajectories": len(D.train), "batched_s_per_epoch": round(batched, 4),
                 "loop_s_per_epoch": round(loop, 3), "speedup": round(loop / batched, 1)})
    return rows

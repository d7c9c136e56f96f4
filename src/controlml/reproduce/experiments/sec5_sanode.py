"""Sec. 5, SA-NODE item (eq. (5.2)): non-autonomous flows, the rate in P, transport equations."""

from __future__ import annotations

import numpy as np

from controlml.reproduce import experiment
from controlml.reproduce.experiments._threads import single_threaded

_SA_CAPTION = (
    "SA-NODE (5.2): x' = W σ(A x + β t + b) with time-independent coefficients (W, A, β, b) in "
    "R^{d×P} × R^{P×d} × R^P × R^P; the sole source of time dependence is β t inside the "
    "activation. This ansatz enables the efficient approximation of the dynamics of general "
    "finite-dimensional nonautonomous systems and significantly diminishes the computational cost "
    "of training."
)




def _data(ctx, system, k):
    """The authors' data (21 x 21 grid, T = 5, 101 times; quick: 11 x 11), every other time.

    Training and errors use t = 0, 0.1, ..., 5 (Euler dt = 0.1, as the authors' transport
    demos and our prototype), which halves the cost of an epoch.
    """
    from dataclasses import replace

    from controlml.sanode import ode_data

    D = ode_data(system, n_grid=ctx.size(21, 11), num_times=101, random_state=ctx.rng(k))
    return replace(D, t=D.t[::2], train=D.train[:, ::2], test=D.test[:, ::2])


@experiment("sa-node-ode", section="5",
            title="SA-NODE against an equal-size vanilla NODE on the authors' four systems",
            caption=_SA_CAPTION)
@single_threaded
def _sa_node_ode(ctx):
    from controlml.plotting.sanode import plot_phase_portraits
    from controlml.sanode import NON_AUTONOMOUS, SANODE, SYSTEMS, VanillaNODE, fit_many

    P, pieces = 100, 10
    epochs = ctx.size(800, 150)
    data = [_data(ctx, s, k) for k, s in enumerate(SYSTEMS)]
    t = data[0].t
    sa = [SANODE(2, P, random_state=ctx.rng(10 + k)) for k in range(len(SYSTEMS))]
    va = [VanillaNODE.equal_size(sa[0], pieces, T=5.0, random_state=ctx.rng(20 + k))
          for k in range(len(SYSTEMS))]
    fits = {}
    for name, models in ctx.iterate((("SA-NODE", sa), ("vanilla NODE", va)), "models"):
        fits[name] = fit_many([D.train for D in data], t, models=models,
                              tests=[D.test for D in data], epochs=epochs, lr=1e-2,
                              progress=ctx.progress)
    n_sa, n_va = sa[0].num_parameters, va[0].num_parameters
    rows = ["| system | SA-NODE test max / end | vanilla test max / end | SA train max (init) |",
            "|---|---|---|---|"]
    for k, s in enumerate(SYSTEMS):
        a, v = fits["SA-NODE"][k], fits["vanilla NODE"][k]
        rows.append(f"| {s} | {a.test_max_error:.3f} / {a.test_end_error:.3f} | "
                    f"{v.test_max_error:.3f} / {v.test_end_error:.3f} | "
                    f"{a.train_max_error:.3f} ({a.initial_train_max_error:.2f}) |")
    ctx.note(f"SA-NODE (5.2) with P = {P} ({n_sa} parameters) against the vanilla NODE (3.3) with "
             f"{pieces} constant pieces of width {va[0].P} ({n_va} parameters); {len(data[0].train)} "
             f"training / {len(data[0].test)} test trajectories from a "
             f"{ctx.size(21, 11)}² grid on [-2, 2]², T = 5, generated at 101 times by SciPy DOP853 (rtol "
             f"1e-10), trained and measured on every other one ({len(t)} times); one Euler step per sample interval, Adam lr 1e-2 (x0.8 every tenth), "
             f"{epochs} full-batch epochs, loss 100·MSE + 1e-4·Barron norm; the four systems of "
             "each model are trained as one batched module (identical to separate fits). Training "
             f"time (4 systems together): SA-NODE {fits['SA-NODE'][0].train_time_s:.1f} s, vanilla "
             f"{fits['vanilla NODE'][0].train_time_s:.1f} s. Errors as the authors: max over t of "
             "the mean Euclidean error, and the same at T.\n" + "\n".join(rows))
    ctx.note("The authors compare with a vanilla NODE of 505,000 parameters (101 pieces of width "
             "1000), fifty times larger than their SA-NODE: here both models have the same size; "
             "the large baseline is timed in benchmarks/bench_sanode.py.")
    for k, s in enumerate(SYSTEMS):
        a, v = fits["SA-NODE"][k], fits["vanilla NODE"][k]
        ok = all(f.status == "ok" and f.train_max_error < f.initial_train_max_error
                 for f in (a, v))
        ctx.check(f"{s}: both fits finish and reduce the train max error (initial / final)",
                  "status ok, ratio > 1",
                  f"SA {a.initial_train_max_error / a.train_max_error:.1f}x, vanilla "
                  f"{v.initial_train_max_error / v.train_max_error:.1f}x", ok)
        if s in NON_AUTONOMOUS:
            ctx.check(f"{s} (non-autonomous): SA-NODE test max error <= vanilla NODE's at equal "
                      f"size ({n_sa} parameters)", "SA <= vanilla (prototype Duffing 0.071 vs 1.91)",
                      f"{a.test_max_error:.3f} vs {v.test_max_error:.3f}",
                      a.test_max_error <= v.test_max_error)
    # phase portraits of a few test trajectories
    true, learned, curves = {}, {"SA-NODE": {}, "vanilla NODE": {}}, {"SA-NODE": {}, "vanilla NODE": {}}
    for k, (s, D) in enumerate(zip(SYSTEMS, data, strict=True)):
        idx = np.linspace(0, len(D.test) - 1, 6).astype(int)
        true[s] = D.test[idx]
        for name in learned:
            learned[name][s] = fits[name][k].predict(D.test[idx, 0], t)
            curves[name][s] = fits[name][k].test_curve
    fig = plot_phase_portraits(true, learned, t, curves)
    ctx.figure(fig, "Learned (dashed) against true (grey) test trajectories of the four systems "
               "(pendulum, forced Duffing, damped linear oscillator, (t - y, x - t)); top: SA-NODE, "
               f"middle: the vanilla NODE of the same size ({n_sa} parameters); bottom: mean test "
               "error against t.")


@experiment("sa-node-rate", section="5",
            title="SA-NODE: error against the number of neurons P (the O(P^-1/2) bound)",
            caption="The SA-NODE approximates the flow of a nonautonomous system on a finite "
                    "horizon at rate O(P^{-1/2}) in the number P of neurons (an upper bound under "
                    "Barron/Sobolev regularity, [li2024universal]).")
@single_threaded
def _sa_node_rate(ctx):
    from controlml.plotting.sanode import plot_rate
    from controlml.sanode import SANODE, fit_sanode, ode_data

    Ps = ctx.size((25, 50, 100, 200, 400), (10, 40, 160))
    epochs = ctx.size(300, 120)
    # every other sample of the 101-time data: Euler dt = 0.1 (halves the cost)
    D = ode_data("duffing", n_grid=ctx.size(21, 9), num_times=101, random_state=ctx.rng(0))
    sub = slice(None, None, 2)
    t, train, test = D.t[sub], D.train[:, sub], D.test[:, sub]
    errs, tr_errs, secs = [], [], []
    for k, P in enumerate(ctx.iterate(Ps, "P")):
        fit = fit_sanode(train, t, model=SANODE(2, P, random_state=ctx.rng(10 + k)), test=test,
                         epochs=epochs, lr=1e-2, progress=False)
        errs.append(fit.test_max_error)
        tr_errs.append(fit.train_max_error)
        secs.append(fit.train_time_s)
    slope, intercept = np.polyfit(np.log(Ps), np.log(errs), 1)
    ctx.note(f"Forced Duffing x'' = x - x³ + 0.1 cos πt, {len(train)} training / {len(test)} test "
             f"trajectories, {len(t)} times (Euler dt = {t[1] - t[0]:g}), {epochs} Adam epochs "
             "(lr 1e-2) per P; test max error per P: "
             + ", ".join(f"P = {p}: {e:.4f} (train {r:.4f}, {s:.1f} s)"
                         for p, e, r, s in zip(Ps, errs, tr_errs, secs, strict=True))
             + ". The paper's rate is an upper bound for the best approximation; at a fixed "
             "epoch budget the measured slope mixes approximation and optimisation errors.")
    ctx.check("test max error decreases from the smallest to the largest P (fitted log-log slope "
              "< 0)", "slope -1/2 (upper bound)", f"slope {slope:.2f}; "
              + ", ".join(f"{e:.3f}" for e in errs), slope < 0 and errs[-1] < errs[0])
    fig = plot_rate(Ps, errs, slope, intercept, label="test max error (Duffing)")
    ctx.figure(fig, f"SA-NODE test max error against P (forced Duffing), fitted slope {slope:.2f} "
               "beside the paper's P^(-1/2).")


def _euler_reference(field, z0, Y, tau, dt=0.1):
    """The authors' 'exact' solution: backward characteristics by explicit Euler with dt."""
    from controlml.sanode import transport_field

    f, div = transport_field(field)
    n = max(1, int(round(tau / dt)))
    h = tau / n
    X, L = Y.copy(), np.zeros(Y.shape[0])
    for k in range(n):
        s = tau - k * h
        L -= h * div(s, X)
        X = X - h * f(s, X)
    return z0(X) * np.exp(L)


@experiment("sa-node-transport", section="5",
            title="SA-NODE for linear transport equations through the characteristics",
            caption="Motivated by the classical connection between transport equations and their "
                    "characteristic ODEs, SA-NODEs address linear transport equations arising in "
                    "fluid mixing: ρ_t + div(f ρ) = 0 is learned from the augmented system "
                    "x' = f_θ(x, t), z' = -(div f_θ) z along the characteristics.")
@single_threaded
def _sa_node_transport(ctx):
    from controlml.plotting.sanode import plot_transport
    from controlml.sanode import (
        fit_transport,
        initial_density,
        relative_l1,
        transport_data,
        transport_reference,
        transport_solution,
    )

    times = ctx.size([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 3.0, 5.0])
    n_grid = ctx.size(81, 41)
    for k, field in enumerate(ctx.iterate(("sin", "doswell"), "fields")):
        D = transport_data(field, spacing=ctx.size(_TR["spacing"], 1.25), num_times=51)
        fit = fit_transport(D, P=ctx.size(_TR["P"], 40), epochs=ctx.size(_TR["epochs"], 80),
                            lr=_TR["lr"], z_weight=_TR["z_weight"], random_state=ctx.rng(k),
                            progress=ctx.progress)
        gg = np.linspace(-D.box, D.box, n_grid)
        GX, GY = np.meshgrid(gg, gg)
        Y = np.column_stack([GX.ravel(), GY.ravel()])
        label = {"sin": "f = (sin x, sin y)/(1 + t²)", "doswell": "Doswell vortex"}[field]
        rows = []
        for which, test in (("training", False), ("test", True)):
            z0 = initial_density(field, test=test)
            ref = transport_reference(field, z0, Y, times)
            learned = transport_solution(fit.model, z0, Y, times, step_size=0.05)
            err = relative_l1(learned, ref)
            still = relative_l1(np.broadcast_to(z0(Y), ref.shape), ref)
            rows.append((which, err, still))
            if test:
                euler = np.stack([_euler_reference(field, z0, Y, s) for s in times])
                e_euler = relative_l1(euler, ref)
                sel = [0, len(times) // 2, len(times) - 1]
                fig = plot_transport((-D.box, D.box, -D.box, D.box), [times[i] for i in sel],
                                     [ref[i].reshape(n_grid, n_grid) for i in sel],
                                     [learned[i].reshape(n_grid, n_grid) for i in sel],
                                     np.asarray(times), err, f"{label}: test density")
                ctx.figure(fig, f"{label}: reference (SciPy DOP853, rtol 1e-10, backward "
                           "characteristics) against the SA-NODE solution for the test initial "
                           "density, and the relative L1 error against t.", tag=field)
        ctx.note(f"{label}: {D.trajectories.shape[0]} characteristics (grid spacing "
                 f"{ctx.size(_TR['spacing'], 1.25)}), 51 times, SA-NODE P = {fit.model.P} "
                 f"(sigmoid), {len(fit.loss_history)} epochs, lr {_TR['lr']:g}, z weight "
                 f"{_TR['z_weight']:g}, {fit.train_time_s:.1f} s; x error "
                 f"{fit.initial_x_error:.3f} -> {fit.x_error:.3f}, z error "
                 f"{fit.initial_z_error:.3f} -> {fit.z_error:.3f}. Relative L1 error on a "
                 f"{n_grid}² grid at t = {times}: "
                 + "; ".join(f"{w} density: SA-NODE {np.round(e, 3).tolist()}, z0 left in place "
                             f"{np.round(s, 3).tolist()}" for w, e, s in rows)
                 + f". The authors' reference (Euler, dt = 0.1) is itself off by "
                 f"{np.round(e_euler, 4).tolist()} (test density).")
        ctx.check(f"{label}: training finishes and cuts the loss at least 10x", "status ok, >= 10x",
                  f"{fit.status}, {fit.loss_history[0] / np.nanmin(fit.loss_history):.1f}x",
                  fit.status == "ok" and np.nanmin(fit.loss_history) <= fit.loss_history[0] / 10)
        err_test, still_test = rows[1][1], rows[1][2]
        ctx.check(f"{label}: test-density solution at t = {times[-1]:g} closer to the reference "
                  "than the initial density left in place (relative L1)",
                  "SA-NODE < no transport", f"{err_test[-1]:.3f} vs {still_test[-1]:.3f}",
                  err_test[-1] < still_test[-1])


#: sizes of the full transport run
# (z weight 1 rather than the authors' 10 and lr 3e-2: at this epoch budget, 300 against their
# 50,000, the positions do not train with weight 10; measured on the sin field)
_TR = {"spacing": 0.8, "P": 100, "epochs": 300, "lr": 3e-2, "z_weight": 1.0}

"""Sec. 5, MLP item (eq. (5.1)): narrow deep ReLU MLPs as simultaneous control.

Hernández & Zuazua (arXiv 2409.06555): exact classification with width 2 and depth
2N + 4M - 1, universal approximation with width d + 1, norm bounds for trained networks.
"""

from __future__ import annotations

import time

import numpy as np

from controlml.reproduce import experiment
from controlml.reproduce.experiments._threads import single_threaded

_EQ51 = ("Multilayer perceptrons x^{k+1} = σ(A^k x^k + b^k), k ∈ [L] (5.1): constructive methods "
         "provide explicit parameter values, layer dimensions d_k and depths required for exact "
         "interpolation, together with the corresponding bounds [Hernandez2024Classification].")



def _clouds(N: int, d: int, M: int, rng: np.random.Generator, spread: float = 2.0):
    """M Gaussian classes in R^d: unit clouds around centres ~ N(0, spread^2 I)."""
    centres = spread * rng.standard_normal((M, d))
    y = rng.integers(0, M, N)
    return centres[y] + rng.standard_normal((N, d)), y


@experiment("mlp-classify", section="5",
            title="Exact classification by width-2 ReLU MLPs: depth against N, layer by layer",
            caption=_EQ51)
@single_threaded
def _classify(ctx):
    from controlml.mlp import classify_fixed_direction, classify_narrow
    from controlml.plotting.mlp import plot_depth_vs_n, plot_layers

    Ns = ctx.size((50, 100, 200, 400, 800), (40, 80, 160))
    rows = []
    exact, widths, under_bound, under_base, base_fail = True, True, True, True, 0
    jobs = [(d, M, N) for d in (2, 10) for M in (2, 3, 5) for N in Ns]
    pools = {(d, M): _clouds(max(Ns), d, M, ctx.rng(100 * d + M)) for d in (2, 10) for M in (2, 3, 5)}
    t0 = time.perf_counter()
    for k, (d, M, N) in enumerate(ctx.iterate(jobs, "datasets")):
        X, y = pools[(d, M)][0][:N], pools[(d, M)][1][:N]   # nested data sets along N
        res = classify_narrow(X, y, random_state=ctx.rng(1000 + k))
        try:
            base = classify_fixed_direction(X, y, random_state=ctx.rng(1000 + k)).depth
        except ValueError:
            base, base_fail = np.nan, base_fail + 1
        exact &= bool(np.array_equal(res.network.predict(X), y))
        widths &= res.max_width <= 2
        under_bound &= res.depth <= res.bound
        under_base &= not (res.depth > base)
        rows.append({"d": d, "M": M, "N": N, "depth": res.depth, "baseline": base,
                     "bound": res.bound, "runs": res.num_runs, "margin": res.margin})
    elapsed = time.perf_counter() - t0
    ctx.check("exact classification: network.predict(X) == labels on every data set "
              f"({len(rows)} sets, d ∈ {{2, 10}}, M ∈ {{2, 3, 5}})", "exact", "exact" if exact else
              "errors", exact)
    ctx.check("hidden width ≤ 2", 2, max(2 if widths else 3, 2), widths)
    worst = max(r["depth"] / r["bound"] for r in rows)
    ctx.check("depth ≤ 2N + 4M − 1 (largest depth / bound)", "≤ 1", round(worst, 3), under_bound)
    ratio = np.nanmean([r["depth"] / r["baseline"] for r in rows])
    ctx.check("our depth ≤ the one-fixed-direction construction's on the same data "
              "(mean ratio ours / fixed)", "≤ 1 on every set", round(float(ratio), 3), under_base)
    margin = min(r["margin"] for r in rows)
    ctx.check("margin between classes at the output, certified in float64 (exact: 1)", "1",
              round(margin, 9), margin > 0.999)
    ctx.figure(plot_depth_vs_n(rows),
               "Depth L (affine layers) of the explicit width-2 classifier against N for M = 2, 3, 5 "
               "classes (Gaussian clouds, nested in N) in d = 2 and d = 10: ours (search over projections), "
               "the one-fixed-direction construction on the same data, and the paper's 2N + 4M − 1.",
               tag="depth")
    table = ["| d | M | N | runs K | depth (ours) | fixed direction | 2N+4M−1 |", "|---|---|---|---|---|---|---|"]
    table += [f"| {r['d']} | {r['M']} | {r['N']} | {r['runs']} | {r['depth']} | {r['baseline']} | "
              f"{r['bound']} |" for r in rows]
    ctx.note("Depth counts the affine maps (A^k, b^k) of (5.1), the read-out included; ours is 2K "
             f"for K label runs along the chosen projection. {len(rows)} constructions in "
             f"{elapsed:.1f} s.\n" + "\n".join(table))
    if base_fail:
        ctx.note(f"The fixed direction could not separate {base_fail} data set(s) (coinciding "
                 "projections); those rows show NaN.")

    # layer-by-layer figure on a small 2-D, 3-class data set
    from sklearn.datasets import make_moons

    Xm, ym = make_moons(ctx.size(36, 24), noise=0.08, random_state=int(ctx.rng(7).integers(1 << 30)))
    ym = np.where((Xm[:, 0] > 1.2) & (ym == 1), 2, ym)
    res = classify_narrow(Xm, ym, random_state=ctx.rng(8))
    _, states = res.network(Xm, return_hidden=True)
    ok = bool(np.array_equal(res.network.predict(Xm), ym))
    ctx.check("two moons with a third class: the output is the class code of every point",
              "exact", "exact" if ok else "errors", ok)
    ctx.figure(plot_layers(Xm, ym, states, max_panels=ctx.size(12, 8)),
               f"A 2-D data set ({Xm.shape[0]} points, 3 classes) pushed through the width-2 network "
               f"(depth {res.depth}, bound {res.bound}): each panel is a layer's image (h1, h2); "
               "runs of the sorted projection are collapsed onto their class codes one by one "
               "until the output is the code of the class.", tag="layers")


def _smooth_target(X):
    return 0.5 + np.sin(2 * np.pi * X[:, 0]) * np.cos(np.pi * X[:, -1])


def _rough_target(X):
    return np.sqrt(np.linalg.norm(X - 0.3, axis=1))


@experiment("mlp-uat", section="5",
            title="Universal approximation by width-(d+1) ReLU MLPs: L^2 error against depth",
            caption="ReLU MLPs of fixed width d + 1 are dense in L^p(Ω) (Ω a bounded domain, "
                    "1 ≤ p < ∞), with explicit depth estimates for W^{1,p} targets "
                    "[Hernandez2024Classification].")
@single_threaded
def _uat(ctx):
    from controlml.mlp import approximate_narrow, uat_depth
    from controlml.plotting.mlp import plot_uat

    grids = {1: ctx.size((4, 8, 16, 32, 64, 128, 256), (4, 8, 16, 32)),
             2: ctx.size((2, 4, 8, 16, 32), (2, 4, 8))}
    targets = {"smooth: 1/2 + sin(2πx₁)cos(πx_d)": _smooth_target,
               "non-smooth: √|x − 0.3|": _rough_target}
    curves, rows = {}, []
    t0 = time.perf_counter()
    for d, ns in grids.items():
        for tname, f in targets.items():
            L, E = [], []
            for n in ctx.iterate(ns, f"d={d} {tname[:10]}"):
                r = approximate_narrow(f, domain=[(0.0, 1.0)] * d, depth=uat_depth(n, d),
                                       p=2, n_quad=ctx.size(20000, 4000))
                L.append(r.depth)
                E.append(r.error)
                rows.append((d, tname, n, r.depth, r.max_width, r.error, r.error_piecewise,
                             r.deviation))
            slope = float(np.polyfit(np.log(L), np.log(E), 1)[0])
            curves[f"d = {d}, {tname}"] = {"depth": L, "error": E, "rate": 1.0 / d}
            ctx.check(f"d = {d}, {tname}: L² error falls like depth^(−1/d) (fitted slope of "
                      "log error vs log depth; paper: depth O(ε^(−d)) for W^{1,p} targets)",
                      round(-1.0 / d, 3), round(slope, 3), slope <= -0.8 / d)
    elapsed = time.perf_counter() - t0
    widths = all(r[4] == r[0] + 1 for r in rows)
    ctx.check("every network has width d + 1", "d + 1", "d + 1" if widths else "other", widths)
    dev = max(r[7] for r in rows)
    ctx.check("the network equals the piecewise-constant interpolant off the slabs "
              "(largest L² deviation, measured)", "0 (up to slabs of measure d·η)",
              float(f"{dev:.2g}"), dev < 1e-5)
    ctx.figure(plot_uat(curves),
               "L² error of the explicit width-(d+1) ReLU MLP against its depth, for a smooth and a "
               "non-smooth target on [0, 1]^d, d = 1, 2 (dotted: the rate L^(−1/d) of a "
               "W^{1,p} target).", tag="rate")
    table = ["| d | target | n cells/dim | depth | width | L² error | ‖f − f_h‖ |",
             "|---|---|---|---|---|---|---|"]
    table += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]:.3e} | {r[6]:.3e} |" for r in rows]
    ctx.note("Construction: quantise coordinates 2..d with the width-2 collapse gadget, run the "
             "cells in lexicographic order along one scalar, collapse each cell core onto the "
             "target's value at its centre (slabs of relative width η around the cell faces are "
             "transition zones). The rate compared with is our reading of the cited paper's "
             "depth estimate for W^{1,p} targets (depth ∝ ε^(−d), i.e. error ∝ L^(−1/d)); the "
             "paper's exact constants were not available offline. "
             f"{len(rows)} networks in {elapsed:.1f} s.\n" + "\n".join(table))


@experiment("mlp-training", section="5",
            title="Norm bounds for regularised training of width-2 MLPs; exactness as λ → 0",
            caption="The explicit constructions yield uniform bounds on the parameter norms and "
                    "upper estimates for minimisers of regularised training; as the "
                    "regularisation vanishes, trained networks converge to exact classifiers "
                    "[Hernandez2024Classification, v2].")
@single_threaded
def _training(ctx):
    from controlml.mlp import classify_narrow, train_narrow
    from controlml.plotting.mlp import plot_training

    N = ctx.size(30, 20)
    X, y = _clouds(N, 2, 3, ctx.rng(0), spread=1.5)
    cons = classify_narrow(X, y, random_state=ctx.rng(1))
    lams = ctx.size((1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 1e-4, 1e-6, 1e-8), (1e-1, 1e-2, 1e-6))
    steps = ctx.size(150, 40)
    res_c, res_r = [], []
    for k, lam in enumerate(ctx.iterate(lams, "λ")):
        res_c.append(train_narrow(X, y, lam=lam, init="construction", steps=steps,
                                  construction=cons, random_state=ctx.rng(10 + k)))
        res_r.append(train_narrow(X, y, lam=lam, init="random", steps=steps,
                                  construction=cons, random_state=ctx.rng(50 + k)))
    B = res_c[0].bound
    raw = res_c[0].construction_norm
    lam_c = res_c[0].lam_critical
    ctx.check("balanced construction: same map, smaller norm (‖θ*‖ as built → balanced)",
              round(raw, 2), round(B, 3), B <= raw + 1e-9)
    below = all(r.objective <= r.objective_bound * (1 + 1e-12) for r in res_c)
    norm_ok = all(r.norm <= B * (1 + 1e-9) for r in res_c)
    ctx.check("trained from the construction: J_λ(θ) ≤ J_λ(θ*) for every λ (so θ qualifies for "
              "the minimiser bound)", "≤ J_λ(θ*)", "yes" if below else "no", below)
    ctx.check("norm bound: ‖θ_λ‖ ≤ ‖θ*‖ (largest trained norm / bound over λ)", "≤ 1",
              round(max(r.norm for r in res_c) / B, 4), norm_ok)
    loss_ok = all(r.loss <= r.lam * B ** 2 * (1 + 1e-9) + 1e-12 for r in res_c)
    ctx.check("loss bound: training loss ≤ λ‖θ*‖² for every λ (largest ratio)", "≤ 1",
              round(max(r.loss / (r.lam * B ** 2) for r in res_c), 4), loss_ok)
    small = [r.accuracy for r in res_c if r.lam <= lam_c]
    acc_last = res_c[-1].accuracy
    ctx.check(f"λ below λ_c = 1/(4N‖θ*‖²) = {lam_c:.2g}: training accuracy 1 (theory: exact)",
              1.0, min(small) if small else acc_last, (min(small) if small else acc_last) == 1.0)
    accs = [r.accuracy for r in res_c]
    ctx.check("training accuracy → 1 as λ → 0 (accuracies from the largest to the smallest λ)",
              "→ 1", [round(a, 3) for a in accs], accs[-1] == 1.0 and accs[0] <= accs[-1])
    ctx.figure(plot_training(lams, {"trained from the construction": [r.norm for r in res_c],
                                    "trained from random init": [r.norm for r in res_r]}, B,
                             {"from the construction": accs,
                              "from random init": [r.accuracy for r in res_r]}, lam_c),
               f"Width-2 ReLU MLP of depth {cons.depth} on N = {N} points (3 classes, 2-D), trained "
               "with the mean squared error to the class codes + λ‖θ‖² (L-BFGS, float64). Left: "
               "trained norms against the bound (the balanced construction's norm). Right: "
               "training accuracy; exactness is guaranteed for minimisers below λ_c.", tag="norms")
    rows = ["| λ | init | ‖θ‖ | loss | J_λ | J_λ(θ*) | accuracy |", "|---|---|---|---|---|---|---|"]
    for r in res_c + res_r:
        rows.append(f"| {r.lam:.0e} | {r.init} | {r.norm:.3f} | {r.loss:.2e} | {r.objective:.2e} | "
                    f"{r.objective_bound:.2e} | {r.accuracy:.3f} |")
    stuck = sum(r.status == "above bound" for r in res_r)
    ctx.note(f"Construction depth {cons.depth} (K = {cons.num_runs} runs), construction norm "
             f"{raw:.1f}, balanced {B:.2f}. From a random (He) initialisation, {stuck} of "
             f"{len(res_r)} runs end above J_λ(θ*): they are not minimisers, so the theory does "
             "not apply to them, and at width 2 they typically collapse to a constant output "
             "(dead ReLUs). The bound is a statement about minimisers; starting from the "
             "construction guarantees the hypothesis.\n" + "\n".join(rows))

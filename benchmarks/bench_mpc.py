"""controlml.mpc against python-control 0.10 on the periodic heat equation; RBM-MPC vs MPC in 3-D.

1. Finite-horizon optimal control of the 100-state periodic heat equation (the authors'
   rbm-mpc ring, Crank--Nicolson, dt = 1) for horizons 15/30/60:
   ``control.optimal.solve_optimal_trajectory`` (SLSQP/BFGS on the stacked controls, the tool
   a Python user would pick) against :func:`controlml.mpc.solve_ocp` (Riccati and adjoint-CG),
   on the *same* discrete problem (python-control gets A_d = (I - A/2)^{-1}(I + A/2), B_d,
   integral cost dt Q, dt R and terminal cost dt Q/2, which is our trapezoidal cost up to the
   constant dt/2 x0^T Q x0), same run; ``max_abs_du`` compares the controls.
2. 10 closed-loop MPC steps (prediction 15, applied control 1 step):
   ``create_mpc_iosystem`` in a closed loop simulated by ``input_output_response`` against
   :func:`controlml.mpc.mpc`.  Our MPC clips its windows at T, so it runs T = 10 + 15 = 25
   (25 windows, the first 10 with the full 15-step prediction compared) and its time counts
   all 25 windows.
3. RBM-MPC against MPC on the 3-D heat equation (16^3 = 4096 states, 3 random link sets, one
   per step scaled by 3), both with the adjoint-CG solver and cached sparse LU factors:
   time per receding-horizon solve and closed-loop cost.
4. Guidance by repulsion: one evaluation of the evader-evader forces, full O(N^2) against
   random batches of size p (O(N p)), for N = 10^2, 10^3, 10^4.

python-control is a benchmark-only dependency (``pip install control``; the ``dev`` extra).
All on one BLAS thread.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from benchmarks._timing import best_time


def _python_control_rows(quick: bool) -> list[dict]:
    try:
        import control as ct
        import control.optimal as opt
    except ImportError:
        return [{"case": "python-control", "status": "skipped: pip install control"}]
    from controlml.mpc import Dynamics, heat_ring, mpc, solve_ocp

    n = 20 if quick else 100
    p = heat_ring(n=n)
    dt = p.dt
    Ad, Bd = Dynamics(p).dense(None)
    Q = p.Q.toarray() * dt
    R = p.R * dt
    sys_ = ct.ss(Ad, Bd, np.eye(n), 0, dt=1, outputs=[f"x[{i}]" for i in range(n)])
    c0 = 0.5 * dt * float(p.x0 @ p.Q @ p.x0)  # the x0 weight: python-control dt, ours dt/2
    rows = []
    for H in (15,) if quick else (15, 30, 60):
        pH = p.replace(T=float(H))
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = opt.solve_optimal_trajectory(
                sys_, np.arange(H + 1), p.x0, opt.quadratic_cost(sys_, Q, R),
                terminal_cost=opt.quadratic_cost(sys_, Q / 2, None), print_summary=False)
        t_pc = time.perf_counter() - t0
        t_ric, ric = _best(lambda pH=pH: solve_ocp(pH, "riccati"))
        t_adj, adj = _best(lambda pH=pH: solve_ocp(pH, "adjoint"))
        du = float(np.max(np.abs(res.inputs[0, :H] - ric.u[:, 0])))
        rows.append({
            "case": f"OCP ring n={n} horizon {H}", "python_control_s": t_pc,
            "pc_success": bool(res.success), "riccati_s": t_ric, "adjoint_s": t_adj,
            "ratio_riccati": t_pc / t_ric, "ratio_adjoint": t_pc / t_adj,
            "max_abs_du_pc_vs_riccati": du,
            "max_abs_du_adjoint_vs_riccati": float(np.max(np.abs(adj.u - ric.u))),
            "cost_pc": float(res.cost), "cost_ours": ric.cost + c0, "same_1e-6": du < 1e-6})
    # closed-loop MPC, 10 steps of 1, prediction 15
    steps, Hp = (1, 15) if quick else (10, 15)
    ocp = opt.OptimalControlProblem(sys_, np.arange(Hp + 1), opt.quadratic_cost(sys_, Q, R),
                                    terminal_cost=opt.quadratic_cost(sys_, Q / 2, None))
    ctrl = ocp.create_mpc_iosystem()
    clsys = ct.interconnect([sys_, ctrl], inplist=[], outlist=list(sys_.output_labels)
                            + list(ctrl.output_labels))
    X0 = np.concatenate([p.x0, np.zeros(ctrl.nstates)])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resp = ct.input_output_response(clsys, np.arange(steps + 1), 0, X0=X0)
    t_pc = time.perf_counter() - t0
    u_pc = resp.outputs[n, :steps]
    pm = p.replace(T=float(steps + Hp))
    t_ours, ours = _best(lambda: mpc(pm, prediction_horizon=Hp, control_horizon=1,
                                     progress=False))
    t_adj, oa = _best(lambda: mpc(pm, prediction_horizon=Hp, control_horizon=1,
                                  solver="adjoint", progress=False), repeat=1)
    du = float(np.max(np.abs(u_pc - ours.u[:steps, 0])))
    rows.append({
        "case": f"MPC ring n={n}, {steps} steps, prediction {Hp}", "python_control_s": t_pc,
        "riccati_s": t_ours, "adjoint_s": t_adj, "ratio_riccati": t_pc / t_ours,
        "ratio_adjoint": t_pc / t_adj, "max_abs_du_pc_vs_riccati": du,
        "max_abs_du_adjoint_vs_riccati": float(np.max(np.abs(oa.u - ours.u))),
        "same_1e-6": du < 1e-6})
    return rows


def _rbm_3d_rows(quick: bool) -> list[dict]:
    from controlml.mpc import RBM, Dynamics, heat3d, mpc

    n = 8 if quick else 16
    p = heat3d(n=n, random_state=0)
    kw = dict(prediction_horizon=0.5, control_horizon=0.125, solver="adjoint", progress=False,
              rtol=1e-8)
    dyn = Dynamics(p)
    t0 = time.perf_counter()
    full = mpc(p, dynamics=dyn, **kw)
    t_full = time.perf_counter() - t0
    t0 = time.perf_counter()
    rbm = mpc(p, rbm=RBM("one-part", p.dt), random_state=1, dynamics=dyn, **kw)
    t_rbm = time.perf_counter() - t0
    lu_full = dyn._lu[None]
    lus = [v for k, v in dyn._lu.items() if k is not None]
    return [{
        "case": f"3-D heat {n}^3 = {p.n} states, MPC T_p = 0.5, tau = 0.125, adjoint-CG",
        "mpc_s_per_step": full.seconds_per_step, "rbm_mpc_s_per_step": rbm.seconds_per_step,
        "ratio": full.seconds_per_step / rbm.seconds_per_step, "mpc_total_s": t_full,
        "rbm_total_s": t_rbm, "mpc_cost": full.cost, "rbm_mpc_cost": rbm.cost,
        "cost_rel_diff": abs(rbm.cost - full.cost) / full.cost,
        "nnz_LU_full": int(lu_full.L.nnz + lu_full.U.nnz),
        "nnz_LU_batch_mean": float(np.mean([lu.L.nnz + lu.U.nnz for lu in lus])),
        "cg_iterations_full": float(full.cg_iterations.mean()),
        "cg_iterations_rbm": float(rbm.cg_iterations.mean())}]


def _guidance_rows(quick: bool) -> list[dict]:
    try:
        from controlml.mpc import GuidanceModel
    except ImportError:
        return [{"case": "guidance", "status": "skipped: GuidanceModel not available"}]
    rows = []
    for N in (100, 1000) if quick else (100, 1000, 10_000):
        g = GuidanceModel(num_drivers=2, num_evaders=N, batch_size=2)
        rng = np.random.default_rng(0)
        X = g.initial_evaders(rng)
        t_full, F = _best(lambda g=g, X=X: g.evader_forces(X), repeat=1 if N > 1000 else 3)
        t_rbm, Fr = _best(lambda g=g, X=X, rng=rng: g.evader_forces(X, rng=rng), repeat=3)
        rows.append({"case": f"guidance evader-evader forces N={N}", "full_s": t_full,
                     "rbm_s": t_rbm, "ratio": t_full / t_rbm})
    return rows


def run(quick: bool = False) -> list[dict]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _python_control_rows(quick) + _rbm_3d_rows(quick) + _guidance_rows(quick)


def _best(f, repeat: int = 3) -> tuple[float, object]:
    """A warm-up call, then the best of ``repeat - 1`` timed runs (at least one)."""
    return best_time(f, repeat - 1, warmup=True)

"""Figures of Sec. 5 (MPC item): turnpike, MPC convergence, randomized splitting, RBM-MPC, guidance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["plot_turnpike", "plot_mpc_convergence", "plot_splitting", "plot_rbm_mpc",
           "plot_guidance"]


def plot_turnpike(profiles: Mapping[float, tuple[np.ndarray, np.ndarray]], Ts: np.ndarray,
                  mid_gap: np.ndarray, fb_gap: np.ndarray, fits: Mapping[str, tuple[float, float]],
                  tp=None):
    """Left: |x_T(t) - x_bar| for several T.  Middle: |x_T(T/2)| and |u_T(0) + K x_T(0)|
    against T with exponential fits (rate, log C).  Right (``tp``, a TurnpikeResult): a
    two-sided turnpike fit C (e^{-mu t} + e^{-mu (T - t)})."""
    import matplotlib.pyplot as plt

    ncol = 3 if tp is not None else 2
    fig, axes = plt.subplots(1, ncol, figsize=(5 * ncol, 4))
    ax = axes[0]
    for T, (t, g) in profiles.items():
        ax.semilogy(t, g, label=f"T = {T:g}")
    ax.set_xlabel("t")
    ax.set_ylabel(r"$\|x_T(t) - \bar x\|$")
    ax.set_title("finite-horizon optimal states")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.semilogy(Ts, mid_gap, "o", color="C0", label=r"$\|x_T(T/2)\|$")
    ax.semilogy(Ts, fb_gap, "s", color="C3", label=r"$\|u_T(0) + K x_T(0)\|$")
    for key, col in (("mid", "C0"), ("fb", "C3")):
        rate, logc = fits[key]
        ax.semilogy(Ts, np.exp(logc - rate * Ts), "--", color=col, lw=1,
                    label=f"fit: rate {rate:.3f}")
    ax.set_xlabel("horizon T")
    ax.set_title("turnpike: exponential in T")
    ax.legend(fontsize=8)
    if tp is not None:
        ax = axes[2]
        ax.semilogy(tp.t, tp.state_gap, color="C0", label=r"$\|x(t) - \bar x\|$")
        fit = tp.C * (np.exp(-tp.mu * tp.t) + np.exp(-tp.mu * (tp.t[-1] - tp.t)))
        ax.semilogy(tp.t, fit, "--", color="k", lw=1,
                    label=rf"$C(e^{{-\mu t}}+e^{{-\mu(T-t)}})$, $\mu$={tp.mu:.3f}")
        ax.set_xlabel("t")
        ax.set_title(f"tracking problem (spectral rate {tp.mu_spectral:.3f})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_mpc_convergence(Tp: np.ndarray, gap: np.ndarray, fit: tuple[float, float],
                         x_norms: Mapping[str, tuple[np.ndarray, np.ndarray]]):
    """Left: relative gap (J_MPC - J*)/J* against the prediction horizon.  Right: |x(t)|."""
    import matplotlib.pyplot as plt

    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 4))
    a0.semilogy(Tp, gap, "o-", label="MPC closed loop")
    rate, logc = fit
    a0.semilogy(Tp, np.exp(logc - rate * Tp), "--", color="k", lw=1, label=f"fit: rate {rate:.3f}")
    a0.set_xlabel("prediction horizon $T_p$")
    a0.set_ylabel(r"$(J_{MPC} - x_0^\top P x_0)/x_0^\top P x_0$")
    a0.legend(fontsize=8)
    for lab, (t, v) in x_norms.items():
        a1.plot(t, v, label=lab)
    a1.set_xlabel("t")
    a1.set_ylabel(r"$\|x(t)\|_{L^2}$")
    a1.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_splitting(h: np.ndarray, errors: Mapping[str, np.ndarray], slopes: Mapping[str, float],
                   samples: Sequence[np.ndarray] | None = None, t: np.ndarray | None = None,
                   ref: np.ndarray | None = None):
    """Left: RMS errors against h (log-log) with fitted slopes and a sqrt(h) guide.
    Right: optimal controls of a few draws against the full optimum."""
    import matplotlib.pyplot as plt

    ncol = 2 if samples is not None else 1
    fig, axes = plt.subplots(1, ncol, figsize=(5.2 * ncol, 4), squeeze=False)
    ax = axes[0, 0]
    for k, (lab, e) in enumerate(errors.items()):
        ax.loglog(h, e, "o-", color=f"C{k}", label=f"{lab} (slope {slopes[lab]:.2f})")
    first = next(iter(errors.values()))
    ax.loglog(h, first[-1] * np.sqrt(h / h[-1]), ":", color="gray", label=r"$\sqrt{h}$")
    ax.loglog(h, first[-1] * (h / h[-1]), "--", color="gray", lw=0.8, label="$h$")
    ax.set_xlabel("h")
    ax.set_ylabel("root-mean-square error over draws")
    ax.legend(fontsize=8)
    if samples is not None:
        ax = axes[0, 1]
        for u in samples:
            ax.plot(t, u, lw=0.7, alpha=0.7)
        ax.plot(t, ref, "k", lw=2, label="full model")
        ax.set_xlabel("t")
        ax.set_ylabel("u(t)")
        ax.set_title("optimal controls of random draws")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_rbm_mpc(h: np.ndarray, state_dist: np.ndarray, control_dist: np.ndarray,
                 cost_rel: np.ndarray, t: np.ndarray, norms: Mapping[str, np.ndarray],
                 u: Mapping[str, np.ndarray]):
    """Distances of RBM-MPC to MPC against h (mean over draws), |x(t)| and u(t) of one draw."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ax = axes[0]
    ax.plot(h, state_dist, "o-", label=r"max$_t\|x-x_{MPC}\|$")
    ax.plot(h, control_dist, "s-", label=r"$\|u-u_{MPC}\|_{L^2}$")
    ax.plot(h, 100 * cost_rel, "^-", label="cost difference (%)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("h")
    ax.legend(fontsize=8)
    for lab, v in norms.items():
        axes[1].plot(t, v, label=lab)
    axes[1].set_xlabel("t")
    axes[1].set_ylabel(r"$\|x(t)\|_{L^2}$")
    axes[1].legend(fontsize=8)
    tm = (t[:-1] + t[1:]) / 2
    for lab, v in u.items():
        axes[2].plot(tm, v, lw=1, label=lab)
    axes[2].set_xlabel("t")
    axes[2].set_ylabel("u(t)")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_guidance(evaders: np.ndarray, drivers: np.ndarray, target: np.ndarray, radius: float,
                  N: Sequence[int] | None = None, times: Mapping[str, Sequence[float]] | None = None):
    """Herd (evaders, (S, N, 2) snapshots), drivers (S, M, 2) paths, target disc;
    optionally wall time per interaction model against N."""
    import matplotlib.pyplot as plt

    ncol = 2 if times is not None else 1
    fig, axes = plt.subplots(1, ncol, figsize=(5.5 * ncol, 5), squeeze=False)
    ax = axes[0, 0]
    S = evaders.shape[0]
    for s in range(S):
        a = 0.15 + 0.85 * s / max(S - 1, 1)
        ax.scatter(evaders[s, :, 0], evaders[s, :, 1], s=2, color="tab:blue", alpha=a)
    for j in range(drivers.shape[1]):
        ax.plot(drivers[:, j, 0], drivers[:, j, 1], "-", color="tab:red", lw=1)
        ax.plot(drivers[-1, j, 0], drivers[-1, j, 1], "v", color="tab:red")
    ax.add_patch(plt.Circle(target, radius, fill=False, ls="--", color="green"))
    ax.plot(*target, "g*", ms=12)
    ax.set_aspect("equal")
    ax.set_title("evaders (blue, darker = later), drivers (red), target (green)")
    if times is not None:
        ax = axes[0, 1]
        for lab, v in times.items():
            ax.loglog(N, v, "o-", label=lab)
        ax.set_xlabel("number of evaders N")
        ax.set_ylabel("wall time (s)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

"""Figures of Sec. 4 (self-attention as clustering): Fig. 4.1, Thm 4.1 trajectories, tau -> 0,
and the parameter counts of exact sequence interpolation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_fig41", "plot_thm41", "plot_tau_limit", "plot_interpolation_counts"]


def plot_fig41(Z: np.ndarray, As: Sequence[np.ndarray], attended: Sequence[Sequence[int]], *,
               i: int = 0, titles: Sequence[str] | None = None):
    """Fig. 4.1: for each A, tokens Z (n, 2), the direction A z_i, the half-space
    :math:`\\{z: \\langle Az_i, z - z_i\\rangle \\ge 0\\}` (shaded) and the attended tokens C_i."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(As), figsize=(4.6 * len(As), 4.4))
    axes = np.atleast_1d(axes)
    lo, hi = Z.min(axis=0) - 1.0, Z.max(axis=0) + 1.0
    lo = np.minimum(lo, -0.5)
    for k, (ax, A, C) in enumerate(zip(axes, As, attended, strict=False)):
        a = A @ Z[i]
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
        inside = a[0] * (gx - Z[i, 0]) + a[1] * (gy - Z[i, 1]) >= 0
        ax.contourf(gx, gy, inside.astype(float), levels=[0.5, 1.5], colors=["#9ecae1"], alpha=0.45)
        # level line of the largest projection on A z_i
        top = max(float(Z[j] @ a) for j in range(len(Z)))
        t = np.linspace(-10, 10, 2)
        perp = np.array([-a[1], a[0]]) / np.linalg.norm(a)
        p0 = a * top / (a @ a)
        ax.plot(p0[0] + t * perp[0], p0[1] + t * perp[1], "--", color="0.4", lw=1,
                label=r"$\max_\ell\langle Az_i,z_\ell\rangle$")
        ax.annotate("", xy=Z[i] + 0.6 * a / np.linalg.norm(a), xytext=Z[i],
                    arrowprops=dict(arrowstyle="->", color="C3", lw=2))
        ax.text(*(Z[i] + 0.65 * a / np.linalg.norm(a)), rf"$Az_{{{i + 1}}}$", color="C3")
        for j, z in enumerate(Z):
            col = "C1" if j in C else ("C3" if j == i else "k")
            ax.plot(*z, "o", color=col, ms=9 if j in C else 6)
            ax.text(z[0] + 0.08, z[1] + 0.08, rf"$z_{{{j + 1}}}$")
        ax.plot(0, 0, "+", color="0.3")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        title = titles[k] if titles else f"A = {A.tolist()}"
        members = ", ".join(str(c + 1) for c in C)
        ax.set_title(title + rf":  $\mathcal{{C}}_{{{i + 1}}} = \{{{members}\}}$", fontsize=10)
    axes[0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_thm41(runs: Sequence[dict]):
    """Trajectories of the hardmax dynamics, leaders and predicted vs reached equilibria.

    Each run is a dict with ``trajectory`` (K+1, n, d) (d = 2 or 3), ``Z_star`` (n, d),
    ``leaders`` (indices), ``title`` and optionally ``reached`` (n, d) (default: the last layer), ``face_tokens`` (indices of the tokens whose
    predicted limit is a projection onto a face with two or more leaders).
    """
    import matplotlib.pyplot as plt

    k = len(runs)
    cols = min(k, 4)
    rows = int(np.ceil(k / cols))
    fig = plt.figure(figsize=(4.2 * cols, 4.0 * rows))
    for r, run in enumerate(runs):
        T, Zs, L = run["trajectory"], run["Z_star"], np.asarray(run["leaders"], dtype=int)
        d = T.shape[-1]
        ax = fig.add_subplot(rows, cols, r + 1, projection="3d" if d == 3 else None)
        for i in range(T.shape[1]):
            ax.plot(*[T[:, i, c] for c in range(d)], "-", color="0.6", lw=0.8)
        ax.plot(*[T[0, :, c] for c in range(d)], "o", color="C0", ms=4, label="Z(0)")
        Zr = np.asarray(run.get("reached", T[-1]))
        ax.plot(*[Zr[:, c] for c in range(d)], "x", color="C2", ms=8, label="reached")
        ft = np.asarray(run.get("face_tokens", np.setdiff1d(np.arange(T.shape[1]), L)), dtype=int)
        ax.plot(*[Zs[ft, c] for c in range(d)], "o", mfc="none", color="C1", ms=11,
                label="predicted: A-projection of 0 on a face")
        ax.plot(*[Zs[L, c] for c in range(d)], "*", color="C3", ms=13, label="leaders (predicted = reached)")
        ax.plot(*([0.0] * d), "+", color="k")
        ax.set_title(run["title"], fontsize=9)
        if d == 2:
            ax.set_aspect("equal")
    fig.axes[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def plot_tau_limit(taus: np.ndarray, dists: np.ndarray, one_layer: np.ndarray | None = None,
                   gap: float | None = None):
    """Distance between softmax and hardmax trajectories against tau (log-log), and, when given,
    the one-layer distance against 1/tau (semi-log) with the predicted slope -gap."""
    import matplotlib.pyplot as plt

    n = 2 if one_layer is not None else 1
    fig, axes = plt.subplots(1, n, figsize=(5.0 * n, 3.8))
    axes = np.atleast_1d(axes)
    floor = 1e-17
    axes[0].loglog(taus, np.maximum(dists, floor), "o-")
    axes[0].set_xlabel(r"$\tau$")
    axes[0].set_ylabel(r"$\max_{k,i}\|z_i^\tau(k) - z_i^0(k)\|$")
    axes[0].set_title("softmax (4.2) vs hardmax (4.3) trajectories")
    if one_layer is not None:
        ok = one_layer > 0
        axes[1].semilogy(1 / taus[ok], one_layer[ok], "o", label="one layer")
        if gap is not None and ok.any():
            x = 1 / taus[ok]
            c = np.log(one_layer[ok][0]) + gap * x[0]
            axes[1].semilogy(x, np.exp(c - gap * x), "--", label=r"slope $-g$ (score gap)")
        axes[1].set_xlabel(r"$1/\tau$")
        axes[1].legend(fontsize=8)
        axes[1].set_title(r"exponential rate $e^{-g/\tau}$")
    fig.tight_layout()
    return fig


def plot_interpolation_counts(ns, params_n, layers_n, dNm, params_Nm, bound_Nm=None):
    """Nonzero parameters against the input length n (flat) and against d * sum_j m^j (linear)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].semilogx(ns, params_n, "o-", label="nonzero parameters")
    axes[0].semilogx(ns, layers_n, "s-", label="layers")
    axes[0].set_xlabel("input length n")
    axes[0].set_yscale("log")
    axes[0].set_title("independent of n")
    axes[0].legend(fontsize=8)
    axes[1].plot(dNm, params_Nm, "o", label="ours")
    if len(dNm) > 1:
        c = np.polyfit(dNm, params_Nm, 1)
        xs = np.linspace(min(dNm), max(dNm), 10)
        axes[1].plot(xs, np.polyval(c, xs), "--", label=f"fit {c[0]:.1f} x + {c[1]:.0f}")
    if bound_Nm is not None:
        axes[1].plot(dNm, bound_Nm, "_", ms=10, color="C2", label="n-free bound of the construction")
    axes[1].set_xlabel(r"$d\sum_j m^j$")
    axes[1].set_ylabel("nonzero parameters")
    axes[1].set_title(r"linear in $d\,N\,m$")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig

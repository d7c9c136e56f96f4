"""Figures of Sec. 3.2: classification with few switches, UAT and autonomous fields."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _plt():
    import matplotlib.pyplot as plt

    return plt


def plot_switch_bars(ds: Sequence[int], authors: Sequence[float], series: dict[str, np.ndarray],
                     *, ours_bound: Sequence[float] | None = None, title: str = ""):
    """Bar chart of switches needed against d.

    ``series`` maps a name to an array (num_seeds, len(ds)); bars show the mean,
    error bars the min and max over seeds.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4))
    x = np.arange(len(ds))
    k = len(series) + 1
    wdt = 0.8 / k
    ax.bar(x - 0.4 + wdt / 2, authors, wdt, color="tab:green", label="authors' bound values")
    for i, (name, vals) in enumerate(series.items(), start=1):
        vals = np.asarray(vals, dtype=float)
        mean, lo, hi = vals.mean(axis=0), vals.min(axis=0), vals.max(axis=0)
        ax.bar(x - 0.4 + wdt * (i + 0.5), mean, wdt, yerr=[mean - lo, hi - mean], capsize=2, label=name)
    if ours_bound is not None:
        ax.plot(x, ours_bound, "k_", markersize=14, mew=2, label="our proved bound (clusters)")
    ax.set_xticks(x, [str(d) for d in ds])
    ax.set_xlabel("dimension d")
    ax.set_ylabel("switches L")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_probability(ks: np.ndarray, curves: dict[str, np.ndarray], mc: dict[str, tuple[np.ndarray, np.ndarray]],
                     *, title: str = ""):
    """P(L <= k) against k: formula curves (lines) and Monte Carlo estimates (markers with 2-sigma bars)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for (name, y), c in zip(curves.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3, strict=False):
        ax.plot(ks, y, "--" if name.startswith("authors") else "-", color=c, label=name)
        if name in mc:
            p, se = mc[name]
            ax.errorbar(ks, p, yerr=2 * se, fmt="o", color=c, ms=3, capsize=2)
    ax.set_xlabel("k")
    ax.set_ylabel(r"$P(L \leq k)$")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return fig


def plot_classification(X: np.ndarray, labels: np.ndarray, traj_t: np.ndarray, traj_X: np.ndarray,
                        *, title: str = ""):
    """Initial points and final positions of a 2-D classification flow (threshold x_d = 1)."""
    plt = _plt()
    fig, axs = plt.subplots(1, 2, figsize=(9, 4))
    cols = np.where(labels == 1, "tab:red", "tab:blue")
    axs[0].scatter(X[:, 0], X[:, 1], c=cols, s=12)
    axs[0].set_title("inputs")
    F = traj_X[-1]
    axs[1].scatter(F[:, 0], F[:, 1], c=cols, s=12)
    axs[1].axhline(1.0, color="k", lw=0.8)
    axs[1].set_yscale("symlog")
    axs[1].set_title(r"$\Phi_T(x_i)$ (class 1 above $x_d=1$)")
    fig.suptitle(title)
    return fig


def plot_error_curve(xs: np.ndarray, errs: dict[str, np.ndarray], *, xlabel: str, ylabel: str,
                     ref: dict[str, np.ndarray] | None = None, title: str = "", loglog: bool = True):
    """Errors against a size parameter, with optional reference curves (dashed)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, e in errs.items():
        ax.plot(xs, e, "o-", ms=4, label=name)
    for name, r in (ref or {}).items():
        ax.plot(xs, r, "--", label=name)
    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_tube_field(field, traj_X: np.ndarray | None = None, *, title: str = "", grid: int = 160):
    """Fig. 3.3: the paths gamma_i of a 2-D :class:`~controlml.node.TubeField`, its tubes (shaded
    by |V|, arrows of V along the paths) and optionally the trajectories traj_X (K, N, 2) of a
    fitted NODE (dashed)."""
    from ..errors import ParameterError

    if field.X.shape[1] != 2:
        raise ParameterError(f"plot_tube_field draws planar fields; this one has d = {field.X.shape[1]}. "
                             "Project the paths (field.path_points) yourself for d >= 3")
    if traj_X is not None and (np.ndim(traj_X) != 3 or np.shape(traj_X)[1:] != field.X.shape):
        raise ParameterError(f"traj_X must have shape (K, {field.X.shape[0]}, 2), the trajectory of "
                             f"every x_i; got {np.shape(traj_X)}")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    lo, hi = field.box
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    Z = np.c_[gx.ravel(), gy.ravel()]
    V = field(Z)
    speed = np.linalg.norm(V, axis=1).reshape(gx.shape)
    ax.contourf(gx, gy, np.ma.masked_less_equal(speed, 0.0), levels=12, cmap="Blues", alpha=0.7)
    arrow = 15.0 * float(np.max(field.lengths)) / field.T / max(float(np.max(hi - lo)), 1e-300)
    for i in range(field.X.shape[0]):  # arrows of V along each path (length ext/15 at the largest speed)
        Q = field.path_points(i, 14)[1:-1]
        F = field(Q)
        ax.quiver(Q[:, 0], Q[:, 1], F[:, 0], F[:, 1], color="0.25", width=0.004, angles="xy",
                  scale_units="xy", scale=arrow, zorder=3)
    cols = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i in range(field.X.shape[0]):
        c = cols[i % len(cols)]
        P = field.path_points(i, 400)
        ax.plot(P[:, 0], P[:, 1], "-", color=c, lw=1.5, label="paths $\\gamma_i$" if i == 0 else None)
        if traj_X is not None:
            ax.plot(traj_X[:, i, 0], traj_X[:, i, 1], "--", color="k", lw=1.0,
                    label="fitted width-P NODE" if i == 0 else None)
    ax.plot(field.X[:, 0], field.X[:, 1], "ko", ms=5, label="$x_i$")
    ax.plot(field.Y[:, 0], field.Y[:, 1], "r*", ms=9, label="$y_i$")
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return fig

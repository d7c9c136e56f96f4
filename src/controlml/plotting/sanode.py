"""Figures of Sec. 5 (SA-NODEs): phase portraits, error curves, rates, transported densities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["plot_phase_portraits", "plot_rate", "plot_transport"]


def plot_phase_portraits(true: Mapping[str, np.ndarray], learned: Mapping[str, Mapping[str, np.ndarray]],
                         t: np.ndarray, curves: Mapping[str, Mapping[str, np.ndarray]]):
    """Learned against true trajectories per system, and the mean error against time.

    Parameters
    ----------
    true : system -> array (n, M, 2)
        A few test trajectories.
    learned : model name -> system -> array (n, M, 2)
        The same trajectories predicted by each model (one row of panels per model).
    t : array (M,)
    curves : model name -> system -> array (M,)
        Mean Euclidean test error against time.
    """
    import matplotlib.pyplot as plt

    systems = list(true)
    models = list(learned)
    fig, axes = plt.subplots(len(models) + 1, len(systems),
                             figsize=(3.2 * len(systems), 3.0 * (len(models) + 1)), squeeze=False)
    colors = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    for j, s in enumerate(systems):
        for i, m in enumerate(models):
            ax = axes[i, j]
            for k in range(true[s].shape[0]):
                ax.plot(true[s][k, :, 0], true[s][k, :, 1], color="0.6", lw=2.2)
                ax.plot(learned[m][s][k, :, 0], learned[m][s][k, :, 1], "--",
                        color=colors[i % len(colors)], lw=1.2)
                ax.plot(*true[s][k, 0], "k.", ms=4)
            ax.set_title(f"{s}: {m}", fontsize=9)
            ax.set_aspect("equal", adjustable="datalim")
        ax = axes[-1, j]
        for i, m in enumerate(models):
            ax.semilogy(t, curves[m][s], color=colors[i % len(colors)], label=m)
        ax.set_xlabel("t")
        ax.set_title(f"{s}: mean test error", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_rate(P: Sequence[int], errors: Sequence[float], slope: float, intercept: float,
              label: str = "test max error"):
    """Error against the number of neurons P (log-log) with the fitted line and P^(-1/2)."""
    import matplotlib.pyplot as plt

    P = np.asarray(P, float)
    e = np.asarray(errors, float)
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    ax.loglog(P, e, "o-", label=label)
    ax.loglog(P, np.exp(intercept) * P**slope, "--", label=f"fit: slope {slope:.2f}")
    ax.loglog(P, e[0] * (P / P[0]) ** -0.5, ":", color="0.4", label="P^(-1/2) (paper's bound)")
    ax.set_xlabel("neurons P")
    ax.set_ylabel("error")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_transport(extent: tuple[float, float, float, float], times: Sequence[float],
                   reference: Sequence[np.ndarray], learned: Sequence[np.ndarray],
                   err_t: np.ndarray, err: np.ndarray, title: str):
    """Reference and learned densities at a few times (rows), and the relative L1 error vs t."""
    import matplotlib.pyplot as plt

    n = len(times)
    fig, axes = plt.subplots(2, n + 1, figsize=(2.9 * (n + 1), 5.6), squeeze=False)
    vmin = min(float(np.min(r)) for r in reference)
    vmax = max(float(np.max(r)) for r in reference)
    for j, tt in enumerate(times):
        for i, (img, name) in enumerate(((reference[j], "reference"), (learned[j], "SA-NODE"))):
            ax = axes[i, j]
            ax.imshow(img, origin="lower", extent=extent, vmin=vmin, vmax=vmax, cmap="viridis")
            ax.set_title(f"{name}, t = {tt:g}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    ax = axes[0, n]
    ax.plot(err_t, err, "o-")
    ax.set_xlabel("t")
    ax.set_title("relative L1 error", fontsize=9)
    axes[1, n].axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig

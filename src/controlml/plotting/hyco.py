"""Figures of Sec. 5 (HYCO): parameter error vs epoch, recovered coefficients, coverage study."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["plot_error_curves", "plot_coefficients", "plot_coverage"]

COLORS = {"HYCO": "#d62728", "physics-only": "#1f77b4", "PINN": "#2ca02c"}


def plot_error_curves(curves: Mapping[str, Sequence[np.ndarray]], *, title: str = "",
                      ax=None, logy: bool = True):
    """Median (line) and min-max band (shaded) of parameter-error trajectories per method.

    ``curves[name]`` is a list of (E + 1,) arrays, one per seed (equal lengths).
    """
    import matplotlib.pyplot as plt

    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, runs in curves.items():
        A = np.array([np.asarray(r, dtype=float) for r in runs])
        ep = np.arange(A.shape[1])
        c = COLORS.get(name)
        ax.plot(ep, np.nanmedian(A, 0), color=c, label=f"{name} (median of {A.shape[0]})")
        if A.shape[0] > 1:
            ax.fill_between(ep, np.nanmin(A, 0), np.nanmax(A, 0), color=c, alpha=0.18, lw=0)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("parameter error")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig if fig is not None else ax.figure


def plot_coefficients(coeffs: Mapping[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]],
                      *, lim: float = np.pi, n: int = 80, obs: np.ndarray | None = None,
                      names: tuple[str, str] = ("κ", "η")):
    """Two rows (the two coefficients) of heat maps, one column per entry of ``coeffs``.

    ``coeffs[label](P)`` returns both coefficients at points ``P`` (m, 2); ``obs`` (N, 2)
    marks the observation points.
    """
    import matplotlib.pyplot as plt

    g = np.linspace(-lim, lim, n)
    P = np.stack(np.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)
    vals = {k: f(P) for k, f in coeffs.items()}
    fig, axes = plt.subplots(2, len(coeffs), figsize=(3.0 * len(coeffs), 5.6), squeeze=False)
    for row in range(2):
        vmin = min(float(np.min(v[row])) for v in vals.values())
        vmax = max(float(np.max(v[row])) for v in vals.values())
        for col, (k, v) in enumerate(vals.items()):
            ax = axes[row, col]
            im = ax.imshow(v[row].reshape(n, n), origin="lower", extent=(-lim, lim, -lim, lim),
                           vmin=vmin, vmax=vmax, cmap="viridis")
            if obs is not None:
                ax.plot(obs[:, 0], obs[:, 1], "w.", ms=3)
            ax.set_title(f"{names[row]}: {k}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(im, ax=axes[row].tolist(), shrink=0.8)
    return fig


def plot_coverage(errors: Mapping[str, Mapping[str, Sequence[float]]], *,
                  paper: Mapping[str, Mapping[str, float]] | None = None):
    """Grouped bars: final parameter error per coverage (groups) and method (bars).

    ``errors[coverage][method]`` lists the runs' errors (bar = median, whiskers = min/max);
    ``paper[coverage][method]`` adds the authors' values as black ticks.
    """
    import matplotlib.pyplot as plt

    covs = list(errors)
    methods = list(next(iter(errors.values())))
    fig, ax = plt.subplots(figsize=(6, 3.8))
    w = 0.8 / len(methods)
    for j, m in enumerate(methods):
        xs = np.arange(len(covs)) + (j - (len(methods) - 1) / 2) * w
        med = [float(np.median(errors[c][m])) for c in covs]
        lo = [med[i] - float(np.min(errors[c][m])) for i, c in enumerate(covs)]
        hi = [float(np.max(errors[c][m])) - med[i] for i, c in enumerate(covs)]
        ax.bar(xs, med, w, color=COLORS.get(m), label=m, yerr=[lo, hi], capsize=3)
        if paper:
            for x, c in zip(xs, covs, strict=True):
                if m in paper.get(c, {}):
                    ax.plot([x - w / 2, x + w / 2], [paper[c][m]] * 2, "k-", lw=2)
    ax.set_xticks(np.arange(len(covs)))
    ax.set_xticklabels(covs)
    ax.set_ylabel("parameter error (authors' metric)")
    ax.legend(fontsize=8, title="black: authors' value", title_fontsize=7)
    return fig

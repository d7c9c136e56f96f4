"""Figures of Sec. 5 (narrow MLPs): depth against N, layer-by-layer images, UAT rates, training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["plot_depth_vs_n", "plot_layers", "plot_uat", "plot_training"]

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def plot_depth_vs_n(rows: Sequence[Mapping]):
    """Depth against N, one panel per input dimension d.

    ``rows``: dicts with keys ``d, M, N, depth, baseline, bound`` (baseline may be NaN).
    """
    import matplotlib.pyplot as plt

    ds = sorted({r["d"] for r in rows})
    Ms = sorted({r["M"] for r in rows})
    fig, axes = plt.subplots(1, len(ds), figsize=(5.2 * len(ds), 4.2), squeeze=False)
    for ax, d in zip(axes[0], ds, strict=True):
        for k, M in enumerate(Ms):
            sel = sorted((r for r in rows if r["d"] == d and r["M"] == M), key=lambda r: r["N"])
            if not sel:
                continue
            N = [r["N"] for r in sel]
            c = _COLORS[k % len(_COLORS)]
            ax.plot(N, [r["depth"] for r in sel], "o-", color=c, label=f"ours, M = {M}")
            ax.plot(N, [r["baseline"] for r in sel], "s--", color=c, alpha=0.6, mfc="none",
                    label=f"fixed direction, M = {M}")
            ax.plot(N, [r["bound"] for r in sel], ":", color=c, alpha=0.8,
                    label=f"2N + 4M - 1, M = {M}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (points)")
        ax.set_ylabel("depth L (affine layers)")
        ax.set_title(f"d = {d}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7, ncol=1)
    fig.tight_layout()
    return fig


def plot_layers(X: np.ndarray, y: np.ndarray, states: Sequence[np.ndarray], *, max_panels: int = 12):
    """Each layer's width-2 image of a 2-D data set, coloured by class.

    ``states``: ``[x^0, x^1, ..., x^L]`` from ``MLP.__call__(X, return_hidden=True)``.
    The last panel shows the scalar output against the class.
    """
    import matplotlib.pyplot as plt

    classes, yi = np.unique(y, return_inverse=True)
    L = len(states) - 1
    hidden = list(range(1, L))
    if len(hidden) > max_panels - 2:
        pick = np.unique(np.round(np.linspace(0, len(hidden) - 1, max_panels - 2)).astype(int))
        hidden = [hidden[i] for i in pick]
    panels = [0, *hidden, L]
    ncol = min(4, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol, 3.0 * nrow), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, k in zip(axes.flat, panels, strict=False):
        H = states[k]
        for c in range(classes.shape[0]):
            m = yi == c
            if k == L:
                ax.scatter(H[m, 0], np.full(m.sum(), c) + 0.05 * np.random.default_rng(c).standard_normal(m.sum()),
                           s=10, color=_COLORS[c % len(_COLORS)], label=str(classes[c]))
            else:
                ax.scatter(H[m, 0], H[m, 1], s=10, color=_COLORS[c % len(_COLORS)],
                           label=str(classes[c]))
        if k == 0:
            ax.set_title("input x", fontsize=9)
        elif k == L:
            ax.set_title(f"output (layer {L}): code", fontsize=9)
            ax.set_xlabel("network output")
            ax.set_ylabel("class")
        else:
            ax.set_title(f"layer {k}: (h1, h2)", fontsize=9)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_uat(curves: Mapping[str, Mapping[str, Sequence[float]]]):
    """Error against depth on log-log axes; ``curves[name] = {"depth": [...], "error": [...],
    "rate": r}`` (a reference line ``depth^-r`` is drawn through the first point)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 4.4))
    for k, (name, c) in enumerate(curves.items()):
        col = _COLORS[k % len(_COLORS)]
        L = np.asarray(c["depth"], float)
        e = np.asarray(c["error"], float)
        ax.loglog(L, e, "o-", color=col, label=name)
        if "rate" in c:
            ax.loglog(L, e[0] * (L / L[0]) ** (-c["rate"]), ":", color=col, alpha=0.7)
    ax.set_xlabel("depth L")
    ax.set_ylabel("L^p error")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("width d+1 ReLU MLP: error vs depth (dotted: paper rate L^(-1/d))", fontsize=9)
    fig.tight_layout()
    return fig


def plot_training(lams: Sequence[float], norms: Mapping[str, Sequence[float]], bound: float,
                  accuracy: Mapping[str, Sequence[float]], lam_c: float | None = None):
    """Trained parameter norms against the bound, and training accuracy, against lambda."""
    import matplotlib.pyplot as plt

    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4.2))
    lams = np.asarray(lams, float)
    for k, (name, v) in enumerate(norms.items()):
        a0.loglog(lams, v, "o-", color=_COLORS[k], label=name)
    a0.axhline(bound, color="k", ls="--", label="bound: balanced construction norm")
    a0.set_xlabel("λ")
    a0.set_ylabel("‖θ‖₂")
    a0.legend(fontsize=8)
    a0.grid(True, which="both", alpha=0.3)
    for k, (name, v) in enumerate(accuracy.items()):
        a1.semilogx(lams, v, "o-", color=_COLORS[k], label=name)
    if lam_c is not None:
        a1.axvline(lam_c, color="k", ls=":", label="λ_c = 1/(4N‖θ*‖²)")
    a1.set_xlabel("λ")
    a1.set_ylabel("training accuracy")
    a1.set_ylim(-0.02, 1.05)
    a1.legend(fontsize=8)
    a1.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig

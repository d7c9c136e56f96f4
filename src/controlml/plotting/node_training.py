"""Figures of Sec. 3.3: training against construction (the a-priori bound) and the turnpike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_training_bound", "plot_turnpike"]


def plot_training_bound(study):
    """Two panels for an :class:`~controlml.node.AprioriBoundStudy`.

    Left: training objective :math:`J_\\alpha` per epoch for every run, with the
    constructive value :math:`J_\\alpha(\\theta_c) = \\alpha K` as a dashed line per
    :math:`\\alpha`.  Right: :math:`\\|\\theta^*\\|^2_{BV}/K` of every trained control
    against :math:`\\alpha` (filled: :math:`J_\\alpha(\\theta^*) \\le \\alpha K`; open: not),
    with the bound (3.14) at 1.
    """
    import matplotlib.pyplot as plt

    alphas = sorted({r.alpha for r in study.runs})
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
    for j, a in enumerate(alphas):
        col = f"C{j}"
        for r in study.runs_for(a):
            ls = "-" if r.init == "random" else ":"
            h = np.asarray(r.history)
            if h.size:
                ax0.plot(np.arange(1, h.size + 1), h, ls, color=col, lw=1.0, alpha=0.8)
        ax0.axhline(study.runs_for(a)[0].constructive_objective, color=col, ls="--", lw=1.2,
                    label=f"alpha={a:.2g}: constructive alpha K")
    ax0.set_xscale("log")
    ax0.set_yscale("log")
    ax0.set_xlabel("epoch")
    ax0.set_ylabel("J_alpha (training)")
    ax0.set_title("training (solid: random starts, dotted: from the construction)")
    ax0.legend(fontsize=7)
    for j, a in enumerate(alphas):
        for r in study.runs_for(a):
            marker = "s" if r.init == "constructed" else "o"
            face = f"C{j}" if r.below_constructive else "none"
            ax1.scatter([a], [r.bv_norm_sq / study.K], marker=marker, facecolors=face,
                        edgecolors=f"C{j}", s=40, zorder=3)
    ax1.axhline(1.0, color="k", ls="--", lw=1.2, label="bound (3.14): ||theta*||^2_BV = K")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("alpha")
    ax1.set_ylabel("||theta*||^2_BV / K")
    ax1.set_title(f"K = {study.K:.3g} (square: constructed start; filled: J <= alpha K)")
    ax1.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_turnpike(results: Sequence):
    """Turnpike figure for a list of :class:`~controlml.node.TurnpikeResult` (growing T).

    Left: :math:`|\\theta(t) - \\bar\\theta|` per piece against :math:`t/T`, one curve per
    T (the middle window shaded).  Right: the tracking error
    :math:`(\\sum_i |x_i(t) - y_i|^2)^{1/2}` against :math:`t/T`.
    """
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
    for j, r in enumerate(results):
        T = r.T
        edges = np.concatenate([[0.0], np.cumsum([p.duration for p in r.control.pieces])]) / T
        ax0.stairs(r.control_distance, edges, baseline=None, color=f"C{j}", lw=1.4, label=f"T = {T:g}")
        ax1.plot(r.times / T, np.sqrt(r.tracking), color=f"C{j}", lw=1.2, label=f"T = {T:g}")
    m0, m1 = results[0].middle
    for ax in (ax0, ax1):
        ax.axvspan(m0, m1, color="0.9", zorder=0)
        ax.set_xlabel("t / T")
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.legend(fontsize=8)
    ax0.set_ylabel("|theta(t) - theta_bar|  (theta_bar = 0)")
    ax0.set_title("controls: active at the start, near the steady control after")
    ax1.set_ylabel("(sum_i |x_i(t) - y_i|^2)^(1/2)")
    ax1.set_title("states: near the steady state y in the middle")
    fig.tight_layout()
    return fig

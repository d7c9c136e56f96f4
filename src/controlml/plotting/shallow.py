"""Figures of Sec. 2 (sparse shallow networks): value and atoms vs width, bound terms, U(eps)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_width", "plot_bound_terms", "plot_eps_star", "plot_trace"]


def plot_width(P: Any, values: Any, atoms: Any, val_rel: float, N: int, title: str = "") -> Any:
    """Best (P0) value and atom count vs width P, with val(PR0) and P = N marked."""
    import matplotlib.pyplot as plt

    P, values, atoms = np.asarray(P), np.asarray(values, float), np.asarray(atoms)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    fin = np.isfinite(values)
    ax[0].plot(P[fin], values[fin], "o-", label="GD + sparsification (P0)")
    ax[0].plot(P[~fin], np.full((~fin).sum(), np.nan), "x")
    for p in P[~fin]:
        ax[0].axvline(p, color="0.8", ls=":")
    ax[0].axhline(val_rel, color="C3", ls="--", label="val(PR0) (fit_sparse)")
    ax[0].axvline(N, color="k", lw=0.8)
    ax[0].set_xlabel("width P")
    ax[0].set_ylabel(r"$\sum_j |w_j|$")
    ax[0].legend(fontsize=8)
    ax[1].plot(P, atoms, "s-")
    ax[1].axhline(N, color="k", lw=0.8, ls="--", label="N")
    ax[1].set_xlabel("width P")
    ax[1].set_ylabel("atoms after sparsification")
    ax[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_bound_terms(eps: Any, terms: dict, title: str = "") -> Any:
    """Each term of (2.11)-(2.13) vs eps, with the measured discrepancy."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for k, v in terms.items():
        ax.plot(eps, v, "o-" if k == "measured" else ".-", label=k, lw=2.2 if k == "measured" else 1)
    ax.set_xlabel(r"$\varepsilon$")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_eps_star(cases: list[dict], title: str = "") -> Any:
    """U(eps) for each case with eps* marked, and validation W1 beside it."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 3.4), squeeze=False)
    for ax, c in zip(axs[0], cases, strict=False):
        ax.plot(c["eps"], c["U"], "o-", label=r"$\mathcal{U}(\varepsilon)$")
        ax.axvline(c["eps_star"], color="C3", ls="--", label=r"$\varepsilon^*$ (bound)")
        if "val" in c:
            ax2 = ax.twinx()
            ax2.plot(c["eps"], c["val"], "s:", color="C2", label="validation W1")
            ax2.axvline(c["eps_val"], color="C2", ls=":")
            ax2.set_ylabel("validation W1", color="C2")
        ax.set_xlabel(r"$\varepsilon$")
        ax.set_title(c["title"], fontsize=9)
        ax.legend(fontsize=7, loc="upper center")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_trace(traces: dict, title: str = "") -> Any:
    """Column generation round by round: value and lower bound (left), relative gap vs time (right).

    ``traces`` maps a label to a :class:`controlml.shallow.FitTrace`.
    """
    import matplotlib.pyplot as plt

    from ..errors import ParameterError

    if not traces:
        raise ParameterError("plot_trace needs at least one trace")
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    for k, (label, tr) in enumerate(traces.items()):
        r = np.arange(1, tr.value.size + 1)
        lb = np.where(tr.lower_bound > 0, tr.lower_bound, np.nan)  # log axis: early bounds may be <= 0
        ax[0].semilogy(r, tr.value, "-", color=f"C{k}", label=f"{label}: restricted LP value")
        ax[0].semilogy(r, lb, "--", color=f"C{k}", label=f"{label}: lower bound")
        gap = (tr.value - tr.lower_bound) / np.maximum(tr.value, 1e-300)
        ax[1].semilogy(tr.elapsed, np.maximum(gap, 1e-16), ".-", color=f"C{k}", label=label)
    ax[0].set_xlabel("round")
    ax[0].set_ylabel(r"$\sum_j |w_j|$")
    ax[0].legend(fontsize=7)
    ax[1].set_xlabel("seconds")
    ax[1].set_ylabel("relative gap (value - bound) / value")
    ax[1].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig

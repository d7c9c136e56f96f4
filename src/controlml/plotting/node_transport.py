"""Figures of Sec. 3.4: densities pushed by the neural transport equation (3.16)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_transport"]


def plot_transport(target: np.ndarray, pushed: Sequence[np.ndarray], switches: Sequence[int],
                   box: np.ndarray, errors: dict[str, Sequence[float]], *, title: str = "",
                   samples: np.ndarray | None = None):
    """One row: the target density, the pushed densities for several L, the errors against L.

    Parameters
    ----------
    target : array (g1, g2)
        :math:`\\rho_1` on a grid of ``box`` (x1 along axis 0).
    pushed : list of arrays (g1, g2)
        :math:`\\rho(T)` on the same grid, one per entry of ``switches``.
    switches : list of int
        The numbers of switches L of ``pushed``.
    box : array (2, 2)
        ``[[lo_1, lo_2], [hi_1, hi_2]]``.
    errors : dict
        ``{"L": [...], "L1": [...], "KL": [...], "W1": [...]}`` for the error panel.
    title : str
        Row title.
    samples : array (N, 2), optional
        Pushed samples drawn over the last density.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    k = len(pushed)
    fig, axes = plt.subplots(1, k + 2, figsize=(3.1 * (k + 2), 3.0))
    ext = (box[0, 0], box[1, 0], box[0, 1], box[1, 1])
    vmax = float(np.quantile(target, 0.999)) or 1.0
    panels = [(target, r"target $\rho_1$")] + [(p, rf"$\rho(T)$, $L={L}$") for p, L in zip(pushed, switches, strict=True)]
    for ax, (img, lab) in zip(axes, panels, strict=False):
        ax.imshow(img.T, origin="lower", extent=ext, cmap="magma", vmin=0, vmax=vmax, aspect="equal",
                  interpolation="nearest")
        ax.set_title(lab, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if samples is not None:
        axes[k].scatter(samples[:, 0], samples[:, 1], s=0.3, c="c", alpha=0.4)
        axes[k].set_xlim(ext[0], ext[1])
        axes[k].set_ylim(ext[2], ext[3])
    ax = axes[-1]
    for key, mk in (("L1", "o-"), ("KL", "s-"), ("W1", "^-")):
        ax.loglog(errors["L"], errors[key], mk, label=key, ms=4)
    Ls = np.asarray(errors["L"], dtype=float)
    ax.loglog(Ls, errors["L1"][0] * (Ls / Ls[0]) ** -0.5, "k:", lw=0.8, label=r"$L^{-1/2}$")
    ax.set_xlabel("switches L")
    ax.set_title("error vs L", fontsize=9)
    ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig

"""Figures of Sec. 5 (diffusion through the heat equation): Fig. 5.1 and the theory checks."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plot_fig51", "plot_diffusion_theory", "occupied_region", "enclosing_region"]

_TAU_COLORS = ("#c6dbef", "#6baed6", "#08519c")


def occupied_region(X: np.ndarray, extent: tuple[float, float, float, float], *,
                    bins: int = 200, dilate: int = 1) -> np.ndarray:
    """Boolean (bins, bins) grid of the cells of ``extent`` holding a point of ``X`` (n, 2).

    Cells are dilated by ``dilate`` cells, so the mask is the region enclosing the points.
    """
    from scipy.ndimage import binary_dilation

    x0, x1, y0, y1 = extent
    H, _, _ = np.histogram2d(X[:, 0], X[:, 1], bins=bins, range=[[x0, x1], [y0, y1]])
    mask = H > 0
    if dilate > 0:
        mask = binary_dilation(mask, iterations=dilate)
    return mask


def enclosing_region(X: np.ndarray, extent: tuple[float, float, float, float], *,
                     bins: int = 160, mass: float = 0.995, smooth: float = 1.5) -> np.ndarray:
    """Boolean (bins, bins) mask of the smallest smoothed-density region holding ``mass`` of ``X``.

    The 2-D histogram of ``X`` (n, 2) on ``extent`` is smoothed by a Gaussian of ``smooth``
    cells and thresholded at the level whose super-level set carries ``mass`` of it.
    """
    from scipy.ndimage import gaussian_filter

    x0, x1, y0, y1 = extent
    H, _, _ = np.histogram2d(X[:, 0], X[:, 1], bins=bins, range=[[x0, x1], [y0, y1]])
    H = gaussian_filter(H, smooth)
    v = np.sort(H.ravel())[::-1]
    c = np.cumsum(v)
    k = int(np.searchsorted(c, mass * c[-1]))
    return H >= v[min(k, v.size - 1)]


def plot_fig51(curve: np.ndarray, data: np.ndarray, paths: np.ndarray,
               samples: Mapping[float, np.ndarray], *, bins: int = 160):
    """Fig. 5.1: data manifold, samples, three backward trajectories; regions per ``t_min``.

    Parameters
    ----------
    curve : array (p, 2)
        Dense sampling of the data manifold (the lemniscate).
    data : array (I, 2)
        The observed samples.
    paths : array (K+1, 3, 2)
        Backward trajectories (from t_max to t_min).
    samples : mapping t_min -> array (n, 2)
        Generated points per stopping time; each region is the smoothed-density region
        holding 99.5% of them (:func:`enclosing_region`).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.4))
    ax0.plot(curve[:, 0], curve[:, 1], color="tab:blue", lw=1.5, label="data manifold")
    ax0.scatter(data[:, 0], data[:, 1], s=10, color="tab:orange", zorder=3, label="observed samples")
    for k in range(paths.shape[1]):
        p = paths[:, k]
        ax0.plot(p[:, 0], p[:, 1], lw=0.7, alpha=0.8, color=f"C{k + 2}")
        ax0.plot(p[0, 0], p[0, 1], "o", ms=4, color=f"C{k + 2}")
        ax0.plot(p[-1, 0], p[-1, 1], "*", ms=8, color=f"C{k + 2}")
    ax0.set_title("data manifold, samples and backward trajectories\n(o: start at $t_{max}$, *: end at $t_{min}$)", fontsize=10)
    ax0.legend(loc="upper right", fontsize=8)
    ax0.set_aspect("equal")

    allpts = np.vstack(list(samples.values()))
    lo = np.percentile(allpts, 0.5, axis=0) - 0.15
    hi = np.percentile(allpts, 99.5, axis=0) + 0.15
    extent = (lo[0], hi[0], lo[1], hi[1])
    taus = sorted(samples, reverse=True)
    for j, tau in enumerate(taus):
        mask = enclosing_region(samples[tau], extent, bins=bins)
        col = _TAU_COLORS[j % len(_TAU_COLORS)]
        ax1.imshow(np.where(mask.T, 1.0, np.nan), origin="lower", extent=extent,
                   cmap=ListedColormap([col]), vmin=0, vmax=1, interpolation="nearest",
                   aspect="auto")
        ax1.plot([], [], "s", color=col, label=f"$t_{{min}}$ = {tau:g}")
    ax1.plot(curve[:, 0], curve[:, 1], color="tab:blue", lw=0.6)
    ax1.scatter(data[:, 0], data[:, 1], s=4, color="tab:orange", zorder=3)
    n = next(iter(samples.values())).shape[0]
    ax1.set_title(f"regions enclosing {n:,} generated points")
    ax1.legend(loc="upper right", fontsize=8)
    ax1.set_xlim(extent[0], extent[1])
    ax1.set_ylim(extent[2], extent[3])
    ax1.set_aspect("equal")
    fig.tight_layout()
    return fig


def plot_diffusion_theory(tau: np.ndarray, mean_distance: np.ndarray, predicted: np.ndarray,
                          t: np.ndarray, backward_ratio: np.ndarray, d: int):
    """Two panels: sqrt(tau) concentration (log-log) and the backward energy ratio t^d E(t)/T^d E(T)."""
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax0.loglog(tau, mean_distance, "o-", label="mean distance to nearest data point")
    ax0.loglog(tau, predicted, "k--", label=r"$2\sqrt{\tau}\,\Gamma(\frac{d+1}{2})/\Gamma(\frac{d}{2})$")
    ax0.set_xlabel(r"stopping time $\tau$")
    ax0.set_title(r"$\sqrt{\tau}$ concentration on the data")
    ax0.legend(fontsize=8)
    ax1.loglog(t, backward_ratio, "o-", label=r"$t^d E(t) / (T^d E(T))$")
    ax1.axhline(1.0, color="k", ls="--", lw=0.8, label="backward bound")
    ax1.set_xlabel("t")
    ax1.set_title(f"backward energy estimate (d = {d})")
    ax1.legend(fontsize=8)
    fig.tight_layout()
    return fig

"""Figures of Sec. 3.1-3.2: basic movements, Voronoi-type cells, interpolation trajectories."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_movement", "plot_cells", "plot_trajectories", "plot_switches"]


def _line(ax, a, b, lim, **kw):
    """Draw {a.x + b = 0} inside the square [-lim, lim]^2."""
    t = np.linspace(-lim, lim, 2)
    if abs(a[1]) > abs(a[0]):
        ax.plot(t, -(a[0] * t + b) / a[1], **kw)
    else:
        ax.plot(-(a[1] * t + b) / a[0], t, **kw)


def plot_movement(ax, X, XT, a, b, w, title):
    """One neuron's movement (Fig. 3.1): points before (grey) and after (colour), hyperplane dashed."""
    lim = float(np.abs(np.vstack([X, XT])).max()) * 1.05
    for x0, x1 in zip(X, XT, strict=True):
        if np.any(x0 != x1):
            ax.annotate("", x1, x0, arrowprops=dict(arrowstyle="->", color="0.6", lw=0.6))
    ax.scatter(*X.T, s=8, c="0.6", label="x(0)")
    ax.scatter(*XT.T, s=8, c="C0", label="x(T)")
    _line(ax, a, b, lim, color="C3", ls="--", lw=1.2)
    ax.quiver([0], [0], [w[0]], [w[1]], color="C2", angles="xy", scale_units="xy", scale=1,
              width=0.012, label="w")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title)


def plot_cells(ax, W, A, b, lim=3.0, n=400):
    """Activation cells of P neurons in the plane with the field (Fig. 3.2)."""
    g = np.linspace(-lim, lim, n)
    XX, YY = np.meshgrid(g, g)
    pts = np.column_stack([XX.ravel(), YY.ravel()])
    Z = pts @ A.T + b
    code = (Z > 0) @ (1 << np.arange(A.shape[0]))
    ax.imshow(code.reshape(n, n), origin="lower", extent=(-lim, lim, -lim, lim), cmap="Pastel1",
              alpha=0.9)
    q = np.linspace(-lim, lim, 17)
    QX, QY = np.meshgrid(q, q)
    qp = np.column_stack([QX.ravel(), QY.ravel()])
    F = np.maximum(qp @ A.T + b, 0) @ W.T
    ax.quiver(qp[:, 0], qp[:, 1], F[:, 0], F[:, 1], color="k", width=0.003)
    for j in range(A.shape[0]):
        _line(ax, A[j], b[j], lim, color="C3", ls="--", lw=1)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")


def plot_trajectories(ax, traj, X, Y):
    """Trajectories of the points under an interpolating control."""
    for i in range(X.shape[0]):
        ax.plot(traj.X[:, i, 0], traj.X[:, i, 1], lw=0.8, color=f"C{i % 10}")
    ax.scatter(*X.T, marker="o", s=25, c=[f"C{i % 10}" for i in range(len(X))], label="inputs x_i")
    ax.scatter(*Y.T, marker="*", s=90, c=[f"C{i % 10}" for i in range(len(Y))], edgecolors="k",
               label="targets y_i")
    ax.legend(loc="best", fontsize=8)
    box = np.vstack([X, Y])
    lo, hi = box.min(axis=0), box.max(axis=0)
    pad = 0.6 * (hi - lo).max()
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")


def plot_switches(ax, P, L, bound, label="constructed L"):
    ax.plot(P, bound, "k--", label="paper bound")
    ax.plot(P, L, "o", label=label)
    ax.set_xlabel("width P")
    ax.set_ylabel("switches L")
    ax.legend()

"""Figures of Sec. 5 (federated learning): accuracy and workload, penalties, the game, attacks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["plot_fl_accuracy", "plot_fl_penalties", "plot_fl_game", "plot_fl_attack"]

_COLORS = {"fedadmm-insa": "#d62728", "fedadmm": "#ff7f0e", "fedavg": "#1f77b4",
           "fedprox": "#2ca02c"}


def plot_fl_accuracy(histories: Mapping[str, Sequence]):
    """Test accuracy vs round (mean ± range over seeds) and total local epochs per method.

    ``histories`` maps a method name to its :class:`FederatedHistory` objects (one per seed).
    """
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    names = list(histories)
    for name in names:
        A = np.array([h.accuracy for h in histories[name]])
        k = np.arange(1, A.shape[1] + 1)
        c = _COLORS.get(name)
        ax.plot(k, A.mean(0), color=c, label=name)
        ax.fill_between(k, A.min(0), A.max(0), color=c, alpha=0.15)
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    work = [np.mean([h.total_epochs for h in histories[n]]) for n in names]
    bx.bar(range(len(names)), work, color=[_COLORS.get(n) for n in names])
    bx.set_xticks(range(len(names)), names, rotation=20)
    bx.set_ylabel("client workload (local epochs, all rounds)")
    fig.tight_layout()
    return fig


def plot_fl_penalties(history):
    """FedADMM-InSa: each client's penalty ``β_i`` and its local epochs over the rounds."""
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    k = np.arange(1, history.beta.shape[0] + 1)
    for i in range(history.beta.shape[1]):
        ax.step(k, history.beta[:, i], where="post", lw=0.8, alpha=0.7)
    ax.set_yscale("log")
    ax.set_xlabel("round")
    ax.set_ylabel(r"penalty $\beta_i$")
    E = np.where(history.selected, history.epochs, np.nan)
    im = bx.imshow(E.T, aspect="auto", cmap="viridis", interpolation="nearest",
                   extent=(0.5, E.shape[0] + 0.5, E.shape[1] - 0.5, -0.5))
    bx.set_xlabel("round")
    bx.set_ylabel("client")
    fig.colorbar(im, ax=bx, label="local epochs (blank: not selected)")
    fig.tight_layout()
    return fig


def plot_fl_game(lams: np.ndarray, mean_efforts: np.ndarray, critical, cases=None):
    """Mean equilibrium effort vs reward factor λ with λ₁, λ*, λ₂ (and the bounds c₁, c₂)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(lams, mean_efforts, "o", ms=3, color="tab:purple", label="mean NE effort")
    for lam, name, c in ((critical.lambda1, r"$\lambda_1$", "tab:blue"),
                         (critical.lambda_star, r"$\lambda^*$", "tab:orange"),
                         (critical.lambda2, r"$\lambda_2$", "tab:red")):
        ax.axvline(lam, color=c, ls="--", lw=1, label=f"{name} = {lam:.3f}")
    ax.plot([critical.lambda_star] * 2, [critical.c1, critical.c2], "s", color="tab:green",
            label=f"$c_1$ = {critical.c1:.2f}, $c_2$ = {critical.c2:.2f}")
    if cases is not None:
        lc, mc = cases
        ax.plot(lc, mc, "x", color="k", ms=8, label="the authors' four cases")
    ax.set_xlabel(r"reward factor $\lambda$")
    ax.set_ylabel(r"average effort $\bar s$")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_fl_attack(originals: np.ndarray, reconstructions: Mapping[str, np.ndarray],
                   psnr_rows: Mapping[str, Sequence[float]] | None = None,
                   steps: Sequence[int] | None = None, shape=(8, 8)):
    """Originals above reconstructions (one row per method); PSNR vs local steps at right."""
    import matplotlib.pyplot as plt

    rows = 1 + len(reconstructions)
    n = originals.shape[0]
    extra = 1 if psnr_rows else 0
    fig = plt.figure(figsize=(1.1 * n + 4 * extra, 1.2 * rows + 0.4))
    gs = fig.add_gridspec(rows, n + 3 * extra)
    labels = ["original", *reconstructions]
    imgs = [originals, *reconstructions.values()]
    for r, (lab, block) in enumerate(zip(labels, imgs, strict=True)):
        for j in range(n):
            a = fig.add_subplot(gs[r, j])
            a.imshow(np.clip(block[j].reshape(shape), 0, 1), cmap="gray_r", vmin=0, vmax=1)
            a.set_xticks([])
            a.set_yticks([])
            if j == 0:
                a.set_ylabel(lab, fontsize=7)
    if psnr_rows:
        a = fig.add_subplot(gs[:, n:])
        for lab, vals in psnr_rows.items():
            a.plot(steps, vals, "o-", label=lab, color=_COLORS.get(lab))
        a.set_xlabel("local steps in the update")
        a.set_ylabel("PSNR (dB)")
        a.legend(fontsize=8)
        a.grid(alpha=0.3)
    return fig

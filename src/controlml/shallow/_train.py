r"""The (P0) baseline: width-P networks trained by gradient descent with an :math:`\ell_1` penalty, then sparsified."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int, check_positive, renamed_kwarg, resolve_seed_alias, torch_seed
from ._data import check_data, lift
from ._lp import caratheodory_reduce, solve_lp
from ._network import ShallowNetwork

__all__ = ["L1Training", "train_l1"]


@dataclass(frozen=True)
class L1Training:
    r"""Result of :func:`train_l1`.

    Attributes
    ----------
    network : ShallowNetwork
        After sparsification (at most N atoms), or the trained network when the
        exact fit is infeasible on the learned neurons.
    value : float
        :math:`\sum_j|w_j|` of the sparsified exact interpolant on the learned
        neurons (``inf`` when none interpolates: typically P < N).
    n_atoms : int
    train_mse : float
        Mean squared error of the gradient-trained network.
    feasible : bool
    status : str
    """

    network: ShallowNetwork
    value: float
    n_atoms: int
    train_mse: float
    feasible: bool
    status: str


def train_l1(X: Any, y: Any, P: int, *, lam: float = 1e-3, epochs: int = 2000, lr: float = 1e-2,
             random_state: Any = 0, seed: int | None = None, steps: int | None = None,
             device: str | None = None) -> L1Training:
    r"""Best (P0) value found for width P: Adam on the penalised loss, then an exact sparsification.

    .. math::
        \min_{\Theta}\ \frac1N\sum_i \big(f_{\mathrm{shallow}}(x_i,\Theta) - y_i\big)^2
        + \lambda\sum_j |w_j|, \qquad (a_j, b_j) = \vartheta_j/\|\vartheta_j\| \in S^d,

    then, on the learned neurons :math:`\theta_j`, the LP
    :math:`\min\|w\|_1` s.t. :math:`\Phi w = Y` (HiGHS; a vertex has at most N
    non-zeros, Carathéodory as safeguard).  Its value is feasible for (P0) at
    width P, hence :math:`\ge` val(PR0) (Thm 2.1).

    Parameters
    ----------
    X : array (N, d)
    y : array (N,)
    P : int
        Width.
    lam : float
        Penalty :math:`\lambda`.
    epochs : int
        Full-batch Adam steps (one pass over the data each).
    lr : float
        Adam learning rate.
    random_state : int, None or numpy.random.Generator
        Randomness of the initialisation (a ``torch.Generator`` seeded from it).
    seed : int, optional
        Deprecated alias of ``random_state`` (FutureWarning).
    steps : int, optional
        Deprecated alias of ``epochs`` (FutureWarning).
    device : str, optional
        Torch device (CPU by default).
    """
    import torch

    X, Y = check_data(X, y)
    P = check_int(P, "P", minimum=1)
    lam = check_positive(lam, "lam")
    steps = check_int(renamed_kwarg(epochs, steps, "steps", "epochs", "train_l1"), "epochs", minimum=1)
    lr = check_positive(lr, "lr")
    N, d = X.shape
    dev = torch.device(device or "cpu")
    g = torch.Generator().manual_seed(torch_seed(resolve_seed_alias(random_state, seed, "train_l1")))
    Xt = torch.as_tensor(lift(X), dtype=torch.float64, device=dev)
    Yt = torch.as_tensor(Y, dtype=torch.float64, device=dev)
    th = torch.randn(P, d + 1, generator=g, dtype=torch.float64).to(dev).requires_grad_(True)
    w = (torch.randn(P, generator=g, dtype=torch.float64) / P).to(dev).requires_grad_(True)
    opt = torch.optim.Adam([th, w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        T = th / th.norm(dim=1, keepdim=True)
        f = torch.relu(Xt @ T.T) @ w
        loss = torch.mean((f - Yt) ** 2) + lam * w.abs().sum()
        loss.backward()
        opt.step()
    with torch.no_grad():
        T = (th / th.norm(dim=1, keepdim=True)).cpu().numpy()
        wn = w.cpu().numpy()
        mse = float(torch.mean((torch.relu(Xt @ (th / th.norm(dim=1, keepdim=True)).T) @ w - Yt) ** 2))
    Phi = np.maximum(lift(X) @ T.T, 0.0)
    lp = solve_lp(Phi, Y, 0.0)
    if not lp.success:
        net = ShallowNetwork(wn, T[:, :d], T[:, d])
        return L1Training(net, float("inf"), net.n_atoms, mse, False, "infeasible")
    ws = caratheodory_reduce(Phi, lp.w)
    S = np.flatnonzero(ws)
    net = ShallowNetwork(ws[S], T[S, :d], T[S, d])
    return L1Training(net, float(np.sum(np.abs(ws))), int(S.size), mse, True, "optimal")

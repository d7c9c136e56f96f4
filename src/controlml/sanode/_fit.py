r"""Training SA-NODEs (and vanilla NODEs) on trajectories, all trajectories as one batch.

Loss (as the authors): :math:`100\cdot\mathrm{MSE}(\hat x, x)` over every sample time,
trajectory and component, plus ``barron_penalty`` times the model's Barron-type norm
:math:`\sum_j\|W_{:,j}\|\|A_{j,:}\|`.  Adam, learning rate decayed by 0.8 every tenth of the
epochs (the authors: every 1000 of 10,000).  Errors are the authors': with
:math:`e_i(t)=\|\hat x_i(t)-x_i(t)\|_2`, the *max error* is
:math:`\max_t\frac1N\sum_ie_i(t)` and the *end error* :math:`\frac1N\sum_ie_i(T)`.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torchdiffeq import odeint

from .._checks import check_finite, check_int, check_nonnegative, check_option, check_positive
from ..errors import DatasetError, ParameterError
from ._models import SANODE
from ._torchutil import check_device, check_dtype

__all__ = ["SOLVERS", "SANODEFit", "fit_sanode", "integrate", "trajectory_errors",
           "check_trajectories"]

#: ODE solvers accepted by :func:`integrate` and :func:`fit_sanode` (torchdiffeq methods).
SOLVERS = ("euler", "rk4", "dopri5")


def check_trajectories(trajectories: Any, t: Any, name: str = "trajectories",
                       d: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate trajectories (N, M, d) sampled at increasing times ``t`` (M,); float64 copies.

    ``trajectories`` may be an array or a sequence of (M, d) arrays (all of the same length).
    """
    if isinstance(trajectories, list | tuple):
        lens = [np.shape(a)[0] if np.ndim(a) >= 1 else None for a in trajectories]
        if len(set(lens)) > 1:
            i = next(k for k, n in enumerate(lens) if n != lens[0])
            raise DatasetError(
                f"{name} must all have the same number of samples; trajectory 0 has {lens[0]} "
                f"and trajectory {i} has {lens[i]}: resample them on one time grid t"
            )
    try:
        X = np.asarray(trajectories, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{name} must be a numeric array (N, M, d); could not convert: {exc}") from exc
    if X.ndim != 3:
        raise DatasetError(f"{name} must have shape (N, M, d) (trajectories, times, dimension); "
                           f"got shape {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 2:
        raise DatasetError(f"{name} needs at least one trajectory of at least two samples; "
                           f"got shape {X.shape}")
    try:
        tt = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"t must be a numeric vector (M,); got {t!r}"[:200]) from exc
    if tt.ndim != 1 or tt.shape[0] != X.shape[1]:
        raise DatasetError(f"t must be a vector of the {X.shape[1]} sample times of {name}; "
                           f"got shape {tt.shape}")
    check_finite(tt, "t")
    if np.any(np.diff(tt) <= 0):
        k = int(np.argmax(np.diff(tt) <= 0))
        raise DatasetError(f"t must be strictly increasing; t[{k}] = {tt[k]} >= t[{k + 1}] = "
                           f"{tt[k + 1]}: sort the samples by time")
    check_finite(X, name)
    if d is not None and X.shape[2] != d:
        raise DatasetError(f"{name} have dimension {X.shape[2]} but the model has d = {d}: "
                           "build the model with the data's dimension")
    return X, tt


def integrate(model: nn.Module, x0: torch.Tensor, t: torch.Tensor, *, solver: str = "euler",
              step_size: float | None = None, rtol: float = 1e-7,
              atol: float = 1e-9) -> torch.Tensor:
    """Solve :math:`\\dot x = f_\\theta(x, t)` from ``x0`` (N, d) and return x at ``t``: (M, N, d).

    ``euler`` / ``rk4`` take one step per interval of ``t`` unless ``step_size`` is given;
    ``dopri5`` is adaptive with ``rtol``/``atol``.  Gradients flow through the solver.
    """
    check_option(solver, "solver", SOLVERS)
    options = {"step_size": float(step_size)} if step_size is not None and solver != "dopri5" else None
    if solver == "dopri5":
        return odeint(model, x0, t, method="dopri5", rtol=rtol, atol=atol)
    return odeint(model, x0, t, method=solver, options=options)


def trajectory_errors(pred: np.ndarray, true: np.ndarray) -> tuple[float, float, np.ndarray]:
    """The authors' errors of ``pred`` against ``true`` (both (N, M, d)).

    Returns ``(max_error, end_error, curve)`` with ``curve[m]`` the mean over trajectories
    of the Euclidean error at sample m (shape (M,)).
    """
    curve = np.linalg.norm(pred - true, axis=-1).mean(axis=0)
    return float(curve.max()), float(curve[-1]), curve


@dataclass(frozen=True)
class SANODEFit:
    """Result of :func:`fit_sanode`.

    Attributes
    ----------
    model : nn.Module
        The trained model (a copy; the model passed in is not modified), on CPU.
    loss_history : array (epochs,)
        Training loss at each epoch.
    train_max_error, train_end_error : float
        The authors' errors on the training trajectories after training.
    test_max_error, test_end_error : float
        The same on ``test`` (NaN when no test set was given).
    initial_train_max_error : float
        The train max error of the model before training.
    train_curve, test_curve : arrays (M,)
        Mean Euclidean error against time (test: empty without a test set).
    num_parameters, epochs : int
    solver : str
    train_time_s : float
        Wall time of the optimisation loop.
    status : str
        ``"ok"``, or ``"diverged"`` when the loss became non-finite (training stopped there).
    """

    model: nn.Module
    loss_history: np.ndarray
    train_max_error: float
    train_end_error: float
    test_max_error: float
    test_end_error: float
    initial_train_max_error: float
    train_curve: np.ndarray
    test_curve: np.ndarray
    num_parameters: int
    epochs: int
    solver: str
    train_time_s: float
    status: str
    device: str = field(default="cpu")

    def predict(self, x0: Any, t: Any, *, solver: str | None = None) -> np.ndarray:
        """Trajectories (N, M, d) of the trained model from ``x0`` (N, d) at times ``t`` (M,)."""
        return predict(self.model, x0, t, solver=solver or self.solver)


def predict(model: nn.Module, x0: Any, t: Any, *, solver: str = "euler") -> np.ndarray:
    """Trajectories (N, M, d) of ``model`` from ``x0`` (N, d) at times ``t`` (M,), float64 NumPy."""
    p = next(model.parameters())
    x0t = torch.as_tensor(np.asarray(x0, dtype=np.float64), dtype=p.dtype, device=p.device)
    if x0t.ndim != 2 or x0t.shape[1] != model.d:
        raise DatasetError(f"x0 must have shape (N, {model.d}); got {tuple(x0t.shape)}")
    tt = torch.as_tensor(np.asarray(t, dtype=np.float64), dtype=p.dtype, device=p.device)
    with torch.no_grad():
        out = integrate(model, x0t, tt, solver=solver)
    return out.permute(1, 0, 2).double().cpu().numpy()


def fit_sanode(trajectories: Any, t: Any, *, model: nn.Module | None = None, P: int = 100,
               test: Any = None, epochs: int = 1000, lr: float = 1e-2,
               barron_penalty: float = 1e-4, solver: str = "euler", lr_decay: float = 0.8,
               random_state: Any = None, progress: bool = True, device: Any = None,
               dtype: Any = None) -> SANODEFit:
    r"""Fit :math:`\dot x=f_\theta(x,t)` to trajectories, all of them as one batch.

    Parameters
    ----------
    trajectories : array (N, M, d) or sequence of (M, d) arrays
        Training trajectories; ``trajectories[:, 0]`` are the initial conditions.
    t : array (M,)
        Strictly increasing sample times (the integration starts at ``t[0]``).
    model : SANODE, VanillaNODE or any ``nn.Module`` with ``forward(t, x)``, ``d`` and
        ``barron_norm()``; default ``SANODE(d, P)`` seeded by ``random_state``.  A copy is
        trained.
    P : int
        Neurons of the default model (ignored when ``model`` is given).
    test : array (N', M, d), optional
        Test trajectories on the same times, for the test errors.
    epochs, lr : int, float
        Adam steps (full batch) and learning rate.
    barron_penalty : float
        Weight of ``model.barron_norm()`` (1e-4 as the authors).
    solver : {"euler", "rk4", "dopri5"}
        One Euler / RK4 step per sample interval (the authors use Euler), or adaptive dopri5.
    lr_decay : float in (0, 1]
        Learning-rate factor applied every ``max(1, epochs // 10)`` epochs.
    random_state : None, int or numpy Generator
        Seeds the default model.
    progress : bool
        Show a tqdm bar.
    device : None, "cpu", "cuda[:k]" or torch.device
        Where to train (default CPU); the returned model is moved back to CPU.
    dtype : None, torch.float32 or torch.float64
        Default: the model's dtype (float32 for the default model).

    Returns
    -------
    SANODEFit
    """
    X, tt = check_trajectories(trajectories, t)
    d = X.shape[2]
    Xte = None
    if test is not None:
        Xte, _ = check_trajectories(test, tt, name="test", d=d)
    if model is None:
        P = check_int(P, "P", minimum=1)
        model = SANODE(d, P, random_state=random_state)
    if not isinstance(model, nn.Module) or not hasattr(model, "barron_norm"):
        raise ParameterError("model must be a SANODE, a VanillaNODE or an nn.Module with "
                             f"forward(t, x), d and barron_norm(); got {type(model).__name__}")
    if getattr(model, "d", None) != d:
        raise DatasetError(f"trajectories have dimension {d} but model.d = "
                           f"{getattr(model, 'd', None)}: build the model with d = {d}")
    epochs = check_int(epochs, "epochs", minimum=1)
    lr = check_positive(lr, "lr")
    lam = check_nonnegative(barron_penalty, "barron_penalty")
    check_option(solver, "solver", SOLVERS)
    gamma = check_positive(lr_decay, "lr_decay")
    if gamma > 1:
        raise ParameterError(f"lr_decay must be in (0, 1]; got {lr_decay!r}")
    dev = check_device(device)
    dt = check_dtype(dtype) if dtype is not None else next(model.parameters()).dtype

    net = copy.deepcopy(model).to(device=dev, dtype=dt)
    Xt = torch.as_tensor(X, dtype=dt, device=dev).permute(1, 0, 2).contiguous()  # (M, N, d)
    T_ = torch.as_tensor(tt, dtype=dt, device=dev)
    x0 = Xt[0]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 10), gamma=gamma)

    def errors(data: np.ndarray) -> tuple[float, float, np.ndarray]:
        with torch.no_grad():
            x0d = torch.as_tensor(data[:, 0], dtype=dt, device=dev)
            pred = integrate(net, x0d, T_, solver=solver).permute(1, 0, 2)
        return trajectory_errors(pred.double().cpu().numpy(), data)

    init_max, _, _ = errors(X)
    history = np.full(epochs, np.nan)
    status = "ok"
    bar = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc=f"fit {type(net).__name__}", leave=False)
    start = time.perf_counter()
    for e in bar:
        opt.zero_grad(set_to_none=True)
        pred = integrate(net, x0, T_, solver=solver)
        loss = 100.0 * torch.mean((pred[1:] - Xt[1:]) ** 2)
        if lam > 0:
            loss = loss + lam * net.barron_norm()
        if not torch.isfinite(loss):
            status = "diverged"
            break
        loss.backward()
        opt.step()
        sched.step()
        history[e] = float(loss.detach())
    train_time = time.perf_counter() - start
    tr_max, tr_end, tr_curve = errors(X)
    if Xte is not None:
        te_max, te_end, te_curve = errors(Xte)
    else:
        te_max, te_end, te_curve = float("nan"), float("nan"), np.empty(0)
    net = net.to("cpu")
    return SANODEFit(net, history, tr_max, tr_end, te_max, te_end, init_max, tr_curve, te_curve,
                     int(sum(p.numel() for p in net.parameters())), epochs, solver, train_time,
                     status, str(dev))

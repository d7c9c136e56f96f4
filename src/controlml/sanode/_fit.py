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
from .._torch import check_device, check_dtype
from ..errors import DatasetError, ParameterError
from ._models import SANODE

__all__ = ["SOLVERS", "SANODEFit", "fit_sanode", "fit_many", "integrate", "predict",
           "trajectory_errors", "check_trajectories"]

#: ODE solvers accepted by :func:`integrate` and :func:`fit_sanode` (torchdiffeq methods).
SOLVERS = ("euler", "rk4", "dopri5")


def check_trajectories(trajectories: Any, t: Any, name: str = "trajectories",
                       d: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate trajectories (N, M, d) sampled at increasing times ``t`` (M,); float64 copies.

    ``trajectories`` may be an array or a sequence of (M, d) arrays (all of the same length).

    Parameters
    ----------
    trajectories : array (N, M, d) or sequence of N arrays (M, d)
        N trajectories of M samples each in dimension d (N >= 1, M >= 2), finite.
    t : array (M,)
        Sample times, finite and strictly increasing, one per sample of each trajectory.
    name : str
        Name of the trajectories used in error messages (default ``"trajectories"``).
    d : int, optional
        Expected state dimension (e.g. the model's ``d``); ``None`` (default) accepts any.

    Returns
    -------
    X : array (N, M, d)
        The trajectories as float64.
    t : array (M,)
        The times as float64.

    Raises
    ------
    DatasetError
        If the shapes, lengths, dimension or times are not as above, or values are not finite.
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

    Parameters
    ----------
    model : nn.Module
        The field, called as ``model(t, x)`` (torchdiffeq order) with ``x`` (N, d) and a
        scalar time tensor, returning (N, d) -- e.g. :class:`SANODE` or :class:`VanillaNODE`.
    x0 : Tensor (N, d)
        Initial states at time ``t[0]``, on the model's device and dtype.
    t : Tensor (M,)
        Monotone output times (decreasing integrates backward); ``t[0]`` is the initial time.
    solver : {"euler", "rk4", "dopri5"}
        torchdiffeq method (default ``"euler"``, as the authors).
    step_size : float, optional
        Fixed step of ``euler`` / ``rk4`` (``None``: one step per interval of ``t``); ignored
        by ``dopri5``.
    rtol : float
        Relative tolerance of ``dopri5`` (default 1e-7); ignored by the fixed-step solvers.
    atol : float
        Absolute tolerance of ``dopri5`` (default 1e-9); ignored by the fixed-step solvers.

    Returns
    -------
    Tensor (M, N, d)
        ``out[m]`` is the state at time ``t[m]`` (``out[0] == x0``).
    """
    check_option(solver, "solver", SOLVERS)
    options = {"step_size": float(step_size)} if step_size is not None and solver != "dopri5" else None
    if solver == "dopri5":
        return odeint(model, x0, t, method="dopri5", rtol=rtol, atol=atol)
    return odeint(model, x0, t, method=solver, options=options)


def trajectory_errors(pred: np.ndarray, true: np.ndarray) -> tuple[float, float, np.ndarray]:
    r"""The authors' errors of ``pred`` against ``true`` (both (N, M, d)).

    With :math:`e_i(t_m)=\|\hat x_i(t_m)-x_i(t_m)\|_2`, ``curve[m]`` is
    :math:`\frac1N\sum_ie_i(t_m)`, the *max error* :math:`\max_m` ``curve[m]`` and the
    *end error* ``curve[-1]``.

    Parameters
    ----------
    pred : array (N, M, d)
        Predicted trajectories (e.g. from :func:`predict`).
    true : array (N, M, d)
        Reference trajectories at the same times.

    Returns
    -------
    max_error : float
        Largest mean Euclidean error over the sample times.
    end_error : float
        Mean Euclidean error at the last sample time.
    curve : array (M,)
        Mean over trajectories of the Euclidean error at each sample time.
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
    device : str
        The device the training ran on (e.g. ``"cpu"``, ``"cuda:0"``); default ``"cpu"``.
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
        """Trajectories (N, M, d) of the trained model from ``x0`` (N, d) at times ``t`` (M,).

        Parameters
        ----------
        x0 : array_like (N, d)
            Initial states at time ``t[0]``.
        t : array_like (M,)
            Monotone output times.
        solver : {"euler", "rk4", "dopri5"}, optional
            ODE solver; default the one used in training (``self.solver``).

        Returns
        -------
        array (N, M, d)
            Float64 trajectories, ``out[:, 0] == x0``.
        """
        return predict(self.model, x0, t, solver=solver or self.solver)


def predict(model: nn.Module, x0: Any, t: Any, *, solver: str = "euler") -> np.ndarray:
    """Trajectories (N, M, d) of ``model`` from ``x0`` (N, d) at times ``t`` (M,), float64 NumPy.

    Integrates without gradients (:func:`integrate`, one solver step per interval of ``t``
    for the fixed-step solvers) on the model's device and in its dtype.

    Parameters
    ----------
    model : nn.Module
        The field, with ``forward(t, x)`` and attribute ``d`` (e.g. :class:`SANODE`,
        :class:`VanillaNODE` or ``SANODEFit.model``).
    x0 : array_like (N, d)
        Initial states at time ``t[0]``; ``d`` must equal ``model.d``.
    t : array_like (M,)
        Monotone output times.
    solver : {"euler", "rk4", "dopri5"}
        ODE solver (default ``"euler"``).

    Returns
    -------
    array (N, M, d)
        Float64 trajectories, ``out[:, 0] == x0``.

    Raises
    ------
    DatasetError
        If ``x0`` is not of shape (N, ``model.d``).
    """
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
               horizon: int | None = None, random_state: Any = None, progress: bool = True,
               device: Any = None, dtype: Any = None) -> SANODEFit:
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
    horizon : int, optional
        ``None`` (default, the authors'): each epoch integrates the whole trajectories from
        their initial points.  ``k``: multiple shooting -- windows of ``k`` steps start at
        every sample (its time and state as initial condition), all in one batch; needs
        equispaced ``t`` and an :class:`SANODE`.  Much faster to converge on long horizons;
        the reported errors are always those of whole trajectories.
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
    _check_model(model, d)
    opts = _check_options(epochs, lr, barron_penalty, solver, lr_decay, device, dtype, model)
    k = _check_horizon(horizon, tt, model)
    dev, dt = opts["device"], opts["dtype"]
    net = copy.deepcopy(model).to(device=dev, dtype=dt)
    Xt = torch.as_tensor(X, dtype=dt, device=dev).permute(1, 0, 2).contiguous()  # (M, N, d)
    T_ = torch.as_tensor(tt, dtype=dt, device=dev)

    def run(x0: torch.Tensor) -> torch.Tensor:
        return integrate(net, x0, T_, solver=solver)

    def errors(data: np.ndarray) -> tuple[float, float, np.ndarray]:
        with torch.no_grad():
            pred = run(torch.as_tensor(data[:, 0], dtype=dt, device=dev)).permute(1, 0, 2)
        return trajectory_errors(pred.double().cpu().numpy(), data)

    init_max = errors(X)[0]
    desc = f"fit {type(net).__name__}"
    if k is None:
        history, status, train_time = _optimise(net, run, Xt[0], _mse_loss(Xt, 1), opts,
                                                progress, desc)
    else:
        x0w, t0w, sw, target = _windows(Xt, tt, k)
        shifted = _Shifted(net, t0w)

        def run_w(x0: torch.Tensor) -> torch.Tensor:
            return integrate(shifted, x0, sw, solver=solver)

        history, status, train_time = _optimise(net, run_w, x0w, _mse_loss(target, 1), opts,
                                                progress, desc)
    tr = errors(X)
    te = errors(Xte) if Xte is not None else (float("nan"), float("nan"), np.empty(0))
    net = net.to("cpu")
    return SANODEFit(net, history, tr[0], tr[1], te[0], te[1], init_max, tr[2], te[2],
                     int(sum(p.numel() for p in net.parameters())), opts["epochs"], solver,
                     train_time, status, str(dev))


def _check_model(model: Any, d: int, name: str = "model") -> None:
    if not isinstance(model, nn.Module) or not hasattr(model, "barron_norm"):
        raise ParameterError(f"{name} must be a SANODE, a VanillaNODE or an nn.Module with "
                             f"forward(t, x), d and barron_norm(); got {type(model).__name__}")
    if getattr(model, "d", None) != d:
        raise DatasetError(f"trajectories have dimension {d} but {name}.d = "
                           f"{getattr(model, 'd', None)}: build the model with d = {d}")


def _check_options(epochs: Any, lr: Any, barron_penalty: Any, solver: Any, lr_decay: Any,
                   device: Any, dtype: Any, model: nn.Module) -> dict[str, Any]:
    gamma = check_positive(lr_decay, "lr_decay")
    if gamma > 1:
        raise ParameterError(f"lr_decay must be in (0, 1]; got {lr_decay!r}")
    return {
        "epochs": check_int(epochs, "epochs", minimum=1),
        "lr": check_positive(lr, "lr"),
        "lam": check_nonnegative(barron_penalty, "barron_penalty"),
        "solver": check_option(solver, "solver", SOLVERS),
        "gamma": gamma,
        "device": check_device(device),
        "dtype": check_dtype(dtype) if dtype is not None else next(model.parameters()).dtype,
    }


def _mse_loss(Xt: torch.Tensor, groups: int) -> Any:
    """``groups * 100 * MSE`` against ``Xt`` (M, ..., d) after the initial time.

    With ``groups`` models stacked on axis 1 of ``Xt`` (M, G, N, d) and the same number of
    trajectories each, ``groups * mean`` is the sum of the per-model mean squared errors.
    """
    target = Xt[1:]

    def loss(pred: torch.Tensor) -> torch.Tensor:
        return groups * 100.0 * torch.mean((pred[1:] - target) ** 2)

    return loss


class _Shifted(nn.Module):
    """The field at time ``t0 + s`` for local time s, with one start time t0 per row."""

    def __init__(self, field: nn.Module, t0: torch.Tensor) -> None:
        super().__init__()
        self.field = field
        self.t0 = t0

    def forward(self, s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.field(self.t0 + s, x)


def _windows(Xt: torch.Tensor, tt: np.ndarray, k: int) -> tuple[torch.Tensor, ...]:
    """Windows of ``k`` steps starting at every sample of ``Xt`` (M, N, D).

    Returns ``x0`` (B, D), ``t0`` (B, 1), local times ``s`` (k + 1,) and ``target``
    (k + 1, B, D), with B = (M - k) N.
    """
    M, N, D = Xt.shape
    starts = M - k
    idx = torch.arange(starts, device=Xt.device)[None, :] + torch.arange(k + 1, device=Xt.device)[:, None]
    target = Xt[idx].reshape(k + 1, starts * N, D)        # (k + 1, B, D)
    T_ = torch.as_tensor(tt, dtype=Xt.dtype, device=Xt.device)
    t0 = T_[:starts].repeat_interleave(N)[:, None]
    return target[0], t0, T_[: k + 1] - T_[0], target


def _check_horizon(horizon: Any, tt: np.ndarray, model: nn.Module) -> int | None:
    if horizon is None:
        return None
    k = check_int(horizon, "horizon", minimum=1)
    if k >= tt.size:
        raise ParameterError(f"horizon must be < the number of samples {tt.size}; got {k}")
    dts = np.diff(tt)
    if not np.allclose(dts, dts[0], rtol=1e-9, atol=0):
        raise DatasetError("horizon needs equispaced times t (one local grid for every window); "
                           "resample the data or use horizon=None")
    base = getattr(model, "model", model)
    if not isinstance(base, SANODE):
        raise ParameterError("horizon needs an SA-NODE (its field takes one time per row); got "
                             f"{type(base).__name__}: use horizon=None")
    return k


def _optimise(net: nn.Module, run: Any, x0: torch.Tensor, data_loss: Any, opts: dict[str, Any],
              progress: bool, desc: str) -> tuple[np.ndarray, str, float]:
    """Full-batch Adam on ``data_loss(run(x0)) + lam * barron_norm``; (history, status, seconds)."""
    epochs, lam = opts["epochs"], opts["lam"]
    opt = torch.optim.Adam(net.parameters(), lr=opts["lr"])
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 10),
                                            gamma=opts["gamma"])
    history = np.full(epochs, np.nan)
    status = "ok"
    bar: Any = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc=desc, leave=False)
    start = time.perf_counter()
    for e in bar:
        opt.zero_grad(set_to_none=True)
        pred = run(x0)
        loss = data_loss(pred)
        if lam > 0:
            loss = loss + lam * net.barron_norm()
        if not torch.isfinite(loss):
            status = "diverged"
            break
        loss.backward()
        opt.step()
        sched.step()
        history[e] = float(loss.detach())
    return history, status, time.perf_counter() - start


def fit_many(datasets: Any, t: Any, *, models: list[nn.Module], tests: Any = None,
             epochs: int = 1000, lr: float = 1e-2, barron_penalty: float = 1e-4,
             solver: str = "euler", lr_decay: float = 0.8, progress: bool = True,
             device: Any = None, dtype: Any = None) -> list[SANODEFit]:
    r"""Train ``models[g]`` on ``datasets[g]`` for every g at once, as one batched module.

    The same as ``[fit_sanode(datasets[g], t, model=models[g], test=tests[g], ...) for g]``
    (the loss is the sum of the models' losses, so each gets its own gradient, and Adam is
    entry-wise), at a fraction of the cost for small models, whose training time is
    autograd overhead.  The models must be of one kind: all :class:`SANODE` (``per_component=
    False``, widths may differ) or all :class:`VanillaNODE` with the same pieces and ``T``.

    Parameters
    ----------
    datasets : sequence of G arrays (N, M, d)
        Training trajectories, the same N, M and d for every model, sampled at ``t`` (M,).
    t : array (M,)
        Strictly increasing sample times shared by all datasets (and tests); the integration
        starts at ``t[0]``.
    models : list of G models
        The models to train (copies are trained), ``models[g]`` on ``datasets[g]``: all
        :class:`SANODE` with ``per_component=False`` or all :class:`VanillaNODE` with the
        same ``num_pieces`` and ``T``; each with ``d`` equal to the data's dimension.
    tests : sequence of G arrays (N', M, d), optional
        Test trajectories on the same times, ``tests[g]`` for ``models[g]`` (N' may differ
        between models); ``None`` (default): no test errors (NaN).
    epochs, lr, barron_penalty, solver, lr_decay, progress, device, dtype
        As in :func:`fit_sanode`.

    Returns
    -------
    list of SANODEFit
        One per model; ``train_time_s`` is the time of the joint training (shared).
    """
    from ._stack import StackedField

    if not isinstance(models, list | tuple) or len(models) == 0:
        raise ParameterError("models must be a non-empty list of SANODE or VanillaNODE models")
    if not isinstance(datasets, list | tuple) or len(datasets) != len(models):
        raise DatasetError(f"datasets must be a list with one trajectory array per model "
                           f"({len(models)}); got {type(datasets).__name__}"
                           f"{'' if not hasattr(datasets, '__len__') else f' of {len(datasets)}'}")
    checked = [check_trajectories(D, t, name=f"datasets[{g}]") for g, D in enumerate(datasets)]
    tt = checked[0][1]
    Xs = [c[0] for c in checked]
    if len({X.shape for X in Xs}) > 1:
        raise DatasetError("datasets must all have the same shape (N, M, d); got "
                           f"{[X.shape for X in Xs]}: subsample to a common N")
    d = Xs[0].shape[2]
    if tests is not None:
        if len(tests) != len(models):
            raise DatasetError(f"tests must hold one array per model ({len(models)}); got {len(tests)}")
        Ts = [check_trajectories(D, tt, name=f"tests[{g}]", d=d)[0] for g, D in enumerate(tests)]
    for g, m in enumerate(models):
        _check_model(m, d, name=f"models[{g}]")
    opts = _check_options(epochs, lr, barron_penalty, solver, lr_decay, device, dtype, models[0])
    dev, dt = opts["device"], opts["dtype"]
    net = StackedField([copy.deepcopy(m).to(dtype=dt) for m in models]).to(device=dev)
    G = len(models)
    Xt = torch.as_tensor(np.stack(Xs, 0), dtype=dt, device=dev).permute(2, 0, 1, 3).contiguous()
    T_ = torch.as_tensor(tt, dtype=dt, device=dev)

    def run(x0: torch.Tensor) -> torch.Tensor:
        return integrate(net, x0, T_, solver=solver)

    def errors(data: list[np.ndarray]) -> list[tuple[float, float, np.ndarray]]:
        if len({D.shape[0] for D in data}) > 1:  # unequal test sizes: one model at a time
            out = []
            for g, D in enumerate(data):
                x0 = torch.zeros(G, D.shape[0], d, dtype=dt, device=dev)
                x0[g] = torch.as_tensor(D[:, 0], dtype=dt, device=dev)
                with torch.no_grad():
                    pred = run(x0)[:, g].permute(1, 0, 2).double().cpu().numpy()
                out.append(trajectory_errors(pred, D))
            return out
        x0 = torch.as_tensor(np.stack([D[:, 0] for D in data]), dtype=dt, device=dev)
        with torch.no_grad():
            pred = run(x0).permute(1, 2, 0, 3).double().cpu().numpy()  # (G, N, M, d)
        return [trajectory_errors(pred[g], D) for g, D in enumerate(data)]

    init = errors(Xs)
    history, status, train_time = _optimise(net, run, Xt[0], _mse_loss(Xt, G), opts, progress,
                                            f"fit {G} x {net.kind.__name__}")
    tr = errors(Xs)
    nan = (float("nan"), float("nan"), np.empty(0))
    te = errors(Ts) if tests is not None else [nan] * G
    trained = net.unstack(list(models))
    return [SANODEFit(m, history, tr[g][0], tr[g][1], te[g][0], te[g][1], init[g][0], tr[g][2],
                      te[g][2], int(sum(p.numel() for p in m.parameters())), opts["epochs"], solver,
                      train_time, status, str(dev)) for g, m in enumerate(trained)]

r"""SA-NODEs for linear transport equations, through their characteristics.

For :math:`\rho_t+\operatorname{div}(f\rho)=0`, :math:`\rho(\cdot,0)=z_0`, the density along a
characteristic :math:`\dot x=f(x,t)` obeys :math:`\dot z=-\operatorname{div}f(x,t)\,z`.  The
transport variant of the SA-NODE learns :math:`f_\theta` from samples of the augmented system
:math:`(x,z)`, with the *exact* divergence of :math:`f_\theta` (:meth:`SANODE.divergence`), and
the learned solution at :math:`(y,\tau)` is read off the backward characteristic:

.. math:: \rho_\theta(y,\tau)=z_0\big(X_\theta(0;y,\tau)\big)\,
          \exp\Big(-\int_0^\tau\operatorname{div}f_\theta\big(X_\theta(s;y,\tau),s\big)\,ds\Big).

Fields (the authors'):

* ``"sin"``: :math:`f=(\sin x,\sin y)/(1+t^2)` on :math:`[-4,4]^2`, training density
  :math:`z_0=0.5`, test density :math:`e^{-|x|^2/4}`.
* ``"doswell"``: the Doswell vortex :math:`f=c\,\mathrm{sech}^2r\,\tanh r/r\,(-y,x)`,
  :math:`c=2.59807` (:math:`=3\sqrt3/2`; the authors' ``utils.py`` has 2.58907), on
  :math:`[-5,5]^2`, :math:`z_0=\tanh(y/\sigma)`, :math:`\sigma=1` for training, 0.1 for testing.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torch import nn

from .._checks import as_points, check_int, check_option, check_positive
from ..errors import ConvergenceError, DatasetError, ParameterError
from ._fit import (
    _check_horizon,
    _check_options,
    _optimise,
    _Shifted,
    _windows,
    check_trajectories,
    integrate,
)
from ._models import SANODE

__all__ = ["TRANSPORT_FIELDS", "DOSWELL_CONSTANT", "TransportData", "TransportFit",
           "transport_field", "initial_density", "transport_data", "fit_transport",
           "transport_solution", "transport_reference", "relative_l1"]

#: The two transport test cases of the authors.
TRANSPORT_FIELDS = ("sin", "doswell")
#: The Doswell vortex constant 3 sqrt(3) / 2 (normalises the peak tangential speed to 1).
DOSWELL_CONSTANT = 2.59807
_BOX = {"sin": 4.0, "doswell": 5.0}


def _doswell_omega(r: np.ndarray) -> np.ndarray:
    r = np.maximum(r, 1e-12)
    return DOSWELL_CONSTANT * np.tanh(r) / np.cosh(r) ** 2 / r


def transport_field(name: str) -> tuple[Callable, Callable]:
    r"""``(f, div)`` of a field: ``f(t, X)`` -> (N, 2) and ``div(t, X)`` -> (N,) for X (N, 2).

    Parameters
    ----------
    name : {"sin", "doswell"}
        The authors' field (see the module docstring): :math:`(\sin x,\sin y)/(1+t^2)`,
        with divergence :math:`(\cos x+\cos y)/(1+t^2)`, or the Doswell vortex, a rotation
        whose divergence is 0.

    Returns
    -------
    f : callable
        ``f(t, X)``: the velocity at points ``X`` (N, 2) and scalar time ``t``, shape (N, 2).
    div : callable
        ``div(t, X)``: :math:`\operatorname{div}_x f` at the same points, shape (N,).
    """
    check_option(name, "field", TRANSPORT_FIELDS)
    if name == "sin":
        def f(t: float, X: np.ndarray) -> np.ndarray:
            return np.sin(X) / (1.0 + t * t)

        def div(t: float, X: np.ndarray) -> np.ndarray:
            return np.cos(X).sum(1) / (1.0 + t * t)
    else:
        def f(t: float, X: np.ndarray) -> np.ndarray:
            w = _doswell_omega(np.hypot(X[:, 0], X[:, 1]))
            return np.column_stack([-w * X[:, 1], w * X[:, 0]])

        def div(t: float, X: np.ndarray) -> np.ndarray:
            return np.zeros(X.shape[0])   # a rotation with speed depending on r only
    return f, div


def initial_density(name: str, *, test: bool = False, sigma: float | None = None) -> Callable:
    r"""The authors' initial density ``z0(X)`` (N,) for field ``name`` (training, or ``test``).

    Parameters
    ----------
    name : {"sin", "doswell"}
        The transport field.  ``"sin"``: constant 0.5 for training, :math:`e^{-|x|^2/4}`
        for testing.  ``"doswell"``: :math:`\tanh(y/\sigma)`.
    test : bool
        ``False`` (default): the training density; ``True``: the test density.
    sigma : float, optional
        Width :math:`\sigma > 0` of the Doswell density; default 1.0 for training and 0.1 for
        testing.  Ignored for ``"sin"``.

    Returns
    -------
    callable
        ``z0(X)``: the density at points ``X`` (N, 2), shape (N,).
    """
    check_option(name, "field", TRANSPORT_FIELDS)
    if name == "sin":
        if test:
            return lambda X: np.exp(-(X**2).sum(1) / 4.0)
        return lambda X: np.full(X.shape[0], 0.5)
    s = check_positive(sigma if sigma is not None else (0.1 if test else 1.0), "sigma")
    return lambda X: np.tanh(X[:, 1] / s)


def _characteristics(f: Callable, div: Callable, X0: np.ndarray, z0: np.ndarray, t: np.ndarray,
                     rtol: float, log: bool = False) -> np.ndarray:
    """(N, M, 3): x and z along the characteristics from X0 at times t (t may decrease).

    With ``log``, the third column is the integral of div f from t[0] (z0 ignored).
    """
    N = X0.shape[0]

    def rhs(s: float, u: np.ndarray) -> np.ndarray:
        X = u[: 2 * N].reshape(2, N).T
        dv = div(s, X)
        dz = dv if log else -dv * u[2 * N:]
        return np.concatenate([f(s, X).T.ravel(), dz])

    u0 = np.concatenate([X0.T.ravel(), np.zeros(N) if log else z0])
    sol = solve_ivp(rhs, (float(t[0]), float(t[-1])), u0, method="DOP853", t_eval=t, rtol=rtol,
                    atol=rtol * 1e-2)
    if not sol.success:  # pragma: no cover - smooth bounded fields
        raise ConvergenceError(f"SciPy could not integrate the characteristics: {sol.message}")
    y = sol.y.reshape(3, N, -1)
    return np.moveaxis(y, 0, -1)


@dataclass(frozen=True)
class TransportData:
    """Samples of the augmented characteristics of one field.

    Attributes
    ----------
    field : str
    t : array (M,)
    trajectories : array (N, M, 3)
        ``(x, y, z)`` along the characteristics from a grid of initial points.
    box : float
        Half-width L of the square :math:`[-L, L]^2` of initial points.
    """

    field: str
    t: np.ndarray
    trajectories: np.ndarray
    box: float


def transport_data(field: str = "sin", *, spacing: float = 0.2, T: float = 5.0,
                   num_times: int = 51, sigma: float | None = None,
                   rtol: float = 1e-10) -> TransportData:
    r"""Characteristics ``(x, z)`` from a grid of spacing ``spacing`` on the field's box.

    ``z0`` is the authors' training density (``sigma`` overrides the Doswell width).  Solved
    by SciPy DOP853 at ``rtol`` (the authors: RK45 at 1e-5).  Each row follows
    :math:`\dot x=f(x,t)`, :math:`\dot z=-\operatorname{div}f(x,t)\,z` from
    :math:`(x_0, z_0(x_0))` at :math:`t=0`.

    Parameters
    ----------
    field : {"sin", "doswell"}
        The transport field (default ``"sin"``); its box is :math:`[-4,4]^2` or
        :math:`[-5,5]^2`.
    spacing : float
        Grid step h > 0 of the initial points: ``round(2 L / h) + 1`` points per axis of the
        box :math:`[-L, L]^2` (default 0.2, 41 x 41 points for ``"sin"``).
    T : float
        Horizon > 0 (default 5.0).
    num_times : int
        Number of equispaced sample times on :math:`[0, T]` (>= 2, default 51).
    sigma : float, optional
        Width of the Doswell training density :math:`\tanh(y/\sigma)` (default 1.0);
        ignored for ``"sin"``.
    rtol : float
        Relative tolerance of DOP853 (default 1e-10; absolute tolerance ``rtol / 100``).

    Returns
    -------
    TransportData
        With ``trajectories`` of shape (n * n, num_times, 3).
    """
    check_option(field, "field", TRANSPORT_FIELDS)
    h = check_positive(spacing, "spacing")
    T = check_positive(T, "T")
    num_times = check_int(num_times, "num_times", minimum=2)
    L = _BOX[field]
    n = int(round(2 * L / h)) + 1
    if n < 2:
        raise ParameterError(f"spacing must be below the box width {2 * L}; got {spacing}")
    g = np.linspace(-L, L, n)
    GX, GY = np.meshgrid(g, g)
    X0 = np.column_stack([GX.ravel(), GY.ravel()])
    f, div = transport_field(field)
    z0 = initial_density(field, sigma=sigma)(X0)
    t = np.linspace(0.0, T, num_times)
    return TransportData(field, t, _characteristics(f, div, X0, z0, t, check_positive(rtol, "rtol")), L)


class _Augmented(nn.Module):
    """The augmented field (f, -div f z) of a model, as an ODE right-hand side."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.d = model.d + 1

    def forward(self, t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return self.model.augmented(t, state)

    def barron_norm(self) -> torch.Tensor:
        return self.model.barron_norm()


class _LogAugmented(_Augmented):
    """(f, div f): positions and the running integral of the divergence."""

    def forward(self, t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        x = state[:, : self.model.d]
        return torch.cat([self.model(t, x), self.model.divergence(x, t)[:, None]], 1)


@dataclass(frozen=True)
class TransportFit:
    """Result of :func:`fit_transport`.

    Attributes
    ----------
    model : SANODE
        The trained field (a copy), on CPU.
    loss_history : array (epochs,)
    x_error, z_error : float
        Max over time of the mean absolute error of positions (Euclidean) and of z on the
        training characteristics after training.
    initial_x_error, initial_z_error : float
        The same before training.
    train_time_s : float
    status : str
        ``"ok"`` or ``"diverged"``.
    """

    model: nn.Module
    loss_history: np.ndarray
    x_error: float
    z_error: float
    initial_x_error: float
    initial_z_error: float
    train_time_s: float
    status: str


def fit_transport(data: Any, t: Any = None, *, model: nn.Module | None = None, P: int = 100,
                  activation: str = "sigmoid", epochs: int = 500, lr: float = 1e-2,
                  barron_penalty: float = 1e-4, z_weight: float = 10.0, solver: str = "euler",
                  lr_decay: float = 0.8, horizon: int | None = None, random_state: Any = None,
                  progress: bool = True, device: Any = None, dtype: Any = None) -> TransportFit:
    r"""Train an SA-NODE on the augmented characteristics :math:`(\dot x,\dot z)=(f_\theta,
    -\operatorname{div}f_\theta\,z)`.

    Parameters
    ----------
    data : str, TransportData or array (N, M, d + 1)
        A field name (its :func:`transport_data` at the default sizes), generated data, or
        your own samples of ``(x, z)`` along characteristics at times ``t``.
    t : array (M,)
        Needed only with a raw array.
    model : SANODE, optional
        Default ``SANODE(d, P, activation=activation)`` (sigmoid as the authors).  A copy is
        trained; it needs ``divergence`` and ``d`` equal to the data's dimension minus one.
    P : int
        Neurons of the default model (default 100; ignored when ``model`` is given).
    activation : {"sigmoid", "tanh", "relu"}
        Activation of the default model (default ``"sigmoid"``, smooth so that
        :math:`\operatorname{div}f_\theta` is continuous; ignored when ``model`` is given).
    z_weight : float
        Weight of the MSE on z relative to the MSE on x (the authors: 1000 / 100 = 10).
    epochs, lr, barron_penalty, solver, lr_decay, horizon, random_state, progress, device, dtype
        As in :func:`fit_sanode` (``horizon``: multiple shooting on windows of that many steps).

    Returns
    -------
    TransportFit
    """
    if isinstance(data, str):
        data = transport_data(data)
    if isinstance(data, TransportData):
        t, data = data.t, data.trajectories
    if t is None:
        raise DatasetError("t is required when data is an array: the sample times (M,)")
    X, tt = check_trajectories(data, t, name="data")
    d = X.shape[2] - 1
    if d < 1:
        raise DatasetError("data must hold positions and the density z: shape (N, M, d + 1) "
                           f"with d >= 1; got {X.shape}")
    if model is None:
        model = SANODE(d, check_int(P, "P", minimum=1), activation=activation,
                       random_state=random_state)
    if not hasattr(model, "divergence") or getattr(model, "d", None) != d:
        raise DatasetError(f"model must be a SANODE or VanillaNODE with d = {d} (data has d + 1 = "
                           f"{d + 1} columns); got {type(model).__name__} with d = "
                           f"{getattr(model, 'd', None)}")
    zw = check_positive(z_weight, "z_weight")
    opts = _check_options(epochs, lr, barron_penalty, solver, lr_decay, device, dtype, model)
    k = _check_horizon(horizon, tt, model)
    dev, dt = opts["device"], opts["dtype"]
    net = _Augmented(copy.deepcopy(model).to(device=dev, dtype=dt))
    Xt = torch.as_tensor(X, dtype=dt, device=dev).permute(1, 0, 2).contiguous()
    T_ = torch.as_tensor(tt, dtype=dt, device=dev)

    def run(x0: torch.Tensor) -> torch.Tensor:
        return integrate(net, x0, T_, solver=solver)

    def make_loss(target: torch.Tensor) -> Callable:
        def loss(pred: torch.Tensor) -> torch.Tensor:
            e = (pred[1:] - target[1:]) ** 2
            return 100.0 * e[..., :d].mean() + 100.0 * zw * e[..., d].mean()
        return loss

    def errors() -> tuple[float, float]:
        with torch.no_grad():
            e = run(Xt[0]) - Xt
        return (float(e[..., :d].norm(dim=-1).mean(1).max()), float(e[..., d].abs().mean(1).max()))

    ix, iz = errors()
    if k is None:
        history, status, secs = _optimise(net, run, Xt[0], make_loss(Xt), opts, progress,
                                          "fit transport")
    else:
        x0w, t0w, sw, target = _windows(Xt, tt, k)
        shifted = _Shifted(net, t0w)

        def run_w(x0: torch.Tensor) -> torch.Tensor:
            return integrate(shifted, x0, sw, solver=solver)

        history, status, secs = _optimise(net, run_w, x0w, make_loss(target), opts, progress,
                                          "fit transport")
    x_err, z_err = errors()
    return TransportFit(net.model.to("cpu"), history, x_err, z_err, ix, iz, secs, status)


def _grid_points(grid: Any) -> np.ndarray:
    if isinstance(grid, tuple) and len(grid) == 2:
        gx = np.asarray(grid[0], dtype=float)
        gy = np.asarray(grid[1], dtype=float)
        GX, GY = np.meshgrid(gx, gy)
        return np.column_stack([GX.ravel(), GY.ravel()])
    return as_points(grid, "grid", dim=2)


def _times(t: Any) -> np.ndarray:
    tt = np.atleast_1d(np.asarray(t, dtype=float))
    if tt.ndim != 1 or not np.all(np.isfinite(tt)) or np.any(tt < 0):
        raise DatasetError(f"t must be a time >= 0 or a vector of them; got {t!r}"[:200])
    return tt


def transport_solution(model: nn.Module, z0: Callable, grid: Any, t: Any, *,
                       step_size: float = 0.02) -> np.ndarray:
    r"""The learned solution :math:`\rho_\theta(y,\tau)` of :math:`\rho_t+\operatorname{div}(f_\theta\rho)=0`.

    Each grid point ``y`` is followed backward along :math:`\dot x=f_\theta(x,s)` from
    :math:`s=\tau` to 0 (RK4, ``step_size``) while :math:`\int\operatorname{div}f_\theta`
    is accumulated; then :math:`\rho_\theta(y,\tau)=z_0(x(0))\exp(-\int_0^\tau
    \operatorname{div}f_\theta)`.

    Parameters
    ----------
    model : SANODE or VanillaNODE with d = 2
        The learned field :math:`f_\theta` (e.g. ``TransportFit.model``), with
        ``divergence``; evaluated on its own device and dtype.
    z0 : callable
        Initial density, ``z0(X)`` (N,) for X (N, 2) NumPy.
    grid : array (N, 2) or a pair ``(xs, ys)`` of 1-D arrays (meshgrid, row-major in y)
        Points ``y`` where the solution is evaluated.
    t : float or array (K,)
        Times >= 0.
    step_size : float
        Largest RK4 step of the backward integration (default 0.02); ``[0, tau]`` is split
        into ``ceil(tau / step_size)`` equal steps.

    Returns
    -------
    array (K, N)
    """
    Y = _grid_points(grid)
    tt = _times(t)
    h = check_positive(step_size, "step_size")
    if getattr(model, "d", None) != Y.shape[1] or not hasattr(model, "divergence"):
        raise DatasetError(f"model must be a SANODE/VanillaNODE with d = {Y.shape[1]}; got "
                           f"{type(model).__name__} with d = {getattr(model, 'd', None)}")
    p = next(model.parameters())
    aug = _LogAugmented(model)
    out = np.empty((tt.size, Y.shape[0]))
    for k, tau in enumerate(tt):
        if tau == 0:
            out[k] = z0(Y)
            continue
        state = torch.zeros(Y.shape[0], Y.shape[1] + 1, dtype=p.dtype, device=p.device)
        state[:, : Y.shape[1]] = torch.as_tensor(Y, dtype=p.dtype, device=p.device)
        n = max(1, math.ceil(tau / h))
        ts = torch.tensor([tau, 0.0], dtype=p.dtype, device=p.device)
        with torch.no_grad():
            end = integrate(aug, state, ts, solver="rk4", step_size=tau / n)[-1]
        end = end.double().cpu().numpy()
        out[k] = z0(end[:, :-1]) * np.exp(end[:, -1])
    return out


def transport_reference(field: str, z0: Callable, grid: Any, t: Any, *,
                        rtol: float = 1e-10) -> np.ndarray:
    r"""The exact field's solution (K, N) on ``grid`` at ``t`` by backward characteristics,
    solved by SciPy DOP853 at ``rtol`` (the authors use Euler with dt = 0.1).

    :math:`\rho(y,\tau)=z_0\big(X(0;y,\tau)\big)\exp\big(-\int_0^\tau
    \operatorname{div}f\,ds\big)` along the characteristic through :math:`(y, \tau)`.

    Parameters
    ----------
    field : {"sin", "doswell"}
        The exact transport field (:func:`transport_field`).
    z0 : callable
        Initial density, ``z0(X)`` (N,) for X (N, 2) NumPy (e.g. :func:`initial_density`).
    grid : array (N, 2) or a pair ``(xs, ys)`` of 1-D arrays (meshgrid, row-major in y)
        Points ``y`` where the solution is evaluated.
    t : float or array (K,)
        Times >= 0.
    rtol : float
        Relative tolerance of DOP853 (default 1e-10; absolute tolerance ``rtol / 100``).

    Returns
    -------
    array (K, N)
        ``out[k, i]`` is :math:`\rho(y_i, t_k)`.
    """
    f, div = transport_field(field)
    Y = _grid_points(grid)
    tt = _times(t)
    rtol = check_positive(rtol, "rtol")
    out = np.empty((tt.size, Y.shape[0]))
    for k, tau in enumerate(tt):
        if tau == 0:
            out[k] = z0(Y)
            continue
        c = _characteristics(f, div, Y, np.zeros(Y.shape[0]), np.array([tau, 0.0]), rtol, log=True)
        end = c[:, -1]
        out[k] = z0(end[:, :2]) * np.exp(end[:, 2])
    return out


def relative_l1(rho: np.ndarray, ref: np.ndarray) -> np.ndarray:
    r"""Relative L1 error sum|rho - ref| / sum|ref| along the last axis (a grid's cells).

    :math:`\sum_i|\rho_i-\rho^{\mathrm{ref}}_i|\,/\,\sum_i|\rho^{\mathrm{ref}}_i|`; on a
    uniform grid the cell area cancels, so this is the relative :math:`L^1` error.

    Parameters
    ----------
    rho : array (..., N)
        Approximate values on the N grid points (e.g. :func:`transport_solution`, (K, N)).
    ref : array (..., N)
        Reference values on the same points (e.g. :func:`transport_reference`), broadcast
        against ``rho``.

    Returns
    -------
    array (...)
        One relative error per leading index (a NumPy float64 scalar for 1-D inputs).
    """
    rho, ref = np.asarray(rho, float), np.asarray(ref, float)
    return np.abs(rho - ref).sum(-1) / np.abs(ref).sum(-1)

"""HYCO and its two baselines (physics-only fitting, PINN) through one interface.

All three take ``(physical, synthetic, data)`` and the same keywords (``epochs``,
``lr_phys``, ``lr_syn``, ``lr_schedule``, ``phys_betas``, ``random_state``,
``progress``) and return a :class:`FitResult`; inputs are copied, never modified.

HYCO (Liverani, Steynberg & Zuazua) is a two-player game. With data
:math:`(X_i, u_i)_{i \\le N}` and collocation points :math:`Z_j` redrawn each epoch,

.. math::
    J_{syn}(\\theta) = \\lambda^s_d \\tfrac1N\\sum_i |u_\\theta(X_i) - u_i|^2
                     + \\lambda^s_m \\tfrac1M\\sum_j |u_\\theta(Z_j) - u_\\varphi(Z_j)|^2,

    J_{phys}(\\varphi) = \\lambda^p_d \\tfrac1N\\sum_i |u_\\varphi(X_i) - u_i|^2
                     + \\lambda^p_m \\tfrac1M\\sum_j |u_\\varphi(Z_j) - u_\\theta(Z_j)|^2,

each player taking one Adam step on its own cost per epoch (the synthetic first, the
physical player then sees the updated network). Warm-up (the authors' rule): while the
synthetic model's last data loss exceeds ``warmup``, that epoch is a data-only step of
the synthetic model and the physical model waits.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._checks import check_int, check_nonnegative, check_option, check_positive, check_random_state
from ..errors import ConvergenceError, DatasetError, ParameterError

__all__ = ["FitResult", "hyco_fit", "physics_fit", "pinn_fit", "game_costs"]


@dataclass(frozen=True)
class FitResult:
    """What any of the three fitters returns.

    Attributes
    ----------
    method : {"hyco", "physics", "pinn"}
    params : ndarray (p,)
        Final parameters :math:`\\varphi`.
    param_history : ndarray (E + 1, p)
        :math:`\\varphi` before the first epoch and after each epoch.
    param_error : ndarray (E + 1,)
        ``physical.param_error`` along the trajectory (``nan`` if the truth is unknown).
    loss_phys : ndarray (E,)
        The physical player's cost before its step (HYCO: :math:`J_{phys}`, ``nan`` in
        warm-up epochs; physics-only: weighted data loss; PINN: residual + boundary loss).
    loss_syn : ndarray (E,)
        The synthetic player's cost before its step (HYCO: :math:`J_{syn}`; PINN: the
        total loss; physics-only: ``nan``).
    data_mse : ndarray (E,)
        Data MSE of the model that carries :math:`\\varphi` (the physical model; for the
        PINN its network) before the epoch's step.
    warmup_epochs : int
        Epochs spent in warm-up (HYCO, PINN).
    seconds : float
        Wall time of the fit.
    status : {"ok", "diverged"}
        ``"diverged"``: a loss became non-finite or the solver failed; the histories stop there.
    physical : the trained physical model (a copy; for the PINN the input model with
        :math:`\\varphi` set to the PINN's estimate).
    synthetic : the trained network (``None`` for physics-only).
    """

    method: str
    params: np.ndarray
    param_history: np.ndarray
    param_error: np.ndarray
    loss_phys: np.ndarray
    loss_syn: np.ndarray
    data_mse: np.ndarray
    warmup_epochs: int
    seconds: float
    status: str
    physical: Any = field(repr=False)
    synthetic: Any = field(repr=False)

    @property
    def final_error(self) -> float:
        """``param_error[-1]``."""
        return float(self.param_error[-1])

    def epochs_to(self, tol: float) -> int | None:
        """First epoch after which ``param_error <= tol`` (``None`` if never)."""
        hit = np.flatnonzero(self.param_error <= tol)
        return int(hit[0]) if hit.size else None


# ---------------------------------------------------------------------------------------------
# validation

def _check_physical(physical: Any) -> None:
    for attr in ("phi", "input_dim", "bounds", "param_error", "sample_collocation"):
        if not hasattr(physical, attr):
            raise ParameterError(f"physical must implement the PhysicalModel protocol; it has no "
                                 f"{attr!r} (see controlml.hyco.PhysicalModel)")
    phi = physical.phi
    if not isinstance(phi, torch.Tensor) or phi.dim() != 1 or not phi.is_floating_point():
        raise ParameterError(f"physical.phi must be a 1-D floating torch tensor; got {phi!r}")
    if not phi.requires_grad:
        raise ParameterError("physical.phi does not require grad: the physical parameters cannot be "
                             "fitted; make phi a torch.nn.Parameter (requires_grad=True)")


def _check_gradient(physical: Any, X: torch.Tensor) -> None:
    """The model's output must depend differentiably on phi (probe at the data points)."""
    out = physical(X)
    if not isinstance(out, torch.Tensor) or out.shape != (X.shape[0],):
        raise ParameterError(f"physical(X) must return a tensor of shape ({X.shape[0]},); got "
                             f"{getattr(out, 'shape', type(out).__name__)}")
    if not out.requires_grad:
        raise ParameterError("physical(X) has no gradient with respect to physical.phi (its output "
                             "does not require grad): the solver must be differentiable in phi")
    (g,) = torch.autograd.grad(out.sum(), physical.phi, allow_unused=True)
    if g is None:
        raise ParameterError("physical(X) does not depend on physical.phi (autograd found no path): "
                             "the solver must be differentiable in phi")


def _check_data(physical: Any, data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise DatasetError(f"data must be a pair (X, u) with X (N, d) and u (N,); got "
                           f"{type(data).__name__}")
    X = torch.as_tensor(np.asarray(data[0], dtype=np.float64) if not isinstance(data[0], torch.Tensor)
                        else data[0].detach().to(torch.float64))
    u = torch.as_tensor(np.asarray(data[1], dtype=np.float64) if not isinstance(data[1], torch.Tensor)
                        else data[1].detach().to(torch.float64))
    d = int(physical.input_dim)
    if X.dim() != 2 or X.shape[1] != d:
        raise DatasetError(f"data X must have shape (N, {d}) for this physical model; got "
                           f"{tuple(X.shape)}")
    u = u.reshape(-1) if u.dim() == 2 and u.shape[1] == 1 else u
    if u.shape != (X.shape[0],):
        raise DatasetError(f"data u must have shape ({X.shape[0]},) to match X; got {tuple(u.shape)}")
    if X.shape[0] == 0:
        raise DatasetError("data is empty: at least one observation is needed")
    for name, T in (("X", X), ("u", u)):
        bad = ~torch.isfinite(T)
        if bad.any():
            i = int(torch.nonzero(bad.reshape(T.shape[0], -1).any(1))[0])
            raise DatasetError(f"data {name} has a non-finite value (row {i}); remove or impute it "
                               "before fitting")
    b = np.asarray(physical.bounds, dtype=np.float64)
    lo = torch.as_tensor(b[:, 0]) - 1e-12
    hi = torch.as_tensor(b[:, 1]) + 1e-12
    out = ((X < lo) | (X > hi)).any(1)
    if out.any():
        i = int(torch.nonzero(out)[0])
        raise DatasetError(f"observation {i} at {X[i].tolist()} lies outside the model's domain "
                           f"{b.tolist()}; drop it or enlarge the physical model's domain")
    return X, u


def _check_weights(weights: Any) -> tuple[float, float, float, float]:
    if not isinstance(weights, Sequence) or len(weights) != 4:
        raise ParameterError("weights must be four numbers (lambda_d^syn, lambda_m^syn, "
                             f"lambda_d^phys, lambda_m^phys); got {weights!r}")
    names = ("data_syn", "model_syn", "data_phys", "model_phys")
    return tuple(check_nonnegative(w, f"weights[{k}] ({names[k]})")
                 for k, w in enumerate(weights))  # type: ignore[return-value]


def _check_synthetic(synthetic: Any, physical: Any) -> None:
    if not isinstance(synthetic, torch.nn.Module):
        raise ParameterError(f"synthetic must be a torch.nn.Module mapping (N, d) -> (N,); got "
                             f"{type(synthetic).__name__}")
    if not any(p.requires_grad for p in synthetic.parameters()):
        raise ParameterError("synthetic has no trainable parameters")
    d = getattr(synthetic, "input_dim", physical.input_dim)
    if d != physical.input_dim:
        raise ParameterError(f"synthetic.input_dim = {d} but the physical model's inputs have "
                             f"dimension {physical.input_dim}")


def _common(epochs: int, lr_phys: float, lr_syn: float, lr_schedule: str, phys_betas: Any) -> tuple:
    epochs = check_int(epochs, "epochs", minimum=1)
    lr_phys = check_positive(lr_phys, "lr_phys")
    lr_syn = check_positive(lr_syn, "lr_syn")
    check_option(lr_schedule, "lr_schedule", ("constant", "onecycle"))
    if not isinstance(phys_betas, Sequence) or len(phys_betas) != 2 or not all(
            0.0 <= float(b) < 1.0 for b in phys_betas):
        raise ParameterError(f"phys_betas must be two numbers in [0, 1); got {phys_betas!r}")
    return epochs, lr_phys, lr_syn, (float(phys_betas[0]), float(phys_betas[1]))


def _optim(params: list, lr: float, betas: tuple, schedule: str, epochs: int):
    opt = torch.optim.Adam(params, lr=lr, betas=betas)
    sch = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs)
           if schedule == "onecycle" else None)
    return opt, sch


def _step(opt, sch, loss: torch.Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if sch is not None:
        sch.step()


def _generator(random_state: Any) -> torch.Generator:
    rng = check_random_state(random_state)
    return torch.Generator().manual_seed(int(rng.integers(0, 2**62)))


def _collocation(physical: Any, collocation: Any, gen: torch.Generator) -> torch.Tensor:
    if callable(collocation):
        Z = collocation(gen)
    else:
        Z = physical.sample_collocation(collocation, gen)
    return torch.as_tensor(Z, dtype=torch.float64)


def _mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b.to(a.dtype)) ** 2).mean()


class _Recorder:
    def __init__(self, physical: Any, phi: torch.Tensor, epochs: int, progress: bool, desc: str):
        self.physical, self.phi = physical, phi
        self.hist = [phi.detach().cpu().numpy().copy()]
        self.lp, self.ls, self.dm = [], [], []
        self.t0 = time.perf_counter()
        self.status = "ok"
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs, desc=desc, leave=False)

    def log(self, lp: float, ls: float, dm: float) -> bool:
        self.lp.append(lp)
        self.ls.append(ls)
        self.dm.append(dm)
        p = self.phi.detach().cpu().numpy().copy()
        self.hist.append(p)
        if self.bar is not None:
            self.bar.update(1)
        ok = bool(np.all(np.isfinite(p)) and np.isfinite(dm)
                  and not (np.isinf(lp) or np.isinf(ls)))
        if not ok:
            self.status = "diverged"
        return ok

    def result(self, method: str, warm: int, physical: Any, synthetic: Any) -> FitResult:
        if self.bar is not None:
            self.bar.close()
        H = np.array(self.hist)
        err = np.array([self.physical.param_error(torch.as_tensor(h)) for h in H])
        return FitResult(method, H[-1].copy(), H, err, np.array(self.lp), np.array(self.ls),
                         np.array(self.dm), warm, time.perf_counter() - self.t0, self.status,
                         physical, synthetic)


# ---------------------------------------------------------------------------------------------
# HYCO

def game_costs(physical: Any, synthetic: Any, data: Any, Z: torch.Tensor,
               weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)) -> tuple[float, float]:
    """The two players' costs :math:`(J_{syn}, J_{phys})` at collocation points ``Z`` (M, d).

    Evaluates the two costs of :func:`hyco_fit` (see the module docstring) once, without
    gradients and without changing either model.

    Parameters
    ----------
    physical : PhysicalModel
        The solver :math:`u_\\varphi`, at its current parameters ``physical.phi``.
    synthetic : torch.nn.Module
        The network :math:`u_\\theta`, ``(N, d) -> (N,)``.
    data : (X, u)
        Observations, ``X`` (N, d) inside ``physical.bounds``, ``u`` (N,).
    Z : torch.Tensor (M, d)
        Collocation points (float64) where the two models are compared.
    weights : (lambda_d^syn, lambda_m^syn, lambda_d^phys, lambda_m^phys), default all 1
        Non-negative weights of the data and model-mismatch terms of each cost.

    Returns
    -------
    (float, float)
        :math:`J_{syn}(\\theta)` and :math:`J_{phys}(\\varphi)`.
    """
    X, u = _check_data(physical, data)
    ld_s, lm_s, ld_p, lm_p = _check_weights(weights)
    with torch.no_grad():
        us_d, us_c = synthetic(X), synthetic(Z)
        up = physical(torch.cat([X, torch.as_tensor(Z, dtype=torch.float64)]))
        up_d, up_c = up[: X.shape[0]], up[X.shape[0]:]
        js = ld_s * _mse(us_d, u) + lm_s * _mse(us_c, up_c)
        jp = ld_p * _mse(up_d, u) + lm_p * _mse(up_c, us_c)
    return float(js), float(jp)


def hyco_fit(physical: Any, synthetic: Any, data: Any, *,
             weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0), collocation: int | Callable = 200,
             epochs: int = 1288, lr_phys: float = 5e-3, lr_syn: float = 1e-3,
             warmup: float | None = 0.1, lr_schedule: str = "constant",
             phys_betas: Sequence[float] = (0.9, 0.999), random_state: Any = None,
             progress: bool = False) -> FitResult:
    """Hybrid cooperative learning: the physical and the synthetic model play a Nash game.

    Parameters
    ----------
    physical : PhysicalModel
        The solver :math:`u_\\varphi`; copied.
    synthetic : torch.nn.Module
        The network :math:`u_\\theta`, ``(N, d) -> (N,)``; copied.
    data : (X, u)
        Observations, ``X`` (N, d) inside ``physical.bounds``, ``u`` (N,).
    weights : (lambda_d^syn, lambda_m^syn, lambda_d^phys, lambda_m^phys), default all 1
    collocation : int or callable, default 200
        ``M`` points drawn each epoch by ``physical.sample_collocation``, or a callable
        ``generator -> Z (M, d)``.
    epochs : int, default 1288 (the authors' Helmholtz run)
    lr_phys, lr_syn : float, default 5e-3, 1e-3
        Adam learning rates (the peak rate under ``lr_schedule="onecycle"``).
    warmup : float or None, default 0.1
        The authors' rule: an epoch whose previous synthetic data loss exceeds ``warmup``
        is a data-only step of the synthetic model. ``None``: no warm-up.
    lr_schedule : {"constant", "onecycle"}
    phys_betas : (float, float), default (0.9, 0.999)
        Adam betas of the physical player.
    random_state : None, int or numpy Generator
        Draws the collocation points.
    progress : bool
        A tqdm bar over epochs.

    Returns
    -------
    FitResult
    """
    _check_physical(physical)
    _check_synthetic(synthetic, physical)
    X, u = _check_data(physical, data)
    ld_s, lm_s, ld_p, lm_p = _check_weights(weights)
    epochs, lr_phys, lr_syn, betas = _common(epochs, lr_phys, lr_syn, lr_schedule, phys_betas)
    if warmup is not None:
        warmup = check_positive(warmup, "warmup")
    if not callable(collocation):
        collocation = check_int(collocation, "collocation", minimum=1)
    phys, syn = copy.deepcopy(physical), copy.deepcopy(synthetic)
    _check_gradient(phys, X)
    gen = _generator(random_state)
    opt_s, sch_s = _optim(list(syn.parameters()), lr_syn, (0.9, 0.999), lr_schedule, epochs)
    opt_p, sch_p = _optim([phys.phi], lr_phys, betas, lr_schedule, epochs)
    rec = _Recorder(phys, phys.phi, epochs, progress, "HYCO")
    N = X.shape[0]
    last_syn_data = float("inf")
    warm = 0
    try:
        for _ in range(epochs):
            if warmup is not None and last_syn_data > warmup:
                loss = _mse(syn(X), u)
                last_syn_data = float(loss.detach())
                _step(opt_s, None, loss)
                if sch_s is not None:
                    sch_s.step()
                if sch_p is not None:   # keep both schedules on the same epoch count
                    opt_p.step()
                    sch_p.step()
                warm += 1
                with torch.no_grad():
                    dm = float(_mse(phys(X), u))
                if not rec.log(float("nan"), last_syn_data, dm):
                    break
                continue
            Z = _collocation(phys, collocation, gen)
            up = phys(torch.cat([X, Z]))
            up_d, up_c = up[:N], up[N:]
            # synthetic player (sees the physical field as fixed)
            us_d = syn(X)
            syn_data = _mse(us_d, u)
            js = ld_s * syn_data + lm_s * _mse(syn(Z), up_c.detach())
            last_syn_data = float(syn_data.detach())
            _step(opt_s, sch_s, js)
            # physical player (sees the updated network)
            with torch.no_grad():
                us_c = syn(Z).to(torch.float64)
            phys_data = _mse(up_d, u)
            jp = ld_p * phys_data + lm_p * _mse(up_c, us_c)
            _step(opt_p, sch_p, jp)
            if not rec.log(float(jp.detach()), float(js.detach()), float(phys_data.detach())):
                break
    except ConvergenceError:
        rec.status = "diverged"
    return rec.result("hyco", warm, phys, syn)


# ---------------------------------------------------------------------------------------------
# physics only

def physics_fit(physical: Any, synthetic: Any, data: Any, *, epochs: int = 1288,
                lr_phys: float = 5e-3, lr_syn: float = 1e-3, data_weight: float = 1.0,
                lr_schedule: str = "constant", phys_betas: Sequence[float] = (0.9, 0.999),
                random_state: Any = None, progress: bool = False) -> FitResult:
    """The physical model alone fitted to the data: Adam on :math:`\\lambda_d\\,\\mathrm{MSE}(u_\\varphi(X), u)`.

    Same interface as :func:`hyco_fit`; ``synthetic`` and ``lr_syn`` are accepted and
    ignored (pass ``None`` for ``synthetic``), ``random_state`` is unused (the fit is
    deterministic).

    Parameters
    ----------
    physical : PhysicalModel
        The solver :math:`u_\\varphi`; copied.
    synthetic : torch.nn.Module or None
        Ignored (kept for the common interface); the result's ``synthetic`` is ``None``.
    data : (X, u)
        Observations, ``X`` (N, d) inside ``physical.bounds``, ``u`` (N,).
    epochs : int, default 1288
        Number of full-batch Adam steps on :math:`\\varphi`.
    lr_phys : float, default 5e-3
        Adam learning rate of :math:`\\varphi` (the peak rate under ``"onecycle"``).
    lr_syn : float, default 1e-3
        Ignored; still checked to be positive.
    data_weight : float, default 1.0
        The weight :math:`\\lambda_d > 0` of the data loss.
    lr_schedule : {"constant", "onecycle"}
        Constant learning rate, or PyTorch's ``OneCycleLR`` over ``epochs`` steps.
    phys_betas : (float, float), default (0.9, 0.999)
        Adam betas of the physical parameters, each in ``[0, 1)``.
    random_state : None, int or numpy Generator
        Unused (checked only).
    progress : bool
        A tqdm bar over epochs.

    Returns
    -------
    FitResult
        ``method="physics"``; ``loss_phys`` is the weighted data loss, ``loss_syn`` is ``nan``.
    """
    _check_physical(physical)
    X, u = _check_data(physical, data)
    epochs, lr_phys, lr_syn, betas = _common(epochs, lr_phys, lr_syn, lr_schedule, phys_betas)
    data_weight = check_positive(data_weight, "data_weight")
    check_random_state(random_state)
    phys = copy.deepcopy(physical)
    _check_gradient(phys, X)
    opt, sch = _optim([phys.phi], lr_phys, betas, lr_schedule, epochs)
    rec = _Recorder(phys, phys.phi, epochs, progress, "physics-only")
    try:
        for _ in range(epochs):
            d = _mse(phys(X), u)
            loss = data_weight * d
            _step(opt, sch, loss)
            if not rec.log(float(loss.detach()), float("nan"), float(d.detach())):
                break
    except ConvergenceError:
        rec.status = "diverged"
    return rec.result("physics", 0, phys, None)


# ---------------------------------------------------------------------------------------------
# PINN

def pinn_fit(physical: Any, synthetic: Any, data: Any, *, epochs: int = 1288,
             lr_phys: float = 5e-3, lr_syn: float = 1e-3, n_interior: int = 400,
             n_boundary: int = 400, boundary_weight: float = 10.0, data_weight: float = 1.0,
             warmup: float | None = None, lr_schedule: str = "constant",
             phys_betas: Sequence[float] = (0.9, 0.999), random_state: Any = None,
             progress: bool = False) -> FitResult:
    """A physics-informed network with :math:`\\varphi` as trainable parameters (the PINN baseline).

    The network (a copy of ``synthetic``, so it has the same size as HYCO's) and
    :math:`\\varphi` minimise

    .. math::
        \\lambda_d\\,\\mathrm{MSE}(u_\\theta(X), u) + \\tfrac1{M}\\sum_j |R_\\varphi[u_\\theta]\\,(Z_j)|^2
        + \\lambda_b \\tfrac1{M_b}\\sum_k |u_\\theta(B_k) - g_k|^2,

    with the PDE residual :math:`R_\\varphi` by autograd (``physical.pde_residual``),
    ``n_interior`` points ``Z`` and ``n_boundary`` boundary points ``B`` redrawn each epoch
    (``physical.sample_boundary``). ``warmup``: while the physics loss exceeds it, only the
    network is trained, on the physics loss (the authors' phase 1; their threshold 1 with
    an initial value 1 never fires, hence the default ``None``). Adam with ``lr_syn`` for the
    network and ``lr_phys`` for :math:`\\varphi`.

    Parameters
    ----------
    physical : PhysicalModel
        Supplies the domain, the samplers, ``pde_residual`` and ``sample_boundary``, and the
        initial :math:`\\varphi`; copied (the solver itself is not used in training).
    synthetic : torch.nn.Module
        The network :math:`u_\\theta`, ``(N, d) -> (N,)``, with a smooth activation (it is
        differentiated twice; ReLU is refused); copied.
    data : (X, u)
        Observations, ``X`` (N, d) inside ``physical.bounds``, ``u`` (N,).
    epochs : int, default 1288
        Number of full-batch Adam steps.
    lr_phys : float, default 5e-3
        Adam learning rate of :math:`\\varphi` (the peak rate under ``"onecycle"``).
    lr_syn : float, default 1e-3
        Adam learning rate of the network (the peak rate under ``"onecycle"``).
    n_interior : int, default 400
        Number ``M >= 1`` of collocation points ``Z`` drawn each epoch.
    n_boundary : int, default 400
        Number of boundary points ``B`` drawn each epoch (``>= 4``; split as
        ``physical.sample_boundary`` does).
    boundary_weight : float, default 10.0
        The weight :math:`\\lambda_b \\ge 0` of the boundary term.
    data_weight : float, default 1.0
        The weight :math:`\\lambda_d > 0` of the data term.
    warmup : float or None, default None
        While the previous epoch's physics loss (residual + boundary) exceeds ``warmup``, the
        epoch trains the network on the physics loss only and :math:`\\varphi` waits.
        ``None``: no warm-up.
    lr_schedule : {"constant", "onecycle"}
        Constant learning rates, or PyTorch's ``OneCycleLR`` over ``epochs`` steps.
    phys_betas : (float, float), default (0.9, 0.999)
        Adam betas of :math:`\\varphi`, each in ``[0, 1)``.
    random_state : None, int or numpy Generator
        Draws the collocation and boundary points.
    progress : bool
        A tqdm bar over epochs.

    Returns
    -------
    FitResult
        ``method="pinn"``; ``loss_phys`` is the physics loss, ``loss_syn`` the total loss and
        ``data_mse`` the network's data MSE; ``physical`` carries the PINN's :math:`\\varphi`.
    """
    _check_physical(physical)
    for attr in ("pde_residual", "sample_boundary"):
        if not hasattr(physical, attr):
            raise ParameterError(f"pinn_fit needs physical.{attr} (see PhysicalModel)")
    _check_synthetic(synthetic, physical)
    if getattr(synthetic, "activation", None) == "relu":
        raise ParameterError("pinn_fit differentiates the network twice, and a ReLU network has zero "
                             "second derivatives: use a smooth activation (e.g. Synthetic("
                             "activation='tanh'))")
    X, u = _check_data(physical, data)
    epochs, lr_phys, lr_syn, betas = _common(epochs, lr_phys, lr_syn, lr_schedule, phys_betas)
    n_interior = check_int(n_interior, "n_interior", minimum=1)
    n_boundary = check_int(n_boundary, "n_boundary", minimum=4)
    boundary_weight = check_nonnegative(boundary_weight, "boundary_weight")
    data_weight = check_positive(data_weight, "data_weight")
    if warmup is not None:
        warmup = check_positive(warmup, "warmup")
    phys, net = copy.deepcopy(physical), copy.deepcopy(synthetic)
    _check_gradient(phys, X)
    gen = _generator(random_state)
    phi = torch.nn.Parameter(phys.phi.detach().clone())
    opt_n, sch_n = _optim(list(net.parameters()), lr_syn, (0.9, 0.999), lr_schedule, epochs)
    opt_p, sch_p = _optim([phi], lr_phys, betas, lr_schedule, epochs)
    rec = _Recorder(phys, phi, epochs, progress, "PINN")

    def u_fn(Y: torch.Tensor) -> torch.Tensor:
        return net(Y).to(torch.float64)

    last_phys = float("inf")
    warm = 0
    for _ in range(epochs):
        Z = phys.sample_collocation(n_interior, gen)
        B, g = phys.sample_boundary(n_boundary, gen)
        res = phys.pde_residual(u_fn, Z, phi)
        lphys = (res ** 2).mean() + boundary_weight * _mse(u_fn(B), g)
        d = _mse(u_fn(X), u)
        in_warmup = warmup is not None and last_phys > warmup
        last_phys = float(lphys.detach())
        loss = lphys if in_warmup else lphys + data_weight * d
        opt_n.zero_grad(set_to_none=True)
        opt_p.zero_grad(set_to_none=True)
        loss.backward()
        opt_n.step()
        if in_warmup:
            warm += 1
            phi.grad = None          # phi waits: Adam skips a parameter without gradient
        opt_p.step()
        for s in (sch_n, sch_p):
            if s is not None:
                s.step()
        if not rec.log(float(lphys.detach()), float(loss.detach()), float(d.detach())):
            break
    with torch.no_grad():
        phys.phi.copy_(phi)
    return rec.result("pinn", warm, phys, net)

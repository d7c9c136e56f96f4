"""Training the neural ODE (3.3) by minimising the BV-regularised empirical risk (3.13).

.. math::
    J_\\alpha(a, b, w) = \\alpha \\|(a, b, w)\\|^2_{BV(0,T)} + \\sum_{i=1}^N |\\Phi_T(x_i) - y_i|^2,

with :math:`\\|\\theta\\|_{BV} = \\|\\theta\\|_{L^1(0,T)} + |\\theta|_{TV}` exactly as in
:meth:`Control.bv_norm` (so the trained norm is comparable with the constant K of (3.11)
computed from a constructed control).  The controls live on ``L + 1`` pieces of fixed
durations; gradients come from :class:`TorchNODE` (closed form for ReLU, P = 1).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..._checks import (
    as_points,
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
    check_same_rows,
)
from ..._io import load_checkpoint_file, save_checkpoint_file
from ...errors import ControlError, ParameterError
from ..flows._activations import ACTIVATIONS
from ..flows._control import Control
from ..flows._flow import flow
from ._torch import TorchNODE

__all__ = ["TrainingResult", "fit", "training_objective", "save_checkpoint", "load_checkpoint"]

_FORMAT = "controlml.node.TorchNODE/1"
_CHECKPOINT_NAME = "node_fit.safetensors"


@dataclass(frozen=True)
class TrainingResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    control : Control
        The best parameters met (lowest training objective), as a float64 control.
    objective : float
        :math:`J_\\alpha` of ``control`` recomputed in float64 with the exact NumPy
        :func:`~controlml.node.flow` and :meth:`Control.bv_norm`.
    risk : float
        :math:`\\sum_i |\\Phi_T(x_i) - y_i|^2` (exact flow).
    bv_norm_sq : float
        :math:`\\|\\theta^*\\|^2_{BV}` = ``control.bv_norm() ** 2``.
    alpha : float
        The regularisation weight.
    initial_objective : float
        :math:`J_\\alpha` of the initial parameters (exact flow).
    history : array (epochs,)
        Training objective (the module's own integrator) after each epoch.
    epochs : int
        Epochs run.
    status : str
        ``"converged"`` (no relative improvement above ``tol`` in ``patience`` epochs),
        ``"max_epochs"`` or ``"nonfinite"`` (the objective overflowed; the best finite
        parameters are returned).
    checkpoint : str or None
        The last checkpoint written, if a ``checkpoint_dir`` was given.
    """

    control: Control
    objective: float
    risk: float
    bv_norm_sq: float
    alpha: float
    initial_objective: float
    history: np.ndarray
    epochs: int
    status: str
    checkpoint: str | None = None


def training_objective(control: Control, X: Any, Y: Any, *, alpha: float,
                       activation: str = "relu") -> tuple[float, float, float]:
    """:math:`J_\\alpha` (3.13) of a control, in float64 with the exact flow.

    Parameters
    ----------
    control : Control
    X, Y : array (N, d)
        Inputs and targets.
    alpha : float
        Weight :math:`\\alpha \\ge 0` of :math:`\\|\\theta\\|^2_{BV}`.
    activation : str

    Returns
    -------
    (J, risk, bv_norm_sq) : tuple of float
        :math:`J_\\alpha`, :math:`\\sum_i|\\Phi_T(x_i) - y_i|^2` and :math:`\\|\\theta\\|^2_{BV}`.
    """
    if not isinstance(control, Control):
        raise ControlError(f"control must be a Control; got {type(control).__name__}")
    X = as_points(X, "X", dim=control.dim)
    Y = as_points(Y, "Y", dim=control.dim)
    check_same_rows(X, Y)
    alpha = check_nonnegative(alpha, "alpha")
    risk = float(np.sum((flow(control, X, activation=activation) - Y) ** 2))
    bv2 = control.bv_norm() ** 2
    return alpha * bv2 + risk, risk, bv2


# ----------------------------------------------------------------------------- checkpoints
def save_checkpoint(module: TorchNODE, path: str | Path, *, epoch: int | None = None) -> Path:
    """Write a :class:`TorchNODE` to ``path`` atomically (a safetensors file: no pickles).

    Read it back with :func:`load_checkpoint`.

    Parameters
    ----------
    module : TorchNODE
        The module whose parameters (durations, W, A, b) and integrator settings
        (activation, method, steps_per_piece, rtol, atol) are written.
    path : str or Path
        File to write (replaced atomically if it exists).
    epoch : int, optional
        Training epoch recorded in the metadata (stored as -1 when None).

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ParameterError
        ``module`` is not a :class:`TorchNODE`.
    """
    if not isinstance(module, TorchNODE):
        raise ParameterError(f"module must be a TorchNODE; got {type(module).__name__}")
    tensors = {"durations": module.durations, "W": module.W, "A": module.A, "b": module.b}
    meta = {"activation": module.activation, "method": module.method,
            "steps_per_piece": module.steps_per_piece, "rtol": module.rtol, "atol": module.atol,
            "epoch": -1 if epoch is None else int(epoch)}
    return save_checkpoint_file(path, _FORMAT, tensors, meta)


def load_checkpoint(path: str | Path, *, device: str | torch.device | None = None,
                    dtype: torch.dtype | None = None) -> tuple[TorchNODE, int]:
    """Read a file written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or Path
        The checkpoint file.
    device : str or torch.device, optional
        Where to put the parameters (default: as :class:`TorchNODE`, the CPU).
    dtype : torch.dtype, optional
        Dtype of the parameters (default: the dtype stored in the file).

    Returns
    -------
    (module, epoch) : (TorchNODE, int)
        ``epoch`` is -1 when none was recorded.
    """
    t, meta = load_checkpoint_file(
        path, _FORMAT, what="TorchNODE",
        meta_keys=("activation", "method", "steps_per_piece", "rtol", "atol", "epoch"),
        tensor_keys=("durations", "W", "A", "b"))
    dtype = dtype or t["W"].dtype
    module = TorchNODE(t["durations"].numpy(), t["W"], t["A"], t["b"],
                       activation=meta["activation"], method=meta["method"],
                       steps_per_piece=int(meta["steps_per_piece"]), rtol=float(meta["rtol"]),
                       atol=float(meta["atol"]), dtype=dtype, device=device)
    return module, int(meta["epoch"])


# ----------------------------------------------------------------------------- the loop
@dataclass
class _LoopOut:
    best_state: dict[str, torch.Tensor]
    history: np.ndarray
    epochs: int
    status: str
    checkpoint: str | None


def _optimise(module: TorchNODE, loss_fn: Callable[[], torch.Tensor], *, epochs: int, lr: float,
              optimizer: str, patience: int, tol: float, progress: bool, desc: str,
              schedule: str, checkpoint_dir: Path | None, checkpoint_every: int) -> _LoopOut:
    """Minimise ``loss_fn()`` over ``module``'s parameters, keeping the best state met."""
    params = [module.W, module.A, module.b]
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr)
    else:
        opt = torch.optim.LBFGS(params, lr=lr, max_iter=20, history_size=50,
                                line_search_fn="strong_wolfe")

    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=lr * 1e-2)
             if schedule == "cosine" else None)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    best = math.inf
    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    since, hist, status = 0, [], "max_epochs"
    ckpt: str | None = None
    bar = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc=desc, leave=False)
    for ep in bar:
        if optimizer == "adam":
            loss = closure()
            val = float(loss.detach())
            best, best_state, since = _track(val, best, best_state, since, module, tol)
            if not math.isfinite(val):
                status = "nonfinite"
                break
            opt.step()
            if sched is not None:
                sched.step()
        else:
            with torch.no_grad():
                before = float(loss_fn().detach())
            best, best_state, since = _track(before, best, best_state, since, module, tol)
            opt.step(closure)
            with torch.no_grad():
                val = float(loss_fn().detach())
            if not math.isfinite(val):
                status = "nonfinite"
                break
        hist.append(val)
        if progress:
            bar.set_postfix(J=f"{best:.4g}")
        if checkpoint_dir is not None and (ep + 1) % checkpoint_every == 0:
            ckpt = str(_write_best(module, best_state, checkpoint_dir, ep + 1))
        if since >= patience:
            status = "converged"
            break
    # a final evaluation of the last iterate (Adam's step after the last recorded loss)
    with torch.no_grad():
        last = float(loss_fn().detach())
    if math.isfinite(last) and last < best:
        best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    module.load_state_dict(best_state)
    if checkpoint_dir is not None:
        ckpt = str(_write_best(module, best_state, checkpoint_dir, len(hist)))
    return _LoopOut(best_state, np.asarray(hist, dtype=np.float64), len(hist), status, ckpt)


def _track(val: float, best: float, best_state: dict, since: int, module: TorchNODE,
           tol: float) -> tuple[float, dict, int]:
    """Keep the best state met; count epochs without a relative improvement above tol."""
    if not (math.isfinite(val) and val < best):
        return best, best_state, since + 1
    improved = val < best - tol * max(abs(best), 1e-300) if math.isfinite(best) else True
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    return val, state, 0 if improved else since + 1


def _write_best(module: TorchNODE, best_state: dict, folder: Path, epoch: int) -> Path:
    current = {k: v.detach().clone() for k, v in module.state_dict().items()}
    module.load_state_dict(best_state)
    try:
        return save_checkpoint(module, folder / _CHECKPOINT_NAME, epoch=epoch)
    finally:
        module.load_state_dict(current)


def _check_training(epochs: Any, lr: Any, optimizer: Any, patience: Any, tol: Any,
                    checkpoint_dir: Any, checkpoint_every: Any) -> tuple:
    epochs = check_int(epochs, "epochs", minimum=1)
    lr = check_positive(lr, "lr")
    optimizer = check_option(optimizer, "optimizer", ("adam", "lbfgs"))
    patience = check_int(patience, "patience", minimum=1)
    tol = check_nonnegative(tol, "tol")
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
    if checkpoint_dir is not None:
        if not isinstance(checkpoint_dir, str | Path):
            raise ParameterError(f"checkpoint_dir must be a folder path or None; got {type(checkpoint_dir).__name__}")
        checkpoint_dir = Path(checkpoint_dir)
        if checkpoint_dir.exists() and not checkpoint_dir.is_dir():
            raise ParameterError(f"checkpoint_dir {str(checkpoint_dir)!r} exists and is not a folder")
    return epochs, lr, optimizer, patience, tol, checkpoint_dir, checkpoint_every


def _deprecated_seed(random_state: Any, seed: Any, func: str) -> Any:
    """``seed`` is the old name of ``random_state``: FutureWarning, and the value it had."""
    if seed is None:
        return random_state
    warnings.warn(f"{func}(seed=...) is deprecated and will be removed in the next release; "
                  "use random_state=... (an int, None or a numpy Generator)", FutureWarning, stacklevel=3)
    if random_state is not None:
        raise ParameterError(f"{func}: pass random_state only (seed is its deprecated alias); got both")
    return seed


def torch_generator_from(random_state: Any, name: str = "random_state") -> torch.Generator:
    """A CPU :class:`torch.Generator` derived from ``random_state``.

    An int seeds it directly (so ``random_state=k`` gives the numbers the old ``seed=k``
    gave), a :class:`numpy.random.Generator` draws its seed, ``None`` seeds it from the OS;
    a :class:`torch.Generator` is used as it is.
    """
    if isinstance(random_state, torch.Generator):
        return random_state
    gen = torch.Generator()
    if random_state is None:
        gen.seed()
    elif isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        gen.manual_seed(int(random_state))
    elif isinstance(random_state, np.random.Generator):
        gen.manual_seed(int(random_state.integers(0, 2**63 - 1)))
    else:
        raise ParameterError(f"{name} must be None, an int or a numpy Generator (or a torch.Generator); "
                             f"got {random_state!r}")
    return gen


def _random_module(num_pieces: int, d: int, P: int, T: float, init_scale: float, random_state: Any,
                   activation: str, method: str, steps_per_piece: int, dtype, device) -> TorchNODE:
    gen = torch_generator_from(random_state)
    n = num_pieces
    W = torch.randn(n, d, P, generator=gen, dtype=torch.float64) * init_scale / math.sqrt(P)
    A = torch.randn(n, P, d, generator=gen, dtype=torch.float64) * init_scale / math.sqrt(d)
    b = torch.randn(n, P, generator=gen, dtype=torch.float64) * init_scale
    return TorchNODE(np.full(n, T / n), W, A, b, activation=activation, method=method,
                     steps_per_piece=steps_per_piece, dtype=dtype, device=device)


def fit(X: Any, Y: Any, *, alpha: float, init: Control | TorchNODE | None = None,
        num_pieces: int | None = None, width: int = 1, T: float = 1.0,
        activation: str = "relu", method: str = "auto", steps_per_piece: int = 8,
        init_scale: float = 0.5, epochs: int = 1000, lr: float = 1e-2, optimizer: str = "adam",
        schedule: str = "constant", patience: int = 200, tol: float = 1e-7, checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 100, random_state: Any = None,
        dtype: torch.dtype | None = None, device: str | torch.device | None = None,
        progress: bool = False, seed: Any = None) -> TrainingResult:
    """Train a piecewise-constant neural ODE by minimising :math:`J_\\alpha` (3.13).

    .. math::
        \\min_{\\theta = (W_k, A_k, b_k)_{k=0}^{L}}\\ J_\\alpha(\\theta) =
        \\alpha \\|\\theta\\|^2_{BV(0,T)} + \\sum_{i=1}^N |\\Phi_T(x_i; \\theta) - y_i|^2.

    Parameters
    ----------
    X, Y : array (N, d)
        Inputs :math:`x_i` and targets :math:`y_i`.
    alpha : float
        :math:`\\alpha \\ge 0`.
    init : Control or TorchNODE, optional
        Start from these parameters (e.g. a constructed control from
        :func:`~controlml.node.interpolate`, or a module from :func:`load_checkpoint`);
        its pieces, durations and width are kept.  Default: random parameters.
    num_pieces : int, optional
        L + 1 for a random start (equal durations T / (L + 1)); default 2N (the number of
        pieces of the width-1 construction).  Not allowed with ``init``.
    width : int
        P for a random start.
    T : float
        Horizon for a random start.
    activation, method, steps_per_piece
        See :class:`TorchNODE` (``"auto"``: the exact closed form for ReLU, P = 1).
    init_scale : float
        Standard deviation scale of a random start (W ~ s/sqrt(P), A ~ s/sqrt(d), b ~ s).
    epochs : int
        Maximum number of optimiser steps.
    lr : float
        Learning rate (Adam) or step scale (L-BFGS with strong-Wolfe line search).
    optimizer : {"adam", "lbfgs"}
    schedule : {"constant", "cosine"}
        Learning rate schedule of Adam (cosine: from ``lr`` down to ``lr / 100`` at ``epochs``).
    patience, tol : int, float
        Early stopping: stop when the best objective has not decreased by more than
        ``tol`` (relative) for ``patience`` epochs.
    checkpoint_dir : str or Path, optional
        Folder where the best parameters are written (``node_fit.safetensors``, atomically; see
        :func:`save_checkpoint`) every
        ``checkpoint_every`` epochs and at the end.  Nothing is written without it.
    checkpoint_every : int
        Epochs between two checkpoints (>= 1; default 100); used only with ``checkpoint_dir``.
    random_state : None, int or numpy.random.Generator
        Seeds a random start (the torch generator is derived from it: an int seeds it
        directly, a Generator draws its seed; a torch.Generator is also accepted).
    dtype, device
        Of the parameters (default: torch's default dtype, CPU; an ``init`` module keeps its own).
    progress : bool
        Show a tqdm bar.
    seed : int, optional
        Deprecated alias of ``random_state`` (FutureWarning); removed in the next release.

    Returns
    -------
    TrainingResult
        The best parameters met (so :math:`J_\\alpha(\\theta^*) \\le J_\\alpha(\\theta_0)` up to
        the difference between the module's integrator and the exact flow), their
        objective, risk and :math:`\\|\\theta^*\\|_{BV}^2`.

    Raises
    ------
    DatasetError
        X, Y not finite (N, d) arrays with the same shape.
    ParameterError
        Bad option values; ``num_pieces`` together with ``init``.

    Examples
    --------
    >>> import numpy as np
    >>> from controlml.node import fit
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]]); Y = np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> res = fit(X, Y, alpha=1e-3, num_pieces=2, epochs=50, random_state=0)
    >>> res.objective <= res.initial_objective
    True
    """
    random_state = _deprecated_seed(random_state, seed, "fit")
    X = as_points(X, "X")
    Y = as_points(Y, "Y", dim=X.shape[1])
    check_same_rows(X, Y)
    N, d = X.shape
    alpha = check_nonnegative(alpha, "alpha")
    check_option(activation, "activation", ACTIVATIONS)
    init_scale = check_positive(init_scale, "init_scale")
    schedule = check_option(schedule, "schedule", ("constant", "cosine"))
    epochs, lr, optimizer, patience, tol, checkpoint_dir, checkpoint_every = _check_training(
        epochs, lr, optimizer, patience, tol, checkpoint_dir, checkpoint_every)
    if init is not None:
        if num_pieces is not None:
            raise ParameterError("num_pieces is taken from init; pass one of init and num_pieces")
        if isinstance(init, Control):
            if init.dim != d:
                raise ParameterError(f"init has dimension {init.dim} but X has d = {d} columns")
            module = TorchNODE.from_control(init, activation=activation, method=method,
                                            steps_per_piece=steps_per_piece, dtype=dtype, device=device)
        elif isinstance(init, TorchNODE):
            if init.dim != d:
                raise ParameterError(f"init has dimension {init.dim} but X has d = {d} columns")
            module = init
        else:
            raise ParameterError(f"init must be a Control, a TorchNODE or None; got {type(init).__name__}")
    else:
        num_pieces = 2 * N if num_pieces is None else check_int(num_pieces, "num_pieces", minimum=1)
        P = check_int(width, "width", minimum=1)
        T = check_positive(T, "T")
        module = _random_module(num_pieces, d, P, T, init_scale, random_state, activation, method,
                                check_int(steps_per_piece, "steps_per_piece", minimum=1), dtype, device)
    act = module.activation
    Xt = torch.as_tensor(X, dtype=module.W.dtype, device=module.W.device)
    Yt = torch.as_tensor(Y, dtype=module.W.dtype, device=module.W.device)

    def loss_fn() -> torch.Tensor:
        return alpha * module.bv_norm() ** 2 + ((module(Xt) - Yt) ** 2).sum()

    J0 = training_objective(module.to_control(), X, Y, alpha=alpha, activation=act)[0]
    out = _optimise(module, loss_fn, epochs=epochs, lr=lr, optimizer=optimizer, patience=patience,
                    tol=tol, progress=progress, desc="fit J_alpha", schedule=schedule,
                    checkpoint_dir=checkpoint_dir,
                    checkpoint_every=checkpoint_every)
    control = module.to_control()
    J, risk, bv2 = training_objective(control, X, Y, alpha=alpha, activation=act)
    return TrainingResult(control, J, risk, bv2, alpha, J0, out.history, out.epochs, out.status,
                          out.checkpoint)

"""Data reconstruction from a client update by approximate, weighted gradient matching.

After Wang et al. (arXiv 2308.06822, "AWA").  A client starts at the server model ``z``,
runs ``T`` local gradient steps with step size ``η`` and returns ``u``.  The server sees
``Δ = u − z = −η Σ_{t<T} [∇f(θ_t; X) + r(θ_t)]`` where ``r`` is known to it (``0`` for FedAvg,
``−λ + β (θ − z)`` for FedADMM with the ``λ, β`` it holds).  The intermediate models
``θ_t`` are unknown; they are *approximated* by interpolation,
``θ_t ≈ z + (t/T) Δ``, at ``K`` points.  Dummy inputs ``X̂`` (N, d) are then fitted so
that their accumulated gradient matches, layer by layer,

    G(X̂) = (T/K) Σ_{k<K} ∇_θ f(θ_{t_k}; X̂, ŷ),       G* = −Δ/η − Σ_t r(θ_t),

    min_{X̂ ∈ [0,1]^{N×d}}  Σ_l w_l (1 − cos(G_l(X̂), G*_l))

(``w_l`` the layer weights; the paper tunes them by Bayesian optimisation, here they are an
argument).  Labels ``ŷ`` come from the sign of the last-layer bias update (classes present
in the client's data pull their bias up) unless given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_int, check_positive
from ..errors import ParameterError
from ._models import FLModel

__all__ = ["Reconstruction", "reconstruct", "psnr", "infer_labels"]


@dataclass(frozen=True)
class Reconstruction:
    """A reconstruction of a client's inputs.

    Attributes
    ----------
    X : ndarray (N, d)       reconstructed inputs in [0, 1]
    labels : ndarray (N,)    labels used for the dummies
    loss : float             final matching loss
    mse : float or None      mean squared error against ``X_true`` (rows matched), if given
    psnr : float or None     PSNR in dB against ``X_true``, if given
    order : ndarray (N,) or None  row of ``X`` matched to each true row
    """

    X: np.ndarray
    labels: np.ndarray
    loss: float
    mse: float | None
    psnr: float | None
    order: np.ndarray | None


def psnr(mse: float, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio ``10 log10(peak² / MSE)`` in dB.

    Parameters
    ----------
    mse : float
        Mean squared error (floored at ``1e-300``, so an exact match gives a large finite
        value).
    peak : float
        Largest possible signal value (1 for inputs in [0, 1]).

    Returns
    -------
    float
        The PSNR in dB.
    """
    return float(10 * np.log10(peak ** 2 / max(mse, 1e-300)))


def infer_labels(model: FLModel, delta: np.ndarray, num_samples: int) -> np.ndarray:
    """Labels for ``num_samples`` dummies from the last-layer bias update ``Δb``.

    For cross-entropy ``∂f/∂b_c = mean(p_c − 1[y = c])`` is negative exactly for the classes
    that dominate the batch, so ``Δb_c > 0`` marks them; the dummies are spread over those
    classes in proportion to ``Δb_c`` (largest remainders round the counts; with no positive
    ``Δb_c`` all go to the class of the largest one).

    Parameters
    ----------
    model : FLModel
        The attacked model; its last ``num_classes`` parameters are the output bias ``b``.
    delta : array (P,)
        The client's update ``Δ = u − z`` as a flat parameter vector.
    num_samples : int
        Number ``N`` of dummy rows to label.

    Returns
    -------
    ndarray of int (N,)
        Class labels, grouped by class in increasing order.
    """
    db = np.asarray(delta)[-model.num_classes:]
    pos = np.flatnonzero(db > 0)
    if pos.size == 0:
        pos = np.array([int(np.argmax(db))])
    share = db[pos] / db[pos].sum()
    counts = np.floor(share * num_samples).astype(int)
    for j in np.argsort(-(share * num_samples - counts))[: num_samples - counts.sum()]:
        counts[j] += 1
    return np.repeat(pos, counts)


def _match_rows(Xhat: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, float]:
    from scipy.optimize import linear_sum_assignment

    C = ((X[:, None, :] - Xhat[None, :, :]) ** 2).mean(-1)
    r, c = linear_sum_assignment(C)
    return c[np.argsort(r)], float(C[r, c].mean())


def reconstruct(update_trajectory, model: FLModel, *, num_samples: int, local_steps: int,
                lr: float, labels=None, lam=None, beta: float = 0.0, num_interp: int = 4,
                layer_weights=None, iterations: int = 300, step: float = 0.1,
                X_true=None, random_state=None) -> Reconstruction:
    """Reconstruct a client's inputs from its update (see module docs).

    Parameters
    ----------
    update_trajectory : (z, u) pair of arrays (P,)
        The server model the client started from and the model it returned.
    model : FLModel
    num_samples : int
        ``N``, the number of rows to reconstruct (the client's batch).
    local_steps : int
        ``T``, the local gradient steps behind the update.
    lr : float
        ``η``, the client's step size.
    labels : array (N,) or None
        Labels of the dummies; ``None`` infers them (:func:`infer_labels`).
    lam : array (P,) or None
        FedADMM's dual ``λ`` known to the server; ``None``: a FedAvg update, ``r = 0``.
    beta : float
        FedADMM's penalty ``β`` known to the server (used only with ``lam``).
    num_interp : int
        ``K`` interpolated intermediate models.
    layer_weights : sequence of float or None
        ``w_l`` per parameter block (W₁, b₁, W₂, b₂); default all 1.
    iterations : int
        Adam iterations on the dummy inputs (parametrised as ``X̂ = sigmoid(ξ)``).
    step : float
        Adam step size.
    X_true : array (N, d) or None
        The client's real inputs, only to report MSE/PSNR (rows matched by assignment).
    random_state : int or None
        Seeds the dummy initialisation.

    Returns
    -------
    Reconstruction
    """
    try:
        z, u = (np.asarray(a, dtype=np.float64).reshape(-1) for a in update_trajectory)
    except (TypeError, ValueError) as exc:
        raise ParameterError("update_trajectory must be a (z, u) pair of parameter vectors") from exc
    P = model.num_params
    if z.size != P or u.size != P:
        raise ParameterError(f"z and u must have the model's P = {P} parameters; got "
                             f"{z.size} and {u.size}")
    N = check_int(num_samples, "num_samples", minimum=1)
    T = check_int(local_steps, "local_steps", minimum=1)
    K = min(check_int(num_interp, "num_interp", minimum=1), T)
    check_positive(lr, "lr")
    iterations = check_int(iterations, "iterations", minimum=1)
    delta = u - z
    y = infer_labels(model, delta, N) if labels is None else np.asarray(labels, dtype=np.int64)
    if y.shape != (N,):
        raise ParameterError(f"labels must have shape ({N},); got {y.shape}")
    dt = torch.float64
    zt, dtt = torch.as_tensor(z, dtype=dt), torch.as_tensor(delta, dtype=dt)
    ts = (np.arange(K) + 0.5) * T / K  # midpoints of K equal blocks of the T steps
    thetas = zt[None] + torch.as_tensor(ts / T, dtype=dt)[:, None] * dtt[None]
    target = -dtt / lr
    if lam is not None:
        lam_t = torch.as_tensor(np.asarray(lam, dtype=np.float64), dtype=dt)
        # Σ_t r(θ_t) = Σ_t (−λ + β (θ_t − z)) ≈ T (−λ) + β Σ_k (T/K)(θ_k − z)
        target = target - (-T * lam_t + beta * (T / K) * (thetas - zt).sum(0))
    sizes = [int(np.prod(s)) for s in model.shapes]
    w = np.ones(len(sizes)) if layer_weights is None else np.asarray(layer_weights, float)
    if w.shape != (len(sizes),):
        raise ParameterError(f"layer_weights must have {len(sizes)} entries; got {w.shape}")
    tgt_blocks = torch.split(target, sizes)
    gen = torch.Generator().manual_seed(int(np.random.default_rng(random_state).integers(2**62)))
    xi = (0.1 * torch.randn(N, model.d, dtype=dt, generator=gen)).requires_grad_(True)
    opt = torch.optim.Adam([xi], lr=step)
    yk = torch.as_tensor(y)[None].expand(K, -1)
    ones = torch.ones(K, N, dtype=dt)
    mdl = FLModel(model.kind, model.d, model.num_classes, model.hidden, 0.0)

    def matching_loss():
        Xh = torch.sigmoid(xi)
        th = thetas.clone().requires_grad_(True)
        f = mdl.loss(th, Xh[None].expand(K, -1, -1), yk, ones)
        (g,) = torch.autograd.grad(f.sum(), th, create_graph=True)
        G = g.sum(0) * (T / K)
        loss = 0.0
        for wl, gl, tl in zip(w, torch.split(G, sizes), tgt_blocks, strict=True):
            loss = loss + wl * (1 - torch.nn.functional.cosine_similarity(gl, tl, dim=0,
                                                                          eps=1e-12))
        return loss

    with torch.enable_grad():
        for _ in range(iterations):
            opt.zero_grad()
            loss = matching_loss()
            loss.backward()
            opt.step()
        final = float(matching_loss().detach())
    Xh = torch.sigmoid(xi).detach().numpy()
    mse = ps = order = None
    if X_true is not None:
        Xt = np.asarray(X_true, dtype=np.float64)
        if Xt.shape != Xh.shape:
            raise ParameterError(f"X_true must have shape {Xh.shape}; got {Xt.shape}")
        order, mse = _match_rows(Xh, Xt)
        ps = psnr(mse)
    return Reconstruction(Xh, y, final, mse, ps, order)

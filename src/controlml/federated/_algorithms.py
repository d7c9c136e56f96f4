"""Client and server steps of FedADMM-InSa, FedADMM, FedAvg and FedProx.

All steps act on flat parameter vectors (torch), batched over the ``C`` clients of a round:
``z`` (P,) the server model, ``U``, ``Λ`` (C, P) the clients' models and duals, ``β`` (C,).

**FedADMM** (consensus ADMM on ``min Σ_i α_i f_i(u_i)`` s.t. ``u_i = z``).  Client ``i``
approximately solves

    u_i⁺ ≈ argmin_u  L_i(u) = f_i(u) − ⟨λ_i, u − z⟩ + (β_i/2) ‖u − z‖²            (1)

by SGD started at ``u = z``, then updates its dual ``λ_i⁺ = λ_i − β_i (u_i⁺ − z)``.  The server
minimises the augmented Lagrangian in ``z`` over *all* ``m`` clients (non-selected ones with
their stored, stale ``u_j, λ_j``):

    ẑ = Σ_i α_i (β_i u_i − λ_i) / Σ_i α_i β_i,      z⁺ = (ẑ + δ z) / (1 + δ).         (2)

**FedADMM-InSa** (Song, Wang & Zuazua 2024) adds

- the *inexactness stop*: with ``e_i(u) = ∇L_i(u) = ∇f_i(u) − λ_i + β_i (u − z)`` on the
  client's full data, local training stops after the first epoch with
  ``‖e_i(u)‖ ≤ σ_i ‖e_i(z)‖``,  ``σ_i = 0.999 √2 / (√2 + √(β_i / c_i))``;
- the *self-adaptive penalty*: with ``r = β_i ‖u_i⁺ − u_i‖`` (``u_i`` the client's last stored
  model) and ``s = ‖u_i⁺ − z‖``, set ``β_i ← τ β_i`` if ``μ r < s``, ``β_i ← β_i / τ`` if
  ``μ s < r`` (the new ``β_i`` is used from the client's next round on).

**FedAvg**: ``E`` epochs of SGD on ``f_i`` from ``z``; the server averages the models of the
round's clients weighted by sample counts, ``z⁺ = Σ_{i∈S} n_i u_i / Σ_{i∈S} n_i`` (with
``stale=True``, over all ``m`` stored models as in the authors' repository).
**FedProx**: SGD on ``f_i(u) + (μ/2) ‖u − z‖²``, FedAvg's server.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .._checks import check_nonnegative, check_positive
from ..errors import ParameterError
from ._models import FLModel

__all__ = [
    "FedADMMInSa", "FedADMM", "FedAvg", "FedProx", "ClientData", "ClientUpdate",
    "inexactness_sigma", "admm_residual", "dual_update", "adapt_penalty", "admm_aggregate",
    "fedavg_aggregate", "client_update", "finite_updates",
]

logger = logging.getLogger("controlml.federated")


# --------------------------------------------------------------------- methods
@dataclass(frozen=True)
class FedADMMInSa:
    """FedADMM-InSa: inexact local solves, self-adaptive penalties, relaxed server.

    Parameters
    ----------
    beta0 : float
        Initial penalty ``β_i⁰`` (the authors' default is 10 on MNIST; on digits with
        ~25 selections per client, 0.1 works best: β moves by ×τ per selection only).
    c : float
        ``c_i`` in ``σ_i = 0.999 √2/(√2 + √(β_i/c_i))``.
    mu : float
        Balance ratio ``μ > 0`` (``> 1`` in practice) of the penalty adaptation (see
        :func:`adapt_penalty`): ``β_i`` changes only when one residual exceeds ``μ`` times
        the other.
    tau : float
        Factor ``τ > 1`` by which the penalty adaptation multiplies or divides ``β_i``.
    delta : float
        Server relaxation ``δ ≥ 0`` in (2).
    """

    beta0: float = 0.1
    c: float = 0.01
    mu: float = 5.0
    tau: float = 2.0
    delta: float = 0.01
    name: str = field(default="fedadmm-insa", init=False)

    def __post_init__(self) -> None:
        check_positive(self.beta0, "beta0")
        check_positive(self.c, "c")
        check_positive(self.mu, "mu")
        if not self.tau > 1:
            raise ParameterError(f"tau must be > 1; got {self.tau!r}")
        check_nonnegative(self.delta, "delta")


@dataclass(frozen=True)
class FedADMM:
    """FedADMM with a fixed penalty ``β`` and all ``E`` local epochs (no stop, no adaptation).

    Parameters
    ----------
    beta : float
        Penalty ``β > 0`` of the local augmented Lagrangian (1), the same for every client
        and every round.
    delta : float
        Server relaxation ``δ ≥ 0`` in (2), ``z⁺ = (ẑ + δ z) / (1 + δ)``; the default 0 is
        the plain ADMM server step ``z⁺ = ẑ``.
    """

    beta: float = 0.1
    delta: float = 0.0
    name: str = field(default="fedadmm", init=False)

    def __post_init__(self) -> None:
        check_positive(self.beta, "beta")
        check_nonnegative(self.delta, "delta")


@dataclass(frozen=True)
class FedAvg:
    """Standard FedAvg (McMahan et al.): ``E`` epochs of SGD on ``f_i``, weighted model mean.

    Parameters
    ----------
    stale : bool
        If False (default) the server averages the models of the round's clients,
        ``z⁺ = Σ_{i∈S} n_i u_i / Σ_{i∈S} n_i``; if True it averages all ``m`` stored models
        (clients not selected with their last ones), as in the FedADMM-InSa authors'
        repository.
    """

    stale: bool = False
    name: str = field(default="fedavg", init=False)


@dataclass(frozen=True)
class FedProx:
    """FedProx (Li et al.): local objective ``f_i(u) + (μ/2)‖u − z‖²``, FedAvg's server.

    Parameters
    ----------
    mu : float
        Proximal weight ``μ ≥ 0``; its gradient term ``μ (u − z)`` pulls the local model
        towards the server model ``z``.  ``μ = 0`` gives FedAvg's local solver.
    """

    mu: float = 0.1
    name: str = field(default="fedprox", init=False)

    def __post_init__(self) -> None:
        check_nonnegative(self.mu, "mu")


METHODS = {"fedadmm-insa": FedADMMInSa, "fedadmm": FedADMM, "fedavg": FedAvg, "fedprox": FedProx}


def as_method(method):
    """A method object from a name or an instance."""
    if isinstance(method, str):
        if method not in METHODS:
            raise ParameterError(f"method must be one of {', '.join(map(repr, METHODS))} or a "
                                 f"method object; got {method!r}")
        return METHODS[method]()
    if isinstance(method, FedADMMInSa | FedADMM | FedAvg | FedProx):
        return method
    raise ParameterError(f"method must be a name or FedADMMInSa/FedADMM/FedAvg/FedProx; got "
                         f"{method!r}")


def is_admm(method) -> bool:
    return isinstance(method, FedADMMInSa | FedADMM)


# ------------------------------------------------------------------ client data
@dataclass(frozen=True)
class ClientData:
    """The data of ``C`` clients, padded to a common length.

    Attributes
    ----------
    X : tensor (C, n_max, d)
    y : tensor (C, n_max) int64
    w : tensor (C, n_max)   1 on real rows, 0 on padding
    n : ndarray (C,)        rows per client
    """

    X: torch.Tensor
    y: torch.Tensor
    w: torch.Tensor
    n: np.ndarray

    @classmethod
    def from_arrays(cls, parts, *, dtype=torch.float64, device=None) -> ClientData:
        """From a list of ``(X_i (n_i, d), y_i (n_i,))`` pairs."""
        n = np.array([len(p[1]) for p in parts])
        C, nmax, d = len(parts), int(n.max()), np.asarray(parts[0][0]).shape[1]
        X = torch.zeros(C, nmax, d, dtype=dtype, device=device)
        y = torch.zeros(C, nmax, dtype=torch.int64, device=device)
        w = torch.zeros(C, nmax, dtype=dtype, device=device)
        for i, (Xi, yi) in enumerate(parts):
            X[i, :n[i]] = torch.as_tensor(np.asarray(Xi), dtype=dtype)
            y[i, :n[i]] = torch.as_tensor(np.asarray(yi), dtype=torch.int64)
            w[i, :n[i]] = 1
        return cls(X, y, w, n)


@dataclass(frozen=True)
class ClientUpdate:
    """What the clients of a round computed.

    Attributes
    ----------
    U : tensor (C, P)          new local models ``u_i⁺``
    Lam : tensor (C, P) or None  new duals ``λ_i⁺`` (ADMM)
    beta : ndarray (C,) or None   penalties for the clients' next round (ADMM)
    epochs : ndarray (C,)     local epochs run
    grad_evals : ndarray (C,) per-sample gradients evaluated (SGD + residual checks)
    """

    U: torch.Tensor
    Lam: torch.Tensor | None
    beta: np.ndarray | None
    epochs: np.ndarray
    grad_evals: np.ndarray


# ------------------------------------------------------------------ formulas
def inexactness_sigma(beta, c) -> np.ndarray:
    """Inexactness tolerances ``σ_i = 0.999 √2 / (√2 + √(β_i / c_i))`` of FedADMM-InSa.

    Client ``i`` stops local training after the first epoch whose residual satisfies
    ``‖e_i(u)‖ ≤ σ_i ‖e_i(z)‖`` (see :func:`admm_residual`); ``σ_i`` lies in ``(0, 0.999)``
    and shrinks, i.e. the local solve gets more exact, as ``β_i / c_i`` grows.

    Parameters
    ----------
    beta : float or array (C,)
        Penalties ``β_i > 0``.
    c : float or array (C,)
        Constants ``c_i > 0`` (``FedADMMInSa.c``), broadcast against ``beta``.

    Returns
    -------
    ndarray (C,)
        ``σ_i``, elementwise (0-d for a scalar ``beta`` and ``c``).
    """
    beta = np.asarray(beta, dtype=np.float64)
    return 0.999 * math.sqrt(2) / (math.sqrt(2) + np.sqrt(beta / c))


def admm_residual(model: FLModel, U, z, Lam, beta, data: ClientData) -> torch.Tensor:
    """Norms ``‖e_i(u_i)‖`` of the local residuals ``e_i(u) = ∇f_i(u) − λ_i + β_i (u − z)``.

    ``e_i = ∇L_i`` is the gradient of the local augmented Lagrangian (1), evaluated on each
    client's full data (all ``n_i`` rows; padding masked out by ``data.w``).

    Parameters
    ----------
    model : FLModel
        The model whose loss is ``f_i`` (its ``grad`` is batched over the clients).
    U : tensor (C, P)
        Local models ``u_i``, one row per client.
    z : tensor (P,) or (1, P)
        Server model ``z``.
    Lam : tensor (C, P)
        Duals ``λ_i``.
    beta : array (C,)
        Penalties ``β_i``.
    data : ClientData
        The clients' padded data: ``X`` (C, n_max, d), ``y`` and ``w`` (C, n_max).

    Returns
    -------
    tensor (C,)
        ``‖e_i(u_i)‖`` per client.
    """
    _, g = model.grad(U, data.X, data.y, data.w)
    b = torch.as_tensor(beta, dtype=U.dtype, device=U.device)[:, None]
    return torch.linalg.vector_norm(g - Lam + b * (U - z), dim=1)


def dual_update(Lam, beta, U, z) -> torch.Tensor:
    """Dual update of FedADMM(-InSa): ``λ_i⁺ = λ_i − β_i (u_i⁺ − z)``.

    Parameters
    ----------
    Lam : tensor (C, P)
        Current duals ``λ_i``.
    beta : array (C,)
        Penalties ``β_i`` of this round's local objective (1).
    U : tensor (C, P)
        New local models ``u_i⁺``.
    z : tensor (P,) or (1, P)
        Server model ``z`` the clients started from.

    Returns
    -------
    tensor (C, P)
        New duals ``λ_i⁺``.
    """
    b = torch.as_tensor(beta, dtype=U.dtype, device=U.device)[:, None]
    return Lam - b * (U - z)


def adapt_penalty(beta, U_new, U_old, z, *, mu: float, tau: float) -> np.ndarray:
    """Self-adaptive penalty of FedADMM-InSa, per client.

    With ``r_i = β_i ‖u_i⁺ − u_i‖`` (change of the local model since the client's last
    round, a dual-residual proxy) and ``s_i = ‖u_i⁺ − z‖`` (primal residual, distance to
    consensus), the new penalty is ``τ β_i`` if ``μ r_i < s_i``, ``β_i / τ`` if
    ``μ s_i < r_i``, and ``β_i`` otherwise.

    Parameters
    ----------
    beta : array (C,)
        Current penalties ``β_i > 0``.
    U_new : tensor (C, P)
        New local models ``u_i⁺``.
    U_old : tensor (C, P)
        The clients' stored models ``u_i`` from their previous round (``z⁰`` before their
        first).
    z : tensor (P,) or (1, P)
        Server model of this round.
    mu : float
        Balance ratio ``μ`` (``FedADMMInSa.mu``).
    tau : float
        Factor ``τ > 1`` (``FedADMMInSa.tau``).

    Returns
    -------
    ndarray (C,)
        New penalties, used from each client's next round on.
    """
    beta = np.asarray(beta, dtype=np.float64)
    r = beta * torch.linalg.vector_norm(U_new - U_old, dim=1).double().cpu().numpy()
    s = torch.linalg.vector_norm(U_new - z, dim=1).double().cpu().numpy()
    return np.where(mu * r < s, beta * tau, np.where(mu * s < r, beta / tau, beta))


def admm_aggregate(z_old, U, Lam, beta, alpha, *, delta: float = 0.0) -> torch.Tensor:
    """Server step (2): ``ẑ = Σ α_i(β_i u_i − λ_i)/Σ α_i β_i``, ``z⁺ = (ẑ + δ z)/(1 + δ)``.

    ``ẑ`` minimises the augmented Lagrangian ``Σ_i α_i [−⟨λ_i, u_i − z⟩ + (β_i/2) ‖u_i − z‖²]``
    in ``z``; the sums run over all ``m`` clients, those not selected this round with their
    stored (stale) rows.

    Parameters
    ----------
    z_old : tensor (P,)
        Current server model ``z``.
    U : tensor (m, P)
        Local models ``u_i`` of all clients.
    Lam : tensor (m, P)
        Duals ``λ_i`` of all clients.
    beta : array (m,)
        Penalties ``β_i`` the clients used in their last local solve.
    alpha : array (m,)
        Client weights ``α_i = n_i / Σ_j n_j``.
    delta : float
        Relaxation ``δ ≥ 0``; 0 returns ``ẑ``.

    Returns
    -------
    tensor (P,)
        New server model ``z⁺``.
    """
    ab = torch.as_tensor(np.asarray(alpha) * np.asarray(beta), dtype=U.dtype, device=U.device)
    a = torch.as_tensor(np.asarray(alpha), dtype=U.dtype, device=U.device)
    zhat = (ab @ U - a @ Lam) / ab.sum()
    return (zhat + delta * z_old) / (1 + delta)


def fedavg_aggregate(U, n) -> torch.Tensor:
    """FedAvg's server step ``z⁺ = Σ n_i u_i / Σ n_i`` over the rows of ``U``.

    Parameters
    ----------
    U : tensor (k, P)
        Local models ``u_i`` to average, one per row.
    n : array (k,)
        Sample counts ``n_i`` of those clients (the weights).

    Returns
    -------
    tensor (P,)
        New server model ``z⁺``.
    """
    w = torch.as_tensor(np.asarray(n, dtype=np.float64), dtype=U.dtype, device=U.device)
    return (w @ U) / w.sum()


def finite_updates(upd: ClientUpdate, client_ids, round_: int, *, mask=None) -> np.ndarray:
    """Boolean mask (C,) of clients whose update is finite; logs every rejected one.

    A row is accepted when its ``U`` row and (ADMM) its ``Lam`` row are finite and its
    ``beta`` is finite and positive; each rejected row is logged as a warning on the
    ``controlml.federated`` logger.

    Parameters
    ----------
    upd : ClientUpdate
        The round's client replies, ``C`` rows.
    client_ids : array of int (C,)
        Client id of each row, for the log.
    round_ : int
        Round index (0-based), for the log.
    mask : array of bool (C,) or None
        Rows to check (default None: all); rows outside it (e.g. clients that dropped
        out) are returned False without a log line.

    Returns
    -------
    ndarray of bool (C,)
        True for the accepted rows.
    """
    ok = torch.isfinite(upd.U).all(1).cpu().numpy()
    if upd.Lam is not None:
        ok &= torch.isfinite(upd.Lam).all(1).cpu().numpy()
    if upd.beta is not None:
        ok &= np.isfinite(upd.beta) & (upd.beta > 0)
    mask = np.ones(ok.size, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    for i in np.flatnonzero(mask & ~ok):
        logger.warning("round %d: client %d sent a non-finite update; it is rejected and its "
                       "stored state is kept", round_, int(np.asarray(client_ids)[i]))
    return ok & mask


# --------------------------------------------------------------- local solver
def _schedule(rngs, n: np.ndarray, batch_size: int | None):
    """Per-client minibatch index lists for one epoch: (C, S, B) indices and mask."""
    C = len(n)
    B = int(n.max()) if batch_size is None else batch_size
    steps = np.ceil(n / B).astype(int) if batch_size is not None else np.ones(C, dtype=int)
    S = int(steps.max())
    idx = np.zeros((C, S, B), dtype=np.int64)
    msk = np.zeros((C, S, B))
    for i in range(C):
        perm = rngs[i].permutation(n[i])
        pad = np.zeros(steps[i] * B, dtype=np.int64)
        pm = np.zeros(steps[i] * B)
        pad[:n[i]] = perm
        pm[:n[i]] = 1
        idx[i, :steps[i]] = pad.reshape(steps[i], B)
        msk[i, :steps[i]] = pm.reshape(steps[i], B)
    return idx, msk, steps


def client_update(method, model: FLModel, z: torch.Tensor, data: ClientData, rngs, *,
                  epochs, lr: float, batch_size: int | None, Lam=None, beta=None,
                  U_prev=None) -> ClientUpdate:
    """Local training of ``C`` clients from the server model ``z`` (P,), batched.

    Minimises by SGD (``lr``, minibatches of ``batch_size`` rows drawn by each client's own
    generator in ``rngs``; ``None`` = full batch) the local objective of ``method``:
    ``f_i`` (FedAvg), ``f_i + (μ/2)‖u − z‖²`` (FedProx) or ``L_i`` of (1) (FedADMM), for at
    most ``epochs[i]`` epochs; FedADMM-InSa stops each client at its inexactness test.
    ADMM methods then apply the dual update and (InSa) the penalty adaptation; they need
    ``Lam`` (C, P), ``beta`` (C,) and (InSa) ``U_prev`` (C, P), the clients' stored models.

    Parameters
    ----------
    method : FedADMMInSa, FedADMM, FedAvg or FedProx
        The method object whose local objective and stopping rule are used.
    model : FLModel
        The model; its ``grad`` gives the per-client gradients of ``f_i``, batched.
    z : tensor (P,)
        Server model ``z``; every client starts at ``u = z``.
    data : ClientData
        The ``C`` clients' padded data: ``X`` (C, n_max, d), ``y`` and ``w`` (C, n_max),
        ``n`` (C,).
    rngs : sequence of numpy.random.Generator
        ``C`` generators, one per client (e.g. :func:`client_rng`); each draws its
        client's minibatch order every epoch.
    epochs : int or array of int (C,)
        Maximum local epochs ``E_i`` (an int applies to every client); a client with
        ``E_i = 0`` does not train.
    lr : float
        SGD step size ``η``: ``u ← u − η g`` with ``g`` the minibatch gradient of the local
        objective.
    batch_size : int or None
        Rows per minibatch (a client's last one may be smaller); ``None``: the full local
        data, one gradient step per epoch.
    Lam : tensor (C, P) or None
        The clients' stored duals ``λ_i`` (ADMM methods; ignored otherwise).
    beta : array (C,) or None
        The clients' current penalties ``β_i`` (ADMM methods; ignored otherwise).
    U_prev : tensor (C, P) or None
        The clients' stored models ``u_i`` from their previous round, for the penalty
        adaptation of :func:`adapt_penalty` (FedADMM-InSa; ignored otherwise).

    Returns
    -------
    ClientUpdate
        New models ``U`` (C, P); for ADMM methods also the new duals
        ``λ_i⁺ = λ_i − β_i (u_i⁺ − z)`` and the penalties for the clients' next round;
        the local epochs run and the per-sample gradients evaluated.
    """
    C = len(data.n)
    E = np.broadcast_to(np.asarray(epochs, dtype=np.int64), (C,)).copy()
    admm = is_admm(method)
    insa = isinstance(method, FedADMMInSa)
    U = z.detach().expand(C, -1).clone()
    zc = z.detach()[None]
    if admm:
        beta = np.asarray(beta, dtype=np.float64)
        bt = torch.as_tensor(beta, dtype=U.dtype, device=U.device)[:, None]
    grad_evals = np.zeros(C, dtype=np.int64)
    done = np.zeros(C, dtype=np.int64)
    active = E > 0
    e0 = None
    if insa:
        sigma = inexactness_sigma(beta, method.c)
        e0 = admm_residual(model, U, zc, Lam, beta, data).double().cpu().numpy()
        grad_evals += data.n
    Xs = data.X
    ar = torch.arange(C, device=U.device)[:, None]
    for epoch in range(int(E.max(initial=0))):
        active &= epoch < E
        if insa and epoch > 0 and active.any():
            e = admm_residual(model, U, zc, Lam, beta, data).double().cpu().numpy()
            grad_evals += np.where(active, data.n, 0)
            active &= ~(e <= sigma * e0)
        if not active.any():
            break
        idx, msk, steps = _schedule([r if a else _NullRng() for r, a in zip(rngs, active,
                                                                            strict=True)],
                                    np.where(active, data.n, 1), batch_size)
        idx_t = torch.as_tensor(idx, device=U.device)
        msk_t = torch.as_tensor(msk, dtype=U.dtype, device=U.device)
        act_t = torch.as_tensor(active, dtype=U.dtype, device=U.device)[:, None]
        for s in range(idx.shape[1]):
            rows = idx_t[:, s]
            wb = msk_t[:, s]
            _, g = model.grad(U, Xs[ar, rows], data.y[ar, rows], wb)
            if admm:
                g = g - Lam + bt * (U - zc)
            elif isinstance(method, FedProx) and method.mu > 0:
                g = g + method.mu * (U - zc)
            step_on = (act_t > 0) & (wb.sum(1, keepdim=True) > 0)
            U = torch.where(step_on, U - lr * g, U)
        grad_evals += np.where(active, data.n, 0)
        done += active
    if not admm:
        return ClientUpdate(U, None, None, done, grad_evals)
    Lam_new = dual_update(Lam, beta, U, zc)
    beta_new = beta.copy()
    if insa:
        beta_new = adapt_penalty(beta, U, U_prev, zc, mu=method.mu, tau=method.tau)
    return ClientUpdate(U, Lam_new, beta_new, done, grad_evals)


class _NullRng:
    """Stands in for the generator of a client that stopped (draws nothing)."""

    @staticmethod
    def permutation(n):
        return np.arange(n)

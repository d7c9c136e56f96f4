"""Hardmax (4.1) and softmax (4.2) self-attention dynamics in float64 NumPy, batched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int, check_result_finite, check_scale
from ..errors import DatasetError, ParameterError
from ._ties import (
    DEFAULT_TIE_RTOL,
    _cluster_matrix,
    hardmax_weights,
    leader_mask,
    merge_tol,
)
from ._validate import (
    as_token_batch,
    check_alpha,
    check_spd,
    check_tau,
    check_theorem_tokens,
    check_tie_rtol,
)

__all__ = [
    "DEFAULT_TIE_RTOL",
    "AttentionDynamics",
    "attention_weights",
    "hardmax_step",
    "softmax_step",
    "hardmax_dynamics",
    "softmax_dynamics",
    "leaders",
]


def _merge_tol(tie_rtol: float) -> float:
    """Relative distance under which two tokens count as the same point (coincident copies)."""
    return merge_tol(tie_rtol)


# ----------------------------------------------------------------------------- kernels
def _softmax_weights(S: np.ndarray, tau: float) -> np.ndarray:
    L = (S - S.max(axis=-1, keepdims=True)) / tau  # <= 0: no overflow for any tau > 0
    E = np.exp(L)
    return E / E.sum(axis=-1, keepdims=True)


def _hardmax(Z: np.ndarray, A: np.ndarray, tie_rtol: float,
             E: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hardmax weights and tie sets C_i of (4.1b): the package's one tie rule (``_ties``)."""
    return hardmax_weights(Z, A, None, tie_rtol, None, E)


def _layer(Z: np.ndarray, A: np.ndarray, tau: float, tie_rtol: float,
           E: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attention weights P, tie sets C and leader mask of one layer (one cluster matrix)."""
    G = _cluster_matrix(Z, None, tie_rtol)
    W, C = hardmax_weights(Z, A, None, tie_rtol, G, E)
    P = W if tau == 0 else _softmax_weights(Z @ A @ Z.transpose(0, 2, 1), tau)
    return P, C, leader_mask(C, G, None)


def _tie_mask(Z: np.ndarray, A: np.ndarray, tie_rtol: float) -> np.ndarray:
    """C_i of (4.1b) as a boolean (B, n, n) mask."""
    return _hardmax(Z, A, tie_rtol)[1]


def _copies(Z: np.ndarray) -> np.ndarray:
    """(B, n, n) bool: tokens equal in the initial data (they count with multiplicity)."""
    return (Z[:, :, None, :] == Z[:, None, :, :]).all(axis=-1)


def _weights(Z: np.ndarray, A: np.ndarray, tau: float, tie_rtol: float,
             E: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    P, mask = _hardmax(Z, A, tie_rtol, E)
    if tau > 0:
        P = _softmax_weights(Z @ A @ Z.transpose(0, 2, 1), tau)
    return P, mask


def _step(Z: np.ndarray, P: np.ndarray, alpha: float) -> np.ndarray:
    return (Z + alpha * (P @ Z)) / (1.0 + alpha)


def _same_point_set(P: np.ndarray, Q: np.ndarray, tol: float) -> bool:
    if P.shape[0] != Q.shape[0]:
        return False
    if P.shape[0] == 0:
        return True
    D = np.linalg.norm(P[:, None, :] - Q[None, :, :], axis=-1)
    return bool(np.all(D.min(axis=1) <= tol) and np.all(D.min(axis=0) <= tol))


def _stable_from(traj: list[np.ndarray], masks: list[np.ndarray], b: int, tie_rtol: float) -> int:
    """First layer k0 such that the leader point set equals the final one for all k >= k0."""
    K = len(masks) - 1
    final = traj[K][b][masks[K][b]]
    tol = _merge_tol(tie_rtol) * max(float(np.linalg.norm(traj[K][b], axis=-1).max()), 1e-300)
    k0 = K
    for k in range(K - 1, -1, -1):
        if _same_point_set(traj[k][b][masks[k][b]], final, tol):
            k0 = k
        else:
            break
    return k0


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class AttentionDynamics:
    r"""Result of :func:`hardmax_dynamics` / :func:`softmax_dynamics`.

    Shapes below are for a batched input ``Z`` of shape (B, n, d); for an unbatched input
    (n, d) the batch axis is dropped everywhere.

    Attributes
    ----------
    Z : ndarray, shape (B, n, d)
        Tokens after ``num_layers`` layers.
    trajectory : ndarray, shape (num_layers + 1, B, n, d), or None
        Every layer ``Z(0), ..., Z(K)`` (``None`` with ``keep_trajectory=False``).
    leader_mask : ndarray of bool, shape (num_layers + 1, B, n)
        ``leader_mask[k, b, i]``: token i of sequence b is a leader at layer k, i.e.
        :math:`\mathcal C_i(k) = \{i\}` (tokens numerically merged with z_i count as i, the
        first index representing them; see :func:`leaders`).
    leaders_stable_from : ndarray of int, shape (B,)
        First layer :math:`k_0` from which the set of leaders :math:`\mathcal L(k)` (as points)
        stays equal to the final one until the end of this run (Thm 4.1: finite).
    num_leaders : ndarray of int, shape (B,)
        :math:`|\mathcal L(K)|` at the last layer.
    last_step : ndarray, shape (B,)
        :math:`\max_i \|z_i(K) - z_i(K-1)\|` (0 when ``num_layers == 0``).
    A, alpha, tau, tie_rtol, num_layers
        The parameters used (``tau == 0`` for hardmax).
    status : str
        ``"stationary"`` if the last layer moved no token by more than
        ``1e-13 * max |z|``, else ``"max_layers"`` (convergence in Thm 4.1 is only asymptotic).
    """

    Z: np.ndarray
    trajectory: np.ndarray | None
    leader_mask: np.ndarray
    leaders_stable_from: np.ndarray
    num_leaders: np.ndarray
    last_step: np.ndarray
    A: np.ndarray
    alpha: float
    tau: float
    tie_rtol: float
    num_layers: int
    status: str


# ----------------------------------------------------------------------------- public API
_RESCALE = (
    " (the hardmax dynamics is scale invariant: c Z runs as c Z(k), with the same leaders and "
    "ties; for softmax, rescale tau by c**2 too)"
)


def _check_token_scale(Zb: np.ndarray, A_: np.ndarray, name: str = "Z") -> None:
    """Scores <A z_i, z_j> must neither overflow nor underflow float64 (decided up front)."""
    check_scale(Zb, name, "the attention scores <A z_i, z_j>",
                factor=float(np.linalg.norm(A_, 2)), hint=_RESCALE)
    m = float(np.max(np.abs(Zb)))
    lam = float(np.linalg.eigvalsh(A_)[0])
    if m * m * lam < 1e-280:
        raise DatasetError(
            f"{name} has entries only up to {m:.3g}: the attention scores <A z_i, z_j> underflow "
            f"float64 (ties could no longer be told apart); rescale {name} (e.g. divide it by "
            f"{m:.3g}){_RESCALE}"
        )


def _prepare(Z: Any, A: Any, alpha: Any, tie_rtol: Any, check_hypotheses: bool):
    Zb, batched = as_token_batch(Z, "Z")
    A_ = check_spd(A, Zb.shape[2], "A")
    _check_token_scale(Zb, A_)
    a = check_alpha(alpha)
    t = check_tie_rtol(tie_rtol)
    if not isinstance(check_hypotheses, bool):
        raise ParameterError(f"check_hypotheses must be True or False; got {check_hypotheses!r}")
    if check_hypotheses:
        check_theorem_tokens(Zb, "Z")
    return Zb, batched, A_, a, t


def attention_weights(Z: Any, A: Any, tau: float = 0.0, *, tie_rtol: float = DEFAULT_TIE_RTOL) -> np.ndarray:
    r"""Self-attention matrix :math:`\pi^\tau(Z)`: softmax (4.2) for ``tau > 0``, hardmax (4.3) for 0.

    .. math::

        \pi^\tau_{i\ell}(Z) = \frac{e^{\langle Az_i,z_\ell\rangle/\tau}}{\sum_k e^{\langle Az_i,z_k\rangle/\tau}},
        \qquad \pi^0_{i\ell}(Z) = \frac{\mathbf 1[\ell\in\mathcal C_i(Z)]}{|\mathcal C_i(Z)|},

    with the tie set :math:`\mathcal C_i = \{j: \langle Az_i,z_j\rangle \ge \max_\ell
    \langle Az_i,z_\ell\rangle - \mathrm{tie\_rtol}\,\|Az_i\|\max_\ell\|z_\ell\|\}`.
    Coincident tokens (closer than ``sqrt(tie_rtol) * max |z|``) count as one point of the tie
    set (see :func:`hardmax_step`).
    The softmax subtracts the row maximum first, so it is finite for any ``tau > 0``
    (tested down to 1e-6).

    Parameters
    ----------
    Z : array, shape (n, d) or (B, n, d)
    A : array, shape (d, d), symmetric positive definite
    tau : float >= 0
    tie_rtol : float in [0, 1)

    Returns
    -------
    ndarray, shape (n, n) or (B, n, n), row-stochastic.
    """
    Zb, batched = as_token_batch(Z, "Z")
    A_ = check_spd(A, Zb.shape[2], "A")
    _check_token_scale(Zb, A_)
    P, _ = _weights(Zb, A_, check_tau(tau), check_tie_rtol(tie_rtol))
    return P if batched else P[0]


def hardmax_step(Z: Any, A: Any, alpha: float, *, tie_rtol: float = DEFAULT_TIE_RTOL) -> np.ndarray:
    r"""One layer of the hardmax self-attention dynamics (4.1a)-(4.1b).

    .. math::

        z_i(k+1) = z_i(k) + \frac{\alpha}{1+\alpha}\frac{1}{|\mathcal C_i(k)|}
        \sum_{\ell\in\mathcal C_i(k)} \big(z_\ell(k) - z_i(k)\big),\qquad
        \mathcal C_i(k) = \operatorname{argmax}_{j} \langle z_j(k), A z_i(k)\rangle

    Ties: j belongs to :math:`\mathcal C_i` when its score is within
    ``tie_rtol * ||A z_i|| * max_l ||z_l||`` of the maximum (a relative tolerance; exact
    ties such as a token half way between two symmetric ones are what create the
    non-leader clusters of Thm 4.1), and tokens closer than ``sqrt(tie_rtol) * max |z|``
    count as one point (only those of top score stay in the tie set, with the weight of one
    point), so that a follower converging to its leader never joins a tie beside it. One layer is defined for any tokens, so the
    hypotheses of Thm 4.1 (nonzero, distinct) are not checked here.

    Parameters
    ----------
    Z : array, shape (n, d) or (B, n, d)
    A : array, shape (d, d), symmetric positive definite
    alpha : float > 0
    tie_rtol : float in [0, 1)

    Returns
    -------
    ndarray, same shape as ``Z``
    """
    Zb, batched, A_, a, t = _prepare(Z, A, alpha, tie_rtol, False)
    P, _ = _weights(Zb, A_, 0.0, t)
    out = _step(Zb, P, a)
    return out if batched else out[0]


def softmax_step(Z: Any, A: Any, alpha: float, tau: float, *, tie_rtol: float = DEFAULT_TIE_RTOL) -> np.ndarray:
    r"""One layer :math:`z_i \leftarrow (z_i + \alpha\sum_\ell \pi^\tau_{i\ell}(Z) z_\ell)/(1+\alpha)`
    with the softmax weights (4.2); ``tau == 0`` is :func:`hardmax_step`.

    Parameters
    ----------
    Z : array, shape (n, d) or (B, n, d)
    A : array, shape (d, d), symmetric positive definite
    alpha : float > 0
    tau : float >= 0
    tie_rtol : float, used only when ``tau == 0``

    Returns
    -------
    ndarray, same shape as ``Z``
    """
    Zb, batched, A_, a, t = _prepare(Z, A, alpha, tie_rtol, False)
    P, _ = _weights(Zb, A_, check_tau(tau), t)
    out = _step(Zb, P, a)
    return out if batched else out[0]


def _run(Zb, batched, A_, a, tau, t, num_layers, keep_trajectory, progress) -> AttentionDynamics:
    K = check_int(num_layers, "num_layers", minimum=0)
    if not isinstance(keep_trajectory, bool):
        raise ParameterError(f"keep_trajectory must be True or False; got {keep_trajectory!r}")
    if not isinstance(progress, bool):
        raise ParameterError(f"progress must be True or False; got {progress!r}")
    it = range(K)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="attention layers", leave=False)
    traj = [Zb]
    E = _copies(Zb)
    P, _, lm = _layer(Zb, A_, tau, t, E)
    masks = [lm]
    last = np.zeros(Zb.shape[0])
    Z = Zb
    for _ in it:
        Znew = _step(Z, P, a)
        last = np.linalg.norm(Znew - Z, axis=-1).max(axis=-1)
        Z = Znew
        traj.append(Z)
        P, _, lm = _layer(Z, A_, tau, t, E)
        masks.append(lm)
    stable = np.array([_stable_from(traj, masks, b, t) for b in range(Z.shape[0])], dtype=int)
    lm = np.stack(masks)
    R = np.linalg.norm(Z, axis=-1).max(axis=-1)
    status = "stationary" if K > 0 and np.all(last <= 1e-13 * R) else "max_layers"
    T = np.stack(traj) if keep_trajectory else None
    check_result_finite(Z, "the tokens Z(k) of the attention dynamics", _RESCALE)
    return AttentionDynamics(
        Z=Z if batched else Z[0],
        trajectory=T if (batched or T is None) else T[:, 0],
        leader_mask=lm if batched else lm[:, 0],
        leaders_stable_from=stable if batched else stable[0],
        num_leaders=lm[-1].sum(axis=-1) if batched else lm[-1, 0].sum(),
        last_step=last if batched else last[0],
        A=A_, alpha=a, tau=tau, tie_rtol=t, num_layers=K, status=status,
    )


def hardmax_dynamics(
    Z: Any,
    A: Any,
    alpha: float,
    num_layers: int,
    *,
    tie_rtol: float = DEFAULT_TIE_RTOL,
    check_hypotheses: bool = True,
    keep_trajectory: bool = True,
    progress: bool = False,
) -> AttentionDynamics:
    r"""Run ``num_layers`` layers of the hardmax self-attention dynamics (4.1), weights shared.

    .. math::

        z_i(k+1) = \frac{z_i(k) + \alpha\,\frac{1}{|\mathcal C_i(k)|}\sum_{\ell\in\mathcal C_i(k)}
        z_\ell(k)}{1+\alpha},\qquad
        \mathcal C_i(k)=\{j:\langle z_j(k),Az_i(k)\rangle=\max_\ell\langle z_\ell(k),Az_i(k)\rangle\}

    Thm 4.1: for nonzero distinct tokens, A symmetric positive definite and alpha > 0,
    Z(k) converges to a clustered equilibrium (see :func:`equilibrium`) and the leader
    set stabilises after finitely many layers (``leaders_stable_from``).

    Parameters
    ----------
    Z : array, shape (n, d) or (B, n, d)
        Initial tokens Z(0), one sequence or a batch of B sequences.
    A : array, shape (d, d)
        Symmetric positive definite.
    alpha : float > 0
        Step size.
    num_layers : int >= 0
        Number of layers K.
    tie_rtol : float in [0, 1)
        Relative tie tolerance of (4.1b) (see :func:`hardmax_step`).
    check_hypotheses : bool
        Check Thm 4.1's hypotheses on Z(0) (nonzero, pairwise distinct tokens per sequence).
        Set to False to run the dynamics on other data (e.g. padded sequences).
    keep_trajectory : bool
        Store every layer (``trajectory``), else only the final tokens.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    AttentionDynamics
    """
    Zb, batched, A_, a, t = _prepare(Z, A, alpha, tie_rtol, check_hypotheses)
    return _run(Zb, batched, A_, a, 0.0, t, num_layers, keep_trajectory, progress)


def softmax_dynamics(
    Z: Any,
    A: Any,
    alpha: float,
    tau: float,
    num_layers: int,
    *,
    tie_rtol: float = DEFAULT_TIE_RTOL,
    check_hypotheses: bool = True,
    keep_trajectory: bool = True,
    progress: bool = False,
) -> AttentionDynamics:
    r"""Run the softmax self-attention dynamics: (4.1a) with the weights (4.2) at temperature tau.

    .. math::

        z_i(k+1) = \frac{z_i(k) + \alpha\sum_\ell \pi^\tau_{i\ell}(Z(k))\,z_\ell(k)}{1+\alpha},\qquad
        \pi^\tau_{i\ell} = \operatorname{softmax}_\ell\big(\langle Az_i,z_\ell\rangle/\tau\big)

    Stable for tau down to 1e-6 (the row maximum is subtracted before exponentiating);
    ``tau == 0`` dispatches to :func:`hardmax_dynamics` (the singular limit (4.3)).
    ``leader_mask`` uses the hardmax tie sets of each layer.

    Parameters
    ----------
    Z : array, shape (n, d) or (B, n, d)
    A : array, shape (d, d), symmetric positive definite
    alpha : float > 0
    tau : float >= 0
        Temperature.
    num_layers : int >= 0
    tie_rtol, check_hypotheses, keep_trajectory, progress
        As in :func:`hardmax_dynamics`.

    Returns
    -------
    AttentionDynamics
    """
    tau_f = check_tau(tau)
    Zb, batched, A_, a, t = _prepare(Z, A, alpha, tie_rtol, check_hypotheses)
    return _run(Zb, batched, A_, a, tau_f, t, num_layers, keep_trajectory, progress)


def leaders(Z: Any, A: Any, *, tie_rtol: float = DEFAULT_TIE_RTOL) -> np.ndarray | list[np.ndarray]:
    r"""Indices of the leaders of a configuration: :math:`\{i : \mathcal C_i(Z) = \{i\}\}`.

    A token leads when it attends only to itself in (4.1b). Tokens that coincide with
    :math:`z_i` up to ``sqrt(tie_rtol) * max |z|`` (numerically merged copies, which appear
    once the dynamics has converged in floating point) count as :math:`z_i`, and the
    first index represents them.

    Parameters
    ----------
    Z : array, shape (n, d) or (B, n, d)
    A : array, shape (d, d), symmetric positive definite
    tie_rtol : float in [0, 1)

    Returns
    -------
    ndarray of int (sorted), or a list of them (one per sequence) for a batch.
    """
    Zb, batched, A_, _, t = _prepare(Z, A, 1.0, tie_rtol, False)
    _, _, lm = _layer(Zb, A_, 0.0, t, None)
    out = [np.flatnonzero(lm[b]) for b in range(Zb.shape[0])]
    return out if batched else out[0]

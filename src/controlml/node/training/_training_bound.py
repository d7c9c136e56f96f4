"""The a-priori bound (3.11)-(3.15): constructed controls bound every trained minimiser.

A constructed interpolating control :math:`\\theta_c` (:func:`~controlml.node.interpolate`,
P = 1) has zero empirical risk and :math:`\\|\\theta_c\\|^2_{BV} = K` (3.11).  Hence any
:math:`\\theta^*` with :math:`J_\\alpha(\\theta^*) \\le J_\\alpha(\\theta_c)`, in particular
any global minimiser of (3.13), satisfies (3.15):

.. math::
    \\|\\theta^*\\|^2_{BV} \\le \\tfrac{1}{\\alpha} J_\\alpha(\\theta^*)
    \\le \\tfrac{1}{\\alpha} J_\\alpha(\\theta_c) = K + \\tfrac{1}{\\alpha}\\sum_i|\\Phi_T^c(x_i) - y_i|^2
    \\approx K.

Gradient training finds local minimisers, so the study trains from the constructed
control (L-BFGS, descent by line search: :math:`J_\\alpha(\\theta^*) \\le J_\\alpha(\\theta_c)`
holds by construction) and from random starts (Adam), and reports for each run
whether :math:`J_\\alpha(\\theta^*) \\le J_\\alpha(\\theta_c)` holds (measured, not forced)
and whether :math:`\\|\\theta^*\\|^2_{BV} \\le K`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..._checks import as_points, check_int, check_positive, check_random_state, check_same_rows
from ...errors import ParameterError
from ..flows._flow import flow
from ..simultaneous._interpolate import InterpolationResult, interpolate
from ._training import fit

__all__ = ["BoundRun", "AprioriBoundStudy", "apriori_bound_study"]

_RTOL = 1e-10


@dataclass(frozen=True)
class BoundRun:
    """One training run of :func:`apriori_bound_study`.

    Attributes
    ----------
    alpha : float
    init : str
        ``"constructed"`` or ``"random"``.
    seed : int
        The torch seed of a random start (-1 for the constructed start).
    objective, risk, bv_norm_sq : float
        :math:`J_\\alpha(\\theta^*)`, its empirical risk and :math:`\\|\\theta^*\\|^2_{BV}` (exact flow, float64).
    constructive_objective : float
        :math:`J_\\alpha(\\theta_c) = \\alpha K + \\text{risk}(\\theta_c)`.
    below_constructive : bool
        :math:`J_\\alpha(\\theta^*) \\le J_\\alpha(\\theta_c)` (relative tolerance 1e-10).
    within_bound : bool
        :math:`\\|\\theta^*\\|^2_{BV} \\le K + \\text{risk}(\\theta_c)/\\alpha` (relative tolerance 1e-10).
    history : array (epochs,)
        Training objective per epoch.
    status : str
        The training status (see :class:`TrainingResult`).
    """

    alpha: float
    init: str
    seed: int
    objective: float
    risk: float
    bv_norm_sq: float
    constructive_objective: float
    below_constructive: bool
    within_bound: bool
    history: np.ndarray
    status: str


@dataclass(frozen=True)
class AprioriBoundStudy:
    """Outcome of :func:`apriori_bound_study`.

    Attributes
    ----------
    constructed : InterpolationResult
        The explicit control :math:`\\theta_c` (P = 1).
    K : float
        :math:`\\|\\theta_c\\|^2_{BV}` (3.11).
    constructed_risk : float
        :math:`\\sum_i |\\Phi^c_T(x_i) - y_i|^2` (zero up to rounding).
    runs : tuple of BoundRun
    status : str
        ``"holds"`` when every run with ``below_constructive`` is ``within_bound`` (3.15) and
        every constructed start ends ``below_constructive``; otherwise ``"violated"``.
    """

    constructed: InterpolationResult
    K: float
    constructed_risk: float
    runs: tuple[BoundRun, ...]
    status: str

    def runs_for(self, alpha: float) -> tuple[BoundRun, ...]:
        """The runs of one :math:`\\alpha`."""
        return tuple(r for r in self.runs if r.alpha == alpha)


def apriori_bound_study(X: Any, Y: Any, *, alphas: Any, num_random: int = 3, T: float = 1.0,
                        epochs: int = 600, lr: float = 2e-2, constructed_epochs: int = 20,
                        constructed_lr: float = 0.5, init_scale: float = 0.5,
                        random_state: Any = None,
                        dtype: torch.dtype = torch.float64, device: str | torch.device | None = None,
                        progress: bool = False, seed: Any = None) -> AprioriBoundStudy:
    """Construct :math:`\\theta_c`, train :math:`J_\\alpha` from it and from random starts, compare.

    .. math::
        K = \\|\\theta_c\\|^2_{BV}, \\qquad
        J_\\alpha(\\theta^*) \\le J_\\alpha(\\theta_c) \\implies \\|\\theta^*\\|^2_{BV} \\le K.

    Parameters
    ----------
    X, Y : array (N, d)
        Inputs and targets (distinct rows, d >= 2).
    alphas : sequence of float
        Regularisation weights :math:`\\alpha > 0`.
    num_random : int
        Random starts per :math:`\\alpha` (the same ``num_random`` starts for every alpha).
    T : float
        Horizon of the construction and of every trained control (same L + 1 = 2N pieces).
    epochs, lr : int, float
        Adam (cosine schedule) for the random starts.
    constructed_epochs, constructed_lr : int, float
        L-BFGS (strong Wolfe) from the constructed control.
    init_scale : float
        Scale of the random starts (see :func:`fit`).
    random_state : None, int or numpy.random.Generator
        Drives :func:`interpolate` and then draws the torch seeds of the random starts.
    dtype : torch.dtype
        Of the training (float64 by default: the comparison with :math:`J_\\alpha(\\theta_c)`
        is a certificate, and float32 rounding of the steep constructed control would
        blur it).
    device, progress
        As in :func:`fit`.
    seed : int, optional
        Deprecated (FutureWarning): the old separate first torch seed of the random starts
        (``seed, seed + 1, ...``), with ``random_state`` then used by :func:`interpolate` only.

    Returns
    -------
    AprioriBoundStudy
    """
    X = as_points(X, "X")
    Y = as_points(Y, "Y", dim=X.shape[1])
    check_same_rows(X, Y)
    try:
        alphas = [check_positive(a, "alphas[i]") for a in np.atleast_1d(np.asarray(alphas, dtype=float))]
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"alphas must be a sequence of numbers > 0; got {alphas!r}") from exc
    if not alphas:
        raise ParameterError("alphas must hold at least one value")
    num_random = check_int(num_random, "num_random", minimum=0)
    if seed is not None:
        warnings.warn("apriori_bound_study(seed=...) is deprecated and will be removed in the next "
                      "release; random_state=... now seeds the random starts too", FutureWarning,
                      stacklevel=2)
        seed = check_int(seed, "seed")
    rng = check_random_state(random_state)
    res = interpolate(X, Y, width=1, T=T, random_state=rng)
    if seed is not None:
        start_seeds = [seed + j for j in range(num_random)]
    else:
        start_seeds = [int(s) for s in rng.integers(0, 2**31, size=num_random)]
    ctrl = res.control
    K = ctrl.bv_norm() ** 2
    L1 = len(ctrl.pieces)
    risk_c = float(np.sum((flow(ctrl, X) - Y) ** 2))
    runs = []
    for alpha in alphas:
        Jc = alpha * K + risk_c
        bound = K + risk_c / alpha
        starts = [("constructed", -1)] + [("random", s) for s in start_seeds]
        for init, s in starts:
            if init == "constructed":
                tr = fit(X, Y, alpha=alpha, init=ctrl, epochs=constructed_epochs, lr=constructed_lr,
                         optimizer="lbfgs", patience=3, dtype=dtype, device=device, progress=progress)
            else:
                tr = fit(X, Y, alpha=alpha, num_pieces=L1, T=T, epochs=epochs, lr=lr, schedule="cosine",
                         patience=epochs, init_scale=init_scale, random_state=s, dtype=dtype, device=device,
                         progress=progress)
            runs.append(BoundRun(alpha, init, s, tr.objective, tr.risk, tr.bv_norm_sq, Jc,
                                 bool(tr.objective <= Jc * (1 + _RTOL)),
                                 bool(tr.bv_norm_sq <= bound * (1 + _RTOL)), tr.history, tr.status))
    ok = all(r.within_bound for r in runs if r.below_constructive) and all(
        r.below_constructive for r in runs if r.init == "constructed")
    return AprioriBoundStudy(res, K, risk_c, tuple(runs), "holds" if ok else "violated")


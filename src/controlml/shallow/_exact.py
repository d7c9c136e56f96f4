"""Constructive exact representation (2.3): an N-neuron ReLU network through N distinct points."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import lstsq, solve_triangular

from .._checks import check_int, check_random_state
from ..errors import ParameterError
from ._data import check_data
from ._network import ShallowNetwork

__all__ = ["exact_representation", "staircase_atoms"]


def staircase_atoms(X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""N unit atoms :math:`\theta_k = (u, -c_k)/\|(u, -c_k)\|` whose feature matrix is triangular.

    ``u`` is a random unit direction (the projections :math:`t_i = u\cdot x_i` are
    distinct almost surely for distinct :math:`x_i`); the thresholds are
    :math:`c_1 = t_{(1)} - 1` and :math:`c_k = t_{(k-1)}`, so neuron ``k`` is active exactly on
    the points ranked ``>= k`` (piecewise-linear interpolation along ``u``).  Returns ``(atoms (N, d+1), order (N,))``.
    """
    N, d = X.shape
    for _ in range(50):
        u = rng.standard_normal(d)
        u /= np.linalg.norm(u)
        t = X @ u
        order = np.argsort(t, kind="stable")
        ts = t[order]
        gaps = np.diff(ts)
        if N == 1 or gaps.min() > 1e-9 * max(1.0, np.abs(ts).max()):
            break
    else:  # pragma: no cover - distinct rows make this unreachable
        raise ParameterError("could not find a direction separating the inputs")
    # neuron 1 starts one unit before the first point, neuron k >= 2 at the previous point:
    # piecewise-linear interpolation along u, triangular with diagonal (1, gaps).
    c = np.concatenate([[ts[0] - 1.0], ts[:-1]])
    atoms = np.column_stack([np.tile(u, (N, 1)), -c])
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    return atoms, order


def exact_representation(X: Any, y: Any, *, P: int | None = None,
                         random_state: Any = None) -> ShallowNetwork:
    r"""A width-P ReLU network with :math:`f_{\mathrm{shallow}}(x_i) = y_i` for all i, any P >= N (2.3).

    Parameters
    ----------
    X : array (N, d)
        Distinct inputs.
    y : array (N,)
        Labels.
    P : int, optional
        Width, ``P >= N`` (default ``N``).  The first N neurons form a triangular
        system (see :func:`staircase_atoms`), so interpolation holds for every
        data set; the ``P - N`` extra neurons have random unit parameters and the
        weights are the minimum-norm solution of the square-or-wide system.
    random_state : int or Generator, optional

    Returns
    -------
    ShallowNetwork
        Parameters on the unit sphere :math:`\|(a_j, b_j)\| = 1`.
    """
    X, y = check_data(X, y)
    N, d = X.shape
    P = N if P is None else check_int(P, "P", minimum=1)
    if P < N:
        raise ParameterError(f"P must be >= N = {N} for the exact representation (2.3); got {P}. "
                             "Use fit_sparse for the minimal-norm network (it may need fewer atoms)")
    rng = check_random_state(random_state)
    atoms, order = staircase_atoms(X, rng)
    Xt = np.column_stack([X, np.ones(N)])
    L = np.maximum(Xt[order] @ atoms.T, 0.0)  # lower triangular, positive diagonal
    if P == N:
        w = solve_triangular(L, y[order], lower=True)
    else:
        extra = rng.standard_normal((P - N, d + 1))
        extra /= np.linalg.norm(extra, axis=1, keepdims=True)
        atoms = np.vstack([atoms, extra])
        Phi = np.maximum(Xt @ atoms.T, 0.0)
        w = lstsq(Phi, y, lapack_driver="gelsd")[0]
    return ShallowNetwork(w, atoms[:, :d], atoms[:, d])

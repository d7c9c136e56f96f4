"""The authors' test problems (danielveldman/rbm_lq and rbm-mpc), rebuilt.

Every operator is a sum of *links*: a link (i, j) of weight w adds w [-1 1; 1 -1] to
rows/columns i, j (the graph Laplacian), so the parts A_m are sums of links.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._checks import check_int, check_positive, check_random_state
from ..errors import ParameterError
from ._problem import LQProblem

__all__ = ["heat1d", "heat_ring", "heat3d", "link_laplacian"]


def link_laplacian(n: int, links: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    """sum over links (i, j) of w (-e_i e_i^T + e_i e_j^T + e_j e_i^T - e_j e_j^T), (n, n) CSR.

    The (negative semi-definite) weighted graph Laplacian of the links; repeated links add up.

    Parameters
    ----------
    n : int
        The number of nodes (the matrix is n x n).
    links : (L, 2) array_like of int
        The links (i, j), node indices in 0..n-1.
    weights : (L,) array_like or float
        The weight w of each link (a scalar applies to every link).

    Returns
    -------
    scipy.sparse.csr_matrix
        The (n, n) matrix.
    """
    links = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), (links.shape[0],))
    i, j = links[:, 0], links[:, 1]
    rows = np.concatenate([i, i, j, j])
    cols = np.concatenate([i, j, i, j])
    vals = np.concatenate([-w, w, w, -w])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def heat1d(n: int = 61, *, parts: int = 3, T: float = 0.5, K: int = 2**7) -> LQProblem:
    """1-D heat equation on [-1.5, 1.5] (rbm_lq ``example1_heat1D.m``), Neumann ends.

    n nodes, dx = 3/(n-1) (the true spacing; the authors' code uses half of it), the n-1
    links split into ``parts`` contiguous groups, end rows doubled (the ghost-node Neumann
    condition), Q = 100 dx on x <= 0, B = 1 on [-1, 0] (the authors' -L/3 with L = 3),
    R = 1, x0 = exp(-x^2) + x^2 exp(-1.5^2), Crank--Nicolson with K steps on [0, T].

    Parameters
    ----------
    n : int, default 61
        The number of grid nodes (n >= 3); n - 1 must be divisible by ``parts``.
    parts : int, default 3
        The number M of parts A_m, each the links of one contiguous stretch of the rod.
    T : float, default 0.5
        The horizon.
    K : int, default 128
        The number of time steps (dt = T / K).

    Returns
    -------
    LQProblem
        The problem with n states, one control and A given as ``parts`` parts.
    """
    n = check_int(n, "n", minimum=3)
    parts = check_int(parts, "parts", minimum=1)
    K = check_int(K, "K", minimum=1)
    T = check_positive(T, "T")
    if (n - 1) % parts:
        raise ParameterError(f"n - 1 = {n - 1} must be divisible by parts = {parts}")
    L = 1.5
    x = np.linspace(-L, L, n)
    dx = 2 * L / (n - 1)
    per = (n - 1) // parts
    ends = np.ones(n)
    ends[[0, -1]] = 2.0
    D = sp.diags(ends)
    As = []
    for mth in range(parts):
        e = np.arange(mth * per, (mth + 1) * per)
        As.append(sp.csr_matrix(D @ link_laplacian(n, np.column_stack([e, e + 1]), 1 / dx**2)))
    B = ((x >= -1.0) & (x <= 0.0)).astype(float).reshape(-1, 1)
    Q = sp.diags(np.where(x <= 0, 100 * dx, 0.0)).tocsr()
    x0 = np.exp(-(x**2)) + x**2 * np.exp(-(L**2))
    return LQProblem(As, B, Q, np.eye(1), x0=x0, T=T, dt=T / K)


def heat_ring(n: int = 100, *, kappa: float = 1e-3, T: float = 200.0, dt: float = 1.0,
              width: float = 0.1) -> LQProblem:
    """Periodic 1-D heat equation on [0, 1): a ring of n links (rbm-mpc ``C0_basic_code.m``).

    kappa/dx^2 per link (dx = 1/n), one actuator b = 1/width on |x| <= width/2 (periodic),
    Q = 100 dx I, R = 1, x0 = 10 exp(-2 (1 + sin 2 pi x)), Crank--Nicolson with dt on [0, T].
    The parts are the n links (drop one at random and rescale by n/(n-1): ``"drop-one"``).

    Parameters
    ----------
    n : int, default 100
        The number of nodes and of links (parts), n >= 3.
    kappa : float, default 1e-3
        The diffusivity, > 0.
    T : float, default 200.0
        The horizon.
    dt : float, default 1.0
        The time step (T / dt must be an integer).
    width : float, default 0.1
        The width of the actuated interval around x = 0, > 0.

    Returns
    -------
    LQProblem
        The problem with n states, one control and A given as n parts (one per link).
    """
    n = check_int(n, "n", minimum=3)
    kappa = check_positive(kappa, "kappa")
    width = check_positive(width, "width")
    dx = 1.0 / n
    x = np.arange(n) * dx
    As = [link_laplacian(n, np.array([[i, (i + 1) % n]]), kappa / dx**2) for i in range(n)]
    B = ((x <= width / 2) | (x >= 1 - width / 2)).astype(float).reshape(-1, 1) / width
    Q = sp.identity(n, format="csr") * (100 * dx)
    x0 = 10 * np.exp(-2 * (1 + np.sin(2 * np.pi * x)))
    return LQProblem(As, B, Q, np.eye(1), x0=x0, T=T, dt=dt)


def heat3d(n: int = 16, *, parts: int = 3, T: float = 2.0, K: int = 2**6,
           random_state=None) -> LQProblem:
    """3-D heat equation on [0, 1.5]^3, n^3 nodes (rbm_lq ``example2_heat3D.m``).

    Every grid link is put in one of ``parts`` sets at random; A_m = D^{-1} (sum of its links
    / dx^2) with D = 1/2 per boundary face of a node (lumped Neumann mass).  B = 1 on the top
    face z = 1.5 (one control), Q = I on the side x = 0, R = 1, x0 = exp(-(x^2 + z^2)/(8 L^2)).

    Parameters
    ----------
    n : int, default 16
        Nodes per axis (n >= 2); the state has n^3 entries.
    parts : int, default 3
        The number M of parts A_m.
    T : float, default 2.0
        The horizon.
    K : int, default 64
        The number of time steps (dt = T / K).
    random_state : None, int or numpy.random.Generator, optional
        Seed or generator of the random assignment of the links to the parts.

    Returns
    -------
    LQProblem
        The problem with n^3 states (sparse), one control and A given as ``parts`` parts.
    """
    n = check_int(n, "n", minimum=2)
    parts = check_int(parts, "parts", minimum=1)
    rng = check_random_state(random_state)
    Lx = 1.5
    dx = Lx / (n - 1)
    idx = np.arange(n**3).reshape(n, n, n)  # idx[i, j, k], x = i dx, y = j dx, z = k dx
    links = np.vstack([
        np.column_stack([idx[:-1].ravel(), idx[1:].ravel()]),
        np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
        np.column_stack([idx[:, :, :-1].ravel(), idx[:, :, 1:].ravel()]),
    ])
    which = rng.integers(0, parts, size=links.shape[0])
    face = np.ones((n, n, n))
    for ax in range(3):
        sl = [slice(None)] * 3
        for end in (0, -1):
            sl[ax] = end
            face[tuple(sl)] *= 0.5
    Dinv = sp.diags(1.0 / face.ravel())
    As = [sp.csr_matrix(Dinv @ link_laplacian(n**3, links[which == mth], 1 / dx**2))
          for mth in range(parts)]
    B = np.zeros((n**3, 1))
    B[idx[:, :, -1].ravel(), 0] = 1.0
    B = sp.csr_matrix(B)
    q = np.zeros(n**3)
    q[idx[0].ravel()] = 1.0
    g = np.linspace(0, Lx, n)
    X, _, Z = np.meshgrid(g, g, g, indexing="ij")
    x0 = np.exp(-(X**2 + Z**2) / 8 / Lx**2).ravel()
    return LQProblem(As, B, sp.diags(q).tocsr(), np.eye(1), x0=x0, T=T, dt=T / K)

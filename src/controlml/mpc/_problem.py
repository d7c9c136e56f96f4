"""The linear-quadratic problem, its time stepping and its cost.

Continuous time (``time="continuous"``)::

    x'(t) = A x(t) + B u(t),   x(0) = x0,   t in [0, T],
    J(u) = int_0^T (x - x_d)^T Q (x - x_d) + (u - u_d)^T R (u - u_d) dt
           + (x(T) - x_d)^T QT (x(T) - x_d),

discretised by Crank--Nicolson on the grid t_k = k dt (k = 0..K, K = T/dt) with a
piecewise-constant control u_k on [t_k, t_{k+1}]::

    (I - dt/2 A) x_{k+1} = (I + dt/2 A) x_k + dt B u_k,

and the cost by the trapezoidal rule in x and the midpoint rule in u (as the authors'
MATLAB code does, without its factor 1/2):  J = sum_k dt [ l(x_k)/2 + l(x_{k+1})/2 + m(u_k) ]
+ terminal.  Discrete time (``time="discrete"``)::

    x_{k+1} = A x_k + B u_k,   J = sum_{k=0}^{K-1} l(x_k) + m(u_k) + (x_K - x_d)^T QT (x_K - x_d),

where ``dt`` only labels the time axis.  Both are the same internal form
``E_k x_{k+1} = F_k x_k + G u_k`` with stage weights ``wx_k`` on l and ``wu`` on m.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._checks import as_vector, check_option, check_positive
from ..errors import DatasetError, ParameterError

__all__ = ["LQProblem"]


def _is_matrix_like(a: Any) -> bool:
    return sp.issparse(a) or (isinstance(a, np.ndarray) and a.ndim == 2)


def _as_matrix(a: Any, name: str, shape: tuple[int | None, int | None]) -> Any:
    """A finite float64 2-D ndarray or a CSR matrix, shape-checked (None = any)."""
    if sp.issparse(a):
        m = sp.csr_matrix(a, dtype=np.float64)
        vals = m.data
    else:
        try:
            m = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{name} must be a numeric matrix; got {type(a).__name__}") from exc
        if m.ndim == 0:
            m = m.reshape(1, 1)
        if m.ndim == 1 and shape[1] == 1:
            m = m.reshape(-1, 1)
        if m.ndim != 2:
            raise DatasetError(f"{name} must be a 2-D matrix; got shape {m.shape}")
        vals = m
    for axis, want in enumerate(shape):
        if want is not None and m.shape[axis] != want:
            exp = "x".join("*" if s is None else str(s) for s in shape)
            raise DatasetError(f"{name} must have shape ({exp}); got {m.shape}: check the "
                               "state dimension n and the number of controls m")
    if not np.all(np.isfinite(vals)):
        raise DatasetError(f"{name} contains a non-finite value (NaN or inf)")
    return m


def _check_psd(M: Any, name: str, *, definite: bool) -> None:
    """Raise unless ``M`` is symmetric positive semi-definite (definite: positive definite)."""
    n = M.shape[0]
    scale = max(float(abs(M).max()) if n else 0.0, 1e-300)
    asym = abs(M - M.T).max() if sp.issparse(M) else np.max(np.abs(M - M.T))
    if asym > 1e-10 * scale:
        raise DatasetError(f"{name} must be symmetric; max |{name} - {name}^T| = {asym:.3g} "
                           f"(max |{name}| = {scale:.3g}): pass ({name} + {name}.T)/2")
    tol = 1e-10 * scale
    if sp.issparse(M) and (M - sp.diags(M.diagonal())).nnz == 0:
        lam = float(M.diagonal().min())
    elif sp.issparse(M):
        d = M.diagonal()
        off = np.asarray(abs(M).sum(axis=1)).ravel() - np.abs(d)
        if np.all(d - off >= -tol):  # Gershgorin: every disc in [~0, inf)
            lam = float(np.min(d - off))
        elif n <= 3000:
            lam = float(np.linalg.eigvalsh(M.toarray())[0])
        else:
            lam = float(spla.eigsh(M, k=1, which="SA", return_eigenvectors=False)[0])
    else:
        lam = float(np.linalg.eigvalsh(M)[0])
    if definite and not lam > tol:
        raise DatasetError(f"{name} must be positive definite (the control cost makes the "
                           f"problem well posed); its smallest eigenvalue is {lam:.3g}")
    if not definite and lam < -tol:
        raise DatasetError(f"{name} must be positive semi-definite; its smallest eigenvalue is "
                           f"{lam:.3g}")


@dataclass(frozen=True, eq=False)
class LQProblem:
    """A linear-quadratic optimal control problem on [0, T] (see the module docstring).

    Minimise ``J(u)`` (the running cost in ``Q``, ``R`` plus the terminal cost in ``QT``)
    subject to ``x' = A x + B u`` (continuous time, Crank--Nicolson with step ``dt``) or
    ``x_{k+1} = A x_k + B u_k`` (discrete time).  All arguments are validated (shapes,
    finiteness, symmetry and definiteness of the weights) when the problem is built.

    Parameters
    ----------
    A : (n, n) array_like or sparse matrix, or a sequence of (n, n) ones
        The state matrix.  Given as a non-empty sequence of parts ``[A_1, ..., A_M]``,
        A is their sum A = sum_m A_m, and the problem can be split at random
        (:func:`randomized_splitting`, :class:`RBM`).  Sparse input is kept sparse (CSR).
    B : (n, m) array_like or sparse matrix
        The control matrix; a 1-D vector of length n means one control (m = 1).
    Q : (n, n) array_like or sparse matrix
        Symmetric positive semi-definite weight of the state in the running cost.
    R : (m, m) array_like
        Symmetric positive definite weight of the control in the running cost (a scalar
        when m = 1); stored as a dense ndarray.
    x0 : (n,) array_like
        The initial state x(0).
    T : float
        The horizon, T > 0.
    dt : float
        The time step, dt > 0; ``T / dt`` must be a positive integer K, the number of
        steps.  In discrete time it only labels the time axis t_k = k dt.
    QT : (n, n) array_like or sparse matrix, optional
        Symmetric positive semi-definite terminal weight on x(T) - x_d.  Default None:
        no terminal cost (a sparse zero matrix is stored).
    time : {"continuous", "discrete"}, default "continuous"
        Continuous time (discretised by Crank--Nicolson, cost by the trapezoidal rule) or
        discrete time (``A`` and ``B`` are the one-step maps).
    x_target : (n,) array_like, optional
        The state target x_d of the cost.  Default None: x_d = 0.
    u_target : (m,) array_like, optional
        The control target u_d of the cost.  Default None: u_d = 0.

    Attributes
    ----------
    A : (n, n) ndarray or scipy.sparse.csr_matrix
        The state matrix: the sum of the parts (CSR when A was given as parts or any of
        ``A``, ``B`` was sparse, else a dense ndarray).
    parts : tuple of (n, n) scipy.sparse.csr_matrix, or None
        The parts A_m (CSR), or None when A was given whole.
    n : int
        The state dimension.
    m : int
        The number of controls.
    K : int
        The number of time steps, T / dt.
    """

    A: Any
    B: Any
    Q: Any
    R: np.ndarray
    x0: np.ndarray
    T: float
    dt: float
    QT: Any = None
    time: str = "continuous"
    x_target: np.ndarray | None = None
    u_target: np.ndarray | None = None
    parts: tuple | None = field(default=None)

    def __init__(self, A, B, Q, R, *, x0, T, dt, QT=None, time: str = "continuous",
                 x_target=None, u_target=None):
        check_option(time, "time", ("continuous", "discrete"))
        parts = None
        if (isinstance(A, Sequence) and not isinstance(A, np.ndarray | str) and len(A) > 0
                and all(_is_matrix_like(a) for a in A)) or (isinstance(A, Sequence) and len(A) == 0):
            if len(A) == 0:
                raise DatasetError("A was given as an empty sequence of parts: pass the matrix A "
                                   "or a non-empty list of parts A_m with A = sum_m A_m")
            first = _as_matrix(A[0], "A[0]", (None, None))
            n = first.shape[0]
            parts = tuple(sp.csr_matrix(_as_matrix(a, f"A[{i}]", (n, n)))
                          for i, a in enumerate(A))
            if first.shape[1] != n:
                raise DatasetError(f"A[0] must be square (n, n); got shape {first.shape}")
            Asum = parts[0].copy()
            for p in parts[1:]:
                Asum = Asum + p
            Afull = sp.csr_matrix(Asum)
        else:
            Afull = _as_matrix(A, "A", (None, None))
            if Afull.shape[0] != Afull.shape[1]:
                raise DatasetError(f"A must be square (n, n); got shape {Afull.shape}")
        n = Afull.shape[0]
        if n == 0:
            raise DatasetError("A must have at least one row (n >= 1); got shape (0, 0)")
        if not _is_matrix_like(B) and np.ndim(B) == 1:
            B = np.asarray(B, dtype=np.float64).reshape(-1, 1)
        Bm = _as_matrix(B, "B", (n, None))
        m = Bm.shape[1]
        if m == 0:
            raise DatasetError("B must have at least one column (m >= 1)")
        Qm = _as_matrix(Q, "Q", (n, n))
        _check_psd(Qm, "Q", definite=False)
        Rm = _as_matrix(R, "R", (m, m))
        Rm = Rm.toarray() if sp.issparse(Rm) else Rm
        _check_psd(Rm, "R", definite=True)
        if QT is None:
            QTm = sp.csr_matrix((n, n))
        else:
            QTm = _as_matrix(QT, "QT", (n, n))
            _check_psd(QTm, "QT", definite=False)
        x0v = as_vector(x0, "x0", size=n)
        T = check_positive(T, "T")
        dt = check_positive(dt, "dt")
        K = round(T / dt)
        if K < 1 or abs(K * dt - T) > 1e-9 * max(T, 1.0):
            raise ParameterError(f"T / dt must be a positive integer (the number of steps K); got "
                                 f"T = {T!r}, dt = {dt!r}, T/dt = {T / dt:.6g}: choose dt = T/K")
        xt = None if x_target is None else as_vector(x_target, "x_target", size=n)
        ut = None if u_target is None else as_vector(u_target, "u_target", size=m)
        if sp.issparse(Afull) or sp.issparse(Bm) or parts is not None:
            Afull = sp.csr_matrix(Afull)
        for k, v in dict(A=Afull, B=Bm, Q=Qm, R=Rm, x0=x0v, T=T, dt=dt, QT=QTm, time=time,
                         x_target=xt, u_target=ut, parts=parts).items():
            object.__setattr__(self, k, v)

    # ------------------------------------------------------------------ sizes
    @property
    def n(self) -> int:
        return int(self.A.shape[0])

    @property
    def m(self) -> int:
        return int(self.B.shape[1])

    @property
    def K(self) -> int:
        return round(self.T / self.dt)

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.A)

    @property
    def times(self) -> np.ndarray:
        """Grid t_k = k dt, k = 0..K, shape (K+1,)."""
        return self.dt * np.arange(self.K + 1)

    @property
    def xd(self) -> np.ndarray:
        return np.zeros(self.n) if self.x_target is None else self.x_target

    @property
    def ud(self) -> np.ndarray:
        return np.zeros(self.m) if self.u_target is None else self.u_target

    def replace(self, **changes) -> LQProblem:
        """A copy with some arguments changed (``x0``, ``T``, ``A``...)."""
        args = dict(A=self.parts if self.parts is not None else self.A, B=self.B, Q=self.Q,
                    R=self.R, x0=self.x0, T=self.T, dt=self.dt, QT=self.QT, time=self.time,
                    x_target=self.x_target, u_target=self.u_target)
        args.update(changes)
        A = args.pop("A")
        B = args.pop("B")
        Q = args.pop("Q")
        R = args.pop("R")
        return LQProblem(A, B, Q, R, **args)

    def _window(self, x0: np.ndarray, K: int, *, terminal: bool) -> LQProblem:
        """The same problem on K steps from ``x0`` (no validation; MPC windows).

        ``terminal=False`` drops QT (a window that ends before T)."""
        w = object.__new__(LQProblem)
        for k, v in self.__dict__.items():
            object.__setattr__(w, k, v)
        object.__setattr__(w, "x0", x0)
        object.__setattr__(w, "T", K * self.dt)
        if not terminal:
            object.__setattr__(w, "QT", sp.csr_matrix((self.n, self.n)))
        return w

    # ------------------------------------------------------------- weights
    def weights(self, K: int | None = None) -> tuple[np.ndarray, float]:
        """Stage weights (wx (K+1,), wu) of l(x_k) and m(u_k) in the discrete cost."""
        K = self.K if K is None else K
        if self.time == "continuous":
            wx = np.full(K + 1, self.dt)
            wx[0] = wx[-1] = self.dt / 2
            return wx, self.dt
        wx = np.ones(K + 1)
        wx[-1] = 0.0
        return wx, 1.0

    def cost(self, x: np.ndarray, u: np.ndarray) -> float:
        """The discrete cost J of a trajectory x (K+1, n) and controls u (K, m)."""
        K = u.shape[0]
        wx, wu = self.weights(K)
        dx = x - self.xd
        du = u - self.ud
        Qdx = (self.Q @ dx.T).T
        QTdx = self.QT @ dx[-1]
        lx = np.einsum("ki,ki->k", dx, Qdx)
        lu = np.einsum("ki,ij,kj->k", du, self.R, du)
        return float(wx @ lx + wu * lu.sum() + dx[-1] @ QTdx)


class Dynamics:
    """The time stepping E x_{k+1} = F x_k + G u_k of a problem, for any operator A_op.

    Operators are cached by key (``None``: the full A; a tuple: a batch of parts), with
    the sparse LU factorisation of E (continuous time) computed once per operator.  Pass
    one instance as ``dynamics=`` to :func:`mpc`, :func:`solve_ocp` or
    :func:`randomized_splitting` to share those factorisations across calls on the
    same problem.

    Parameters
    ----------
    problem : LQProblem
        The problem whose time stepping is cached (state dimension n).
    """

    def __init__(self, problem: LQProblem):
        self.p = problem
        self.n = problem.n
        self._ops: dict[Any, Any] = {}
        self._lu: dict[Any, Any] = {}
        self._dense: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
        self._stack = None
        self.G = (problem.dt * problem.B) if problem.time == "continuous" else problem.B
        if sp.issparse(self.G):
            self.G = sp.csr_matrix(self.G)
        self.GT = self.G.T.tocsr() if sp.issparse(self.G) else np.ascontiguousarray(self.G.T)
        self.register(None, problem.A)

    def with_problem(self, problem: LQProblem) -> Dynamics:
        """A view on the same operators and factors, with another problem's cost."""
        d = object.__new__(Dynamics)
        d.__dict__.update(self.__dict__)
        d.p = problem
        return d

    def register_batch(self, rule: Any, omega: tuple) -> None:
        """Register A_omega = sum_{m in omega} A_m / pi_m (built from one stacked COO)."""
        if omega in self._ops:
            return
        if "_stack" not in self.__dict__ or self._stack is None:
            coos = [a.tocoo() for a in self.p.parts]
            self._stack = (np.concatenate([c.row for c in coos]),
                           np.concatenate([c.col for c in coos]),
                           np.concatenate([c.data for c in coos]),
                           np.concatenate([np.full(c.nnz, i) for i, c in enumerate(coos)]))
        rows, cols, vals, pid = self._stack
        scale = np.zeros(len(self.p.parts))
        om = list(omega)
        scale[om] = 1.0 / rule.pi[om]
        w = vals * scale[pid]
        keep = w != 0
        Aop = sp.csr_matrix((w[keep], (rows[keep], cols[keep])), shape=(self.n, self.n))
        self.register(omega, Aop)

    def register(self, key: Any, Aop: Any) -> None:
        if key in self._ops:
            return
        p = self.p
        Asp = sp.csc_matrix(Aop)
        I = sp.identity(self.n, format="csc")
        if p.time == "continuous":
            E = (I - (p.dt / 2) * Asp).tocsc()
            F = (I + (p.dt / 2) * Asp).tocsr()
            self._lu[key] = spla.splu(E)
        else:
            F = Asp.tocsr()
            self._lu[key] = None
        self._ops[key] = (F, F.T.tocsr())

    def step(self, key: Any, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        F, _ = self._ops[key]
        rhs = F @ x + self.G @ u
        lu = self._lu[key]
        return rhs if lu is None else lu.solve(rhs)

    def adjoint_step(self, key: Any, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Given lam = dJ/dx_{k+1}, return (F^T E^{-T} lam, G^T E^{-T} lam)."""
        _, FT = self._ops[key]
        lu = self._lu[key]
        pvec = lam if lu is None else lu.solve(lam, trans="T")
        return FT @ pvec, self.GT @ pvec

    def dense(self, key: Any) -> tuple[np.ndarray, np.ndarray]:
        """(A_d, B_d) = (E^{-1} F, E^{-1} G) as dense arrays (for the Riccati recursion)."""
        if key not in self._dense:
            F, _ = self._ops[key]
            Fd = F.toarray()
            Gd = self.G.toarray() if sp.issparse(self.G) else np.asarray(self.G)
            lu = self._lu[key]
            if lu is None:
                self._dense[key] = (Fd, Gd)
            else:
                self._dense[key] = (lu.solve(Fd), lu.solve(np.asfortranarray(Gd)))
        return self._dense[key]

    def simulate(self, x0: np.ndarray, u: np.ndarray, keys: Sequence[Any] | None = None
                 ) -> np.ndarray:
        """States (K+1, n) from x0 under controls u (K, m); keys[k] selects the operator."""
        K = u.shape[0]
        x = np.empty((K + 1, self.n))
        x[0] = x0
        for k in range(K):
            x[k + 1] = self.step(None if keys is None else keys[k], x[k], u[k])
        return x

"""A PyTorch module for the piecewise-constant neural ODE (3.3), for training.

.. math::
    \\dot x(t) = W_k\\,\\sigma(A_k x(t) + b_k), \\qquad t \\in [t_k, t_{k+1}),\\ k = 0, \\dots, L,

with trainable :math:`(W_k, A_k, b_k)` of shapes (d, P), (P, d), (P,) on ``L + 1``
pieces of fixed durations :math:`\\tau_k` (:math:`\\sum_k \\tau_k = T`).

Integration, piece by piece (never across a switch):

* **ReLU / leaky ReLU, width P = 1: exact.**  With :math:`z = a\\cdot x_0 + b`,
  :math:`g = 1` if :math:`z > 0` else the negative slope :math:`\\gamma`, and
  :math:`\\kappa = a\\cdot w`, the sign of :math:`z` is invariant along the piece and

  .. math:: x(t) = x_0 + w\\, g z\\, \\varphi(g\\kappa, t), \\qquad
            \\varphi(\\lambda, t) = \\frac{e^{\\lambda t} - 1}{\\lambda}

  (:math:`\\varphi(0, t) = t`).  :math:`\\varphi` is evaluated as ``expm1(λt)/λ``
  away from 0 and by its Taylor series :math:`t(1 + u/2 + u^2/6 + u^3/24)`,
  :math:`u = \\lambda t`, for :math:`|u| < 10^{-4}`, so it is smooth (and its
  autograd gradient exact) at :math:`\\kappa = 0`.  Autograd runs through this closed form.
* **Width P > 1 (any activation) and smooth activations: a time stepper.**  For
  :math:`P > 1` the ReLU field is only piecewise affine on the arrangement of P
  hyperplanes and a point's flow has no closed form in general (the exact NumPy
  :func:`~controlml.node.flow` locates each crossing with matrix exponentials and
  root finding, which autograd cannot follow cheaply).  These pieces are integrated
  by a time stepper restarted at every switch time: ``"rk4"`` (default) is the classic
  fourth-order Runge-Kutta scheme with ``steps_per_piece`` steps per piece, written
  inline (for these small systems the per-call overhead of :func:`torchdiffeq.odeint`,
  whose ``"rk4"`` is the 3/8 variant, dominates: inline is about 2x faster); the other
  fixed-grid methods (``"euler"``, ``"midpoint"``, ...) and the adaptive ones
  (``"dopri5"``, ... with ``rtol``/``atol``) go through :func:`torchdiffeq.odeint`,
  one call per piece.  RK4 is exact on shear pieces (:math:`AW = 0`, then
  :math:`Ax` is constant along every stage), the pieces of the explicit constructions.
  In :meth:`TorchNODE.trajectory` a fixed-grid torchdiffeq method interpolates between
  its grid points unless ``num_samples`` divides ``steps_per_piece``; the inline RK4
  takes ``steps_per_piece`` steps between consecutive samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..._checks import check_int, check_option, check_positive
from ...errors import ControlError, DatasetError, ParameterError
from ..flows._activations import ACTIVATIONS, LEAKY_SLOPE, PIECEWISE_LINEAR
from ..flows._control import Control

__all__ = ["TorchNODE", "torch_bv_norm", "phi_expm1"]

#: fixed-grid torchdiffeq methods (use ``steps_per_piece``)
FIXED_METHODS = ("rk4", "euler", "midpoint", "explicit_adams", "implicit_adams")
#: adaptive torchdiffeq methods (use ``rtol``/``atol``)
ADAPTIVE_METHODS = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")
METHODS = ("auto", "exact") + FIXED_METHODS + ADAPTIVE_METHODS

_SERIES = 1e-4


def phi_expm1(lam: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """:math:`\\varphi(\\lambda, t) = (e^{\\lambda t} - 1)/\\lambda`, smooth through :math:`\\lambda = 0`.

    Parameters
    ----------
    lam : tensor of any shape (...)
        Rates :math:`\\lambda`.
    t : float or tensor of a shape broadcastable to ``lam``
        Times (>= 0); converted to the dtype and device of ``lam``.

    Returns
    -------
    tensor (...)
        ``expm1(lam t) / lam`` where :math:`|\\lambda t| \\ge 10^{-4}`, else the Taylor
        polynomial :math:`t(1 + u/2 + u^2/6 + u^3/24)`, :math:`u = \\lambda t`
        (relative error below :math:`10^{-18}`).  Both branches are evaluated on safe
        inputs (double ``where``), so gradients never see a 0/0.
    """
    t = torch.as_tensor(t, dtype=lam.dtype, device=lam.device)
    u = lam * t
    small = u.abs() < _SERIES
    lam_safe = torch.where(small, torch.ones_like(lam), lam)
    u_safe = lam_safe * t
    big = torch.expm1(u_safe) / lam_safe
    us = torch.where(small, u, torch.zeros_like(u))
    series = t * (1.0 + us * (0.5 + us * (1.0 / 6.0 + us / 24.0)))
    return torch.where(small, series, big)


def torch_bv_norm(durations: torch.Tensor, W: torch.Tensor, A: torch.Tensor,
                  b: torch.Tensor) -> torch.Tensor:
    """The BV norm of :meth:`Control.bv_norm`, differentiable.

    .. math:: \\|\\theta\\|_{BV(0,T)} = \\sum_{k=0}^{L} \\tau_k |\\theta_k|
              + \\sum_{k=0}^{L-1} |\\theta_{k+1} - \\theta_k|,
              \\qquad \\theta_k = (W_k, A_k, b_k) \\in \\mathbb{R}^{(2d+1)P},

    with :math:`|\\cdot|` the Euclidean norm: the :math:`L^1(0, T)` norm plus the total
    variation (sum of the jumps).  The same number as ``Control.bv_norm()``.

    Parameters
    ----------
    durations : tensor (L+1,)
    W : tensor (L+1, d, P)
    A : tensor (L+1, P, d)
    b : tensor (L+1, P)

    Returns
    -------
    tensor ()
    """
    n = W.shape[0]
    theta = torch.cat([W.reshape(n, -1), A.reshape(n, -1), b.reshape(n, -1)], dim=1)
    l1 = (durations * torch.linalg.vector_norm(theta, dim=1)).sum()
    if n == 1:
        return l1
    return l1 + torch.linalg.vector_norm(theta[1:] - theta[:-1], dim=1).sum()


def _sigma(activation: str):
    if activation == "relu":
        return torch.relu
    if activation == "leaky_relu":
        return lambda z: torch.nn.functional.leaky_relu(z, LEAKY_SLOPE)
    if activation == "tanh":
        return torch.tanh
    return torch.sigmoid


class _Field(nn.Module):
    """The constant field x -> W sigma(Ax + b) of one piece, for torchdiffeq (y of shape (N, d))."""

    def __init__(self, W: torch.Tensor, A: torch.Tensor, b: torch.Tensor, sigma) -> None:
        super().__init__()
        self.W, self.A, self.b, self.sigma = W, A, b, sigma

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # noqa: ARG002
        return self.sigma(x @ self.A.T + self.b) @ self.W.T


class TorchNODE(nn.Module):
    """Trainable piecewise-constant neural ODE (3.3): ``L + 1`` pieces of width P.

    .. math:: \\dot x = W(t)\\sigma(A(t)x + b(t)), \\quad (W, A, b)(t) = (W_k, A_k, b_k)
              \\text{ on piece } k.

    Parameters
    ----------
    durations : array (L+1,)
        Fixed lengths :math:`\\tau_k > 0` of the pieces (not trained).
    W : array (L+1, d, P)
        Initial output weights.
    A : array (L+1, P, d)
        Initial input weights.
    b : array (L+1, P)
        Initial biases.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"}
    method : str
        ``"auto"`` (exact closed form when ReLU/leaky ReLU and P = 1, else ``"rk4"``),
        ``"exact"`` (the closed form; ReLU/leaky ReLU with P = 1 only), a fixed-grid
        torchdiffeq method (``"rk4"``, ``"euler"``, ``"midpoint"``, ...) or an adaptive one
        (``"dopri5"``, ...).
    steps_per_piece : int
        Steps of a fixed-grid method on every piece.
    rtol, atol : float
        Tolerances of an adaptive method.
    dtype : torch.dtype, optional
        Parameter dtype (default: torch's default dtype).
    device : str or torch.device, optional
        Where the parameters live (default CPU).

    Attributes
    ----------
    W, A, b : nn.Parameter
        The trainable controls, shapes as above.
    durations : buffer (L+1,)
    """

    def __init__(self, durations: Any, W: Any, A: Any, b: Any, *, activation: str = "relu",
                 method: str = "auto", steps_per_piece: int = 8, rtol: float = 1e-7,
                 atol: float = 1e-9, dtype: torch.dtype | None = None,
                 device: str | torch.device | None = None) -> None:
        super().__init__()
        check_option(activation, "activation", ACTIVATIONS)
        check_option(method, "method", METHODS)
        steps_per_piece = check_int(steps_per_piece, "steps_per_piece", minimum=1)
        rtol, atol = check_positive(rtol, "rtol"), check_positive(atol, "atol")
        dur = np.asarray(durations, dtype=np.float64)
        Wn, An, bn = (np.asarray(v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v,
                                 dtype=np.float64) for v in (W, A, b))
        if dur.ndim != 1 or dur.size < 1 or not np.all(np.isfinite(dur)) or np.any(dur <= 0):
            raise ControlError(f"durations must be a 1-D array of finite numbers > 0; got {dur!r}")
        n = dur.size
        if Wn.ndim != 3 or Wn.shape[0] != n:
            raise ControlError(f"W must have shape (L+1, d, P) = ({n}, d, P); got {Wn.shape}")
        _, d, P = Wn.shape
        if An.shape != (n, P, d) or bn.shape != (n, P):
            raise ControlError(f"expected A ({n}, {P}, {d}) and b ({n}, {P}); got {An.shape} and {bn.shape}")
        for name, v in (("W", Wn), ("A", An), ("b", bn)):
            if not np.all(np.isfinite(v)):
                raise ControlError(f"{name} contains NaN or inf")
        exact_ok = activation in PIECEWISE_LINEAR and P == 1
        if method == "exact" and not exact_ok:
            raise ParameterError(
                f"method='exact' needs a ReLU or leaky ReLU control of width P = 1; got "
                f"activation={activation!r}, P={P}: a width-P > 1 piece has no closed-form flow "
                "in general; use method='rk4' (or 'auto')")
        self.activation = activation
        self.method = ("exact" if exact_ok else "rk4") if method == "auto" else method
        self.steps_per_piece, self.rtol, self.atol = steps_per_piece, rtol, atol
        dtype = dtype or torch.get_default_dtype()
        kw = dict(dtype=dtype, device=device)
        self.register_buffer("durations", torch.tensor(dur, **kw))
        self.W = nn.Parameter(torch.tensor(Wn, **kw))
        self.A = nn.Parameter(torch.tensor(An, **kw))
        self.b = nn.Parameter(torch.tensor(bn, **kw))
        self._dur = tuple(float(t) for t in dur)

    # -- conversions ----------------------------------------------------------------------
    @classmethod
    def from_control(cls, control: Control, *, activation: str = "relu", method: str = "auto",
                     steps_per_piece: int = 8, rtol: float = 1e-7, atol: float = 1e-9,
                     dtype: torch.dtype | None = None,
                     device: str | torch.device | None = None) -> TorchNODE:
        """The module holding the parameters of ``control`` (same pieces and durations)."""
        if not isinstance(control, Control):
            raise ControlError(f"control must be a Control; got {type(control).__name__}")
        dur, W, A, b = control.arrays
        return cls(dur, W, A, b, activation=activation, method=method, steps_per_piece=steps_per_piece,
                   rtol=rtol, atol=atol, dtype=dtype, device=device)

    def to_control(self) -> Control:
        """The current parameters as a float64 :class:`Control` (for the exact NumPy flow)."""
        f = lambda v: v.detach().to("cpu", torch.float64).numpy()  # noqa: E731
        return Control.from_arrays(list(self._dur), f(self.W), f(self.A), f(self.b))

    # -- attributes -----------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.W.shape[1]

    @property
    def width(self) -> int:
        return self.W.shape[2]

    @property
    def num_pieces(self) -> int:
        return self.W.shape[0]

    @property
    def T(self) -> float:
        return float(sum(self._dur))

    def bv_norm(self) -> torch.Tensor:
        """:math:`\\|\\theta\\|_{BV}` of the current parameters (see :func:`torch_bv_norm`)."""
        return torch_bv_norm(self.durations, self.W, self.A, self.b)

    def extra_repr(self) -> str:
        return (f"L={self.num_pieces - 1}, d={self.dim}, P={self.width}, T={self.T:.4g}, "
                f"activation={self.activation!r}, method={self.method!r}")

    # -- flow -----------------------------------------------------------------------------
    def _check_x(self, X: Any) -> torch.Tensor:
        X = torch.as_tensor(X, dtype=self.W.dtype, device=self.W.device)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise DatasetError(f"X must have shape (N, {self.dim}); got {tuple(X.shape)}")
        return X

    def _exact_piece(self, k: int, X: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        """Closed-form flow of piece k (P = 1) for time t (float) or times t (S,) -> (S, N, d)."""
        w, a, bb = self.W[k, :, 0], self.A[k, 0], self.b[k, 0]
        z = X @ a + bb
        gamma = 0.0 if self.activation == "relu" else LEAKY_SLOPE
        g = torch.where(z > 0, torch.ones_like(z), torch.full_like(z, gamma))
        lam = g * (a @ w)
        if isinstance(t, torch.Tensor):
            coef = (g * z)[None, :] * phi_expm1(lam[None, :], t[:, None])
            return X[None] + coef[..., None] * w
        return X + (g * z * phi_expm1(lam, t))[:, None] * w[None, :]

    def _rk4_piece(self, k: int, X: torch.Tensor, num_samples: int) -> list[torch.Tensor]:
        """Classic RK4 on piece k: the states after every ``steps_per_piece / num_samples`` steps."""
        W, A, b, sig = self.W[k], self.A[k], self.b[k], _sigma(self.activation)
        n = self.steps_per_piece * num_samples
        h = self._dur[k] / n

        def f(x: torch.Tensor) -> torch.Tensor:
            return sig(x @ A.T + b) @ W.T

        out = []
        for j in range(n):
            k1 = f(X)
            k2 = f(X + (0.5 * h) * k1)
            k3 = f(X + (0.5 * h) * k2)
            k4 = f(X + h * k3)
            X = X + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            if (j + 1) % self.steps_per_piece == 0:
                out.append(X)
        return out

    def _solver_piece(self, k: int, X: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
        from torchdiffeq import odeint

        field = _Field(self.W[k], self.A[k], self.b[k], _sigma(self.activation))
        if self.method in FIXED_METHODS:
            opts = {"step_size": self._dur[k] / self.steps_per_piece}
            return odeint(field, X, ts, method=self.method, options=opts)
        return odeint(field, X, ts, method=self.method, rtol=self.rtol, atol=self.atol)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """:math:`\\Phi_T(x_i)` for the rows of X (N, d) -> (N, d)."""
        X = self._check_x(X)
        for k, tau in enumerate(self._dur):
            if self.method == "exact":
                X = self._exact_piece(k, X, tau)
            elif self.method == "rk4":
                X = self._rk4_piece(k, X, 1)[-1]
            else:
                ts = torch.tensor([0.0, tau], dtype=X.dtype, device=X.device)
                X = self._solver_piece(k, X, ts)[-1]
        return X

    def trajectory(self, X: torch.Tensor, num_samples: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
        """States at ``num_samples`` equally spaced times per piece (and t = 0).

        Returns
        -------
        t : tensor (K,)
            ``K = (L + 1) num_samples + 1`` times in [0, T], including every switch and T.
        X : tensor (K, N, d)
            ``X[j]`` is :math:`\\Phi_{t_j}` applied to the inputs (differentiable).
        """
        num_samples = check_int(num_samples, "num_samples", minimum=1)
        X = self._check_x(X)
        ts, Xs, t0 = [0.0], [X], 0.0
        for k, tau in enumerate(self._dur):
            sub = [tau * (j + 1) / num_samples for j in range(num_samples)]
            if self.method == "exact":
                states = list(self._exact_piece(k, X, torch.tensor(sub, dtype=X.dtype, device=X.device)))
            elif self.method == "rk4":
                states = self._rk4_piece(k, X, num_samples)
            else:
                grid = torch.tensor([0.0] + sub, dtype=X.dtype, device=X.device)
                states = list(self._solver_piece(k, X, grid)[1:])
            Xs.extend(states)
            ts.extend(t0 + s for s in sub)
            X = states[-1]
            t0 += tau
        return torch.tensor(ts, dtype=X.dtype, device=X.device), torch.stack(Xs)

"""The heat-equation solution of an empirical measure, its log, exact score and divergence."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._checks import (
    as_points,
    check_int,
    check_option,
    check_positive,
    check_random_state,
    check_result_finite,
    check_scale,
)
from .._torch import check_device, check_dtype
from ..errors import DatasetError

__all__ = ["HeatKernelScore"]

_RESCALE = (
    " (the heat flow is scale covariant: for data c X the score at (c x, c**2 t) is "
    "s(x, t) / c, so divide the data by their spread and t by its square)"
)


def _np_dtype(dtype: torch.dtype) -> Any:
    return np.float32 if dtype == torch.float32 else np.float64


class HeatKernelScore:
    r"""Exact score of the heat flow of an empirical measure (Sec. 5 of the paper).

    For data :math:`x_1,\dots,x_I \in \mathbb{R}^d` the solution of
    :math:`u_t = \Delta u` with :math:`u(\cdot,0) = \frac1I\sum_i \delta_{x_i}` is

    .. math::
        u(x,t) = \frac1I \sum_{i=1}^I G(x-x_i,t),\qquad
        G(x,t) = (4\pi t)^{-d/2} e^{-|x|^2/4t},

    its score is :math:`s = \nabla \log u = \sum_i w_i (x_i - x)/(2t)` with
    :math:`w = \mathrm{softmax}_i(-|x-x_i|^2/4t)`, and

    .. math::
        \operatorname{div} s = \Delta \log u
        = \frac{\operatorname{tr}\operatorname{Cov}_w(x_i)}{4t^2} - \frac{d}{2t}
        \;\ge\; -\frac{d}{2t}\quad\text{(Li--Yau)}.

    Everything is evaluated with a streaming log-sum-exp (no overflow or
    underflow for ``t`` down to 1e-6 and far-away queries), in blocks of at most
    ``block_size`` query-data pairs, so memory stays bounded for 1e5 queries x
    1e5 data points.  Works on CPU or CUDA through torch.

    Parameters
    ----------
    data : array (I, d)
        The training points :math:`x_i` (finite; at least one row).
    dtype : torch.float64 (default) or torch.float32
        Precision used for NumPy inputs (tensor inputs keep their own dtype).
    device : "cpu" (default) or "cuda[:k]"
        Device used for NumPy inputs (tensor inputs keep their own device).
    block_size : int
        Largest number of (query, data) pairs held at once (default 2**20: a block of
        4 MB in float32 stays in cache).

    Attributes
    ----------
    X : ndarray (I, d)
        The data (float64).
    I, d : int
        Number of data points and dimension.

    Examples
    --------
    >>> import numpy as np
    >>> from controlml.diffusion import HeatKernelScore
    >>> hk = HeatKernelScore(np.array([[0.0, 0.0], [1.0, 0.0]]))
    >>> hk.score(np.array([[0.5, 0.0]]), 0.1)
    array([[0., 0.]])
    """

    def __init__(self, data: Any, *, dtype: Any = torch.float64, device: Any = "cpu",
                 block_size: int = 2**20) -> None:
        X = as_points(data, "data")
        self.dtype = check_dtype(dtype)
        self.device = check_device(device)
        self.block_size = check_int(block_size, "block_size", minimum=1)
        check_scale(X, "data", "the squared distances |x - x_i|^2", factor=4.0,
                    dtype=_np_dtype(self.dtype), hint=_RESCALE)
        self.X = X
        self.I, self.d = X.shape
        self.center = X.mean(axis=0)
        self._Xc = X - self.center
        self._cache: dict[tuple[torch.dtype, torch.device], tuple[torch.Tensor, ...]] = {}

    # ------------------------------------------------------------------ helpers
    def __repr__(self) -> str:
        return f"HeatKernelScore(I={self.I}, d={self.d}, dtype={self.dtype}, device={self.device})"

    def _data(self, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
        key = (dtype, device)
        if key not in self._cache:
            Xc = torch.as_tensor(self._Xc, dtype=dtype, device=device)
            sq = (Xc * Xc).sum(1)
            c = torch.as_tensor(self.center, dtype=dtype, device=device)
            self._cache[key] = (Xc, Xc.T.contiguous(), sq, c)
        return self._cache[key]

    def _query(self, x: Any, name: str = "x") -> tuple[torch.Tensor, bool]:
        """Validate queries; return a tensor and whether the input was NumPy."""
        if isinstance(x, torch.Tensor):
            if x.ndim != 2 or x.shape[1] != self.d:
                raise DatasetError(f"{name} must have shape (n, {self.d}) (the data dimension); "
                                   f"got shape {tuple(x.shape)}")
            if x.dtype not in (torch.float32, torch.float64):
                raise DatasetError(f"{name} must be a float32/float64 tensor; got {x.dtype}")
            if not bool(torch.isfinite(x).all()):
                raise DatasetError(f"{name} contains a non-finite value (NaN or inf): remove it")
            check_scale(x.detach().cpu().double().numpy() - self.center, name,
                        "the squared distances |x - x_i|^2", factor=4.0,
                        dtype=_np_dtype(x.dtype), hint=_RESCALE)
            return x, False
        arr = as_points(x, name, dim=self.d)
        check_scale(arr - self.center, name, "the squared distances |x - x_i|^2", factor=4.0,
                    dtype=_np_dtype(self.dtype), hint=_RESCALE)
        return torch.as_tensor(arr, dtype=self.dtype, device=self.device), True

    def _blocks(self, n: int) -> tuple[int, int]:
        ci = min(self.I, max(1, min(8192, self.block_size)))
        cq = max(1, self.block_size // ci)
        return min(cq, max(n, 1)), ci

    # ------------------------------------------------------------------ core
    def _evaluate(self, x: torch.Tensor, t: float, want_div: bool
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Streaming evaluation: returns (log u, score, div s or None) for tensor x (n, d)."""
        Xc, XcT, sq, c = self._data(x.dtype, x.device)
        xc = x - c
        n = xc.shape[0]
        cq, ci = self._blocks(n)
        inv4t = 1.0 / (4.0 * t)
        logu, score, div = [], [], []
        const = -math.log(self.I) - 0.5 * self.d * math.log(4.0 * math.pi * t)
        for q0 in range(0, n, cq):
            xq = xc[q0:q0 + cq]
            xsq = (xq * xq).sum(1, keepdim=True)
            m = S = A = B = anc = None
            for i0 in range(0, self.I, ci):
                # -|x - x_i|^2 / 4t, clamped so rounding never makes a square negative
                D2 = torch.clamp(xsq + sq[i0:i0 + ci] - 2.0 * (xq @ XcT[:, i0:i0 + ci]), min=0.0)
                L = -D2 * inv4t
                mb = L.max(1, keepdim=True).values.detach()
                if want_div:
                    if anc is None:
                        # anchor: the heaviest data point of the first block; the weighted
                        # variance is taken about it, so no large squares cancel
                        anc = Xc[i0 + L.argmax(1)]
                        ancsq = (anc * anc).sum(1, keepdim=True)
                    Da2 = torch.clamp(ancsq + sq[i0:i0 + ci] - 2.0 * (anc @ XcT[:, i0:i0 + ci]),
                                      min=0.0)
                if m is None:
                    m = mb
                    P = torch.exp(L - m)
                    S = P.sum(1, keepdim=True)
                    A = P @ Xc[i0:i0 + ci]
                    B = (P * Da2).sum(1, keepdim=True) if want_div else None
                else:
                    mn = torch.maximum(m, mb)
                    r = torch.exp(m - mn)
                    P = torch.exp(L - mn)
                    S = S * r + P.sum(1, keepdim=True)
                    A = A * r + P @ Xc[i0:i0 + ci]
                    if want_div:
                        B = B * r + (P * Da2).sum(1, keepdim=True)
                    m = mn
            mean = A / S
            diff = mean - xq
            logu.append((m + torch.log(S)).squeeze(1) + const)
            score.append(diff * (2.0 * inv4t))
            if want_div:
                da = mean - anc
                trcov = B.squeeze(1) / S.squeeze(1) - (da * da).sum(1)
                div.append(trcov * inv4t * inv4t * 4.0 - 0.5 * self.d / t)
        return (torch.cat(logu), torch.cat(score), torch.cat(div) if want_div else None)

    def score_tensor(self, x: torch.Tensor, t: float) -> torch.Tensor:
        r"""Hot path of the samplers: the score only, for a validated tensor (n, d).

        Per block of queries and of at most 8192 data points: one product
        ``[x, 1, -|x|^2/4t] @ [X^T/2t; -|X|^2/4t; 1]`` gives :math:`-|x-x_i|^2/4t \le 0`
        (no overflow, so no running maximum is needed across data blocks), exponentiated
        in place, and one product with ``[X, 1]`` accumulates the weighted sums.  Rows
        whose weights all (nearly) underflow (a query far from every data point at small
        ``t``) are recomputed by the streaming log-sum-exp path.
        """
        n = x.shape[0]
        Xc, XcT, sq, c = self._data(x.dtype, x.device)
        d = self.d
        K = torch.cat([XcT * (0.5 / t), (sq * (-0.25 / t))[None], torch.ones_like(sq)[None]], 0)
        Xa = torch.cat([Xc, torch.ones_like(sq)[:, None]], 1)
        # exp of arguments that underflow is ~10x slower on CPUs (denormals): clamp the
        # logits at lo, and send rows whose total weight is not >> I exp(lo) to the exact path
        lo = -80.0 if x.dtype == torch.float32 else -700.0
        tiny = self.I * math.exp(lo) * (1e8 if x.dtype == torch.float32 else 1e16)
        ci = min(self.I, 8192)
        cq = max(1, self.block_size // ci)
        out = torch.empty_like(x)
        for q0 in range(0, n, cq):
            xq = x[q0:q0 + cq] - c
            xa = torch.cat([xq, torch.ones_like(xq[:, :1]),
                            (xq * xq).sum(1, keepdim=True) * (-0.25 / t)], 1)
            R = None
            for i0 in range(0, self.I, ci):
                L = xa @ K[:, i0:i0 + ci]
                L.clamp_(min=lo).exp_()
                R = L @ Xa[i0:i0 + ci] if R is None else R.addmm_(L, Xa[i0:i0 + ci])
            tot = R[:, d]
            sc = (R[:, :d] / tot[:, None] - xq) * (0.5 / t)
            bad = ~(tot > tiny)
            if bool(bad.any()):
                sc[bad] = self._evaluate(xq[bad] + c, t, False)[1]
            out[q0:q0 + cq] = sc
        return out

    # ------------------------------------------------------------------ public
    def _out(self, v: torch.Tensor, numpy: bool, what: str = "the heat-kernel score") -> Any:
        if not bool(torch.isfinite(v.detach()).all()):
            check_result_finite(v.detach().cpu().double().numpy(), what, _RESCALE)
        return v.detach().cpu().numpy().astype(np.float64) if numpy else v

    def log_u(self, x: Any, t: float) -> Any:
        r""":math:`\log u(x, t)` at queries ``x`` (n, d) -> (n,).

        NumPy in, NumPy out (float64); a tensor in gives a tensor (differentiable) out.
        """
        t = check_positive(t, "t")
        xt, numpy = self._query(x)
        return self._out(self._evaluate(xt, t, False)[0], numpy)

    def u(self, x: Any, t: float) -> Any:
        r""":math:`u(x, t)` at queries ``x`` (n, d) -> (n,) (may underflow to 0: prefer :meth:`log_u`)."""
        t = check_positive(t, "t")
        xt, numpy = self._query(x)
        return self._out(torch.exp(self._evaluate(xt, t, False)[0]), numpy)

    def score(self, x: Any, t: float) -> Any:
        r"""The exact score :math:`s(x,t)=\nabla\log u(x,t)` at ``x`` (n, d) -> (n, d)."""
        t = check_positive(t, "t")
        xt, numpy = self._query(x)
        return self._out(self.score_tensor(xt, t), numpy)

    def divergence(self, x: Any, t: float) -> Any:
        r""":math:`\operatorname{div} s = \Delta\log u` at ``x`` (n, d) -> (n,), in closed form."""
        t = check_positive(t, "t")
        xt, numpy = self._query(x)
        return self._out(self._evaluate(xt, t, True)[2], numpy)

    def evaluate(self, x: Any, t: float) -> tuple[Any, Any, Any]:
        r"""``(log u (n,), s (n, d), div s (n,))`` at ``x`` (n, d) in one pass over the data."""
        t = check_positive(t, "t")
        xt, numpy = self._query(x)
        lu, s, dv = self._evaluate(xt, t, True)
        return self._out(lu, numpy), self._out(s, numpy), self._out(dv, numpy)

    def gaussian_moments(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        r"""Mean (d,) and covariance (d, d) of :math:`u(\cdot,t)`: the data's plus :math:`2tI`."""
        t = check_positive(t, "t")
        cov = np.cov(self.X.T, bias=True).reshape(self.d, self.d) + 2.0 * t * np.eye(self.d)
        return self.X.mean(axis=0), cov

    def sample_marginal(self, n: int, t: float, *, how: str = "exact",
                        random_state: Any = None) -> np.ndarray:
        r"""``n`` samples (n, d) of :math:`u(\cdot, t)`.

        ``how="exact"``: pick :math:`x_i` uniformly and add :math:`\sqrt{2t}\,\xi`,
        :math:`\xi\sim N(0,I)` (an exact sample of the mixture).
        ``how="gaussian"``: the moment-matched Gaussian :math:`N(\bar x, \Sigma + 2tI)`.
        """
        n = check_int(n, "n", minimum=1)
        t = check_positive(t, "t")
        check_option(how, "how", ("exact", "gaussian"))
        rng = check_random_state(random_state)
        if how == "exact":
            idx = rng.integers(0, self.I, n)
            return self.X[idx] + math.sqrt(2.0 * t) * rng.standard_normal((n, self.d))
        mean, cov = self.gaussian_moments(t)
        return rng.multivariate_normal(mean, cov, size=n, method="cholesky")

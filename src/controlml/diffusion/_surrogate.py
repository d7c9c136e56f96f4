"""A neural surrogate of the score, trained by denoising score matching (+ a div s >= -M penalty)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import (
    as_points,
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
    check_random_state,
    renamed_kwarg,
)
from .._torch import check_device, check_dtype, torch_generator
from ..errors import DatasetError, ParameterError

__all__ = ["ScoreMLP", "NeuralScore", "train_score_model"]


class ScoreMLP(nn.Module):
    r"""MLP :math:`\varepsilon_\theta(x, t)` with :math:`s_\theta = -\varepsilon_\theta/\sqrt{2t}`.

    Inputs are preconditioned: :math:`x/\sqrt{\sigma^2+2t}` and
    :math:`\ell`, the log of ``t`` rescaled to [-1, 1] on ``[t_min, t_max]``.

    Parameters
    ----------
    d : int
        Dimension.
    hidden, depth : int
        Width and number of hidden layers (SiLU).
    sigma2, t_min, t_max : float
        Data variance (per coordinate) and the time range used for the rescaling.
    """

    def __init__(self, d: int, *, hidden: int = 128, depth: int = 3, sigma2: float = 1.0,
                 t_min: float = 1e-3, t_max: float = 1.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        w = d + 1
        for _ in range(depth):
            layers += [nn.Linear(w, hidden), nn.SiLU()]
            w = hidden
        layers.append(nn.Linear(w, d))
        self.net = nn.Sequential(*layers)
        self.d = d
        self.sigma2 = float(sigma2)
        self.log_lo, self.log_hi = math.log(t_min), math.log(t_max)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``eps`` (n, d) at ``x`` (n, d) and ``t`` (n, 1)."""
        ell = 2.0 * (torch.log(t) - self.log_lo) / (self.log_hi - self.log_lo) - 1.0
        return self.net(torch.cat([x / torch.sqrt(self.sigma2 + 2.0 * t), ell], 1))


def _div_exact(f: torch.Tensor, x: torch.Tensor, create_graph: bool) -> torch.Tensor:
    div = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for j in range(x.shape[1]):
        (g,) = torch.autograd.grad(f[:, j].sum(), x, create_graph=create_graph, retain_graph=True)
        div = div + g[:, j]
    return div


def _div_hutchinson(f: torch.Tensor, x: torch.Tensor, k: int, gen: torch.Generator,
                    create_graph: bool) -> torch.Tensor:
    div = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for _ in range(k):
        v = torch.randint(0, 2, x.shape, generator=gen, device=x.device).to(x.dtype) * 2 - 1
        (g,) = torch.autograd.grad((f * v).sum(), x, create_graph=create_graph, retain_graph=True)
        div = div + (g * v).sum(1)
    return div / k


@dataclass(frozen=True)
class NeuralScore:
    r"""A trained surrogate :math:`s_\theta(x,t) = -\varepsilon_\theta(x,t)/\sqrt{2t}`.

    Usable wherever the exact score is (:func:`sample`, :func:`li_yau_check`).

    Attributes
    ----------
    model : ScoreMLP
        The network (on ``device``, in ``dtype``).
    X : ndarray (I, d)
        Training data (used to start the sampler from :math:`u(\cdot, t_{max})`).
    d : int
        Dimension.
    t_min, t_max : float
        Time range of the training.
    M : float
        Bound of the penalty :math:`\operatorname{div}s_\theta \ge -M`.
    penalty : float
        Weight of the penalty (0: plain denoising score matching).
    divergence_method : str
        ``"exact"`` or ``"hutchinson"``.
    losses : ndarray (steps,)
        Denoising loss per step.
    penalties : ndarray (steps,)
        Penalty value per step.
    dtype, device
        Of the model.
    seconds : float
        Training time.
    status : str
        ``"ok"`` or ``"non-finite"``.
    """

    model: ScoreMLP
    X: np.ndarray
    d: int
    t_min: float
    t_max: float
    M: float
    penalty: float
    divergence_method: str
    losses: np.ndarray
    penalties: np.ndarray
    dtype: torch.dtype
    device: torch.device
    seconds: float
    status: str

    def score_tensor(self, x: torch.Tensor, t: float) -> torch.Tensor:
        r"""Hot path of the samplers: :math:`s_\theta(x, t)` (n, d) for a tensor x (n, d), unchecked."""
        tt = torch.full((x.shape[0], 1), t, dtype=x.dtype, device=x.device)
        return -self.model(x.to(self.dtype), tt.to(self.dtype)).to(x.dtype) / math.sqrt(2.0 * t)

    def _query(self, x: Any) -> tuple[torch.Tensor, bool]:
        if isinstance(x, torch.Tensor):
            if x.ndim != 2 or x.shape[1] != self.d:
                raise DatasetError(f"x must have shape (n, {self.d}); got {tuple(x.shape)}")
            return x.to(self.dtype), False
        arr = as_points(x, "x", dim=self.d)
        return torch.as_tensor(arr, dtype=self.dtype, device=self.device), True

    def score(self, x: Any, t: float) -> Any:
        r""":math:`s_\theta(x, t)` at ``x`` (n, d) -> (n, d)."""
        t = check_positive(t, "t")
        xt, numpy = self._query(x)
        with torch.no_grad():
            s = self.score_tensor(xt, t)
        return s.cpu().numpy().astype(np.float64) if numpy else s

    def divergence(self, x: Any, t: float) -> Any:
        r""":math:`\operatorname{div}s_\theta(x, t)` (exact, by autograd) at ``x`` (n, d) -> (n,)."""
        t = check_positive(t, "t")
        xt, numpy = self._query(x)
        xt = xt.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            s = self.score_tensor(xt, t)
            div = _div_exact(s, xt, create_graph=False)
        return div.detach().cpu().numpy().astype(np.float64) if numpy else div.detach()

    def sample_marginal(self, n: int, t: float, *, how: str = "exact",
                        random_state: Any = None) -> np.ndarray:
        r"""``n`` samples of :math:`u(\cdot,t)` built from the training data (see HeatKernelScore)."""
        from ._score import HeatKernelScore

        return HeatKernelScore(self.X).sample_marginal(n, t, how=how, random_state=random_state)


def train_score_model(data: Any, *, t_min: float = 1e-3, t_max: float = 1.0, hidden: int = 128,
                      depth: int = 3, steps: int = 2000, batch_size: int = 512, lr: float = 2e-3,
                      penalty: float = 0.0, M: float | None = None, divergence: str = "auto",
                      hutchinson_samples: int = 1, dtype: Any = torch.float32,
                      device: Any = "cpu", random_state: Any = None,
                      progress: bool = False, batch: int | None = None) -> NeuralScore:
    r"""Train :math:`s_\theta` by denoising score matching, optionally with a divergence penalty.

    .. math::
        \min_\theta\;
        \mathbb E_{i,\,t,\,\xi}\big|\varepsilon_\theta(x_i+\sqrt{2t}\,\xi, t) - \xi\big|^2
        + \lambda\,\mathbb E\Big[\Big(
        \big(-M - \operatorname{div}s_\theta\big)_+ / M\Big)^2\Big],

    with :math:`t` log-uniform on :math:`[t_{min}, t_{max}]`,
    :math:`s_\theta = -\varepsilon_\theta/\sqrt{2t}` (so the first term is the
    :math:`2t`-weighted score-matching loss), and :math:`\lambda` = ``penalty``.  The
    penalty is evaluated on the noisy batch and on as many uniform points of the data's
    bounding box enlarged by :math:`1 + 3\sqrt{2t}` (where an unconstrained fit is free
    to violate the bound).  The
    default :math:`M = d/(2t_{min})` is the Li--Yau bound of the exact score at
    :math:`t_{min}`.

    Parameters
    ----------
    data : array (I, d)
        Training points.
    t_min, t_max : float
        Time range, ``0 < t_min < t_max``.
    hidden, depth : int
        MLP width and number of hidden layers.
    steps : int
        Adam steps, each on a fresh random batch of (data point, time, noise) draws (there is
        no pass over a fixed training set, hence steps rather than epochs).
    batch_size : int
        Draws per step.
    lr : float
        Adam learning rate (cosine decay to 0).
    penalty : float >= 0
        Weight :math:`\lambda` of the one-sided divergence penalty (0: none).
    M : float, optional
        The bound; default ``d / (2 t_min)``.
    divergence : {"auto", "exact", "hutchinson"}
        Exact divergence (d autograd passes; ``auto`` picks it for d <= 8) or
        Hutchinson's estimator with Rademacher probes.
    hutchinson_samples : int
        Probes per step for Hutchinson.
    dtype, device
        Of the model (float32 default; CPU default).
    random_state : int or Generator, optional
        Seeds the initialisation and all draws.
    progress : bool
        tqdm bar.
    batch : int, optional
        Deprecated alias of ``batch_size`` (FutureWarning).

    Returns
    -------
    NeuralScore
    """
    X = as_points(data, "data")
    t_min = check_positive(t_min, "t_min")
    t_max = check_positive(t_max, "t_max")
    if not t_min < t_max:
        raise ParameterError(f"t_min must be < t_max; got t_min={t_min!r}, t_max={t_max!r}")
    hidden = check_int(hidden, "hidden", minimum=1)
    depth = check_int(depth, "depth", minimum=1)
    steps = check_int(steps, "steps", minimum=1)
    batch = check_int(renamed_kwarg(batch_size, batch, "batch", "batch_size", "train_score_model"),
                      "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    penalty = check_nonnegative(penalty, "penalty")
    d = X.shape[1]
    M = d / (2.0 * t_min) if M is None else check_positive(M, "M")
    check_option(divergence, "divergence", ("auto", "exact", "hutchinson"))
    method = ("exact" if d <= 8 else "hutchinson") if divergence == "auto" else divergence
    hutchinson_samples = check_int(hutchinson_samples, "hutchinson_samples", minimum=1)
    dtype = check_dtype(dtype)
    device = check_device(device)
    rng = check_random_state(random_state)
    _, gen = torch_generator(rng, device)

    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
        torch.manual_seed(int(rng.integers(0, 2**62)))
        model = ScoreMLP(d, hidden=hidden, depth=depth, sigma2=float(X.var(0).mean()),
                         t_min=t_min, t_max=t_max).to(device=device, dtype=dtype)
    Xt = torch.as_tensor(X, dtype=dtype, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    lo, hi = math.log(t_min), math.log(t_max)
    box_lo = torch.as_tensor(X.min(0), dtype=dtype, device=device)
    box_w = torch.as_tensor(X.max(0) - X.min(0), dtype=dtype, device=device)
    losses = np.empty(steps)
    pens = np.zeros(steps)
    it: Any = range(steps)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="score matching", total=steps, leave=False)
    for k in it:
        idx = torch.randint(0, X.shape[0], (batch,), generator=gen, device=device)
        t = torch.exp(lo + (hi - lo) * torch.rand((batch, 1), generator=gen, dtype=dtype,
                                                  device=device))
        xi = torch.randn((batch, d), generator=gen, dtype=dtype, device=device)
        x = Xt[idx] + torch.sqrt(2.0 * t) * xi
        eps = model(x, t)
        loss = ((eps - xi) ** 2).sum(1).mean()
        total = loss
        if penalty > 0:
            # penalty points: the noisy batch and uniform points around the data
            pad = 1.0 + 3.0 * torch.sqrt(2.0 * t)
            xu = box_lo - pad + (box_w + 2.0 * pad) * torch.rand((batch, d), generator=gen,
                                                                 dtype=dtype, device=device)
            xp = torch.cat([x.detach(), xu]).requires_grad_(True)
            tp = torch.cat([t, t])
            ep = model(xp, tp)
            if method == "exact":
                div_eps = _div_exact(ep, xp, create_graph=True)
            else:
                div_eps = _div_hutchinson(ep, xp, hutchinson_samples, gen, create_graph=True)
            div_s = -div_eps / torch.sqrt(2.0 * tp[:, 0])
            pen = ((torch.relu(-M - div_s) / M) ** 2).mean()
            total = loss + penalty * pen
            pens[k] = float(pen.detach())
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        sched.step()
        losses[k] = float(loss.detach())
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    status = "ok" if np.all(np.isfinite(losses)) else "non-finite"
    return NeuralScore(model=model, X=X, d=d, t_min=t_min, t_max=t_max, M=float(M),
                       penalty=penalty, divergence_method=method, losses=losses, penalties=pens,
                       dtype=dtype, device=device, seconds=time.perf_counter() - t0, status=status)

"""Regularised training of width-2 ReLU MLPs against the construction's norm bound.

For data ``(x_i, c_i)`` (``c_i`` the class code of the explicit construction) and parameters
``theta`` of a width-2 MLP of depth ``L``,

.. math::

    J_\\lambda(\\theta) = \\frac1N\\sum_{i=1}^N |\\Phi_\\theta(x_i) - c_i|^2
                        + \\lambda \\|\\theta\\|_2^2 .

The explicit classifier ``theta*`` has zero loss, so any ``theta`` with
``J_lambda(theta) <= J_lambda(theta*)`` -- in particular a minimiser -- satisfies

* ``||theta|| <= ||theta*||`` (the *norm bound*), and
* ``loss(theta) <= lambda ||theta*||^2``, hence ``max_i |Phi(x_i) - c_i| <= sqrt(N lambda) ||theta*||``:
  every training point is classified exactly once ``lambda < lambda_c = 1 / (4 N ||theta*||^2)``.

Since ReLU is positively homogeneous, ``theta*`` can be rescaled neuron by neuron
(``A^k -> D_k A^k D_{k-1}^{-1}``, ``b^k -> D_k b^k``, ``D_L = I``) without changing the map;
the bound uses the smallest such norm (a convex problem in ``log D``), the *balanced*
construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int, check_nonnegative, check_option, check_positive, check_random_state
from ..errors import ParameterError
from ._classify import _validate, classify_narrow
from ._model import MLP

__all__ = ["NarrowTraining", "train_narrow", "balance"]


@dataclass(frozen=True)
class NarrowTraining:
    """Result of :func:`train_narrow`.

    Attributes
    ----------
    network : MLP
        The trained network (the iterate with the smallest objective met); ``predict`` maps its
        output to labels like the construction's.
    lam : float
    depth : int
    norm : float
        ``||theta||_2`` of the returned network.
    bound : float
        ``||theta*||_2`` of the balanced construction (the norm bound for minimisers).
    construction_norm : float
        ``||theta*||_2`` of the construction as built (before balancing).
    loss, objective : float
        ``(1/N) sum |Phi - c|^2`` and ``J_lambda`` of the returned network.
    objective_bound : float
        ``J_lambda(theta*)`` of the balanced construction: a minimiser does at least as well.
    accuracy : float
        Training accuracy of ``network.predict``.
    lam_critical : float
        ``1 / (4 N bound^2)``: below it a minimiser classifies every point exactly.
    init : str
    steps : int
    status : str
        ``"below bound"`` when ``objective <= objective_bound`` (the theory's hypotheses hold for
        the returned network), else ``"above bound"`` (not a minimiser: no guarantee).
    """

    network: MLP
    lam: float
    depth: int
    norm: float
    bound: float
    construction_norm: float
    loss: float
    objective: float
    objective_bound: float
    accuracy: float
    lam_critical: float
    init: str
    steps: int
    status: str


def balance(net: MLP, *, sweeps: int = 500, rtol: float = 1e-13) -> MLP:
    """The rescaling of ``net`` (same map) with the smallest Euclidean parameter norm.

    Minimises ``sum_k ||D_k A^k D_{k-1}^{-1}||_F^2 + ||D_k b^k||^2`` over positive diagonal
    ``D_1..D_{L-1}`` (``D_0 = D_L = I``).  The problem is convex in ``log D``; in the scale
    ``e^t`` of one neuron it reads ``a e^{2t} + c e^{-2t}`` (``a``: its incoming row and bias,
    ``c``: its outgoing column), minimised at ``e^{4t} = c / a``: exact block-coordinate
    descent, one layer at a time (neurons of a layer do not interact).

    Parameters
    ----------
    net : MLP
        The network to rescale (not modified); its ``classes`` are carried over.
    sweeps : int
        Maximal number of sweeps over the hidden layers (default 500).
    rtol : float
        Stop when a sweep lowers the squared norm ``||theta||_2^2`` by at most ``rtol`` times
        its value (default ``1e-13``).

    Returns
    -------
    MLP
        A network computing the same map as ``net`` with parameter norm at most ``net``'s.
    """
    layers = [(A.copy(), b.copy()) for A, b in net.layers]
    L = len(layers)
    prev = np.inf
    for _ in range(sweeps):
        for k in range(L - 1):
            A, b = layers[k]
            An, bn = layers[k + 1]
            a = np.sum(A * A, axis=1) + b * b
            c = np.sum(An * An, axis=0)
            ok = (a > 0) & (c > 0)
            f = np.ones_like(a)
            f[ok] = (c[ok] / a[ok]) ** 0.25
            layers[k] = (A * f[:, None], b * f)
            layers[k + 1] = (An / f[None, :], bn)
        cur = sum(float(np.sum(A * A) + np.sum(b * b)) for A, b in layers)
        if prev - cur <= rtol * cur:
            break
        prev = cur
    return MLP(layers, classes=net.classes)


def _objective(shapes, Xt, Tt, lam: float):
    """``theta -> J_lambda(theta)`` for a flat parameter tensor (one tensor: few torch ops)."""
    import torch

    def J(theta):
        H, o, L = Xt, 0, len(shapes)
        for k, (sa, sb) in enumerate(shapes):
            na, nb = sa[0] * sa[1], sb[0]
            A = theta[o:o + na].view(sa)
            b = theta[o + na:o + na + nb]
            o += na + nb
            H = torch.addmm(b, H, A.T)
            if k < L - 1:
                H = torch.relu(H)
        return torch.mean((H[:, 0] - Tt) ** 2) + lam * torch.dot(theta, theta)

    return J


def _pad(net: MLP, depth: int) -> MLP:
    """Insert identity layers (ReLU is the identity on the non-negative state) before the read-out."""
    extra = depth - net.depth
    if extra == 0:
        return net
    A_last, b_last = net.layers[-1]
    w = A_last.shape[1]
    layers = list(net.layers[:-1]) + [(np.eye(w), np.zeros(w))] * extra + [(A_last, b_last)]
    return MLP(layers, classes=net.classes)


def train_narrow(X: Any, labels: Any, *, lam: float, depth: int | None = None,
                 init: str = "construction", optimizer: str = "lbfgs", steps: int = 500,
                 lr: float = 1e-2,
                 random_state: Any = None, dtype: Any = None, device: Any = "cpu",
                 construction: Any = None) -> NarrowTraining:
    """Train a width-2 ReLU MLP on ``(X, labels)`` with ``J_lambda`` (PyTorch, full batch).

    Parameters
    ----------
    X : array (N, d)
        Finite inputs, as for :func:`classify_narrow`.
    labels : sequence (N,)
        Hashable labels, one per row of ``X``, as for :func:`classify_narrow`; the targets
        ``c_i`` are their class codes in the construction.
    lam : float
        Regularisation weight ``lambda >= 0``.
    depth : int, optional
        Number of affine layers; default (and minimum) the construction's depth ``2K``; deeper
        networks pad the construction with identity layers for the bound.
    init : {"construction", "random"}
        Start from the balanced construction or from He-initialised weights.
    optimizer : {"lbfgs", "adam"}
        Full-batch L-BFGS (SciPy's L-BFGS-B on torch autograd gradients; default) or Adam.
    steps, lr : int, float
        Iterations and (Adam's) learning rate.  The returned parameters are the evaluated
        point with the smallest objective (the start included), so ``init="construction"``
        always ends with ``J_lambda <= J_lambda(theta*)``.
    random_state : None, int or Generator
        Seeds the construction's direction search and the random initialisation.
    dtype : torch dtype, optional
        ``torch.float64`` (default) or ``torch.float32``.
    device : str or torch.device
        Where the objective is evaluated: ``"cpu"`` (default) or ``"cuda[:k]"`` (an error if
        CUDA is not available).
    construction : NarrowClassification, optional
        Reuse a construction of the same data (saves the search).

    Returns
    -------
    NarrowTraining
    """
    import torch

    Xa, classes, y = _validate(X, labels)
    lam = check_nonnegative(lam, "lam")
    init = check_option(init, "init", ("construction", "random"))
    optimizer = check_option(optimizer, "optimizer", ("lbfgs", "adam"))
    steps = check_int(steps, "steps", minimum=0)
    lr = check_positive(lr, "lr")
    dtype = torch.float64 if dtype is None else dtype
    if dtype not in (torch.float32, torch.float64):
        raise ParameterError(f"dtype must be torch.float32 or torch.float64; got {dtype!r}")
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError) as exc:
        raise ParameterError(f"device must be 'cpu' or 'cuda[:k]'; got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r} was requested but CUDA is not available; use 'cpu'")
    rng = check_random_state(random_state)
    cons = construction if construction is not None else classify_narrow(Xa, labels, random_state=rng)
    base = cons.network
    if depth is None:
        depth = base.depth
    depth = check_int(depth, "depth", minimum=2)
    if depth < base.depth:
        raise ParameterError(f"depth must be >= {base.depth} (the construction's depth 2K for these "
                             f"data, so that the norm bound exists); got {depth}")
    star = _pad(base, depth)
    star_bal = balance(star)
    code_of = {lab: c for c, lab in enumerate(base.classes.tolist())}
    try:
        target = np.array([code_of[classes[k].item() if isinstance(classes[k], np.generic)
                                   else classes[k]] for k in y], dtype=np.float64)
    except KeyError as exc:
        raise ParameterError("construction was built for other labels than these") from exc
    Xt = torch.as_tensor(Xa, dtype=dtype, device=dev)
    Tt = torch.as_tensor(target, dtype=dtype, device=dev)
    shapes = [(A.shape, b.shape) for A, b in star_bal.layers]
    if init == "construction":
        theta0 = np.concatenate([np.concatenate([A.ravel(), b]) for A, b in star_bal.layers])
    else:
        parts = []
        for (sa, sb) in shapes:
            parts += [rng.standard_normal(sa).ravel() * np.sqrt(2.0 / sa[1]),
                      0.01 * rng.standard_normal(sb)]
        theta0 = np.concatenate(parts)
    theta = torch.tensor(theta0, dtype=dtype, device=dev, requires_grad=True)
    J_fun = _objective(shapes, Xt, Tt, lam)
    best: list = [np.inf, theta.detach().clone()]

    def value_and_grad(t: torch.Tensor) -> tuple[float, torch.Tensor]:
        t = t.detach().requires_grad_(True)
        J = J_fun(t)
        (g,) = torch.autograd.grad(J, t)
        Jv = float(J.detach())
        if Jv < best[0]:          # keep the best point evaluated (the start included)
            best[0], best[1] = Jv, t.detach().clone()
        return Jv, g

    if optimizer == "lbfgs":
        # scipy's L-BFGS-B driving torch autograd (float64 exchange; the model stays in dtype)
        from scipy.optimize import minimize

        def fun(x):
            Jv, g = value_and_grad(torch.as_tensor(x, dtype=dtype, device=dev))
            return Jv, g.detach().cpu().numpy().astype(np.float64)

        from threadpoolctl import threadpool_limits

        if steps > 0:
            with threadpool_limits(1):   # L-BFGS-B's tiny BLAS calls crawl with threads on a busy machine
                    minimize(fun, theta.detach().cpu().numpy().astype(np.float64), jac=True,
                         method="L-BFGS-B", options={"maxiter": steps, "maxfun": 2 * steps,
                                                     "ftol": 0.0, "gtol": 1e-14})
    else:
        # Adam (Kingma & Ba), written out on the flat parameter vector
        m = torch.zeros_like(theta)
        v = torch.zeros_like(theta)
        t = theta.detach().clone()
        b1, b2, eps = 0.9, 0.999, 1e-8
        for it in range(1, steps + 1):
            _, g = value_and_grad(t)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            t = t - lr * (m / (1 - b1 ** it)) / (torch.sqrt(v / (1 - b2 ** it)) + eps)
        value_and_grad(t)
    value_and_grad(theta)
    flat = best[1].cpu().numpy()
    layers, o = [], 0
    for sa, sb in shapes:
        na, nb = int(np.prod(sa)), int(np.prod(sb))
        layers.append((flat[o:o + na].reshape(sa), flat[o + na:o + na + nb]))
        o += na + nb
    net = MLP(layers, classes=base.classes)
    out = net(Xa)[:, 0]
    loss = float(np.mean((out - target) ** 2))
    norm = net.parameter_norm()
    B = star_bal.parameter_norm()
    loss_star = float(np.mean((star_bal(Xa)[:, 0] - target) ** 2))
    J_star = loss_star + lam * B ** 2
    J = loss + lam * norm ** 2
    pred = np.clip(np.rint(out), 0, len(base.classes) - 1)
    acc = float(np.mean(pred == target))
    return NarrowTraining(
        network=net, lam=lam, depth=depth, norm=norm, bound=B,
        construction_norm=star.parameter_norm(), loss=loss, objective=J, objective_bound=J_star,
        accuracy=acc, lam_critical=1.0 / (4.0 * Xa.shape[0] * B ** 2), init=init, steps=steps,
        status="below bound" if J <= J_star * (1 + 1e-12) + 1e-300 else "above bound")

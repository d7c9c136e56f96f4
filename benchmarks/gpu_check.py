"""``python -m benchmarks.gpu_check [--device cuda] [--json FILE]``: every CUDA path, once.

Each path runs a small case on the CPU and on ``--device`` with the same seed, and
prints one line: the times on both, the largest difference of the compared quantity
and the tolerance it must meet.  The tolerances are stated per path: float64 paths
that draw their randomness on the CPU must agree to rounding (1e-8 relative); float32
training loops diverge by accumulation order on a GPU, so they are compared on what
training is for (the final loss within 10 % relative, or the same accuracy within
0.02).  With ``--device cpu`` (the test suite's smoke run) both runs are on the CPU and
must agree exactly up to the same tolerances.

Exit status: 0 when every path is within its tolerance, 1 otherwise, 2 when the
device is not available.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class PathResult:
    path: str
    cpu_s: float
    device_s: float
    quantity: str
    difference: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.difference) and self.difference <= self.tolerance)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def _timed(fn: Callable, device: str):
    t0 = time.perf_counter()
    out = fn(device)
    _sync(device)
    return out, time.perf_counter() - t0


def _sync(device: str) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


# ------------------------------------------------------------------------------- the paths
def _heat_kernel_sampler(device):
    import torch

    from controlml.datasets import lemniscate
    from controlml.diffusion import HeatKernelScore, sample

    X = lemniscate(100, random_state=0)
    res = sample(HeatKernelScore(X), 2000, t_min=1e-2, steps=200, dtype=torch.float64,
                 device=device, random_state=1)
    return np.asarray(res.X)


def _score_surrogate(device):
    import torch

    from controlml.datasets import lemniscate
    from controlml.diffusion import train_score_model

    X = lemniscate(100, random_state=0)
    ns = train_score_model(X, hidden=64, depth=2, steps=300, batch_size=256, dtype=torch.float32,
                           device=device, random_state=0)
    return float(np.mean(ns.losses[-50:]))


def _sentiment_training(device):
    import torch

    from controlml.attention.sentiment import SentimentAttentionModel, train_sentiment

    rng = np.random.default_rng(0)
    V, n, N = 50, 12, 400
    T = rng.integers(1, V, size=(N, n))
    M = np.ones((N, n), dtype=bool)
    y = (np.isin(T, np.arange(1, 10)).sum(1) > np.isin(T, np.arange(10, 19)).sum(1)).astype(int)
    model = SentimentAttentionModel(V, 4, K=4, tau=1e-2, random_state=0, dtype=torch.float32,
                                    device=device)
    res = train_sentiment(model, T, M, y, epochs=3, batch_size=64, lr=2e-2, random_state=0)
    return float(res.train_loss[-1])


def _torch_node_training(device):
    import torch

    from controlml.node import fit

    rng = np.random.default_rng(0)
    X, Y = rng.uniform(-1, 1, (16, 2)), rng.uniform(-1, 1, (16, 2))
    res = fit(X, Y, alpha=1e-3, num_pieces=4, width=4, epochs=150, lr=2e-2, random_state=0,
              dtype=torch.float64, device=device)
    return float(res.objective)


def _sanode_training(device):
    import torch

    from controlml.sanode import fit_sanode, ode_data

    data = ode_data("linear", n_grid=7, num_times=41, random_state=0)
    fit_ = fit_sanode(data.train, data.t, test=data.test, P=32, epochs=100, lr=1e-2,
                      random_state=0, progress=False, device=device, dtype=torch.float32)
    return float(fit_.loss_history[-1])


def _narrow_mlp_training(device):
    import torch

    from controlml.mlp import train_narrow

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 2))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int)
    res = train_narrow(X, labels, lam=1e-4, steps=200, optimizer="adam", random_state=0,
                       dtype=torch.float64, device=device)
    return float(res.accuracy)


PATHS: list[tuple[str, Callable, str, float]] = [
    ("diffusion.sample (heat kernel, float64)", _heat_kernel_sampler, "samples, rel. max", 1e-8),
    ("diffusion.train_score_model (float32)", _score_surrogate, "final loss, rel.", 0.10),
    ("sentiment.train_sentiment (float32)", _sentiment_training, "final loss, rel.", 0.10),
    ("node.fit / TorchNODE (float64)", _torch_node_training, "objective, rel.", 1e-6),
    ("sanode.fit_sanode (float32)", _sanode_training, "final loss, rel.", 0.10),
    ("mlp.train_narrow (float64)", _narrow_mlp_training, "accuracy, abs.", 0.02),
]


def run(device: str = "cuda", *, names: list[str] | None = None) -> list[PathResult]:
    """Run every path on the CPU and on ``device``; return one :class:`PathResult` each."""
    import torch

    from controlml._torch import limit_threads

    out = []
    for name, fn, quantity, tol in PATHS:
        if names and not any(n in name for n in names):
            continue
        with limit_threads(1):
            ref, t_cpu = _timed(fn, "cpu")
            got, t_dev = _timed(fn, device)
        if quantity.endswith("abs."):
            diff = float(abs(np.asarray(ref) - np.asarray(got)).max())
        else:
            diff = _rel(ref, got)
        out.append(PathResult(name, t_cpu, t_dev, quantity, diff, tol))
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda", help="device to compare with the CPU (default cuda)")
    p.add_argument("--only", nargs="*", default=None, help="substrings of path names to run")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"gpu_check: {args.device} is not available here (torch {torch.__version__}); "
              "run with --device cpu for the smoke run", file=sys.stderr)
        return 2
    label = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    print(f"gpu_check: CPU vs {args.device} ({label}), torch {torch.__version__}")
    rows = run(args.device, names=args.only)
    width = max(len(r.path) for r in rows)
    for r in rows:
        print(f"{'ok ' if r.ok else 'BAD'} {r.path:<{width}}  cpu {r.cpu_s:7.2f} s  "
              f"{args.device} {r.device_s:7.2f} s  {r.quantity} diff {r.difference:.2e} "
              f"(tol {r.tolerance:g})", flush=True)
    if args.json:
        from controlml._io import atomic_write_json

        atomic_write_json(args.json, [dict(asdict(r), ok=r.ok) for r in rows])
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Small torch helpers shared by every torch-based package (threads, devices, dtypes, generators).

Private to controlml, shared across its packages (like :mod:`controlml._checks`): the
diffusion samplers and score networks, the sentiment model, the Sec. 3 training code and
the reproduce experiments run small tensors, where a single intra-op thread is fastest
on a shared machine (:class:`limit_threads`, :func:`one_thread`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from ._checks import check_random_state
from .errors import ParameterError

_DTYPES = {torch.float32: "float32", torch.float64: "float64"}


def check_dtype(dtype: Any, name: str = "dtype") -> torch.dtype:
    """Accept torch.float32/float64 (or their names) and return the torch dtype."""
    if isinstance(dtype, str):
        table = {"float32": torch.float32, "float64": torch.float64}
        if dtype not in table:
            raise ParameterError(f"{name} must be 'float32' or 'float64'; got {dtype!r}")
        return table[dtype]
    if dtype not in _DTYPES:
        raise ParameterError(f"{name} must be torch.float32 or torch.float64; got {dtype!r}")
    return dtype


def check_device(device: Any, name: str = "device") -> torch.device:
    """Accept None (the CPU), "cpu", "cuda", "cuda:k" or a torch.device; CUDA must be available."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError) as exc:
        raise ParameterError(f"{name} must be 'cpu' or 'cuda[:k]'; got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(
            f"{name}={device!r} was requested but CUDA is not available in this torch build/machine; "
            "use device='cpu'"
        )
    if dev.type not in ("cpu", "cuda"):
        raise ParameterError(f"{name} must be 'cpu' or 'cuda[:k]'; got {device!r}")
    return dev


def torch_generator(random_state: Any, device: torch.device) -> tuple[np.random.Generator,
                                                                      torch.Generator]:
    """A numpy Generator and a torch Generator (on ``device``) derived from ``random_state``."""
    rng = check_random_state(random_state)
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(0, 2**62)))
    return rng, gen


class limit_threads:
    """Context manager: run torch on at most ``k`` intra-op threads, then restore.

    Small networks train much faster on one thread, above all on a shared machine.
    """

    def __init__(self, k: int = 1) -> None:
        self.k = k
        self.old = 0

    def __enter__(self) -> limit_threads:
        self.old = torch.get_num_threads()
        torch.set_num_threads(max(1, min(self.k, self.old)))
        return self

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.old)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run tiny torch workloads on one intra-op thread, restored afterwards.

    The sentiment model's matrices are (64, 24, 24): thread hand-off costs more than the
    work, and on a busy 2-core machine two threads can make a training step 20x slower.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)

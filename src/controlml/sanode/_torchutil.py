"""Small torch helpers of the SA-NODE package: dtype / device checks, seeded generators, threads."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import check_random_state
from ..errors import ParameterError

__all__ = ["check_dtype", "check_device", "torch_generator", "limit_threads"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def check_dtype(dtype: Any, name: str = "dtype") -> torch.dtype:
    """Accept ``torch.float32`` / ``torch.float64`` (or their names); return the torch dtype."""
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ParameterError(f"{name} must be 'float32' or 'float64'; got {dtype!r}")
        return _DTYPES[dtype]
    if dtype not in (torch.float32, torch.float64):
        raise ParameterError(f"{name} must be torch.float32 or torch.float64; got {dtype!r}")
    return dtype


def check_device(device: Any, name: str = "device") -> torch.device:
    """Accept ``None`` (CPU), ``"cpu"``, ``"cuda[:k]"`` or a torch.device; CUDA must be present."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError) as exc:
        raise ParameterError(f"{name} must be None, 'cpu' or 'cuda[:k]'; got {device!r}") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ParameterError(f"{name} must be None, 'cpu' or 'cuda[:k]'; got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(
            f"{name}={device!r} was requested but CUDA is not available in this torch "
            "build/machine; use device='cpu' (or None)"
        )
    return dev


def torch_generator(random_state: Any) -> torch.Generator:
    """A CPU torch Generator seeded from ``random_state`` (None, int or numpy Generator)."""
    rng: np.random.Generator = check_random_state(random_state)
    gen = torch.Generator()
    gen.manual_seed(int(rng.integers(0, 2**62)))
    return gen


class limit_threads:
    """Context manager: run torch on at most ``k`` intra-op threads, then restore."""

    def __init__(self, k: int = 1) -> None:
        self.k = k
        self.old = 0

    def __enter__(self) -> limit_threads:
        self.old = torch.get_num_threads()
        torch.set_num_threads(max(1, min(self.k, self.old)))
        return self

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.old)

"""The one timing rule of the benchmarks: the best of ``repeat`` wall-clock runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_time(f: Callable[[], Any], repeat: int = 3, *, warmup: bool = False) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls of ``f`` (after one untimed call when ``warmup``),
    and the result of the last call."""
    out = f() if warmup else None
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out

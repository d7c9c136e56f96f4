"""One decorator for the experiments that run small products: one torch thread, one BLAS
thread.  Small models and small dense solves are faster and steadier that way on a
shared machine (measured: a training step up to 20x slower, SciPy's L-BFGS-B ~50x slower
and small Riccati solves ~10x slower with two threads on a busy 2-core machine)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def single_threaded(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Run ``func(ctx)`` with one torch intra-op thread and one BLAS thread, restored after."""

    @functools.wraps(func)
    def wrapper(ctx: Any) -> Any:
        from threadpoolctl import threadpool_limits

        from ..._torch import limit_threads

        with limit_threads(1), threadpool_limits(1):
            return func(ctx)

    return wrapper

"""Run tiny torch workloads on one intra-op thread (restored afterwards).

The sentiment model's matrices are (64, 24, 24): thread hand-off costs more than the work, and
on a busy 2-core machine two threads can make a training step 20x slower.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def one_thread() -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)

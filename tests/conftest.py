"""Test configuration shared by the whole suite.

- matplotlib renders off-screen;
- torch defaults to float64 (gradient checks, exact comparisons);
- hypothesis has a CI profile with no deadline (timings never fail a test).
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _float64_torch():
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)

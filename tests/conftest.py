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

# derandomize: the suite draws the same examples on every run (CI must not be flaky);
# run with --hypothesis-profile=explore to search new examples locally.
settings.register_profile("ci", deadline=None, max_examples=40, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None, max_examples=200,
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

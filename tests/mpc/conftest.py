"""Small dense products run faster (and steadier on a shared machine) on one BLAS thread."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)

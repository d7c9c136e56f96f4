"""HeatKernelScore at extreme scales (issue 11, Sec. 1): never a silent NaN or inf."""

from __future__ import annotations

import numpy as np
import pytest

from controlml.diffusion import HeatKernelScore
from controlml.errors import DatasetError, NumericalError


def test_overflowing_data_is_refused_up_front():
    X = np.random.default_rng(0).normal(size=(20, 2)) * 1e300
    with pytest.raises(DatasetError, match="squared distances.*overflow float64.*rescale data"):
        HeatKernelScore(X)


def test_overflowing_queries_are_refused_up_front():
    hk = HeatKernelScore(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(DatasetError, match="overflow float64.*rescale x"):
        hk.score(np.array([[1e200, 0.0]]), 0.1)


def test_overflow_inside_is_an_error_not_nan():
    # finite data and queries whose |x - x_i|^2 / 4t overflows: formerly NaN scores
    hk = HeatKernelScore(np.array([[0.0, 0.0], [1e150, 0.0]]))
    with pytest.raises(NumericalError, match="overflowed.*rescal"):
        hk.log_u(np.array([[5e149, 1.0]]), 1e-200)


def test_large_data_still_works_and_scales():
    # the score is scale covariant: s_{cX}(c x, c^2 t) = s_X(x, t) / c
    X = np.random.default_rng(1).normal(size=(30, 2))
    x = np.array([[0.3, -0.2]])
    c = 1e100
    np.testing.assert_allclose(HeatKernelScore(X * c).score(x * c, 0.1 * c * c) * c,
                               HeatKernelScore(X).score(x, 0.1), rtol=1e-9)

"""approximate(..., tol=): refine the cells until the measured L2 error meets the tolerance."""

import numpy as np
import pytest

from controlml.errors import ParameterError
from controlml.node import approximate, flow


def f(Z):
    return np.column_stack([np.sin(2 * Z[:, 0]) + Z[:, 1], Z[:, 0] * Z[:, 1]])


def test_tolerance_is_met_and_verified():
    coarse = approximate(f, [[0, 1], [0, 1]], cells=1, random_state=0, num_eval=4000)
    tol = 0.5 * coarse.l2_error
    res = approximate(f, [[0, 1], [0, 1]], tol=tol, random_state=0, num_eval=4000)
    assert res.status == "converged" and res.l2_error <= tol and res.cells >= 2
    Z = np.random.default_rng(1).uniform(size=(4000, 2))
    independent = np.sqrt(np.mean(np.sum((flow(res.control, Z) - f(Z)) ** 2, axis=1)))
    assert independent <= 1.25 * tol


def test_tolerance_not_met_is_reported():
    res = approximate(f, [[0, 1], [0, 1]], tol=1e-6, max_cells=2, random_state=0, num_eval=2000)
    assert res.status == "tolerance_not_met" and res.cells == 2 and res.l2_error > 1e-6


def test_exactly_one_size_argument():
    with pytest.raises(ParameterError, match="exactly one of"):
        approximate(f, [[0, 1], [0, 1]], cells=2, tol=0.1)
    with pytest.raises(ParameterError, match="tol must be > 0"):
        approximate(f, [[0, 1], [0, 1]], tol=-1.0)

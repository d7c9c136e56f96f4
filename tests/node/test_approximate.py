"""L^2 universal approximation by width-1 neural ODE flows (Theorem 3.2)."""

from __future__ import annotations

import numpy as np
import pytest

from controlml.errors import DatasetError, ParameterError
from controlml.node import approximate, approximation_switches, flow


def f_a(Z):
    return np.c_[np.sin(np.pi * Z[:, 0]) * Z[:, 1], Z[:, 0] ** 2 - Z[:, 1]]


def f_b(Z):
    return np.c_[np.cos(2 * Z[:, 0] + Z[:, 1]), np.exp(-Z[:, 0] * Z[:, 1])]


@pytest.mark.parametrize("f", [f_a, f_b])
def test_error_decreases_with_switches(f):
    errs = [approximate(f, [[0, 1], [0, 1]], cells=K, num_eval=4000, random_state=0).l2_error for K in (1, 3, 6)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.3 * errs[0]


def test_measured_error_is_the_flow_error_and_reaches_the_floor():
    res = approximate(f_a, [[0, 1], [0, 1]], cells=4, num_eval=3000, random_state=1)
    assert res.control.width == 1
    assert res.num_switches == approximation_switches(4, 2) == res.control.num_switches
    # independent Monte Carlo with fresh points
    rng = np.random.default_rng(9)
    Z = rng.uniform(size=(20000, 2))
    err = np.sqrt(np.mean(np.sum((flow(res.control, Z) - f_a(Z)) ** 2, axis=1)))
    assert err == pytest.approx(res.l2_error, rel=0.15)
    assert res.l2_error <= 1.5 * res.simple_error
    # the interior of a cell is carried next to the value at its centre
    c = np.array([[0.375, 0.625]])  # centre of a cell for K = 4
    inner = c + 0.05 * rng.uniform(-1, 1, size=(50, 2))
    np.testing.assert_allclose(flow(res.control, inner), np.repeat(f_a(c), 50, axis=0), atol=1e-2)


def test_box_domain_and_budget():
    dom = [[-1.0, 2.0], [0.5, 1.5]]
    res = approximate(f_b, dom, num_switches=50, num_eval=2000, random_state=0)
    assert res.cells == 4 and res.num_switches <= 50
    assert approximation_switches(5, 2) > 50


def test_three_dimensions():
    def f(Z):
        return np.c_[Z[:, 1], Z[:, 2], Z[:, 0] ** 2]

    e1 = approximate(f, [[0, 1]] * 3, cells=1, num_eval=2000, random_state=0).l2_error
    e3 = approximate(f, [[0, 1]] * 3, cells=3, num_eval=2000, random_state=0).l2_error
    assert e3 < 0.5 * e1


@pytest.mark.parametrize("kwargs, err, msg", [
    (dict(domain=[[0, 1]]), ParameterError, "d >= 2"),
    (dict(domain=[[0, 1], [1, 0]]), ParameterError, "lo_j < hi_j"),
    (dict(domain=[[0, 1], [0, 1]]), ParameterError, "exactly one"),
    (dict(domain=[[0, 1], [0, 1]], cells=2, num_switches=20), ParameterError, "exactly one"),
    (dict(domain=[[0, 1], [0, 1]], num_switches=3), ParameterError, "num_switches must be >="),
    (dict(domain=[[0, 1], [0, 1]], cells=2, eps=2.0), ParameterError, "eps"),
    (dict(domain=[[0, 1], [0, 1]], cells=2, T=0.0), ParameterError, "T"),
])
def test_errors(kwargs, err, msg):
    with pytest.raises(err, match=msg):
        approximate(f_a, **kwargs)


def test_bad_target():
    with pytest.raises(DatasetError, match="shape"):
        approximate(lambda Z: Z[:, :1], [[0, 1], [0, 1]], cells=2)
    with pytest.raises(ParameterError, match="callable"):
        approximate(3.0, [[0, 1], [0, 1]], cells=2)

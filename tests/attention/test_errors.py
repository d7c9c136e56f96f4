"""Every documented bad input of the dynamics raises a clear error before any work."""

import numpy as np
import pytest

from controlml.attention import (
    equilibrium,
    hardmax_dynamics,
    hardmax_step,
    leaders,
    softmax_dynamics,
)
from controlml.errors import ConvergenceError, DatasetError, ParameterError

Z = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def test_A_not_symmetric():
    with pytest.raises(ParameterError, match=r"not symmetric: A\[0,1\] = 1.0 != A\[1,0\] = 0.0"):
        hardmax_dynamics(Z, [[1.0, 1.0], [0.0, 1.0]], 0.5, 3)


def test_A_not_positive_definite():
    with pytest.raises(ParameterError, match="not positive definite: its smallest eigenvalue is -1"):
        hardmax_dynamics(Z, [[1.0, 0.0], [0.0, -1.0]], 0.5, 3)
    with pytest.raises(ParameterError, match="not positive definite"):
        equilibrium(Z, np.zeros((2, 2)), 0.5)


def test_A_shape():
    with pytest.raises(ParameterError, match=r"A must have shape \(d, d\) = \(2, 2\)"):
        leaders(Z, np.eye(3))


@pytest.mark.parametrize("alpha", [0.0, -0.5, float("nan"), "x"])
def test_alpha(alpha):
    with pytest.raises(ParameterError, match="alpha"):
        hardmax_dynamics(Z, np.eye(2), alpha, 3)


def test_zero_token():
    with pytest.raises(DatasetError, match=r"zero token \(row 1\): Thm 4.1 assumes nonzero tokens"):
        hardmax_dynamics(np.array([[1.0, 0.0], [0.0, 0.0]]), np.eye(2), 0.5, 3)
    # the dynamics itself is defined: opt out of the theorem's hypotheses
    r = hardmax_dynamics(np.array([[1.0, 0.0], [0.0, 0.0]]), np.eye(2), 0.5, 3, check_hypotheses=False)
    assert np.all(np.isfinite(r.Z))


def test_repeated_tokens():
    Zr = np.array([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(DatasetError, match=r"two equal rows \(0 and 2\): Thm 4.1 assumes distinct tokens"):
        equilibrium(Zr, np.eye(2), 0.5)
    with pytest.raises(DatasetError, match=r"Z\[1\] has two equal rows"):
        softmax_dynamics(np.stack([Z, Zr]), np.eye(2), 0.5, 0.1, 3)
    r = hardmax_dynamics(Zr, np.eye(2), 0.5, 5, check_hypotheses=False)
    np.testing.assert_array_equal(r.Z[0], r.Z[2])  # copies stay copies


def test_nan_and_shapes():
    with pytest.raises(DatasetError, match=r"non-finite value \(NaN or inf\) at index \(0, 1, 0\)"):
        hardmax_dynamics(np.array([[1.0, 0.0], [np.nan, 1.0]]), np.eye(2), 0.5, 3)
    with pytest.raises(DatasetError, match=r"no tokens \(n = 0"):
        hardmax_dynamics(np.zeros((0, 2)), np.eye(2), 0.5, 3)
    with pytest.raises(DatasetError, match=r"shape \(n, d\) or \(batch, n, d\)"):
        hardmax_step(np.ones(3), np.eye(3), 0.5)


def test_other_options():
    with pytest.raises(ParameterError, match="tau"):
        softmax_dynamics(Z, np.eye(2), 0.5, -0.1, 3)
    with pytest.raises(ParameterError, match="num_layers must be >= 0"):
        hardmax_dynamics(Z, np.eye(2), 0.5, -1)
    with pytest.raises(ParameterError, match="tie_rtol"):
        hardmax_dynamics(Z, np.eye(2), 0.5, 3, tie_rtol=2.0)
    with pytest.raises(TypeError):
        hardmax_dynamics(Z, np.eye(2), 0.5, 3, unknown=1)
    with pytest.raises(ParameterError, match="max_layers must be >= 1"):
        equilibrium(Z, np.eye(2), 0.5, max_layers=0)


def test_equilibrium_gives_up_with_advice():
    with pytest.raises(ConvergenceError, match="did not settle within max_layers = 2 layers.*increase max_layers"):
        equilibrium(np.array([[1.0, 1.0], [1.0, -1.0], [0.5, 0.01]]), np.eye(2), 0.5, max_layers=2, chunk=2)


def test_leaders_batched_returns_one_array_per_sequence(rng):
    Zb = rng.normal(size=(3, 5, 2))
    out = leaders(Zb, np.eye(2))
    assert isinstance(out, list) and len(out) == 3
    for b in range(3):
        np.testing.assert_array_equal(out[b], leaders(Zb[b], np.eye(2)))

"""Shared validation: one message style, raised before any work."""

import numpy as np
import pytest

from controlml import DatasetError, ParameterError
from controlml._checks import (
    as_points,
    check_distinct_rows,
    check_int,
    check_option,
    check_positive,
    check_random_state,
)


def test_as_points():
    X = as_points([[1, 2], [3, 4]])
    assert X.dtype == np.float64 and X.flags.c_contiguous
    with pytest.raises(DatasetError, match=r"2-D of shape \(N, d\); got shape \(3,\)"):
        as_points([1, 2, 3])
    with pytest.raises(DatasetError, match="at least 1 row"):
        as_points(np.zeros((0, 2)))
    with pytest.raises(DatasetError, match=r"non-finite value .* at index \(1, 0\)"):
        as_points([[0, 0], [np.nan, 1]])
    with pytest.raises(DatasetError, match="numeric"):
        as_points([["a", "b"]])


def test_distinct_rows_names_the_rows():
    X = np.array([[0, 1], [2, 3], [4, 5], [2, 3]], dtype=float)
    with pytest.raises(DatasetError, match=r"X has two equal rows \(1 and 3\): because, so"):
        check_distinct_rows(X, "X", "because")
    check_distinct_rows(X[:3], "X", "because")


def test_scalars():
    assert check_positive(2, "eps") == 2.0
    with pytest.raises(ParameterError, match="eps must be > 0; got -1"):
        check_positive(-1, "eps")
    with pytest.raises(ParameterError, match="finite"):
        check_positive(float("inf"), "eps")
    with pytest.raises(ParameterError, match="integer"):
        check_int(1.5, "P")
    with pytest.raises(ParameterError, match="integer"):
        check_int(True, "P")
    with pytest.raises(ParameterError, match="P must be >= 1; got 0"):
        check_int(0, "P", minimum=1)
    with pytest.raises(ParameterError, match="method must be one of 'a', 'b'; got 'c'"):
        check_option("c", "method", ("a", "b"))


def test_random_state():
    a = check_random_state(3).standard_normal(4)
    b = check_random_state(3).standard_normal(4)
    assert np.array_equal(a, b)
    g = np.random.default_rng(0)
    assert check_random_state(g) is g
    with pytest.raises(ParameterError, match="random_state"):
        check_random_state("seed")


def test_distinct_rows_tolerance_is_relative_to_the_rows_magnitude():
    X = np.array([[0.0, 1.0], [2.0, 3.0], [2.0 + 1e-15, 3.0]])
    with pytest.raises(DatasetError, match=r"X has two rows equal to working precision \(1 and 2: "
                                           r"max \|X\[1\] - X\[2\]\| = .*, within 64 ulps of their size\): because"):
        check_distinct_rows(X, "X", "because")
    # rows near 1e6 that differ by 1e-15 are equal in floating point; gaps of many ulps at any
    # scale are distinct (1e-9 at size 1, 1e-26 at size 1e-20, 1e-9 next to a row of size 1e4)
    with pytest.raises(DatasetError, match="1 and 2"):
        check_distinct_rows(X + 1e6, "X", "because")
    check_distinct_rows(np.array([[0.0, 1e-20], [1e-20 * (1 + 1e-6), 1e-20]]), "X", "because")
    check_distinct_rows(np.array([[0.0, 1.0], [0.0, 1.0 + 1e-9]]), "X", "because")
    check_distinct_rows(np.array([[0.0, 1e-20], [1e-26, 1e-20]]), "X", "because")
    check_distinct_rows(np.array([[0.5, 1.0], [0.5, 1.0 + 1e-9], [1e4, 0.0]]), "X", "because")
    with pytest.raises(DatasetError, match="0 and 1"):
        check_distinct_rows(np.array([[3e-20, 1e-20], [3e-20 + 1e-35, 1e-20], [1e4, 0.0]]), "X", "b")

"""Explicit interpolation (Thm 3.1, Thm 3.3): exact, with at most the paper's switches."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controlml import DatasetError, ParameterError
from controlml.node import flow, interpolate, paper_bounds


def check_exact(res, X, Y):
    Z = np.vstack([X, Y])
    scale = max(np.abs(Z - Z.mean(0)).max(), 1e-12)
    measured = np.abs(flow(res.control, X) - Y).max()
    assert measured <= 2e-8 * scale
    assert res.status == "exact"
    assert res.num_switches <= res.bound
    assert res.num_switches == res.control.num_switches


@settings(max_examples=30)
@given(N=st.integers(1, 25), d=st.integers(2, 6), P=st.integers(1, 8), seed=st.integers(0, 10**6))
def test_property_exact_with_at_most_the_paper_switches(N, d, P, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((N, d)), rng.standard_normal((N, d))
    res = interpolate(X, Y, width=P, random_state=seed)
    check_exact(res, X, Y)
    assert res.num_switches <= 2 * math.ceil(N / P) - 1
    if d > N:
        assert res.num_switches <= max(2 * math.ceil(N / P) - 2, 0)
    assert res.control.width == P


@pytest.mark.parametrize("N, P, expected", [(10, 1, 19), (10, 3, 7), (25, 4, 13), (5, 5, 1), (3, 8, 1)])
def test_switch_counts_match_theorem_3_3_in_the_plane(N, P, expected):
    rng = np.random.default_rng(N * P)
    X, Y = rng.uniform(size=(N, 2)), rng.uniform(size=(N, 2))
    res = interpolate(X, Y, width=P, random_state=0)
    check_exact(res, X, Y)
    assert res.num_switches == expected == paper_bounds(N, 2, P)["Thm 3.3: 2ceil(N/P)-1"]
    assert res.method == "two-phase"


def test_width_one_within_theorem_3_1():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((12, 3)), rng.standard_normal((12, 3))
    res = interpolate(X, Y, width=1)
    check_exact(res, X, Y)
    assert res.bounds["Thm 3.1: 3N"] == 36 and res.num_switches <= 36


def test_high_dimension_beats_the_bound():
    """d > N: one phase suffices; L = 0 (an autonomous field) once P >= N."""
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    r1 = interpolate(X, Y, width=1, random_state=0)
    r4 = interpolate(X, Y, width=4, random_state=0)
    for r in (r1, r4):
        check_exact(r, X, Y)
        assert r.method == "one-phase"
    assert r1.num_switches == 3 < r1.bounds["Sec. 3.2 (d > N): 2ceil(N/P)-2"] == 6
    assert r4.num_switches == 0


def test_robust_to_near_ties_and_scales():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 2))
    X[1] = X[0] + 1e-9  # nearly coincident inputs
    X[20:] *= 1e4       # points far apart in scale
    Y = rng.standard_normal((40, 2)) * 1e-3
    Y[5] = Y[6] + 1e-10
    res = interpolate(X, Y, width=3, random_state=0)
    check_exact(res, X, Y)


def test_any_horizon_and_reproducible():
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((8, 2)), rng.standard_normal((8, 2))
    a = interpolate(X, Y, T=17.0, random_state=5)
    b = interpolate(X, Y, T=17.0, random_state=5)
    check_exact(a, X, Y)
    assert a.control.T == pytest.approx(17.0)
    assert all(np.array_equal(p.W, q.W) for p, q in zip(a.control.pieces, b.control.pieces, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("d", [2, 10])
def test_scaling_ten_thousand_points(d):
    rng = np.random.default_rng(d)
    X, Y = rng.standard_normal((10_000, d)), rng.standard_normal((10_000, d))
    res = interpolate(X, Y, width=1, random_state=0)
    check_exact(res, X, Y)
    assert res.num_switches == 19_999


def test_bad_input():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    Y = np.array([[1.0, 1.0], [2.0, 0.0], [3.0, 1.0]])
    with pytest.raises(DatasetError, match=r"X has two equal rows \(0 and 2\).*injective"):
        interpolate(X, Y)
    with pytest.raises(DatasetError, match=r"Y has two equal rows \(0 and 1\)"):
        interpolate(Y, np.array([[5.0, 5.0], [5.0, 5.0], [1.0, 0.0]]))
    with pytest.raises(DatasetError, match="d = 1.*preserves order"):
        interpolate([[0.0], [1.0]], [[1.0], [0.0]])
    with pytest.raises(DatasetError, match="non-finite"):
        interpolate([[0.0, np.inf]], [[1.0, 0.0]])
    with pytest.raises(DatasetError, match="same number of rows"):
        interpolate(Y, Y[:2])
    with pytest.raises(DatasetError, match="same number of columns"):
        interpolate(Y, np.ones((3, 3)))
    with pytest.raises(ParameterError, match="width must be >= 1"):
        interpolate(Y, Y + 1, width=0)
    with pytest.raises(ParameterError, match="T must be > 0"):
        interpolate(Y, Y + 1, T=0.0)


def test_report_entries_quick(tmp_path):
    from controlml.reproduce import reproduce

    names = ["fig3.1", "fig3.2", "thm3.1", "thm3.3", "thm3.3-highdim", "eq3.1-resnet"]
    rep = reproduce(names, quick=True, out=tmp_path, progress=False)
    assert all(r.status == "passed" for r in rep.results), [(r.name, r.status, r.error) for r in rep.results]
    assert sum(len(r.checks) for r in rep.results) >= 20


# --- issue 11: extreme widths and near-duplicate rows -----------------------------------------
def test_a_huge_width_is_capped_at_N_neurons_instead_of_allocating_terabytes():
    rng = np.random.default_rng(3)
    X, Y = rng.uniform(size=(6, 2)), rng.uniform(size=(6, 2))
    res = interpolate(X, Y, width=10**12, random_state=0)
    check_exact(res, X, Y)
    assert res.control.width == 6 and res.num_switches == 1
    # moderate widths above N keep their (zero-padded) width
    assert interpolate(X, Y, width=8, random_state=0).control.width == 8


@pytest.mark.parametrize("which", ["X", "Y"])
def test_rows_equal_to_working_precision_are_refused_naming_them(which):
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(size=(10, 2)), rng.uniform(size=(10, 2))
    A = X if which == "X" else Y
    A[7] = A[3] + 1e-15 * np.array([1.0, 0.3])
    with pytest.raises(DatasetError, match=rf"{which} has two rows equal to working precision \(3 and 7"):
        interpolate(X, Y, random_state=0)


def test_close_but_resolvable_rows_are_still_accepted():
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(size=(10, 2)), rng.uniform(size=(10, 2))
    X[1] = X[0] + 1e-8 * np.array([1.0, 0.3])
    assert interpolate(X, Y, random_state=0).status == "exact"

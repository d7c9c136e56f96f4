"""Classification with few switches (Sec. 3.2, item 3): cluster and runs methods, run-count law."""

from __future__ import annotations

import math
from math import comb

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlml.datasets import labelled_uniform
from controlml.errors import DatasetError, ParameterError
from controlml.node import (
    classification_bounds,
    classify,
    count_runs,
    flow,
    piece_kind,
    runs_distribution,
    switch_probability,
)


def _correct(res, X, lab):
    F = flow(res.control, X)  # independent re-evaluation of the flow map
    return np.all((F[:, -1] > 1.0) == (lab == 1)), F


@pytest.mark.parametrize("method", ["clusters", "runs"])
@pytest.mark.parametrize("d", [2, 3, 6])
def test_classifies_uniform_data_within_bound(method, d):
    X, lab = labelled_uniform(30, d, random_state=d)
    res = classify(X, lab, method=method, random_state=0)
    ok, F = _correct(res, X, lab)
    assert ok
    assert res.status == "classified" and res.margin > 0
    assert res.num_switches <= res.bound
    assert res.control.width == 1
    np.testing.assert_allclose(F, res.final, rtol=1e-12, atol=1e-9)
    sgn = np.where(lab == 1, 1.0, -1.0)
    assert res.margin == pytest.approx(np.min(sgn * (F[:, -1] - 1.0)))


@given(seed=st.integers(0, 10_000), N=st.integers(2, 24), d=st.integers(2, 7),
       shift=st.floats(-3, 3), scale=st.floats(0.1, 10))
def test_clusters_property_any_box(seed, N, d, shift, scale):
    """Arbitrary boxes (data straddling the threshold, compression needed): classified, L <= 3ceil(min/d)."""
    rng = np.random.default_rng(seed)
    X = shift + scale * rng.standard_normal((N, d))
    lab = rng.integers(0, 2, N)
    res = classify(X, lab, method="clusters", random_state=seed)
    ok, _ = _correct(res, X, lab)
    assert ok and res.margin > 0
    m = min(int(lab.sum()), int(N - lab.sum()))
    assert res.num_switches <= 3 * math.ceil(m / d) if m else res.num_switches <= 1
    assert res.num_switches <= max(4 * math.ceil(m / d) - 1, 1)


@given(seed=st.integers(0, 10_000), N=st.integers(2, 30), d=st.integers(2, 5))
def test_runs_property(seed, N, d):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(N, d))
    lab = rng.integers(0, 2, N)
    res = classify(X, lab, method="runs")
    ok, _ = _correct(res, X, lab)
    assert ok
    # L = r - 1 on the chosen axis, or r - 2 when an end run of class 0 is already below 1
    r = count_runs(X[:, res.detail["axis"]], lab)
    assert res.num_switches in (max(r - 1, 0), max(r - 2, 0))
    # no axis j < d has fewer runs than r - 1 would allow a better count
    rbest = min(count_runs(X[:, j], lab) for j in range(d - 1))
    assert res.num_switches <= rbest - 1 or rbest == 1


def test_runs_pieces_are_shears_and_clusters_move_only_movers():
    X, lab = labelled_uniform(40, 3, random_state=1)
    res = classify(X, lab, method="runs")
    assert all(piece_kind(p) == "shear" for p in res.control.pieces)
    res = classify(X, lab, method="clusters", random_state=1)
    F = flow(res.control, X)
    # data in [0,1]^d: class 0 is already below 1 -> never moved; class 1 only moves up
    assert not res.detail["compression"]
    np.testing.assert_allclose(F[lab == 0], X[lab == 0], atol=1e-9)
    assert np.all(F[lab == 1, -1] > X[lab == 1, -1])


def test_high_dimension_one_piece():
    """d + 1 >= N: the classes are linearly separable, one ramp: L = 0 (authors' value 1)."""
    X, lab = labelled_uniform(60, 60, random_state=3)
    res = classify(X, lab, method="clusters", random_state=0)
    assert res.num_switches == 0 and res.success
    assert res.bounds["authors' code: 2ceil(N/(2d))-1"] == 1


def test_bounds_values():
    lab = np.r_[np.zeros(30), np.ones(30)]
    vals = [classification_bounds(lab, d)["authors' code: 2ceil(N/(2d))-1"] for d in (2, 3, 4, 5, 6, 10, 60)]
    assert vals == [29, 19, 15, 11, 9, 5, 1]
    b = classification_bounds(np.r_[np.zeros(5), np.ones(20)], 2)
    assert b["ours: 3ceil(min(|R|,|B|)/d)"] == 9 and b["JML: 4ceil(min(|R|,|B|)/d)-1"] == 11
    assert "authors' code: 2ceil(N/(2d))-1" not in b


def test_scale_invariance_and_threshold_in_user_coordinates():
    X, lab = labelled_uniform(20, 3, random_state=5)
    X2 = 100.0 * X - 40.0
    res = classify(X2, lab, method="clusters", random_state=0)
    ok, _ = _correct(res, X2, lab)
    assert ok


def test_runs_distribution_closed_form_and_enumeration():
    import itertools

    n0, n1 = 4, 3
    law = runs_distribution(n0, n1)
    assert sum(law.values()) == pytest.approx(1.0)
    counts: dict[int, int] = {}
    for ones in itertools.combinations(range(n0 + n1), n1):
        seq = np.zeros(n0 + n1, dtype=int)
        seq[list(ones)] = 1
        r = count_runs(np.arange(n0 + n1), seq)
        counts[r] = counts.get(r, 0) + 1
    tot = comb(n0 + n1, n1)
    for r, c in counts.items():
        assert law[r] == pytest.approx(c / tot)


def test_switch_probability_authors_numbers():
    # notebook "Probabilistic bound_Optimized NODEs": N = 10 per class, k = 5
    got = [round(switch_probability(5, 10, 10, d), 4) for d in (2, 8, 20, 100, 2000)]
    assert got == [0.0092, 0.0362, 0.0881, 0.3694, 0.9999]
    assert round(switch_probability(50, 50, 50, 8), 4) == 0.9928
    # the untruncated law is a little smaller, monotone in d and in k
    assert switch_probability(5, 10, 10, 2, method="runs-exact") < switch_probability(5, 10, 10, 2)
    assert switch_probability(5, 10, 10, 3, method="runs-exact") > switch_probability(5, 10, 10, 2,
                                                                                         method="runs-exact")


def test_switch_probability_runs_matches_monte_carlo():
    n, d, trials = 5, 3, 300
    rng = np.random.default_rng(0)
    lab = np.r_[np.zeros(n), np.ones(n)].astype(int)
    Ls = np.array([classify(rng.uniform(size=(2 * n, d)), lab, method="runs").num_switches
                   for _ in range(trials)])
    for k in (2, 4, 6):
        p = switch_probability(k, n, n, d, method="runs")
        se = math.sqrt(max(p * (1 - p), 1e-3) / trials)
        assert abs((Ls <= k).mean() - p) <= 4.5 * se


def test_trivial_cases():
    X = np.array([[0.0, 0.2], [1.0, 0.5]])
    res = classify(X, [0, 0], method="clusters")
    assert res.num_switches == 0 and res.success
    res = classify(np.array([[0.0, 2.0], [1.0, 0.5]]), [1, 0], method="runs")
    assert res.num_switches == 0 and res.success


@pytest.mark.parametrize("kwargs, err, msg", [
    (dict(X=np.zeros((3, 1)), labels=[0, 1, 0]), DatasetError, "d = 1"),
    (dict(X=np.eye(3), labels=[0, 1, 2]), DatasetError, "binary"),
    (dict(X=np.eye(3), labels=[0, 1]), DatasetError, "length N = 3"),
    (dict(X=np.eye(3), labels=[0, 5, 5]), DatasetError, "0/1"),
    (dict(X=np.array([[0.0, 1.0], [0.0, 1.0]]), labels=[0, 1]), DatasetError, "equal rows"),
    (dict(X=np.array([[np.nan, 1.0], [0.0, 1.0]]), labels=[0, 1]), DatasetError, "non-finite"),
    (dict(X=np.eye(3), labels=[0, 1, 0], method="svm"), ParameterError, "method"),
    (dict(X=np.eye(3), labels=[0, 1, 0], T=0.0), ParameterError, "T"),
])
def test_errors(kwargs, err, msg):
    with pytest.raises(err, match=msg):
        classify(**kwargs)


def test_unknown_keyword_raises():
    with pytest.raises(TypeError):
        classify(np.eye(3), [0, 1, 0], margin=1.0)


def test_runs_needs_distinct_coordinates():
    X = np.array([[0.0, 0.1], [0.0, 0.3], [1.0, 0.2]])
    with pytest.raises(DatasetError, match="equal coordinate"):
        classify(X, [1, 0, 1], method="runs")


# ------------------------------------------------------------------------------------------
# issue 4: horizontal clusters, the proved bound, status vs within_bound
# ------------------------------------------------------------------------------------------
def test_regression_movers_at_equal_heights():
    """Two movers on a horizontal line: the old tent skipped n = e_d, took them one by one (L = 3 > 2)."""
    X = np.array([[0.87692211, 0.95717816], [0.95085722, 0.25], [0.59832982, 0.30016318],
                  [0.54707204, 0.31295463], [0.50181953, 0.25]])
    lab = np.array([0, 1, 0, 0, 1])
    res = classify(X, lab, method="clusters", random_state=0)
    ok, _ = _correct(res, X, lab)
    assert ok and res.status == "classified" and res.margin > 0
    assert res.bound == 2 and res.num_switches <= 2 and res.within_bound
    assert res.detail["tents"] + res.detail["ramps"] == 1


@given(seed=st.integers(0, 10_000), N=st.integers(2, 30), d=st.integers(2, 6),
       shift=st.floats(-3, 3), scale=st.floats(0.1, 10),
       noise=st.sampled_from([0.0, 1e-12, 1e-9, 1e-6, 1e-4]), cls=st.sampled_from([0, 1]))
def test_clusters_bound_with_nearly_horizontal_clusters(seed, N, d, shift, scale, noise, cls):
    """One class at (nearly) equal heights, the other generic (general position): L <= 3ceil(m/d), margin > 0."""
    rng = np.random.default_rng(seed)
    X = shift + scale * rng.standard_normal((N, d))
    lab = rng.integers(0, 2, N)
    q = lab == cls
    X[q, -1] = shift + scale * np.round(2 * (X[q, -1] - shift) / scale) / 2
    X[q, -1] += noise * scale * rng.standard_normal(int(q.sum()))
    if np.unique(X, axis=0).shape[0] < N:
        return
    res = classify(X, lab, method="clusters", random_state=seed)
    ok, _ = _correct(res, X, lab)
    assert ok and res.margin > 0 and res.status == "classified"
    m = min(int(lab.sum()), int(N - lab.sum()))
    assert res.num_switches <= res.bound and res.within_bound  # the plan used: 3ceil(M/d) - 1 (+1)
    assert res.num_switches <= max(3 * math.ceil(m / d), 1)  # min over the two plans


def test_bound_overrun_is_reported_not_failed():
    """Movers and harmful points alternating on one line (not in general position): no slab or
    half-space holds two movers, L = 7 > 3ceil(4/2) - 1 = 5, yet every point is classified."""
    X = np.arange(7.0)[:, None] * np.array([[1.0, 0.125]])
    lab = np.array([1, 0, 1, 0, 1, 0, 1])
    res = classify(X, lab, method="clusters", random_state=0)
    ok, _ = _correct(res, X, lab)
    assert ok and res.margin > 0
    assert res.bound == 5 and res.num_switches > res.bound
    assert res.status == "classified" and res.success and not res.within_bound


def test_within_bound_on_documented_examples():
    X, lab = labelled_uniform(30, 3, random_state=2)
    for method in ("clusters", "runs"):
        res = classify(X, lab, method=method, random_state=0)
        assert res.within_bound and res.num_switches <= res.bound

"""The explicit width-2 classifier: exactness, depth, robustness, bad input."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from controlml.errors import ConvergenceError, DatasetError, ParameterError
from controlml.mlp import (
    MLP,
    classify_fixed_direction,
    classify_narrow,
    count_runs,
    paper_depth_bound,
)


def _exact_forward(net: MLP, x) -> Fraction:
    """The network on one point in exact rational arithmetic (independent of NumPy)."""
    h = [Fraction(float(v)) for v in x]
    for k, (A, b) in enumerate(net.layers):
        h = [sum((Fraction(float(a)) * v for a, v in zip(row, h, strict=True)), Fraction(float(bb)))
             for row, bb in zip(A, b, strict=True)]
        if k < net.depth - 1:
            h = [max(v, Fraction(0)) for v in h]
    return h


@st.composite
def datasets(draw):
    N = draw(st.integers(1, 60))
    d = draw(st.integers(1, 6))
    M = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**31 - 1))
    kind = draw(st.sampled_from(["int", "str", "float"]))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([1e-3, 1.0, 1e4]))
    offset = draw(st.sampled_from([0.0, 1e3, -1e6]))
    X = offset + rng.standard_normal((N, d)) * scale
    y = rng.integers(0, M, N)
    if draw(st.booleans()) and N > 2:       # repeated points (same label) and near-ties
        k = draw(st.integers(1, N // 2))
        X[-k:] = X[:k] + draw(st.sampled_from([0.0, 1e-7])) * scale
        y[-k:] = y[:k]
    if kind == "str":
        y = np.array([f"class-{v}" for v in y])
    elif kind == "float":
        y = y * 0.5 - 1.0
    return X, y, seed, offset


@settings(max_examples=80)
@given(datasets())
def test_exact_on_random_datasets_within_the_bound(data):
    X, y, seed, offset = data
    res = classify_narrow(X, y, random_state=seed)
    pred = res.network.predict(X)
    assert np.array_equal(pred, y)
    assert pred.dtype.kind == np.asarray(y).dtype.kind
    M = len(np.unique(y))
    assert res.max_width <= 2 and max(res.network.widths[1:-1], default=0) <= 2
    assert res.network.widths[0] == X.shape[1] and res.network.widths[-1] == 1
    assert res.depth == 2 * res.num_runs <= res.bound == 2 * X.shape[0] + 4 * M - 1
    # the first layer's rounding is relative to |x|: far from the origin the codes are hit
    # less tightly (still certified: max_error < 1/2 is what exactness needs)
    tight = 1e-6 if offset == 0.0 else 1e-2
    assert res.status == "exact" and res.max_error < tight
    if M > 1:
        assert res.margin > 1 - 2 * tight
    base = classify_fixed_direction(X, y, random_state=seed)
    assert res.depth <= base.depth
    assert np.array_equal(base.network.predict(X), y)
    assert count_runs(X, y, res.direction) == res.num_runs


def test_exact_rational_arithmetic_gives_the_codes(rng):
    """The stored (float64-rounded) parameters, evaluated in exact rational arithmetic, map
    every point onto its class code up to the rounding of the parameters, and the float64
    forward pass agrees with the exact one."""
    X = rng.standard_normal((25, 3))
    y = rng.integers(0, 4, 25)
    res = classify_narrow(X, y, random_state=0)
    codes = {lab: c for c, lab in enumerate(res.network.classes)}
    fl = res.network(X)[:, 0]
    for x, lab, f in zip(X, y, fl, strict=True):
        (out,) = _exact_forward(res.network, x)
        assert abs(out - codes[lab]) < 1e-9
        assert abs(float(out) - f) < 1e-9


def test_depth_equals_twice_the_runs_of_a_given_direction():
    X = np.arange(10.0)[:, None]
    y = np.array([0, 0, 1, 1, 1, 0, 2, 2, 0, 0])
    res = classify_fixed_direction(X, y, direction=[1.0])
    assert res.num_runs == 5 and res.depth == 10
    assert paper_depth_bound(10, 3) == 31


def test_search_beats_the_fixed_direction_on_separable_clusters(rng):
    # two classes separated along x_2 only; a direction in [0,1]^2 mixes them with x_1
    X = np.column_stack([rng.uniform(-50, 50, 400), np.repeat([0.0, 1.0], 200)
                         + 0.1 * rng.standard_normal(400)])
    y = np.repeat(["lo", "hi"], 200)
    res = classify_narrow(X, y, random_state=3)
    base = classify_fixed_direction(X, y, random_state=3)
    assert res.num_runs == 2 and res.depth == 4
    assert base.depth > 20
    assert np.array_equal(res.network.predict(X), y)


def test_to_torch_matches_call(rng):
    X = rng.standard_normal((200, 4))
    y = rng.integers(0, 3, 200)
    net = classify_narrow(X, y, random_state=1).network
    seq = net.to_torch()
    assert seq[0].weight.dtype == torch.float64
    with torch.no_grad():
        out_t = seq(torch.as_tensor(X)).numpy()
    assert np.allclose(out_t, net(X), rtol=0, atol=1e-9 * (1 + np.abs(net(X)).max()))
    n_lin = sum(isinstance(m, torch.nn.Linear) for m in seq)
    assert n_lin == net.depth
    assert sum(p.numel() for p in seq.parameters()) == net.num_parameters
    back = MLP.from_torch(seq, classes=net.classes)
    assert np.array_equal(back.predict(X), net.predict(X))
    seq32 = net.to_torch(dtype=torch.float32)
    assert seq32[0].weight.dtype == torch.float32


def test_model_shapes_and_parameters():
    net = MLP([(np.ones((2, 3)), np.zeros(2)), (np.ones((1, 2)), [0.5])])
    assert net.widths == (3, 2, 1) and net.depth == 2 and net.num_parameters == 11
    assert np.allclose(net(np.array([[1.0, -2.0, 0.5], [-1.0, -1.0, -1.0]])), [[0.5], [0.5]])
    with pytest.raises(ParameterError, match="input columns"):
        MLP([(np.ones((2, 3)), np.zeros(2)), (np.ones((1, 3)), [0.0])])
    with pytest.raises(DatasetError, match="3 columns"):
        net(np.ones((4, 2)))


@pytest.mark.parametrize("case", ["single_class", "single_point", "two_runs", "near_coincident",
                                  "far_and_scaled", "one_dim_alternating"])
def test_robust_cases(rng, case):
    if case == "single_class":
        X, y = rng.standard_normal((30, 3)), np.full(30, "only")
    elif case == "single_point":
        X, y = np.array([[1.0, 2.0]]), np.array([7])
    elif case == "two_runs":       # the authors' code crashes with fewer than three runs
        X = np.array([[0.0, 0.0], [0.1, 0.2], [3.0, 3.0], [3.2, 2.9]])
        y = np.array([0, 0, 1, 1])
    elif case == "near_coincident":
        X = rng.standard_normal((40, 2))
        X = np.vstack([X, X[:5] + 1e-9])
        y = np.concatenate([rng.integers(0, 2, 40), 1 - rng.integers(0, 1, 5)])
        y[40:] = 1 - y[:5]
    elif case == "far_and_scaled":
        X = rng.standard_normal((300, 3)) * [1e-6, 1.0, 1e6] + [1e8, -3e3, 0.0]
        y = rng.integers(0, 4, 300)
    else:
        X = np.linspace(0, 1, 101)[:, None]
        y = np.arange(101) % 2
    res = classify_narrow(X, y, random_state=0)
    assert np.array_equal(res.network.predict(X), y)
    assert res.depth <= res.bound and res.max_width <= 2
    if case in ("single_class", "single_point"):
        assert res.depth == 2
    if case == "two_runs":
        assert res.depth == 4
    if case == "one_dim_alternating":
        assert res.depth == 2 * 101


@pytest.mark.parametrize("labels", [
    [1, "a", 2.5, "a", 1, (0, 1)],              # mixed hashables
    [(0, 1), (1, 0), (0, 1), (2, 2), (1, 0), (2, 2)],   # tuples
    [True, False, True, True, False, False],
])
def test_any_hashable_labels(rng, labels):
    X = rng.standard_normal((6, 3))
    res = classify_narrow(X, labels, random_state=0)
    pred = res.network.predict(X)
    assert [p for p in pred.tolist()] == list(labels)


def test_inseparable_in_float64_raises_with_advice():
    X = np.array([[1.0], [1.0 + 2e-16 * 8], [2.0]]) * 1e8
    y = np.array([0, 1, 0])
    with pytest.raises(ConvergenceError, match="rows 0 and 1.*rescale"):
        classify_narrow(X, y, random_state=0)


@pytest.mark.parametrize("X, y, match", [
    (np.empty((0, 2)), [], "empty"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), [0, 1], "non-finite"),
    (np.array([[0.0, np.inf], [1.0, 1.0]]), [0, 1], "non-finite"),
    (np.ones((3, 2)) * np.arange(3)[:, None], [0, 1], "same number of rows"),
    (np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 1.0]]), ["a", "b", "c"], r"equal rows \(0 and 2\)"),
    (np.ones(3), [0, 1, 2], "2-D"),
    (None, [0], "got None"),
    (np.array([[0.0], [1.0]]), np.array([0.0, np.nan]), "labels contains a non-finite"),
    (np.array([[0.0], [1.0]]), np.zeros((2, 2)), "labels must be 1-D"),
])
def test_bad_input_raises_before_work(X, y, match):
    with pytest.raises(DatasetError, match=match):
        classify_narrow(X, y)
    with pytest.raises(DatasetError, match=match):
        classify_fixed_direction(X, y)


def test_bad_options():
    X, y = np.eye(3), [0, 1, 2]
    with pytest.raises(ParameterError, match="n_directions"):
        classify_narrow(X, y, n_directions=0)
    with pytest.raises(ParameterError, match="random_state"):
        classify_narrow(X, y, random_state="seed")
    with pytest.raises(ParameterError, match="direction"):
        classify_fixed_direction(X, y, direction=[1.0, 0.0])
    with pytest.raises(ParameterError, match="direction"):
        classify_fixed_direction(X, y, direction=[0.0, 0.0, 0.0])

"""Exact sequence interpolation (Sec. 4.2): exactness after readout, n-free counts, hypotheses."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from controlml.attention import (
    FeedForward,
    SelfAttention,
    Transformer,
    interpolate_sequences,
    readout,
)
from controlml.errors import DatasetError, ParameterError


def _shared(rng, N, V, d, m, nmax=None):
    """N distinct random subsets of a small vocabulary of V tokens (heavy sharing)."""
    voc = np.unique(np.round(rng.normal(size=(V, d)), 3), axis=0)
    V = voc.shape[0]
    nmax = min(nmax or V, V)
    seen, Zs = set(), []
    while len(Zs) < N:
        idx = tuple(sorted(rng.choice(V, size=int(rng.integers(m, nmax + 1)), replace=False)))
        if idx not in seen:
            seen.add(idx)
            Zs.append(voc[rng.permutation(list(idx))])
    return Zs, [rng.normal(size=(m, d)) for _ in range(N)]


def _param_bound(d, N, sum_m):
    """Nonzero parameters of the construction, an upper bound free of n (see the docstring)."""
    bump = 4 * (2 * d + 1)
    return 2 * (d + 2) + bump * (N - 1 + 2 * sum_m) + (2 + d) + 2 * d + 1


def _check(res, Zs, Ys, attention):
    T = res.transformer
    outs = [readout(o) for o in T.forward(list(Zs))]
    N = len(Zs)
    sum_m = sum(len(y) for y in Ys)
    d = Zs[0].shape[1]
    for o, y in zip(outs, Ys, strict=False):
        assert o.shape == y.shape
        D = np.linalg.norm(o[:, None] - y[None], axis=-1)
        assert D.min(axis=1).max() < 1e-8 and D.min(axis=0).max() < 1e-8
    assert res.max_error < 1e-8 and res.status == "interpolated"
    bound = 2 * sum_m + (2 * N + 1 if attention == "hardmax" else 3 * N)
    assert res.bound_blocks == bound
    assert res.num_blocks <= bound and res.num_layers <= 5
    assert res.num_parameters == T.num_parameters <= _param_bound(d, N, sum_m)
    assert res.num_witnesses <= N - 1


@settings(max_examples=15)
@given(st.integers(0, 10_000), st.sampled_from(["hardmax", "softmax"]), st.integers(1, 8),
       st.integers(2, 4), st.integers(1, 3), st.booleans())
def test_exact_interpolation_property(seed, attention, N, d, m, shared):
    rng = np.random.default_rng(seed)
    if shared:
        Zs, Ys = _shared(rng, N, 6, d, m)
    else:
        n = int(rng.integers(m, 12)) if rng.uniform() < 0.5 else int(rng.integers(40, 120))  # n >> m
        Zs, Ys = list(rng.normal(size=(N, n, d))), list(rng.normal(size=(N, m, d)))
    res = interpolate_sequences(Zs, Ys, attention=attention, random_state=seed)
    _check(res, Zs, Ys, attention)


@pytest.mark.parametrize("attention", ["hardmax", "softmax"])
def test_small_vocabulary_heavy_sharing(attention):
    """The separation step on sequences that share almost everything (5 tokens, 20 sequences,
    many nested in each other): the case where random separation layers fail."""
    rng = np.random.default_rng(3)
    voc = rng.normal(size=(5, 2))
    subsets = [s for s in range(1, 32) if bin(s).count("1") >= 2][:20]
    Zs = [voc[[k for k in range(5) if s >> k & 1]] for s in subsets]
    Ys = [rng.normal(size=(2, 2)) for _ in Zs]
    res = interpolate_sequences(Zs, Ys, attention=attention, random_state=0)
    _check(res, Zs, Ys, attention)
    assert res.num_witnesses >= 1


def test_next_token_prediction_and_long_inputs():
    """m = 1 with n >> m: the parameter count does not see n."""
    rng = np.random.default_rng(1)
    counts = []
    for n in (5, 50, 400):
        base = rng.normal(size=(6, 3))
        Zs = [np.concatenate([base[: j + 1], rng.normal(size=(n, 3))]) for j in range(4)]
        Ys = [rng.normal(size=(1, 3)) for _ in range(4)]
        res = interpolate_sequences(Zs, Ys, random_state=0)
        _check(res, Zs, Ys, "hardmax")
        counts.append((res.num_layers, res.num_parameters))
    assert len({c[0] for c in counts}) == 1
    assert max(c[1] for c in counts) <= _param_bound(3, 4, 4)


def test_sequence_to_sequence_variable_lengths_and_shared_targets():
    rng = np.random.default_rng(2)
    Zs = [rng.normal(size=(n, 2)) for n in (3, 7, 4, 10)]
    Zs[1][0] = Zs[0][0]  # shared tokens
    Zs[2][1] = Zs[0][0]
    y = rng.normal(size=(3, 2))
    Ys = [y, y[::-1], rng.normal(size=(2, 2)), rng.normal(size=(3, 2))]  # equal targets are allowed
    for attention in ("hardmax", "softmax"):
        res = interpolate_sequences(Zs, Ys, attention=attention, random_state=1)
        _check(res, Zs, Ys, attention)


def test_torch_export_matches(rng):
    Zs, Ys = _shared(rng, 5, 6, 3, 2, nmax=4)
    for attention in ("hardmax", "softmax"):
        res = interpolate_sequences(Zs, Ys, attention=attention, random_state=0)
        M = res.transformer.to_torch(dtype=torch.float64)
        for z in Zs:
            out = M(torch.tensor(z)[None])[0].detach().numpy()
            np.testing.assert_allclose(out, res.transformer.forward(z), atol=1e-10)


def test_softmax_needs_the_non_residual_layer():
    """Without its last (non-residual) layer the softmax transformer leaves small balls, not points."""
    rng = np.random.default_rng(4)
    Zs, Ys = list(rng.normal(size=(3, 8, 2))), list(rng.normal(size=(3, 1, 2)))
    res = interpolate_sequences(Zs, Ys, attention="softmax", softmax_margin=6.0, random_state=0)
    last = res.transformer.layers[-1]
    assert isinstance(last, FeedForward) and last.eta == 0.0
    head = Transformer(res.transformer.layers[:-1], 2)
    spread = max(np.ptp(head.forward(z), axis=0).max() for z in Zs)
    assert 1e-9 < spread  # clusters are not exact points before the snap layer
    assert res.max_error < 1e-8


def test_layers_and_readout():
    X = np.array([[1.0, 2.0], [1.0, 2.0 + 1e-12], [3.0, 4.0], [1.0, 2.0]])
    np.testing.assert_array_equal(readout(X), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(readout(X, rtol=0.0), X[:3])
    ff = FeedForward(np.array([[1.0], [0.0]]), np.array([-1.0]), np.array([[0.0, 2.0]]), eta=1.0)
    np.testing.assert_allclose(ff(np.array([[[3.0, 0.0]]])), [[[3.0, 4.0]]])
    sa = SelfAttention(np.eye(2), np.eye(2), rho=0.0, tau=0.0)
    np.testing.assert_allclose(sa(np.array([[[1.0, 0.0], [2.0, 0.0]]])), [[[2.0, 0.0], [2.0, 0.0]]])
    assert ff.num_parameters == 4 and sa.num_parameters == 4


def test_hypotheses_are_checked():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(4, 2))
    Y = rng.normal(size=(2, 2))
    with pytest.raises(DatasetError, match=r"Zs\[0\] and Zs\[1\] are the same set of tokens"):
        interpolate_sequences([Z, Z[::-1]], [Y, Y])
    with pytest.raises(DatasetError, match=r"Zs\[1\] has two equal rows \(0 and 3\).*distinct tokens"):
        interpolate_sequences([Z, np.concatenate([Z[:3], Z[:1]])], [Y, Y])
    with pytest.raises(DatasetError, match=r"Ys\[0\] has two equal rows.*target"):
        interpolate_sequences([Z], [np.stack([Y[0], Y[0]])])
    with pytest.raises(DatasetError, match="m <= n"):
        interpolate_sequences([Z[:1]], [Y])
    with pytest.raises(DatasetError, match="d >= 2"):
        interpolate_sequences([Z[:, :1]], [Y[:1, :1]])
    with pytest.raises(DatasetError, match="non-finite"):
        interpolate_sequences([np.array([[np.nan, 0.0], [1.0, 1.0]])], [Y[:1]])
    with pytest.raises(DatasetError, match="same number N"):
        interpolate_sequences([Z, Z[:3]], [Y])
    with pytest.raises(DatasetError, match="closer than 1e-9"):
        interpolate_sequences([Z, Z[:3] + [[0, 0], [0, 0], [1e-13, 0]]], [Y, Y])
    with pytest.raises(ParameterError, match="attention must be one of"):
        interpolate_sequences([Z], [Y], attention="sparsemax")
    with pytest.raises(ParameterError, match="tau must be > 0"):
        interpolate_sequences([Z], [Y], attention="softmax", tau=0.0)
    with pytest.raises(ParameterError, match="max_tries"):
        interpolate_sequences([Z], [Y], max_tries=0)

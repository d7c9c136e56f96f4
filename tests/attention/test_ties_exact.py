"""Hardmax ties and leaders against exact rational arithmetic (issue 11, Sec. 1).

The reference below is written here, independently of the library: the hardmax dynamics
(4.1) in ``fractions.Fraction`` arithmetic, where a tie is an exact equality of scores. The
inputs are dyadic rationals, so the float64 tokens given to the library are exactly the
rational ones.
"""

from __future__ import annotations

from fractions import Fraction as Fr

import numpy as np
import pytest
import torch

from controlml.attention import equilibrium, hardmax_dynamics, leaders
from controlml.attention.sentiment import SentimentAttentionModel, evaluate_sentiment


# ----------------------------------------------------------------------------- exact reference
def _dot(u, v, A=None):
    if A is None:
        return sum(a * b for a, b in zip(u, v, strict=True))
    return sum(u[r] * A[r][c] * v[c] for r in range(len(u)) for c in range(len(v)))


def _exact_step(Z, alpha, A=None):
    out, ties = [], []
    for z in Z:
        s = [_dot(z, w, A) for w in Z]
        m = max(s)
        C = [j for j, v in enumerate(s) if v == m]
        mean = [sum(Z[j][c] for j in C) / len(C) for c in range(len(z))]
        out.append([(z[c] + alpha * mean[c]) / (1 + alpha) for c in range(len(z))])
        ties.append(C)
    return out, ties


def _exact_run(Z0, alpha, K, A=None):
    Z = [[Fr(x) for x in row] for row in np.asarray(Z0).tolist()]
    a = Fr(alpha)
    ties = None
    for _ in range(K):
        Z, ties = _exact_step(Z, a, A)
    _exact_run.state = Z  # the rational tokens of the last layer
    return np.array([[float(x) for x in row] for row in Z]), ties


def _exact_leaders(Z0, A=None):
    """Points i with C_i = {copies of z_i}, each point once (first index)."""
    Z = Z0 if isinstance(Z0, list) else [[Fr(x) for x in row] for row in np.asarray(Z0).tolist()]
    out, seen = [], []
    for i, z in enumerate(Z):
        s = [_dot(z, w, A) for w in Z]
        m = max(s)
        if all(Z[j] == z for j, v in enumerate(s) if v == m) and s[i] == m and z not in seen:
            out.append(i)
            seen.append(z)
    return out


# ----------------------------------------------------------------------------- the issue's case
ISSUE_TOKENS = np.array([[1.0, 1.0], [1.0, -1.0], [0.5, 0.0], [0.5, -0.5]])


def test_issue_case_equilibrium_matches_exact_arithmetic():
    exact, ties = _exact_run(ISSUE_TOKENS, 0.5, 120)
    assert ties[2] == [0, 1]  # token 2 sits on the bisector of the two leaders for ever
    np.testing.assert_allclose(exact[2], [1.0, 0.0], atol=1e-15)
    e = equilibrium(ISSUE_TOKENS, np.eye(2), 0.5)
    assert e.status == "certified"
    np.testing.assert_allclose(e.Z_star, exact, atol=1e-12)
    assert e.faces[2] == (0, 1)
    # and the dynamics itself, run far past the point where the follower of token 1 is
    # numerically on top of it (the default tolerance used to tie it to token 2 there)
    r = hardmax_dynamics(ISSUE_TOKENS, np.eye(2), 0.5, 400, keep_trajectory=False)
    np.testing.assert_allclose(r.Z, exact, atol=1e-12)


# ----------------------------------------------------------------------------- a family like it
def _face_instance(rng, d):
    """Leaders on the face x_0 = 1, a token on the axis tying all of them, followers of single
    leaders at different distances, all dyadic."""
    m = 2 if d == 2 else 3
    Lead = np.ones((m, d))
    # the face's points average to (1, 0, ...): the axis token's tie is kept for ever (as in
    # the issue's square), so its limit is the A-projection of 0 onto the face
    Y = rng.integers(-8, 9, size=(m - 1, d - 1)) / 8.0
    if d == 2:
        Y = np.abs(Y) + 0.25
    Lead[:-1, 1:] = Y
    Lead[-1, 1:] = -Y.sum(axis=0)
    axis = np.zeros((1, d))
    axis[0, 0] = rng.integers(2, 15) / 16.0  # ties every point with x_0 = 1
    # followers u * leader (0 < u < 1) follow that leader only and converge to it, their
    # score for the axis token approaching the leaders' (the case that broke the ties)
    k = int(rng.integers(1, 4))
    u = rng.choice(np.arange(4, 16), size=k, replace=False) / 16.0
    F = u[:, None] * Lead[rng.integers(0, m, size=k)]
    Z = np.concatenate([Lead, axis, F])
    return Z[rng.permutation(Z.shape[0])]


def _random_instance(rng, d):
    n = int(rng.integers(3, 7))
    return rng.integers(-8, 9, size=(n, d)) / 8.0


def _valid(Z):
    return bool(np.all(np.linalg.norm(Z, axis=1) > 0)) and np.unique(Z, axis=0).shape[0] == Z.shape[0]


@pytest.mark.parametrize("seed", range(8))
def test_face_family_equilibrium_matches_exact_arithmetic(seed):
    rng = np.random.default_rng(1000 + seed)
    d = 2 + seed % 2
    Z = _face_instance(rng, d)
    while not _valid(Z):
        Z = _face_instance(rng, d)
    alpha = [0.5, 1.0, 0.75][seed % 3]
    exact, _ = _exact_run(Z, alpha, 110)
    e = equilibrium(Z, np.eye(d), alpha)
    np.testing.assert_allclose(e.Z_star, exact, atol=1e-9)
    r = hardmax_dynamics(Z, np.eye(d), alpha, 3 * e.layers, keep_trajectory=False)
    np.testing.assert_allclose(r.Z, exact, atol=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_random_dyadic_instances_match_exact_arithmetic(seed):
    rng = np.random.default_rng(2000 + seed)
    d = 2 + seed % 2
    Z = _random_instance(rng, d)
    while not _valid(Z):
        Z = _random_instance(rng, d)
    A = np.diag(rng.integers(1, 5, size=d) / 2.0)
    Afr = [[Fr(float(A[r, c])) for c in range(d)] for r in range(d)]
    exact, _ = _exact_run(Z, 0.5, 110, Afr)
    e = equilibrium(Z, A, 0.5)
    np.testing.assert_allclose(e.Z_star, exact, atol=1e-9)
    # leaders (indices) of the last layer: the exact tokens there are still distinct
    assert [int(i) for i in e.leaders] == _exact_leaders(_exact_run.state, Afr)


def test_leaders_of_exact_configurations():
    # the leaders of the issue's tokens at layer 0 and in the limit, by exact arithmetic
    assert list(leaders(ISSUE_TOKENS, np.eye(2))) == _exact_leaders(ISSUE_TOKENS) == [0, 1]
    # a repeated token is one leader point, counted at its first index
    Z = np.array([[2.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.5, 0.5]])
    assert list(leaders(Z, np.eye(2), tie_rtol=1e-12)) == _exact_leaders(Z) == [0, 1]


# ----------------------------------------------------------------------------- sentiment leaders
def _exact_sentiment_leaders(E, alpha, row, K):
    """Leader count per layer 0..K of one review (ids ``row``, no padding), exact."""
    Z = [[Fr(float(x)) for x in E[w]] for w in row]
    a = Fr(float(alpha))
    counts = [_exact_leaders_fr(Z)]
    for _ in range(K):
        Z, _ = _exact_step(Z, a)
        counts.append(_exact_leaders_fr(Z))
    return counts


def _exact_leaders_fr(Z):
    out, seen = 0, []
    for i, z in enumerate(Z):
        s = [_dot(z, w) for w in Z]
        m = max(s)
        if s[i] == m and all(Z[j] == z for j, v in enumerate(s) if v == m) and z not in seen:
            out += 1
            seen.append(z)
    return out


@pytest.mark.parametrize("n", [26, 40])
def test_sentiment_leaders_beyond_25_tokens_match_exact_counts(n):
    """torch.cdist switches to a matrix-product formula above 25 tokens; leaders must not
    depend on it (the count was ~8% low there)."""
    rng = np.random.default_rng(n)
    vocab, d, K = 60, 4, 2
    model = SentimentAttentionModel(vocab, d, K=K, alpha=0.7, random_state=n, dtype=torch.float64)
    tokens = rng.integers(1, vocab, size=(6, n))
    tokens[:, 3] = tokens[:, 0]  # a repeated word is one point
    E = model.embedding.weight.detach().numpy()
    alpha = float(model.alpha.detach())
    L = model.leaders_per_layer(tokens).sum(dim=-1).numpy()  # (K+1, B)
    for b in range(tokens.shape[0]):
        assert list(L[:, b]) == _exact_sentiment_leaders(E, alpha, tokens[b], K)
    ev = evaluate_sentiment(model, tokens, None, rng.integers(0, 2, size=6))
    assert ev.mean_leaders == pytest.approx(L[-1].mean())

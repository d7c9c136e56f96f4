"""Random batches: the mean operator is A exactly; the split optimum converges in expectation."""

import numpy as np
import pytest
import scipy.sparse as sp

from controlml.mpc import (
    BatchRule,
    LQProblem,
    heat1d,
    heat3d,
    heat_ring,
    mean_operator,
    randomized_splitting,
    splitting_study,
)


def _maxabs(M):
    return float(abs(M).max()) if sp.issparse(M) else float(np.max(np.abs(M)))


@pytest.mark.parametrize("name", ["one-part", "drop-one", "random-subsets"])
def test_mean_operator_is_A_exactly(name):
    for p in (heat1d(), heat_ring(n=6)):
        rule = BatchRule.named(name, len(p.parts))
        E = mean_operator(p.parts, rule)
        assert _maxabs(E - p.A) <= 1e-13 * _maxabs(p.A)
        # and no single batch operator equals A (the splitting is not trivial)
        assert _maxabs(rule.operator(p.parts, rule.subsets[0]) - p.A) > 0.1 * _maxabs(p.A)


def test_mean_operator_non_uniform_law(rng):
    parts = [sp.random(6, 6, density=0.5, random_state=i, format="csr") for i in range(4)]
    A = parts[0] + parts[1] + parts[2] + parts[3]
    subsets = [(0, 1), (2,), (3, 0), (1, 2, 3)]
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    rule = BatchRule.from_subsets(subsets, probs, M=4)
    assert np.allclose(rule.pi, [0.4, 0.5, 0.6, 0.7])  # P(m in omega), by hand
    assert _maxabs(mean_operator(parts, rule) - A) < 1e-14


def test_sampler_rule_mean_by_monte_carlo():
    p = heat_ring(n=8)
    M = len(p.parts)

    def sampler(rng):  # two distinct links drawn uniformly: pi_m = 2/M
        return rng.choice(M, size=2, replace=False)

    rule = BatchRule.from_sampler(sampler, np.full(M, 2 / M), M)
    rng = np.random.default_rng(0)
    S = 20000
    counts: dict = {}
    for _ in range(S):
        om = rule.draw(rng)
        counts[om] = counts.get(om, 0) + 1
    assert len(counts) == M * (M - 1) // 2  # every pair is drawn
    acc = sum(c * rule.operator(p.parts, om).toarray() for om, c in counts.items()) / S
    scale = _maxabs(p.A)
    # standard error of a mean of S draws: ~ scale * sqrt(M/2)/sqrt(S)
    assert np.max(np.abs(acc - p.A.toarray())) < 5 * scale * np.sqrt(M / 2 / S)


def test_one_part_split_of_heat1d_and_3d_structure():
    p = heat1d()
    assert len(p.parts) == 3 and p.n == 61
    assert np.allclose(p.A.sum(axis=1), 0)  # Neumann: constants are steady
    q = heat3d(n=5, random_state=0)
    assert q.n == 125 and len(q.parts) == 3
    # every link in exactly one part: the parts' off-diagonal supports are disjoint
    supp = [set(zip(*sp.triu(a, 1).nonzero(), strict=True)) for a in q.parts]
    assert sum(len(s) for s in supp) == 3 * 5 * 5 * 4
    assert not (supp[0] & supp[1]) and not (supp[1] & supp[2])


def test_splitting_reproducible_and_h_equal_T_is_one_draw():
    p = heat1d(K=32)
    a = randomized_splitting(p, h=p.dt * 4, random_state=5)
    b = randomized_splitting(p, h=p.dt * 4, random_state=5)
    assert np.array_equal(a.u, b.u)
    assert len(set(a.batches)) <= 8 and all(a.batches[k] == a.batches[4 * (k // 4)]
                                             for k in range(32))
    c = randomized_splitting(p, h=p.T, random_state=1)
    assert len(set(c.batches)) == 1
    # riccati and adjoint solve the same random problem
    d = randomized_splitting(p, h=p.dt * 4, random_state=5, method="adjoint")
    assert np.max(np.abs(d.u - a.u)) < 1e-6


@pytest.mark.slow
def test_expectation_converges_at_least_like_sqrt_h():
    p = heat1d(K=2**8)
    hs = p.dt * 2.0 ** np.arange(5)
    st = splitting_study(p, hs, draws=8, random_state=0)
    for e in (st.state_error, st.control_error):
        assert e[0] < e[-1] / 3  # decreases with h
    # theory: E|x_h - x|^2 <= C h, i.e. RMS slope >= 1/2 (fitted over 5 values of h)
    assert st.slope_state >= 0.45 and st.slope_control >= 0.45, (st.slope_state, st.slope_control)


def test_full_operator_when_every_part_is_drawn():
    # a rule that always draws all parts with pi = 1 reproduces the full problem exactly
    p = heat1d(K=16)
    rule = BatchRule.from_subsets([(0, 1, 2)], [1.0], M=3)
    r = randomized_splitting(p, h=p.dt, batches=rule, random_state=0)
    from controlml.mpc import solve_ocp

    assert np.allclose(r.u, solve_ocp(p).u, atol=1e-12)
    assert r.cost == pytest.approx(r.cost_true, rel=1e-12)


def test_discrete_time_parts():
    A1 = np.diag([0.5, 0.0])
    A2 = np.array([[0.0, 0.1], [0.1, 0.4]])
    p = LQProblem([A1, A2], np.eye(2), np.eye(2), np.eye(2), x0=[1.0, 1.0], T=10, dt=1,
                  time="discrete")
    assert np.allclose(p.A.toarray(), A1 + A2)
    r = randomized_splitting(p, h=1.0, random_state=0)
    assert r.u.shape == (10, 2) and np.isfinite(r.cost)

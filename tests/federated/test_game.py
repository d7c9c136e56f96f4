"""The FL potential game: the authors' four m = 1000 cases, the jump at lambda*, equilibria."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst

from controlml.errors import ParameterError
from controlml.federated import FLGame, game_efforts_to_epochs, simulate

# DCN-FAU-AvH/FL-Potential-Game, utils/cases_m1000/config_case_{1..4}.yaml: mean NE efforts
AUTHORS_MEANS = (1.0, 1.32424, 16.41730, 25.05790)


@pytest.fixture(scope="module")
def authors():
    return FLGame.authors_setting(1000, seed=77)


def test_critical_rewards_and_cases(authors):
    game, _ = authors
    cr = game.critical_rewards()
    assert cr.lambda1 < cr.lambda_star < cr.lambda2
    # specs: lambda1 = 1.998, lambda* = 2.904, lambda2 = 4.685, c1 = 1.376, c2 = 14.25
    assert (round(cr.lambda1, 3), round(cr.lambda_star, 3), round(cr.lambda2, 3)) == (1.998, 2.904, 4.685)
    assert round(cr.c1, 3) == 1.376 and round(cr.c2, 2) == 14.25
    assert game.authors_cases() == (1.99, 2.9, 2.91, 4.69)
    # lambda* solves sum lambda/(2 alpha_i/rho_i - lambda) = 1
    lam = cr.lambda_star
    assert np.sum(lam / (2 * game.alpha / game.rho - lam)) == pytest.approx(1.0, abs=1e-12)


def test_four_cases_reproduce_authors_means(authors):
    game, s0 = authors
    for lam, ref in zip(game.authors_cases(), AUTHORS_MEANS, strict=True):
        res = game.with_reward(lam).nash_equilibrium(s0, tol=1e-10)
        assert res.status == "ok" and res.gap <= 1e-10
        assert abs(np.round(res.s, 5).mean() - ref) <= 1e-4, (lam, res.mean_effort)
    # the jump at lambda*: from <= c1 just below to >= c2 just above
    cr = game.critical_rewards()
    lo = game.with_reward(2.90).nash_equilibrium(s0).mean_effort
    hi = game.with_reward(2.91).nash_equilibrium(s0).mean_effort
    assert lo <= cr.c1 and hi >= cr.c2


def test_best_response_dynamics_land_on_exact_fixed_point(authors):
    """Independent check: the fixed points of the scalar piecewise-linear map F."""
    game, s0 = authors
    for lam in (1.5, 2.5, 2.9, 2.91, 4.0):
        g = game.with_reward(lam)
        res = g.nash_equilibrium(s0, tol=1e-10)
        fps = g.fixed_points()
        assert len(fps) >= 1
        dist = min(np.abs(res.s - f).max() for f in fps)
        assert dist <= 1e-4, (lam, dist)
        for f in fps:  # every exact fixed point is a Nash equilibrium
            assert g.gap(f) <= 1e-8 * g.T


@given(hst.integers(2, 30), hst.floats(0.1, 6.0), hst.integers(0, 10_000))
def test_equilibrium_is_unilaterally_optimal(m, lam, seed):
    rng = np.random.default_rng(seed)
    alpha, q = rng.uniform(1, 2, m), rng.uniform(0.5, 1.5, m)
    game = FLGame(alpha, q, q + rng.uniform(0, 20, m), rng.uniform(1, 3, m), lam)
    res = game.nash_equilibrium(random_state=seed, tol=1e-9)
    if res.status != "ok":
        return  # slow convergence exactly at a critical lambda: nothing to check
    # no player gains by a unilateral deviation on a grid of its feasible efforts
    P = game.payoffs(res.s)
    for i in range(m):
        for x in np.linspace(game.q[i], game.Q[i], 9):
            s = res.s.copy()
            s[i] = x
            assert game.payoffs(s)[i] <= P[i] + 1e-8
    # weighted potential: a unilateral move changes Phi by rho_i times the payoff change
    s = res.s.copy()
    s[0] = game.Q[0]
    dphi = game.potential(s) - game.potential(res.s)
    assert dphi == pytest.approx(game.rho[0] * (game.payoffs(s)[0] - P[0]), abs=1e-9)


def test_efforts_drive_local_epochs():
    E = game_efforts_to_epochs([1.0, 1.2, 3.0, 25.06], max_epochs=10)
    assert E.tolist() == [1, 2, 3, 10]
    h = simulate("fedavg", num_clients=4, rounds=2, fraction=1.0,
                 local_epochs=game_efforts_to_epochs([1.0, 2.5, 1.0, 2.0]), progress=False)
    assert h.epochs[0].tolist() == [1, 3, 1, 2]


def test_game_bad_input():
    with pytest.raises(ParameterError, match="Q must be >= q"):
        FLGame([1, 1], [2, 2], [1, 3])
    with pytest.raises(ParameterError, match="alpha must hold finite positive"):
        FLGame([1, -1], 1, 2)
    with pytest.raises(ParameterError, match="s must be efforts of shape"):
        FLGame([1, 1], 1, 2).payoffs([1, 2, 3])

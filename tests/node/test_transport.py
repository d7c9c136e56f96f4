"""Neural transport equation (3.16): exact push-forward densities and the Thm 3.5 construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controlml.errors import ControlError, ParameterError
from controlml.node import (
    Control,
    Piece,
    cells_for_switches,
    curve_density,
    density_errors,
    flow,
    gaussian_mixture_density,
    inverse_control,
    inverse_flow,
    log_jacobian,
    num_pieces,
    pushforward_logdensity,
    transport,
    transport_errors,
    uniform_box_logdensity,
)

UNIT = [[0.0, 0.0], [1.0, 1.0]]


def _random_control(rng, K=8, shears=True):
    pieces = []
    for k in range(K):
        if shears and k % 3 == 2:  # a shear: w orthogonal to a
            a = rng.normal(size=2)
            w = np.array([-a[1], a[0]]) * rng.uniform(0.2, 1.0)
            pieces.append(Piece(rng.uniform(0.2, 0.6), w[:, None], a[None, :], [rng.normal()]))
        else:
            pieces.append(Piece(rng.uniform(0.2, 0.6), rng.normal(size=(2, 1)), rng.normal(size=(1, 2)),
                                [rng.normal()]))
    return Control(tuple(pieces))


def _fd_logdet(control, X, h=1e-6):
    J = np.stack([(flow(control, X + h * e) - flow(control, X - h * e)) / (2 * h) for e in np.eye(2)],
                 axis=2)
    return np.log(np.abs(np.linalg.det(J)))


# ---------------------------------------------------------------------------------------
# closed forms of one piece
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_single_neuron_jacobian_is_exp_kappa_t_on_active_side(seed):
    rng = np.random.default_rng(seed)
    w, a, b, t = rng.normal(size=2), rng.normal(size=2), rng.normal(), rng.uniform(0.3, 1.0)
    piece = Piece(t, w[:, None], a[None, :], [b])
    X = rng.normal(size=(200, 2))
    z = X @ a + b
    X = X[np.abs(z) > 1e-3]  # away from the kink, where finite differences are meaningful
    z = X @ a + b
    kappa = float(a @ w)
    expected = np.where(z > 0, kappa * t, 0.0)
    fd = _fd_logdet(piece, X)
    np.testing.assert_allclose(fd, expected, atol=1e-7)
    np.testing.assert_allclose(log_jacobian(piece, flow(piece, X)), expected, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_inverse_map_jacobian_is_exp_minus_kappa_t(seed):
    rng = np.random.default_rng(40 + seed)
    w, a, b, t = rng.normal(size=2), rng.normal(size=2), rng.normal(), rng.uniform(0.3, 1.0)
    piece = Piece(t, w[:, None], a[None, :], [b])
    X = rng.normal(size=(200, 2))
    X = X[np.abs(X @ a + b) > 1e-3]
    h = 1e-6
    J = np.stack([(inverse_flow(piece, X + h * e) - inverse_flow(piece, X - h * e)) / (2 * h)
                  for e in np.eye(2)], axis=2)
    kappa = float(a @ w)
    expected = np.where(X @ a + b > 0, -kappa * t, 0.0)
    np.testing.assert_allclose(np.log(np.abs(np.linalg.det(J))), expected, atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), K=st.integers(1, 15))
def test_property_roundtrip_and_logdet_additivity(seed, K):
    """flow o inverse = id, and log det of a concatenation is the sum over its parts."""
    rng = np.random.default_rng(seed)
    c1, c2 = _random_control(rng, K=K), _random_control(rng, K=K)
    X = rng.normal(size=(100, 2))
    c = c1.then(c2)
    np.testing.assert_allclose(flow(c, inverse_flow(c, X)), X, atol=1e-10, rtol=0)
    # log det D(Phi2 o Phi1) = log det DPhi2 (at Phi2^{-1} x) + log det DPhi1 (at Phi^{-1} x)
    np.testing.assert_allclose(log_jacobian(c, X),
                               log_jacobian(c2, X) + log_jacobian(c1, inverse_flow(c2, X)), atol=1e-12)


def test_example_densities():
    mu, s = np.array([[0.5, -0.2], [-1.0, 1.0]]), np.array([0.3, 0.6])
    rho = gaussian_mixture_density(mu, s, [1.0, 3.0])
    x = np.array([[0.5, -0.2]])
    expected = 0.25 / (2 * np.pi * 0.09) + 0.75 / (2 * np.pi * 0.36) * np.exp(-(1.5**2 + 1.2**2) / (2 * 0.36))
    np.testing.assert_allclose(rho(x), [expected], rtol=1e-12)
    g = np.linspace(-6, 6, 601)
    G = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    assert abs(rho(G).sum() * (g[1] - g[0]) ** 2 - 1.0) < 1e-6
    line = curve_density(np.column_stack([np.linspace(-1, 1, 201), np.zeros(201)]), 0.1)
    np.testing.assert_allclose(line(np.array([[0.0, 0.0], [0.3, 0.2]])), [1.0, np.exp(-2.0)], rtol=1e-12)
    with pytest.raises(ParameterError, match="stds must be > 0"):
        gaussian_mixture_density(mu, [0.3, -1.0])


def test_density_errors_scores_the_exact_target_as_zero():
    rho = gaussian_mixture_density([[0.0, 0.0]], [0.7])
    box = [[-1.0, -1.0], [1.0, 1.0]]
    Z = (0.5 * (1 + __import__("math").erf(1 / (0.7 * np.sqrt(2)))) * 2 - 1) ** 2  # mass in the box

    def logd(X):
        inside = np.all(np.abs(X) <= 1, axis=1)
        with np.errstate(divide="ignore"):
            return np.where(inside, np.log(rho(X) / Z), -np.inf)

    S = np.random.default_rng(0).normal(scale=0.7, size=(4000, 2))
    S = S[np.all(np.abs(S) <= 1, axis=1)][:800]
    e = density_errors(logd, S, rho, box=box, grid=200, random_state=1)
    assert e.l1 < 1e-3 and abs(e.kl) < 1e-4 and abs(e.mass - 1) < 1e-3
    assert e.w1 < 0.15  # two samples of the same law
    with pytest.raises(ParameterError, match="log_density must return shape"):
        density_errors(lambda X: np.zeros(2), S, rho, box=box, grid=10)


def test_single_neuron_closed_form_flow_and_inverse():
    w, a, b, t = np.array([0.3, -0.7]), np.array([1.2, 0.4]), 0.1, 0.8
    piece = Piece(t, w[:, None], a[None, :], [b])
    X = np.array([[1.0, 1.0], [-2.0, 0.5]])  # first active, second inactive
    # the reference in 40-digit decimals: x_2 = 1 - 0.98... cancels, so a double-precision
    # reference is itself off by ~1e-14 relative (the flow is within 1e-16 of the exact value)
    import decimal

    D = decimal.Context(prec=40).create_decimal_from_float
    with decimal.localcontext(decimal.Context(prec=40)):
        kd = D(a[0]) * D(w[0]) + D(a[1]) * D(w[1])
        XT = np.array([[float(D(x[c]) + (max(D(x[0]) * D(a[0]) + D(x[1]) * D(a[1]) + D(b), 0)
                                          * ((kd * D(t)).exp() - 1) / kd) * D(w[c])) for c in range(2)]
                       for x in X])
    np.testing.assert_allclose(flow(piece, X), XT, rtol=1e-14)
    np.testing.assert_allclose(inverse_flow(piece, XT), X, atol=1e-14)
    assert np.array_equal(inverse_flow(piece, X[1:]), X[1:])  # identity on the inactive side


@pytest.mark.parametrize("seed", range(4))
def test_flow_inverse_roundtrip(seed):
    rng = np.random.default_rng(seed)
    c = _random_control(rng, K=12)
    X = rng.normal(size=(500, 2))
    np.testing.assert_allclose(flow(c, inverse_flow(c, X)), X, atol=1e-10, rtol=0)
    np.testing.assert_allclose(inverse_flow(c, flow(c, X)), X, atol=1e-10, rtol=0)


def test_inverse_of_general_width_piece_is_reversed_flow():
    rng = np.random.default_rng(3)
    piece = Piece(0.5, rng.normal(size=(2, 3)), rng.normal(size=(3, 2)), rng.normal(size=3))
    X = rng.normal(size=(8, 2))
    np.testing.assert_allclose(inverse_flow(piece, flow(piece, X)), X, atol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_logdensity_vs_finite_difference_jacobian(seed):
    rng = np.random.default_rng(10 + seed)
    c = _random_control(rng, K=9)
    X0 = rng.uniform(0.05, 0.95, size=(300, 2))
    XT = flow(c, X0)
    logd = pushforward_logdensity(c, uniform_box_logdensity(UNIT), XT)
    fd = _fd_logdet(c, X0)
    ok = np.isfinite(fd)
    # drop points within FD reach of a kink (finite differences straddle it)
    bad = np.abs(_fd_logdet(c, X0, h=1e-6) - _fd_logdet(c, X0, h=2e-7)) > 1e-5
    sel = ok & ~bad
    assert sel.sum() > 200
    np.testing.assert_allclose(logd[sel], -fd[sel], atol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_mass_conservation(seed):
    rng = np.random.default_rng(20 + seed)
    c = _random_control(rng, K=8)
    P = flow(c, rng.uniform(size=(20000, 2)))
    lo, hi = P.min(axis=0) - 0.1, P.max(axis=0) + 0.1
    n = 600
    g1, g2 = (np.linspace(lo[i], hi[i], n + 1) for i in range(2))
    m1, m2 = (g1[1:] + g1[:-1]) / 2, (g2[1:] + g2[:-1]) / 2
    G = np.stack(np.meshgrid(m1, m2, indexing="ij"), axis=-1).reshape(-1, 2)
    rho = np.exp(pushforward_logdensity(c, uniform_box_logdensity(UNIT), G))
    mass = rho.sum() * (g1[1] - g1[0]) * (g2[1] - g2[0])
    assert abs(mass - 1.0) < 2e-2


def test_logdensity_matches_histogram_of_pushed_samples():
    rng = np.random.default_rng(7)
    c = _random_control(rng, K=6)
    P = flow(c, rng.uniform(size=(200000, 2)))
    lo, hi = np.quantile(P, 0.2, axis=0), np.quantile(P, 0.8, axis=0)
    H, e1, e2 = np.histogram2d(P[:, 0], P[:, 1], bins=8, range=[[lo[0], hi[0]], [lo[1], hi[1]]])
    # exact cell masses of rho_T by fine quadrature inside each bin
    k = 40
    f1 = np.linspace(lo[0], hi[0], 8 * k + 1)
    f2 = np.linspace(lo[1], hi[1], 8 * k + 1)
    G = np.stack(np.meshgrid((f1[1:] + f1[:-1]) / 2, (f2[1:] + f2[:-1]) / 2, indexing="ij"),
                 axis=-1).reshape(-1, 2)
    rho = np.exp(pushforward_logdensity(c, uniform_box_logdensity(UNIT), G)).reshape(8 * k, 8 * k)
    exact = rho.reshape(8, k, 8, k).sum(axis=(1, 3)) * (f1[1] - f1[0]) * (f2[1] - f2[0])
    emp = H / 200000
    sd = np.sqrt(exact * (1 - exact) / 200000) + 1e-4
    assert np.all(np.abs(emp - exact) < 5 * sd + 2e-3)


# ---------------------------------------------------------------------------------------
# the Thm 3.5 construction
# ---------------------------------------------------------------------------------------
def test_piecewise_constant_target_is_reached_exactly():
    rng = np.random.default_rng(1)
    H = rng.uniform(0.1, 1.0, size=(4, 5))
    box = [[-1.0, 0.0], [2.0, 1.5]]
    r = transport([[3.0, 3.0], [4.0, 5.0]], H, box=box, num_cells=(4, 5), floor=0.0, grid=80,
                  num_samples=500, random_state=0)
    assert r.status == "ok"
    assert r.num_switches + 1 <= num_pieces(4, 5)
    np.testing.assert_allclose(r.masses, H / H.sum(), rtol=1e-12)
    assert r.errors.l1 < 1e-4  # only the ramps (relative width 1e-6) differ
    assert abs(r.errors.mass - 1.0) < 1e-8
    # densities inside cells are the cell averages, exactly
    cell_area = 3.0 * 1.5 / 20
    X = np.array([[-1.0 + 0.75 * (i + 0.5), 0.3 * (j + 0.5)] for i in range(4) for j in range(5)])
    np.testing.assert_allclose(np.exp(r.log_density(X)), (H / H.sum()).ravel() / cell_area, rtol=1e-9)
    # samples land in the box with the right cell frequencies
    S = r.sample(20000, random_state=2)
    assert np.all((S >= np.array(box[0]) - 1e-9) & (S <= np.array(box[1]) + 1e-9))
    counts, _, _ = np.histogram2d(S[:, 0], S[:, 1], bins=[4, 5], range=[[-1, 2], [0, 1.5]])
    p = H / H.sum()
    assert np.all(np.abs(counts / 20000 - p) < 5 * np.sqrt(p / 20000) + 1e-3)


@settings(max_examples=8, deadline=None)
@given(n=st.integers(2, 5), m=st.integers(2, 5), seed=st.integers(0, 2**31 - 1))
def test_property_piecewise_constant_targets_within_epsilon(n, m, seed):
    """Thm 3.5 for targets the grid resolves: the L1 error is below the ramp bound."""
    rng = np.random.default_rng(seed)
    H = rng.uniform(0.0, 1.0, size=(n, m)) + 0.01
    r = transport(UNIT, H, box=[[0, 0], [2, 1]], num_cells=(n, m), floor=0.0, ramp=1e-6, grid=40,
                  num_samples=100, random_state=0)
    assert r.errors.l1 <= 2e-6 * n + 1e-9
    assert r.num_switches + 1 <= num_pieces(n, m)


def test_flow_inverse_roundtrip_on_a_transport_control():
    rho = gaussian_mixture_density([[-1, -1], [1, 1]], [0.5, 0.4])
    U = np.random.default_rng(0).uniform(size=(2000, 2))
    # moderate slopes (floor 0.05): the round trip is exact to 1e-10
    r = transport(UNIT, rho, box=[[-3, -3], [3, 3]], num_cells=(6, 6), floor=0.05, grid=64,
                  num_samples=200, random_state=0)
    np.testing.assert_allclose(inverse_flow(r.control, flow(r.control, U)), U, atol=1e-10, rtol=0)
    X = r.sample(2000, random_state=1)
    np.testing.assert_allclose(flow(r.control, inverse_flow(r.control, X)), X, atol=1e-10, rtol=0)
    # default floor 1e-3: slopes spread over ~4 decades, rounding of |x| ~ 50 is amplified by
    # their ratio, still far below any density or sampling error
    r = transport(UNIT, rho, box=[[-3, -3], [3, 3]], num_cells=(8, 8), grid=64, num_samples=200,
                  random_state=0)
    np.testing.assert_allclose(inverse_flow(r.control, flow(r.control, U)), U, atol=1e-8, rtol=0)
    X = r.sample(2000, random_state=1)
    np.testing.assert_allclose(flow(r.control, inverse_flow(r.control, X)), X, atol=1e-8, rtol=0)


def test_errors_decrease_with_switches_gaussian_mixture():
    rho = gaussian_mixture_density([[-1, -1], [1.2, 0.8], [-0.5, 1.5]], [0.5, 0.4, 0.3], [0.4, 0.35, 0.25])
    box = [[-3, -3], [3, 3]]
    res = [transport(UNIT, rho, box=box, num_switches=L, grid=96, num_samples=600, random_state=0)
           for L in (36, 108, 348)]
    l1 = [r.errors.l1 for r in res]
    kl = [r.errors.kl for r in res]
    w1 = [r.errors.w1 for r in res]
    assert l1[0] > l1[1] > l1[2]
    assert kl[0] > kl[1] > kl[2]
    assert w1[0] > w1[2]
    for r, L in zip(res, (36, 108, 348), strict=True):
        assert r.num_switches <= L
        assert r.errors.l1 <= r.bound + 5e-3  # the construction's bound, up to quadrature
    slope = np.polyfit(np.log([r.num_switches for r in res]), np.log(l1), 1)[0]
    assert -0.8 < slope < -0.35  # O(h) = O(L^{-1/2}) for a Lipschitz target


def test_tol_mode_and_transport_errors_agree():
    t = np.linspace(0, 2 * np.pi, 2001)
    s = 1 + np.sin(t) ** 2
    rho = curve_density(np.column_stack([np.cos(t) / s, np.sin(t) * np.cos(t) / s]), 0.1)
    box = [[-1.3, -0.8], [1.3, 0.8]]
    r = transport(UNIT, rho, box=box, tol=0.6, grid=64, num_samples=300, random_state=0)
    assert r.status == "ok" and r.errors.l1 <= 0.6 and r.tol == 0.6
    coarse = transport(UNIT, rho, box=box, num_cells=(r.num_cells[0] - 1, r.num_cells[1] - 1), grid=64,
                       num_samples=300, random_state=0)
    assert coarse.errors.l1 > 0.6 or r.num_cells[0] > 2  # the smallest grid meeting tol (or the first)
    e = transport_errors(r.control, UNIT, rho, box=box, grid=64 * 4, num_samples=300, random_state=0)
    assert abs(e.l1 - r.errors.l1) < 0.05
    assert np.isfinite(e.kl)
    unmet = transport(UNIT, rho, box=box, tol=1e-6, max_cells=3, grid=32, num_samples=100, random_state=0)
    assert unmet.status == "tolerance_not_met" and unmet.num_cells == (3, 3)


def test_inverse_control_inverts_any_width():
    rng = np.random.default_rng(5)
    c = _random_control(rng, K=7)
    X = rng.normal(size=(300, 2))
    np.testing.assert_allclose(flow(inverse_control(c), flow(c, X)), X, atol=1e-10)
    assert inverse_control(c).num_switches == c.num_switches
    wide = Control((Piece(0.4, rng.normal(size=(2, 3)), rng.normal(size=(3, 2)), rng.normal(size=3)),))
    np.testing.assert_allclose(flow(inverse_control(wide), flow(wide, X[:6])), X[:6], atol=1e-9)


def test_non_uniform_source_piecewise_constant_is_exact():
    rng = np.random.default_rng(4)
    H0, H1 = rng.uniform(0.1, 1.0, (3, 4)), rng.uniform(0.1, 1.0, (3, 4))
    r = transport(H0, H1, box=[[-1, -1], [1, 2]], source_box=[[0, 0], [1, 1]], num_cells=(3, 4),
                  floor=0.0, grid=48, num_samples=200, random_state=0)
    assert r.errors.l1 < 1e-4 and r.num_switches + 1 <= 2 * num_pieces(3, 4) - 1
    assert abs(r.control.T - 1.0) < 1e-12
    S = r.sample(20000, random_state=3)
    counts, _, _ = np.histogram2d(S[:, 0], S[:, 1], bins=[3, 4], range=[[-1, 1], [-1, 2]])
    p = H1 / H1.sum()
    assert np.all(np.abs(counts / 20000 - p) < 5 * np.sqrt(p / 20000) + 1e-3)


def test_non_uniform_source_errors_decrease():
    rho0 = gaussian_mixture_density([[0.3, 0.4], [0.7, 0.7]], [0.15, 0.1])
    rho1 = gaussian_mixture_density([[-1, -1], [1.2, 0.8]], [0.5, 0.4])
    res = [transport(rho0, rho1, box=[[-3, -3], [3, 3]], source_box=UNIT, num_switches=L, grid=64,
                     num_samples=300, random_state=0) for L in (60, 200)]
    assert res[0].errors.l1 > res[1].errors.l1 and res[0].errors.kl > res[1].errors.kl
    assert all(r.num_switches <= L for r, L in zip(res, (60, 200), strict=True))
    with pytest.raises(ParameterError, match="num_switches must be >= 24"):
        transport(rho0, rho1, box=[[-3, -3], [3, 3]], source_box=UNIT, num_switches=20)


def test_cells_for_switches():
    assert num_pieces(2, 2) == 13
    assert cells_for_switches(12) == 2
    assert cells_for_switches(num_pieces(8, 8) - 1) == 8
    assert cells_for_switches(num_pieces(8, 8) - 2) == 7


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------
def test_bad_inputs():
    rho = gaussian_mixture_density([[0, 0]], [1.0])
    box = [[-1, -1], [1, 1]]
    with pytest.raises(ParameterError, match="exactly one of num_switches, num_cells or tol"):
        transport(UNIT, rho, box=box)
    with pytest.raises(ParameterError, match="exactly one"):
        transport(UNIT, rho, box=box, tol=0.1, num_switches=40)
    with pytest.raises(ParameterError, match="rho0 must be a finite"):
        transport([[0, 0], [0, 1]], rho, box=box, tol=0.1)
    with pytest.raises(ParameterError, match="box must be"):
        transport(UNIT, rho, box=[[0, 0, 0], [1, 1, 1]], tol=0.1)
    with pytest.raises(ParameterError, match="num_switches must be >= 12"):
        transport(UNIT, rho, box=box, num_switches=5)
    with pytest.raises(ParameterError, match="floor must be in"):
        transport(UNIT, rho, box=box, num_cells=(2, 2), floor=1.5)
    with pytest.raises(ParameterError, match="empty cells and floor = 0"):
        transport(UNIT, [[1.0, 0.0], [1.0, 1.0]], box=box, num_cells=(2, 2), floor=0.0)
    with pytest.raises(ParameterError, match="non-negative cell weights"):
        transport(UNIT, [[1.0, -1.0]], box=box, num_cells=(2, 2))
    with pytest.raises(ParameterError, match="rho1\\(X\\) must return"):
        transport(UNIT, lambda X: np.ones(3), box=box, num_cells=(2, 2))
    with pytest.raises(ParameterError, match="num_cells must be a pair"):
        transport(UNIT, rho, box=box, num_cells=(0, 2))
    general = Piece(1.0, np.ones((2, 2)), np.eye(2), np.zeros(2))
    with pytest.raises(ControlError, match="no closed form"):
        pushforward_logdensity(general, uniform_box_logdensity(UNIT), np.zeros((1, 2)))
    single = Piece(1.0, [1.0, 0.0], [1.0, 0.0], [0.0])
    with pytest.raises(ControlError, match="log_rho0 must return shape"):
        pushforward_logdensity(single, lambda X: np.zeros(1), np.zeros((3, 2)))
    with pytest.raises(ControlError, match="control must be a Control or a Piece"):
        inverse_flow("nope", np.zeros((1, 2)))
    with pytest.raises(ParameterError, match="box must be a finite"):
        uniform_box_logdensity([[1, 1], [0, 0]])


def test_reproduce_thm35_quick(tmp_path):
    from controlml.reproduce import reproduce

    rep = reproduce(["thm3.5"], quick=True, out=tmp_path, progress=False)
    assert all(r.status == "passed" for r in rep.results), [(r.name, r.status, r.error) for r in rep.results]
    assert len(rep.results[0].figures) == 2
    assert len(rep.results[0].checks) >= 12

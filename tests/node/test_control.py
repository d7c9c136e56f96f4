"""Piece / Control: the public contract (names, counts, norms, validation)."""

import numpy as np
import pytest

from controlml import ControlError
from controlml.node import Control, Piece, flow


def _random_control(rng, L=3, d=2, P=2):
    return Control(tuple(Piece(rng.uniform(0.1, 1.0), rng.standard_normal((d, P)),
                               rng.standard_normal((P, d)), rng.standard_normal(P))
                         for _ in range(L + 1)))


def test_attributes(rng):
    c = _random_control(rng, L=3, d=4, P=5)
    assert (c.dim, c.width, c.num_switches, len(c.pieces)) == (4, 5, 3, 4)
    assert c.num_parameters == 4 * (2 * 4 + 1) * 5
    assert c.T == pytest.approx(sum(p.duration for p in c.pieces))
    assert np.allclose(c.switch_times, np.cumsum([p.duration for p in c.pieces])[:-1])


def test_bv_seminorm_is_sum_of_jumps(rng):
    c = _random_control(rng, L=2)
    th = [np.concatenate([p.W.ravel(), p.A.ravel(), p.b]) for p in c.pieces]
    expected = np.linalg.norm(th[1] - th[0]) + np.linalg.norm(th[2] - th[1])
    assert c.bv_seminorm() == pytest.approx(expected, rel=1e-14)
    l1 = sum(p.duration * np.linalg.norm(t) for p, t in zip(c.pieces, th, strict=True))
    assert c.bv_norm() == pytest.approx(l1 + expected, rel=1e-14)
    const = Control((c.pieces[0], Piece(0.3, c.pieces[0].W, c.pieces[0].A, c.pieces[0].b)))
    assert const.bv_seminorm() == 0.0


def test_arrays_roundtrip_and_concatenation(rng):
    c = _random_control(rng)
    c2 = Control.from_arrays(*c.to_arrays())
    X = rng.standard_normal((7, 2))
    assert np.array_equal(flow(c, X), flow(c2, X))
    both = c.then(c2)
    assert both.num_switches == 2 * c.num_switches + 1
    assert np.allclose(flow(both, X), flow(c2, flow(c, X)), atol=1e-12)


def test_rescaled_has_same_flow_map(rng):
    c = _random_control(rng, P=1)
    X = rng.standard_normal((9, 2))
    r = c.rescaled(7.5)
    assert r.T == pytest.approx(7.5)
    assert np.allclose(flow(r, X), flow(c, X), atol=1e-12)


def test_pieces_are_immutable(rng):
    p = Piece(1.0, np.ones((2, 1)), np.ones((1, 2)), [0.0])
    with pytest.raises(ValueError):
        p.W[0, 0] = 3.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(duration=0.0), "duration"),
    (dict(duration=-1.0), "duration"),
    (dict(W=np.ones((2, 2))), r"A must have shape \(2, 2\)"),
    (dict(b=[0.0, 1.0]), r"b must have shape \(1,\)"),
    (dict(W=[[np.nan], [0.0]]), "NaN"),
])
def test_piece_validation(kwargs, match):
    base = dict(duration=1.0, W=np.ones((2, 1)), A=np.ones((1, 2)), b=[0.0])
    base.update(kwargs)
    with pytest.raises(ControlError, match=match):
        Piece(**base)


def test_control_validation():
    p2 = Piece(1.0, np.ones((2, 1)), np.ones((1, 2)), [0.0])
    p3 = Piece(1.0, np.ones((3, 1)), np.ones((1, 3)), [0.0])
    with pytest.raises(ControlError, match="at least one piece"):
        Control(())
    with pytest.raises(ControlError, match="share"):
        Control((p2, p3))
    with pytest.raises(ControlError, match="must be a Piece"):
        Control((p2, "x"))

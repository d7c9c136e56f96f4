"""The ResNet (3.1) is the Euler scheme of the NODE (3.3): first-order convergence."""

import numpy as np
import pytest

from controlml import ParameterError
from controlml.node import Control, Piece, flow, to_resnet


def test_resnet_converges_at_first_order():
    rng = np.random.default_rng(3)
    c = Control(tuple(Piece(0.5, rng.standard_normal((2, 3)), rng.standard_normal((3, 2)),
                            rng.standard_normal(3)) for _ in range(2)))
    X = rng.standard_normal((30, 2))
    exact = flow(c, X)
    layers = np.array([16, 32, 64, 128, 256, 512])
    gaps = [np.abs(to_resnet(c, int(n))(X) - exact).max() for n in layers]
    slope = np.polyfit(np.log(layers), np.log(gaps), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.15)
    assert to_resnet(c, 64).depth == 64


def test_layers_follow_durations():
    p1 = Piece(0.1, np.ones((2, 1)), np.ones((1, 2)), [0.0])
    p2 = Piece(0.9, np.ones((2, 1)), -np.ones((1, 2)), [0.0])
    net = to_resnet(Control((p1, p2)), 10)
    assert net.depth == 10
    assert np.allclose(net.A[0], p1.A) and np.allclose(net.A[1:], p2.A)  # 1 + 9 layers
    assert np.allclose(net.W.sum(axis=0), 0.1 * p1.W + 0.9 * p2.W)
    with pytest.raises(ParameterError, match="num_layers"):
        to_resnet(Control((p1, p2)), 1)

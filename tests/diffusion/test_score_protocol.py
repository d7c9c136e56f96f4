"""sample() needs only the public ScoreFunction protocol of a score (no private hooks)."""

import math

import numpy as np
import pytest
import torch

from controlml.diffusion import HeatKernelScore, NeuralScore, ScoreFunction, sample
from controlml.errors import ParameterError


class GaussianScore:
    """The exact score of u(., t) = N(0, (1 + 2t) I): s(x, t) = -x / (1 + 2t)."""

    d = 2
    dtype = torch.float64
    device = torch.device("cpu")

    def score_tensor(self, x, t):
        return -x / (1.0 + 2.0 * t)


def test_a_score_with_only_the_public_protocol_can_be_sampled():
    s = GaussianScore()
    assert isinstance(s, ScoreFunction)
    x0 = np.random.default_rng(0).standard_normal((200, 2)) * math.sqrt(3.0)  # u(., 1)
    r = sample(s, 200, x0=x0, t_max=1.0, t_min=0.5, nu=0.0, method="rk4", steps=20)
    # the probability-flow ODE of a Gaussian is linear: x(t) = x(1) sqrt((1 + 2t) / 3)
    np.testing.assert_allclose(r.X, x0 * math.sqrt(2.0 / 3.0), rtol=1e-9)
    assert r.nfe == 80


def test_the_library_scores_implement_the_protocol():
    assert isinstance(HeatKernelScore(np.zeros((1, 2))), ScoreFunction)
    assert callable(NeuralScore.score_tensor)


def test_an_object_without_score_tensor_is_refused():
    with pytest.raises(ParameterError, match="score_tensor"):
        sample(object(), 3)

"""One input rule for every public function outside node/ and shallow/ (issue 11, Sec. 1).

Empty data, complex arrays and non-numeric values of numeric parameters are refused with a
``controlml.errors`` exception before any work, never a bare IndexError, a ComplexWarning
with the imaginary part dropped, or a numeric string silently accepted for a float.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from controlml import datasets, metrics
from controlml.attention import (
    attention_step_torch,
    attention_weights,
    equilibrium,
    face_projection,
    hardmax_dynamics,
    hardmax_step,
    interpolate_sequences,
    leader_mask_torch,
    leaders,
    readout,
    softmax_dynamics,
    softmax_step,
)
from controlml.attention.sentiment import (
    SentimentAttentionModel,
    bag_of_words_baseline,
    evaluate_sentiment,
    masked_attention_step,
)
from controlml.diffusion import (
    HeatKernelScore,
    concentration,
    li_yau_check,
    nearest_distance,
    sample,
    sample_statistics,
    time_grid,
    train_score_model,
)
from controlml.errors import ControlMLError, DatasetError, ParameterError

I2 = np.eye(2)
Z = np.array([[1.0, 0.5], [0.2, -1.0], [-0.4, 0.3]])
E02 = np.zeros((0, 2))
X = np.random.default_rng(0).normal(size=(20, 2))


def _hk():
    return HeatKernelScore(X)


EMPTY = {
    "hardmax_dynamics": lambda: hardmax_dynamics(E02, I2, 0.5, 3),
    "softmax_dynamics": lambda: softmax_dynamics(E02, I2, 0.5, 0.1, 3),
    "hardmax_step": lambda: hardmax_step(E02, I2, 0.5),
    "softmax_step": lambda: softmax_step(E02, I2, 0.5, 0.1),
    "attention_weights": lambda: attention_weights(E02, I2),
    "leaders": lambda: leaders(E02, I2),
    "equilibrium": lambda: equilibrium(E02, I2, 0.5),
    "face_projection": lambda: face_projection(E02, I2),
    "interpolate_sequences": lambda: interpolate_sequences([], []),
    "readout": lambda: readout(E02),
    "attention_step_torch": lambda: attention_step_torch(torch.zeros(1, 0, 2), I2, 0.5, 0.0),
    "leader_mask_torch": lambda: leader_mask_torch(torch.zeros(1, 0, 2), I2),
    "HeatKernelScore": lambda: HeatKernelScore(E02),
    "HeatKernelScore.score": lambda: _hk().score(E02, 0.1),
    "sample": lambda: sample(_hk(), 0),
    "nearest_distance": lambda: nearest_distance(E02, X),
    "sample_statistics": lambda: sample_statistics(E02, X),
    "train_score_model": lambda: train_score_model(E02, steps=1),
    "wasserstein1": lambda: metrics.wasserstein1(E02, X),
    "kl_divergence": lambda: metrics.kl_divergence([], []),
    "l1_distance": lambda: metrics.l1_distance([], []),
    "uniform_cube": lambda: datasets.uniform_cube(0, 2),
    "lemniscate": lambda: datasets.lemniscate(0),
    "bag_of_words_baseline": lambda: bag_of_words_baseline([], [], [], []),
    "evaluate_sentiment": lambda: evaluate_sentiment(SentimentAttentionModel(5, 2, random_state=0),
                                                     np.zeros((0, 3), dtype=int), None, []),
}

COMPLEX = {
    "hardmax_dynamics": lambda: hardmax_dynamics(Z + 1j, I2, 0.5, 3),
    "hardmax_dynamics A": lambda: hardmax_dynamics(Z, I2 * (1 + 1j), 0.5, 3),
    "equilibrium": lambda: equilibrium(Z * (1 + 0.5j), I2, 0.5),
    "leaders": lambda: leaders(Z.astype(complex), I2),
    "interpolate_sequences": lambda: interpolate_sequences([Z + 1j], [Z[:1]]),
    "face_projection": lambda: face_projection(Z + 0j * 1j + 1j, I2),
    "HeatKernelScore": lambda: HeatKernelScore(X + 1j),
    "HeatKernelScore.score": lambda: _hk().score(X[:2] + 1j, 0.1),
    "nearest_distance": lambda: nearest_distance(X + 1j, X),
    "wasserstein1": lambda: metrics.wasserstein1(X + 1j, X),
    "kl_divergence": lambda: metrics.kl_divergence(np.ones(3) + 1j, np.ones(3)),
    "alpha complex": lambda: hardmax_dynamics(Z, I2, 0.5 + 1j, 3),
    "alpha numpy complex": lambda: hardmax_dynamics(Z, I2, np.complex128(0.5), 3),
    "t complex": lambda: _hk().score(X[:2], np.complex128(0.1)),
}

STRINGS = {
    "alpha": lambda: hardmax_dynamics(Z, I2, "0.5", 3),
    "tau": lambda: softmax_dynamics(Z, I2, 0.5, "0.1", 3),
    "tie_rtol": lambda: leaders(Z, I2, tie_rtol="1e-12"),
    "num_layers": lambda: hardmax_dynamics(Z, I2, 0.5, "3"),
    "Z strings": lambda: hardmax_dynamics(Z.astype(str), I2, 0.5, 3),
    "t": lambda: _hk().score(X[:2], "0.1"),
    "t_max": lambda: sample(_hk(), 5, t_max="1.0"),
    "steps": lambda: sample(_hk(), 5, steps="10"),
    "time_grid": lambda: time_grid("1.0", 0.01, 10),
    "li_yau t": lambda: li_yau_check(_hk(), t="0.1"),
    "concentration tau": lambda: concentration(_hk(), tau=("1e-3",)),
    "lemniscate a": lambda: datasets.lemniscate(10, a="1.0"),
    "interpolation_data scale": lambda: datasets.interpolation_data(5, 2, scale="2"),
    "atol": lambda: interpolate_sequences([Z], [Z[:1]], atol="1e-8"),
    "masked_attention_step tau": lambda: masked_attention_step(
        torch.ones(1, 2, 2, dtype=torch.float64), torch.ones(1, 2, dtype=torch.bool), 0.5, "0.1"),
    "kl cell_volume": lambda: metrics.kl_divergence(np.ones(3), np.ones(3), cell_volume="1"),
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_data_is_refused(name):
    with pytest.raises(ControlMLError) as info:
        EMPTY[name]()
    assert isinstance(info.value, DatasetError | ParameterError)


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex_input_is_refused(name):
    with pytest.raises(ControlMLError, match="real|complex"):
        COMPLEX[name]()


@pytest.mark.parametrize("name", sorted(STRINGS))
def test_strings_are_refused_for_numeric_parameters(name):
    with pytest.raises(ControlMLError):
        STRINGS[name]()

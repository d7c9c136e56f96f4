"""Sec. 5: generative diffusion through the heat equation.

The exact score of the heat flow of an empirical measure
(:class:`HeatKernelScore`), the backward (generative) dynamics with any
diffusivity :math:`\\nu(t) \\ge 0` (:func:`sample`), checks of the theory
(:func:`li_yau_check`, :func:`energy_estimate`, :func:`concentration`), a neural
surrogate score trained by denoising score matching (:func:`train_score_model`)
and memorisation statistics (:func:`sample_statistics`).
"""

from ._sampler import DiffusionSample, ScoreFunction, sample, time_grid
from ._score import HeatKernelScore
from ._stats import SampleStatistics, sample_statistics
from ._surrogate import NeuralScore, ScoreMLP, train_score_model
from ._theory import (
    Concentration,
    EnergyEstimate,
    LiYauCheck,
    concentration,
    energy_estimate,
    li_yau_check,
    nearest_distance,
)

__all__ = [
    "HeatKernelScore",
    "DiffusionSample",
    "ScoreFunction",
    "sample",
    "time_grid",
    "LiYauCheck",
    "li_yau_check",
    "EnergyEstimate",
    "energy_estimate",
    "Concentration",
    "concentration",
    "nearest_distance",
    "ScoreMLP",
    "NeuralScore",
    "train_score_model",
    "SampleStatistics",
    "sample_statistics",
]

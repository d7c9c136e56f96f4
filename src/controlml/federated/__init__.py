"""Sec. 5, federated learning: FedADMM-InSa, baselines, the participation game, an attack.

- :func:`simulate`: an in-process federated simulator (clients of a round as one batched
  model) for FedADMM-InSa (inexact local solves, self-adaptive penalties), FedADMM,
  FedAvg and FedProx on ``load_digits`` or the user's ``(X, y)``;
- the client/server steps as plain functions over parameter vectors
  (:func:`client_update`, :func:`admm_aggregate`, :func:`fedavg_aggregate`, ...);
- :class:`FLGame`: the potential game of client participation, its Nash equilibria and
  critical reward factors λ₁ < λ* < λ₂;
- :func:`reconstruct`: a gradient-matching data-reconstruction attack on a client update;
- :mod:`controlml.federated.flower`: the same algorithms as a Flower Strategy/ClientApp
  (needs the ``fl`` extra; the rest of the package never imports Flower).
"""

from ._algorithms import (
    ClientData,
    ClientUpdate,
    FedADMM,
    FedADMMInSa,
    FedAvg,
    FedProx,
    adapt_penalty,
    admm_aggregate,
    admm_residual,
    client_update,
    dual_update,
    fedavg_aggregate,
    finite_updates,
    inexactness_sigma,
)
from ._attack import Reconstruction, infer_labels, psnr, reconstruct
from ._data import FederatedData, federated_data, partition_indices
from ._game import CriticalRewards, FLGame, NashResult, game_efforts_to_epochs
from ._models import FLModel
from ._simulate import FederatedHistory, client_rng, evaluate, select_clients, setup, simulate

__all__ = [
    "simulate", "FederatedHistory", "setup", "evaluate", "client_rng", "select_clients",
    "FedADMMInSa", "FedADMM", "FedAvg", "FedProx", "ClientData", "ClientUpdate",
    "client_update", "inexactness_sigma", "admm_residual", "dual_update", "adapt_penalty",
    "admm_aggregate", "fedavg_aggregate", "finite_updates",
    "FederatedData", "federated_data", "partition_indices", "FLModel",
    "FLGame", "NashResult", "CriticalRewards", "game_efforts_to_epochs",
    "reconstruct", "Reconstruction", "psnr", "infer_labels",
]

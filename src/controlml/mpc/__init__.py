"""Sec. 5 (MPC item): LQR, turnpike, MPC, randomized splitting (RBM), RBM-MPC, guidance."""

from ._batches import RBM, BatchRule, mean_operator
from ._examples import heat1d, heat3d, heat_ring, link_laplacian
from ._guidance import GuidanceModel, GuidanceResult
from ._mpc import MPCResult, mpc
from ._ocp import OCPResult, cost_gradient, solve_ocp, steady_state
from ._problem import Dynamics, LQProblem
from ._riccati import LQRResult, lqr, uncontrollable_modes
from ._splitting import SplittingResult, SplittingStudy, randomized_splitting, splitting_study
from ._turnpike import TurnpikeResult, fit_turnpike, turnpike

__all__ = [
    "LQProblem",
    "Dynamics",
    "LQRResult",
    "lqr",
    "uncontrollable_modes",
    "OCPResult",
    "solve_ocp",
    "cost_gradient",
    "steady_state",
    "RBM",
    "BatchRule",
    "mean_operator",
    "MPCResult",
    "mpc",
    "SplittingResult",
    "randomized_splitting",
    "SplittingStudy",
    "splitting_study",
    "TurnpikeResult",
    "turnpike",
    "fit_turnpike",
    "heat1d",
    "heat_ring",
    "heat3d",
    "link_laplacian",
    "GuidanceModel",
    "GuidanceResult",
]

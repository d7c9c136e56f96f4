"""Sec. 5: hybrid cooperative learning (HYCO).

A physical model :math:`u_\\varphi` (a differentiable PDE solver with a few unknown
parameters, :class:`Helmholtz2D`, :class:`Heat2D` or any :class:`PhysicalModel`) and a
synthetic model :math:`u_\\theta` (a network, :class:`Synthetic`) are trained as a
two-player game (:func:`hyco_fit`), against the physical model fitted alone
(:func:`physics_fit`) and a physics-informed network (:func:`pinn_fit`).
"""

from ._cases import heat_problem, helmholtz_problem
from ._fit import FitResult, game_costs, hyco_fit, physics_fit, pinn_fit
from ._heat import HEAT_INIT, HEAT_TRUTH, Heat2D, sensor_paths
from ._helmholtz import HELMHOLTZ_TRUTH, Helmholtz2D
from ._physical import PhysicalModel, grid_interpolate
from ._sparse import SparsePattern, implicit_steps, sparse_solve
from ._synthetic import Synthetic

__all__ = [
    "PhysicalModel",
    "Helmholtz2D",
    "HELMHOLTZ_TRUTH",
    "Heat2D",
    "HEAT_TRUTH",
    "HEAT_INIT",
    "sensor_paths",
    "Synthetic",
    "helmholtz_problem",
    "heat_problem",
    "FitResult",
    "hyco_fit",
    "physics_fit",
    "pinn_fit",
    "game_costs",
    "SparsePattern",
    "sparse_solve",
    "implicit_steps",
    "grid_interpolate",
]

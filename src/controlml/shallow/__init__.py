"""Sec. 2: sparse shallow networks by convex relaxation, no-gap and generalization.

Public names
------------
ShallowNetwork            the network (2.1) / atomic measure (2.5)
fit_sparse, SparseFit     (PR0)/(PRε) over the continuum of neurons, with a dual certificate
FitTrace                  per-round value, bound, sup|η| and time of a fit
exact_representation      constructive exact representation (2.3), P >= N
caratheodory_reduce       support reduction to <= N atoms keeping Φw, never increasing ||w||_1
SparseShallowRegressor    scikit-learn estimator
generalization_bound      the terms of Thm 2.2, (2.11)-(2.13)
value_function            v(ε) = val(PRε) on a grid
optimal_epsilon           ε* = argmin U(ε) (bisection on the dual norm)
validation_epsilon        data-driven ε on held-out data (W1)
train_l1                  the (P0) baseline: width-P gradient training + sparsification
"""

from ._exact import exact_representation
from ._generalization import (
    EpsilonChoice,
    GeneralizationBound,
    ValidationChoice,
    ValueFunction,
    generalization_bound,
    optimal_epsilon,
    validation_epsilon,
    value_function,
)
from ._lp import caratheodory_reduce
from ._network import ShallowNetwork
from ._sklearn import SparseShallowRegressor
from ._solver import FitTrace, SparseFit, fit_sparse
from ._train import L1Training, train_l1

__all__ = [
    "ShallowNetwork", "SparseFit", "FitTrace", "fit_sparse", "exact_representation", "caratheodory_reduce",
    "SparseShallowRegressor", "GeneralizationBound", "generalization_bound", "ValueFunction",
    "value_function", "EpsilonChoice", "optimal_epsilon", "ValidationChoice",
    "validation_epsilon", "L1Training", "train_l1",
]

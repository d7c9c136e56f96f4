"""Training neural ODEs with torch (paper Sec. 3.3).

:class:`TorchNODE`, :func:`phi_expm1`, :func:`torch_bv_norm`: the differentiable module
(``_torch``); :func:`fit`, :func:`training_objective`, :func:`save_checkpoint`,
:func:`load_checkpoint`: BV-regularised training J_alpha of (3.13) (``_training``);
:func:`apriori_bound_study`: the a-priori bound (3.11)-(3.15) (``_training_bound``);
:func:`fit_turnpike`: the turnpike experiment (``_turnpike``).

Importing this subpackage imports torch; :mod:`controlml.node` loads it on first use.
"""

from ._torch import TorchNODE, phi_expm1, torch_bv_norm
from ._training import TrainingResult, fit, load_checkpoint, save_checkpoint, training_objective
from ._training_bound import AprioriBoundStudy, BoundRun, apriori_bound_study
from ._turnpike import TurnpikeResult, fit_turnpike

__all__ = [
    "TorchNODE", "phi_expm1", "torch_bv_norm",
    "TrainingResult", "fit", "load_checkpoint", "save_checkpoint", "training_objective",
    "AprioriBoundStudy", "BoundRun", "apriori_bound_study",
    "TurnpikeResult", "fit_turnpike",
]

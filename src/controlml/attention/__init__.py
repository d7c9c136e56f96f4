"""Sec. 4: self-attention as a clustering mechanism.

- hardmax (4.1) / softmax (4.2) self-attention dynamics, batched, float64 NumPy
  (:func:`hardmax_step`, :func:`hardmax_dynamics`, :func:`softmax_step`,
  :func:`softmax_dynamics`, :func:`attention_weights`) and one differentiable torch layer
  (:func:`attention_step_torch`, :func:`leader_mask_torch`; one tie/leader rule for both);
- leaders and the clustered equilibrium of Thm 4.1 (:func:`leaders`, :func:`equilibrium`,
  :func:`face_projection`);
- exact sequence interpolation with transformers (Sec. 4.2).

The sentiment model lives in :mod:`controlml.attention.sentiment`.
"""

from ._dynamics import (
    DEFAULT_TIE_RTOL,
    AttentionDynamics,
    attention_weights,
    hardmax_dynamics,
    hardmax_step,
    leaders,
    softmax_dynamics,
    softmax_step,
)
from ._equilibrium import Equilibrium, equilibrium, face_projection
from ._interpolation import SequenceInterpolation, interpolate_sequences
from ._torch import attention_step_torch, attention_weights_torch, leader_mask_torch
from ._transformer import FeedForward, SelfAttention, Transformer, readout

__all__ = [
    "DEFAULT_TIE_RTOL",
    "AttentionDynamics",
    "Equilibrium",
    "FeedForward",
    "SelfAttention",
    "SequenceInterpolation",
    "Transformer",
    "attention_step_torch",
    "attention_weights",
    "attention_weights_torch",
    "equilibrium",
    "face_projection",
    "hardmax_dynamics",
    "hardmax_step",
    "interpolate_sequences",
    "leader_mask_torch",
    "leaders",
    "readout",
    "softmax_dynamics",
    "softmax_step",
]

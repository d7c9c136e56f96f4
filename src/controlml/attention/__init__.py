"""Sec. 4: self-attention as a clustering mechanism (hardmax/softmax dynamics, leaders,
clustered equilibria of Thm 4.1, exact sequence interpolation of Sec. 4.2).

The sentiment model lives in :mod:`controlml.attention.sentiment`.
"""

from ._torch import attention_step_torch, attention_weights_torch

__all__ = [
    "attention_step_torch",
    "attention_weights_torch",
]

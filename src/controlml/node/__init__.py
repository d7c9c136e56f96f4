"""Neural ODEs and ResNets as simultaneous control (paper Sec. 3).

- :class:`Piece`, :class:`Control`: piecewise-constant controls of (3.3).
- :func:`flow`: the exact flow map (closed forms and event-driven matrix
  exponentials for ReLU; DOP853 for smooth activations).
- :func:`interpolate`: explicit interpolating controls (Thm 3.1, Thm 3.3).
- :func:`to_resnet`, :class:`ResNet`: the ResNet (3.1) as the Euler scheme of a control.
"""

from ._activations import ACTIVATIONS
from ._control import Control, Piece
from ._flow import Trajectory, flow, piece_kind
from ._interpolate import InterpolationResult, interpolate, paper_bounds
from ._resnet import ResNet, to_resnet

# Sec. 3.2 classification / approximation / autonomous fields: exports go below this line
# Sec. 3.3 training and turnpike: exports go below this line
# Sec. 3.4 transport of measures: exports go below this line

__all__ = [
    "ACTIVATIONS", "Control", "Piece", "Trajectory", "flow", "piece_kind",
    "InterpolationResult", "interpolate", "paper_bounds", "ResNet", "to_resnet",
]

"""Controls, exact flows and ResNets (paper Sec. 3.1).

:class:`Piece`, :class:`Control`: piecewise-constant controls of (3.3) (``_control``);
:func:`flow`, :func:`piece_kind`, :class:`Trajectory`: the exact flow map (``_flow``:
closed forms and event-driven matrix exponentials for ReLU, DOP853 for smooth
activations), with the shears of ``_shear``; :func:`to_resnet`, :class:`ResNet`: the
ResNet (3.1) as the Euler scheme of a control (``_resnet``); :data:`ACTIVATIONS`
(``_activations``); :func:`cellwise_flow`: a slow, independent DOP853 reference for the
ReLU flow, cell by cell (``_reference``), for tests and benchmarks.
"""

from ._activations import ACTIVATIONS
from ._control import Control, Piece
from ._flow import Trajectory, flow, piece_kind
from ._reference import cellwise_flow
from ._resnet import ResNet, to_resnet

__all__ = ["ACTIVATIONS", "Control", "Piece", "Trajectory", "cellwise_flow", "flow", "piece_kind",
           "ResNet", "to_resnet"]

"""Multi-class classification with one width-1 control (ordered bands of the last coordinate).

With M classes labelled, after sorting, :math:`0, \\dots, M-1`, the control places

.. math:: t_{c_i} < \\Phi_T(x_i)^{(d)} < t_{c_i + 1}, \\qquad
          t_0 = -\\infty < t_1 = 1 < t_2 < \\dots < t_{M-1} < t_M = +\\infty,

with the levels :math:`t_k` returned in the result; for M = 2 this is the binary
convention of :func:`~controlml.node.classify` (threshold 1).

Scheme (successive rigid lifts)
-------------------------------
For k = 1, ..., M - 1, the tents of the cluster method of
:func:`~controlml.node.classify` (lift plan, threshold :math:`t_k`) carry the points of
classes >= k that lie below :math:`t_k` above it, rigidly, cluster by cluster, and
never move the points of classes < k (at k = 1 one compression piece first brings
everything below 1 when class 0 is not already there).  The next level is
:math:`t_{k+1} = \\max_{c_i = k}\\Phi(x_i)^{(d)} + 1`: every class <= k lies below it and
is left in place by the later lifts, so class k stays in :math:`(t_k, t_{k+1})`.
Only tents are used here (not the one-piece ramps): a tent lifts its slab by
at most :math:`\\tau\\beta\\varepsilon`, which keeps the levels of moderate size (ramps lift
by amounts proportional to the distance to their hyperplane and make later
steps ill-conditioned).  Each tent lifts its movers to or above a random height
in :math:`[t_k + 1, t_k + 1.5]` (normalised units; one of them lands on it): with one
common target, movers
lifted by different tents ended at equal heights, so at the next level the
hyperplane through them was horizontal, which is what made the old
construction fall back to single movers (seed 293, N = 6, d = 2, M = 3: L = 11 > 8);
horizontal clusters are now also handled by the tilted tents of
:func:`~controlml.node.classify`.

Switch bound:
:math:`L \\le \\sum_{k=1}^{M-1} 3\\lceil n_{\\ge k}/d\\rceil - 1` (+1 with the compression),
:math:`n_{\\ge k}` the number of points of classes >= k.  Proved (as for the binary
method: a tent lifts every mover it touches above :math:`t_k`, so the remaining
movers keep their positions of the start of the lift) when, at the start of each
lift k, the current points are in general position (no d + 1 of them on an affine
hyperplane; at k = 1 these are the inputs; later ones are the lifted points, at
random target heights, and we do not prove their general position: we checked
it empirically, see the tests) and no slab fails the rounding floor of
:func:`~controlml.node.classify` (nearly degenerate data).  A run outside
these cases still classifies and reports ``within_bound = False``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._checks import as_points, check_distinct_rows, check_positive, check_random_state
from ...errors import DatasetError
from ..flows._control import Control, Piece
from ..flows._flow import flow
from ._classify import _Classified, _clusters_build, _frame, _to_user

__all__ = ["MulticlassResult", "classify_multiclass"]


@dataclass(frozen=True)
class MulticlassResult(_Classified):
    """Outcome of :func:`classify_multiclass`.

    Attributes
    ----------
    control : Control
        Width-1 control on [0, T].
    classes : array (M,)
        The sorted distinct labels; class c is ``classes[c]``.
    levels : array (M - 1,)
        :math:`t_1 = 1 < t_2 < \\dots < t_{M-1}`; class c ends in :math:`(t_c, t_{c+1})`.
    final : array (N, d)
        :math:`\\Phi_T(x_i)`, measured with :func:`flow`.
    margin : float
        Smallest distance of a final :math:`x_d` to the edges of its band (> 0 iff all correct).
    num_switches : int
        L.
    bound : int
        :math:`\\sum_k 3\\lceil n_{\\ge k}/d\\rceil - 1` (+1 with the compression).
    detail : dict
        Pieces per lift.
    status : str
        ``"classified"`` when margin > 0 (every point in its band), else ``"failed"``.
    within_bound : bool
        ``num_switches <= bound``, reported apart from ``status`` (a correct control
        over the bound stays ``"classified"``; see the module notes for when the
        bound is proved).
    """

    control: Control
    classes: np.ndarray
    levels: np.ndarray
    final: np.ndarray
    margin: float
    num_switches: int
    bound: int
    detail: dict = field(default_factory=dict)
    status: str = "classified"
    within_bound: bool = True


def classify_multiclass(X: Any, labels: Any, *, T: float = 1.0, random_state: Any = None) -> MulticlassResult:
    """One width-1 control placing class c in the band :math:`(t_c, t_{c+1})` of :math:`x_d`.

    .. math:: t_{c_i} < \\Phi_T(x_i)^{(d)} < t_{c_i+1}, \\qquad t_0 = -\\infty,\\ t_1 = 1,\\ t_M = +\\infty.

    Parameters
    ----------
    X : array (N, d)
        Inputs, pairwise distinct, d >= 2.
    labels : array (N,)
        Any sortable labels; their sorted order gives the order of the bands.
    T : float
        Time horizon (> 0).
    random_state : None, int or Generator
        Seeds the choice of clusters.

    Returns
    -------
    MulticlassResult
        ``control``, ``levels``, ``margin``, ``num_switches``, ``bound``, ``status``
        (``"classified"`` iff every point ends in its band) and ``within_bound``.

    Raises
    ------
    DatasetError
        d < 2, labels of the wrong length or with a single class, repeated inputs,
        NaN/inf.
    ParameterError
        T <= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from controlml.node import classify_multiclass
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(30, 3)); labels = np.arange(30) % 3
    >>> res = classify_multiclass(X, labels, random_state=0)
    >>> res.status, res.within_bound, len(res.levels)
    ('classified', True, 2)
    """
    X = as_points(X, "X")
    N, d = X.shape
    if d < 2:
        raise DatasetError("X has d = 1 column: 1-D flows preserve order (Sec. 3.1); embed the data in "
                           "d >= 2 dimensions")
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != N:
        raise DatasetError(f"labels must be a 1-D array of length N = {N}; got shape {lab.shape}")
    T = check_positive(T, "T")
    check_distinct_rows(X, "X", "the flow of a neural ODE is injective")
    rng = check_random_state(random_state)
    classes, c = np.unique(lab, return_inverse=True)
    c = c.ravel()
    M = classes.size
    if M < 2:
        raise DatasetError(f"labels hold a single class ({classes[0]!r}): a classification needs at "
                           "least two classes (use `interpolate` or `classify` to move one class)")
    Xc = X.copy()
    pieces: list[Piece] = []
    levels = [1.0]
    per_lift, bound_pieces = [], 0
    for k in range(1, M):
        S, o = _frame(Xc, False, levels[-1])
        Xn = (Xc - o) / S
        theta = (levels[-1] - o[-1]) / S[-1]
        labk = (c >= k).astype(np.int64)
        raw, info = _clusters_build(Xn, labk, theta, 1.0, np.random.default_rng(int(rng.integers(2**31))), False)
        bound_pieces += 3 * math.ceil(int(np.sum(c >= k)) / d) + int(info["compression"])
        new = _to_user([(w, a, b) for (_, w, a, b) in raw], S, o, 1.0)
        per_lift.append(len(new))
        if new:
            Xc = flow(Control(tuple(new)), Xc)
            pieces += new
        if k < M - 1:
            levels.append(float(Xc[c == k, -1].max()) + 1.0)
    if not pieces:
        pieces = [Piece._trusted(T, np.zeros((d, 1)), np.eye(1, d), np.zeros(1))]
    else:
        tau = T / len(pieces)
        pieces = [Piece._trusted(tau, p.W / tau, p.A, p.b) for p in pieces]
    control = Control(tuple(pieces))
    final = flow(control, X)
    xd = final[:, -1]
    tl = np.r_[-np.inf, levels, np.inf]
    margin = float(np.min(np.minimum(xd - tl[c], tl[c + 1] - xd)))
    L = control.num_switches
    bound = max(bound_pieces - 1, 0)
    status = "classified" if margin > 0 else "failed"
    return MulticlassResult(control, classes, np.array(levels), final, margin, L, bound,
                            {"pieces_per_lift": per_lift}, status, bool(L <= bound))

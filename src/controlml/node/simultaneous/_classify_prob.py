"""Probability that few switches suffice: the law of the number of runs.

If the labels are fixed (n0 points of class 0, n1 of class 1) and the inputs
are i.i.d. with independent continuous coordinates (e.g. uniform in
:math:`[0,1]^d`), sorting the points along a coordinate axis gives a uniformly
random colour sequence, independently for each axis.  The number r of runs of
equal colours has the classical law (Wald-Wolfowitz)

.. math::
    P(r = 2p) = \\frac{2\\binom{n_0-1}{p-1}\\binom{n_1-1}{p-1}}{\\binom{n}{n_1}}, \\qquad
    P(r = 2p+1) = \\frac{\\binom{n_0-1}{p}\\binom{n_1-1}{p-1}
                  + \\binom{n_0-1}{p-1}\\binom{n_1-1}{p}}{\\binom{n}{n_1}},

and the best of q independent axes has at most k runs with probability
:math:`1 - (1 - P(r \\le k))^q`.  The authors (notebook "Probabilistic bound",
balanced data, q = d) use this as their lower bound on :math:`P(L \\le k)`; their
code drops the two largest values of r (it sums the complement up to 2N - 2),
which reproduces their printed numbers.  For our runs method the count is
:math:`L = r - 1`, or :math:`r - 2` when an end run of class 0 is already below the
threshold (true for data in :math:`[0,1]^d`), on q = d - 1 axes (the last
coordinate carries the motion): :func:`switch_probability` with
``method="runs"`` gives this law exactly.
"""

from __future__ import annotations

from math import comb

import numpy as np

from ..._checks import check_int, check_option
from ...errors import ParameterError

__all__ = ["runs_distribution", "switch_probability"]


def runs_distribution(n0: int, n1: int) -> dict[int, float]:
    """Law of the number of runs r of a uniformly random sequence of n0 zeros and n1 ones.

    .. math::
        P(r = 2p) = \\frac{2\\binom{n_0-1}{p-1}\\binom{n_1-1}{p-1}}{\\binom{n}{n_1}}, \\qquad
        P(r = 2p+1) = \\frac{\\binom{n_0-1}{p}\\binom{n_1-1}{p-1}
                      + \\binom{n_0-1}{p-1}\\binom{n_1-1}{p}}{\\binom{n}{n_1}},

    with :math:`n = n_0 + n_1` (Wald-Wolfowitz).

    Parameters
    ----------
    n0 : int
        Number of zeros (points of class 0), >= 0.
    n1 : int
        Number of ones (points of class 1), >= 0; ``n0 + n1 >= 1``.

    Returns
    -------
    dict of int to float
        ``{r: P(r)}`` for r = 1 ... n0 + n1 (entries of probability 0 omitted);
        ``{1: 1.0}`` when one class is empty.

    Raises
    ------
    ParameterError
        ``n0`` or ``n1`` not an int >= 0, or ``n0 + n1 == 0``.
    """
    n0 = check_int(n0, "n0", minimum=0)
    n1 = check_int(n1, "n1", minimum=0)
    if n0 + n1 == 0:
        raise ParameterError("n0 + n1 must be >= 1")
    if n0 == 0 or n1 == 0:
        return {1: 1.0}
    tot = comb(n0 + n1, n1)
    out: dict[int, float] = {}
    for p in range(1, min(n0, n1) + 1):
        out[2 * p] = 2 * comb(n0 - 1, p - 1) * comb(n1 - 1, p - 1) / tot
        odd = comb(n0 - 1, p) * comb(n1 - 1, p - 1) + comb(n0 - 1, p - 1) * comb(n1 - 1, p)
        if odd:
            out[2 * p + 1] = odd / tot
    return out


def _runs_switch_law(n0: int, n1: int) -> dict[int, float]:
    """Law of L for our runs method on one axis (best orientation), data below the threshold."""
    if n0 == 0 or n1 == 0:
        return {0: 1.0}
    tot = comb(n0 + n1, n1)
    out: dict[int, float] = {}

    def add(L: int, pr: float) -> None:
        out[max(L, 0)] = out.get(max(L, 0), 0.0) + pr

    for p in range(1, min(n0, n1) + 1):
        add(2 * p - 2, 2 * comb(n0 - 1, p - 1) * comb(n1 - 1, p - 1) / tot)  # ends differ
        # r = 2p + 1: both ends of class 0 (p + 1 runs of zeros) -> r - 2; both class 1 -> r - 1
        add(2 * p - 1, comb(n0 - 1, p) * comb(n1 - 1, p - 1) / tot)
        add(2 * p, comb(n0 - 1, p - 1) * comb(n1 - 1, p) / tot)
    return out


def switch_probability(k: int, n0: int, n1: int, d: int, *, method: str = "authors") -> float:
    """Probability that i.i.d. data need at most k switches along the best axis.

    .. math:: P(L \\le k) = 1 - \\bigl(1 - P_1(k)\\bigr)^{q},

    with ``method="authors"``: :math:`P_1(k) = 1 - \\sum_{r=k+1}^{2N-2} P(r)` (their
    truncated sum; balanced data) and q = d; ``method="runs-exact"``: the same with
    :math:`P_1(k) = P(r \\le k)` untruncated; ``method="runs"``: the exact law of the
    switch count L of :func:`~controlml.node.classify` (method ``"runs"``) on one axis,
    q = d - 1, for data below the threshold (e.g. :math:`[0,1]^d`).

    Parameters
    ----------
    k : int
        Number of switches (>= 0).
    n0, n1 : int
        Class sizes.
    d : int
        Dimension (>= 2).
    method : {"authors", "runs-exact", "runs"}
    """
    k = check_int(k, "k", minimum=0)
    d = check_int(d, "d", minimum=2)
    method = check_option(method, "method", ("authors", "runs-exact", "runs"))
    if method == "runs":
        law = _runs_switch_law(check_int(n0, "n0", minimum=0), check_int(n1, "n1", minimum=0))
        p1 = sum(v for L, v in law.items() if L <= k)
        q = d - 1
    else:
        law = runs_distribution(n0, n1)
        if method == "authors":
            n = n0 + n1
            p1 = 1.0 - sum(v for r, v in law.items() if k + 1 <= r <= n - 2)
        else:
            p1 = sum(v for r, v in law.items() if r <= k)
        q = d
    p1 = float(np.clip(p1, 0.0, 1.0))
    return float(1.0 - (1.0 - p1) ** q)

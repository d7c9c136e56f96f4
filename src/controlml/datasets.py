"""The paper's synthetic data, generated on demand (nothing is downloaded).

Every generator takes ``random_state`` (None, int or Generator) and returns
float64 arrays.  Loaders for user-supplied real data sets live beside the
section that uses them and are re-exported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_int, check_nonnegative, check_positive, check_random_state

__all__ = ["uniform_cube", "labelled_uniform", "interpolation_data", "lemniscate",  # noqa: F822
           "load_sentiment", "find_sentiment_data", "split_sentiment", "SentimentData",
           "SENTIMENT_LAYOUTS"]  # the last five are resolved lazily by __getattr__ below

# Real-data loaders live beside the section that uses them; they are re-exported
# lazily so that ``import controlml.datasets`` does not import torch.
_SENTIMENT = {"load_sentiment": "load_sentiment", "find_sentiment_data": "find_sentiment_data",
              "split_sentiment": "split_sentiment", "SentimentData": "SentimentData",
              "SENTIMENT_LAYOUTS": "LAYOUTS"}


def __getattr__(name: str):
    if name in _SENTIMENT:
        from .attention import sentiment

        return getattr(sentiment, _SENTIMENT[name])
    raise AttributeError(f"module 'controlml.datasets' has no attribute {name!r}")


def uniform_cube(N: int, d: int, *, random_state: Any = None) -> np.ndarray:
    """N points i.i.d. uniform in [0, 1]^d, shape (N, d).

    Parameters
    ----------
    N : int >= 1
        Number of points.
    d : int >= 1
        Dimension.
    random_state : int, None or numpy.random.Generator
        Randomness of the draw.

    Returns
    -------
    ndarray, shape (N, d)
    """
    N = check_int(N, "N", minimum=1)
    d = check_int(d, "d", minimum=1)
    return check_random_state(random_state).random((N, d))


def labelled_uniform(N: int, d: int, *, random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Balanced binary data: N points uniform in [0,1]^d with labels (N,) in {0, 1}.

    The first ``ceil(N/2)`` points get label 1 and the rest 0 before a random
    permutation (the "uniformbalanced" data of the cluster-classification papers).

    Parameters
    ----------
    N : int >= 1
        Number of points.
    d : int >= 1
        Dimension.
    random_state : int, None or numpy.random.Generator
        Randomness of the points and of the label permutation.

    Returns
    -------
    X : ndarray, shape (N, d)
    labels : ndarray of int, shape (N,)
    """
    rng = check_random_state(random_state)
    X = uniform_cube(N, d, random_state=rng)
    labels = np.zeros(N, dtype=np.int64)
    labels[: (N + 1) // 2] = 1
    return X, rng.permutation(labels)


def interpolation_data(N: int, d: int, *, scale: float = 1.0,
                       random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """A consistent interpolation data set: inputs X (N, d) and targets Y (N, d).

    Both are i.i.d. standard Gaussian times ``scale`` (distinct with probability 1).

    Parameters
    ----------
    N : int >= 1
        Number of pairs.
    d : int >= 1
        Dimension of inputs and targets.
    scale : float > 0
        Standard deviation of every entry.
    random_state : int, None or numpy.random.Generator
        Randomness of the draw.

    Returns
    -------
    X, Y : ndarray, shape (N, d)
    """
    rng = check_random_state(random_state)
    N = check_int(N, "N", minimum=1)
    d = check_int(d, "d", minimum=1)
    scale = check_positive(scale, "scale")
    return scale * rng.standard_normal((N, d)), scale * rng.standard_normal((N, d))


def lemniscate(n: int, *, a: float = 1.0, noise: float = 0.0,
               random_state: Any = None) -> np.ndarray:
    """n points on the lemniscate of Bernoulli, shape (n, 2).

    The curve :math:`(x^2 + y^2)^2 = a^2 (x^2 - y^2)`, parametrised by
    :math:`x = a\\cos t / (1 + \\sin^2 t)`, :math:`y = a \\sin t \\cos t / (1 + \\sin^2 t)`,
    with t uniform in [0, 2pi) and optional Gaussian ``noise`` of that standard deviation.

    Parameters
    ----------
    n : int >= 1
        Number of points.
    a : float > 0
        Half-width of the curve.
    noise : float >= 0
        Standard deviation of the Gaussian noise added to each coordinate.
    random_state : int, None or numpy.random.Generator
        Randomness of the parameters t and of the noise.

    Returns
    -------
    ndarray, shape (n, 2)
    """
    n = check_int(n, "n", minimum=1)
    a = check_positive(a, "a")
    noise = check_nonnegative(noise, "noise")
    rng = check_random_state(random_state)
    t = rng.uniform(0.0, 2 * np.pi, n)
    s = 1.0 + np.sin(t) ** 2
    X = np.column_stack([a * np.cos(t) / s, a * np.sin(t) * np.cos(t) / s])
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    return X

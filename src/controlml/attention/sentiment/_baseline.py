"""The baseline a practitioner would pick: bag-of-words logistic regression (scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._checks import check_positive
from ...errors import DatasetError, ParameterError
from ._tokenizer import Tokenizer, _as_texts

__all__ = ["BagOfWordsResult", "bag_of_words_baseline"]


@dataclass(frozen=True)
class BagOfWordsResult:
    """Test accuracy of the bag-of-words logistic regression and its fitted pipeline.

    Attributes
    ----------
    accuracy : float
        Test accuracy.
    train_accuracy : float
    n_features : int
        Vocabulary size of the ``CountVectorizer``.
    pipeline : sklearn.pipeline.Pipeline
        ``CountVectorizer(binary=True)`` then ``LogisticRegression(solver="liblinear")``.
    """

    accuracy: float
    train_accuracy: float
    n_features: int
    pipeline: Any


def bag_of_words_baseline(train_texts: Sequence[str], train_labels: Any, test_texts: Sequence[str],
                          test_labels: Any, *, tokenizer: Tokenizer | None = None,
                          C: float = 1.0) -> BagOfWordsResult:
    r"""Binary bag-of-words + L2 logistic regression on the same split as the attention model.

    .. math::

        \min_{w,b}\ \tfrac12\|w\|^2 + C\sum_j \log\big(1+e^{-(2y^j-1)(w^\top x^j+b)}\big),
        \qquad x^j_w = \mathbf 1[\text{word } w \in \text{review } j]

    Parameters
    ----------
    train_texts, test_texts : sequences of str, lengths N_train, N_test
    train_labels, test_labels : arrays (N_train,), (N_test,) in {0, 1}
    tokenizer : Tokenizer, optional
        Its :meth:`Tokenizer.tokenize` splits the words (default: ``Tokenizer()``, the same
        rules and stop words as the attention model).
    C : float
        Inverse L2 regularisation strength of :class:`sklearn.linear_model.LogisticRegression`.

    Returns
    -------
    BagOfWordsResult
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    Xtr, Xte = _as_texts(train_texts), _as_texts(test_texts)
    ytr, yte = np.asarray(train_labels), np.asarray(test_labels)
    for name, X, y in (("train", Xtr, ytr), ("test", Xte, yte)):
        if y.shape != (len(X),) or not np.isin(y, (0, 1)).all():
            raise DatasetError(f"{name}_labels must be {len(X)} values in {{0, 1}}; got shape {y.shape}")
    if np.unique(ytr).size < 2:
        raise DatasetError("train_labels must contain both classes")
    C = check_positive(C, "C")
    if tokenizer is None:
        tokenizer = Tokenizer()
    elif not isinstance(tokenizer, Tokenizer):
        raise ParameterError(f"tokenizer must be a Tokenizer or None; got {type(tokenizer).__name__}")
    pipe = make_pipeline(CountVectorizer(analyzer=tokenizer.tokenize, binary=True),
                         LogisticRegression(C=C, solver="liblinear", max_iter=2000))
    pipe.fit(Xtr, ytr)
    return BagOfWordsResult(float(pipe.score(Xte, yte)), float(pipe.score(Xtr, ytr)),
                            len(pipe[0].vocabulary_), pipe)

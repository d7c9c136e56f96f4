"""Sec. 4.1: sentiment analysis exploiting the clustering of hardmax self-attention.

The model of the authors' experiment: a word embedding in :math:`\\mathbb R^d`, ONE
weight-tied self-attention layer (4.1) with :math:`A = I` and a single learnable
:math:`\\alpha`, applied ``K`` times (softmax at a small temperature while training, the
exact hardmax at evaluation), mean pooling and a linear readout.  After a few layers each
review has collapsed onto a few *leader* words (Thm 4.1), and the prediction is the side of
one hyperplane on which the pooled convex combination of leaders falls.

Data: :func:`load_sentiment` reads the IMDB ``aclImdb/`` tree, the Kaggle IMDB CSV or the
``rt-polarity.pos/.neg`` files from a folder the user gives; :class:`Tokenizer` is a simple
documented word tokenizer with a shipped stop-word list.
"""

from ._baseline import BagOfWordsResult, bag_of_words_baseline
from ._data import LAYOUTS, SentimentData, find_sentiment_data, load_sentiment, split_sentiment
from ._model import SentimentAttentionModel, masked_attention_step
from ._tokenizer import Tokenizer, default_stop_words
from ._train import (
    LeaderWords,
    SentimentEvaluation,
    SentimentTrainingResult,
    evaluate_sentiment,
    leader_words,
    load_sentiment_model,
    save_sentiment_model,
    train_sentiment,
)

__all__ = [
    "LAYOUTS",
    "BagOfWordsResult",
    "LeaderWords",
    "SentimentAttentionModel",
    "SentimentData",
    "SentimentEvaluation",
    "SentimentTrainingResult",
    "Tokenizer",
    "bag_of_words_baseline",
    "default_stop_words",
    "evaluate_sentiment",
    "find_sentiment_data",
    "leader_words",
    "load_sentiment",
    "load_sentiment_model",
    "masked_attention_step",
    "save_sentiment_model",
    "split_sentiment",
    "train_sentiment",
]

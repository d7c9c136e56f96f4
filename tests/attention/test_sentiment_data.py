"""Loaders of the sentiment layouts and the tokenizer (Sec. 4.1 experiment data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from controlml.attention.sentiment import (
    LAYOUTS,
    SentimentData,
    Tokenizer,
    default_stop_words,
    find_sentiment_data,
    load_sentiment,
    split_sentiment,
)
from controlml.errors import DataNotFoundError, DatasetError, ParameterError

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


# ----------------------------------------------------------------------------- helpers
def _polarity(folder: Path, pos: list[bytes], neg: list[bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rt-polarity.pos").write_bytes(b"\n".join(pos) + b"\n")
    (folder / "rt-polarity.neg").write_bytes(b"\n".join(neg) + b"\n")
    return folder


def _acl(folder: Path) -> Path:
    reviews = {("train", "pos"): ["a great film<br />loved it", "wonderful"],
               ("train", "neg"): ["awful, a waste"],
               ("test", "pos"): ["superb acting"],
               ("test", "neg"): ["boring", "terrible plot", "worst ever"]}
    for (part, lab), texts in reviews.items():
        d = folder / "aclImdb" / part / lab
        d.mkdir(parents=True)
        for k, t in enumerate(texts):
            (d / f"{k}_7.txt").write_text(t, encoding="utf-8")
    (folder / "aclImdb" / "train" / "unsup").mkdir()
    (folder / "aclImdb" / "train" / "unsup" / "0_0.txt").write_text("ignored", encoding="utf-8")
    return folder / "aclImdb"


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["review,sentiment"] + [f'"{r.replace(chr(34), chr(34) * 2)}",{s}' for r, s in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- layouts
def test_rt_polarity_latin1_and_nel_byte(tmp_path):
    # 0x85 is NEL in latin-1: a snippet containing it must stay ONE line
    pos = ["un film tr\xe8s \xe9mouvant".encode("latin-1"), b"fine \x85 work", b"good"]
    neg = [b"dull", b"bad bad"]
    _polarity(tmp_path / "rt-polarity", pos, neg)
    data = load_sentiment(tmp_path)  # found one level down
    assert data.layout == "rt-polarity"
    assert len(data) == 5 and data.labels.tolist() == [1, 1, 1, 0, 0]
    assert data.texts[0] == "un film très émouvant"
    assert data.texts[1] == "fine \x85 work"
    assert data.is_test is None
    assert data.source == tmp_path / "rt-polarity"


def test_acl_imdb_tree_keeps_its_split(tmp_path):
    _acl(tmp_path)
    data = load_sentiment(tmp_path)
    assert data.layout == "aclImdb"
    assert len(data) == 7  # unsup ignored
    assert data.labels.tolist() == [1, 1, 0, 1, 0, 0, 0]
    assert data.is_test.tolist() == [False, False, False, True, True, True, True]
    train, test = split_sentiment(data, random_state=0)
    assert train.tolist() == [0, 1, 2] and test.tolist() == [3, 4, 5, 6]
    # the folder itself works too
    assert load_sentiment(tmp_path / "aclImdb").layout == "aclImdb"


def test_kaggle_csv(tmp_path):
    _csv(tmp_path / "IMDB Dataset.csv",
         [("Great, \"moving\" film", "positive"), ("bad<br />movie", "negative"), ("ok", "positive")])
    (tmp_path / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")  # not a sentiment CSV
    data = load_sentiment(tmp_path)
    assert data.layout == "imdb-csv" and data.source.name == "IMDB Dataset.csv"
    assert data.texts == ('Great, "moving" film', "bad<br />movie", "ok")
    assert data.labels.tolist() == [1, 0, 1]


def test_csv_bad_sentiment_value_is_named(tmp_path):
    _csv(tmp_path / "imdb.csv", [("fine", "positive"), ("meh", "neutral")])
    with pytest.raises(DatasetError, match=r"data row 2.*'neutral'"):
        load_sentiment(tmp_path)


def test_one_class_only_raises(tmp_path):
    _csv(tmp_path / "imdb.csv", [("fine", "positive"), ("good", "positive")])
    with pytest.raises(DatasetError, match="both classes"):
        load_sentiment(tmp_path)


def test_no_layout_raises_with_how_to(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    with pytest.raises(DataNotFoundError, match="rt-polarity.pos.*sub-folder"):
        load_sentiment(tmp_path)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_sentiment(tmp_path / "missing")
    assert find_sentiment_data(tmp_path) == []


def test_layout_choice_and_preference(tmp_path):
    _acl(tmp_path)
    _polarity(tmp_path / "rt", [b"good", b"nice"], [b"bad"])
    found = find_sentiment_data(tmp_path)
    assert [f[0] for f in found] == ["aclImdb", "rt-polarity"]
    assert load_sentiment(tmp_path).layout == "aclImdb"
    assert load_sentiment(tmp_path, layout="rt-polarity").layout == "rt-polarity"
    with pytest.raises(DataNotFoundError, match="'imdb-csv'"):
        load_sentiment(tmp_path, layout="imdb-csv")
    with pytest.raises(ParameterError, match="layout must be one of"):
        load_sentiment(tmp_path, layout="sst2")
    assert set(LAYOUTS) == {"aclImdb", "imdb-csv", "rt-polarity"}


def test_max_reviews_is_stratified_and_seeded(tmp_path):
    _polarity(tmp_path, [f"good {k}".encode() for k in range(30)], [f"bad {k}".encode() for k in range(10)])
    a = load_sentiment(tmp_path, max_reviews=20, random_state=3)
    b = load_sentiment(tmp_path, max_reviews=20, random_state=3)
    assert len(a) == 20 and a.texts == b.texts
    assert a.labels.sum() == 15  # 3:1 ratio kept
    with pytest.raises(ParameterError, match="max_reviews must be >= 2"):
        load_sentiment(tmp_path, max_reviews=1)


def test_random_split_is_stratified(tmp_path):
    _polarity(tmp_path, [f"good {k}".encode() for k in range(50)], [f"bad {k}".encode() for k in range(50)])
    data = load_sentiment(tmp_path)
    train, test = split_sentiment(data, test_size=0.3, random_state=0)
    assert len(test) == 30 and len(np.intersect1d(train, test)) == 0
    assert data.labels[test].sum() == 15
    sub = data.subset(test)
    assert isinstance(sub, SentimentData) and len(sub) == 30
    with pytest.raises(ParameterError, match="test_size"):
        split_sentiment(data, test_size=1.5)
    with pytest.raises(ParameterError, match="SentimentData"):
        split_sentiment([1, 2], test_size=0.3)


def test_real_rt_polarity():
    root = SHARED_DATA
    if not (root / "rt-polarity" / "rt-polarity.pos").is_file():
        pytest.skip(f"real data not found at {root}/rt-polarity (shared/ beside the repository)")
    data = load_sentiment(root)
    assert data.layout == "rt-polarity"
    assert len(data) == 10662 and int(data.labels.sum()) == 5331
    assert not any("\n" in t for t in data.texts)
    assert data.texts[0].startswith("the rock is destined")


# ----------------------------------------------------------------------------- tokenizer
def test_tokenize_rules():
    tok = Tokenizer()
    words = tok.tokenize("The film's plot <br /><br />isn't GOOD, it is NOT great!! 10/10")
    assert words == ["film", "plot", "isn't", "good", "not", "great", "10", "10"]


def test_stop_words_shipped():
    sw = default_stop_words()
    assert {"the", "and", "of", "is"} <= sw
    assert not {"not", "no", "never", "isn't", "very", "too"} & sw
    assert Tokenizer(stop_words=None).tokenize("the end") == ["the", "end"]
    assert Tokenizer(stop_words=["end"]).tokenize("The END") == ["the"]
    with pytest.raises(ParameterError, match="stop_words must be 'default'"):
        Tokenizer(stop_words="english")


def test_fit_encode_decode():
    texts = ["good good film", "bad film", "film zzz", "the"]
    tok = Tokenizer(max_vocab=2).fit(texts)
    assert tok.vocab == ("<pad>", "<unk>", "film", "good")  # by frequency, ties alphabetical
    T, M = tok.encode(["good film good film", "bad", "film good"], n=3)
    assert T.tolist() == [[3, 2, 3], [1, 0, 0], [2, 3, 0]]  # truncated; OOV-only -> <unk>
    assert M.tolist() == [[True] * 3, [True, False, False], [True, True, False]]
    assert T.dtype == np.int64 and M.dtype == bool
    assert tok.decode(T[2]) == ["film", "good"]
    again = Tokenizer.from_dict(tok.to_dict())
    assert again.vocab == tok.vocab and np.array_equal(again.encode(["good film"], n=3)[0], tok.encode(["good film"], n=3)[0])


def test_min_count():
    tok = Tokenizer(min_count=2).fit(["a1 a1 b2", "c3 b2"])
    assert tok.vocab == ("<pad>", "<unk>", "a1", "b2")


def test_tokenizer_errors():
    tok = Tokenizer()
    with pytest.raises(ParameterError, match="call fit"):
        tok.encode(["x"], n=3)
    with pytest.raises(DatasetError, match="not a single str"):
        tok.fit("good film")
    with pytest.raises(DatasetError, match=r"texts\[1\] must be a str"):
        tok.fit(["good", 3])
    with pytest.raises(DatasetError, match="no word outside the stop words"):
        tok.fit(["the and of"])
    tok.fit(["good"])
    with pytest.raises(ParameterError, match="n must be >= 1"):
        tok.encode(["good"], n=0)
    with pytest.raises(ParameterError, match="max_vocab must be >= 1"):
        Tokenizer(max_vocab=0)
    with pytest.raises(ParameterError, match="must start with"):
        Tokenizer.from_dict({"stop_words": [], "max_vocab": None, "min_count": 1, "vocab": ["a", "b"]})

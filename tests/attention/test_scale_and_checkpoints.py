"""Extreme scales, damaged checkpoints and the random_state naming (issue 11, Sec. 1 and 3)."""

from __future__ import annotations

import json
import struct
import warnings

import numpy as np
import pytest
import torch

from controlml.attention import (
    equilibrium,
    hardmax_dynamics,
    interpolate_sequences,
    softmax_dynamics,
)
from controlml.attention.sentiment import (
    SentimentAttentionModel,
    load_sentiment_model,
    save_sentiment_model,
    train_sentiment,
)
from controlml.errors import DatasetError, ParameterError

Z = np.array([[1.0, 0.5], [0.2, -1.0], [-0.4, 0.3], [0.7, 0.7]])


@pytest.mark.parametrize("scale", [1e160, 1e300])
def test_overflowing_tokens_are_refused_before_work(scale):
    # the scores <A z_i, z_j> overflow: formerly NaN tokens with status "max_layers"
    with pytest.raises(DatasetError, match="overflow float64.*rescale Z"):
        hardmax_dynamics(Z * scale, np.eye(2), 0.5, 5)
    with pytest.raises(DatasetError, match="overflow float64.*rescale Z"):
        softmax_dynamics(Z * scale, np.eye(2), 0.5, 0.1, 5)


def test_tiny_tokens_are_refused_before_work():
    with pytest.raises(DatasetError, match="underflow float64.*rescale Z"):
        hardmax_dynamics(Z * 1e-150, np.eye(2), 0.5, 5)


def test_large_but_representable_tokens_are_scale_invariant():
    # the hardmax dynamics is scale invariant: c Z runs as c Z(k)
    a = hardmax_dynamics(Z, np.eye(2), 0.5, 30).Z
    b = hardmax_dynamics(Z * 2.0**400, np.eye(2), 0.5, 30).Z / 2.0**400
    np.testing.assert_array_equal(a, b)


def test_equilibrium_at_1e200_points_to_rescaling_not_max_layers():
    with pytest.raises(DatasetError) as info:
        equilibrium(Z * 1e200, np.eye(2), 0.5)
    assert "rescale" in str(info.value) and "max_layers" not in str(info.value)


def test_interpolation_at_1e150_points_to_rescaling_not_max_tries():
    rng = np.random.default_rng(0)
    Zs = [rng.normal(size=(4, 2)) * 1e150 for _ in range(2)]
    Ys = [rng.normal(size=(1, 2)) * 1e150 for _ in range(2)]
    with pytest.raises(DatasetError) as info:
        interpolate_sequences(Zs, Ys, random_state=0)
    assert "rescale" in str(info.value) and "max_tries" not in str(info.value)


def test_empty_interpolation_input_is_a_clear_error():
    with pytest.raises(DatasetError, match="no sequence"):
        interpolate_sequences([], [])


# ----------------------------------------------------------------------------- checkpoints
def _rewrite_meta(path, fn):
    """Rewrite the JSON metadata of a safetensors file in place (header surgery)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    fn(header)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n:])


@pytest.fixture
def checkpoint(tmp_path):
    model = SentimentAttentionModel(6, 2, K=2, random_state=0)
    return save_sentiment_model(model, tmp_path / "m.safetensors")


def test_checkpoint_round_trip(checkpoint):
    model, tok = load_sentiment_model(checkpoint)
    assert tok is None and model.d == 2


def test_checkpoint_metadata_not_json(checkpoint):
    _rewrite_meta(checkpoint, lambda h: h["__metadata__"].update(meta="{not json"))
    with pytest.raises(ParameterError, match=r"m\.safetensors.*not valid JSON"):
        load_sentiment_model(checkpoint)


def test_checkpoint_missing_key(checkpoint):
    def drop(h):
        meta = json.loads(h["__metadata__"]["meta"])
        del meta["config"]["d"]
        h["__metadata__"]["meta"] = json.dumps(meta)

    _rewrite_meta(checkpoint, drop)
    with pytest.raises(ParameterError, match=r"m\.safetensors.*missing d"):
        load_sentiment_model(checkpoint)


def test_checkpoint_missing_tensor(tmp_path):
    from controlml._io import save_checkpoint_file

    model = SentimentAttentionModel(6, 2, K=2, random_state=0)
    sd = dict(model.state_dict())
    del sd["alpha_raw"]
    path = save_checkpoint_file(tmp_path / "c.safetensors", "controlml.attention.sentiment/1", sd,
                                {"config": model.config, "tokenizer": None, "epoch": None})
    with pytest.raises(ParameterError, match=r"c\.safetensors.*missing tensor alpha_raw"):
        load_sentiment_model(path)


def test_saving_to_a_folder_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="is a folder"):
        save_sentiment_model(SentimentAttentionModel(6, 2, random_state=0), tmp_path)


# ----------------------------------------------------------------------------- random_state
def _data():
    rng = np.random.default_rng(0)
    T = rng.integers(1, 6, size=(16, 5))
    return T, rng.integers(0, 2, size=16)


def test_random_state_accepts_a_generator_and_seed_is_deprecated():
    T, y = _data()

    def run(**kw):
        model = SentimentAttentionModel(6, 2, K=2, random_state=1)
        return train_sentiment(model, T, None, y, epochs=2, batch_size=4, **kw).train_loss

    a = run(random_state=3)
    with pytest.warns(FutureWarning, match="random_state"):
        b = run(seed=3)
    np.testing.assert_array_equal(a, b)
    c = run(random_state=np.random.default_rng(3))
    d = run(random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(c, d)
    with pytest.warns(FutureWarning, match="random_state"):
        m = SentimentAttentionModel(6, 2, seed=4)
    torch.testing.assert_close(m.embedding.weight,
                               SentimentAttentionModel(6, 2, random_state=4).embedding.weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SentimentAttentionModel(6, 2, random_state=np.random.default_rng(0))
    with pytest.raises(ParameterError, match="random_state"):
        SentimentAttentionModel(6, 2, random_state="0")

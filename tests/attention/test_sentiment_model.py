"""The weight-tied attention sentiment model, its training, checkpoints and the experiment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from controlml.attention.sentiment import (
    SentimentAttentionModel,
    Tokenizer,
    bag_of_words_baseline,
    evaluate_sentiment,
    leader_words,
    load_sentiment_model,
    masked_attention_step,
    save_sentiment_model,
    train_sentiment,
)
from controlml.errors import DataNotFoundError, DatasetError, ParameterError

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny tensors: one intra-op thread is fastest and avoids oversubscribing a busy CPU
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _hardmax_numpy(Z, alpha, K):
    """Independent reference: (4.1) with A = I, exact ties, plain loops."""
    Z = np.array(Z, dtype=float)
    out = [Z.copy()]
    for _ in range(K):
        new = np.empty_like(Z)
        for i in range(len(Z)):
            s = Z @ Z[i]
            C = np.flatnonzero(np.isclose(s, s.max(), rtol=0, atol=1e-12))
            new[i] = Z[i] + alpha / (1 + alpha) * (Z[C].mean(0) - Z[i])
        Z = new
        out.append(Z.copy())
    return out


# ----------------------------------------------------------------------------- the layer
def test_hardmax_step_by_hand():
    # scores <z_i, z_l>: z1 -> C = {2}; z2 -> C = {2}; z3 = (0, 1) ties {3, 4}; z4 = (1, 1) ties {2, 4}
    Z = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    m = torch.ones(1, 4, dtype=torch.bool)
    out = masked_attention_step(Z, m, 1.0, 0.0)[0]  # alpha = 1: z_i <- (z_i + mean_C z) / 2
    expected = torch.tensor([[1.5, 0.0], [2.0, 0.0], [0.25, 1.0], [1.25, 0.75]])
    torch.testing.assert_close(out, expected)


def test_padding_is_ignored():
    g = torch.Generator().manual_seed(0)
    Z = torch.randn(2, 5, 3, generator=g)
    m = torch.tensor([[True, True, True, False, False], [True] * 5])
    for tau in (0.0, 0.3):
        full = masked_attention_step(Z, m, 0.7, tau)
        short = masked_attention_step(Z[:1, :3], m[:1, :3], 0.7, tau)
        torch.testing.assert_close(full[0, :3], short[0])
        # huge padding values change nothing
        Zp = Z.clone()
        Zp[0, 3:] = 1e3
        torch.testing.assert_close(masked_attention_step(Zp, m, 0.7, tau)[0, :3], full[0, :3])


def test_matches_controlml_attention_layer():
    mod = pytest.importorskip("controlml.attention")
    if not hasattr(mod, "attention_step_torch"):
        pytest.skip("controlml.attention.attention_step_torch not available")
    g = torch.Generator().manual_seed(1)
    Z = torch.randn(3, 6, 4, generator=g)
    m = torch.ones(3, 6, dtype=torch.bool)
    for tau in (0.0, 0.05, 1.0):
        torch.testing.assert_close(masked_attention_step(Z, m, 0.5, tau),
                                   mod.attention_step_torch(Z, torch.eye(4), 0.5, tau))


def test_layer_input_errors():
    Z = torch.zeros(1, 3, 2)
    m = torch.ones(1, 3, dtype=torch.bool)
    with pytest.raises(DatasetError, match=r"Z must be a floating-point torch tensor of shape \(B, n, d\)"):
        masked_attention_step(torch.zeros(3, 2), m, 1.0, 0.0)
    with pytest.raises(DatasetError, match="mask must be a bool tensor"):
        masked_attention_step(Z, m[:, :2], 1.0, 0.0)
    with pytest.raises(DatasetError, match="at least one True"):
        masked_attention_step(Z, torch.zeros(1, 3, dtype=torch.bool), 1.0, 0.0)
    with pytest.raises(ParameterError, match="tau must be >= 0"):
        masked_attention_step(Z, m, 1.0, -1.0)


@given(seed=st.integers(0, 10_000), alpha=st.floats(0.1, 3.0))
def test_small_tau_softmax_tends_to_hardmax(seed, alpha):
    g = torch.Generator().manual_seed(seed)
    Z = torch.randn(1, 6, 2, generator=g)
    m = torch.ones(1, 6, dtype=torch.bool)
    S = (Z @ Z.transpose(1, 2))[0]
    top2 = S.topk(2, dim=1).values
    gap = float((top2[:, 0] - top2[:, 1]).min())
    tau = gap / 60  # exp(-60) ~ 1e-26: the softmax is the hardmax to rounding
    torch.testing.assert_close(masked_attention_step(Z, m, alpha, tau),
                               masked_attention_step(Z, m, alpha, 0.0), atol=1e-10, rtol=0)


def test_softmax_layer_gradcheck():
    g = torch.Generator().manual_seed(2)
    Z = torch.randn(2, 4, 3, generator=g, requires_grad=True)
    a = torch.tensor(0.8, requires_grad=True)
    m = torch.tensor([[True, True, True, False], [True] * 4])
    assert torch.autograd.gradcheck(lambda Z, a: masked_attention_step(Z, m, a, 0.5), (Z, a))


# ----------------------------------------------------------------------------- the model
def test_forward_matches_independent_numpy():
    model = SentimentAttentionModel(7, 2, K=5, alpha=0.6, random_state=3)
    tokens = np.array([[1, 2, 3, 2, 0, 0], [4, 5, 6, 1, 2, 3]])
    got = model(tokens, tau=0.0).detach().numpy()
    E = model.embedding.weight.detach().numpy()
    v = model.readout.weight.detach().numpy()[0]
    b = float(model.readout.bias.detach())
    alpha = float(model.alpha.detach())
    assert alpha == pytest.approx(0.6)
    for r, row in enumerate(tokens):
        Z = _hardmax_numpy(E[row[row != 0]], alpha, 5)[-1]
        assert got[r] == pytest.approx(v @ Z.mean(0) + b, abs=1e-12)


@given(seed=st.integers(0, 10_000), n=st.integers(2, 8), d=st.integers(1, 3))
def test_leaders_are_fixed_and_stabilise(seed, n, d):
    # Thm 4.1 on random (nonzero, distinct) embeddings: leaders do not move, and the set of
    # leaders stops changing after finitely many layers.
    model = SentimentAttentionModel(n + 1, d, K=40, alpha=0.5, random_state=seed)
    tokens = torch.arange(1, n + 1)[None]
    traj = model.trajectory(tokens)[:, 0]
    L = model.leaders_per_layer(tokens)[:, 0]
    for k in range(model.K):
        assert torch.allclose(traj[k + 1][L[k]], traj[k][L[k]], atol=1e-12)
    assert bool(L[-1].any())
    assert torch.equal(L[-10], L[-1])
    assert torch.equal(model.leaders(tokens)[0], L[-1])
    # every non-leader ends near the convex hull of the leaders: here, within its max norm
    assert float(traj[-1].norm(dim=-1).max()) <= float(traj[0].norm(dim=-1).max()) + 1e-9


def test_repeated_word_is_one_leader():
    model = SentimentAttentionModel(4, 2, K=3, random_state=0)
    with torch.no_grad():
        model.embedding.weight[1] = torch.tensor([3.0, 0.0])
        model.embedding.weight[2] = torch.tensor([0.5, 0.1])
    L = model.leaders(torch.tensor([[2, 1, 1]]))
    assert L.tolist() == [[False, True, False]]


def test_model_input_errors():
    with pytest.raises(ParameterError, match="vocab_size must be >= 2"):
        SentimentAttentionModel(1, 2)
    with pytest.raises(ParameterError, match="tau must be > 0"):
        SentimentAttentionModel(5, 2, tau=0.0)
    with pytest.raises(ParameterError, match="alpha must be > 0"):
        SentimentAttentionModel(5, 2, alpha=-1.0)
    model = SentimentAttentionModel(5, 2, random_state=0)
    with pytest.raises(DatasetError, match=r"ids in \[0, 5\)"):
        model(np.array([[1, 7]]))
    with pytest.raises(DatasetError, match="integer ids"):
        model(np.array([[1.0, 2.0]]))
    with pytest.raises(DatasetError, match="shape \\(B, n\\)"):
        model(np.array([1, 2]))
    with pytest.raises(DatasetError, match="mask must have the shape"):
        model(np.array([[1, 2]]), np.array([[True]]))
    with pytest.raises(DatasetError, match="sequence 1 has no real token"):
        model(np.array([[1, 2], [0, 0]]))
    with pytest.raises(ParameterError, match="layer must be in"):
        model.leaders(np.array([[1, 2]]), layer=99)


def test_alpha_stays_positive():
    model = SentimentAttentionModel(5, 2, alpha=1e-3, random_state=0)
    with torch.no_grad():
        model.alpha_raw.fill_(-50.0)
    assert float(model.alpha.detach()) > 0


# ----------------------------------------------------------------------------- training
def _synthetic(seed, N=400):
    """Reviews of 3-6 words: a sentiment word among neutral ones; the label is its polarity."""
    rng = np.random.default_rng(seed)
    good, bad = ["great", "superb", "moving", "wonderful"], ["awful", "dull", "boring", "waste"]
    neutral = [f"w{k}" for k in range(20)]
    texts, labels = [], []
    for _ in range(N):
        y = int(rng.integers(2))
        words = list(rng.choice(neutral, size=int(rng.integers(2, 6))))
        words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(good if y else bad)))
        texts.append(" ".join(words))
        labels.append(y)
    return texts, np.array(labels)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    texts, y = _synthetic(0)
    tok = Tokenizer().fit(texts)
    T, M = tok.encode(texts, n=8)
    vt, vy = _synthetic(1, 200)
    VT, VM = tok.encode(vt, n=8)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        model = SentimentAttentionModel(len(tok.vocab), 2, K=4, random_state=0)
        ck = tmp_path_factory.mktemp("ck")
        res = train_sentiment(model, T, M, y, validation=(VT, VM, vy), epochs=12, lr=5e-2,
                              batch_size=32, random_state=0, checkpoint_dir=ck, checkpoint_every=4,
                              tokenizer=tok)
    finally:
        torch.set_default_dtype(old)
    return res, tok, (VT, VM, vy), ck, (T, M, y)


def test_training_learns_and_hardmax_agrees(trained):
    res, tok, val, _, _ = trained
    assert res.status == "trained"
    assert res.train_loss[-1] < 0.5 * res.train_loss[0]
    assert res.val_accuracy.max() >= 0.95
    assert res.val_accuracy[res.best_epoch - 1] == res.val_accuracy.max()
    ev = evaluate_sentiment(res.model, *val)
    assert ev.accuracy == pytest.approx(res.val_accuracy.max())  # best weights were restored
    assert ev.agreement >= 0.99
    assert abs(ev.loss - ev.loss_softmax) < 1e-2
    assert 1 <= ev.mean_leaders <= ev.mean_length
    probs = ev.probabilities
    assert probs.shape == (len(val[2]),) and np.all((probs > 0) & (probs < 1))
    assert res.alpha > 0


def test_training_is_reproducible():
    texts, y = _synthetic(2, 120)
    tok = Tokenizer().fit(texts)
    T, M = tok.encode(texts, n=8)
    runs = []
    for _ in range(2):
        model = SentimentAttentionModel(len(tok.vocab), 2, K=2, random_state=5)
        runs.append(train_sentiment(model, T, M, y, epochs=2, random_state=7).train_loss)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_leader_words_are_the_sentiment_words(trained):
    res, tok, val, _, _ = trained
    lw = leader_words(res.model, tok, *val, top=4)
    assert {w for w, _ in lw.positive} & {"great", "superb", "moving", "wonderful"}
    assert {w for w, _ in lw.negative} & {"awful", "dull", "boring", "waste"}
    for w, _ in lw.positive[:1]:
        assert lw.score[w] > 0
    with pytest.raises(ParameterError, match="use the tokenizer the model was trained with"):
        leader_words(res.model, Tokenizer().fit(["a1 b2"]), *val)


def test_checkpoints_roundtrip(trained, tmp_path):
    res, tok, val, ck, _ = trained
    names = sorted(p.name for p in ck.iterdir())
    assert names == ["best.safetensors", "epoch_004.safetensors", "epoch_008.safetensors",
                     "epoch_012.safetensors"]  # nothing else
    assert {p.name for p in res.checkpoints} == set(names)
    model, tok2 = load_sentiment_model(ck / "best.safetensors")
    assert tok2.vocab == tok.vocab
    torch.testing.assert_close(model(val[0], val[1], tau=0.0), res.model(val[0], val[1], tau=0.0))
    path = save_sentiment_model(res.model, tmp_path / "m.pt")
    assert load_sentiment_model(path)[1] is None
    torch.save({"format": "something else"}, tmp_path / "x.pt")
    with pytest.raises(ParameterError, match="not a controlml sentiment checkpoint"):
        load_sentiment_model(tmp_path / "x.pt")
    with pytest.raises(DataNotFoundError, match="no checkpoint"):
        load_sentiment_model(tmp_path / "none.pt")


def test_training_input_errors(trained):
    res, _, val, _, (T, M, y) = trained
    with pytest.raises(DatasetError, match=r"labels must have shape \(400,\)"):
        train_sentiment(res.model, T, M, y[:3])
    with pytest.raises(DatasetError, match="0 \\(negative\\) or 1"):
        train_sentiment(res.model, T, M, y + 1)
    with pytest.raises(ParameterError, match="epochs must be >= 1"):
        train_sentiment(res.model, T, M, y, epochs=0)
    with pytest.raises(ParameterError, match="clip must be > 0"):
        train_sentiment(res.model, T, M, y, clip=0.0)
    with pytest.raises(ParameterError, match="validation must be a tuple"):
        train_sentiment(res.model, T, M, y, validation=T)
    with pytest.raises(ParameterError, match="model must be a SentimentAttentionModel"):
        train_sentiment(torch.nn.Linear(2, 1), T, M, y)


def test_bag_of_words_baseline():
    texts, y = _synthetic(3, 200)
    tt, ty = _synthetic(4, 100)
    res = bag_of_words_baseline(texts, y, tt, ty)
    assert res.accuracy == 1.0 and res.train_accuracy == 1.0
    assert res.n_features == 28  # 20 neutral + 8 sentiment words
    with pytest.raises(DatasetError, match="train_labels must be 200 values"):
        bag_of_words_baseline(texts, y[:5], tt, ty)
    with pytest.raises(DatasetError, match="both classes"):
        bag_of_words_baseline(texts, np.zeros(200, dtype=int), tt, ty)


# ----------------------------------------------------------------------------- experiment
def test_experiment_skips_without_data(tmp_path):
    from controlml.reproduce import reproduce

    rep = reproduce(["sentiment"], quick=True, out=tmp_path, progress=False)
    (r,) = rep.results
    assert r.status == "skipped" and "--data-dir" in r.error and "rt-polarity" in r.error
    empty = tmp_path / "empty"
    empty.mkdir()
    (r,) = reproduce(["sentiment"], quick=True, out=tmp_path, data_dir=empty, progress=False).results
    assert r.status == "skipped" and "sub-folder" in r.error


def test_experiment_runs_on_a_kaggle_csv(tmp_path):
    # the IMDB code path of the experiment (layout other than rt-polarity) on a synthetic CSV
    from controlml.reproduce import reproduce

    texts, y = _synthetic(6, 600)
    rows = ["review,sentiment"] + [f"{t},{'positive' if v else 'negative'}" for t, v in zip(texts, y, strict=True)]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "IMDB Dataset.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (r,) = reproduce(["sentiment"], quick=True, out=tmp_path / "out", data_dir=tmp_path / "data",
                     progress=False).results
    assert r.status in ("passed", "failed"), r.error
    assert any("imdb-csv" in c.measured for c in r.checks[:4])


def test_experiment_quick_on_real_data(tmp_path):
    if not (SHARED_DATA / "rt-polarity" / "rt-polarity.pos").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA}/rt-polarity (shared/ beside the repository)")
    from controlml.reproduce import reproduce

    rep = reproduce(["sentiment"], quick=True, out=tmp_path / "report", data_dir=SHARED_DATA,
                    progress=False)
    assert all(r.status == "passed" for r in rep.results), [(r.name, r.status, r.error) for r in rep.results]
    (r,) = rep.results
    assert len(r.checks) >= 6 and len(r.figures) == 3
    assert all((tmp_path / "report" / f.path).is_file() for f in r.figures)
    # nothing written outside the report folder
    assert {p.name for p in tmp_path.iterdir()} == {"report"}


def test_num_threads_restored():
    texts, y = _synthetic(5, 40)
    tok = Tokenizer().fit(texts)
    T, M = tok.encode(texts, n=8)
    torch.set_num_threads(2)
    model = SentimentAttentionModel(len(tok.vocab), 2, K=1, random_state=0)
    train_sentiment(model, T, M, y, epochs=1, num_threads=1)
    assert torch.get_num_threads() == 2
    with pytest.raises(ParameterError, match="num_threads must be >= 1"):
        train_sentiment(model, T, M, y, num_threads=0)

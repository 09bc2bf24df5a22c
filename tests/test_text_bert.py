"""TinyBERT: every new piece against finite differences, masking statistics, padding, pooling, files."""
import numpy as np
import pytest

from minembed.nn import MultiHeadSelfAttention, TransformerBlock, check_gradients
from minembed.nn.attention import padding_bias
from minembed.text.bert import TinyBERT, pool
from minembed.text.bpe import BPETokenizer
from minembed.text.mlm import MLMData, mask_tokens, masked_accuracy, most_frequent_token, pack_sequences, pretrain

SPECIALS = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]
TEXT = ("the cat sat on the mat . the dog sat on the log . a cat and a dog . " * 20
        + "in the beginning god created the heaven and the earth . " * 10)


@pytest.fixture(scope="module")
def tok():
    return BPETokenizer.train(TEXT, 290, special_tokens=SPECIALS)


def tiny(vocab=20, pad_id=0, **kw):
    opts = dict(max_len=6, dim=8, depth=2, num_heads=2, mlp_hidden=12, seed=1)
    opts.update(kw)
    return TinyBERT(vocab, pad_id, **opts)


def padded_ids(rng, vocab=20, b=3, t=6):
    ids = rng.integers(1, vocab, (b, t))
    ids[1, 4:] = 0                                       # padding at the end of sentence 1
    ids[2, 2:] = 0
    return ids


# ------------------------------------------------------------------ gradients (float64, finite differences)
def test_attention_with_padding_mask_gradients(rng):
    attn = MultiHeadSelfAttention(8, 2, seed=0)
    mask = np.zeros((2, 5), bool)
    mask[1, 3:] = True
    check_gradients(attn, rng.standard_normal((2, 5, 8)), forward_kwargs={"key_padding_mask": mask})


def test_block_with_padding_mask_gradients(rng):
    block = TransformerBlock(8, 2, 12, seed=0)
    mask = np.zeros((2, 4), bool)
    mask[0, 1:] = True
    check_gradients(block, rng.standard_normal((2, 4, 8)), forward_kwargs={"key_padding_mask": mask})


@pytest.mark.parametrize("n_segments", [0, 2])
def test_bert_mlm_gradients(rng, n_segments):
    m = tiny(n_segments=n_segments)
    m.mlm_bias.data = rng.standard_normal(20).astype(np.float32)
    ids = padded_ids(rng)
    masked = np.array([[0, 1], [0, 4], [1, 2], [2, 1]])
    kw = {"masked": masked}
    if n_segments:
        kw["token_type_ids"] = (np.arange(6) >= 3).astype(np.int64)[None].repeat(3, 0)
    errors = check_gradients(m, ids, forward_kwargs=kw)
    assert "tok_embed.weight" in errors and "pos_embed" in errors and "mlm_bias" in errors


def test_bert_token_vector_gradients(rng):
    check_gradients(tiny(depth=1), padded_ids(rng))


def test_padding_mask_is_where_attention_does_not_look(rng):
    attn = MultiHeadSelfAttention(8, 2, seed=0)
    attn.store_attention = True
    mask = np.zeros((2, 5), bool)
    mask[1, 2:] = True
    attn.forward(rng.standard_normal((2, 5, 8)).astype(np.float32), key_padding_mask=mask)
    p = attn.attention
    assert np.all(p[1][..., 2:] == 0)
    np.testing.assert_allclose(p.sum(-1), 1, rtol=1e-6)
    with pytest.raises(ValueError, match="sequence 0 is all padding"):
        padding_bias(np.ones((1, 3), bool), (1, 3), np.float32)
    with pytest.raises(TypeError, match="bool"):
        attn.forward(np.zeros((2, 5, 8), np.float32), key_padding_mask=mask.astype(int))


def test_padding_does_not_change_a_sentence(rng):
    """A sentence's vectors are the same alone and padded in a batch with a longer one."""
    m = tiny().astype(np.float64)
    short = np.array([[3, 5, 7]])
    batch = np.array([[3, 5, 7, 0, 0, 0], [4, 4, 9, 2, 8, 1]])
    np.testing.assert_allclose(m.forward(batch)[0, :3], m.forward(short)[0], rtol=1e-10, atol=1e-12)
    for how in ("mean", "max", "cls"):
        np.testing.assert_allclose(m.embed_ids(batch, how)[0], m.embed_ids(short, how)[0], rtol=1e-10, atol=1e-12)


def test_pooling_by_hand(rng):
    h = rng.standard_normal((2, 3, 4))
    keep = np.array([[True, True, False], [True, True, True]])
    np.testing.assert_allclose(pool(h, keep, "mean")[0], h[0, :2].mean(0))
    np.testing.assert_allclose(pool(h, keep, "max")[0], h[0, :2].max(0))
    np.testing.assert_allclose(pool(h, keep, "cls"), h[:, 0])


# ------------------------------------------------------------------ masking
def test_masking_follows_80_10_10(rng):
    ids = rng.integers(10, 100, (400, 50))
    maskable = np.ones(ids.shape, bool)
    maskable[:, 0] = False
    inputs, masked, labels = mask_tokens(ids, maskable, mask_id=1, random_ids=np.arange(10, 100), seed=3)
    n = ids.size - 400
    assert abs(len(labels) / n - 0.15) < 0.01                 # 19,600 candidates: sd of the rate ~0.0026
    assert np.all(masked[:, 1] != 0)                          # [CLS] column never chosen
    np.testing.assert_array_equal(labels, ids[masked[:, 0], masked[:, 1]])
    now = inputs[masked[:, 0], masked[:, 1]]
    frac_mask = np.mean(now == 1)
    kept = np.mean(now == labels)                             # 10% kept + random draws that hit the same token
    assert abs(frac_mask - 0.8) < 0.02
    assert abs(kept - (0.1 + 0.1 / 90)) < 0.015
    untouched = np.ones(ids.shape, bool)
    untouched[masked[:, 0], masked[:, 1]] = False
    np.testing.assert_array_equal(inputs[untouched], ids[untouched])
    a = mask_tokens(ids, maskable, 1, np.arange(10, 100), seed=3)
    np.testing.assert_array_equal(a[0], inputs)               # same seed, same holes


def test_mlm_data_masks_afresh_and_pairs_targets(tok):
    seqs = pack_sequences(tok, TEXT.split(" . "), 12)
    data = MLMData(seqs, tok, seed=0)
    ids = np.arange(len(seqs))
    (a, ma), la = data[ids], data.targets[ids]
    (b, _), _ = data[ids], data.targets[ids]
    assert not np.array_equal(a, b)                           # a new draw each time
    assert not np.isin(seqs[ma[:, 0], ma[:, 1]], list(tok.special_tokens.values())).any()
    np.testing.assert_array_equal(la, seqs[ma[:, 0], ma[:, 1]])
    with pytest.raises(RuntimeError, match="same ids"):
        data.targets[ids[:2]]


def test_pack_sequences(tok):
    lines = ["the cat sat", "on the mat", "a dog"]
    seqs = pack_sequences(tok, lines, 5)
    stream = np.concatenate(tok.encode_batch(lines))
    assert np.all(seqs[:, 0] == tok.cls_id)
    body = seqs[:, 1:-1].ravel()
    np.testing.assert_array_equal(body[:len(stream)], stream)
    last = seqs[-1]
    real = last[last != tok.pad_id]
    assert real[-1] == tok.sep_id and np.all(seqs[:-1, -1] == tok.sep_id)


# ------------------------------------------------------------------ learning something real
def test_pretraining_learns_planted_topics():
    """Planted structure: each sequence draws its 14 tokens from one of 24 topics of 10 tokens. A masked
    token is then 1 of its topic's 10 (Bayes accuracy 0.1), while the most frequent token is right
    ~1/240 of the time. Held-out sequences, fresh masking."""
    tok = BPETokenizer((), SPECIALS)                      # the 256 byte ids + 4 specials, no merges
    rng = np.random.default_rng(0)
    topic = rng.integers(0, 24, 600)
    seqs = np.full((600, 16), tok.sep_id)
    seqs[:, 0] = tok.cls_id
    seqs[:, 1:-1] = topic[:, None] * 10 + rng.integers(0, 10, (600, 14))
    m = TinyBERT(tok.vocab_size, tok.pad_id, max_len=16, dim=32, depth=1, num_heads=2, mlp_hidden=64,
                 tokenizer=tok, seed=0)
    base = most_frequent_token(seqs[:500], tok)
    before = masked_accuracy(m, seqs[500:], tok, baseline_token=base)
    hist = pretrain(m, seqs[:500], epochs=4, batch_size=32, lr=3e-3, eval_sequences=seqs[500:], progress=False)
    after = masked_accuracy(m, seqs[500:], tok, baseline_token=base)
    assert hist["train_loss"][-1] < hist["train_loss"][0] - 0.5
    assert after["baseline"] < 0.02 and before["accuracy"] < 0.03
    assert after["accuracy"] > 0.07, after                # near the Bayes rate 0.1
    assert hist["test_accuracy"][-1] == pytest.approx(after["accuracy"])


# ------------------------------------------------------------------ texts, bad input, files
def test_embed_and_token_vectors(tok):
    m = TinyBERT(tok.vocab_size, tok.pad_id, max_len=16, dim=16, depth=1, num_heads=2, mlp_hidden=32,
                 tokenizer=tok, seed=0)
    e = m.embed(["the cat", "a dog sat on the mat"], pooling="cls")
    assert e.shape == (2, 16) and e.dtype == np.float32
    v, toks = m.token_vectors("the cat")
    assert v.shape == (len(toks), 16) and toks[0] == "[CLS]" and toks[-1] == "[SEP]"
    np.testing.assert_allclose(m.embed(["the cat"], "cls")[0], v[0], rtol=1e-5)
    np.testing.assert_allclose(m.embed(["the cat"], "mean")[0], v.mean(0), rtol=1e-5, atol=1e-6)
    maps, _ = m.attention_maps("the cat sat")
    np.testing.assert_allclose(maps.sum(-1), 1, rtol=1e-5)
    long = "the cat sat on the mat " * 10
    with pytest.raises(ValueError, match=r"text 1 is \d+ tokens long .* max_len=16; pass truncate=True"):
        m.embed(["the cat", long])
    assert m.embed([long], truncate=True).shape == (1, 16)
    with pytest.raises(ValueError, match="pooling"):
        m.embed(["x"], pooling="sum")


def test_bad_ids():
    m = tiny()
    with pytest.raises(ValueError, match=r"id 20 at position \(1, 2\) is outside the vocabulary"):
        m.forward(np.array([[1, 2, 3], [1, 2, 20]]))
    with pytest.raises(ValueError, match=r"id -1 at position \(0, 0\)"):
        m.forward(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="longer than the model's max_len=6"):
        m.forward(np.ones((1, 7), np.int64))
    with pytest.raises(ValueError, match="positive integer"):
        TinyBERT(20, 0, dim=0)
    with pytest.raises(ValueError, match="no tokenizer"):
        m.embed(["x"])


def test_save_load(tmp_path, tok):
    m = TinyBERT(tok.vocab_size, tok.pad_id, max_len=16, dim=16, depth=1, num_heads=2, mlp_hidden=32,
                 tokenizer=tok, seed=0)
    path = tmp_path / "bert.npz"
    m.save(path)
    again = TinyBERT.from_file(path)
    texts = ["the cat sat", "in the beginning"]
    np.testing.assert_array_equal(again.embed(texts), m.embed(texts))
    assert again.tokenizer.merges == tok.merges and again.tokenizer.special_tokens == tok.special_tokens
    other = TinyBERT(tok.vocab_size, tok.pad_id, max_len=16, dim=16, depth=1, num_heads=4, mlp_hidden=32,
                     tokenizer=tok, seed=2)
    before = other.embed(texts)
    with pytest.raises(ValueError, match=r"num_heads=2 \(here 4\)"):
        other.load(path)
    np.testing.assert_array_equal(other.embed(texts), before)   # untouched
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        TinyBERT.from_file(bad)
    same = TinyBERT(tok.vocab_size, tok.pad_id, max_len=16, dim=16, depth=1, num_heads=2, mlp_hidden=32,
                    tokenizer=tok, seed=5)
    np.testing.assert_array_equal(same.load(path).embed(texts), m.embed(texts))


# ------------------------------------------------------------------ reuse: frozen or fine-tuned head
@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_classifier_gradients_through_each_pool(rng, pooling):
    from minembed.text.bert_classifier import BertClassifier

    clf = BertClassifier(tiny(depth=1), 3, pooling=pooling, seed=0)
    errors = check_gradients(clf, padded_ids(rng))
    assert "bert.tok_embed.weight" in errors and "head.weight" in errors


def test_frozen_classifier_trains_only_the_head(rng):
    from minembed.text.bert_classifier import BertClassifier

    bert = tiny()
    before = {k: v.copy() for k, v in bert.state_dict().items()}
    clf = BertClassifier(bert, 2, pooling="mean", finetune=False, seed=0)
    ids = rng.integers(1, 20, (40, 6))
    labels = (ids[:, 1] < 10).astype(np.int64)
    head0 = clf.head.weight.data.copy()
    clf.fit(ids, labels, epochs=2, batch_size=8)
    for k, v in bert.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    assert not np.array_equal(clf.head.weight.data, head0)
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        clf.fit(ids, labels + 1)

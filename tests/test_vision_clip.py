"""TinyCLIP and its captions: the model's gradients by finite differences, zero-shot classification and
retrieval on generated images with planted classes, the logit-scale cap, unknown words, save/load, bad input."""
import math

import numpy as np
import pytest

from minembed.nn import ClipLoss, numerical_gradient
from minembed.vision import CaptionVocab, TinyCLIP, class_captions, digit_captions, recall_at_k
from minembed.vision.captions import TEST_TEMPLATES, TRAIN_TEMPLATES, caption_tokens

SMALL = dict(embed_dim=8, image_dim=16, text_dim=8, channels=(4, 8), img_size=12)


def planted_digits(n_per_class=60, seed=0, size=12):
    """Images of "digits" whose class c is a bright 3x3 block at one of 10 places, plus noise: a known structure."""
    rng = np.random.default_rng(seed)
    places = [(r, c) for r in (0, 3, 6, 9) for c in (0, 4, 8)][:10]
    labels = np.repeat(np.arange(10), n_per_class)
    x = rng.uniform(0, 0.3, (len(labels), size, size))
    for i, lab in enumerate(labels):
        r, c = places[lab]
        x[i, r:r + 3, c:c + 3] = rng.uniform(0.8, 1.0, (3, 3))
    order = rng.permutation(len(labels))
    return x[order].astype(np.float32), labels[order]


# ------------------------------------------------------------------ captions
def test_caption_tokens_and_templates():
    assert caption_tokens("The digit 7, written by HAND!") == ["the", "digit", "7", "written", "by", "hand"]
    assert caption_tokens("seven7") == ["seven", "7"]
    assert digit_captions(7)[:2] == ["a handwritten seven", "the digit 7"]
    assert set(TRAIN_TEMPLATES).isdisjoint(TEST_TEMPLATES)          # held out really means held out
    assert len(class_captions()) == 10 and class_captions()[3][1] == "an image of the number three"
    with pytest.raises(ValueError, match="0..9"):
        digit_captions(10)
    with pytest.raises(TypeError, match="str"):
        caption_tokens(7)


def test_vocab_unknown_words_are_unk_and_empty_captions_one_unk():
    vocab = CaptionVocab(["a", "seven", "a"])
    assert vocab.words == ["<unk>", "a", "seven"]
    ids, offsets = vocab.encode(["a seven", "a zebra", "", "?!"])
    np.testing.assert_array_equal(ids, [1, 2, 1, 0, 0, 0])
    np.testing.assert_array_equal(offsets, [0, 2, 4, 5])
    assert "sketch" not in CaptionVocab.default()                   # the held-out word stays unknown
    with pytest.raises(TypeError, match="list of captions"):
        vocab.encode("a seven")


# --------------------------------------------------------------------- model
def test_model_gradients_by_finite_differences():
    tiny = dict(embed_dim=3, image_dim=4, text_dim=3, channels=(2, 2), img_size=8)
    model = TinyCLIP(["a", "the", "digit", "seven", "one", "7", "1"], seed=1, **tiny).astype(np.float64)
    model.logit_scale.data[:] = 1.7
    x, labels = planted_digits(1, seed=2)
    images = model.prepare(x[:5, 2:10, 2:10]).astype(np.float64)
    images += np.random.default_rng(3).normal(0, 0.1, images.shape)  # away from max-pool ties
    ids, offsets = model.encode_captions([digit_captions(lab)[k] for k, lab in enumerate(labels[:5])])
    loss = ClipLoss()

    def f():
        return loss(model.forward(images, ids, offsets))

    model.zero_grad()
    f()
    model.backward(loss.backward())
    for name, p in model.named_parameters():
        numeric = numerical_gradient(f, p.data)
        analytic = np.zeros_like(p.data) if p.grad is None else np.asarray(
            p.grad.to_dense() if hasattr(p.grad, "to_dense") else p.grad)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-7, err_msg=name)


def test_zero_shot_and_retrieval_learn_planted_classes_with_held_out_templates():
    x, y = planted_digits(60, seed=0)
    xt, yt = planted_digits(20, seed=1)
    model = TinyCLIP(seed=0, **SMALL)
    before = model.zero_shot_accuracy(xt, yt, class_captions())
    model.fit(x, [digit_captions(lab) for lab in y], epochs=10, batch_size=30, lr=1e-2, progress=False)
    losses = model.history["train_loss"]
    assert losses[-1] < losses[0]
    acc = model.zero_shot_accuracy(xt, yt, class_captions(TEST_TEMPLATES))
    assert acc > 0.9 > before + 0.3
    texts = [c for lab in range(10) for c in digit_captions(lab, TEST_TEMPLATES)]
    text_labels = np.repeat(np.arange(10), len(TEST_TEMPLATES))
    t2i = recall_at_k(model.embed_texts(texts), text_labels, model.embed_images(xt), yt, ks=(1, 5))
    i2t = recall_at_k(model.embed_images(xt), yt, model.embed_texts(texts), text_labels, ks=(1,))
    assert t2i[1] >= 0.8 and i2t[1] >= 0.8 and t2i[5] >= t2i[1]


def test_embeddings_are_unit_length_float32_and_unknown_words_never_crash():
    model = TinyCLIP(seed=0, **SMALL)
    e = model.embed_texts(["a zebra seven", "a giraffe seven", "", "7", "Ünïcode ☃ 7"])
    assert e.shape == (5, 8) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(e[0], e[1])           # both unknown words read as <unk>
    im = model.embed_images(planted_digits(1)[0])
    assert im.shape == (10, 8) and im.dtype == np.float32


def test_logit_scale_starts_at_clip_value_and_is_capped_at_100():
    model = TinyCLIP(seed=0, **SMALL)
    assert model.scale == pytest.approx(1 / 0.07, rel=1e-6)
    model.logit_scale.data[:] = 6.0                     # exp(6) = 403 > 100
    x, y = planted_digits(4)
    model.fit(x, [digit_captions(lab) for lab in y], epochs=1, batch_size=20, progress=False)
    # clipped to ln 100 after the first step (Adam moves it by ~lr = 2e-3 a step, so from 6 it could
    # not have come down this far by itself), then at most moved down a little
    assert math.log(100) - 0.01 < model.logit_scale.data[0] <= np.float32(math.log(100))
    assert model.scale <= 100.0 + 1e-4


def test_fit_is_reproducible_from_its_seed():
    x, y = planted_digits(5)
    caps = [digit_captions(lab) for lab in y]
    runs = []
    for _ in range(2):
        m = TinyCLIP(seed=4, **SMALL)
        m.fit(x, caps, epochs=2, batch_size=16, seed=9, progress=False)
        runs.append((m.history["train_loss"], m.embed_texts(["seven"])))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_recall_at_k_by_hand():
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    db = np.array([[0.9, 0.1], [0.1, 0.9], [0.8, 0.0]])
    # cosines: query 0 ranks db2 (1.0, label 7), db0 (0.994, label 5), db1; query 1 ranks db1 (label 7) first
    r = recall_at_k(q, [5, 7], db, [5, 7, 7], ks=(1, 2))
    assert r == {1: 0.5, 2: 1.0}
    with pytest.raises(ValueError, match="one label per query"):
        recall_at_k(q, [7], db, [5, 7, 7])
    with pytest.raises(ValueError, match="k must"):
        recall_at_k(q, [5, 7], db, [5, 7, 7], ks=(0,))


# ------------------------------------------------------------------ save/load
def test_save_load_round_trip_and_failed_load_leaves_model_untouched(tmp_path):
    x, y = planted_digits(3)
    a = TinyCLIP(seed=0, **SMALL)
    a.fit(x, [digit_captions(lab) for lab in y], epochs=1, batch_size=10, progress=False)
    path = tmp_path / "clip.npz"
    a.save(path)
    b = TinyCLIP(seed=1, **SMALL).load(path)
    c = TinyCLIP.from_file(path)
    for m in (b, c):
        np.testing.assert_array_equal(m.embed_images(x), a.embed_images(x))
        np.testing.assert_array_equal(m.embed_texts(["a seven"]), a.embed_texts(["a seven"]))
        assert m.scale == a.scale
    other = TinyCLIP(seed=2, **{**SMALL, "embed_dim": 4})
    before = other.state_dict()
    with pytest.raises(ValueError, match="embed_dim"):
        other.load(path)
    other_vocab = TinyCLIP(["a", "seven"], seed=2, **SMALL)
    with pytest.raises(ValueError, match="vocab"):
        other_vocab.load(path)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="broken.npz"):
        other.load(broken)
    for name, arr in other.state_dict().items():
        np.testing.assert_array_equal(arr, before[name])


# ------------------------------------------------------------------ bad input
def test_bad_input():
    x, y = planted_digits(3)
    caps = [digit_captions(lab) for lab in y]
    model = TinyCLIP(seed=0, **SMALL)
    with pytest.raises(ValueError, match="last batch of one pair"):
        model.fit(x[:21], caps[:21], batch_size=10, progress=False)
    with pytest.raises(ValueError, match="at least 2"):
        model.fit(x[:1], caps[:1], batch_size=10, progress=False)
    with pytest.raises(ValueError, match="one caption"):
        model.fit(x, caps[:-1], progress=False)
    with pytest.raises(ValueError, match="unk_prob"):
        model.fit(x, caps, unk_prob=1.0, progress=False)
    with pytest.raises(TypeError, match="int64"):
        model.fit((x * 255).astype(np.int64), caps, progress=False)
    with pytest.raises(ValueError, match="expects images of shape"):
        model.fit(np.zeros((30, 28, 28), np.uint8), caps, progress=False)
    with pytest.raises(ValueError, match="non-finite"):
        model.embed_images(np.full((2, 12, 12), np.nan, np.float32))
    with pytest.raises(ValueError, match="class 1 has no captions"):
        model.classify(x, [["zero"], []])

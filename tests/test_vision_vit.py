"""PatchEmbed, attention, transformer block and the tiny ViT: finite differences, a direct
convolution loop, hand-computed sine tables, bad inputs, save/load and a short training run."""
import math

import numpy as np
import pytest

import minembed as me
from minembed.io import load_npz
from minembed.nn import MLP, MultiHeadSelfAttention, TransformerBlock, check_gradients
from minembed.vision import PatchEmbed, ViT
from minembed.vision.patch_embed import patchify, unpatchify
from minembed.vision.vit import sincos_2d_table, sinusoidal_table


def tiny_vit(**kw):
    cfg = dict(img_size=8, patch_size=4, in_chans=2, num_classes=3, embed_dim=8, depth=2, num_heads=2,
               mlp_hidden=12, seed=0)
    cfg.update(kw)
    return ViT(**cfg)


# ------------------------------------------------------------------ PatchEmbed
def conv2d_direct(x, w, b, stride):
    """The textbook convolution (cross-correlation, no padding), one output value at a time."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    sh, sw = stride
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(n):
        for o in range(f):
            for r in range(oh):
                for s in range(ow):
                    patch = x[i, :, r * sh:r * sh + kh, s * sw:s * sw + kw]
                    out[i, o, r, s] = np.sum(patch * w[o]) + b[o]
    return out


@pytest.mark.parametrize("img,patch,chans", [((8, 8), 4, 1), ((6, 9), 3, 2), ((4, 6), (2, 3), 3)])
def test_patch_embed_equals_strided_convolution(rng, img, patch, chans):
    pe = PatchEmbed(img, patch, chans, 5, flatten=False, seed=1).astype(np.float64)
    x = rng.standard_normal((2, chans, *img))
    p = patch if isinstance(patch, tuple) else (patch, patch)
    expected = conv2d_direct(x, pe.conv_weight, pe.proj.bias.data, stride=p)   # kernel = stride = patch
    got = pe(x)
    assert got.shape == (2, 5, img[0] // p[0], img[1] // p[1])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # flatten=True gives the same numbers as (B, N, D) tokens in row-major grid order
    pe.flatten = True
    tokens = pe(x)
    np.testing.assert_allclose(tokens, got.reshape(2, 5, -1).transpose(0, 2, 1))


def test_rectangular_patch_equals_direct_loop(rng):
    """A (2, 3) patch: compare each token with its own patch times the weight, by hand."""
    pe = PatchEmbed((4, 6), (2, 3), 2, 3, seed=0).astype(np.float64)
    x = rng.standard_normal((1, 2, 4, 6))
    tokens = pe(x)
    w, b = pe.conv_weight, pe.proj.bias.data
    for i in range(2):
        for j in range(2):
            patch = x[0, :, 2 * i:2 * i + 2, 3 * j:3 * j + 3]
            want = np.einsum("chw,dchw->d", patch, w) + b
            np.testing.assert_allclose(tokens[0, i * 2 + j], want, rtol=1e-12)


def test_patchify_unpatchify_round_trip(rng):
    x = rng.standard_normal((3, 2, 6, 9))
    p = patchify(x, 3)
    assert p.shape == (3, 6, 18)
    np.testing.assert_array_equal(p[1, 4], x[1, :, 3:6, 3:6].reshape(-1))  # row 1, column 1 of a 2x3 grid
    np.testing.assert_array_equal(unpatchify(p, 3, (2, 3), 2), x)


@pytest.mark.parametrize("kw,shape", [
    (dict(), (2, 2, 8, 8)),
    (dict(norm="layernorm", flatten=False), (2, 2, 8, 8)),
])
def test_patch_embed_gradients(rng, kw, shape):
    check_gradients(PatchEmbed(8, 4, 2, 6, seed=0, **kw), rng.standard_normal(shape))


def test_patch_embed_dynamic_size_pads_and_differentiates(rng):
    pe = PatchEmbed(8, 3, 1, 4, dynamic_img_size=True, seed=0)
    check_gradients(pe, rng.standard_normal((2, 7, 8)))           # 7x8 -> padded to 9x9, 3x3 grid
    assert pe.last_grid_size == (3, 3)
    x = rng.standard_normal((1, 1, 7, 8))
    padded = np.zeros((1, 1, 9, 9))
    padded[..., :7, :8] = x                                        # zero padding at the bottom and right
    fixed = PatchEmbed(9, 3, 1, 4, seed=1).astype(np.float64)
    fixed.load_state_dict(pe.state_dict())
    np.testing.assert_allclose(pe.forward(x), fixed.forward(padded), rtol=1e-12)


def test_patch_embed_bad_inputs():
    with pytest.raises(ValueError, match=r"28x28 is not divisible by patch size 5x5"):
        PatchEmbed(28, 5, 1, 8)
    PatchEmbed(28, 5, 1, 8, dynamic_img_size=True)                  # allowed, pads
    pe = PatchEmbed(28, 7, 1, 8, seed=0)
    with pytest.raises(ValueError, match=r"built for 1 channel\(s\), got 3"):
        pe(np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"input image size 32x32 does not match the model's 28x28"):
        pe(np.zeros((2, 1, 32, 32), np.float32))
    with pytest.raises(ValueError, match="expects images"):
        pe(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match="patch_size"):
        PatchEmbed(28, 0, 1, 8)
    with pytest.raises(ValueError, match="norm must be"):
        PatchEmbed(28, 7, 1, 8, norm="batchnorm")


def test_patch_embed_accepts_grey_images_without_channel_axis(rng):
    pe = PatchEmbed(8, 4, 1, 3, seed=0).astype(np.float64)
    x = rng.standard_normal((2, 8, 8))
    np.testing.assert_array_equal(pe(x[:, None]), pe(x))
    assert pe.backward(np.ones((2, 4, 3))).shape == (2, 8, 8)


# ------------------------------------------------------------- attention pieces
def attention_by_hand(x, attn):
    """One sample, one head at a time, with Python loops and the softmax written out."""
    b, t, dim = x.shape
    h, d = attn.num_heads, attn.head_dim
    wq, bq = attn.qkv.weight.data, attn.qkv.bias.data
    out = np.zeros((b, t, dim))
    weights = np.zeros((b, h, t, t))
    for n in range(b):
        qkv = x[n] @ wq.T + bq
        heads = []
        for k in range(h):
            q = qkv[:, k * d:(k + 1) * d]
            key = qkv[:, dim + k * d:dim + (k + 1) * d]
            v = qkv[:, 2 * dim + k * d:2 * dim + (k + 1) * d]
            s = q @ key.T / math.sqrt(d)
            e = np.exp(s - s.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            weights[n, k] = p
            heads.append(p @ v)
        out[n] = np.concatenate(heads, axis=1) @ attn.proj.weight.data.T + attn.proj.bias.data
    return out, weights


def test_attention_matches_loops_and_captures_weights(rng):
    attn = MultiHeadSelfAttention(12, 3, seed=0).astype(np.float64)
    x = rng.standard_normal((2, 5, 12))
    attn.store_attention = True
    y = attn(x)
    want, weights = attention_by_hand(x, attn)
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(attn.attention, weights, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(attn.attention.sum(-1), 1.0)
    attn.store_attention = False
    attn(x)
    assert attn.attention is None


@pytest.mark.parametrize("make,shape", [
    (lambda: MultiHeadSelfAttention(8, 2, seed=0), (2, 5, 8)),
    (lambda: MultiHeadSelfAttention(6, 1, qkv_bias=False, seed=1), (3, 4, 6)),
    (lambda: MLP(8, 12, seed=0), (2, 5, 8)),
    (lambda: MLP(8, 12, approximate="tanh", seed=0), (4, 8)),
    (lambda: TransformerBlock(8, 2, 12, seed=0), (2, 5, 8)),
    (lambda: TransformerBlock(6, 3, seed=2), (2, 3, 6)),
])
def test_transformer_piece_gradients(rng, make, shape):
    module = make()
    for p in module.parameters():       # move LayerNorm away from (1, 0) so its backward is really tested
        if p.data.ndim == 1 and np.all(p.data == 1.0):
            p.data = (1.0 + 0.3 * rng.standard_normal(p.shape)).astype(np.float32)
    check_gradients(module, rng.standard_normal(shape))


def test_embed_dim_not_divisible_by_heads():
    with pytest.raises(ValueError, match=r"embed_dim 10 is not divisible by num_heads 4"):
        MultiHeadSelfAttention(10, 4)
    with pytest.raises(ValueError, match=r"embed_dim 64 is not divisible by num_heads 5"):
        ViT(num_heads=5)
    with pytest.raises(ValueError, match=r"\(B, T, 8\)"):
        MultiHeadSelfAttention(8, 2)(np.zeros((2, 8)))


# ------------------------------------------------------------ position tables
def test_sinusoidal_table_hand_values():
    pe = sinusoidal_table(3, 4)
    # columns: sin(p), cos(p), sin(p / 100), cos(p / 100)   (10000^(2/4) = 100)
    np.testing.assert_allclose(pe[0], [0, 1, 0, 1])
    np.testing.assert_allclose(pe[1], [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)])
    np.testing.assert_allclose(pe[2], [math.sin(2), math.cos(2), math.sin(0.02), math.cos(0.02)])
    with pytest.raises(ValueError, match="even dim"):
        sinusoidal_table(3, 5)


def test_sincos_2d_table_is_row_code_then_column_code():
    table = sincos_2d_table((2, 3), 8)
    assert table.shape == (6, 8)
    one_d = sinusoidal_table(3, 4)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(table[i * 3 + j], np.concatenate([one_d[i], one_d[j]]))
    with pytest.raises(ValueError, match="divisible by 4"):
        sincos_2d_table((2, 2), 6)


def test_fixed_positions_are_not_trained(rng):
    m = tiny_vit(pos_embed="sincos")
    assert m.pos_embed is None and "pos_embed" not in m.state_dict()
    np.testing.assert_allclose(m.position_embeddings()[0, 0], 0.0)          # class token gets no code
    np.testing.assert_allclose(m.position_embeddings()[0, 1:], sincos_2d_table((2, 2), 8), rtol=1e-6)


# ---------------------------------------------------------------------- ViT
@pytest.mark.parametrize("kw", [dict(), dict(pool="mean"), dict(pos_embed="sincos"),
                                dict(pool="mean", class_token=False, pos_embed="none", init="torch")])
def test_vit_end_to_end_gradients(rng, kw):
    m = tiny_vit(**kw)
    if m.cls_token is not None:
        m.cls_token.data = rng.standard_normal(m.cls_token.shape).astype(np.float32)
    check_gradients(m, rng.standard_normal((2, 2, 8, 8)))


def test_without_positions_patch_order_does_not_matter(rng):
    """No position embedding: shuffling the patches leaves the class token unchanged (a set, not a sequence)."""
    x = rng.standard_normal((2, 1, 8, 8))
    perm = np.array([3, 1, 0, 2])
    shuffled = unpatchify(patchify(x, 4)[:, perm], 4, (2, 2), 1)
    plain = tiny_vit(in_chans=1, pos_embed="none").astype(np.float64)
    np.testing.assert_allclose(plain.embed(shuffled), plain.embed(x), rtol=1e-9)
    learned = tiny_vit(in_chans=1).astype(np.float64)
    learned.pos_embed.data = rng.standard_normal(learned.pos_embed.shape)
    assert not np.allclose(learned.embed(shuffled), learned.embed(x), rtol=1e-3)


def test_vit_bad_options():
    for kw, msg in [(dict(pos_embed="rope"), "pos_embed"), (dict(pool="max"), "pool"),
                    (dict(pool="cls", class_token=False), "class_token"), (dict(patch_size=5), "not divisible")]:
        with pytest.raises(ValueError, match=msg):
            ViT(**kw)
    m = ViT(seed=0)
    with pytest.raises(ValueError, match="3 images but y has 2"):
        m.fit(np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.int64), progress=False)


def test_vit_save_load_round_trip(tmp_path, rng):
    m = tiny_vit(in_chans=1, pos_embed="sincos", pool="mean")
    x = rng.standard_normal((3, 8, 8)).astype(np.float32)
    path = tmp_path / "vit.npz"
    m.save(path)
    again = ViT.from_file(path)
    np.testing.assert_array_equal(again.logits(x), m.logits(x))
    other = tiny_vit(in_chans=1, pos_embed="sincos", pool="mean", seed=5)
    assert not np.array_equal(other.logits(x), m.logits(x))
    other.load(path)
    np.testing.assert_array_equal(other.logits(x), m.logits(x))
    with pytest.raises(ValueError, match="pos_embed='sincos' \\(here 'learned'\\)"):
        tiny_vit(in_chans=1, pool="mean").load(path)
    with pytest.raises(KeyError, match="pos_embed"):        # the state alone: its names differ
        state = load_npz(path)
        del state["__config__"]
        tiny_vit(in_chans=1, pool="mean").load_state_dict(state)


def test_vit_load_refuses_other_settings_and_changes_nothing(tmp_path, rng):
    # num_heads and pool change what the weights mean but not one shape: this loaded silently
    path = tmp_path / "vit.npz"
    tiny_vit(num_heads=4, seed=1).save(path)
    m = tiny_vit(num_heads=2, pool="mean", class_token=True)
    x = rng.random((2, 2, 8, 8)).astype(np.float32)
    before = m.logits(x)
    with pytest.raises(ValueError, match=r"vit.npz: saved with other settings than this ViT: num_heads=4 \(here 2\), "
                                         r"pool='cls' \(here 'mean'\); use ViT.from_file"):
        m.load(path)
    np.testing.assert_array_equal(m.logits(x), before)
    again = tiny_vit(num_heads=4, seed=2).load(path)          # the same settings load
    np.testing.assert_array_equal(again.logits(x), ViT.from_file(path).logits(x))


def _old_vit_lr(step, total, lr, schedule, warmup, min_lr=0.0):
    """ViT.fit's learning rate before it used CosineSchedule (vision.vit.lr_at), written out as the oracle."""
    floor = min_lr if schedule == "cosine" else lr
    if step < warmup:
        return lr * (step + 1) / warmup
    if step >= total:
        return floor
    s = (step - warmup) / (total - warmup)
    return floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * s))


@pytest.mark.parametrize("kw, warmup", [
    (dict(schedule="cosine"), 2),                         # default warm-up: 5% of the 40 steps
    (dict(schedule="cosine", warmup_steps=7, min_lr=1e-4), 7),
    (dict(schedule="constant"), 0),
    (dict(schedule="constant", warmup_steps=5, min_lr=1e-4), 5),   # min_lr is not used by "constant"
])
def test_fit_lr_per_step_is_the_old_schedule(monkeypatch, kw, warmup):
    used = []
    step = me.nn.Adam.step

    def recording_step(self):
        used.append(self.lr)
        step(self)
    monkeypatch.setattr(me.nn.Adam, "step", recording_step)
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 2, 8, 8)).astype(np.float32), rng.integers(0, 3, 40)
    hist = tiny_vit().fit(x, y, epochs=2, batch_size=2, lr=3e-3, progress=False, **kw)
    expected = [_old_vit_lr(k, 40, 3e-3, kw["schedule"], warmup, kw.get("min_lr", 0.0)) for k in range(40)]
    assert used == expected                          # the same floats, not just close
    assert hist["lr"] == [used[19], used[39]]       # the lr of each epoch's last step


def test_uint8_images_are_scaled_by_255():
    m = ViT(seed=0)
    img = np.full((1, 28, 28), 255, np.uint8)
    np.testing.assert_allclose(m.embed(img), m.embed(np.ones((1, 28, 28), np.float32)), rtol=1e-6)


def test_short_training_run_beats_chance_clearly():
    (x, y), (xt, yt) = me.load_mnist()
    m = ViT(seed=0)
    hist = m.fit(x[:2000], y[:2000], epochs=2, batch_size=32, lr=3e-3, schedule="cosine", x_test=xt[:1000],
                 y_test=yt[:1000], seed=0, progress=False)
    assert len(hist["train_loss"]) == 2 and hist["train_loss"][1] < hist["train_loss"][0] < 2.2
    # chance is ~11% (the most frequent digit); these 126 small steps reach ~62% on held-out digits
    assert hist["test_accuracy"][-1] > 0.4, hist
    emb = m.embed(xt[:10])
    assert emb.shape == (10, 64) and emb.dtype == np.float32
    maps = m.attention_maps(xt[:2].astype(np.float32) / 255)
    assert maps.shape == (2, 4, 17, 17)
    np.testing.assert_allclose(maps.sum(-1), 1.0, rtol=1e-5)

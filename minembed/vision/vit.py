"""A tiny Vision Transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words").

::

    images (B, C, H, W) ──PatchEmbed──▶ (B, N, D) patch tokens
        ──prepend [cls]──▶ (B, 1+N, D) ──+ position embeddings──▶ tokens
        ──TransformerBlock x depth──▶ ──LayerNorm──▶ pool (class token, or mean of patch tokens)
        ──▶ (B, D) image embedding ──Linear head──▶ (B, classes) logits

Position embeddings are either learned (a (1+N, D) parameter) or the fixed 2-D sine/cosine
table of :func:`sincos_2d_table`. Without them the transformer sees a *set* of patches:
shuffle the patches and every output token is shuffled the same way, so the class token
(and the mean) is unchanged — lesson 06 runs that experiment.

Pixels: uint8 images are divided by 255 (to [0, 1]); float images are used as given; other
integer dtypes, NaN and inf are refused (the rule of every image model, :mod:`minembed.vision.pixels`).
"""
from __future__ import annotations

import json

import numpy as np

from ..io import load_npz, save_npz
from ..kernels.blas import blas_threads as _blas_threads
from ..kernels.validate import check_positive_int
from ..nn.attention import TransformerBlock, _trunc_normal_
from ..nn.linear import Linear
from ..nn.losses import CrossEntropyLoss
from ..nn.module import Module, Parameter
from ..nn.norm import LayerNorm
from ..nn.optim import Adam
from ..nn.schedule import make_schedule
from ..nn.train import History, batch_ranges
from ..nn.train import fit as train_loop
from ..rng import make_rng
from .patch_embed import PatchEmbed
from .pixels import check_training_data, prepare_images


# ------------------------------------------------------------------ position tables
def sinusoidal_table(n_positions: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """The Transformer's fixed position code (Vaswani et al. 2017): (n_positions, dim) float64.

    ``PE[pos, 2i] = sin(pos / base^(2i/dim))`` and ``PE[pos, 2i+1] = cos(pos / base^(2i/dim))``:
    each pair of columns is a clock turning at its own frequency, from one radian per
    position down to ``1/base`` radians per position. ``dim`` must be even.
    """
    if n_positions < 1 or dim < 2 or dim % 2:
        raise ValueError(f"need n_positions >= 1 and an even dim >= 2, got {n_positions} and {dim}")
    pos = np.arange(n_positions, dtype=np.float64)[:, None]
    freq = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)    # (dim/2,)
    table = np.empty((n_positions, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq)
    return table


def sincos_2d_table(grid_size, dim: int, base: float = 10000.0) -> np.ndarray:
    """Fixed 2-D position code for a (gh, gw) grid of patches: (gh*gw, dim) float64.

    Patch ``n = i*gw + j`` (row i, column j) gets ``[sinusoidal(i) | sinusoidal(j)]``, each half
    ``dim/2`` wide (as in MAE), so nearby patches get similar codes along both axes.
    ``dim`` must be divisible by 4.
    """
    gh, gw = grid_size
    if dim % 4:
        raise ValueError(f"a 2-D sine/cosine table needs dim divisible by 4, got {dim}")
    rows = sinusoidal_table(gh, dim // 2, base)
    cols = sinusoidal_table(gw, dim // 2, base)
    return np.concatenate([np.repeat(rows, gw, axis=0), np.tile(cols, (gh, 1))], axis=1)


# ---------------------------------------------------------------------------- model
class ViT(Module):
    """Vision Transformer classifier whose class token is the image embedding.

    images (B, H, W) or (B, C, H, W) -> logits (B, num_classes). The defaults are the tiny
    MNIST model: 28x28 grey images, 7x7 patches (16 tokens + the class token), width 64,
    2 blocks of 4 heads, MLP width 128.

    ``pos_embed``: ``"learned"`` (trained, initialised N(0, 0.02^2)), ``"sincos"`` (the fixed
    2-D table, not trained, zero for the class token) or ``"none"``. ``pool``: ``"cls"`` (the
    class token's final vector) or ``"mean"`` (the mean of the patch tokens).
    ``init="torch"`` (default) keeps PyTorch's default U(±1/sqrt(fan_in)) for every Linear;
    ``init="timm"`` draws the blocks' and head's weights from a truncated N(0, 0.02^2) with
    zero bias, as timm does (it learns more slowly in the first few hundred steps on MNIST).
    """

    def __init__(self, img_size=28, patch_size=7, in_chans: int = 1, num_classes: int = 10, embed_dim: int = 64,
                 depth: int = 2, num_heads: int = 4, mlp_hidden: int = 128, pos_embed: str = "learned",
                 pool: str = "cls", class_token: bool = True, qkv_bias: bool = True, approximate: str = "none",
                 eps: float = 1e-6, init: str = "torch", *, rng=None, seed=None, dtype=np.float32):
        if pos_embed not in ("learned", "sincos", "none"):
            raise ValueError(f"pos_embed must be 'learned', 'sincos' or 'none', got {pos_embed!r}")
        if pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', got {pool!r}")
        if pool == "cls" and not class_token:
            raise ValueError("pool='cls' needs class_token=True")
        if init not in ("timm", "torch"):
            raise ValueError(f"init must be 'timm' or 'torch', got {init!r}")
        if depth < 1 or num_classes < 1:
            raise ValueError(f"depth and num_classes must be positive, got {depth} and {num_classes}")
        self.config = dict(img_size=img_size, patch_size=patch_size, in_chans=in_chans, num_classes=num_classes,
                           embed_dim=embed_dim, depth=depth, num_heads=num_heads, mlp_hidden=mlp_hidden,
                           pos_embed=pos_embed, pool=pool, class_token=class_token, qkv_bias=qkv_bias,
                           approximate=approximate, eps=eps, init=init)
        gen = make_rng(rng, seed)
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim, rng=gen, dtype=dtype)
        self.num_prefix = 1 if class_token else 0
        self.pos_kind, self.pool = pos_embed, pool
        n_tokens = self.patch_embed.num_patches + self.num_prefix
        self.cls_token = Parameter((gen.standard_normal((1, 1, embed_dim)) * 1e-6).astype(dtype)) \
            if class_token else None
        self.pos_embed = None
        self._fixed_pos = None
        if pos_embed == "learned":
            w = gen.standard_normal((1, n_tokens, embed_dim))
            self.pos_embed = Parameter((np.clip(w, -2, 2) * 0.02).astype(dtype))
        elif pos_embed == "sincos":
            table = np.zeros((1, n_tokens, embed_dim))
            table[0, self.num_prefix:] = sincos_2d_table(self.patch_embed.grid_size, embed_dim)
            self._fixed_pos = table.astype(dtype)
        self.blocks = [TransformerBlock(embed_dim, num_heads, mlp_hidden, qkv_bias=qkv_bias, approximate=approximate,
                                        eps=eps, rng=gen, dtype=dtype) for _ in range(depth)]
        self.norm = LayerNorm(embed_dim, eps=eps, dtype=dtype)
        self.head = Linear(embed_dim, num_classes, rng=gen, dtype=dtype)
        if init == "timm":
            for block in self.blocks:
                for lin in (block.attn.qkv, block.attn.proj, block.mlp.fc1, block.mlp.fc2):
                    _trunc_normal_(lin, gen, 0.02)
            _trunc_normal_(self.head, gen, 0.02)
        self.embed_dim, self.num_classes = embed_dim, num_classes
        self.history = History()  # every fit call adds its epochs (callbacks see them as they come)
        self._cache = None

    # -------------------------------------------------------------- forward / backward
    @property
    def dtype(self):
        return self.head.weight.data.dtype

    def position_embeddings(self) -> np.ndarray | None:
        """The (1, T, D) table added to the tokens (learned or fixed), or None."""
        if self.pos_embed is not None:
            return self.pos_embed.data
        return self._fixed_pos

    def forward_features(self, images) -> np.ndarray:
        """Images -> final normalised tokens (B, T, D); token 0 is the class token if there is one."""
        x = prepare_images(images, channels=self.patch_embed.in_chans, size=self.patch_embed.img_size,
                           dtype=self.dtype, model="ViT")
        tokens = self.patch_embed.forward(x)                      # (B, N, D)
        b, n, d = tokens.shape
        if self.cls_token is not None:
            full = np.empty((b, n + 1, d), dtype=tokens.dtype)
            full[:, 0] = self.cls_token.data[0, 0]
            full[:, 1:] = tokens
            tokens = full
        pos = self.position_embeddings()
        if pos is not None:
            tokens += pos
        for block in self.blocks:
            tokens = block.forward(tokens)
        t = tokens.shape[1]
        return self.norm.forward(tokens.reshape(b * t, d)).reshape(b, t, d)

    def pool_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """(B, T, D) -> (B, D): the class token, or the mean of the patch tokens."""
        if self.pool == "cls":
            return tokens[:, 0]
        return tokens[:, self.num_prefix:].mean(axis=1)

    def forward(self, images):
        tokens = self.forward_features(images)
        self._cache = tokens.shape
        return self.head.forward(np.ascontiguousarray(self.pool_tokens(tokens)))

    def backward(self, dlogits):
        b, t, d = self._cache
        dpooled = self.head.backward(dlogits)                     # (B, D)
        dtokens = np.zeros((b, t, d), dtype=dpooled.dtype)
        if self.pool == "cls":
            dtokens[:, 0] = dpooled
        else:
            dtokens[:, self.num_prefix:] = (dpooled / (t - self.num_prefix))[:, None, :]
        dtokens = self.norm.backward(dtokens.reshape(b * t, d)).reshape(b, t, d)
        for block in reversed(self.blocks):
            dtokens = block.backward(dtokens)
        if self.pos_embed is not None:
            self.pos_embed.accumulate(dtokens.sum(axis=0, keepdims=True))
        if self.cls_token is not None:
            self.cls_token.accumulate(dtokens[:, 0].sum(axis=0).reshape(1, 1, d))
        return self.patch_embed.backward(dtokens[:, self.num_prefix:])

    # ----------------------------------------------------------------- using the model
    def embed(self, images, batch_size: int = 512) -> np.ndarray:
        """Image embeddings (N, D): the pooled, normalised token (class token by default)."""
        images = np.asarray(images)
        was_training = self.training
        self.eval()
        try:
            out = [np.array(self.pool_tokens(self.forward_features(images[i:i + batch_size])))
                   for i in batch_ranges(len(images), batch_size)]
        finally:
            self.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, self.embed_dim), self.dtype)

    def logits(self, images, batch_size: int = 512) -> np.ndarray:
        """Class scores (N, num_classes), computed in batches."""
        return self.head.forward(self.embed(images, batch_size))

    def predict(self, images, batch_size: int = 512) -> np.ndarray:
        """Predicted class ids (N,)."""
        return self.logits(images, batch_size).argmax(axis=1)

    def accuracy(self, images, labels, batch_size: int = 512) -> float:
        """Fraction of ``images`` whose predicted class equals ``labels``."""
        return float((self.predict(images, batch_size) == np.asarray(labels)).mean())

    def attention_maps(self, images, block: int = -1) -> np.ndarray:
        """Attention weights (B, H, T, T) of one block for these images (row i: where token i looks)."""
        attn = self.blocks[block].attn
        attn.store_attention = True
        try:
            self.forward_features(images)
            maps = attn.attention
        finally:
            attn.store_attention = False
            attn.attention = None
        return maps

    def fit(self, x, y, epochs: int = 3, batch_size: int = 128, lr: float = 1e-3, schedule: str = "constant",
            warmup_steps: int | None = None, min_lr: float = 0.0, weight_decay: float = 0.0, x_test=None,
            y_test=None, seed: int = 0, progress: bool = True, callbacks=(), blas_threads: int | None = 1):
        """Train with Adam and cross-entropy by :func:`minembed.nn.train.fit`; returns (and extends)
        ``self.history``.

        ``schedule="constant"`` keeps ``lr`` (after an optional warm-up); ``"cosine"`` warms up
        linearly over ``warmup_steps`` (default: 5% of all steps of this call, at least 1) and then
        decays along a half cosine to ``min_lr`` (:class:`~minembed.nn.CosineSchedule`, stepped
        after every batch). Batches are a fresh permutation each epoch drawn from ``seed``. Every
        image and label (and ``x_test``/``y_test``) is checked before the first step.

        Each epoch appends to ``history`` (:class:`~minembed.nn.train.History`, the same keys as
        every model's): ``epoch``, ``train_loss`` (the mean over the epoch's images, float64),
        ``lr`` (of the epoch's last step), ``seconds`` (training time, evaluation excluded) and,
        when ``x_test``/``y_test`` are given, ``test_accuracy``. ``callbacks``:
        :class:`~minembed.nn.train.Callback` objects (``on_epoch_end(model)`` etc.).

        ``blas_threads=1`` (default) runs NumPy's OpenBLAS on one thread while training: this
        model's matrices are small, and a second BLAS thread gains ~25% on an idle machine but
        can cost 10x on a busy one (see :mod:`minembed.kernels.blas`). ``None`` leaves it alone.
        """
        x, y, x_test, y_test = check_training_data(x, y, x_test, y_test, channels=self.patch_embed.in_chans,
                                                   size=self.patch_embed.img_size, num_classes=self.num_classes,
                                                   model="ViT", dtype=self.dtype)
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        total = epochs * -(-len(x) // batch_size)
        if warmup_steps is None:
            warmup_steps = max(1, total // 20) if schedule == "cosine" else 0
        opt = Adam(self.parameters(), lr=lr, weight_decay=weight_decay)
        sched = make_schedule(opt, schedule, total, warmup_steps, min_lr)
        evaluate = None if x_test is None else (lambda: self.accuracy(x_test, y_test))
        with _blas_threads(blas_threads):
            # the pixels are prepared by forward (prepare_images), so no prepare= here
            self.history = train_loop(self, x, y, loss_fn=CrossEntropyLoss(), optimizer=opt, schedule=sched,
                                      epochs=epochs, batch_size=batch_size, seed=seed, evaluate=evaluate,
                                      history=self.history, progress=progress, callbacks=callbacks,
                                      desc="ViT epoch")
        return self.history

    # ------------------------------------------------------------------- saving
    def save(self, path) -> None:
        """Parameters plus the constructor arguments (as a JSON string array) in one ``.npz``."""
        save_npz(path, __config__=np.array(json.dumps(self.config)), **self.state_dict())

    def load(self, path) -> ViT:
        """Load parameters saved by :meth:`save` into this identically configured model.

        A file saved with other settings is refused (``ValueError`` naming them) even where the
        shapes agree (``num_heads``, ``pool``, ``eps`` change what the weights mean); a failed
        load leaves the model untouched.
        """
        state = load_npz(path)
        if "__config__" in state:
            saved = json.loads(str(state.pop("__config__")))
            own = json.loads(json.dumps(self.config))       # tuples -> lists, as stored
            differ = sorted(k for k in own.keys() | saved.keys() if own.get(k) != saved.get(k))
            if differ:
                raise ValueError(f"{path}: saved with other settings than this ViT: "
                                 + ", ".join(f"{k}={saved.get(k)!r} (here {own.get(k)!r})" for k in differ)
                                 + "; use ViT.from_file to rebuild the saved model")
        self.load_state_dict(state, source=path)
        return self

    @classmethod
    def from_file(cls, path) -> ViT:
        """Rebuild a model saved by :meth:`save` (its configuration is stored in the file)."""
        state = load_npz(path)
        if "__config__" not in state:
            raise ValueError(f"{path} has no __config__ entry; build the ViT yourself and call .load()")
        config = json.loads(str(state.pop("__config__")))
        for key in ("img_size", "patch_size"):
            if isinstance(config[key], list):
                config[key] = tuple(config[key])
        model = cls(**config, seed=0)
        model.load_state_dict(state, source=path)
        return model

    def extra_repr(self) -> str:
        c = self.config
        return (f"patch={c['patch_size']}, tokens={self.patch_embed.num_patches}+{self.num_prefix}, "
                f"dim={c['embed_dim']}, depth={c['depth']}, heads={c['num_heads']}, mlp={c['mlp_hidden']}, "
                f"pos={c['pos_embed']}, pool={c['pool']}")

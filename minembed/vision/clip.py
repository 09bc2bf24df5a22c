"""TinyCLIP: an image encoder and a caption encoder trained so that a picture and its caption land
close together in one space (Radford et al. 2021, "CLIP", made small enough for MNIST and 2 cores).

    image (N, 28, 28)  -> TinyCNN's layers up to its 64-d embedding -> ReLU -> Linear(64, D)   -> x (N, D)
    caption (N words)  -> EmbeddingBag(V, text_dim, mean) over its word ids -> Linear(text_dim, D) -> t (N, D)
    loss               =  ClipLoss((x, t, exp(logit_scale)))   symmetric InfoNCE over the batch (nn.ClipLoss)

The batch is its own set of negatives: image i must pick caption i among the batch's N captions, and
caption i must pick image i. Nothing in the loss says "seven"; it only says which image goes with which
sentence. The only labels used are the ones the captions were written from.

The logit scale ``s = exp(logit_scale)`` (1 / temperature) is learned, as in CLIP: it starts at
``ln(1 / 0.07)`` (s = 14.3) and, after every optimizer step, ``logit_scale`` is clipped to
``[0, ln 100]``. The cap is therefore on the scale (s <= 100) and applied to its log, the parameter,
exactly as CLIP's training code clamps ``logit_scale`` to ln 100 = 4.6052 (and at 0 from below).

Zero-shot classification (:meth:`TinyCLIP.classify`): embed a few captions per class (e.g. the
held-out templates of :mod:`minembed.vision.captions`), average each class's unit vectors, and give
each image the class whose caption vector is most similar. Retrieval (:func:`recall_at_k`) uses the
exact search of :mod:`minembed.space.search`.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

from ..io import load_npz, save_npz
from ..kernels.blas import blas_threads as _blas_threads
from ..kernels.validate import check_positive_int
from ..nn.activations import ReLU
from ..nn.embedding import EmbeddingBag
from ..nn.linear import Linear
from ..nn.losses import ClipLoss
from ..nn.module import Module, Parameter, Sequential
from ..nn.optim import Adam
from ..nn.schedule import make_schedule
from ..nn.train import History, batch_ranges
from ..nn.train import fit as train_loop
from ..rng import make_rng
from ..space.search import normalize, topk
from .captions import CaptionVocab
from .cnn import TinyCNN
from .pixels import check_images

INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = 100.0


class TinyCLIP(Module):
    """Two encoders into one ``embed_dim``-d space, trained with :class:`~minembed.nn.ClipLoss`.

    ``vocab``: a :class:`~minembed.vision.captions.CaptionVocab` or a list of words (default: the
    words of the training caption templates); words outside it read as ``<unk>``. ``image_dim``
    (64) is TinyCNN's embedding width, ``text_dim`` (32) the word vectors' width, ``channels`` the
    CNN's. float32 parameters initialised from ``seed`` / ``rng``.

    ``forward(images, ids, offsets)`` takes *prepared* images (:meth:`prepare`) and captions as flat
    word ids + offsets (:meth:`CaptionVocab.encode`) and returns ``(x, t, s)``: image (N, D) and text
    (N, D) embeddings (not yet unit length) and the scale ``exp(logit_scale)``, the outputs the
    loss takes. ``backward((dx, dt, ds))`` fills every gradient.
    """

    def __init__(self, vocab=None, embed_dim: int = 32, *, image_dim: int = 64, text_dim: int = 32,
                 channels: tuple[int, int] = (8, 16), img_size: int = 28, rng=None, seed=None):
        self.vocab = vocab if isinstance(vocab, CaptionVocab) else (
            CaptionVocab.default() if vocab is None else CaptionVocab(vocab))
        embed_dim = check_positive_int(embed_dim, "embed_dim")
        gen = make_rng(rng, seed)
        cnn = TinyCNN(num_classes=1, embed_dim=check_positive_int(image_dim, "image_dim"), img_size=img_size,
                      channels=tuple(channels), rng=gen)
        self._cnn_prepare = cnn.prepare                    # a bound method, not a child: the head is not ours
        self.config = dict(vocab=self.vocab.words, embed_dim=embed_dim, image_dim=image_dim, text_dim=text_dim,
                           channels=list(channels), img_size=img_size)
        self.image_encoder = cnn.features                  # conv, pool, conv, pool, flatten, Linear -> image_dim
        self.image_projection = Sequential(ReLU(), Linear(image_dim, embed_dim, rng=gen))
        self.token_embedding = EmbeddingBag(len(self.vocab), check_positive_int(text_dim, "text_dim"), mode="mean",
                                            rng=gen)
        self.text_projection = Linear(text_dim, embed_dim, rng=gen)
        self.logit_scale = Parameter(np.array([INIT_LOGIT_SCALE], dtype=np.float32))
        self.history = History()

    # ------------------------------------------------------------------ inputs
    def prepare(self, images) -> np.ndarray:
        """Images -> float32 (N, 1, S, S), by TinyCNN's pixel rule (uint8 / 255, floats in [0, 1], MNIST-normalised)."""
        return self._cnn_prepare(images)

    def encode_captions(self, captions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Captions -> ``(ids, offsets)`` with this model's vocabulary (unknown words -> ``<unk>``)."""
        return self.vocab.encode(captions)

    @property
    def scale(self) -> float:
        """The current logit scale ``exp(logit_scale)`` (1 / temperature)."""
        return float(np.exp(self.logit_scale.data[0]))

    # ----------------------------------------------------------------- network
    def forward(self, images, ids, offsets):
        x = self.image_projection.forward(self.image_encoder.forward(images))
        t = self.text_projection.forward(self.token_embedding.forward(ids, offsets))
        return x, t, self.scale

    def backward(self, grads):
        dx, dt, dscale = grads
        self.image_encoder.backward(self.image_projection.backward(dx))
        self.token_embedding.backward(self.text_projection.backward(dt))
        # d/d logit_scale of exp(logit_scale) is exp(logit_scale) itself
        self.logit_scale.accumulate(np.array([dscale * self.scale], dtype=self.logit_scale.data.dtype))
        return None

    # --------------------------------------------------------------- embedding
    def embed_images(self, images, batch_size: int = 1000) -> np.ndarray:
        """Unit-length image embeddings (N, embed_dim) float32 (a dot product with a text embedding is the cosine)."""
        x_all = np.asarray(images)
        outs = [self.image_projection.forward(self.image_encoder.forward(self.prepare(x_all[i:i + batch_size])))
                for i in batch_ranges(len(x_all), batch_size)]
        out = np.concatenate(outs) if outs else np.zeros((0, self.config["embed_dim"]), np.float32)
        return normalize(out).astype(np.float32)

    def embed_texts(self, captions: Sequence[str], batch_size: int = 4096) -> np.ndarray:
        """Unit-length caption embeddings (M, embed_dim) float32; unknown words read as ``<unk>``."""
        if isinstance(captions, str):
            captions = [captions]
        captions = list(captions)
        outs = []
        for i in batch_ranges(len(captions), batch_size):
            ids, offsets = self.encode_captions(captions[i:i + batch_size])
            outs.append(self.text_projection.forward(self.token_embedding.forward(ids, offsets)))
        out = np.concatenate(outs) if outs else np.zeros((0, self.config["embed_dim"]), np.float32)
        return normalize(out).astype(np.float32)

    def class_embeddings(self, class_captions: Sequence[Sequence[str]]) -> np.ndarray:
        """One unit vector per class (C, embed_dim): the mean of its captions' unit embeddings, re-normalised
        (CLIP's prompt ensembling). ``class_captions[c]`` is a list of captions (or one str) for class c."""
        rows = []
        for c, caps in enumerate(class_captions):
            caps = [caps] if isinstance(caps, str) else list(caps)
            if not caps:
                raise ValueError(f"class {c} has no captions to describe it")
            rows.append(self.embed_texts(caps).mean(axis=0))
        return normalize(np.array(rows, dtype=np.float32)).astype(np.float32)

    def classify(self, images, class_captions, batch_size: int = 1000) -> np.ndarray:
        """Zero-shot classification: for each image the class c whose captions' embedding is most
        similar (cosine), ``argmax_c u_image . w_c``. Returns (N,) int64 class numbers."""
        w = self.class_embeddings(class_captions)
        return (self.embed_images(images, batch_size) @ w.T).argmax(axis=1).astype(np.int64)

    def zero_shot_accuracy(self, images, labels, class_captions, batch_size: int = 1000) -> float:
        """Fraction of images whose zero-shot class (:meth:`classify`) equals ``labels``."""
        labels = np.asarray(labels)
        if labels.shape != (len(images),):
            raise ValueError(f"labels must be ({len(images)},), one per image, got {labels.shape}")
        return float((self.classify(images, class_captions, batch_size) == labels).mean())

    # ---------------------------------------------------------------- training
    def fit(self, images, captions, epochs: int = 3, batch_size: int = 256, lr: float = 4e-3, seed: int = 0,
            unk_prob: float = 0.05, schedule: str = "cosine", warmup_steps: int = 0, evaluate=None,
            metric: str = "zero_shot_accuracy", progress: bool = True, blas_threads: int | None = 1,
            callbacks=()) -> History:
        """Train both encoders and the logit scale with Adam on ClipLoss by :func:`minembed.nn.train.fit`.

        ``images`` (N, 28, 28) uint8 (or floats in [0, 1]); ``captions``: N items, each a caption
        (str) or a list of captions of which one is drawn at random every time the image is in a
        batch (how the MNIST captions vary: ``digit_captions(label)`` for each image). Every image
        and caption is checked before the first step. ``unk_prob``: the chance that a word of a
        training caption is read as ``<unk>`` (so the unknown-word vector is trained, see
        :mod:`~minembed.vision.captions`). Each batch must hold at least 2 pairs (ClipLoss has no
        negatives otherwise), so N % batch_size == 1 is refused up front. ``schedule`` "cosine"
        (default) or "constant"; ``evaluate``: a function of no arguments whose value is recorded
        under ``metric`` after each epoch. Returns ``self.history``.
        """
        pairs = _CaptionedImages(self, images, captions, unk_prob, make_rng(seed=seed + 1))
        n = len(pairs)
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        if n < 2:
            raise ValueError(f"TinyCLIP.fit needs at least 2 image-caption pairs (negatives), got {n}")
        if n % batch_size == 1:
            raise ValueError(f"{n} pairs in batches of {batch_size} leave a last batch of one pair, which has no "
                             f"negatives: use batch_size={batch_size + 1} or drop one pair")
        opt = _ClampLogitScale(Adam(self.parameters(), lr=lr), self.logit_scale)
        sched = make_schedule(opt.inner, schedule, epochs * -(-n // batch_size), warmup_steps)
        with _blas_threads(blas_threads):
            self.history = train_loop(self, pairs, np.zeros(n, np.int8), loss_fn=ClipLoss(), optimizer=opt,
                                      schedule=sched, epochs=epochs, batch_size=batch_size, seed=seed,
                                      evaluate=evaluate, metric=metric, history=self.history,
                                      progress=progress, callbacks=callbacks, desc="TinyCLIP epoch")
        return self.history

    # ------------------------------------------------------------ save / load
    def save(self, path) -> None:
        """Parameters, the vocabulary and the settings in one ``.npz`` (written atomically)."""
        save_npz(path, __config__=np.array(json.dumps(self.config)), **self.state_dict())

    def load(self, path) -> TinyCLIP:
        """Load a model saved by :meth:`save` into this identically built one (same settings and
        vocabulary; ``ValueError`` naming what differs). A failed load leaves the model untouched."""
        state = load_npz(path)
        if "__config__" not in state:
            raise ValueError(f"{path} has no __config__ entry: not a file written by TinyCLIP.save")
        saved = json.loads(str(state.pop("__config__")))
        differ = sorted(k for k in self.config.keys() | saved.keys() if self.config.get(k) != saved.get(k))
        if differ:
            raise ValueError(f"{path}: saved with other settings than this TinyCLIP: {', '.join(differ)} differ; "
                             "use TinyCLIP.from_file to rebuild the saved model")
        self.load_state_dict(state, source=path)
        return self

    @classmethod
    def from_file(cls, path) -> TinyCLIP:
        """Rebuild a model saved by :meth:`save` (its settings and vocabulary are in the file)."""
        state = load_npz(path)
        if "__config__" not in state:
            raise ValueError(f"{path} has no __config__ entry: not a file written by TinyCLIP.save")
        config = json.loads(str(state["__config__"]))
        model = cls(config.pop("vocab"), **{k: (tuple(v) if k == "channels" else v) for k, v in config.items()})
        return model.load(path)

    def extra_repr(self) -> str:
        c = self.config
        return (f"vocab={len(self.vocab)} words, embed_dim={c['embed_dim']}, image_dim={c['image_dim']}, "
                f"text_dim={c['text_dim']}, logit_scale={self.scale:.2f}")


class _ClampLogitScale:
    """An optimizer that, after each step of ``inner``, clips ``logit_scale`` to [0, ln 100] (CLIP's cap)."""

    def __init__(self, inner, logit_scale: Parameter):
        self.inner, self.param = inner, logit_scale

    @property
    def lr(self) -> float:
        return self.inner.lr

    def zero_grad(self) -> None:
        self.inner.zero_grad()

    def step(self) -> None:
        self.inner.step()
        np.clip(self.param.data, 0.0, math.log(MAX_LOGIT_SCALE), out=self.param.data)


class _CaptionedImages:
    """The training pairs as :func:`minembed.nn.train.fit` indexes them: ``pairs[ids]`` ->
    ``(prepared images, word ids, offsets)``, a caption drawn for each image from its options and a
    few words turned into ``<unk>`` (``unk_prob``)."""

    def __init__(self, model: TinyCLIP, images, captions, unk_prob: float, rng):
        self.images = np.asarray(images)
        check_images(self.images, channels=1, size=(model.config["img_size"],) * 2, model="TinyCLIP")
        if isinstance(captions, str) or len(captions) != len(self.images):
            got = "one str" if isinstance(captions, str) else f"{len(captions)} items"
            raise ValueError(f"captions must hold one caption (or a list of them) per image: {len(self.images)} "
                             f"images, {got}")
        if not (0.0 <= float(unk_prob) < 1.0):
            raise ValueError(f"unk_prob must be in [0, 1), got {unk_prob!r}")
        self.model, self.unk_prob, self.rng = model, float(unk_prob), rng
        unique: dict[str, int] = {}
        starts, counts, flat = [], [], []
        for i, caps in enumerate(captions):
            caps = [caps] if isinstance(caps, str) else list(caps)
            if not caps:
                raise ValueError(f"image {i} has an empty list of captions")
            starts.append(len(flat))
            counts.append(len(caps))
            for c in caps:
                if not isinstance(c, str):
                    raise TypeError(f"caption of image {i} is a {type(c).__name__}, not a str")
                flat.append(unique.setdefault(c, len(unique)))
        self.starts, self.counts = np.array(starts, np.int64), np.array(counts, np.int64)
        self.options = np.array(flat, np.int64)
        self.tokens = [model.vocab.ids(c) for c in unique]          # word ids of each distinct caption

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, ids):
        pick = self.starts[ids] + (self.rng.random(len(ids)) * self.counts[ids]).astype(np.int64)
        parts = [self.tokens[k] for k in self.options[pick]]
        word_ids = np.concatenate(parts)
        if self.unk_prob:
            word_ids = np.where(self.rng.random(len(word_ids)) < self.unk_prob, 0, word_ids)
        offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])[:-1]]).astype(np.int64)
        return self.model.prepare(self.images[ids]), word_ids, offsets


def recall_at_k(query_embeddings, query_labels, database_embeddings, database_labels,
                ks: Sequence[int] = (1, 5, 10)) -> dict[int, float]:
    """Retrieval recall@k when "relevant" means "same label": the fraction of queries whose k most
    similar database items (cosine, :func:`minembed.space.search.topk`) include at least one of the
    query's label. Works both ways: text queries against images, image queries against captions.
    Returns ``{k: recall}``.
    """
    ql, dl = np.asarray(query_labels), np.asarray(database_labels)
    if ql.shape != (len(query_embeddings),) or dl.shape != (len(database_embeddings),):
        raise ValueError(f"one label per query ({len(query_embeddings)}) and per database item "
                         f"({len(database_embeddings)}), got {ql.shape} and {dl.shape}")
    ks = [check_positive_int(k, "k") for k in ks]
    idx, _ = topk(query_embeddings, database_embeddings, min(max(ks), len(dl)))
    hit = dl[idx] == ql[:, None]
    return {k: float(hit[:, :k].any(axis=1).mean()) for k in ks}

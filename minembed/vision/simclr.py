"""SimCLR (Chen et al. 2020): image embeddings learned without labels, by telling two views of one image apart
from the views of every other image in the batch.

    batch of B images ──Augment twice──▶ 2B views (view i and view i + B come from image i)
        ──backbone (TinyCNN up to its 64-d layer)──▶ h (2B, 64)     <- the embedding kept afterwards
        ──projection head: ReLU → Linear → ReLU → Linear──▶ z (2B, proj_dim)
        ──NTXentLoss(temperature)──▶ each view must pick its partner among the 2B - 1 others

The loss only sees ``z``; the head absorbs what the loss wants but a classifier does not (the
augmentations' invariances are pushed hardest there), which is why :meth:`SimCLR.embed` returns the
backbone's ``h``, as the paper does. How good ``h`` is, is measured with labels *afterwards*:
:func:`linear_evaluation` (logistic regression on frozen embeddings), k-NN
(:func:`minembed.space.evaluate.knn_accuracy`), and :func:`label_budgets`, which compares the frozen
embeddings, the fine-tuned network and the same network trained from scratch on 100, 1,000 or all labels.
"""
from __future__ import annotations

import copy
import json

import numpy as np

from ..io import load_npz, save_npz
from ..kernels.blas import blas_threads as _blas_threads
from ..kernels.validate import check_positive_int
from ..nn.activations import ReLU
from ..nn.linear import Linear
from ..nn.losses import CrossEntropyLoss, NTXentLoss
from ..nn.module import Module, Sequential
from ..nn.optim import Adam
from ..nn.schedule import make_schedule
from ..nn.train import History
from ..nn.train import fit as train_loop
from ..rng import make_rng
from .augment import Augment
from .cnn import TinyCNN
from .pixels import check_images, check_labels


class SimCLR(Module):
    """A TinyCNN backbone plus a projection head, trained by :meth:`fit` on unlabelled images.

    ``embed_dim`` (64), ``channels`` ((8, 16)), ``img_size`` (28), ``in_chans`` (1): the backbone
    (:class:`~minembed.vision.TinyCNN`, whose own classifier head is left untouched by pre-training and
    used by :meth:`classifier` for fine-tuning); ``proj_dim`` (64) and ``hidden_dim`` (default
    ``embed_dim``): the head ``ReLU → Linear(embed_dim, hidden_dim) → ReLU → Linear(hidden_dim, proj_dim)``;
    ``temperature`` (0.2) of the loss; ``num_classes``: the backbone's classifier head (for
    :meth:`classifier`, unused by pre-training); ``augment``: an :class:`~minembed.vision.augment.Augment` (default
    ``Augment()``). Float32 parameters, initialised as in PyTorch from ``seed`` / ``rng``.

    ``forward(x)``: prepared views (2B, in_chans, S, S) -> z (2B, proj_dim); ``backward(dz)`` fills the gradients.
    """

    def __init__(self, embed_dim: int = 64, proj_dim: int = 64, hidden_dim: int | None = None, *,
                 channels: tuple[int, int] = (8, 16), img_size: int = 28, in_chans: int = 1,
                 temperature: float = 0.2, num_classes: int = 10, augment: Augment | None = None, rng=None,
                 seed=None):
        gen = make_rng(rng, seed)
        hidden_dim = embed_dim if hidden_dim is None else hidden_dim
        for name, v in (("embed_dim", embed_dim), ("proj_dim", proj_dim), ("hidden_dim", hidden_dim)):
            check_positive_int(v, name)
        NTXentLoss(temperature)                        # checks the temperature now, not at the first step
        self.temperature = float(temperature)
        self.config = dict(embed_dim=embed_dim, proj_dim=proj_dim, hidden_dim=hidden_dim,
                           channels=list(channels), img_size=img_size, in_chans=in_chans, temperature=temperature,
                           num_classes=num_classes)
        self.backbone = TinyCNN(num_classes, embed_dim, img_size=img_size, in_chans=in_chans,
                                channels=tuple(channels), rng=gen)
        self.projector = Sequential(ReLU(), Linear(embed_dim, hidden_dim, rng=gen), ReLU(),
                                    Linear(hidden_dim, proj_dim, rng=gen))
        self.augment = Augment(img_size=img_size, in_chans=in_chans) if augment is None else augment
        if (self.augment.img_size, self.augment.in_chans) != (img_size, in_chans):
            raise ValueError(f"augment works on {self.augment.in_chans}x{self.augment.img_size}x"
                             f"{self.augment.img_size} images, the model on {in_chans}x{img_size}x{img_size}")
        self.history = History()

    # ---------------------------------------------------------------- network
    def forward(self, x):
        return self.projector.forward(self.backbone.features.forward(x))

    def backward(self, dz):
        return self.backbone.features.backward(self.projector.backward(dz))

    def views(self, images, rng) -> np.ndarray:
        """Two augmented views of each of the B images, prepared for the network: (2B, in_chans, S, S)
        float32, rows ``i`` and ``i + B`` from image ``i`` (the pairing :class:`~minembed.nn.NTXentLoss` expects)."""
        v = np.concatenate([self.augment(images, rng), self.augment(images, rng)])
        return self.backbone.prepare(v)

    def embed(self, images, batch_size: int = 1000) -> np.ndarray:
        """The backbone's embeddings (N, embed_dim) float32 of raw images (no augmentation, no head)."""
        return self.backbone.embed(images, batch_size)

    def project(self, images, batch_size: int = 1000) -> np.ndarray:
        """The projection head's outputs (N, proj_dim): the vectors the loss compared."""
        h = self.embed(images, batch_size)
        return self.projector.forward(h) if len(h) else np.zeros((0, self.config["proj_dim"]), np.float32)

    def classifier(self) -> TinyCNN:
        """A copy of the backbone with its classifier head, for fine-tuning with labels (``.fit(x, y)``)."""
        return copy.deepcopy(self.backbone)

    # --------------------------------------------------------------- training
    def fit(self, x, epochs: int = 10, batch_size: int = 256, lr: float = 1e-3, seed: int = 0,
            schedule: str = "constant", warmup_steps: int = 0, evaluate=None, metric: str = "knn_accuracy",
            progress: bool = True, blas_threads: int | None = 1, callbacks=()) -> History:
        """Contrastive training on unlabelled images ``x`` (N, S, S) or (N, C, S, S); returns ``self.history``.

        Each step: ``batch_size`` images, two :meth:`views` each (so 2 x batch_size rows through the
        network), :class:`~minembed.nn.NTXentLoss` at ``self.temperature``, one Adam (``lr``) step,
        through :func:`minembed.nn.train.fit` (``schedule``/``warmup_steps`` as in TinyCNN.fit). A last
        batch of one image has no negative: a random other image joins it. ``evaluate``: a function of
        no arguments whose value is recorded per epoch under ``metric`` (e.g. a k-NN accuracy of
        :meth:`embed` on labelled images that training never sees). ``seed`` fixes the shuffles and
        the augmentations (their own stream). Every image is checked before the first step.
        """
        x = check_images(x, channels=self.backbone.in_chans, size=(self.backbone.img_size,) * 2, model="SimCLR")
        if len(x) < 2:
            raise ValueError(f"contrastive training needs at least 2 images (the other images are the "
                             f"negatives), got {len(x)}")
        epochs, batch_size = check_positive_int(epochs, "epochs"), check_positive_int(batch_size, "batch_size")
        if batch_size < 2:
            raise ValueError("batch_size must be >= 2: an image's negatives are the other images of its batch")
        aug_rng = make_rng(seed=[seed, 1])

        def prepare(xb):
            if len(xb) < 2:
                xb = np.concatenate([xb, x[aug_rng.integers(0, len(x), 1)]])
            return self.views(xb, aug_rng)

        opt = Adam(self.parameters(), lr=lr)
        sched = make_schedule(opt, schedule, epochs * -(-len(x) // batch_size), warmup_steps)
        dummy = np.zeros(len(x), np.int64)                 # fit wants targets; the pairs are the labels
        with _blas_threads(blas_threads):
            self.history = train_loop(self, x, dummy, loss_fn=NTXentLoss(self.temperature), optimizer=opt,
                                      schedule=sched, epochs=epochs, batch_size=batch_size, seed=seed,
                                      prepare=prepare, evaluate=evaluate, metric=metric, history=self.history,
                                      progress=progress, callbacks=callbacks, desc="SimCLR epoch")
        return self.history

    # ------------------------------------------------------------------- saving
    def save(self, path) -> None:
        """Parameters plus the constructor arguments (JSON) in one ``.npz``, written atomically."""
        save_npz(path, __config__=np.array(json.dumps(self.config)), **self.state_dict())

    def load(self, path) -> SimCLR:
        """Load parameters saved by :meth:`save` into this identically configured model (else ``ValueError``
        naming the settings that differ); a failed load leaves the model untouched."""
        state = load_npz(path)
        saved = json.loads(str(state.pop("__config__"))) if "__config__" in state else None
        if saved is not None and saved != self.config:
            differ = sorted(k for k in saved.keys() | self.config.keys() if saved.get(k) != self.config.get(k))
            raise ValueError(f"{path}: saved with other settings than this SimCLR: "
                             + ", ".join(f"{k}={saved.get(k)!r} (here {self.config.get(k)!r})" for k in differ)
                             + "; use SimCLR.from_file to rebuild the saved model")
        self.load_state_dict(state, source=path)
        return self

    @classmethod
    def from_file(cls, path) -> SimCLR:
        """Rebuild a model saved by :meth:`save` (its configuration is stored in the file)."""
        state = load_npz(path)
        if "__config__" not in state:
            raise ValueError(f"{path} has no __config__ entry; build the SimCLR yourself and call .load()")
        model = cls(**json.loads(str(state.pop("__config__"))), seed=0)
        model.load_state_dict(state, source=path)
        return model

    def extra_repr(self) -> str:
        c = self.config
        return f"embed_dim={c['embed_dim']}, proj_dim={c['proj_dim']}, temperature={c['temperature']}"


# ----------------------------------------------------------------------------------------- evaluation
class LinearProbe(Module):
    """Logistic regression (softmax over ``num_classes``) on fixed feature vectors, standardised with the
    training features' mean and standard deviation: the "linear evaluation" of an embedding."""

    def __init__(self, dim: int, num_classes: int = 10, *, rng=None, seed=None):
        self.linear = Linear(dim, num_classes, rng=make_rng(rng, seed))
        self.mean = np.zeros(dim, np.float32)
        self.scale = np.ones(dim, np.float32)

    def forward(self, f):
        return self.linear.forward((f - self.mean) * self.scale)

    def backward(self, dy):
        self.linear.backward(dy)

    def fit(self, features, labels, epochs: int = 30, batch_size: int = 256, lr: float = 1e-2, seed: int = 0,
            progress: bool = False) -> History:
        """Cross-entropy, Adam, through :func:`minembed.nn.train.fit`; returns the history."""
        f = np.asarray(features, np.float32)
        if f.ndim != 2 or f.shape[1] != self.linear.in_features:
            raise ValueError(f"features must be (N, {self.linear.in_features}), got shape {f.shape}")
        y = check_labels(labels, len(f), self.linear.out_features, "labels")
        self.mean = f.mean(axis=0)
        self.scale = (1.0 / np.maximum(f.std(axis=0), 1e-6)).astype(np.float32)
        opt = Adam(self.parameters(), lr=lr)
        return train_loop(self, f, y, loss_fn=CrossEntropyLoss(), optimizer=opt, epochs=epochs,
                          batch_size=min(batch_size, len(f)), seed=seed, progress=progress, desc="probe epoch")

    def predict(self, features) -> np.ndarray:
        return self.forward(np.asarray(features, np.float32)).argmax(axis=1)


def linear_evaluation(train_features, train_labels, test_features, test_labels, *, num_classes: int = 10,
                      epochs: int = 30, lr: float = 1e-2, seed: int = 0) -> float:
    """Test accuracy of a :class:`LinearProbe` trained on frozen ``train_features`` (the encoder never moves)."""
    probe = LinearProbe(np.shape(train_features)[1], num_classes, seed=seed)
    probe.fit(train_features, train_labels, epochs=epochs, lr=lr, seed=seed)
    return float((probe.predict(test_features) == np.asarray(test_labels)).mean())


def labelled_subset(labels, n: int | None, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` labelled examples, as equal a number per class as possible (all when ``n`` is None)."""
    y = np.asarray(labels)
    if n is None or n >= len(y):
        return np.arange(len(y))
    rng = make_rng(seed=seed)
    order = rng.permutation(len(y))
    classes = np.unique(y)
    per_class = [order[y[order] == c] for c in classes]       # each class's examples, shuffled
    picked, k = [], 0
    while len(picked) < n:                                      # round robin over the classes
        for members in per_class:
            if k < len(members) and len(picked) < n:
                picked.append(members[k])
        k += 1
    return np.sort(np.array(picked, np.int64))


def label_budgets(model: SimCLR, x_train, y_train, x_test, y_test, budgets=(100, 1000, None), *,
                  steps: int = 300, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                  probe_epochs: int = 30, progress: bool = False) -> list[dict]:
    """For each number of labels in ``budgets`` (None = all): test accuracy of

    * ``frozen``: a :class:`LinearProbe` on the pre-trained embeddings of the labelled images;
    * ``fine_tuned``: :meth:`SimCLR.classifier` trained (every layer) on them;
    * ``scratch``: the same TinyCNN from a fresh initialisation trained on them;

    the two networks for the same number of Adam steps (about ``steps``: whole epochs over the labelled
    images). Returns one dict per budget: ``labels``, ``frozen``, ``fine_tuned``, ``scratch``.
    """
    rows = []
    b = model.backbone
    test_emb = model.embed(x_test)
    train_emb = model.embed(x_train)
    for n in budgets:
        idx = labelled_subset(y_train, n, seed)
        xs, ys = x_train[idx], np.asarray(y_train)[idx].astype(np.int64)
        epochs = max(1, round(steps / -(-len(idx) // batch_size)))
        frozen = linear_evaluation(train_emb[idx], ys, test_emb, y_test, epochs=max(probe_epochs, epochs),
                                   seed=seed)
        tuned = model.classifier()
        tuned.fit(xs, ys, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress)
        scratch = TinyCNN(b.num_classes, b.embed_dim, img_size=b.img_size, in_chans=b.in_chans, channels=b.channels,
                          seed=seed + 1)
        scratch.fit(xs, ys, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress)
        rows.append({"labels": len(idx), "frozen": frozen, "fine_tuned": tuned.accuracy(x_test, y_test),
                     "scratch": scratch.accuracy(x_test, y_test)})
    return rows


__all__ = ["SimCLR", "LinearProbe", "linear_evaluation", "labelled_subset", "label_budgets"]

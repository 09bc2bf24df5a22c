"""SimCLR (Chen et al. 2020): image embeddings learned without labels, by telling two views of one image apart
from the views of every other image in the batch.

    batch of B images ──Augment twice──▶ 2B views (view i and view i + B come from image i)
        ──backbone (TinyCNN up to its 64-d layer)──▶ h (2B, 64)     <- the embedding kept afterwards
        ──projection head: ReLU → Linear → ReLU → Linear──▶ z (2B, proj_dim)
        ──NTXentLoss(temperature)──▶ each view must pick its partner among the 2B - 1 others

The loss only sees ``z``; the head absorbs what the loss wants but a classifier does not (the
augmentations' invariances are pushed hardest there), which is why :meth:`SimCLR.embed` returns the
backbone's ``h``, as the paper does. With very few labels, ``h`` and ``z`` side by side
(:meth:`SimCLR.probe_features`) serve a linear probe better than either alone (measured below, on a
validation split). How good the vectors are, is measured with labels *afterwards*:
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
from ..nn.functional import log_softmax
from ..nn.linear import Linear
from ..nn.losses import CrossEntropyLoss, NTXentLoss
from ..nn.module import Module, Sequential
from ..nn.optim import Adam
from ..nn.schedule import make_schedule
from ..nn.train import History
from ..nn.train import fit as train_loop
from ..rng import make_rng
from ..space.search import normalize
from .augment import Augment
from .cnn import TinyCNN
from .pixels import check_images, check_labels


class SimCLR(Module):
    """A TinyCNN backbone plus a projection head, trained by :meth:`fit` on unlabelled images.

    ``embed_dim`` (64), ``channels`` ((8, 16)), ``img_size`` (28), ``in_chans`` (1): the backbone
    (:class:`~minembed.vision.TinyCNN`, whose own classifier head is left untouched by pre-training and
    used by :meth:`classifier` for fine-tuning); ``proj_dim`` (64) and ``hidden_dim`` (default
    ``embed_dim``): the head ``ReLU → Linear(embed_dim, hidden_dim) → ReLU → Linear(hidden_dim, proj_dim)``;
    ``temperature`` (0.5) of the loss; ``num_classes``: the backbone's classifier head (for
    :meth:`classifier`, unused by pre-training); ``augment``: an :class:`~minembed.vision.augment.Augment` (default
    ``Augment()``). Float32 parameters, initialised as in PyTorch from ``seed`` / ``rng``.

    ``forward(x)``: prepared views (2B, in_chans, S, S) -> z (2B, proj_dim); ``backward(dz)`` fills the gradients.

    Why temperature 0.5 (0.2 before) and probe_features: on full MNIST with the last 10,000
    training images held out as a validation set (``bench_simclr.py quality --validation 10000``, 6 epochs,
    5 draws of 100 labels, frozen L2 rows + weight decay by CV), ``h`` / ``z`` / :meth:`probe_features` scored
    89.11 / 89.45 / 90.61% at 0.2, 89.99 / 91.88 / **92.31%** at 0.5 and 89.08 / 88.96 / 90.82% at 1.0; at 0.2,
    wider channels (16, 32), a cosine schedule with 200 warm-up steps and stronger crops (area from 0.3) left
    ``h`` where it was (88.71, 89.10, 89.07%). The test set played no part in the choice.
    """

    def __init__(self, embed_dim: int = 64, proj_dim: int = 64, hidden_dim: int | None = None, *,
                 channels: tuple[int, int] = (8, 16), img_size: int = 28, in_chans: int = 1,
                 temperature: float = 0.5, num_classes: int = 10, augment: Augment | None = None, rng=None,
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
        return self._head(self.embed(images, batch_size))

    def probe_features(self, images, batch_size: int = 1000) -> np.ndarray:
        """``h`` and the head's ``z`` side by side: (N, embed_dim + proj_dim) float32, what the benchmark's
        few-label probe reads. ``h`` keeps what the head throws away (all-label probes like it best), ``z`` is
        where the loss pulled the views of one digit together (100-label probes like it best); measured on a
        validation split, the pair beat both (see the class docstring)."""
        h = self.embed(images, batch_size)
        return np.concatenate([h, self._head(h)], axis=1)

    def _head(self, h: np.ndarray) -> np.ndarray:
        """The projection head on embeddings h (N, embed_dim) -> z (N, proj_dim) float32 (N may be 0)."""
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
WEIGHT_DECAY_GRID = (0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
"""The weight decays :func:`choose_weight_decay` tries by default: none, then roughly x3 to x10 steps up to 1
(with standardised features, a weight of size 1 on every dimension already costs ``dim / 2`` at lambda = 1)."""


def _check_weight_decay(weight_decay) -> float:
    """A finite float >= 0 (``ValueError`` otherwise, ``TypeError`` for a non-number)."""
    if isinstance(weight_decay, (bool, np.bool_)) or not isinstance(weight_decay, (int, float, np.integer,
                                                                                    np.floating)):
        raise TypeError(f"weight_decay must be a number >= 0 (or 'cv' where allowed), got {weight_decay!r}")
    wd = float(weight_decay)
    if not np.isfinite(wd) or wd < 0:
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    return wd


def _check_features(features, dim: int | None = None, name: str = "features") -> np.ndarray:
    """``features`` as float32 (N, D) with every value finite (and D == ``dim`` when given)."""
    f = np.asarray(features, np.float32)
    if f.ndim != 2 or (dim is not None and f.shape[1] != dim):
        raise ValueError(f"{name} must be (N, {dim if dim is not None else 'D'}), got shape {f.shape}")
    bad = np.flatnonzero(~np.isfinite(f).all(axis=1))
    if len(bad):
        raise ValueError(f"{name} holds non-finite values (first in row {int(bad[0])})")
    return f


class LinearProbe(Module):
    """Logistic regression (softmax over ``num_classes``) on fixed feature vectors: the "linear evaluation"
    of an embedding. ``forward``: features (N, dim) -> logits (N, num_classes)::

        u = f / ||f||                     only with ``normalize=True`` (rows onto the unit sphere)
        s = (u - mean) * scale            mean and 1 / std per dimension, of the training rows (set by fit)
        logits = s W^T + b                W (num_classes, dim), b (num_classes,)

    :meth:`fit` minimises ``mean_n CE(logits_n, y_n) + (weight_decay / 2) ||W||_F^2`` (the bias is not
    penalised), so :meth:`backward` adds ``weight_decay * W`` to ``W``'s gradient after the data term's.
    With few labels (100 examples, 64 dimensions) an unpenalised probe can separate the training set
    exactly and then grows ``W`` without bound; the penalty keeps it small. Choose ``weight_decay`` with
    :func:`choose_weight_decay` (cross-validation inside the labelled examples), never on the test set.
    """

    def __init__(self, dim: int, num_classes: int = 10, *, normalize: bool = False, weight_decay: float = 0.0,
                 rng=None, seed=None):
        self.linear = Linear(dim, num_classes, rng=make_rng(rng, seed))
        self.normalize = bool(normalize)
        self.weight_decay = _check_weight_decay(weight_decay)
        self.mean = np.zeros(dim, np.float32)
        self.scale = np.ones(dim, np.float32)

    def _inputs(self, f):
        """Features (N, dim) -> what the linear layer sees: (optionally L2-normalised, then) standardised rows.
        The rows go onto the unit sphere with the embedding space's one ``space.search.normalize``,
        where NT-Xent compares vectors (it scores cosines) and k-NN ranks them."""
        return ((normalize(f) if self.normalize else f) - self.mean) * self.scale

    def forward(self, f):
        return self.linear.forward(self._inputs(f))

    def backward(self, dy):
        """Gradient of the data term (``dy`` = dLoss/dlogits, (N, num_classes)) plus ``weight_decay * W``."""
        self.linear.backward(dy)
        if self.weight_decay:
            self.linear.weight.accumulate(self.weight_decay * self.linear.weight.data)

    def fit(self, features, labels, epochs: int = 30, batch_size: int = 256, lr: float = 1e-2, seed: int = 0,
            progress: bool = False) -> History:
        """Cross-entropy (+ the weight decay), Adam, through :func:`minembed.nn.train.fit`; returns the history
        (its ``train_loss`` is the cross-entropy alone). ``features`` (N, dim), ``labels`` (N,) int."""
        f = _check_features(features, self.linear.in_features)
        y = check_labels(labels, len(f), self.linear.out_features, "labels")
        u = normalize(f) if self.normalize else f
        self.mean = u.mean(axis=0)
        self.scale = (1.0 / np.maximum(u.std(axis=0), 1e-6)).astype(np.float32)
        opt = Adam(self.parameters(), lr=lr)
        return train_loop(self, f, y, loss_fn=CrossEntropyLoss(), optimizer=opt, epochs=epochs,
                          batch_size=min(batch_size, len(f)), seed=seed, progress=progress, desc="probe epoch")

    def predict_proba(self, features) -> np.ndarray:
        """Softmax probabilities (N, num_classes) float64."""
        return np.exp(log_softmax(self.forward(np.asarray(features, np.float32)).astype(np.float64), axis=1))

    def predict(self, features) -> np.ndarray:
        """The most probable class of each row: (N,) int64."""
        return self.forward(np.asarray(features, np.float32)).argmax(axis=1)


def stratified_folds(labels, folds: int = 5, seed: int = 0) -> np.ndarray:
    """A fold id in ``[0, folds)`` for every example: (N,) int64, each class spread evenly over the folds.

    Each class's examples are shuffled (``seed``), the classes laid end to end, and the k-th example of that
    list goes to fold ``k mod folds``: fold sizes differ by at most one, and so do a class's counts per fold.
    """
    y = np.asarray(labels)
    folds = check_positive_int(folds, "folds")
    if folds < 2 or folds > len(y):
        raise ValueError(f"folds must be in [2, {len(y)}] (the number of labelled examples), got {folds}")
    rng = make_rng(seed=seed)
    order = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)])
    fold = np.empty(len(y), np.int64)
    fold[order] = np.arange(len(y)) % folds
    return fold


def choose_weight_decay(features, labels, grid=WEIGHT_DECAY_GRID, folds: int = 5, *, num_classes: int = 10,
                        normalize: bool = False, epochs: int = 30, batch_size: int = 256, lr: float = 1e-2,
                        seed: int = 0) -> dict:
    """The :class:`LinearProbe` weight decay chosen by stratified ``folds``-fold cross-validation **inside the
    labelled examples only** (what someone holding just these labels can do; the test set is never looked at).

    ``features`` (N, D), ``labels`` (N,) int. For every lambda in ``grid`` and every fold k, a probe
    (``normalize``, ``epochs``, ``batch_size``, ``lr``, ``seed`` as in :meth:`LinearProbe.fit`) is trained on the
    other folds and predicts fold k, so each example is predicted once per lambda, by a probe that never saw it.
    Scores per lambda over those N held-out predictions::

        accuracy(lambda) = (1/N) sum_n [argmax_c p_c(x_n) == y_n]
        log_loss(lambda) = -(1/N) sum_n log max(p_{y_n}(x_n), 1e-12)

    The choice: the highest accuracy; ties go to the lower log-loss, then to the larger lambda (the simpler
    probe). Cost: ``len(grid) * folds`` probe fits. Returns ``{"weight_decay": float, "grid": (G,) float64,
    "accuracy": (G,) float64, "log_loss": (G,) float64, "folds": (N,) int64 fold ids}``.
    """
    f = _check_features(features)
    y = check_labels(labels, len(f), num_classes, "labels")
    lams = np.array([_check_weight_decay(w) for w in np.atleast_1d(np.asarray(grid, dtype=object))], np.float64)
    if len(lams) == 0:
        raise ValueError("grid must hold at least one weight decay")
    fold = stratified_folds(y, folds, seed)
    acc, loss = np.zeros(len(lams)), np.zeros(len(lams))
    for g, lam in enumerate(lams):
        proba = np.zeros((len(y), num_classes))
        for k in range(folds):
            train, held = fold != k, fold == k
            probe = LinearProbe(f.shape[1], num_classes, normalize=normalize, weight_decay=lam, seed=seed)
            probe.fit(f[train], y[train], epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
            proba[held] = probe.predict_proba(f[held])
        acc[g] = (proba.argmax(axis=1) == y).mean()
        loss[g] = -np.log(np.maximum(proba[np.arange(len(y)), y], 1e-12)).mean()
    best = max(range(len(lams)), key=lambda g: (acc[g], -loss[g], lams[g]))
    return {"weight_decay": float(lams[best]), "grid": lams, "accuracy": acc, "log_loss": loss, "folds": fold}


def linear_evaluation(train_features, train_labels, test_features, test_labels, *, num_classes: int = 10,
                      epochs: int = 30, lr: float = 1e-2, seed: int = 0, normalize: bool = False,
                      weight_decay: float | str = 0.0) -> float:
    """Test accuracy of a :class:`LinearProbe` trained on frozen ``train_features`` (N, D) (the encoder never
    moves) and applied to ``test_features`` (M, D). ``normalize``: L2-normalise the rows first.
    ``weight_decay``: a number >= 0, or ``"cv"``: chosen by :func:`choose_weight_decay` (5 folds, the default
    grid) on the *training* features and labels alone."""
    if isinstance(weight_decay, str):
        if weight_decay != "cv":
            raise ValueError(f"weight_decay must be a number >= 0 or 'cv', got {weight_decay!r}")
        weight_decay = choose_weight_decay(train_features, train_labels, num_classes=num_classes,
                                           normalize=normalize, epochs=epochs, lr=lr, seed=seed)["weight_decay"]
    probe = LinearProbe(np.shape(train_features)[1], num_classes, normalize=normalize, weight_decay=weight_decay,
                        seed=seed)
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
                  probe_epochs: int = 30, normalize: bool = False, weight_decay: float | str = 0.0,
                  embeddings=None, progress: bool = False) -> list[dict]:
    """For each number of labels in ``budgets`` (None = all): test accuracy of

    * ``frozen``: a :class:`LinearProbe` on the pre-trained embeddings of the labelled images
      (``normalize`` and ``weight_decay`` as in :func:`linear_evaluation`; ``"cv"`` chooses the weight decay
      by cross-validation inside the labelled images, and the row then also holds the ``weight_decay`` chosen);
    * ``fine_tuned``: :meth:`SimCLR.classifier` trained (every layer) on them;
    * ``scratch``: the same TinyCNN from a fresh initialisation trained on them;

    the two networks for the same number of Adam steps (about ``steps``: whole epochs over the labelled
    images). ``seed`` draws the labelled subset (:func:`labelled_subset`) and seeds the training: call once
    per seed to see how much the draw of 100 labels matters. ``embeddings``: the model's ``(train, test)``
    embeddings, (N, D) and (M, D), if already computed (else :meth:`SimCLR.embed` is run on all images).
    Returns one dict per budget: ``labels``, ``frozen``, ``fine_tuned``, ``scratch`` (+ ``weight_decay``).
    """
    rows = []
    b = model.backbone
    train_emb, test_emb = (model.embed(x_train), model.embed(x_test)) if embeddings is None else embeddings
    if len(train_emb) != len(x_train) or len(test_emb) != len(x_test):
        raise ValueError(f"embeddings must hold one row per image: {len(x_train)} and {len(x_test)}, got "
                         f"{len(train_emb)} and {len(test_emb)}")
    for n in budgets:
        idx = labelled_subset(y_train, n, seed)
        xs, ys = x_train[idx], np.asarray(y_train)[idx].astype(np.int64)
        epochs = max(1, round(steps / -(-len(idx) // batch_size)))
        probe_ep = max(probe_epochs, epochs)
        row = {"labels": len(idx)}
        wd = weight_decay
        if isinstance(wd, str) and wd == "cv":
            wd = choose_weight_decay(train_emb[idx], ys, num_classes=b.num_classes, normalize=normalize,
                                     epochs=probe_ep, seed=seed)["weight_decay"]
            row["weight_decay"] = wd
        row["frozen"] = linear_evaluation(train_emb[idx], ys, test_emb, y_test, num_classes=b.num_classes,
                                          epochs=probe_ep, seed=seed, normalize=normalize, weight_decay=wd)
        tuned = model.classifier()
        tuned.fit(xs, ys, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress)
        scratch = TinyCNN(b.num_classes, b.embed_dim, img_size=b.img_size, in_chans=b.in_chans, channels=b.channels,
                          seed=seed + 1)
        scratch.fit(xs, ys, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress)
        row["fine_tuned"], row["scratch"] = tuned.accuracy(x_test, y_test), scratch.accuracy(x_test, y_test)
        rows.append(row)
    return rows


__all__ = ["SimCLR", "LinearProbe", "linear_evaluation", "labelled_subset", "label_budgets",
           "stratified_folds", "choose_weight_decay", "WEIGHT_DECAY_GRID"]

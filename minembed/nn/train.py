"""The one training loop: every minembed model trained by mini-batch gradient descent goes through :func:`fit`.

One epoch, written out::

    order = rng.permutation(N)                            # a fresh shuffle from the seeded rng
    for ids in batches of batch_size taken from order:
        optimizer.zero_grad()
        loss = loss_fn(model.forward(x[ids]), y[ids])      # forward caches what backward needs
        model.backward(loss_fn.backward())                 # fills every Parameter.grad
        optimizer.step()                                   # update with this step's lr ...
        schedule.step()                                    # ... then set the next step's lr
    history: epoch, train_loss (mean over the epoch's examples), lr (of the last step), seconds,
             and the evaluation metric (e.g. test_accuracy) when an ``evaluate`` function is given
    every callback's on_epoch_end(model)

A model's ``fit`` method checks its own inputs (labels, pixels), builds the optimizer and the
schedule, and calls :func:`fit`; so TinyCNN, ViT and the bag-of-words classifier train, record and
report alike. Word2Vec's fused Numba trainer is the exception (its loop is a kernel), but it calls
the same :class:`Callback` methods.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ..kernels.validate import check_positive_int
from ..progress import progress as progress_bar
from ..rng import make_rng

HISTORY_KEYS = ("epoch", "train_loss", "lr", "seconds")


class Callback:
    """Hooks called during training (gensim's ``CallbackAny2Vec``): subclass and override what you need.

    Each method receives the model. After an epoch, ``model.history["train_loss"][-1]`` (or, for
    Word2Vec, ``model.loss_history[-1]``) is that epoch's mean loss.
    """

    def on_train_begin(self, model):
        pass

    def on_epoch_begin(self, model):
        pass

    def on_epoch_end(self, model):
        pass

    def on_train_end(self, model):
        pass


class History(dict):
    """Per-epoch records, one list per key: ``epoch`` (1, 2, ... continuing over ``fit`` calls),
    ``train_loss``, ``lr``, ``seconds`` (training time, evaluation excluded) and, once an epoch was
    evaluated, the metric's key (``None`` for the epochs that were not)."""

    def __init__(self):
        super().__init__({key: [] for key in HISTORY_KEYS})

    def append(self, **row) -> None:
        """Add one epoch; every key of the history gets a value (None where the row has none)."""
        n = len(self["epoch"])
        for key in row:
            self.setdefault(key, [None] * n)
        for key, values in self.items():
            values.append(row.get(key))


def check_callbacks(callbacks) -> tuple[Callback, ...]:
    """A tuple of :class:`Callback` objects, or a TypeError naming the one that is not."""
    callbacks = tuple(callbacks or ())
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be minembed.nn.Callback instances, got {type(cb).__name__} "
                            "(subclass Callback and override on_epoch_end)")
    return callbacks


def fit(model, x, y, *, loss_fn, optimizer, epochs: int, batch_size: int, schedule=None, rng=None,
        seed: int | None = None, prepare: Callable | None = None, evaluate: Callable[[], float] | None = None,
        metric: str = "test_accuracy", history: History | None = None, progress: bool = True,
        callbacks: Sequence[Callback] = (), desc: str = "epoch") -> History:
    """Train ``model`` for ``epochs`` passes over ``(x, y)``; returns ``history`` with the new epochs.

    Arguments:
        model: a :class:`~minembed.nn.Module` (``forward``, ``backward``, ``train``, ``eval``).
        x: N examples, anything that ``len()`` and ``x[ids]`` (an int array of ids) work on. When
            ``x[ids]`` is a tuple, it is unpacked: ``model.forward(*x[ids])`` (ids + offsets of bags).
        y: (N,) targets; ``loss_fn(outputs, y[ids])`` returns the batch's mean loss, and
            ``loss_fn.backward()`` its gradient with respect to the outputs.
        optimizer: ``zero_grad()``, ``step()`` and an ``lr`` attribute.
        schedule: stepped after every optimizer step (:class:`~minembed.nn.CosineSchedule`), or None.
        rng / seed: where the shuffles come from (:func:`minembed.rng.make_rng`).
        prepare: applied to each ``x[ids]`` before ``forward`` (e.g. uint8 pixels -> float32).
        evaluate: called after each epoch with the model in eval mode; its value is recorded
            under ``metric`` and printed.
        history: the :class:`History` to extend (a model keeps one across calls); None: a new one.
        progress: a progress bar per epoch and one summary line after it.
        callbacks: :class:`Callback` objects.
    """
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} examples but y has {len(y)} targets")
    if n == 0:
        raise ValueError("no training examples: x is empty")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    callbacks = check_callbacks(callbacks)
    rng = make_rng(rng, seed)
    history = History() if history is None else history
    n_batches = -(-n // batch_size)

    for cb in callbacks:
        cb.on_train_begin(model)
    for _ in range(epochs):
        epoch = len(history["epoch"]) + 1
        for cb in callbacks:
            cb.on_epoch_begin(model)
        model.train()
        order = rng.permutation(n)
        total, start = 0.0, time.perf_counter()
        bar = progress_bar(range(n_batches), enabled=progress, desc=f"{desc} {epoch}", unit="batch", leave=False)
        for b in bar:
            ids = order[b * batch_size:(b + 1) * batch_size]
            xb = x[ids]
            if prepare is not None:
                xb = prepare(xb)
            optimizer.zero_grad()
            loss = loss_fn(model.forward(*xb) if isinstance(xb, tuple) else model.forward(xb), y[ids])
            model.backward(loss_fn.backward())
            optimizer.step()
            last_lr = optimizer.lr
            if schedule is not None:
                schedule.step()
            total += float(loss) * len(ids)
            if b % 20 == 0:
                bar.set_postfix(loss=f"{loss:.4f}", lr=f"{last_lr:.2e}")
        bar.close()
        row = {"epoch": epoch, "train_loss": total / n, "lr": last_lr, "seconds": time.perf_counter() - start}
        if evaluate is not None:
            model.eval()
            row[metric] = float(evaluate())
        model.train()
        history.append(**row)
        if progress:
            shown = f", {metric} {row[metric]:.4f}" if evaluate is not None else ""
            print(f"{desc} {epoch}: train_loss {row['train_loss']:.4f}{shown}, lr {last_lr:.2e}, "
                  f"{row['seconds']:.1f} s", flush=True)
        for cb in callbacks:
            cb.on_epoch_end(model)
    model.eval()
    for cb in callbacks:
        cb.on_train_end(model)
    return history


def batch_ranges(n: int, batch_size: int) -> range:
    """Starts of the inference batches over ``n`` examples (``batch_size`` checked to be an int >= 1)."""
    return range(0, n, check_positive_int(batch_size, "batch_size"))


__all__ = ["fit", "History", "Callback", "HISTORY_KEYS", "check_callbacks", "batch_ranges"]


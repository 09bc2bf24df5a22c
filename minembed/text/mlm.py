"""Masked-language-model pretraining for :class:`~minembed.text.bert.TinyBERT`, through the one loop.

The task (Devlin et al. 2019): hide 15% of the tokens and predict them from both sides. Of the
chosen tokens, 80% become ``[MASK]``, 10% a random token and 10% stay as they are, so the model
cannot learn that only ``[MASK]`` places matter (at use time there is no ``[MASK]``). The loss
is the cross-entropy of the original token at the chosen places only.

Masking is *dynamic* (as in RoBERTa): every time a batch is drawn it is masked afresh, so the
model sees each sentence with different holes in each epoch. :class:`MLMData` does that inside
:func:`minembed.nn.train.fit`: the loop asks ``x[ids]`` for the batch (masked now, from the data's
own seeded generator) and then ``y[ids]`` for its targets (the labels made by that masking).
"""
from __future__ import annotations

import os

import numpy as np

from ..kernels.blas import blas_threads as _blas_threads
from ..kernels.threads import compute_threads
from ..kernels.validate import check_positive_int
from ..nn.losses import CrossEntropyLoss
from ..nn.optim import Adam
from ..nn.schedule import make_schedule
from ..nn.train import History
from ..nn.train import fit as train_loop
from ..rng import make_rng
from .bert import check_ids


def mask_tokens(ids, maskable, mask_id: int, random_ids, rng=None, seed=None, prob: float = 0.15):
    """BERT's 80/10/10 masking of a (B, T) batch.

    ``maskable`` (B, T) bool: where a token may be chosen (not padding, [CLS], [SEP]). Each such
    token is chosen with probability ``prob``; a chosen token becomes ``mask_id`` with probability
    0.8, a token drawn uniformly from ``random_ids`` with 0.1, and stays with 0.1.

    Returns ``(inputs (B, T) int64, masked (M, 2) int64 rows of (sentence, position), labels (M,)
    int64 the original tokens)``; ``ids`` is not changed.
    """
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be in (0, 1), got {prob}")
    gen = make_rng(rng, seed)
    ids = np.asarray(ids)
    chosen = maskable & (gen.random(ids.shape) < prob)
    masked = np.argwhere(chosen)                                   # (M, 2), row-major order
    labels = ids[chosen].astype(np.int64)
    inputs = ids.astype(np.int64, copy=True)
    u = gen.random(len(labels))
    to_mask = u < 0.8
    to_random = (u >= 0.8) & (u < 0.9)
    rows, cols = masked[:, 0], masked[:, 1]
    inputs[rows[to_mask], cols[to_mask]] = mask_id
    random_ids = np.asarray(random_ids, dtype=np.int64)
    inputs[rows[to_random], cols[to_random]] = random_ids[gen.integers(0, len(random_ids), int(to_random.sum()))]
    return inputs, masked.astype(np.int64), labels


def pack_sequences(tokenizer, lines, max_len: int) -> np.ndarray:
    """Lines -> (N, max_len) int64 training sequences ``[CLS] ... [SEP]``: the token stream of all
    lines, cut into pieces of ``max_len - 2`` (RoBERTa's "full sentences" packing: no padding is
    wasted); the last piece is padded."""
    max_len = check_positive_int(max_len, "max_len")
    if max_len < 3:
        raise ValueError(f"max_len must be at least 3 ([CLS], a token, [SEP]), got {max_len}")
    encoded = tokenizer.encode_batch(list(lines))
    stream = np.concatenate(encoded) if encoded else np.zeros(0, np.int32)
    if stream.size == 0:
        raise ValueError("no tokens to pack: the lines are empty")
    width = max_len - 2
    n = -(-len(stream) // width)
    out = np.full((n, max_len), tokenizer.pad_id, dtype=np.int64)
    body = np.full(n * width, tokenizer.pad_id, dtype=np.int64)
    body[:len(stream)] = stream
    out[:, 0] = tokenizer.cls_id
    out[:, 1:-1] = body.reshape(n, width)
    out[:, -1] = tokenizer.pad_id
    out[:-1, -1] = tokenizer.sep_id
    last = len(stream) - (n - 1) * width                          # tokens in the last piece, 1..width
    out[-1, last + 1] = tokenizer.sep_id                          # last + 1 <= max_len - 1
    return out


class MLMData:
    """Sequences (N, T) that mask themselves when indexed: ``data[ids]`` -> ``(inputs, masked)``,
    then ``data.targets[ids]`` -> the labels of that same masking (for :func:`nn.train.fit`)."""

    def __init__(self, sequences, tokenizer, prob: float = 0.15, rng=None, seed=None):
        self.sequences = np.asarray(sequences, dtype=np.int64)
        specials = np.array(sorted(tokenizer.special_tokens.values()), dtype=np.int64)
        self.specials = specials
        self.maskable = ~np.isin(self.sequences, specials)
        self.mask_id = tokenizer.mask_id
        self.random_ids = np.setdiff1d(np.arange(tokenizer.vocab_size), specials)
        self.prob = prob
        self.rng = make_rng(rng, seed)
        self.targets = _Targets(self)
        self._last = None

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, ids):
        inputs, masked, labels = mask_tokens(self.sequences[ids], self.maskable[ids], self.mask_id,
                                             self.random_ids, rng=self.rng, prob=self.prob)
        self._last = (np.asarray(ids), labels)
        return inputs, masked


class _Targets:
    def __init__(self, data: MLMData):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, ids):
        last = self.data._last
        if last is None or not np.array_equal(last[0], np.asarray(ids)):
            raise RuntimeError("MLMData.targets[ids] must follow MLMData[ids] with the same ids")
        return last[1]


def masked_accuracy(model, sequences, tokenizer, seed: int = 0, prob: float = 0.15, batch_size: int = 128,
                    baseline_token: int | None = None) -> dict:
    """Masked-token accuracy on ``sequences`` (N, T), masked once from ``seed`` (so every call and
    every model sees the same holes). Returns ``{"accuracy", "n_masked"}``, plus ``"baseline"``:
    the accuracy of always answering ``baseline_token`` (e.g. the most frequent training token)."""
    data = MLMData(sequences, tokenizer, prob=prob, seed=seed)
    was = model.training
    model.eval()
    hits = n = base = 0
    try:
        for s in range(0, len(data), batch_size):
            ids = np.arange(s, min(s + batch_size, len(data)))
            inputs, masked = data[ids]
            labels = data.targets[ids]
            if len(labels) == 0:
                continue
            hits += int((model.forward(inputs, masked).argmax(axis=1) == labels).sum())
            n += len(labels)
            if baseline_token is not None:
                base += int((labels == baseline_token).sum())
    finally:
        model.train(was)
    out = {"accuracy": hits / max(n, 1), "n_masked": n}
    if baseline_token is not None:
        out["baseline"] = base / max(n, 1)
    return out


def most_frequent_token(sequences, tokenizer) -> int:
    """The most frequent non-special token of ``sequences`` (the baseline's constant answer)."""
    seq = np.asarray(sequences).ravel()
    counts = np.bincount(seq, minlength=tokenizer.vocab_size)
    counts[list(tokenizer.special_tokens.values())] = 0
    return int(counts.argmax())


def pretrain(model, sequences, epochs: int = 1, batch_size: int = 64, lr: float = 1e-3, schedule: str = "cosine",
             warmup_steps: int | None = None, min_lr: float = 0.0, weight_decay: float = 0.0, prob: float = 0.15,
             eval_sequences=None, seed: int = 0, progress: bool = True, callbacks=(), history: History | None = None,
             threads: int | None = None, blas_threads: int | None = 1) -> History:
    """Masked-LM training of ``model`` on (N, T) ``sequences`` with Adam, by :func:`minembed.nn.train.fit`.

    ``eval_sequences``: held-out sequences whose masked-token accuracy (fixed masking, seed 0) is
    recorded after each epoch as ``history["test_accuracy"]``. ``schedule="cosine"`` warms up over
    ``warmup_steps`` (default 5% of the steps) then decays to ``min_lr``.

    ``threads`` (default: every core, ``os.cpu_count()``): each batch is cut into that many shards of
    sentences that go through the model at once (:meth:`TinyBERT.forward`, :mod:`minembed.nn.parallel`),
    each thread's products on one BLAS thread. ``threads=1`` runs the batch whole, with NumPy's BLAS on
    ``blas_threads`` (1: the model's matrices are too small for BLAS's own threads, see
    :mod:`minembed.kernels.blas`).
    """
    tok = model._tok()
    sequences = np.asarray(sequences)
    if sequences.ndim != 2 or len(sequences) == 0:
        raise ValueError(f"sequences must be a non-empty (N, T) array, got shape {sequences.shape}")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    threads = (os.cpu_count() or 1) if threads is None else check_positive_int(threads, "threads")
    check_ids(sequences, model.vocab_size, model.max_len)
    gen = make_rng(seed=seed)
    data = MLMData(sequences, tok, prob=prob, rng=gen)
    total = epochs * -(-len(data) // batch_size)
    if warmup_steps is None:
        warmup_steps = max(1, total // 20) if schedule == "cosine" else 0
    opt = Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = make_schedule(opt, schedule, total, warmup_steps, min_lr)
    evaluate = None
    if eval_sequences is not None:
        eval_sequences = check_ids(eval_sequences, model.vocab_size, model.max_len)
        evaluate = lambda: masked_accuracy(model, eval_sequences, tok)["accuracy"]  # noqa: E731
    with _blas_threads(blas_threads), compute_threads(threads):
        return train_loop(model, data, data.targets, loss_fn=CrossEntropyLoss(), optimizer=opt, schedule=sched,
                          epochs=epochs, batch_size=batch_size, rng=gen, evaluate=evaluate, history=history,
                          progress=progress, callbacks=callbacks, desc="MLM epoch")


TINY = dict(vocab_size=4096, max_len=64, dim=128, depth=2, num_heads=4, mlp_hidden=256)
SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")


def split_lines(lines, held_out: float = 0.02, seed: int = 0) -> tuple[list[str], list[str]]:
    """Non-empty lines split at random into (training, held-out) lists, ``held_out`` of them held out."""
    lines = [s for s in (line.strip() for line in lines) if s]
    if not lines:
        raise ValueError("no text: every line is empty")
    if not 0.0 < held_out < 1.0:
        raise ValueError(f"held_out must be in (0, 1), got {held_out}")
    test = np.zeros(len(lines), bool)
    test[make_rng(seed=seed).permutation(len(lines))[:max(1, int(round(held_out * len(lines))))]] = True
    keep = test.tolist()
    return [s for s, t in zip(lines, keep, strict=True) if not t], [s for s, t in zip(lines, keep, strict=True) if t]


def train_tiny_bert(lines, vocab_size: int = TINY["vocab_size"], max_len: int = TINY["max_len"],
                    dim: int = TINY["dim"], depth: int = TINY["depth"], num_heads: int = TINY["num_heads"],
                    mlp_hidden: int = TINY["mlp_hidden"], epochs: int = 1, batch_size: int = 64, lr: float = 1e-3,
                    held_out: float = 0.02, tokenizer=None, seed: int = 0, progress: bool = True):
    """Tokenizer (trained on the training lines unless given) + TinyBERT pretrained by :func:`pretrain`.

    ``lines``: texts (e.g. one per line of a corpus file), split by :func:`split_lines` into training
    and held-out lines; each part is packed by :func:`pack_sequences`. Returns ``(model, report)``:
    ``report`` has the held-out masked-token ``accuracy``, the ``baseline`` (always answering the most
    frequent training token), ``n_masked``, the numbers of lines and sequences, and ``seconds``.
    """
    import time

    from .bert import TinyBERT
    from .bpe import BPETokenizer

    train_lines, test_lines = split_lines(lines, held_out, seed)
    start = time.perf_counter()
    tok = tokenizer or BPETokenizer.train(train_lines, vocab_size, special_tokens=list(SPECIALS))
    tok_seconds = time.perf_counter() - start
    train_seqs = pack_sequences(tok, train_lines, max_len)
    test_seqs = pack_sequences(tok, test_lines, max_len)
    model = TinyBERT(tok.vocab_size, tok.pad_id, max_len=max_len, dim=dim, depth=depth, num_heads=num_heads,
                     mlp_hidden=mlp_hidden, tokenizer=tok, seed=seed)
    history = pretrain(model, train_seqs, epochs=epochs, batch_size=batch_size, lr=lr, eval_sequences=test_seqs,
                       seed=seed, progress=progress)
    report = masked_accuracy(model, test_seqs, tok, baseline_token=most_frequent_token(train_seqs, tok))
    report.update(train_lines=len(train_lines), test_lines=len(test_lines), train_sequences=len(train_seqs),
                  test_sequences=len(test_seqs), train_tokens=int(train_seqs.size), tokenizer_seconds=tok_seconds,
                  seconds=time.perf_counter() - start, history=history)
    return model, report

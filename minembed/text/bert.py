"""A tiny BERT (Devlin et al. 2019): contextual token vectors learned by masked-language modelling.

::

    ids (B, T) ──token Embedding E (V, D)──▶ + positions P[:T] (+ segments S[type])  (B, T, D)
        ──pre-norm TransformerBlock x depth (padding keys masked)──▶ ──LayerNorm──▶ h (B, T, D)
    MLM head at the M masked places only:  logits = h[masked] E^T + b     (M, V)   (tied to E)

The blocks are the ViT's (:class:`minembed.nn.TransformerBlock`, with their hand-written
backward): a sentence is a sequence of token vectors exactly as an image is a sequence of
patch vectors. What is new for text:

* **padding**: sentences differ in length, so a batch is padded with ``pad_id``; the
  attention gives padded keys a score of ``-inf`` (weight 0), so a sentence's vectors do not
  depend on how much padding follows it.
* **the tied head**: the score of word v at a masked place is ``h · E[v] + b[v]``, the same
  table that embeds the input. ``E`` then gets two gradients that add up: the scatter-add of
  the lookup, and the dense ``dlogits^T h`` of the head.
* **only the masked places are scored**: with V = 4096 and 15% of the tokens masked, computing
  the (B*T, V) logits of every token would cost ~7x the head's useful work (BERT does the same).

Threads: inside :func:`~minembed.kernels.threads.compute_threads` (``pretrain`` sets it),
:meth:`TinyBERT.forward` cuts the batch into one shard of sentences per thread and runs the shards
at once through replicas of the model that share its weights (:mod:`minembed.nn.parallel`);
:meth:`TinyBERT.backward` adds the replicas' gradients into the model's. Same results, up to
the order in which float32 sums are added.

Sequences longer than ``max_len`` (the number of learned positions) raise ``ValueError``;
:meth:`TinyBERT.embed` and :meth:`TinyBERT.token_vectors` truncate only when asked
(``truncate=True``: the first ``max_len - 1`` tokens and ``[SEP]``).
"""
from __future__ import annotations

import json

import numpy as np

from ..io import load_npz, save_npz
from ..kernels.threads import get_compute_threads
from ..nn.attention import TransformerBlock
from ..nn.embedding import Embedding
from ..nn.module import Module, Parameter
from ..nn.norm import LayerNorm
from ..nn.parallel import Replicas, run_shards, shard_bounds, shard_of_rows
from ..rng import make_rng
from .bpe import BPETokenizer

POOLINGS = ("mean", "cls", "max")


def check_ids(ids, vocab_size: int, max_len: int) -> np.ndarray:
    """(B, T) integer ids -> int64, or ``ValueError`` naming the bad id and its place."""
    arr = np.asarray(ids)
    if arr.ndim != 2:
        raise ValueError(f"ids must be a 2-D (batch, length) array, got shape {arr.shape}")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"ids must be integers, got dtype {arr.dtype}")
    if arr.shape[1] > max_len:
        raise ValueError(f"sequences of {arr.shape[1]} tokens are longer than the model's max_len={max_len} "
                         "positions (cut them, or embed(..., truncate=True))")
    bad = np.argwhere((arr < 0) | (arr >= vocab_size))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ValueError(f"id {int(arr[i, j])} at position ({i}, {j}) is outside the vocabulary "
                         f"(valid ids: 0..{vocab_size - 1})")
    return arr.astype(np.int64, copy=False)


class TinyBERT(Module):
    """Encoder + tied MLM head. ``forward(ids, masked=None, token_type_ids=None)``.

    ids (B, T) int, T <= ``max_len``; padding is every ``pad_id``. Without ``masked`` the
    forward returns the final token vectors ``h`` (B, T, D); with ``masked`` (M, 2) int rows of
    (sentence, position) it returns the MLM logits (M, V) at those places. ``backward`` takes
    the gradient of whichever was returned.

    Defaults (the "tiny" config): D = 128, 2 blocks of 4 heads, MLP 256, 64 positions, exact
    GELU, LayerNorm eps 1e-6. Embeddings and positions start N(0, 0.02^2) as in BERT (a unit-scale
    table would make the tied logits ~sqrt(D) large at the start); the output bias starts at 0.
    ``n_segments > 0`` adds BERT's segment (token type) embedding.
    """

    def __init__(self, vocab_size: int, pad_id: int, max_len: int = 64, dim: int = 128, depth: int = 2,
                 num_heads: int = 4, mlp_hidden: int = 256, n_segments: int = 0, eps: float = 1e-6,
                 tokenizer: BPETokenizer | None = None, *, rng=None, seed=None, dtype=np.float32):
        for name, v in (("vocab_size", vocab_size), ("max_len", max_len), ("dim", dim), ("depth", depth),
                        ("num_heads", num_heads), ("mlp_hidden", mlp_hidden)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id={pad_id} is outside the vocabulary 0..{vocab_size - 1}")
        if n_segments < 0:
            raise ValueError(f"n_segments must be >= 0, got {n_segments}")
        if tokenizer is not None and tokenizer.vocab_size != vocab_size:
            raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens but vocab_size={vocab_size}")
        self.config = dict(vocab_size=int(vocab_size), pad_id=int(pad_id), max_len=int(max_len), dim=int(dim),
                           depth=int(depth), num_heads=int(num_heads), mlp_hidden=int(mlp_hidden),
                           n_segments=int(n_segments), eps=float(eps))
        gen = make_rng(rng, seed)
        self.tok_embed = Embedding(vocab_size, dim, _weight=(gen.standard_normal((vocab_size, dim)) * 0.02)
                                   .astype(dtype))
        self.pos_embed = Parameter((gen.standard_normal((max_len, dim)) * 0.02).astype(dtype))
        self.seg_embed = Embedding(n_segments, dim, _weight=(gen.standard_normal((n_segments, dim)) * 0.02)
                                   .astype(dtype)) if n_segments else None
        self.blocks = [TransformerBlock(dim, num_heads, mlp_hidden, eps=eps, rng=gen, dtype=dtype)
                       for _ in range(depth)]
        self.norm = LayerNorm(dim, eps=eps, dtype=dtype)
        self.mlm_bias = Parameter(np.zeros(vocab_size, dtype))
        self.tokenizer = tokenizer
        self.vocab_size, self.pad_id, self.max_len, self.dim = int(vocab_size), int(pad_id), int(max_len), int(dim)
        self._cache = None
        self._replicas = Replicas(self)       # for batches split over threads (forward / backward)
        self._shards = None                   # (replicas, bounds, masked rows of each shard) of the last forward

    @property
    def dtype(self):
        return self.pos_embed.data.dtype

    # ---------------------------------------------------------------- forward / backward
    def encode_ids(self, ids, token_type_ids=None) -> np.ndarray:
        """(B, T) ids -> final normalised token vectors h (B, T, D); caches for :meth:`backward`."""
        ids = check_ids(ids, self.vocab_size, self.max_len)
        b, t = ids.shape
        pad = ids == self.pad_id
        x = self.tok_embed.forward(ids)                           # (B, T, D)
        x += self.pos_embed.data[:t]
        if self.seg_embed is not None:
            types = np.zeros_like(ids) if token_type_ids is None else np.asarray(token_type_ids)
            if types.shape != ids.shape:
                raise ValueError(f"token_type_ids has shape {types.shape}, expected {ids.shape}")
            x += self.seg_embed.forward(types)
        elif token_type_ids is not None:
            raise ValueError("token_type_ids given but the model has no segment embedding (n_segments=0)")
        mask = pad if pad.any() else None                        # no padding: skip the bias add
        for block in self.blocks:
            x = block.forward(x, mask)
        h = self.norm.forward(x.reshape(b * t, self.dim)).reshape(b, t, self.dim)
        self._cache = (b, t, None, None)
        return h

    def forward(self, ids, masked=None, token_type_ids=None):
        """(B, T) ids -> h (B, T, D), or with ``masked`` (M, 2) the MLM logits (M, V); the batch split
        into shards over the threads when :func:`~minembed.kernels.threads.compute_threads` is set."""
        threads = get_compute_threads()
        if threads > 1 and np.shape(ids)[0] > 1:
            return self._forward_shards(threads, ids, masked, token_type_ids)
        self._shards = None
        return self._forward_one(ids, masked, token_type_ids)

    def backward(self, dy):
        """Gradients of the last :meth:`forward`'s output into every parameter (returns None)."""
        if self._shards is None:
            return self._backward_one(dy)
        replicas, bounds, rows_of = self._shards
        run_shards(bounds, lambda k, lo, hi: replicas[k]._backward_one(
            dy[lo:hi] if rows_of is None else dy[rows_of[k]]))
        self._replicas.add_grads(replicas)
        return None

    def _forward_shards(self, threads, ids, masked, token_type_ids):
        """:meth:`forward` with the sentences cut into shards, one per thread, each through a replica."""
        ids = check_ids(ids, self.vocab_size, self.max_len)      # every check before any thread starts
        b, t = ids.shape
        types = None if token_type_ids is None else np.asarray(token_type_ids)
        if types is not None and types.shape != ids.shape:
            raise ValueError(f"token_type_ids has shape {types.shape}, expected {ids.shape}")
        bounds = shard_bounds(b, threads)
        self._shards = None                   # (a replica made now must not copy the last step's replicas)
        replicas = self._replicas.get(len(bounds) - 1)

        def shard_types(lo, hi):
            return None if types is None else types[lo:hi]

        if masked is None:
            parts = run_shards(bounds, lambda k, lo, hi: replicas[k]._forward_one(
                ids[lo:hi], None, shard_types(lo, hi)))
            self._shards = (replicas, bounds, None)
            return np.concatenate(parts)
        m = np.asarray(masked)
        _masked_rows(m, b, t)
        shard = shard_of_rows(m[:, 0], bounds)
        # Shard k's logits are the rows of its masked places. In sentence order (as mask_tokens makes them)
        # those rows are one block, and each shard's head writes straight into it (a view, no copy).
        in_order = bool(np.all(shard[:-1] <= shard[1:]))
        cuts = np.searchsorted(shard, np.arange(len(bounds)))
        rows_of = [slice(cuts[k], cuts[k + 1]) if in_order else np.flatnonzero(shard == k)
                   for k in range(len(bounds) - 1)]
        logits = np.empty((len(m), self.vocab_size), dtype=self.dtype)

        def shard_forward(k, lo, hi):
            part = replicas[k]._forward_one(ids[lo:hi], m[rows_of[k]] - np.array([lo, 0]), shard_types(lo, hi),
                                            out=logits[rows_of[k]] if in_order else None)
            if not in_order:
                logits[rows_of[k]] = part                 # disjoint rows: the threads never write the same one

        run_shards(bounds, shard_forward)
        self._shards = (replicas, bounds, rows_of)
        return logits

    def _forward_one(self, ids, masked=None, token_type_ids=None, out=None):
        """:meth:`forward` of one batch in this thread; ``out``: where to write the logits (M, V), if given."""
        h = self.encode_ids(ids, token_type_ids)
        if masked is None:
            return h
        b, t = h.shape[:2]
        rows = _masked_rows(masked, b, t)
        hm = h.reshape(b * t, self.dim)[rows]                     # (M, D)
        logits = np.matmul(hm, self.tok_embed.weight.data.T, out=out)   # (M, V): tied to the input table
        logits += self.mlm_bias.data
        self._cache = (b, t, rows, hm)
        return logits

    def _backward_one(self, dy):
        b, t, rows, hm = self._cache
        d = self.dim
        if rows is not None:                                      # dy = dlogits (M, V)
            self.mlm_bias.accumulate(dy.sum(axis=0))
            self.tok_embed.weight.accumulate(dy.T @ hm)          # head's share of dE
            dh = np.zeros((b * t, d), dtype=dy.dtype)
            dh[rows] = dy @ self.tok_embed.weight.data
        else:
            dh = dy.reshape(b * t, d)
        dx = self.norm.backward(dh).reshape(b, t, d)
        for block in reversed(self.blocks):
            dx = block.backward(dx)
        self.pos_embed.accumulate(_sum_positions(dx, self.max_len))
        if self.seg_embed is not None:
            self.seg_embed.backward(dx)
        self.tok_embed.backward(dx)                               # lookup's share of dE (scatter-add)
        return None

    # ---------------------------------------------------------------- texts
    def _tok(self) -> BPETokenizer:
        if self.tokenizer is None:
            raise ValueError("this TinyBERT has no tokenizer; pass tokenizer= when building it, or work with ids")
        return self.tokenizer

    def encode_texts(self, texts, truncate: bool = False) -> list[np.ndarray]:
        """Texts -> ``[CLS] tokens [SEP]`` id arrays (int64), each at most ``max_len`` long."""
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not one string (use [text])")
        tok = self._tok()
        out = []
        for i, ids in enumerate(tok.encode_batch(list(texts))):
            n = len(ids) + 2
            if n > self.max_len:
                if not truncate:
                    raise ValueError(f"text {i} is {n} tokens long with [CLS] and [SEP], more than the model's "
                                     f"max_len={self.max_len}; pass truncate=True to keep the first "
                                     f"{self.max_len - 2} tokens")
                ids = ids[:self.max_len - 2]
            out.append(np.concatenate([[tok.cls_id], ids, [tok.sep_id]]).astype(np.int64))
        return out

    def pad(self, seqs) -> np.ndarray:
        """A list of 1-D id arrays -> (B, longest) int64, padded with ``pad_id`` on the right."""
        width = max((len(s) for s in seqs), default=0)
        out = np.full((len(seqs), width), self.pad_id, dtype=np.int64)
        for i, s in enumerate(seqs):
            out[i, :len(s)] = s
        return out

    def _run(self, ids) -> np.ndarray:
        was = self.training
        self.eval()
        try:
            return self.forward(ids)
        finally:
            self.train(was)

    def embed_ids(self, ids, pooling: str = "mean") -> np.ndarray:
        """(B, T) padded ids -> (B, D) sentence vectors; padding never counts in a pool."""
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        ids = check_ids(ids, self.vocab_size, self.max_len)
        return pool(self._run(ids), ids != self.pad_id, pooling)

    def embed(self, texts, pooling: str = "mean", batch_size: int = 256, truncate: bool = False) -> np.ndarray:
        """One vector per text, (N, D) float32: ``"mean"`` of its token vectors ([CLS] and [SEP]
        included, padding not), the ``"cls"`` token's vector, or the element-wise ``"max"``."""
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        seqs = self.encode_texts(texts, truncate)
        out = [self.embed_ids(self.pad(seqs[i:i + batch_size]), pooling) for i in range(0, len(seqs), batch_size)]
        return (np.concatenate(out) if out else np.zeros((0, self.dim))).astype(np.float32)

    def token_vectors(self, text: str, truncate: bool = False) -> tuple[np.ndarray, list[str]]:
        """The contextual vector of each token of ``text`` (with [CLS] and [SEP]): ((T, D) float32,
        the T tokens as strings)."""
        ids = self.encode_texts([text], truncate)[0]
        h = self._run(ids[None])[0]
        return h.astype(np.float32), [self._tok().id_to_token(int(i)) for i in ids]

    def attention_maps(self, text: str, block: int = -1, truncate: bool = False) -> tuple[np.ndarray, list[str]]:
        """Attention weights (H, T, T) of one block over ``text`` (row i: where token i looks), and the tokens."""
        ids = self.encode_texts([text], truncate)[0]
        attn = self.blocks[block].attn
        attn.store_attention = True
        try:
            self._run(ids[None])
            maps = attn.attention[0]
        finally:
            attn.store_attention = False
            attn.attention = None
        return maps, [self._tok().id_to_token(int(i)) for i in ids]

    # ---------------------------------------------------------------- saving
    def save(self, path) -> None:
        """Parameters, the configuration and the tokenizer (both JSON strings) in one ``.npz``, atomically."""
        extra = {"__config__": np.array(json.dumps(self.config))}
        if self.tokenizer is not None:
            extra["__tokenizer__"] = np.array(json.dumps(self.tokenizer.to_dict()))
        save_npz(path, **extra, **self.state_dict())

    @staticmethod
    def _read(path):
        state = load_npz(path)
        if "__config__" not in state:
            raise ValueError(f"{path} is not a TinyBERT file: no __config__ entry")
        try:
            config = json.loads(str(state.pop("__config__")))
            tok_json = state.pop("__tokenizer__", None)
            tok = None if tok_json is None else BPETokenizer(**_tokenizer_args(json.loads(str(tok_json))))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: unreadable TinyBERT configuration or tokenizer: {err}") from None
        return config, tok, state

    def load(self, path) -> TinyBERT:
        """Load a file written by :meth:`save` into this identically configured model (and its
        tokenizer). Other settings raise ``ValueError`` naming them; a failed load changes nothing."""
        config, tok, state = self._read(path)
        differ = sorted(k for k in self.config.keys() | config.keys() if self.config.get(k) != config.get(k))
        if differ:
            raise ValueError(f"{path}: saved with other settings than this TinyBERT: "
                             + ", ".join(f"{k}={config.get(k)!r} (here {self.config.get(k)!r})" for k in differ)
                             + "; use TinyBERT.from_file to rebuild the saved model")
        self.load_state_dict(state, source=path)                 # all or nothing
        if tok is not None:
            self.tokenizer = tok
        return self

    @classmethod
    def from_file(cls, path) -> TinyBERT:
        """Rebuild a model saved by :meth:`save` (configuration and tokenizer come from the file)."""
        config, tok, state = cls._read(path)
        model = cls(**config, tokenizer=tok, seed=0)
        model.load_state_dict(state, source=path)
        return model

    def extra_repr(self) -> str:
        c = self.config
        return (f"vocab={c['vocab_size']}, dim={c['dim']}, depth={c['depth']}, heads={c['num_heads']}, "
                f"mlp={c['mlp_hidden']}, max_len={c['max_len']}")


def _tokenizer_args(d: dict) -> dict:
    if d.get("format") != "minembed-bpe":
        raise ValueError("the stored tokenizer is not a minembed BPE tokenizer")
    return {"merges": d["merges"], "special_tokens": d["special_tokens"]}


def _masked_rows(masked, b: int, t: int) -> np.ndarray:
    m = np.asarray(masked)
    if m.ndim != 2 or m.shape[1] != 2 or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"masked must be an (M, 2) integer array of (sentence, position), got {m.shape} {m.dtype}")
    if m.size and (m.min() < 0 or m[:, 0].max() >= b or m[:, 1].max() >= t):
        raise ValueError(f"masked places must lie inside the ({b}, {t}) batch")
    return m[:, 0].astype(np.int64) * t + m[:, 1]


def _sum_positions(dx: np.ndarray, max_len: int) -> np.ndarray:
    """dP for the (max_len, D) position table: the batch sum of dx (B, T, D) in its first T rows."""
    g = np.zeros((max_len, dx.shape[2]), dtype=dx.dtype)
    g[:dx.shape[1]] = dx.sum(axis=0)
    return g


def pool(h: np.ndarray, keep: np.ndarray, pooling: str) -> np.ndarray:
    """Pool token vectors h (B, T, D) over the tokens where ``keep`` (B, T) is True -> (B, D).

    ``mean``: ``sum_t keep h / sum_t keep``; ``cls``: ``h[:, 0]``; ``max``: the largest value of each
    feature over the kept tokens."""
    if pooling == "cls":
        return np.array(h[:, 0])
    if pooling == "mean":
        w = keep.astype(h.dtype)[..., None]
        return (h * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1)
    if pooling == "max":
        return np.where(keep[..., None], h, -np.inf).max(axis=1)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")

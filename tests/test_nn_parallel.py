"""Data parallelism (nn.parallel, TinyBERT inside compute_threads): the sharded forward and backward give what
the whole batch gives in one thread — the oracle, itself checked against finite differences and PyTorch."""
import numpy as np
import pytest

from minembed.kernels.threads import compute_threads
from minembed.nn import CrossEntropyLoss
from minembed.nn.parallel import Replicas, shard_bounds, shard_of_rows
from minembed.text.bert import TinyBERT
from minembed.text.bpe import BPETokenizer
from minembed.text.mlm import pretrain

SPECIALS = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]


def model(**kw):
    opts = dict(max_len=7, dim=8, depth=2, num_heads=2, mlp_hidden=12, seed=3)
    opts.update(kw)
    return TinyBERT(30, 0, **opts)


def batch(rng, b=5, t=7):
    ids = rng.integers(1, 30, (b, t))
    ids[1, 5:] = 0                                         # padding
    ids[4, 2:] = 0
    # masked places in sentences 0, 1 and 4 only: with 3 threads the middle shard has none
    masked = np.array([[0, 1], [1, 4], [0, 6], [4, 0], [4, 1], [1, 0]])
    labels = rng.integers(0, 30, len(masked))
    return ids, masked, labels


def step(m, threads, ids, masked, labels, **kw):
    m.zero_grad()
    loss_fn = CrossEntropyLoss()
    with compute_threads(threads):
        out = m.forward(ids, masked, **kw)
        loss = loss_fn(out, labels)
        m.backward(loss_fn.backward())
    grads = {n: None if p.grad is None else np.array(p.grad) for n, p in m.named_parameters()}
    return out, loss, grads


def assert_same(a, b):
    out_a, loss_a, grads_a = a
    out_b, loss_b, grads_b = b
    np.testing.assert_allclose(out_a, out_b, rtol=1e-5, atol=1e-6)
    assert loss_a == pytest.approx(loss_b, rel=1e-6)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        assert (grads_a[name] is None) == (grads_b[name] is None), name
        if grads_a[name] is not None:
            np.testing.assert_allclose(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-7, err_msg=name)


def test_shards_by_hand():
    assert shard_bounds(5, 3) == [0, 2, 4, 5]
    assert shard_bounds(2, 8) == [0, 1, 2]                 # never an empty shard
    assert shard_of_rows(np.array([0, 1, 2, 3, 4]), [0, 2, 4, 5]).tolist() == [0, 0, 1, 1, 2]


@pytest.mark.parametrize("in_order", [False, True])
@pytest.mark.parametrize("threads", [2, 3, 5])
def test_sharded_step_equals_the_whole_batch(rng, threads, in_order):
    ids, masked, labels = batch(rng)
    if in_order:                                           # sentence order: each shard's logits are one block
        masked = masked[np.lexsort((masked[:, 1], masked[:, 0]))]
    m = model()
    whole = step(m, 1, ids, masked, labels)
    assert_same(step(m, threads, ids, masked, labels), whole)
    assert_same(step(m, 1, ids, masked, labels), whole)    # and the model itself is unchanged


def test_sharded_token_vectors_and_segments(rng):
    ids, masked, labels = batch(rng)
    types = (np.arange(7) >= 3).astype(np.int64)[None].repeat(5, 0)
    m = model(n_segments=2)
    assert_same(step(m, 2, ids, masked, labels, token_type_ids=types),
                step(m, 1, ids, masked, labels, token_type_ids=types))
    with compute_threads(2):
        h = m.forward(ids)
        m.backward(np.ones_like(h))
    h1 = m.forward(ids)
    np.testing.assert_allclose(h, h1, rtol=1e-5, atol=1e-6)


def test_replicas_share_weights_and_follow_replaced_ones(rng):
    ids, masked, labels = batch(rng)
    m = model()
    step(m, 2, ids, masked, labels)                        # makes the replica
    replica = m._replicas.get(2)[1]
    assert replica is not m and all(a.data is b.data for a, b in zip(m.parameters(), replica.parameters(), strict=True))
    other = model(seed=9)
    m.load_state_dict(other.state_dict())                  # new arrays: the replica must be rebuilt
    assert_same(step(m, 2, ids, masked, labels), step(other, 1, ids, masked, labels))
    m.tok_embed.weight.data += 0.5                         # changed in place (as an optimizer does): seen
    other.tok_embed.weight.data += 0.5
    assert_same(step(m, 2, ids, masked, labels), step(other, 1, ids, masked, labels))


def test_frozen_parameters_and_eval_mode_reach_the_replicas(rng):
    ids, masked, labels = batch(rng)
    m = model()
    step(m, 2, ids, masked, labels)
    m.pos_embed.requires_grad = False
    m.eval()
    out = step(m, 2, ids, masked, labels)
    assert out[2]["pos_embed"] is None
    assert not any(mod.training for mod in m._replicas.get(2)[1].modules())


def test_replicas_of_a_model_with_a_row_sparse_gradient_add_it_up():
    """A sparse Embedding's RowSparseGrad from a replica is added into the model's dense sum."""
    from minembed.nn import Embedding

    table = Embedding(10, 3, sparse=True, seed=0)
    reps = Replicas(table)
    one, two = reps.get(2)
    one.forward(np.array([1, 2]))
    one.backward(np.ones((2, 3), np.float32))
    two.forward(np.array([2, 7]))
    two.backward(np.full((2, 3), 2.0, np.float32))
    reps.add_grads([one, two])
    g = table.weight.grad
    dense = g.to_dense() if hasattr(g, "to_dense") else g
    expected = np.zeros((10, 3), np.float32)
    expected[1] += 1
    expected[2] += 3
    expected[7] += 2
    np.testing.assert_array_equal(dense, expected)
    assert two.weight.grad is None


def test_pretrain_with_threads_follows_the_one_thread_run():
    tok = BPETokenizer((), SPECIALS)
    rng = np.random.default_rng(0)
    seqs = rng.integers(4, 60, (96, 10))
    seqs[:, 0], seqs[:, -1] = tok.cls_id, tok.sep_id
    losses = []
    for threads in (1, 2):
        m = TinyBERT(tok.vocab_size, tok.pad_id, max_len=10, dim=16, depth=1, num_heads=2, mlp_hidden=32,
                     tokenizer=tok, seed=0)
        losses.append(pretrain(m, seqs, epochs=2, batch_size=32, progress=False, threads=threads)["train_loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    with pytest.raises(ValueError, match="threads"):
        pretrain(m, seqs, threads=0, progress=False)

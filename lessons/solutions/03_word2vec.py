"""Solutions to the exercises of lesson 03 (word2vec). Run: python lessons/solutions/03_word2vec.py

Every answer prints what it found and asserts the facts it rests on (never a speed: that depends on the machine)."""
import numpy as np

import minembed as me
from minembed.kernels import sgns

BIBLE = me.load_corpus("bible")


def exercise_1():
    """Hierarchical softmax costs one sigmoid unit per node on the word's Huffman path (frequent words have
    short paths: about 8 on average here, weighted by frequency) instead of 1 + negative = 6, so its speed is
    close to negative sampling's on this vocabulary; its neighbours are as plausible. (The first run also
    compiles the kernel: time it twice to compare speeds.)"""
    for kwargs in (dict(negative=5), dict(hs=1, negative=0)):
        m = me.Word2Vec(BIBLE, vector_size=50, min_count=5, sg=1, epochs=1, seed=1, workers=1, progress=False, **kwargs)
        print(kwargs, f"{m.train_words_per_second:,.0f} words/s; god ->",
              [w for w, _ in m.wv.most_similar("god", topn=5)])
        assert np.all(np.isfinite(m.wv.vectors)) and np.isfinite(m.loss_history[-1])
    codes, points, lengths = sgns.huffman_tree(m.vocab.counts)
    mean_path = np.average(lengths, weights=m.vocab.counts)
    print(f"mean Huffman path length {mean_path:.1f} sigmoid units (log2 V = {np.log2(len(m.vocab)):.1f})")
    assert mean_path < np.log2(len(m.vocab)) + 1


def exercise_2():
    """sample=0 keeps every 'the' and 'and': their many pairs dominate the updates and the vectors of
    frequent words drift toward each other; rare words lose the context of the content words around them."""
    for sample in (1e-3, 0.0):
        m = me.Word2Vec(BIBLE, vector_size=50, min_count=5, sg=1, epochs=2, seed=1, workers=1, sample=sample,
                        progress=False)
        print(f"sample={sample}: the -> {[w for w, _ in m.wv.most_similar('the', topn=5)]}; "
              f"lord -> {[w for w, _ in m.wv.most_similar('lord', topn=5)]}")
        if sample == 0.0:
            assert np.all(m.keep == 2**31)        # every token kept


def exercise_3():
    """Clipping the scores to [-6, 6] changes nothing at the start (scores are tiny: the output vectors start
    at zero); it only bounds the step for the rare pairs that get very confident."""
    rng = np.random.default_rng(0)
    V, D, k = 50, 8, 5
    W_in = ((rng.random((V, D)) - 0.5) / D).astype(np.float64)
    W_out = np.zeros((V, D))
    ctx, cen = rng.integers(0, V, 200), rng.integers(0, V, 200)
    noise = rng.integers(0, V, (200, k))

    def step(W_in, W_out, clip):
        targets = np.concatenate([cen[:, None], noise], axis=1)
        labels = np.zeros(targets.shape)
        labels[:, 0] = 1
        x = np.einsum("bd,btd->bt", W_in[ctx], W_out[targets])
        if clip:
            x = np.clip(x, -6, 6)
        return 1 / (1 + np.exp(-x))

    assert np.allclose(step(W_in, W_out, True), step(W_in, W_out, False))
    big = W_out + 10.0                            # a very confident model: scores far beyond 6
    assert not np.allclose(step(W_in * 10, big, True), step(W_in * 10, big, False))
    print("clipping: identical while scores are small, different once |x| > 6")


def exercise_4():
    """workers=1 with a seed is bit-identical; with workers=2 the threads update shared rows without locks
    (Hogwild), in an order that depends on timing, so two runs differ in the last bits (or more)."""
    runs = [me.Word2Vec(BIBLE, vector_size=32, min_count=5, epochs=1, seed=3, workers=1, progress=False)
            for _ in range(2)]
    assert np.array_equal(runs[0].wv.vectors, runs[1].wv.vectors)
    two = [me.Word2Vec(BIBLE, vector_size=32, min_count=5, epochs=1, seed=3, workers=2, progress=False)
           for _ in range(2)]
    print("workers=1: identical; workers=2: identical?", np.array_equal(two[0].wv.vectors, two[1].wv.vectors),
          f"(largest difference {np.abs(two[0].wv.vectors - two[1].wv.vectors).max():.2e})")


def exercise_5():
    """Without decay (min_alpha = alpha) the on-the-fly loss no longer rises at the end: the bonus of
    learning at rate alpha stays the same size every epoch. The last frozen loss is worse than with the
    decay: the large final steps leave jitter in the vectors that the small steps of a decaying rate remove."""
    results = {}
    for min_alpha in (0.0001, 0.025):
        frozen = []
        m = me.Word2Vec(vector_size=50, window=5, min_count=5, sg=1, negative=5, epochs=4, seed=1, workers=1,
                        min_alpha=min_alpha, progress=False)
        m.build_vocab(BIBLE)
        enc = m.vocab.encode_corpus(BIBLE)
        rng = np.random.default_rng(0)
        sentences = rng.choice(len(enc.offsets) - 1, 1500, replace=False)
        ctx, cen = [], []
        for s in sentences:                        # fixed pairs (window 2 around every kept token)
            w = enc.ids[enc.offsets[s]:enc.offsets[s + 1]]
            for i in range(len(w)):
                for j in range(max(0, i - 2), min(len(w), i + 3)):
                    if j != i:
                        ctx.append(w[j])
                        cen.append(w[i])
        ctx, cen = np.array(ctx), np.array(cen)
        noise = np.searchsorted(m.cum_table, rng.integers(0, 2**31, size=(len(ctx), 5)), side="right")

        class Frozen(me.text.Callback):
            def __init__(self, losses, pairs):
                self.losses, self.pairs = losses, pairs

            def on_epoch_end(self, model):
                loss = sgns.sg_ns_step(model.wv.vectors.copy(), model.syn1neg.copy(), *self.pairs, 0.0)
                self.losses.append(loss.mean())

        m.callbacks = [Frozen(frozen, (ctx, cen, noise))]
        m.train()
        results[min_alpha] = (np.array(m.loss_history), np.array(frozen))
        print(f"min_alpha={min_alpha}: on the fly {np.round(m.loss_history, 3)}, frozen {np.round(frozen, 3)}")
    fly_decay, frozen_decay = results[0.0001]
    fly_flat, frozen_flat = results[0.025]
    rise_decay, rise_flat = fly_decay[-1] - fly_decay[-2], fly_flat[-1] - fly_flat[-2]
    assert rise_flat < rise_decay                  # without decay the last epoch does not jump up as much
    assert frozen_decay[-1] < frozen_flat[-1]      # the decay gives the better final model


if __name__ == "__main__":
    exercise_1()
    exercise_2()
    exercise_3()
    exercise_4()
    exercise_5()
    print("lesson 03 solutions: all checks passed")

"""Solutions to the exercises of lesson 08 (Contextual embeddings).

Run: python lessons/solutions/08_contextual_embeddings.py
"""
import numpy as np

import minembed as me
from minembed.text import BPETokenizer, TinyBERT
from minembed.text.mlm import mask_tokens, masked_accuracy, pack_sequences, pretrain

lines, labels, names = me.load_sources()
order = np.random.default_rng(0).permutation(len(lines))
tok = BPETokenizer.train([lines[i] for i in order[:4000]], vocab_size=600,
                         special_tokens=["[PAD]", "[CLS]", "[SEP]", "[MASK]"])
seqs = pack_sequences(tok, [lines[i] for i in order[:4000]], max_len=32)
test_seqs = pack_sequences(tok, [lines[i] for i in order[-600:]], max_len=32)
bert = TinyBERT(tok.vocab_size, tok.pad_id, max_len=32, dim=48, depth=2, num_heads=4, mlp_hidden=96,
                tokenizer=tok, seed=0)
pretrain(bert, seqs, epochs=2, batch_size=64, lr=2e-3, progress=False)

# 1. Max pooling by hand: the largest value of each feature over the tokens ([CLS] and [SEP] included).
h, toks = bert.token_vectors("let there be light")
np.testing.assert_allclose(bert.embed(["let there be light"], pooling="max")[0], h.max(axis=0), rtol=1e-5)
print("1. max pooling by hand equals embed(pooling='max')")

# 2. Without the random 10%: chosen tokens are [MASK] (80%) or kept (20%). Kept = 20% instead of 10%, and
# the model never sees a wrong visible token, so it learns to trust every visible token blindly.
specials = np.array(list(tok.special_tokens.values()))
maskable = ~np.isin(seqs, specials)
rng = np.random.default_rng(1)
chosen = maskable & (rng.random(seqs.shape) < 0.15)
u = rng.random(chosen.sum())
kept = np.mean(u >= 0.8)
print(f"2. without random replacement {kept:.1%} of the chosen tokens stay unchanged (with it: ~10%)")
_, masked, lab = mask_tokens(seqs, maskable, tok.mask_id, np.setdiff1d(np.arange(tok.vocab_size), specials), seed=1)
assert 0.17 < kept < 0.23

# 3. Padding does not change a sentence.
short = bert.encode_texts(["let there be light"])[0]
long = bert.encode_texts(["and god saw the light that it was good and god divided the light from the darkness"])[0]
alone = bert.embed_ids(short[None])
batch = bert.embed_ids(bert.pad([short, long]))
np.testing.assert_allclose(batch[0], alone[0], rtol=1e-4, atol=1e-5)
print("3. the padded sentence has the same mean-pooled vector as the sentence alone")

# 4. Left context only: a causal bias (keys j > i get -inf) on top of the padding bias, in every block.
import minembed.nn.attention as A  # noqa: E402

original = A.padding_bias


def causal_bias(mask, shape, dtype):
    b, t = shape
    bias = np.broadcast_to(original(mask, shape, dtype), (b, 1, t, t)).copy()
    upper = np.triu_indices(t, 1)
    bias[..., upper[0], upper[1]] = -np.inf
    return bias


class LeftToRight(TinyBERT):
    """The same model, but every block always gets a mask (so the causal bias above is applied)."""

    def encode_ids(self, ids, token_type_ids=None):
        ids = np.asarray(ids)
        b, t = ids.shape
        x = self.tok_embed.forward(ids) + self.pos_embed.data[:t]
        for block in self.blocks:
            x = block.forward(x, ids == self.pad_id)
        self._cache = (b, t, None, None)
        return self.norm.forward(x.reshape(b * t, self.dim)).reshape(b, t, self.dim)


more = TinyBERT(**bert.config, tokenizer=tok, seed=0)      # a copy trained 2 more epochs with both sides
more.load_state_dict(bert.state_dict())
pretrain(more, seqs, epochs=2, batch_size=64, lr=2e-3, progress=False)
both = masked_accuracy(more, test_seqs, tok)["accuracy"]
A.padding_bias = causal_bias
try:
    left = LeftToRight(**bert.config, tokenizer=tok, seed=0)
    left.load_state_dict(bert.state_dict())
    ids = bert.encode_texts(["let there be light and there was light"])[0]
    changed = ids.copy()
    changed[-3] = tok.mask_id
    h1, h2 = left.forward(ids[None])[0], left.forward(changed[None])[0]
    np.testing.assert_allclose(h1[:-3], h2[:-3], rtol=1e-5, atol=1e-6)   # no token sees what follows it
    assert not np.allclose(h1[-3:], h2[-3:])
    pretrain(left, seqs, epochs=2, batch_size=64, lr=2e-3, progress=False)
    left_only = masked_accuracy(left, test_seqs, tok)["accuracy"]
finally:
    A.padding_bias = original
print(f"4. after 2 more epochs, masked-token accuracy with both sides {both:.1%}, with the left side only "
      f"{left_only:.1%} (a model this small and this briefly trained barely uses context yet: train longer, "
      "and the gap grows)")

"""Solutions to the exercises of lesson 07 (Tokens). Run from anywhere: python lessons/solutions/07_tokens.py"""
from itertools import pairwise

import numpy as np

import minembed as me
from minembed.text import BPETokenizer, bpe

lines, labels, names = me.load_sources()
rng = np.random.default_rng(0)
order = rng.permutation(len(lines))
train_text = "\n".join(lines[i] for i in order[:12000]) + "\n"
held = order[-2000:]
tok = BPETokenizer.train(train_text, vocab_size=2000)


# 1. Encode by hand: merge the adjacent pair learned earliest (lowest new id) until none is a merge.
def encode_word(word: bytes, merges) -> list[int]:
    rank = {pair: 256 + k for k, pair in enumerate(merges)}
    ids = list(word)
    while len(ids) > 1:
        candidates = [(rank[p], i) for i, p in enumerate(pairwise(ids)) if p in rank]
        if not candidates:
            break
        new, _ = min(candidates)  # the earliest merge; its leftmost occurrence first
        a, b = tok.merges[new - 256]
        out, i = [], 0
        while i < len(ids):  # every occurrence, left to right (as training did)
            if i + 1 < len(ids) and ids[i] == a and ids[i + 1] == b:
                out.append(new)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        ids = out
    return ids


pieces = bpe.pretokenize("\n".join(lines[i] for i in held[:40]))[:200]
for piece in pieces:
    assert encode_word(piece.encode("utf-8"), tok.merges) == tok.encode(piece).tolist(), piece
print(f"1. encode_word matches tok.encode on {len(pieces)} held-out pre-tokens")

# 2. The contractions are matched in lower case only: "it's" -> "it", "'s"; "IT'S" -> "IT", "'", "S"
#    (the apostrophe falls to the punctuation rule, the S to the letters rule): upper-case text splits
#    differently, and its contractions never share tokens with the lower-case ones.
print("2.", bpe.pretokenize("it's"), bpe.pretokenize("IT'S"))
assert bpe.pretokenize("it's") == ["it", "'s"] and bpe.pretokenize("IT'S") == ["IT", "'", "S"]

# 3. Bytes per token of each source's held-out lines.
by_source = {}
for k, name in enumerate(names):
    text = "\n".join(lines[i] for i in held if labels[i] == k)
    by_source[name] = len(text.encode("utf-8")) / len(tok.encode(text))
for name, value in sorted(by_source.items(), key=lambda kv: -kv[1]):
    print(f"3. {name:10s} {value:.2f} bytes per token")
# The speeches and the Bible compress best: each repeats a small vocabulary ("the people", "our
# government"; "and", "unto", "lord") whose words became single tokens, and their long frequent words
# ("government", "congress") save many bytes per token. Wikipedia compresses worst: numbers, names and
# technical terms are rare, so they are spelled with several pieces each.
assert min(by_source, key=by_source.get) == "wikipedia"

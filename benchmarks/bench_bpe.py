"""minembed's byte-level BPE vs Hugging Face ``tokenizers`` and ``tiktoken`` (when importable), each library
alone in its own fresh process (benchmarks/harness.py), rounds alternating.

    PYTHONPATH=. python benchmarks/bench_bpe.py --corpus ../shared/data/corpus/bench.txt

Three parts (``--parts train,encode,naive``):

* **train**: learn a ``--vocab-size`` vocabulary (default 8,000 = 256 bytes + 7,744 merges, no special
  tokens) from the whole corpus file, GPT-2's pre-tokenization in both: minembed's
  ``BPETokenizer.train(Path(corpus), 8000)`` against ``tokenizers``' ``BpeTrainer`` (ByteLevel
  pre-tokenizer without prefix space, the 256-byte initial alphabet) reading the same file. Timed: the
  whole training call, file reading included. After the clocks: each side encodes the corpus with its
  own vocabulary and reports bytes per token (the compression). tokenizers trains with all its threads
  (Rayon), minembed with one: CPU seconds are the fair figure, wall seconds what a user waits.
* **encode**: minembed's merges (learned once by this driver, in a file) loaded by every side, which
  then encodes the whole corpus as one string: minembed ``encode``, tiktoken ``encode_ordinary`` (one
  thread), tokenizers ``encode_batch`` of the lines (all threads). The ids of every side are compared with
  minembed's after the run: the correctness oracle.
* **naive**: the readable trainer (recount every pair after each merge) against the incremental one on the
  first ``--naive-mb`` MB of the corpus with ``--naive-vocab`` tokens: why the incremental trainer exists.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import harness

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_DATA = next((p / "shared" / "data" for p in (REPO.parent, REPO.parent.parent)
                     if (p / "shared" / "data").exists()), REPO.parent / "shared" / "data")


# ------------------------------------------------------------------------------ sides (run in the children)
def _count_tokens_hf(tok, text):
    lines = text.splitlines(keepends=True)  # one sequence per line: the same pre-tokens as the whole text here
    return sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))


def side_train_minembed(corpus, vocab_size, out):
    from minembed.text import BPETokenizer

    BPETokenizer.train("warm up the compiled kernels", 260)

    def run():
        run.tok = BPETokenizer.train(Path(corpus), vocab_size)

    def after():
        text = Path(corpus).read_text(encoding="utf-8")
        run.tok.save(out)
        return {"bytes_per_token": len(text.encode()) / len(run.tok.encode(text)), "vocab": run.tok.vocab_size}
    return run, after


def side_train_hf(corpus, vocab_size, out):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    def run():
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train([corpus], trainer)
        run.tok = tok

    def after():
        text = Path(corpus).read_text(encoding="utf-8")
        return {"bytes_per_token": len(text.encode()) / _count_tokens_hf(run.tok, text),
                "vocab": run.tok.get_vocab_size()}
    return run, after


def side_encode_minembed(corpus, tokenizer, out):
    from minembed.text import BPETokenizer

    tok = BPETokenizer.load(tokenizer)
    text = Path(corpus).read_text(encoding="utf-8")
    tok.encode("warm up")

    def run():
        run.ids = tok.encode(text)

    def after():
        import numpy as np

        np.save(out, np.asarray(run.ids, np.int32))
        return {"tokens": len(run.ids)}
    return run, after


def side_encode_tiktoken(corpus, tokenizer, out):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    with open(tokenizer, encoding="utf-8") as fh:
        pattern = json.load(fh)["pattern"]
    ranks = load_tiktoken_bpe(tokenizer + ".tiktoken")
    enc = tiktoken.Encoding("minembed-bench", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
    text = Path(corpus).read_text(encoding="utf-8")

    def run():
        run.ids = enc.encode_ordinary(text)

    def after():
        import numpy as np

        np.save(out, np.asarray(run.ids, np.int32))
        return {"tokens": len(run.ids)}
    return run, after


def side_encode_hf(corpus, tokenizer, out):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tokenizer + ".hf.json")
    # one encode() of a 44 MB string took minutes; lines in one encode_batch (all threads) are its fast path.
    # The pre-tokens are those of the whole text: every line of bench.txt ends in "\n" after a non-space.
    lines = Path(corpus).read_text(encoding="utf-8").splitlines(keepends=True)

    def run():
        run.ids = [i for e in tok.encode_batch(lines, add_special_tokens=False) for i in e.ids]

    def after():
        import numpy as np

        np.save(out, np.asarray(run.ids, np.int32))
        return {"tokens": len(run.ids)}
    return run, after


def side_naive(corpus, mb, vocab_size, method):
    from minembed.text import BPETokenizer

    with open(corpus, encoding="utf-8") as fh:
        text = fh.read(int(mb * 2**20))
    BPETokenizer.train("warm up the compiled kernels", 260)

    def run():
        run.tok = BPETokenizer.train(text, vocab_size, method=method)
    return run, lambda: {"merges": len(run.tok.merges), "merges_all": [list(m) for m in run.tok.merges]}


# ----------------------------------------------------------------------------------------- driver
def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(DEFAULT_DATA / "corpus" / "bench.txt"))
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--parts", default="train,encode,naive")
    p.add_argument("--naive-mb", type=float, default=1.0)
    p.add_argument("--naive-vocab", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=1)
    harness.add_arguments(p, rounds=2)
    args = p.parse_args(argv)
    parts = args.parts.split(",")
    corpus = str(Path(args.corpus).resolve())
    n_bytes = os.path.getsize(corpus)
    have_hf, have_tt = harness.available("tokenizers"), harness.available("tiktoken")
    with tempfile.TemporaryDirectory() as tmp:
        if "train" in parts:
            sides = [harness.Side("minembed", "side_train_minembed",
                                  dict(corpus=corpus, vocab_size=args.vocab_size, out=f"{tmp}/tok.json"))]
            if have_hf:
                sides.append(harness.Side("tokenizers", "side_train_hf",
                                          dict(corpus=corpus, vocab_size=args.vocab_size, out=None)))
            res = harness.measure(__file__, sides, args, repeats=args.repeats, warmup=0)
            harness.print_header(f"BPE training, vocab_size={args.vocab_size}, on {args.corpus} ({n_bytes:,} bytes)",
                                 res, args)
            harness.print_table(res, unit="s", scale=1, rate=("MB/s", n_bytes / 1e6))
            for label, r in res.items():
                a = r.after[-1]
                print(f"  {label}: {a['vocab']} tokens, {a['bytes_per_token']:.4f} bytes per token on the corpus")
            if have_hf:
                m, h = res["minembed"].after[-1], res["tokenizers"].after[-1]
                for clock in ("cpu", "wall"):
                    ratio, lo, hi = harness.speed_ratio(res, "tokenizers", "minembed", clock)
                    print(f"  minembed {clock} time / tokenizers': {ratio:.2f}x (per round {lo:.2f}-{hi:.2f})")
                print(f"  bytes per token, minembed / tokenizers: {m['bytes_per_token'] / h['bytes_per_token']:.4f}")
            print()

        if "encode" in parts:
            import sys

            sys.path.insert(0, str(REPO))
            from minembed.text import BPETokenizer

            tok_path = f"{tmp}/tok.json"
            if not os.path.exists(tok_path):
                BPETokenizer.train(Path(corpus), args.vocab_size).save(tok_path)
            tok = BPETokenizer.load(tok_path)
            tok.save_tiktoken(tok_path + ".tiktoken")
            tok.save_huggingface(tok_path + ".hf.json")
            sides = [harness.Side("minembed", "side_encode_minembed",
                                  dict(corpus=corpus, tokenizer=tok_path, out=f"{tmp}/ids_minembed.npy"))]
            if have_tt:
                sides.append(harness.Side("tiktoken", "side_encode_tiktoken",
                                          dict(corpus=corpus, tokenizer=tok_path, out=f"{tmp}/ids_tiktoken.npy")))
            if have_hf:
                sides.append(harness.Side("tokenizers", "side_encode_hf",
                                          dict(corpus=corpus, tokenizer=tok_path, out=f"{tmp}/ids_tokenizers.npy")))
            res = harness.measure(__file__, sides, args, repeats=args.repeats, warmup=0)  # each side warms up itself
            harness.print_header(f"BPE encoding of {args.corpus} ({n_bytes:,} bytes) as one string, minembed's "
                                 f"{tok.vocab_size} tokens loaded by every side", res, args)
            harness.print_table(res, unit="s", scale=1, rate=("MB/s", n_bytes / 1e6))
            import numpy as np

            ours = np.load(f"{tmp}/ids_minembed.npy")
            for label in res:
                if label != "minembed":
                    theirs = np.load(f"{tmp}/ids_{label}.npy")
                    same = theirs.shape == ours.shape and bool(np.array_equal(theirs, ours))
                    n = min(len(ours), len(theirs))
                    where = "" if same else f" (first difference at {int(np.argmax(theirs[:n] != ours[:n]))})"
                    print(f"  ids of {label} identical to minembed's: {same} ({len(theirs):,} vs {len(ours):,} ids)"
                          + where)
                    ratio, lo, hi = harness.speed_ratio(res, "minembed", label, "wall")
                    print(f"  minembed throughput / {label}'s: {ratio:.2f}x (per round {lo:.2f}-{hi:.2f})")
            print()

        if "naive" in parts:
            sides = [harness.Side(f"{m} ({args.naive_mb:g} MB, vocab {args.naive_vocab})", "side_naive",
                                  dict(corpus=corpus, mb=args.naive_mb, vocab_size=args.naive_vocab, method=m))
                     for m in ("naive", "fast")]
            res = harness.measure(__file__, sides, args, repeats=1, warmup=0, rounds=1)
            harness.print_header(f"naive vs incremental training on the first {args.naive_mb:g} MB", res, args)
            harness.print_table(res, unit="s", scale=1)
            naive, fast = (r.after[-1] for r in res.values())
            print(f"  same merges: {naive == fast} ({naive['merges']} merges)")


if __name__ == "__main__":
    main()

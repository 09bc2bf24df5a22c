"""Tiny BERT masked-LM training speed: minembed vs the same network in PyTorch (CPU), each side alone in
its own fresh process (benchmarks/harness.py), tokens per second.

    PYTHONPATH=. python benchmarks/bench_bert.py [--corpus ../shared/data/corpus/bench.txt] [--steps 40]

Both sides: the default tiny config (BPE vocabulary 4096, 64 positions, width 128, 2 pre-norm blocks
of 4 heads, MLP 256, exact GELU), batch 64, Adam lr 1e-3 constant, the *same initial weights* (made by
minembed here, saved, loaded by both children) and the *same masked batches* (80/10/10 masking done
once here by minembed.text.mlm.mask_tokens and saved, so neither side pays for it in the timing). One
timed repeat is ``--steps`` optimizer steps; the first repeat is a warm-up (JIT compilation, caches).
minembed runs the loop body of ``nn.train.fit`` (zero_grad, forward, cross-entropy, backward, step)
inside ``compute_threads(--threads)``, as ``pretrain`` does: each product and row kernel split over that
many threads, NumPy's BLAS on one thread (``--blas-threads N`` instead leaves the split off and gives
OpenBLAS N threads of its own, for comparison); PyTorch uses ``torch.set_num_threads(--threads)``.
Every child gets ``--threads`` in the *_NUM_THREADS variables.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import harness

CONFIG = dict(max_len=64, dim=128, depth=2, num_heads=4, mlp_hidden=256, n_segments=0, eps=1e-6)


def _batches(path):
    import numpy as np

    with np.load(path, allow_pickle=False) as f:
        inputs, labels, masked, bounds = f["inputs"], f["labels"], f["masked"], f["bounds"]
    return [(inputs[s], masked[bounds[s]:bounds[s + 1]], labels[bounds[s]:bounds[s + 1]]) for s in range(len(inputs))]


# ------------------------------------------------------------------------------ sides (run in the children)
def side_minembed(data, weights, config, lr, threads, blas_threads):
    from minembed.io import load_npz
    from minembed.kernels.blas import set_blas_threads
    from minembed.kernels.threads import compute_threads
    from minembed.nn import Adam, CrossEntropyLoss
    from minembed.text.bert import TinyBERT

    batches = _batches(data)
    if blas_threads:
        set_blas_threads(blas_threads)
    model = TinyBERT(**config, seed=0)
    model.load_state_dict(load_npz(weights))
    opt = Adam(model.parameters(), lr=lr)
    loss_fn = CrossEntropyLoss()
    model.train()

    def run():
        total = 0.0
        with compute_threads(None if blas_threads else threads):   # as pretrain does
            for inputs, masked, labels in batches:         # the body of nn.train.fit
                opt.zero_grad()
                total += loss_fn(model.forward(inputs, masked), labels)
                model.backward(loss_fn.backward())
                opt.step()
        return {"loss": total / len(batches), "tokens": int(sum(b[0].size for b in batches))}
    return run


def side_torch(data, weights, config, lr, threads):
    import sys

    import numpy as np
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch_tiny_bert

    torch.set_num_threads(threads)
    batches = [tuple(torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)) for a in b) for b in _batches(data)]
    with np.load(weights, allow_pickle=False) as f:
        state = {k: f[k] for k in f.files}
    net = torch_tiny_bert.load_numpy_state(torch_tiny_bert.build(config), state)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()

    def run():
        total = 0.0
        for inputs, masked, labels in batches:
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(inputs, masked), labels)
            loss.backward()
            opt.step()
            total += float(loss)
        return {"loss": total / len(batches), "tokens": int(sum(b[0].numel() for b in batches))}
    return run


# ---------------------------------------------------------------------------------------------- driver
def prepare(tmp, corpus, vocab, steps, batch_size, seed, n_lines):
    """Tokenizer, packed sequences, masked batches and initial weights, saved for the children."""
    import numpy as np

    from minembed.io import save_npz
    from minembed.text.bert import TinyBERT
    from minembed.text.bpe import BPETokenizer
    from minembed.text.mlm import MLMData, pack_sequences

    if corpus:
        with open(corpus, encoding="utf-8") as fh:
            lines = [line.strip() for _, line in zip(range(n_lines), fh, strict=False)]
    else:
        from minembed.datasets.corpus import load_sources
        lines = load_sources()[0][:n_lines]
    lines = [s for s in lines if s]
    tok = BPETokenizer.train(lines, vocab, special_tokens=["[PAD]", "[CLS]", "[SEP]", "[MASK]"])
    config = dict(CONFIG, vocab_size=tok.vocab_size, pad_id=tok.pad_id)
    seqs = pack_sequences(tok, lines, config["max_len"])
    need = steps * batch_size
    if len(seqs) < need:
        seqs = np.concatenate([seqs] * (-(-need // len(seqs))))
    data = MLMData(seqs, tok, seed=seed)
    order = np.random.default_rng(seed).permutation(len(seqs))[:need].reshape(steps, batch_size)
    inputs, masked, labels, bounds = [], [], [], [0]
    for ids in order:
        x, m = data[ids]
        inputs.append(x)
        masked.append(m)
        labels.append(data.targets[ids])
        bounds.append(bounds[-1] + len(m))
    save_npz(f"{tmp}/batches.npz", inputs=np.stack(inputs), masked=np.concatenate(masked),
             labels=np.concatenate(labels), bounds=np.array(bounds))
    TinyBERT(**config, seed=seed).save(f"{tmp}/init.npz")
    with np.load(f"{tmp}/init.npz") as f:                   # the children want bare parameters
        save_npz(f"{tmp}/weights.npz", **{k: f[k] for k in f.files if not k.startswith("__")})
    return config, f"{len(lines)} lines, vocabulary {tok.vocab_size}, {len(seqs)} sequences of {config['max_len']}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=None, help="a text file, one line per document (default: the bundled sample)")
    ap.add_argument("--lines", type=int, default=20000, help="lines read for the tokenizer and the batches")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=40, help="optimizer steps per timed repeat")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--blas-threads", type=int, default=0,
                    help="N > 0: no row split in minembed, OpenBLAS's own N threads instead (for comparison)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-torch", action="store_true")
    harness.add_arguments(ap, rounds=2)
    args = ap.parse_args(argv)
    with_torch = harness.available("torch") and not args.no_torch
    with tempfile.TemporaryDirectory() as tmp:
        config, described = prepare(tmp, args.corpus, args.vocab, args.steps, args.batch_size, args.seed, args.lines)
        common = dict(data=f"{tmp}/batches.npz", weights=f"{tmp}/weights.npz", config=config, lr=args.lr)
        sides = [harness.Side("minembed (NumPy+Numba)", "side_minembed", dict(common, threads=args.threads,
                                                                                  blas_threads=args.blas_threads))]
        if with_torch:
            sides.append(harness.Side("PyTorch CPU", "side_torch", dict(common, threads=args.threads)))
        res = harness.measure(__file__, sides, args, repeats=args.repeats, warmup=1)
    tokens = args.steps * args.batch_size * config["max_len"]
    harness.print_header(f"tiny BERT masked-LM training [{args.corpus or 'bundled sample'}]: {described}; width "
                         f"{config['dim']}, {config['depth']} blocks x {config['num_heads']} heads, MLP "
                         f"{config['mlp_hidden']}, batch {args.batch_size}, {args.steps} steps per repeat, "
                         + (f"minembed: OpenBLAS threads {args.blas_threads}, no split" if args.blas_threads
                          else f"minembed: compute_threads({args.threads}), BLAS 1 thread"), res, args)
    harness.print_table(res, unit="s", scale=1, rate=("tokens/s", tokens))
    for label, r in res.items():
        print(f"  {label}: mean loss over the timed repeats' steps "
              + ", ".join(f"{e['loss']:.4f}" for e in r.extras[0]))
    if with_torch:
        ratio = res["PyTorch CPU"].median() / res[sides[0].label].median()
        verdict = "met" if ratio >= 1 else "NOT met"
        print(f"\nminembed tokens/s / PyTorch tokens/s: {ratio:.2f}x (target >= 1.0x: {verdict})")


if __name__ == "__main__":
    main()

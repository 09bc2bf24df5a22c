"""Rebuild the small samples bundled in minembed/datasets/data/ from ../shared/data.

    python scripts/make_sample_data.py [--shared ../shared/data]

Text: four sources with distinct styles, tokenized with the rules of
../shared/data/README.md (ASCII-folded, lowercased, a-z 0-9 and inner apostrophes),
a seeded random subset of lines (kept in file order) of about 250,000 tokens each.
Images: the first 10,000 MNIST training and first 2,000 test images.
"""
import argparse
import gzip
import re
import unicodedata
from pathlib import Path

import numpy as np

SOURCES = {  # bundled name -> source files in ../shared/data/corpus/sources
    "bible": ["kjv.txt"],
    "novels": ["british_novels.txt"],
    "speeches": ["us_state_of_the_union.txt", "us_inaugural_addresses.txt"],
    "wikipedia": ["enwiki_sample.txt"],
}
TOKENS_PER_SOURCE = 250_000
OUT = Path(__file__).resolve().parent.parent / "minembed" / "datasets" / "data"


def tokenize(line: str) -> list[str]:
    line = line.replace("\u2019", "'").replace("\u2018", "'")
    line = unicodedata.normalize("NFKD", line).encode("ascii", "ignore").decode().lower()
    line = re.sub(r"[^a-z0-9']", " ", line)
    return [t.strip("'") for t in line.split() if t.strip("'")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = ap.parse_args()
    shared = Path(args.shared)
    rng = np.random.default_rng(2026)
    for name, files in SOURCES.items():
        lines = []
        for f in files:
            with open(shared / "corpus" / "sources" / f, encoding="utf-8") as fh:
                lines += [" ".join(t) for t in map(tokenize, fh) if len(t) >= 3]
        order = rng.permutation(len(lines))
        chosen, total = [], 0
        for i in order:
            chosen.append(i)
            total += lines[i].count(" ") + 1
            if total >= TOKENS_PER_SOURCE:
                break
        with gzip.open(OUT / f"{name}.txt.gz", "wt", encoding="utf-8", compresslevel=9) as out:
            for i in sorted(chosen):
                out.write(lines[i] + "\n")
        print(f"{name}: {len(chosen)} lines, {total} tokens")
    with np.load(shared / "images" / "mnist.npz", allow_pickle=False) as m:
        np.savez_compressed(OUT / "mnist_sample.npz", x_train=m["x_train"][:10000], y_train=m["y_train"][:10000],
                            x_test=m["x_test"][:2000], y_test=m["y_test"][:2000])
    print("mnist_sample: 10000 train, 2000 test")


if __name__ == "__main__":
    main()

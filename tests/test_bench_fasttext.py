"""bench_fasttext's corpus slice: whole lines up to a token budget, optionally shuffled (issue 15)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_fasttext  # noqa: E402


def test_first_tokens_keeps_whole_lines_and_shuffles_them_reproducibly(tmp_path):
    src = tmp_path / "src.txt"
    lines = [f"w{i} " * (i % 3 + 1) + "\n" for i in range(50)]
    src.write_text("".join(lines) + "last line without newline", encoding="utf-8")
    # 30 tokens: whole lines until the budget is reached (1 + 2 + 3 + ... per line)
    n = bench_fasttext.first_tokens(src, tmp_path / "a.txt", 30)
    expected, total = [], 0
    for line in lines:
        if total >= 30:
            break
        total += len(line.split())
        expected.append(line)
    assert n == total
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "".join(expected)
    # shuffled: the same lines, in an order fixed by the seed, and not the file's order
    m = bench_fasttext.first_tokens(src, tmp_path / "b.txt", 30, shuffle=True)
    bench_fasttext.first_tokens(src, tmp_path / "c.txt", 30, shuffle=True)
    got = (tmp_path / "b.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    assert m == n and sorted(got) == sorted(expected) and got != expected
    assert (tmp_path / "c.txt").read_text(encoding="utf-8") == "".join(got)


def test_shuffle_ends_every_line_with_a_newline(tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("a b\nc d\ne f", encoding="utf-8")   # the last line has no newline
    assert bench_fasttext.first_tokens(src, tmp_path / "out.txt", 100, shuffle=True) == 6
    out = (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert sorted(out.splitlines()) == ["a b", "c d", "e f"] and out.endswith("\n")

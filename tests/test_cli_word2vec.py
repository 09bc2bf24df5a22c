"""The word2vec, neighbors, analogy and evaluate sub-commands, run through main([...])."""
import pytest

from minembed.cli import main


@pytest.fixture
def corpus(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    topics = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]]
    lines = [" ".join(rng.choice(topics[rng.integers(2)], size=8)) for _ in range(400)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix, extra", [(".bin", []), (".txt", ["--cbow", "--hs", "--negative", "0"]),
                                           (".npz", ["--workers", "2"])])
def test_train_then_query(tmp_path, corpus, capsys, suffix, extra):
    out = tmp_path / f"vectors{suffix}"
    assert main(["word2vec", "train", str(corpus), "-o", str(out), "--dim", "10", "--epochs", "2",
                 "--min-count", "1", "--sample", "0", "--quiet", *extra]) == 0
    assert "12 words x 10 dims" in capsys.readouterr().out
    assert main(["neighbors", str(out), "a0", "-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.split()[1].startswith("a") for line in lines)
    assert main(["analogy", str(out), "a0", "a1", "b0", "-k", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    q = tmp_path / "q.txt"
    q.write_text(": s\na0 a1 b0 b1\n", encoding="utf-8")
    p = tmp_path / "p.tsv"
    p.write_text("a0\ta1\t9\na0\tb1\t1\nb0\tb2\t8\nzz\ta0\t3\n", encoding="utf-8")
    assert main(["evaluate", str(out), "--analogies", str(q), "--pairs", str(p)]) == 0
    text = capsys.readouterr().out
    assert "Total accuracy" in text and "OOV 25.0%" in text


def test_errors_are_one_line(tmp_path, corpus, capsys):
    out = tmp_path / "v.txt"
    assert main(["word2vec", "train", str(tmp_path / "missing.txt"), "-o", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no corpus at" in err
    assert main(["word2vec", "train", str(corpus), "-o", str(out), "--window", "0", "--quiet"]) == 1
    assert "window must be" in capsys.readouterr().err
    assert main(["word2vec", "train", str(corpus), "-o", str(out), "--min-count", "100000", "--quiet"]) == 1
    assert "min_count=100000" in capsys.readouterr().err
    assert main(["word2vec", "train", str(corpus), "-o", str(out), "--epochs", "1", "--min-count", "1",
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["neighbors", str(out), "nosuchword"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "minembed neighbors: error: word 'nosuchword' is not in the vocabulary"
    assert main(["evaluate", str(out)]) == 1
    assert "--analogies" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("3 2\na 1 2\n", encoding="utf-8")
    assert main(["neighbors", str(bad), "a"]) == 1
    assert "truncated" in capsys.readouterr().err

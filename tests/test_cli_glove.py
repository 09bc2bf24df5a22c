"""``minembed glove train``, and neighbors / analogy / evaluate on what it saves."""
import numpy as np
import pytest

from minembed.cli import main
from minembed.text import Cooccurrence


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    topics = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]]
    lines = [" ".join(rng.choice(topics[k % 2], size=8)) for k in range(400)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix, extra", [(".bin", []), (".txt", ["--word-only"]), (".npz", ["--workers", "2"])])
def test_train_then_query(tmp_path, corpus, capsys, suffix, extra):
    out, counts = tmp_path / f"vectors{suffix}", tmp_path / "counts.npz"
    assert main(["glove", "train", str(corpus), "-o", str(out), "--dim", "8", "--window", "3", "--epochs", "15",
                 "--min-count", "1", "--x-max", "10", "--counts", str(counts), "--quiet", *extra]) == 0
    text = capsys.readouterr().out
    assert "12 words x 8 dims" in text and "co-occurring pairs" in text
    assert len(Cooccurrence.load(counts).words) == 12
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
    for argv, message in [([str(tmp_path / "missing.txt")], "no corpus at"),
                          ([str(corpus), "--x-max", "0"], "x_max must be"),
                          ([str(corpus), "--learning-rate", "-1"], "learning_rate must be"),
                          ([str(corpus), "--memory", "0"], "memory must be"),
                          ([str(corpus), "--min-count", "100000"], "min_count=100000")]:
        assert main(["glove", "train", *argv, "-o", str(out), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert main(["glove", "train", str(corpus), "-o", str(tmp_path / "nofolder" / "v.txt"), "--quiet"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not out.exists()

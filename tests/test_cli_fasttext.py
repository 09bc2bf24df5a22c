"""`minembed fasttext train`, and neighbors/analogy/evaluate on its outputs (unseen words from n-grams)."""
import pytest

from minembed.cli import main


@pytest.fixture
def corpus(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    topics = [[f"alpha{s}" for s in ("ing", "ed", "er", "s", "ly", "ful")],
              [f"omega{s}" for s in ("ing", "ed", "er", "s", "ly", "ful")]]
    lines = [" ".join(rng.choice(topics[rng.integers(2)], size=8)) for _ in range(400)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train(corpus, out, *extra):
    return main(["fasttext", "train", str(corpus), "-o", str(out), "--dim", "12", "--epochs", "3", "--min-count",
                 "1", "--sample", "0", "--bucket", "5000", "--quiet", *extra])


def test_npz_keeps_ngrams_and_answers_unseen_words(tmp_path, corpus, capsys):
    out = tmp_path / "ft.npz"
    assert train(corpus, out) == 0
    assert "12 words x 12 dims + 5,000 n-gram buckets" in capsys.readouterr().out
    assert main(["neighbors", str(out), "alphaness", "-k", "3"]) == 0          # never seen: built from n-grams
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.split()[1].startswith("alpha") for line in lines)
    assert main(["analogy", str(out), "alphaing", "alphaed", "omegaing", "-k", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    p = tmp_path / "p.tsv"
    p.write_text("alphaing\talphaed\t9\nalphaing\tomegaed\t1\nomegaly\tomegaer\t8\nzz\talphaing\t3\n",
                 encoding="utf-8")
    assert main(["evaluate", str(out), "--pairs", str(p)]) == 0
    assert "OOV 25.0%" in capsys.readouterr().out     # evaluation scores vocabulary words only, as for word2vec


def test_vec_is_text_without_ngrams(tmp_path, corpus, capsys):
    out = tmp_path / "ft.vec"
    assert train(corpus, out, "--cbow", "--workers", "2") == 0
    capsys.readouterr()
    assert out.read_text(encoding="utf-8").startswith("12 12\n")
    assert main(["neighbors", str(out), "alphaing", "-k", "2"]) == 0
    assert main(["neighbors", str(out), "alphaness"]) == 1
    assert "'alphaness' is not in the vocabulary" in capsys.readouterr().err


def test_errors(tmp_path, corpus, capsys):
    assert train(corpus, tmp_path / "m.bin") == 1
    assert ".bin" in capsys.readouterr().err
    assert train(corpus, tmp_path / "m.npz", "--min-n", "5", "--max-n", "3") == 1
    assert "min_n=5 > max_n=3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train(corpus, tmp_path / "m.npz", "--bucket", "0")
    assert "--bucket: must be an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "m.npz").exists()
    out = tmp_path / "nongrams.npz"
    assert train(corpus, out, "--max-n", "0") == 0
    capsys.readouterr()
    assert main(["neighbors", str(out), "alphaness"]) == 1
    assert "max_n=0" in capsys.readouterr().err

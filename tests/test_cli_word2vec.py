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
    assert main(["word2vec", "train", str(corpus), "-o", str(out), "--alpha", "0", "--quiet"]) == 1
    assert "alpha must be" in capsys.readouterr().err
    assert main(["word2vec", "train", str(corpus), "-o", str(out), "--negative", "0", "--quiet"]) == 1
    assert "negative=0 needs hs=1" in capsys.readouterr().err
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


def test_output_path_is_checked_before_training(tmp_path, corpus, capsys, monkeypatch):
    from minembed.text import Word2Vec

    def no_training(self, *args, **kwargs):
        raise AssertionError("training started before the output path was checked")

    monkeypatch.setattr(Word2Vec, "build_vocab", no_training)
    base = ["word2vec", "train", str(corpus), "--quiet", "-o"]
    assert main([*base, str(tmp_path / "missing" / "dir" / "x.bin")]) == 1
    missing = str(tmp_path / "missing" / "dir")
    assert capsys.readouterr().err.strip() == (f"minembed word2vec: error: the output folder {missing!r} "
                                               "does not exist (create it first)")
    assert main([*base, str(tmp_path)]) == 1  # a folder, not a file name
    assert "is a folder; give a file name such as" in capsys.readouterr().err
    assert main([*base, str(corpus / "x.bin")]) == 1  # "folder" is a file
    assert "is a file, not a folder" in capsys.readouterr().err


def _words_of(path):
    from minembed.text import WordVectors

    return set(WordVectors.load_word2vec_format(path).index_to_key)


def test_lowercase_and_tokenize_options(tmp_path, capsys):
    from minembed.text import tokenize

    lines = ["The King met the queen.", "the king, the Queen; THE KING!", "A queen's crown"] * 20
    corpus = tmp_path / "cased.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = ["word2vec", "train", str(corpus), "--dim", "8", "--epochs", "1", "--min-count", "1", "--quiet", "-o"]
    runs = {"plain": [], "lower": ["--lowercase"], "tok": ["--tokenize"]}
    for name, flags in runs.items():
        assert main([*common, str(tmp_path / f"{name}.txt"), *flags]) == 0
    capsys.readouterr()
    assert _words_of(tmp_path / "plain.txt") == {w for line in lines for w in line.split()}
    assert _words_of(tmp_path / "lower.txt") == {w.lower() for line in lines for w in line.split()}
    assert _words_of(tmp_path / "tok.txt") == {w for line in lines for w in tokenize(line)}
    assert _words_of(tmp_path / "tok.txt") == {"the", "king", "met", "queen", "a", "queen's", "crown"}
    # A query in another case than the (lowercased) vocabulary: the error says which word exists.
    assert main(["neighbors", str(tmp_path / "lower.txt"), "King"]) == 1
    assert capsys.readouterr().err.strip() == ("minembed neighbors: error: word 'King' is not in the vocabulary; "
                                               "did you mean 'king'?")
    assert main(["analogy", str(tmp_path / "tok.txt"), "the", "QUEEN", "king"]) == 1
    assert "word 'QUEEN' is not in the vocabulary; did you mean 'queen'?" in capsys.readouterr().err
    assert main(["neighbors", str(tmp_path / "plain.txt"), "THE", "-k", "2"]) == 0  # it exists: no hint needed


def test_vector_files_are_read_by_content_and_flags_override(tmp_path, corpus, capsys):
    train = ["word2vec", "train", str(corpus), "--dim", "6", "--epochs", "1", "--min-count", "1", "--quiet", "-o"]
    assert main([*train, str(tmp_path / "v.bin")]) == 0
    assert main([*train, str(tmp_path / "t.txt")]) == 0
    capsys.readouterr()
    (tmp_path / "v.bin").rename(tmp_path / "v.w2v")  # binary content, an extension that says nothing
    (tmp_path / "t.txt").rename(tmp_path / "x.bin")  # text content under the binary extension
    answers = []
    for name, flag in [("v.w2v", None), ("v.w2v", "--binary"), ("x.bin", None), ("x.bin", "--text")]:
        assert main(["neighbors", str(tmp_path / name), "a0", "-k", "3", *([flag] if flag else [])]) == 0
        answers.append(capsys.readouterr().out)
    assert len(answers[0].splitlines()) == 3
    assert answers == [answers[0]] * 4  # same training (seed 1, one worker); scores printed to 4 decimals
    assert main(["neighbors", str(tmp_path / "x.bin"), "a0", "--binary"]) == 1  # a wrong override is an error
    assert "x.bin: record 1" in capsys.readouterr().err
    # A GloVe file: the text file without its "count dim" line, detected or declared.
    lines = (tmp_path / "x.bin").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "glove.txt").write_text("".join(lines[1:]), encoding="utf-8")
    for flags in ([], ["--no-header"], ["--no-header", "--text"]):
        assert main(["neighbors", str(tmp_path / "glove.txt"), "a0", "-k", "3", *flags]) == 0
        assert capsys.readouterr().out == answers[0]
    assert main(["neighbors", str(tmp_path / "glove.txt"), "a0", "--no-header", "--binary"]) == 1
    assert "no_header=True reads text files only" in capsys.readouterr().err
    assert main(["analogy", "--binary", str(tmp_path / "v.w2v"), "a0", "a1", "b0", "-k", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    with pytest.raises(SystemExit):  # one or the other
        main(["neighbors", str(tmp_path / "v.w2v"), "a0", "--binary", "--text"])
    npz = tmp_path / "v.npz"
    assert main([*train, str(npz)]) == 0
    capsys.readouterr()
    assert main(["neighbors", str(npz), "a0", "--binary"]) == 1
    assert "are for word2vec-format files" in capsys.readouterr().err


def test_evaluate_says_how_much_of_each_file_was_scored(tmp_path, corpus, capsys):
    out = tmp_path / "v.txt"
    assert main(["word2vec", "train", str(corpus), "-o", str(out), "--dim", "6", "--epochs", "1", "--min-count", "1",
                 "--quiet"]) == 0
    q = tmp_path / "q.txt"  # 4 questions, 3 with every word known
    q.write_text(": one\na0 a1 b0 b1\na0 a2 b0 zz\n\n: two\nb0 b1 a0 a1\na2 a3 b2 b3\n", encoding="utf-8")
    p = tmp_path / "p.tsv"  # 7 pairs, 5 with both words known
    p.write_text("# comment\na0\ta1\t9\na0\tb1\t1\nb0\tb2\t8\nzz\ta0\t3\nb1\tb3\t7\nyy\tb0\t2\na3\tb4\t1\n",
                 encoding="utf-8")
    capsys.readouterr()
    assert main(["evaluate", str(out), "--analogies", str(q), "--pairs", str(p)]) == 0
    text = capsys.readouterr().out
    assert "analogies: 3 of 4 questions scored (75.0%)" in text
    assert "word pairs: 5 of 7 pairs scored (71.4%)" in text

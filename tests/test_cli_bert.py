"""`minembed bert train/embed`: a model file from a text file, sentence vectors equal to the library's."""
import numpy as np
import pytest

from minembed import cli
from minembed.text import TinyBERT

LINES = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "in the beginning was the word"] * 15


def test_train_then_embed(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    model = tmp_path / "bert.npz"
    assert cli.main(["bert", "train", str(corpus), "-o", str(model), "--vocab-size", "280", "--max-len", "16",
                     "--dim", "16", "--depth", "1", "--heads", "2", "--mlp", "32", "--batch-size", "8",
                     "--held-out", "0.1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "held-out masked-token accuracy" in printed and f"saved to {model}" in printed
    m = TinyBERT.from_file(model)
    assert m.tokenizer.vocab_size == 280 and m.config["dim"] == 16
    out = tmp_path / "v.npy"
    assert cli.main(["bert", "embed", str(model), "the cat", "a dog sat", "-o", str(out), "--pooling", "max"]) == 0
    np.testing.assert_array_equal(np.load(out), m.embed(["the cat", "a dog sat"], pooling="max"))
    text_file = tmp_path / "in.txt"
    text_file.write_text("the cat\na dog sat\n", encoding="utf-8")
    assert cli.main(["bert", "embed", str(model), "--file", str(text_file), "-o", str(out)]) == 0
    np.testing.assert_array_equal(np.load(out), m.embed(["the cat", "a dog sat"]))


@pytest.mark.parametrize("argv, message", [
    (["bert", "train", "{tmp}/missing.txt", "-o", "{tmp}/m.npz"], "no corpus file"),
    (["bert", "embed", "{tmp}/corpus.txt", "x", "-o", "{tmp}/v.npy"], "corpus.txt is not a readable .npz"),
    (["bert", "embed", "{tmp}/corpus.txt", "-o", "{tmp}/v.npy"], "give the texts to embed, or --file"),
])
def test_errors_are_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "corpus.txt").write_text("\n".join(LINES), encoding="utf-8")
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1

"""`minembed tokenizer train/encode`: a tokenizer file from a text file, ids that decode back to the text."""
import pytest

from minembed import cli
from minembed.text import BPETokenizer

TEXT = "the cat sat on the mat; the cat ate the rat. [SEP] " * 30


def test_train_then_encode(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "tok.json"
    assert cli.main(["tokenizer", "train", str(corpus), "-o", str(out), "--vocab-size", "270",
                     "--special", "[PAD]", "[SEP]"]) == 0
    printed = capsys.readouterr().out
    tok = BPETokenizer.load(out)
    assert tok.vocab_size == 270 and tok.special_tokens == {"[PAD]": 268, "[SEP]": 269}
    assert "270 tokens (256 bytes + 12 merges, special: [PAD]=268, [SEP]=269)" in printed
    assert cli.main(["tokenizer", "encode", str(out), " the cat[SEP]"]) == 0
    ids = [int(x) for x in capsys.readouterr().out.split()]
    assert ids == tok.encode(" the cat[SEP]").tolist() and ids[-1] == 269
    assert tok.decode(ids) == " the cat[SEP]"
    assert cli.main(["tokenizer", "encode", str(out), " the cat", "--tokens"]) == 0
    shown = [tok.id_to_token(i).replace(" ", "\u2423") for i in tok.encode(" the cat")]
    assert capsys.readouterr().out.split() == shown
    text_file = tmp_path / "in.txt"
    text_file.write_text("on the mat", encoding="utf-8")
    assert cli.main(["tokenizer", "encode", str(out), "--file", str(text_file)]) == 0
    assert [int(x) for x in capsys.readouterr().out.split()] == tok.encode("on the mat").tolist()


def test_train_says_when_the_corpus_ran_out_of_pairs(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("ab ab ab", encoding="utf-8")
    assert cli.main(["tokenizer", "train", str(corpus), "-o", str(tmp_path / "t.json"), "--vocab-size", "300"]) == 0
    assert "asked for 300: the corpus has no pair left to merge" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["tokenizer", "train", "{corpus}", "-o", "{out}", "--vocab-size", "257", "--special", "[A]", "[B]"],
     "vocab_size=257 is below the 256 byte tokens + 2 special tokens = 258"),
    (["tokenizer", "train", "{empty}", "-o", "{out}"], "the training text is empty"),
    (["tokenizer", "train", "{tmp}/missing.txt", "-o", "{out}"], "no corpus file"),
    (["tokenizer", "encode", "{corpus}", "x"], "corpus.txt is not a minembed BPE tokenizer file"),
])
def test_errors_are_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "corpus.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    names = dict(corpus=tmp_path / "corpus.txt", empty=tmp_path / "empty.txt", out=tmp_path / "t.json", tmp=tmp_path)
    assert cli.main([a.format(**names) for a in argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err

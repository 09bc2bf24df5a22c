"""`minembed index build/search` on a small word2vec file with planted neighbours."""
import numpy as np
import pytest

from minembed import cli
from minembed.space import ExactIndex, load_index
from minembed.space.formats import save_word2vec_format


@pytest.fixture
def vectors_file(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, 12))
    vecs = (np.repeat(centres, 15, axis=0) + 0.1 * rng.standard_normal((300, 12))).astype(np.float32)
    words = [f"w{i}" for i in range(300)]
    path = tmp_path / "v.bin"
    save_word2vec_format(path, words, vecs, binary=True)
    return path, words, vecs


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_build_then_search_lists_the_exact_neighbours(tmp_path, vectors_file, kind, capsys):
    path, words, vecs = vectors_file
    out = tmp_path / "words.npz"
    extra = ["--M", "8", "--ef-construction", "50"] if kind == "hnsw" else ["--nlist", "8", "--nprobe", "8"]
    assert cli.main(["index", "build", str(path), "-o", str(out), "--kind", kind, *extra]) == 0
    assert f"saved to {out}" in capsys.readouterr().out
    assert len(load_index(out)) == 300
    assert cli.main(["index", "search", str(out), str(path), "w3", "w200", "-k", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "w3:" and lines[6] == "w200:"
    listed = [line.split()[1] for line in lines[1:6]]
    exact = ExactIndex(vecs, "cosine").search(vecs[3], 6)[0]
    assert listed == [words[i] for i in exact if i != 3][:5]
    scores = [float(line.split()[0]) for line in lines[1:6]]
    assert scores == sorted(scores, reverse=True)


def test_errors_are_one_line(tmp_path, vectors_file, capsys):
    path, _, vecs = vectors_file
    out = tmp_path / "i.npz"
    assert cli.main(["index", "build", str(path), "-o", str(out), "--M", "4", "--ef-construction", "20"]) == 0
    capsys.readouterr()
    assert cli.main(["index", "search", str(out), str(path), "nosuchword"]) == 1
    assert "nosuchword" in capsys.readouterr().err
    other = tmp_path / "other.bin"
    save_word2vec_format(other, ["a", "b"], vecs[:2], binary=True)
    assert cli.main(["index", "search", str(out), str(other), "a"]) == 1
    assert "give the file the index was built from" in capsys.readouterr().err
    np.savez(tmp_path / "plain.npz", x=vecs)
    assert cli.main(["index", "search", str(tmp_path / "plain.npz"), str(path), "w1"]) == 1
    assert "is not a minembed HNSWIndex or IVFIndex file" in capsys.readouterr().err
    assert cli.main(["index", "build", str(path), "-o", str(tmp_path / "nofolder" / "x.npz")]) == 1
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["index", "search", str(out), str(path), "w1", "-k", "0"])

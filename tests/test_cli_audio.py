"""minembed audio embed / neighbors over a folder of generated sound files."""
import numpy as np
import pytest

from minembed import audio as A
from minembed import cli
from minembed.space import KeyedVectors


@pytest.fixture
def folder(tmp_path):
    """Two planted kinds of sound in sub-folders: low tones (200-300 Hz) and rising chirps, 3 of each."""
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 8000
    for kind in ("tone", "chirp"):
        (tmp_path / kind).mkdir()
        for i in range(3):
            if kind == "tone":
                x = np.sin(2 * np.pi * rng.uniform(200, 300) * t)
            else:
                x = np.sin(2 * np.pi * (300 * t + 1500 * t ** 2))
            A.write_wav(tmp_path / kind / f"{kind}{i}.wav", 0.5 * x + 0.01 * rng.standard_normal(8000), 8000)
    return tmp_path


def test_embed_saves_keyed_vectors_and_neighbors_finds_the_same_kind(folder, tmp_path, capsys):
    out = tmp_path / "v.npz"
    assert cli.main(["audio", "embed", str(folder), "-o", str(out), "--sr", "8000"]) == 0
    wv = KeyedVectors.load(out)
    assert sorted(wv.index_to_key) == sorted(f"{k}/{k}{i}" for k in ("tone", "chirp") for i in range(3))
    assert "6 sound files x 76 dims" in capsys.readouterr().out          # 19 MFCCs x 4 statistics
    for source in (str(out), str(folder)):
        assert cli.main(["audio", "neighbors", source, "tone/tone0.wav", "-k", "2", "--sr", "8000"]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == 2 and all("tone/" in line for line in lines)
    txt = tmp_path / "v.txt"
    assert cli.main(["audio", "embed", str(folder), "-o", str(txt), "--sr", "8000", "--n-mfcc", "13"]) == 0
    assert KeyedVectors.load_word2vec_format(txt).vector_size == 48


def test_cnn_method_trains_and_embeds(folder, tmp_path, capsys):
    out = tmp_path / "cnn.npz"
    assert cli.main(["audio", "embed", str(folder), "-o", str(out), "--sr", "8000", "--method", "cnn",
                     "--epochs", "1", "--dim", "8", "--quiet"]) == 0
    assert KeyedVectors.load(out).vectors.shape == (6, 8)


def test_audio_cli_errors_are_one_line(folder, tmp_path, capsys):
    (folder / "tone" / "broken.wav").write_bytes(b"RIFF\x00\x00")
    assert cli.main(["audio", "embed", str(folder), "-o", str(tmp_path / "v.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minembed audio: error:") and "broken.wav" in err and len(err.strip().splitlines()) == 1
    (folder / "tone" / "broken.wav").unlink()
    assert cli.main(["audio", "neighbors", str(folder), "tone/nope", "--sr", "8000"]) == 1
    assert "no sound 'tone/nope'" in capsys.readouterr().err
    assert cli.main(["audio", "embed", str(tmp_path / "missing"), "-o", str(tmp_path / "v.npz")]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert cli.main(["audio", "neighbors", str(tmp_path / "nothing.npz"), "x"]) == 1
    assert "no folder or vectors file" in capsys.readouterr().err

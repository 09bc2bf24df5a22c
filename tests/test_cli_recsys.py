"""minembed recsys train / recommend / evaluate on a small generated ratings file."""
import numpy as np
import pytest

from minembed.cli import main
from minembed.datasets import make_low_rank_ratings


@pytest.fixture(scope="module")
def ratings_file(tmp_path_factory):
    data, _ = make_low_rank_ratings(n_users=60, n_items=40, rank=2, density=0.3, seed=0)
    path = tmp_path_factory.mktemp("r") / "ratings.tsv"
    with open(path, "w") as fh:
        for u, i, r in zip(data.user, data.item, np.round(data.rating), strict=True):
            fh.write(f"{u + 100}\t{i + 7}\t{r:g}\n")  # ids that are not row numbers
    return path


@pytest.mark.parametrize("model", ["funksvd", "als", "implicit-als", "bpr"])
def test_train_then_recommend(ratings_file, tmp_path, capsys, model):
    out = tmp_path / "m.npz"
    assert main(["recsys", "train", str(ratings_file), "--model", model, "--factors", "3", "--epochs", "3",
                 "-o", str(out)]) == 0
    assert out.exists()
    capsys.readouterr()
    assert main(["recsys", "recommend", str(out), "105", "-k", "4"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    items = [int(line.split()[1]) for line in lines]
    assert all(7 <= i < 47 for i in items)
    seen = {int(line.split("\t")[1]) for line in ratings_file.read_text().splitlines() if line.startswith("105\t")}
    assert not seen & set(items)  # seen items are filtered by default
    assert main(["recsys", "recommend", str(out), "--similar-to", "8", "-k", "3"]) == 0
    assert "items like 8" in capsys.readouterr().out


def test_evaluate_prints_rmse_and_ranking_beside_most_popular(ratings_file, capsys):
    assert main(["recsys", "evaluate", str(ratings_file), "--model", "als", "--factors", "2", "--folds", "2"]) == 0
    assert "RMSE" in capsys.readouterr().out
    assert main(["recsys", "evaluate", str(ratings_file), "--model", "bpr", "--factors", "2", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "most popular" in out and "NDCG" in out


def test_user_errors_are_one_line(ratings_file, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3\n1 two 3\n")
    assert main(["recsys", "evaluate", str(bad)]) == 1
    assert "bad.txt, line 2: item id 'two'" in capsys.readouterr().err
    out = tmp_path / "m.npz"
    main(["recsys", "train", str(ratings_file), "--factors", "2", "--epochs", "1", "-o", str(out)])
    assert main(["recsys", "recommend", str(out), "99999"]) == 1
    assert "user '99999' is not in the model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["recsys", "recommend", str(out), "105", "-k", "0"])
    with pytest.raises(SystemExit):
        main(["recsys", "train", str(ratings_file), "--factors", "0", "-o", str(out)])

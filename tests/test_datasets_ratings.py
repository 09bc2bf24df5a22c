"""Ratings files, MovieLens 100k (when recbole is installed) and the generated low-rank data."""
import numpy as np
import pytest

from minembed.datasets import load_movielens_100k, load_ratings, make_low_rank_ratings
from minembed.datasets.ratings import movielens_100k_path


def test_read_a_ratings_file(tmp_path):
    f = tmp_path / "r.tsv"
    f.write_text("10\t7\t4\t100\n3\t7\t2.5\t101\n\n10\t9\t5\t102\n")
    d = load_ratings(f)
    assert (d.n_users, d.n_items, len(d)) == (2, 2, 3)
    assert d.user_keys == [3, 10] and d.item_keys == [7, 9]
    np.testing.assert_array_equal(d.user, [1, 0, 1])
    np.testing.assert_array_equal(d.rating, [4, 2.5, 5])


@pytest.mark.parametrize("line, message", [
    ("1 2", "line 2: expected"),
    ("1 x 3", "line 2: item id 'x'"),
    ("-1 2 3", "line 2: user id -1 is negative"),
    ("1 2 nan", "line 2: rating 'nan' is not finite"),
    ("1 2 three", "line 2: rating 'three' is not a number"),
    ("1 2 3 4", "line 2: expected"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, message):
    f = tmp_path / "bad.txt"
    f.write_text(f"1 1 4\n{line}\n")
    with pytest.raises(ValueError, match=message) as err:
        load_ratings(f)
    assert "bad.txt" in str(err.value)


def test_missing_movielens_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip install --no-deps recbole==1.2.1"):
        load_movielens_100k(tmp_path)


def test_grouplens_folder_layout(tmp_path):
    (tmp_path / "u.data").write_text("1\t1\t5\t881250949\n2\t1\t3\t881250950\n1\t2\t4\t881250951\n")
    flags = ["0"] * 19
    flags[1] = "1"  # Action
    (tmp_path / "u.item").write_text("1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(flags) + "\n"
                                     "2|GoldenEye (1995)|01-Jan-1995||http://x|" + "|".join(["0"] * 19) + "\n",
                                     encoding="latin-1")
    d = load_movielens_100k(tmp_path)
    assert len(d) == 3 and d.item_names == ["Toy Story (1995)", "GoldenEye (1995)"]
    assert d.item_genres == [["Action"], []]


@pytest.mark.skipif(movielens_100k_path() is None, reason="needs `pip install --no-deps recbole==1.2.1`")
def test_movielens_100k_from_recbole():
    d = load_movielens_100k()
    assert (len(d), d.n_users, d.n_items) == (100_000, 943, 1682)
    assert set(np.unique(d.rating)) == {1, 2, 3, 4, 5}
    assert d.item_names[0].startswith("Toy Story") and "Animation" in d.item_genres[0]
    assert d.rating.mean() == pytest.approx(3.52986, abs=1e-4)  # the published mean rating of ml-100k


def test_generated_data_has_planted_structure():
    d, true = make_low_rank_ratings(n_users=100, n_items=80, rank=3, noise=0.0, scale=(-100, 100), seed=2)
    assert np.bincount(d.item, minlength=80).min() >= 1 and np.bincount(d.user, minlength=100).min() >= 1
    np.testing.assert_allclose(d.rating, true[d.user, d.item], rtol=1e-6)
    s = np.linalg.svd(true - true.mean(0) - true.mean(1, keepdims=True) + true.mean(), compute_uv=False)
    assert s[3] < 1e-3 * s[0]  # rank 3 once the biases are removed
    again, _ = make_low_rank_ratings(n_users=100, n_items=80, rank=3, noise=0.0, scale=(-100, 100), seed=2)
    np.testing.assert_array_equal(again.rating, d.rating)


def test_selection_makes_users_rate_what_they_like():
    plain, true = make_low_rank_ratings(n_users=80, n_items=60, rank=2, noise=0.0, scale=(-100, 100), seed=4)
    chosen, true2 = make_low_rank_ratings(n_users=80, n_items=60, rank=2, noise=0.0, scale=(-100, 100), seed=4,
                                          selection=2.0)
    np.testing.assert_array_equal(true, true2)  # the same planted matrix; only which cells are seen differs
    liked = true - true.mean(axis=1, keepdims=True)  # how much each user likes each item, relative to the user
    assert liked[chosen.user, chosen.item].mean() > liked[plain.user, plain.item].mean() + 0.3

"""space.evaluate: k-NN labels refuse labels that would index the wrong class."""
import numpy as np
import pytest

from minembed.space.evaluate import knn_accuracy, knn_predict


def test_negative_labels_are_refused_not_wrapped():
    db = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
    # -1 used to vote for the last class (score[:, -1]): the query near rows 0-1 came out as class 1
    with pytest.raises(ValueError, match=r"train_labels\[1\] = -1"):
        knn_predict(db, np.array([0, -1, 1, 1]), np.array([[1.0, 0.0]]), k=2)
    with pytest.raises(ValueError, match="must be >= 0"):
        knn_accuracy(db, np.array([-2, 0, 1, 1]), db, np.array([0, 0, 1, 1]), k=1)


def test_votes_by_hand():
    db = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.2, 0.8]], np.float32)
    labels = np.array([0, 0, 1, 1, 1])
    # nearest 3 of (0.95, 0.05): rows 0, 1 (class 0) and row 4 (class 1) -> class 0 by 2 votes to 1
    assert knn_predict(db, labels, np.array([[0.95, 0.05]]), k=3).tolist() == [0]
    assert knn_predict(db, labels, np.array([[0.05, 0.95]]), k=3).tolist() == [1]

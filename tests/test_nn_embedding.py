"""Embedding and EmbeddingBag against hand-computed values (PyTorch's documented semantics),
and the bad inputs that must be refused before any kernel runs."""
import numpy as np
import pytest

from minembed.nn import Embedding, EmbeddingBag, RowSparseGrad

W = np.array([[1.0, 2.0],
              [3.0, 4.0],
              [5.0, 6.0],
              [7.0, 8.0]], dtype=np.float32)


def emb_with(table, cls=Embedding, **kw):
    layer = cls(table.shape[0], table.shape[1], seed=0, **kw)
    layer.weight.data = np.array(table, copy=True)
    return layer


def dense(grad):
    return grad.to_dense() if isinstance(grad, RowSparseGrad) else grad


# ------------------------------------------------------------------------- Embedding
def test_lookup_is_row_selection_and_keeps_input_shape():
    e = emb_with(W)
    y = e(np.array([[3, 0, 3], [1, 1, 2]]))
    assert y.shape == (2, 3, 2) and y.dtype == np.float32
    np.testing.assert_array_equal(y[0], [[7, 8], [1, 2], [7, 8]])
    np.testing.assert_array_equal(y[1], [[3, 4], [3, 4], [5, 6]])
    assert e(np.array(2)).tolist() == [5.0, 6.0]


def test_backward_adds_duplicate_rows():
    e = emb_with(W)
    ids = np.array([[3, 0, 3], [1, 1, 2]])
    e(ids)
    dy = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    assert e.backward(dy) is None
    # Row 3 gets dy[0,0] + dy[0,2] = [0,1] + [4,5]; row 1 gets [6,7] + [8,9].
    np.testing.assert_array_equal(e.weight.grad, [[2, 3], [14, 16], [10, 11], [4, 6]])
    e(ids)
    e.backward(dy)  # gradients accumulate until zero_grad
    np.testing.assert_array_equal(e.weight.grad[3], [8, 12])


def test_default_init_is_seeded_and_padding_row_starts_at_zero():
    a = Embedding(50, 8, padding_idx=3, seed=7)
    b = Embedding(50, 8, padding_idx=3, seed=7)
    assert np.array_equal(a.weight.data, b.weight.data)
    assert not a.weight.data[3].any() and a.weight.data[4].any()
    assert 0.5 < a.weight.data.std() < 1.5  # N(0, 1) as in PyTorch
    assert Embedding(5, 2, padding_idx=-1, seed=0).padding_idx == 4


@pytest.mark.parametrize("sparse", [False, True])
def test_padding_row_gets_no_gradient(sparse):
    e = emb_with(W, padding_idx=1, sparse=sparse)
    e(np.array([1, 0, 1, 2]))
    e.backward(np.ones((4, 2), np.float32))
    np.testing.assert_array_equal(dense(e.weight.grad), [[1, 1], [0, 0], [1, 1], [0, 0]])


def test_max_norm_renormalises_looked_up_rows_in_place():
    table = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0], [0.0, 10.0]], np.float32)  # norms 5, .5, 10, 10
    e = emb_with(table, max_norm=2.0)
    y = e(np.array([0, 1, 0]))
    scale = 2.0 / (5.0 + 1e-7)
    np.testing.assert_allclose(y, [[3 * scale, 4 * scale], [0.3, 0.4], [3 * scale, 4 * scale]], rtol=1e-6)
    np.testing.assert_allclose(e.weight.data[0], [3 * scale, 4 * scale], rtol=1e-6)  # the table itself changed
    np.testing.assert_array_equal(e.weight.data[2:], table[2:])  # rows not looked up are untouched
    np.testing.assert_array_equal(e.weight.data[1], table[1])  # short rows are left alone


def test_max_norm_with_other_norm_type():
    e = emb_with(np.array([[3.0, -4.0]], np.float32), max_norm=1.0, norm_type=1.0)
    np.testing.assert_allclose(e(np.array([0])), [[3 / 7, -4 / 7]], rtol=1e-6)


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_sparse_gradient_equals_dense_gradient(rng, padding_idx):
    ids = rng.integers(0, 30, (8, 5))
    dy = rng.standard_normal((8, 5, 4)).astype(np.float32)
    grads = []
    for sparse in (False, True):
        e = Embedding(30, 4, padding_idx=padding_idx, sparse=sparse, seed=1)
        for _ in range(2):  # a second backward before the step merges into the first
            e(ids)
            e.backward(dy)
        grads.append(e.weight.grad)
    sparse_grad = grads[1]
    assert isinstance(sparse_grad, RowSparseGrad)
    touched = np.unique(ids)
    if padding_idx is not None:
        touched = touched[touched != padding_idx]
    np.testing.assert_array_equal(sparse_grad.indices, touched)
    np.testing.assert_allclose(sparse_grad.to_dense(), grads[0], rtol=1e-6, atol=1e-6)


def test_from_pretrained_copies_and_freezes():
    e = Embedding.from_pretrained(W)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(np.array([2, 0])), [[5, 6], [1, 2]])
    e.backward(np.ones((2, 2), np.float32))
    assert e.weight.grad is None  # frozen: no gradient
    e.weight.data[0, 0] = 99.0
    assert W[0, 0] == 1.0  # a copy, not a view of the caller's array
    trainable = Embedding.from_pretrained(W, freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and trainable.weight.data[0].tolist() == [1.0, 2.0]  # not zeroed
    with pytest.raises(ValueError, match="2-D"):
        Embedding.from_pretrained(np.zeros(5))


def test_frozen_parameter_is_skipped_by_the_optimizer():
    from minembed.nn import SGD

    e = Embedding.from_pretrained(W)
    e.weight.grad = np.ones_like(W)
    SGD(e.parameters(), lr=1.0).step()
    np.testing.assert_array_equal(e.weight.data, W)


# ---------------------------------------------------------------------- EmbeddingBag
IDS = np.array([0, 2, 2, 3, 1])
OFFSETS = np.array([0, 3, 3])  # bags: [0, 2, 2], [], [3, 1]


@pytest.mark.parametrize("mode,expected", [
    ("sum", [[11, 14], [0, 0], [10, 12]]),
    ("mean", [[11 / 3, 14 / 3], [0, 0], [5, 6]]),
    ("max", [[5, 6], [0, 0], [7, 8]]),
])
def test_bag_modes_with_an_empty_bag(mode, expected):
    bag = emb_with(W, EmbeddingBag, mode=mode)
    np.testing.assert_allclose(bag(IDS, OFFSETS), expected, rtol=1e-6)


def test_include_last_offset_gives_the_same_bags():
    bag = emb_with(W, EmbeddingBag, mode="sum", include_last_offset=True)
    np.testing.assert_array_equal(bag(IDS, np.array([0, 3, 3, 5])), [[11, 14], [0, 0], [10, 12]])
    with pytest.raises(ValueError, match="last bound 4"):
        bag(IDS, np.array([0, 3, 4]))  # would leave id 4 unused


@pytest.mark.parametrize("mode,expected", [
    ("sum", [[6, 8], [0, 0], [7, 8]]),
    ("mean", [[3, 4], [0, 0], [7, 8]]),  # bag 0 holds 3 ids, 1 of them padding: divided by 2
    ("max", [[5, 6], [0, 0], [7, 8]]),
])
def test_include_last_offset_with_padding(mode, expected):
    # bags [0, 1, 2], [1, 1] (only padding: zeros), [3, 1]; padding_idx=1 is left out of every bag.
    bag = emb_with(W, EmbeddingBag, mode=mode, padding_idx=1, include_last_offset=True)
    out = bag(np.array([0, 1, 2, 1, 1, 3, 1]), np.array([0, 3, 5, 7]))
    np.testing.assert_allclose(out, expected)
    bag.backward(np.ones((3, 2), np.float32))
    grad = {"sum": [[1, 1], [0, 0], [1, 1], [1, 1]], "mean": [[0.5, 0.5], [0, 0], [0.5, 0.5], [1, 1]],
            "max": [[0, 0], [0, 0], [1, 1], [1, 1]]}[mode]
    np.testing.assert_allclose(bag.weight.grad, grad)


def test_include_last_offset_with_one_bound_is_zero_bags():
    bag = emb_with(W, EmbeddingBag, mode="mean", include_last_offset=True)
    assert bag(np.zeros(0, np.int64), np.array([0])).shape == (0, 2)  # as PyTorch
    with pytest.raises(ValueError, match="last bound 0, ids has 2"):
        bag(np.array([1, 2]), np.array([0]))  # PyTorch 2.13 crashes here
    with pytest.raises(ValueError, match="at least"):
        bag(np.zeros(0, np.int64), np.zeros(0, np.int64))


def test_two_dimensional_input_is_fixed_length_bags():
    bag = emb_with(W, EmbeddingBag, mode="mean")
    np.testing.assert_allclose(bag(np.array([[0, 1], [2, 3], [3, 3]])), [[2, 3], [6, 7], [7, 8]])
    with pytest.raises(ValueError, match="offsets must be None"):
        bag(np.array([[0, 1]]), np.array([0]))


def test_per_sample_weights_in_sum_mode_and_their_gradient():
    bag = emb_with(W, EmbeddingBag, mode="sum")
    w = np.array([1.0, 0.5, -1.0, 2.0, 0.0], np.float32)
    # bag 0: 1*[1,2] + 0.5*[5,6] - 1*[5,6]; bag 2: 2*[7,8] + 0*[3,4]
    np.testing.assert_allclose(bag(IDS, OFFSETS, w), [[-1.5, -1], [0, 0], [14, 16]])
    dy = np.array([[1, 0], [5, 5], [0, 1]], np.float32)
    bag.backward(dy)
    np.testing.assert_allclose(bag.per_sample_weights_grad, [1, 5, 5, 8, 4])  # dy[bag(i)] . W[id_i]
    np.testing.assert_allclose(bag.weight.grad, [[1, 0], [0, 0], [-0.5, 0], [0, 2]])
    with pytest.raises(ValueError, match="mode='sum'"):
        emb_with(W, EmbeddingBag, mode="mean")(IDS, OFFSETS, w)
    with pytest.raises(ValueError, match="shape"):
        bag(IDS, OFFSETS, w[:3])


@pytest.mark.parametrize("table_dtype,weight_dtype", [(np.float32, np.float64), (np.float64, np.float32),
                                                      (np.float32, np.int64)])
def test_per_sample_weights_of_another_dtype_are_refused(table_dtype, weight_dtype):
    bag = emb_with(W.astype(table_dtype), EmbeddingBag, mode="sum")
    bag.weight.data = W.astype(table_dtype)
    w = np.ones(len(IDS), weight_dtype)
    with pytest.raises(TypeError, match=f"per_sample_weights has dtype {np.dtype(weight_dtype)} but the table is"):
        bag(IDS, OFFSETS, w)


@pytest.mark.parametrize("mode,expected", [("sum", [[4, 6], [0, 0]]), ("mean", [[2, 3], [0, 0]])])
def test_bag_padding_ids_are_left_out_and_not_counted(mode, expected):
    bag = emb_with(W, EmbeddingBag, mode=mode, padding_idx=2)
    out = bag(np.array([0, 2, 1, 2, 2]), np.array([0, 3]))  # second bag holds only padding: empty
    np.testing.assert_allclose(out, expected)
    bag.backward(np.ones((2, 2), np.float32))
    scale = 1.0 if mode == "sum" else 0.5
    np.testing.assert_allclose(bag.weight.grad, [[scale] * 2, [scale] * 2, [0, 0], [0, 0]])


def test_bag_mean_backward_divides_by_bag_size():
    bag = emb_with(W, EmbeddingBag, mode="mean")
    bag(IDS, OFFSETS)
    bag.backward(np.array([[3, 6], [100, 100], [2, 4]], np.float32))
    # Bag 0 has 3 ids (row 2 twice): each gets dy/3; bag 2 has 2 ids: dy/2. The empty bag adds nothing.
    np.testing.assert_allclose(bag.weight.grad, [[1, 2], [1, 2], [2, 4], [1, 2]])


def test_bag_max_backward_routes_to_the_winner_per_column():
    table = np.array([[1, 9], [5, 0], [3, 3]], np.float32)
    bag = emb_with(table, EmbeddingBag, mode="max")
    np.testing.assert_array_equal(bag(np.array([[0, 1, 2]])), [[5, 9]])
    bag.backward(np.array([[10, 20]], np.float32))
    np.testing.assert_array_equal(bag.weight.grad, [[0, 20], [10, 0], [0, 0]])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_sparse_bag_gradient_equals_dense(rng, mode):
    ids = rng.integers(0, 20, 40)
    offsets = np.array([0, 5, 5, 17, 30])
    dy = rng.standard_normal((5, 3)).astype(np.float32)
    grads = []
    for sparse in (False, True):
        bag = EmbeddingBag(20, 3, mode=mode, sparse=sparse, seed=2)
        bag(ids, offsets)
        bag.backward(dy)
        grads.append(dense(bag.weight.grad))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6, atol=1e-6)


def test_bag_max_norm_renormalises_rows_like_pytorch_including_padding():
    table = np.array([[3.0, 4.0], [6.0, 8.0], [0.0, 0.5]], np.float32)
    bag = emb_with(table, EmbeddingBag, mode="sum", max_norm=1.0, padding_idx=1)
    out = bag(np.array([0, 1, 2]), np.array([0]))
    np.testing.assert_allclose(out, [[0.6, 0.8 + 0.5]], rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(bag.weight.data, axis=1), [1, 1, 0.5], rtol=1e-6)


# -------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("layer", [lambda: Embedding(4, 2, seed=0), lambda: EmbeddingBag(4, 2, seed=0)])
@pytest.mark.parametrize("bad", [4, -1, 10**12])
def test_out_of_range_ids_raise_index_error_naming_the_id(layer, bad):
    ids = np.array([[0, 1], [bad, 2]])
    with pytest.raises(IndexError, match=rf"embedding index {bad} at position \(1, 0\) is out of range"):
        layer()(ids)


def test_huge_unsigned_id_is_named_unwrapped():
    with pytest.raises(IndexError, match=str(2**64 - 1)):
        Embedding(4, 2, seed=0)(np.array([1, 2**64 - 1], dtype=np.uint64))


@pytest.mark.parametrize("ids", [np.array([0.0, 1.0]), np.array([True, False]), ["a", "b"]])
def test_non_integer_ids_raise_type_error(ids):
    with pytest.raises(TypeError, match="integer"):
        Embedding(4, 2, seed=0)(ids)


def test_smaller_integer_dtypes_are_accepted():
    e = emb_with(W)
    for dt in (np.int8, np.uint16, np.int32):
        np.testing.assert_array_equal(e(np.array([3, 1], dtype=dt)), W[[3, 1]])


@pytest.mark.parametrize("offsets,message", [
    (np.array([1, 3]), r"offsets\[0\] must be 0"),
    (np.array([0, 4, 2]), r"non-decreasing: offsets\[1\]=4 > offsets\[2\]=2"),
    (np.array([0, 9]), "point past the input"),
    (np.array([], dtype=np.int64), "offsets is empty"),
])
def test_bad_offsets_raise_value_error(offsets, message):
    with pytest.raises(ValueError, match=message):
        EmbeddingBag(4, 2, seed=0)(IDS, offsets)


def test_bad_offsets_types_and_shapes():
    bag = EmbeddingBag(4, 2, seed=0)
    with pytest.raises(TypeError, match="offsets"):
        bag(IDS, np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="need offsets"):
        bag(IDS)
    with pytest.raises(ValueError, match="1-D .* or 2-D"):
        bag(np.zeros((2, 2, 2), np.int64))
    assert bag(np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0, 2)  # no ids, no bags: fine


def test_bad_constructor_arguments_and_backward_shapes():
    with pytest.raises(ValueError, match="padding_idx 4 is out of range"):
        Embedding(4, 2, padding_idx=4)
    with pytest.raises(ValueError, match="max_norm"):
        Embedding(4, 2, max_norm=0.0)
    with pytest.raises(ValueError, match="num_embeddings"):
        Embedding(-1, 2)
    with pytest.raises(ValueError, match="mode"):
        EmbeddingBag(4, 2, mode="median")
    e = Embedding(4, 2, seed=0)
    e(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"dy of shape \(2, 2\)"):
        e.backward(np.ones((2, 3)))


# ------------------------------------------------------------------- empty sizes
def test_zero_dimensional_vectors_as_in_pytorch():
    e = Embedding(5, 0, seed=0)
    y = e(np.array([[0, 4], [2, 2]]))
    assert y.shape == (2, 2, 0)
    e.backward(y)
    assert e.weight.grad.shape == (5, 0)
    bag = EmbeddingBag(5, 0, mode="max", seed=0)
    assert bag(np.array([1, 2, 3]), np.array([0, 2])).shape == (2, 0)


def test_empty_table_takes_only_empty_ids():
    e = Embedding(0, 3, seed=0)
    y = e(np.zeros((2, 0), np.int64))
    assert y.shape == (2, 0, 3)
    e.backward(y)
    assert e.weight.grad.shape == (0, 3)
    with pytest.raises(IndexError, match="size 0 .*empty"):
        e(np.array([0]))
    np.testing.assert_array_equal(EmbeddingBag(0, 3, seed=0)(np.zeros(0, np.int64), np.array([0])), [[0, 0, 0]])
    for shape in [(0, 3), (4, 0)]:
        assert Embedding.from_pretrained(np.zeros(shape)).weight.shape == shape
    with pytest.raises(ValueError, match="padding_idx 0 is out of range for 0"):
        Embedding(0, 3, padding_idx=0)

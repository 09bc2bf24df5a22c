"""Each kernel against its NumPy reference on random inputs, plus the checks that keep bad
indices away from compiled code."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minembed.kernels import scatter
from minembed.kernels.scatter import (
    _scatter_add_rows_parallel,
    _scatter_add_rows_serial,
    gather_rows,
    scatter_add_rows,
    scatter_add_rows_reference,
    segment_max_rows,
    segment_max_rows_reference,
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,v,d", [(1, 1, 1), (7, 3, 5), (1000, 50, 33), (20000, 5000, 64)])
def test_scatter_add_equals_np_add_at_with_duplicates(rng, dtype, n, v, d):
    idx = rng.integers(0, v, n)  # n > v guarantees duplicates
    rows = rng.standard_normal((n, d)).astype(dtype)
    start = rng.standard_normal((v, d)).astype(dtype)
    expected = start.copy()
    scatter_add_rows_reference(expected, idx, rows)
    got = start.copy()
    scatter_add_rows(got, idx, rows)
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("d", [40, 3])  # 3: blocks of 6 rows per thread (>= one 64-byte line)
def test_parallel_scatter_is_bit_identical_to_serial(rng, threads, d):
    # Each row is owned by one thread and gets its additions in index order: same bits.
    idx = (rng.zipf(1.3, 30000) - 1) % 777
    rows = rng.standard_normal((30000, d)).astype(np.float32)
    a = np.zeros((777, d), np.float32)
    b = np.zeros((777, d), np.float32)
    _scatter_add_rows_serial(a, idx, rows)
    _scatter_add_rows_parallel(b, idx, rows, threads)
    assert np.array_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(0, 60), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_scatter_add_property(v, n, d, seed):
    r = np.random.default_rng(seed)
    idx = r.integers(0, v, n)
    rows = r.standard_normal((n, d))
    expected = np.zeros((v, d))
    for i, j in enumerate(idx):  # the definition, one row at a time
        expected[j] += rows[i]
    got = np.zeros((v, d))
    scatter_add_rows(got, idx, rows)
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("bad", [-1, 10, 2**40])
def test_out_of_range_index_raises_before_writing(rng, bad):
    table = np.zeros((10, 4), np.float32)
    idx = np.array([1, 2, bad, 3])
    with pytest.raises(IndexError, match=f"index {bad} at position 2 is out of range"):
        scatter_add_rows(table, idx, np.ones((4, 4), np.float32))
    assert not table.any()
    with pytest.raises(IndexError, match=str(bad)):
        gather_rows(table, idx)


def test_bad_dtypes_and_shapes_are_rejected():
    table = np.zeros((10, 4), np.float32)
    with pytest.raises(TypeError, match="integer"):
        scatter_add_rows(table, np.array([1.0, 2.0]), np.ones((2, 4)))
    with pytest.raises(TypeError, match="integer"):
        gather_rows(table, np.array([True, False]))
    with pytest.raises(ValueError, match="rows"):
        scatter_add_rows(table, np.array([1, 2]), np.ones((2, 5)))
    with pytest.raises(TypeError, match="float32 or float64"):
        scatter_add_rows(np.zeros((10, 4), np.int64), np.array([1]), np.ones((1, 4)))
    with pytest.raises(ValueError, match="C-contiguous"):
        gather_rows(np.zeros((4, 10), np.float32).T, np.array([1]))


def test_public_parallel_scatter_matches_serial_and_reference(rng):
    idx = np.concatenate([rng.integers(0, 50, 3000), [49, 0, 0]])
    rows = rng.standard_normal((3003, 24)).astype(np.float32)
    serial, par, ref = (np.ones((50, 24), np.float32) for _ in range(3))
    scatter_add_rows(serial, idx, rows)
    scatter_add_rows(par, idx, rows, parallel=True)
    scatter_add_rows_reference(ref, idx, rows)
    assert np.array_equal(serial, par)
    np.testing.assert_allclose(serial, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("parallel", [False, True])
def test_gather_equals_take(rng, parallel):
    table = rng.standard_normal((300, 17)).astype(np.float32)
    idx = rng.integers(0, 300, 5000)
    np.testing.assert_array_equal(gather_rows(table, idx, parallel=parallel), table[idx])
    assert gather_rows(table, np.zeros(0, np.int64)).shape == (0, 17)


def test_segment_max_equals_reference_including_empty_segments(rng):
    rows = rng.standard_normal((50, 6)).astype(np.float32)
    rows[10:13] = 1.5  # ties: the first maximum must win in both versions
    offsets = np.array([0, 0, 5, 10, 13, 13, 40, 50])
    out, arg = segment_max_rows(rows, offsets)
    ref_out, ref_arg = segment_max_rows_reference(rows, offsets)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(arg, ref_arg)
    assert (arg[0] == -1).all() and (out[0] == 0).all()
    np.testing.assert_array_equal(out[2], rows[5:10].max(axis=0))  # hand oracle
    with pytest.raises(ValueError, match="non-decreasing"):
        segment_max_rows(rows, np.array([0, 30, 20, 50]))


def test_segment_max_refuses_float_and_out_of_range_offsets():
    rows = np.ones((3, 2), np.float32)
    with pytest.raises(TypeError, match="offset must be an integer array"):
        segment_max_rows(rows, np.array([0.0, 1.5, 3.0]))  # was truncated to [0, 1, 3]
    with pytest.raises(IndexError, match="offset 4 at position 1"):
        segment_max_rows(rows, np.array([0, 4, 3]))


def test_reference_switch_is_read_from_environment():
    assert scatter.jit_enabled() in (True, False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("v,d,p", [(0, 4, 0.5), (1, 1, 1.0), (50, 7, 0.0), (50, 7, 0.3), (300, 64, 1.0)])
def test_zero_marked_rows_equals_reference(rng, dtype, v, d, p):
    from minembed.kernels.scatter import zero_marked_rows, zero_marked_rows_reference

    table = rng.standard_normal((v, d)).astype(dtype)
    marked = rng.random(v) < p
    expected, expected_marks = table.copy(), marked.copy()
    zero_marked_rows_reference(expected, expected_marks)
    hand = table.copy()
    hand[np.flatnonzero(marked)] = 0  # the oracle, row by row
    zero_marked_rows(table, marked)
    np.testing.assert_array_equal(table, expected)
    np.testing.assert_array_equal(table, hand)
    assert not marked.any() and not expected_marks.any()  # the marks are consumed


def test_zero_marked_rows_refuses_bad_marks():
    from minembed.kernels.scatter import zero_marked_rows

    table = np.ones((4, 2), np.float32)
    for bad in (np.ones(4, np.int64), np.ones(3, bool), [True] * 4):
        with pytest.raises(TypeError, match="row marks must be a bool array of shape"):
            zero_marked_rows(table, bad)
    assert table.all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,p", [(0, 0.5), (500, 0.0), (500, 0.4), (500, 1.0)])
@pytest.mark.parametrize("parallel", [False, True])
def test_scatter_over_stale_rows_equals_zeroing_then_np_add_at(rng, dtype, n, p, parallel):
    v, d = 60, 9
    table = rng.standard_normal((v, d)).astype(dtype)  # every row "old"; the stale ones must read as 0
    idx = rng.integers(0, v, n)
    rows = rng.standard_normal((n, d)).astype(dtype)
    stale = rng.random(v) < p
    expected = table.copy()
    expected[stale] = 0
    np.add.at(expected, idx, rows)
    scatter_add_rows(table, idx, rows, parallel=parallel, stale=stale)
    np.testing.assert_allclose(table, expected, rtol=1e-6, atol=1e-6)
    assert not stale.any()


def test_scatter_over_stale_rows_checks_before_writing():
    table = np.ones((4, 2), np.float32)
    stale = np.ones(4, bool)
    with pytest.raises(IndexError, match="index 7"):
        scatter_add_rows(table, np.array([1, 7]), np.ones((2, 2), np.float32), stale=stale)
    with pytest.raises(TypeError, match="row marks"):
        scatter_add_rows(table, np.array([1]), np.ones((1, 2), np.float32), stale=np.ones(3, bool))
    assert table.all() and stale.all()

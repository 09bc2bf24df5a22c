"""kernels.threads: ranges cover the rows exactly once, run on distinct threads only inside compute_threads,
never nest, restore the settings, and pass exceptions on."""
import threading

import pytest

from minembed.kernels.blas import get_blas_threads, set_blas_threads
from minembed.kernels.threads import compute_threads, get_compute_threads, inside_split, split_bounds, split_rows


@pytest.mark.parametrize(("n", "parts", "expected"), [(10, 3, [0, 4, 7, 10]), (4, 4, [0, 1, 2, 3, 4]),
                                                      (5, 1, [0, 5]), (0, 2, [0, 0, 0])])
def test_split_bounds_by_hand(n, parts, expected):
    assert split_bounds(n, parts) == expected


def test_outside_compute_threads_everything_runs_here():
    seen = split_rows(100, lambda lo, hi, t: (lo, hi, t, threading.get_ident()))
    assert seen == [(0, 100, 0, threading.get_ident())]
    assert get_compute_threads() == 1 and not inside_split()


def test_ranges_run_on_their_own_threads_and_cover_every_row():
    all_started = threading.Barrier(3, timeout=10)          # broken (an error) unless 3 ranges run at once

    def work(lo, hi, t):
        all_started.wait()
        return lo, hi, t, threading.get_ident(), inside_split()
    with compute_threads(3):
        assert get_compute_threads() == 3
        parts = split_rows(10, work)
    assert [p[:3] for p in parts] == [(0, 4, 0), (4, 7, 1), (7, 10, 2)]
    assert parts[0][3] == threading.get_ident()            # range 0 in the calling thread
    assert len({p[3] for p in parts}) == 3
    assert all(p[4] for p in parts)
    assert get_compute_threads() == 1 and not inside_split()


def test_min_rows_and_small_inputs_use_fewer_ranges():
    with compute_threads(4):
        assert len(split_rows(10, lambda lo, hi, t: t, min_rows=4)) == 2
        assert split_rows(1, lambda lo, hi, t: (lo, hi)) == [(0, 1)]


def test_a_split_inside_a_split_runs_serially():
    def outer(lo, hi, t):
        assert get_compute_threads() == 1
        return split_rows(6, lambda a, b, u: (a, b, u))
    with compute_threads(2):
        assert split_rows(4, outer) == [[(0, 6, 0)], [(0, 6, 0)]]


def test_an_exception_in_another_range_is_raised_after_all_finish():
    finished = []

    def work(lo, hi, t):
        if t == 1:
            raise KeyError("range 1")
        finished.append(t)
    with compute_threads(2), pytest.raises(KeyError, match="range 1"):
        split_rows(8, work)
    assert finished == [0]


def test_settings_restored_and_blas_on_one_thread_inside():
    before = get_blas_threads()
    if before is None:
        pytest.skip("NumPy's OpenBLAS was not found: there is no BLAS setting to check")
    set_blas_threads(2)
    try:
        with compute_threads(2):
            assert get_blas_threads() == 1
        assert get_blas_threads() == 2 and get_compute_threads() == 1
        with pytest.raises(RuntimeError), compute_threads(2):
            raise RuntimeError
        assert get_blas_threads() == 2 and get_compute_threads() == 1
    finally:
        set_blas_threads(before)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts(bad):
    with pytest.raises(ValueError, match="compute threads"), compute_threads(bad):
        pass

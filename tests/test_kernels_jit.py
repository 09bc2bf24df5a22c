"""Lazy Numba: `import minembed` does not import Numba; the first kernel call of a module binds all of its
kernels to real dispatchers (helpers and prange included), and parallel kernels still run on several threads."""
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minembed.kernels import jit as J

REPO = Path(__file__).resolve().parent.parent


def _fresh_python(code: str, **env) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter that imports this checkout's minembed."""
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **env)
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=600)


def test_import_minembed_and_the_cli_do_not_import_numba():
    code = ("import sys, minembed, minembed.cli\n"
            "heavy = sorted(m for m in ('numba', 'llvmlite', 'matplotlib', 'tqdm', 'scipy') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    run = _fresh_python(code)
    assert run.returncode == 0, run.stderr


@pytest.mark.skipif(not J.jit_enabled(), reason="MINEMBED_JIT=0: kernels are plain Python, nothing to compile")
def test_first_kernel_call_imports_numba_and_binds_its_module():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from minembed.kernels import tsne as kt
        assert 'numba' not in sys.modules
        x = np.random.default_rng(0).standard_normal((40, 3))
        d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
        got = kt.calibrate_affinities(d2, 5.0)
        import numba
        from numba.core.dispatcher import Dispatcher
        assert np.allclose(got, kt.calibrate_affinities_reference(d2, 5.0), rtol=1e-9, atol=1e-15)
        # every kernel of the module is a dispatcher now, and prange is Numba's
        for name in ('_calibrate_kernel', '_tsne_gradient_kernel', '_tsne_gradient_kernel_2d',
                     '_tsne_gradient_kernel_2d_serial'):
            assert isinstance(getattr(kt, name), Dispatcher), name
        assert kt.prange is numba.prange
        assert kt._calibrate_kernel.signatures and kt._calibrate_kernel.targetoptions['parallel']
    """)
    run = _fresh_python(code)
    assert run.returncode == 0, run.stderr


_MODULE = '''
import numba
import numpy as np
from minembed.kernels.jit import jit, prange

@jit(nogil=True)
def _double(v):                       # a jitted helper: must be a dispatcher when kernel compiles
    return 2.0 * v

@jit(nogil=True, parallel=True)
def kernel(x, out, thread):
    for i in prange(x.shape[0]):
        out[i] = _double(x[i])
        thread[i] = numba.get_thread_id()

_ALIAS = kernel                       # a second name for the same lazy kernel
'''


@pytest.fixture
def lazy_module(tmp_path):
    path = tmp_path / "lazy_kernels_for_test.py"
    path.write_text(_MODULE)
    spec = importlib.util.spec_from_file_location("lazy_kernels_for_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not J.jit_enabled(), reason="MINEMBED_JIT=0: kernels are plain Python, nothing to compile")
def test_lazy_prange_kernel_with_a_helper_runs_in_parallel(lazy_module):
    import numba
    from numba.core.dispatcher import Dispatcher

    m = lazy_module
    lazy = m.kernel
    assert isinstance(lazy, J.LazyKernel) and isinstance(m._double, J.LazyKernel) and m.prange is J.prange
    assert lazy.dispatcher is None and "not compiled yet" in repr(lazy)
    x = np.arange(20_000, dtype=np.float64)
    out = np.zeros_like(x)
    thread = np.full(x.shape, -1, np.int64)
    threads_before = numba.get_num_threads()
    try:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        lazy(x, out, thread)
    finally:
        numba.set_num_threads(threads_before)
    np.testing.assert_array_equal(out, 2.0 * x)  # the reference: the helper's formula
    # The module was bound: names point at dispatchers (the alias too) and prange is Numba's.
    assert isinstance(m.kernel, Dispatcher) and m._ALIAS is m.kernel and isinstance(m._double, Dispatcher)
    assert m.prange is numba.prange and lazy.dispatcher is m.kernel and lazy.signatures
    if numba.config.NUMBA_NUM_THREADS >= 2:  # a serial compile would have run every iteration on thread 0
        assert len(set(thread.tolist())) >= 2
    # A LazyKernel held elsewhere keeps working and forwards to the same dispatcher.
    out2 = np.zeros_like(x)
    lazy(x, out2, thread)
    np.testing.assert_array_equal(out2, out)


@pytest.mark.skipif(J.jit_enabled(), reason="checks MINEMBED_JIT=0")
def test_jit_off_returns_plain_functions(lazy_module):
    assert not isinstance(lazy_module.kernel, J.LazyKernel)
    x = np.arange(5.0)
    out, thread = np.zeros(5), np.zeros(5, np.int64)
    lazy_module.kernel(x, out, thread)  # plain Python: prange is range
    np.testing.assert_array_equal(out, 2 * x)


def test_jit_off_in_a_fresh_process_gives_plain_functions_and_no_numba():
    code = textwrap.dedent("""
        import sys, types
        import numpy as np
        from minembed.kernels import scatter, tsne as kt
        assert isinstance(kt._calibrate_kernel, types.FunctionType)
        table = np.zeros((4, 2), np.float32)
        scatter.scatter_add_rows(table, np.array([1, 1, 3]), np.ones((3, 2), np.float32))
        assert table[1, 0] == 2 and table[3, 1] == 1
        assert 'numba' not in sys.modules
    """)
    run = _fresh_python(code, MINEMBED_JIT="0")
    assert run.returncode == 0, run.stderr


def test_thread_count_functions(monkeypatch):
    n = J.get_num_threads()
    assert n >= 1
    J.set_num_threads(1)
    try:
        assert J.get_num_threads() == 1
    finally:
        J.set_num_threads(n)
    for bad in (0, 10_000, 1.5, True):
        with pytest.raises(ValueError, match="number of threads"):
            J.set_num_threads(bad)

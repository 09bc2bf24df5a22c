"""The one place that decides whether, and when, compiled kernels run.

``MINEMBED_JIT=0`` in the environment (read once, at import) makes every public
kernel function run its plain NumPy/Python reference instead, and makes
:func:`jit` return the undecorated Python function, so the whole library can be
stepped through in a debugger.

Kernel pattern used everywhere in :mod:`minembed.kernels`::

    from .jit import jit, jit_enabled, prange

    def op_reference(...):          # the readable definition and the test oracle
        ...

    @jit(nogil=True, cache=True)
    def _op_kernel(...):            # same contract, explicit loops, no Python objects
        ...

    def op(...):                    # public: validate in Python, then dispatch
        check(...)
        (_op_kernel if jit_enabled() else op_reference)(...)

Numba does no bounds checking, so the public function must validate every index
before the kernel sees it.

Numba is imported lazily
------------------------
Importing Numba (and llvmlite behind it) costs about 0.3-0.45 s and 70 MB, and making
each ``numba.njit(cache=True)`` dispatcher costs more (it looks for its cache files).
``import minembed`` and ``minembed --help`` should not pay that before any kernel is
asked for, so :func:`jit` does not call Numba: it returns a :class:`LazyKernel` that only
records the Python function and its options. The first call of any lazy kernel of a
module *binds* that module:

1. ``import numba``; every lazy kernel of the module becomes ``numba.njit(**options)(func)``
   (a dispatcher: it compiles, or loads from the cache, at its first call as usual);
2. the module's global names are rebound to the Numba objects: each lazy kernel name to its
   dispatcher, and ``prange`` to ``numba.prange``.

Step 2 matters because Numba compiles a function against the *current* values of its
module's globals: a kernel that calls a jitted helper needs a dispatcher there, not a
``LazyKernel`` (which Numba cannot type), and ``prange`` must be ``numba.prange`` when the
kernel compiles, or the loop is compiled serially without a word. The :data:`prange`
exported here is only the stand-in that lets a module import before Numba is there (in
plain Python, with ``MINEMBED_JIT=0``, it is ``range``). After binding, the module's own
calls go straight to the dispatchers; a ``LazyKernel`` held elsewhere (imported by name into
another module, or kept in a ``functools.partial``) forwards its calls to its dispatcher.
``cache=True`` works as before: the dispatcher is made from the same function, in the same file.
"""
from __future__ import annotations

import functools
import os
import threading

_JIT = os.environ.get("MINEMBED_JIT", "1").strip().lower() not in ("0", "false", "no", "off")


# Fast-math flags for kernels that sum in a loop: ``reassoc`` lets LLVM reorder (and so
# vectorise) sums, ``contract`` fuse multiply-adds, ``afn``/``arcp`` use faster exp and
# reciprocals, ``nsz`` ignore the sign of zero. Not ``nnan``/``ninf`` (which ``fastmath=True``
# includes): they let LLVM assume no NaN or inf ever occurs, so a NaN input becomes undefined
# behaviour instead of a NaN output. One example: Numba guards ``1 / d`` with ``if d == 0: raise
# ZeroDivisionError``; under ``nnan`` LLVM may fold that test to true for d = NaN, and the GELU
# of a float32 NaN raised ZeroDivisionError. Numba's cache does not see this constant: after
# editing it, touch the kernel files (or clear ``__pycache__``) so they compile again.
FASTMATH = {"reassoc", "contract", "afn", "arcp", "nsz"}


def jit_enabled() -> bool:
    """True unless the environment variable ``MINEMBED_JIT`` is ``0`` (or false/no/off)."""
    return _JIT


def prange(*args):
    """Stand-in for ``numba.prange`` until the module's kernels are bound (see the module docstring): ``range``."""
    return range(*args)


def _numba():
    import numba  # the first kernel call pays for it, not `import minembed`

    return numba


# Lazy kernels by the globals dict of the module that defined them; the lock makes binding
# happen once even when the first calls come from several threads at the same time.
_PENDING: dict[int, list[LazyKernel]] = {}
_LOCK = threading.RLock()


class LazyKernel:
    """A kernel Numba has not seen yet: the Python function and its ``numba.njit`` options.

    Calling it (or reading a dispatcher attribute such as ``signatures``) binds its module and
    forwards to the dispatcher. ``py_func`` is the plain Python function, as on a dispatcher.
    """

    def __init__(self, func, options: dict):
        functools.update_wrapper(self, func)
        self.py_func = func
        self.options = dict(options)
        self.dispatcher = None
        _PENDING.setdefault(id(func.__globals__), []).append(self)

    def compile(self):
        """The Numba dispatcher for this kernel, binding its module first if needed."""
        if self.dispatcher is None:
            _bind_module(self.py_func.__globals__)
        return self.dispatcher

    def __call__(self, *args, **kwargs):
        return (self.dispatcher or self.compile())(*args, **kwargs)

    def __getattr__(self, name):  # reached only for names a LazyKernel lacks: dispatcher attributes
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.compile(), name)

    def __repr__(self):
        state = "bound" if self.dispatcher is not None else "not compiled yet"
        return f"<LazyKernel {self.py_func.__module__}.{self.py_func.__qualname__} ({state})>"


def _bind_module(namespace: dict) -> None:
    """Make dispatchers of every lazy kernel defined in the module whose globals are ``namespace``
    and rebind that module's names to the Numba objects (see the module docstring)."""
    with _LOCK:
        kernels = _PENDING.pop(id(namespace), None)
        if kernels is None:  # bound already (by another thread, or through a kernel of another module)
            return
        numba = _numba()
        made = {id(k): numba.njit(**k.options)(k.py_func) for k in kernels}
        for name, value in list(namespace.items()):
            if value is prange:
                namespace[name] = numba.prange
            elif isinstance(value, LazyKernel):
                if id(value) in made:
                    namespace[name] = made[id(value)]
                else:  # a kernel imported from another module: bind that one first
                    namespace[name] = value.compile()
        for k in kernels:  # published last, so no thread calls a dispatcher before the globals are rebound
            k.dispatcher = made[id(k)]


def jit(*args, **options):
    """A lazily compiled ``numba.njit`` when JIT is on; the identity decorator when ``MINEMBED_JIT=0``.

    Use as ``@jit`` or ``@jit(parallel=True, cache=True)``; the options are ``numba.njit``'s.
    """
    if args and callable(args[0]) and not options:
        return jit()(args[0])

    def decorate(func):
        if not _JIT:
            return func
        return LazyKernel(func, options)

    return decorate


def set_num_threads(n: int) -> None:
    """Set how many threads parallel (``prange``) kernels use; ``1 <= n <= numba.config.NUMBA_NUM_THREADS``."""
    numba = _numba()
    limit = numba.config.NUMBA_NUM_THREADS
    if not isinstance(n, (int,)) or isinstance(n, bool) or not 1 <= n <= limit:
        raise ValueError(f"number of threads must be an integer in [1, {limit}], got {n!r}")
    numba.set_num_threads(n)


def get_num_threads() -> int:
    """How many threads parallel kernels use now."""
    return _numba().get_num_threads()

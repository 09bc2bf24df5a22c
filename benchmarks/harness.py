"""Time each side of a benchmark alone, in its own fresh Python process, rounds alternating.

Why: a user runs one library at a time. Two libraries in one process share two cores through
*different* thread pools (Numba's, OpenBLAS's, faiss's OpenMP, PyTorch's), which then fight, and one
of them (often the peer) loses: faiss measured 20 ms per query next to minembed, 2.3 ms alone.

A *side* is a function in a bench script. It runs in the child: it builds its data (from a seed, so
every side sees the same data), imports only what it needs, and returns the work to time::

    def side_take(vocab, dim, n, seed):          # setup, untimed
        import numpy as np
        table, idx = make_data(vocab, dim, n, seed)

        def run():                                # one timed repeat; may return a dict of JSON-able values,
            np.take(table, idx, axis=0)           # or a function returning one, called after the clocks stop
        return run                                # or (run, after): after() -> dict, untimed, once

The driver lists ``Side(label, "side_take", dict(vocab=..., ...))`` and calls :func:`measure`. Each
round starts one fresh process per side, in the order A B C, then C B A, then A B C, ... so that a slow
spell of the machine does not always hit the same side. The child calls ``run()`` ``warmup`` times
(JIT compilation, first-touch page faults, caches; untimed), then ``repeats`` times under two clocks:
wall (``time.perf_counter``) and CPU (``time.process_time``: the whole process, every thread), and
prints one JSON line. Every child gets the same interpreter (``sys.executable``), ``PYTHONPATH`` = this
checkout, and the same thread count in NUMBA_NUM_THREADS, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS. We report medians (robust to the odd slow repeat) with the min-max spread, and ratios
of medians from the same run.

``--unset-openblas-env`` removes OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the children's environment:
this machine sets them, and they speed up one OpenBLAS build and slow down another, so a figure must say
which setting it was taken under. The header printed by :func:`print_header` says, per side, which BLAS
(threadpoolctl's view: library, version, core type, threads) and which libraries were loaded.

This file is also the child's entry point: ``python harness.py '<job as JSON>'``. It imports only the
standard library, so the child loads nothing a side did not ask for.
"""
from __future__ import annotations

import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
LIBRARIES = ("numpy", "numba", "minembed", "torch", "faiss", "gensim")  # reported when a side loaded them
RESULT_MARK = "HARNESS-RESULT "


@dataclass
class Side:
    """One contestant: ``function(**kwargs)`` in the bench script, run in a child with ``env`` added."""

    label: str
    function: str
    kwargs: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)


@dataclass
class Result:
    """Everything the children of one side reported, round by round."""

    side: Side
    wall: list = field(default_factory=list)     # [round][repeat] seconds
    cpu: list = field(default_factory=list)      # [round][repeat] CPU seconds, all threads of the child
    extras: list = field(default_factory=list)   # [round][repeat] what run() returned
    after: list = field(default_factory=list)    # [round] what after() returned
    setup: list = field(default_factory=list)    # [round] seconds from child start to the end of warm-up
    peak_mb: list = field(default_factory=list)  # [round] the child's peak resident memory
    info: dict = field(default_factory=dict)     # versions, BLAS and environment, from the first round
    load: tuple = ()                             # the machine's 1-minute load average at the start and the end

    def times(self, clock="wall"):
        """All timed repeats of all rounds, flattened."""
        return [t for rnd in getattr(self, clock) for t in rnd]

    def median(self, clock="wall"):
        return statistics.median(self.times(clock))

    def spread(self, clock="wall"):
        return min(self.times(clock)), max(self.times(clock))

    def round_medians(self, clock="wall"):
        return [statistics.median(rnd) for rnd in getattr(self, clock)]


# --------------------------------------------------------------------------------------------- driver
def add_arguments(parser, rounds=3):
    """The options every bench shares: rounds, threads, and the OpenBLAS environment."""
    group = parser.add_argument_group("harness (each side in its own fresh process)")
    group.add_argument("--rounds", type=int, default=rounds,
                       help="fresh processes per side, order alternating between rounds (default %(default)s)")
    group.add_argument("--threads", type=int, default=os.cpu_count(),
                       help="thread count given to every side via NUMBA/OMP/OPENBLAS/MKL_NUM_THREADS "
                            "(default: all %(default)s cores)")
    group.add_argument("--unset-openblas-env", action="store_true",
                       help="remove OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the sides' environment")


def child_env(side, args):
    """The parent's environment, with the same threads for every side, PYTHONPATH = this checkout,
    optionally without the OpenBLAS variables, then the side's own additions (e.g. MINEMBED_JIT=0)."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(args.threads)
    if args.unset_openblas_env:
        for var in OPENBLAS_VARS:
            env.pop(var, None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(side.env)
    return env


def run_child(script, side, args, repeats, warmup):
    """Start one fresh process for ``side``, wait for it, return its JSON report."""
    job = dict(script=str(Path(script).resolve()), function=side.function, kwargs=side.kwargs,
               repeats=repeats, warmup=warmup)
    proc = subprocess.run([sys.executable, __file__, json.dumps(job)], env=child_env(side, args),
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    raise RuntimeError(f"side {side.label!r} failed (exit code {proc.returncode}):\n{proc.stderr[-3000:]}")


def measure(script, sides, args, repeats=5, warmup=1, rounds=None):
    """Run every side ``rounds`` (default ``args.rounds``) times, each time in a fresh process, the order
    alternating. Returns ``{label: Result}`` in the order of ``sides``. Progress goes to stderr.
    """
    results = {side.label: Result(side) for side in sides}
    rounds = rounds or args.rounds
    load_before = os.getloadavg()[0]
    for rnd in range(rounds):
        for side in (sides if rnd % 2 == 0 else sides[::-1]):
            out = run_child(script, side, args, repeats, warmup)
            res = results[side.label]
            res.wall.append(out["wall"])
            res.cpu.append(out["cpu"])
            res.extras.append(out["extras"])
            res.after.append(out["after"])
            res.setup.append(out["setup"])
            res.peak_mb.append(out["peak_mb"])
            res.info = res.info or out["info"]
            med = statistics.median(out["wall"]) if out["wall"] else float("nan")
            print(f"  round {rnd + 1}/{rounds}  {side.label}: median {med:.4g} s", file=sys.stderr, flush=True)
    for res in results.values():
        res.load = (load_before, os.getloadavg()[0])
    return results


def available(module):
    """Whether ``module`` could be imported by a child, without importing it here."""
    return importlib.util.find_spec(module) is not None


def speed_ratio(results, fast, slow, clock="wall"):
    """How many times faster ``fast`` is than ``slow``, paired by round: round i of one against round i of
    the other (they ran back to back, so under about the same load). Returns the median of the per-round
    ratios median(slow) / median(fast), and their min and max."""
    a, b = results[fast], results[slow]
    per_round = [s / f for f, s in zip(a.round_medians(clock), b.round_medians(clock), strict=True)]
    return statistics.median(per_round), min(per_round), max(per_round)


def print_header(title, results, args):
    """Interpreter, thread settings, OpenBLAS variables, and per side the libraries and BLAS it loaded."""
    first = next(iter(results.values()))
    print(title)
    print(f"python {first.info['python']} ({first.info['executable']}), {platform.machine()}, {os.cpu_count()} CPUs; "
          f"load average (1 min) {first.load[0]:.2f} at the start, {first.load[1]:.2f} at the end of this measurement")
    print(f"each side: its own fresh process in each of {args.rounds} round(s), the order alternating; "
          f"{args.threads} thread(s) via {'/'.join(THREAD_VARS)}")
    env = first.info["env"]
    state = ", ".join(f"{v}={env[v]}" if env.get(v) is not None else f"{v} unset" for v in OPENBLAS_VARS)
    print(f"OpenBLAS environment of the sides: {state}"
          + ("  (--unset-openblas-env)" if args.unset_openblas_env else ""))
    for label, res in results.items():
        info = res.info
        libs = " ".join(f"{name} {version}" for name, version in info["libraries"].items())
        print(f"  {label}: {libs}")
        for pool in info["pools"] or []:
            what = " ".join(str(pool[k]) for k in ("internal_api", "version", "architecture") if pool.get(k))
            where = Path(pool["filepath"])
            print(f"      {what}, {pool['num_threads']} thread(s) [{where.parent.name}/{where.name}]")
        if info["pools"] is None:
            print("      (threadpoolctl not importable: BLAS unknown)")
        if "numba_threads" in info:
            print(f"      numba {info['numba_threads']} thread(s), threading layer {info['numba_layer']}")
    print()


def print_table(results, unit="ms", scale=1e3, rate=None):
    """One line per side: median wall time (min-max over every repeat of every round), median CPU time,
    CPU/wall (how many cores it kept busy), ``rate=(name, work)``: work / median time, and the time
    relative to the first side's."""
    base = next(iter(results.values())).median()
    head = f"{'side':44s}{unit + ' (median)':>14s}{'min-max':>20s}{'CPU ' + unit:>11s}{'CPU/wall':>9s}"
    print(head + (f"{rate[0]:>14s}" if rate else "") + f"{'time/row 1':>11s}")
    for label, res in results.items():
        lo, hi = res.spread()
        med, cpu = res.median(), res.median("cpu")
        line = f"{label:44s}{med * scale:14.3f}{f'{lo * scale:.3f}-{hi * scale:.3f}':>20s}{cpu * scale:11.3f}"
        line += f"{cpu / med:9.2f}"
        if rate:
            value = rate[1] / med
            line += f"{value:14,.0f}" if value >= 100 else f"{value:14.2f}"
        print(line + f"{med / base:10.2f}x")


# ---------------------------------------------------------------------------------------------- child
def peak_mb():
    """This process's own peak resident memory (VmHWM; ru_maxrss would include the parent's peak
    carried across fork + exec)."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return None


def _runtime_info():
    """Versions of the libraries this side loaded, the thread pools threadpoolctl sees, the environment."""
    info = {"python": platform.python_version(), "executable": sys.executable,
            "libraries": {name: getattr(sys.modules[name], "__version__", "")
                          for name in LIBRARIES if name in sys.modules},
            "env": {var: os.environ.get(var) for var in THREAD_VARS + OPENBLAS_VARS}}
    try:
        from threadpoolctl import threadpool_info

        keys = ("internal_api", "version", "architecture", "num_threads", "filepath")
        info["pools"] = [{k: pool.get(k) for k in keys} for pool in threadpool_info()]
    except ImportError:
        info["pools"] = None
    if "numba" in sys.modules:
        numba = sys.modules["numba"]
        info["numba_threads"] = numba.get_num_threads()
        try:
            info["numba_layer"] = numba.threading_layer()
        except ValueError:  # no parallel kernel has run
            info["numba_layer"] = "(not started)"
    return info


def _child(job):
    started = time.perf_counter()
    sys.path.insert(0, str(Path(job["script"]).parent))  # so a bench script can `import harness`
    spec = importlib.util.spec_from_file_location("bench_side", job["script"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = getattr(module, job["function"])(**job["kwargs"])
    run, after = made if isinstance(made, tuple) else (made, None)
    for _ in range(job["warmup"]):
        run()
    setup = time.perf_counter() - started
    wall, cpu, extras = [], [], []
    for _ in range(job["repeats"]):
        w0, c0 = time.perf_counter(), time.process_time()
        extra = run()
        c1, w1 = time.process_time(), time.perf_counter()
        wall.append(w1 - w0)
        cpu.append(c1 - c0)
        if callable(extra):  # a measurement that must not be timed, e.g. a test accuracy after an epoch
            extra = extra()
        extras.append(extra if isinstance(extra, dict) else None)  # not e.g. an array a lambda returned
    report = dict(wall=wall, cpu=cpu, extras=extras, setup=setup, peak_mb=peak_mb(),
                  after=after() if after else None, info=_runtime_info())
    print(RESULT_MARK + json.dumps(report), flush=True)


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))

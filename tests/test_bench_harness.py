"""benchmarks/harness.py: each side in its own process, with the promised environment and order."""
from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import harness  # noqa: E402

SCRIPT = textwrap.dedent('''
    import os
    import sys


    def side_probe(label, log):
        with open(log, "a") as fh:          # the driver's order, as the children saw it
            fh.write(label + "\\n")
        calls = []

        def run():
            calls.append(1)
            return {"env": {v: os.environ.get(v) for v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS",
                                                            "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONPATH")},
                    "numba_loaded": "numba" in sys.modules, "calls": len(calls), "executable": sys.executable}
        return run, lambda: {"total_calls": len(calls)}


    def side_broken():
        raise ValueError("this side cannot start")


    def side_deferred():
        return lambda: (lambda: {"measured": "after the clocks stopped"})
''')


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "bench_probe.py"
    path.write_text(SCRIPT)
    return path


def options(**kw):
    return argparse.Namespace(**{"rounds": 2, "threads": 1, "unset_openblas_env": False, **kw})


def test_sides_alternate_in_fresh_processes_with_the_same_environment(script, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    log = tmp_path / "order.txt"
    sides = [harness.Side(name, "side_probe", {"label": name, "log": str(log)}) for name in ("A", "B")]
    res = harness.measure(script, sides, options(rounds=3, threads=1), repeats=2, warmup=1)
    assert log.read_text().split() == ["A", "B", "B", "A", "A", "B"]   # one process per side and round
    for r in res.values():
        assert [len(w) for w in r.wall] == [2, 2, 2] and [len(c) for c in r.cpu] == [2, 2, 2]
        assert [a["total_calls"] for a in r.after] == [3, 3, 3]          # 1 warm-up + 2 timed, per process
        extra = r.extras[0][0]
        assert extra["calls"] == 2                                        # the warm-up was not timed
        assert extra["env"]["NUMBA_NUM_THREADS"] == extra["env"]["OMP_NUM_THREADS"] == "1"
        assert extra["env"]["OPENBLAS_CORETYPE"] == "Haswell"
        assert extra["env"]["PYTHONPATH"].split(":")[0] == str(harness.REPO)
        assert extra["executable"] == sys.executable
        assert not extra["numba_loaded"]                                  # only what the side imported
        assert "numpy" not in r.info["libraries"] and r.info["env"]["OPENBLAS_CORETYPE"] == "Haswell"


def test_unset_openblas_env_removes_both_variables(script, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    side = harness.Side("A", "side_probe", {"label": "A", "log": str(tmp_path / "log")})
    res = harness.measure(script, [side], options(unset_openblas_env=True, threads=2), repeats=1, rounds=1)
    env = res["A"].extras[0][0]["env"]
    assert env["OPENBLAS_CORETYPE"] is None and env["OPENBLAS_L2_SIZE"] is None
    assert env["NUMBA_NUM_THREADS"] == "2"


def test_a_failing_side_raises_with_its_error(script):
    with pytest.raises(RuntimeError, match="(?s)side .broken. failed.*this side cannot start"):
        harness.measure(script, [harness.Side("broken", "side_broken")], options(), rounds=1)


def test_a_function_returned_by_run_is_called_and_its_dict_kept(script):
    res = harness.measure(script, [harness.Side("D", "side_deferred")], options(), repeats=2, rounds=1)
    assert res["D"].extras == [[{"measured": "after the clocks stopped"}] * 2]


def test_medians_spread_and_ratios_by_hand():
    fast = harness.Result(harness.Side("fast", "f"), wall=[[1.0, 2.0, 9.0], [1.0, 1.0, 3.0]])
    slow = harness.Result(harness.Side("slow", "s"), wall=[[4.0, 4.0, 4.0], [6.0, 1.0, 6.0]])
    assert fast.median() == 1.5 and fast.spread() == (1.0, 9.0)
    assert fast.round_medians() == [2.0, 1.0]
    ratio, lo, hi = harness.speed_ratio({"fast": fast, "slow": slow}, "fast", "slow")
    assert (ratio, lo, hi) == (4.0, 2.0, 6.0)                           # per round: 4/2 and 6/1

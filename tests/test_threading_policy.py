"""The cpu backend starts Numba's pool with sleeping OpenMP workers and a thread-safe layer.

Each case runs in a fresh process: the policy can only act before Numba's
thread pool starts, and it must leave the user's own choices alone.
"""
import json
import os
import subprocess
import sys
import tempfile

WORKER = r"""
import json, os, threading
import numpy as np
import numba
if os.environ.get("PRESTART_POOL"):          # the user's own Numba code ran first
    from numba.np.ufunc import parallel
    parallel._launch_threads()
import repalign_edu as ra
from repalign_edu.backends import cpu, threading_policy

X = np.random.default_rng(0).normal(size=(100_000, 8))  # large enough for the parallel path
values = []
def call():
    values.append(float(cpu.center(X).sum() + cpu.row_stats(X)[1].sum()))
threads = [threading.Thread(target=call) for _ in range(3)]  # concurrent parallel kernels
for t in threads: t.start()
for t in threads: t.join()
state = threading_policy.configure()
print(json.dumps({"layer": numba.threading_layer(), "passive": state["passive"],
                  "layer_set": state["layer_set"], "note": state["note"],
                  "env": os.environ.get("OMP_WAIT_POLICY"), "values": values,
                  "expected": float((X - X.mean(0)).sum() + (X * X).sum()),
                  "describe": threading_policy.describe()}))
"""


def _run(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME",
                        "NUMBA_THREADING_LAYER", "REPALIGN_THREADING")}
    env.update(env_changes)
    with tempfile.TemporaryDirectory() as cache:
        env.setdefault("NUMBA_CACHE_DIR", cache)
        proc = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True,
                              text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_default_environment_gets_passive_threadsafe_pool():
    out = _run()
    assert out["layer"] in ("omp", "tbb")        # never workqueue
    assert out["layer_set"]
    assert out["passive"] == (out["layer"] == "omp")
    assert out["env"] is None                    # not left behind for other libraries
    assert len(out["values"]) == 3 and len(set(out["values"])) == 1
    assert abs(out["values"][0] - out["expected"]) < 1e-9 * out["expected"]
    assert "PASSIVE" in out["describe"] or out["layer"] == "tbb"


def test_user_choices_are_kept():
    out = _run(OMP_WAIT_POLICY="ACTIVE")
    assert not out["passive"] and out["env"] == "ACTIVE"
    assert "user" in out["note"]
    out = _run(REPALIGN_THREADING="keep")
    assert not out["passive"] and not out["layer_set"] and "keep" in out["note"]
    out = _run(NUMBA_THREADING_LAYER="omp")
    assert not out["layer_set"] and out["layer"] == "omp" and out["passive"]
    out = _run(PRESTART_POOL="1")
    assert not out["passive"] and not out["layer_set"] and "already running" in out["note"]

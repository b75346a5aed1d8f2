"""How the cpu backend starts Numba's thread pool: sleeping workers, a thread-safe layer.

The problem
-----------
Numba runs ``prange`` loops on a pool of worker threads (its *threading
layer*).  On Linux with the pip wheels that layer is usually ``omp``: GNU
OpenMP (``libgomp``).  By default libgomp's workers keep spinning on their
cores for a while after each parallel region ends, waiting for the next one.
In a notebook our parallel regions alternate with NumPy's BLAS calls, whose
OpenBLAS threads then find the cores busy: on a 2-core machine a
``X.T @ Y`` after one of our calls ran 8 times slower, and ``mutual_knn``
(which itself alternates BLAS blocks and Numba merges) 2.4 times slower,
than with ``OMP_WAIT_POLICY=PASSIVE`` (see ``benchmarks/bench_threads.py``).

What this module does
---------------------
:func:`configure` is called once, when :mod:`repalign_edu.backends.cpu` is
imported, before any of our parallel kernels runs.  When Numba's pool has
not been started yet:

1. **Layer.**  If the user has not chosen one (``NUMBA_THREADING_LAYER``
   unset, ``numba.config.THREADING_LAYER == "default"``), the layer is set
   to ``"threadsafe"``: TBB when installed, else OpenMP; never
   ``workqueue``, which aborts when two threads call parallel kernels at
   once (the Dask backend calls our kernels from several worker threads).
   If neither TBB nor OpenMP can be loaded, Numba's default is kept.
2. **Wait policy.**  If the user has set none of ``OMP_WAIT_POLICY``,
   ``GOMP_SPINCOUNT`` and ``KMP_BLOCKTIME``, ``OMP_WAIT_POLICY=PASSIVE`` is
   put in the environment *only while Numba loads its OpenMP runtime and
   starts its pool*, and removed right after.  OpenMP runtimes read the
   variable once, when they are loaded, so the setting sticks to the
   runtime Numba loads and to nothing loaded later.

Effect on other OpenMP libraries in the process
-----------------------------------------------
* Libraries that ship their own copy of the OpenMP runtime (the PyTorch and
  scikit-learn wheels bundle ``libgomp-<hash>.so``; MKL uses ``libiomp5``)
  are not affected: they read the environment themselves, and the variable
  is no longer there.  Child processes do not inherit it either.
* A library that links the *same* system ``libgomp.so.1`` as Numba shares
  its runtime, and therefore the passive policy: its workers also sleep
  between regions, which costs it a wake-up (microseconds) per parallel
  region and gives the cores back to everyone else.
* If that runtime was already loaded before our first call (by another
  library, or by the user's own Numba code, or Numba's pool already
  running), it is too late to change it; nothing is done and
  :func:`describe` says so.  Set ``OMP_WAIT_POLICY=PASSIVE`` in the shell
  in that case.

Opting out
----------
Setting any of the wait variables above yourself keeps your wait policy;
choosing a threading layer (``NUMBA_THREADING_LAYER`` or
``numba.config.THREADING_LAYER``) keeps your layer; setting
``REPALIGN_THREADING=keep`` before the first call leaves everything as
Numba would do it.  The policy changes speed only, never a result: the cpu
backend's results are bitwise independent of the threads that compute them.
"""
from __future__ import annotations

import os

#: environment variables through which a user states a wait policy of their own
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")

_state: dict = {"configured": False, "layer_set": False, "passive": False, "note": ""}


def _pool_started() -> bool:
    from numba.np.ufunc import parallel

    return bool(getattr(parallel, "_is_initialized", False))


def _system_libgomp_loaded() -> bool:
    """True if the unbundled libgomp.so.1 is already mapped into this process (Linux only)."""
    try:
        with open("/proc/self/maps") as fh:
            return any(line.rstrip().endswith(("/libgomp.so.1", "/libgomp.so.1.0.0"))
                       for line in fh)
    except OSError:  # pragma: no cover - not Linux
        return False


def _loadable(module: str) -> bool:
    import importlib

    try:
        importlib.import_module(f"numba.np.ufunc.{module}")
        return True
    except Exception:  # missing TBB / OpenMP runtime, or an ABI mismatch
        return False


def configure() -> dict:
    """Choose Numba's threading layer and OpenMP wait policy, unless the user did.

    Idempotent: only the first call does anything.  See the module docstring
    for what is set, when, and what it does to other libraries.

    Returns
    -------
    dict
        ``layer_set`` (the layer was set to "threadsafe"), ``passive`` (the
        pool was started with ``OMP_WAIT_POLICY=PASSIVE``) and ``note``
        (why something was left alone).
    """
    if _state["configured"]:
        return dict(_state)
    _state["configured"] = True
    if os.environ.get("REPALIGN_THREADING", "").lower() == "keep":
        _state["note"] = "REPALIGN_THREADING=keep: Numba's defaults kept"
        return dict(_state)
    import numba

    if _pool_started():
        _state["note"] = "Numba's thread pool was already running: nothing changed"
        return dict(_state)
    set_wait = not any(v in os.environ for v in WAIT_VARIABLES)
    if set_wait and _system_libgomp_loaded():
        _state["note"] = ("the system libgomp was loaded before Numba's pool: its wait policy "
                          "is already fixed (set OMP_WAIT_POLICY=PASSIVE in the shell)")
    saved = os.environ.get("OMP_WAIT_POLICY")
    if set_wait:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        if numba.config.THREADING_LAYER == "default" and "NUMBA_THREADING_LAYER" not in os.environ:
            # loading the module loads its runtime, which reads the variable now
            if _loadable("tbbpool") or _loadable("omppool"):
                numba.config.THREADING_LAYER = "threadsafe"
                _state["layer_set"] = True
        from numba.np.ufunc import parallel

        parallel._launch_threads()
        _state["passive"] = set_wait and numba.threading_layer() == "omp"
    except Exception as exc:  # pragma: no cover - keep Numba's own behaviour on any failure
        _state["note"] = f"left to Numba ({type(exc).__name__}: {exc})"
    finally:
        if set_wait:
            if saved is None:
                os.environ.pop("OMP_WAIT_POLICY", None)
            else:  # pragma: no cover - unreachable: set_wait means it was unset
                os.environ["OMP_WAIT_POLICY"] = saved
    if not set_wait and not _state["note"]:
        _state["note"] = "a wait policy was set by the user: kept"
    return dict(_state)


def describe() -> str:
    """One line: the threading layer in use and what :func:`configure` did."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not started"
    user = [f"{v}={os.environ[v]}" for v in WAIT_VARIABLES if v in os.environ]
    if _state["passive"]:
        wait = "OMP_WAIT_POLICY=PASSIVE for Numba's pool"
    elif user:
        wait = "wait policy from the environment: " + ", ".join(user)
    else:
        wait = "wait policy: Numba/OpenMP default"
    parts = [f"numba threading layer: {layer}", wait]
    if _state["note"]:
        parts.append(_state["note"])
    return "; ".join(parts)

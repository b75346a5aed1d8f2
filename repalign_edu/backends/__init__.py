"""Backend selection: ``numpy`` (reference), ``cpu`` (Numba parallel), ``cuda`` (numba.cuda).

``auto`` picks ``cuda`` when a real GPU is present (not the CUDA simulator),
else ``cpu``.  Backends are imported lazily so that ``import repalign_edu``
never initialises CUDA.
"""
from __future__ import annotations

import importlib
import os

from .._validation import BACKENDS, check_option


def real_gpu_available() -> bool:
    """True when numba.cuda sees a real GPU (False under NUMBA_ENABLE_CUDASIM=1)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    try:
        import numba
        from numba import cuda

        return bool(cuda.is_available()) and not bool(numba.config.ENABLE_CUDASIM)
    except Exception:  # pragma: no cover - any CUDA driver failure means "no GPU"
        return False


def cuda_usable() -> bool:
    """True when ``backend="cuda"`` can run: a real GPU or the CUDA simulator."""
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # pragma: no cover
        return False


def resolve_backend(backend: str) -> str:
    """Validate ``backend`` and turn "auto" into a concrete name.

    Raises
    ------
    ValueError
        Unknown backend, or "cuda" when neither a GPU nor the CUDA simulator
        is available.
    """
    check_option(backend, BACKENDS, "backend")
    if backend == "auto":
        return "cuda" if real_gpu_available() else "cpu"
    if backend == "cuda" and not cuda_usable():
        raise ValueError(
            "backend='cuda' needs a CUDA GPU, and numba.cuda found none. Use backend='cpu', "
            "or run the CUDA kernels on the CPU with the CUDA simulator by setting "
            "NUMBA_ENABLE_CUDASIM=1 before numba is imported (tiny inputs only: it is slow)."
        )
    return backend


#: backend name -> module under repalign_edu.backends (each implements :mod:`.base`)
BACKEND_MODULES = {"numpy": "numpy_ref", "cpu": "cpu", "cuda": "cuda"}


def get_backend(name: str):
    """The module implementing a concrete backend (checked against :mod:`.base` on first use)."""
    module = importlib.import_module(f".{BACKEND_MODULES[name]}", __name__)
    if not getattr(module, "_interface_checked", False):
        from .base import check_backend_module

        check_backend_module(module)
        module._interface_checked = True
    return module

"""repalign-edu: a hands-on companion to "Towards a Learning Theory of Representation
Alignment" (Insulla, Huang & Rosasco, ICLR 2025, arXiv 2502.14047).

Public API: the alignment measures (kernel alignment, CKA, HSIC, MMD, distance
alignment, mutual k-NN), kernels and bandwidths, and the HSIC permutation test.
Sub-modules hold the rest, one concern each:

* ``kernels`` (Gram matrices, bandwidths), ``measures`` (the measures above),
  ``backends`` (numpy reference, Numba cpu, Numba cuda);
* ``metrics`` (RDMs, RSA, Procrustes shape metrics), ``independence``
  (HSIC permutation test), ``cross_covariance`` (COCO, KCC), ``gaussian``
  (closed forms for Gaussian pairs), ``spectral`` (Mercer eigenpairs, spectral
  KA, KARE), ``stitching`` (stitcher S, A~_2, Theorems 1-2);
* ``data`` (digits, two modalities, the model zoo), ``plotting``, ``widgets``,
  ``registry`` (MEASURES: name -> measure, with kind and bounds),
  ``exercises`` (check() per lesson), ``scaling`` (lesson 09's demo kernels).
"""
from .kernels import Kernel, centering_matrix, gram_matrix, median_heuristic
from .measures import cka, distance_alignment, hsic, kernel_alignment, mmd2, mutual_knn
from .independence import hsic_test
from .registry import MEASURES, MeasureInfo, register, resolve_measure, _register_builtin

_register_builtin()

__all__ = [
    "Kernel",
    "MEASURES",
    "MeasureInfo",
    "register",
    "resolve_measure",
    "centering_matrix",
    "cka",
    "distance_alignment",
    "gram_matrix",
    "hsic",
    "hsic_test",
    "kernel_alignment",
    "median_heuristic",
    "mmd2",
    "mutual_knn",
]
__version__ = "0.1.0"

"""repalign-edu: a hands-on companion to "Towards a Learning Theory of Representation
Alignment" (Insulla, Huang & Rosasco, ICLR 2025, arXiv 2502.14047).

Public API: the alignment measures (kernel alignment, CKA, HSIC, MMD, distance
alignment, mutual k-NN), kernels and bandwidths, and the HSIC permutation test.
Sub-modules hold the rest: ``data`` (digits and the model zoo), ``plotting``,
``widgets``, ``exercises``.
"""
from .kernels import centering_matrix, gram_matrix, median_heuristic
from .measures import cka, distance_alignment, hsic, kernel_alignment, mmd2, mutual_knn
from .independence import hsic_test

__all__ = [
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

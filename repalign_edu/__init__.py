"""repalign-edu: a hands-on companion to "Towards a Learning Theory of Representation
Alignment" (Insulla, Huang & Rosasco, ICLR 2025, arXiv 2502.14047).

Public API: the alignment measures (kernel alignment, CKA, HSIC, MMD, distance
alignment, mutual k-NN), kernels and bandwidths, and inference for every measure
(permutation_test, bootstrap_ci, calibrate_layers; hsic_test).
Sub-modules hold the rest, one concern each:

* ``kernels`` (Gram matrices, bandwidths), ``measures`` (the measures above),
  ``backends`` (numpy reference, Numba cpu, Numba cuda);
* ``inference`` (permutation p-values, bootstrap intervals, calibrated scores);
* ``metrics`` (RDMs, RSA, Procrustes shape metrics), ``independence``
  (HSIC permutation test), ``cross_covariance`` (COCO, KCC), ``gaussian``
  (closed forms for Gaussian pairs), ``spectral`` (Mercer eigenpairs, spectral
  KA, KARE), ``stitching`` (stitcher S, A~_2, Theorems 1-2);
* ``cca`` (CCA, SVCCA, PWCCA, linear regression), ``neighbors`` (CKNNA,
  k-NN Jaccard, second-order cosine), ``sanity`` (lesson 06's protocols:
  layer identification, ReSi-style tests, the specificity test);
* ``data`` (digits, two modalities, the model zoo), ``plotting``, ``widgets``,
  ``registry`` (MEASURES: name -> measure, with kind and bounds),
  ``exercises`` (check() per lesson), ``scaling`` (lesson 09's demo kernels);
* ``report`` (compare / layers / stitch on one's own files, HTML reports), ``io``
  (reading .npy/.npz/.csv/.tsv/.parquet/.h5/.pt/.safetensors), ``cli`` (the
  ``repalign`` command line, also ``python -m repalign_edu``), ``extract``
  (activations of PyTorch models; extra [torch], imported only when used).
"""
from .kernels import Kernel, centering_matrix, gram_matrix, median_heuristic
from .measures import cka, distance_alignment, hsic, kernel_alignment, mmd2, mutual_knn
from .independence import hsic_test
from .inference import (BootstrapResult, LayerCalibration, PermutationResult, bootstrap_ci,
                        calibrate_layers, permutation_test)
from .registry import MEASURES, MeasureInfo, register, resolve_measure, _register_builtin

_register_builtin()

from . import cca, neighbors  # noqa: E402  (register the CCA family and the k-NN measures)
from .cca import cca_similarity, linear_regression_similarity, pwcca, pwcca_symmetric, svcca  # noqa: E402
from .neighbors import cknna, cycle_knn, knn_jaccard, second_order_cosine  # noqa: E402

__all__ = [
    "Kernel",
    "MEASURES",
    "MeasureInfo",
    "BootstrapResult",
    "LayerCalibration",
    "PermutationResult",
    "bootstrap_ci",
    "calibrate_layers",
    "permutation_test",
    "register",
    "resolve_measure",
    "centering_matrix",
    "cca_similarity",
    "cka",
    "cknna",
    "distance_alignment",
    "gram_matrix",
    "hsic",
    "hsic_test",
    "kernel_alignment",
    "cycle_knn",
    "knn_jaccard",
    "linear_regression_similarity",
    "median_heuristic",
    "mmd2",
    "mutual_knn",
    "pwcca",
    "pwcca_symmetric",
    "second_order_cosine",
    "svcca",
]
__version__ = "0.1.0"

"""Real data and real trained models: scikit-learn's handwritten digits.

Everything here runs offline: the 8x8 digits ship with scikit-learn
(``sklearn.datasets.load_digits``, 1797 images, 10 classes), and the model zoo
is trained on them on the spot (about 10 s single-threaded) and then cached on
disk.

The objects of the paper (Insulla, Huang & Rosasco, "Towards a Learning
Theory of Representation Alignment", ICLR 2025) map onto this module as
follows.

* **Reality and modalities** (section 2, Figure 1).  The digit is the
  underlying object; a *modality* is a map from the object to an observation.
  :func:`two_views` gives two modalities that each see half of the image
  (left and right 4 columns), :func:`noisy_view` a "noisy sensor" modality.
* **Representations f and heads g** (section 2).  A trained network is
  split as ``h = g o f``: :meth:`ZooEntry.representation` is ``f`` (hidden
  ReLU activations at a chosen layer) and :meth:`ZooEntry.head` is ``g``
  (the rest of the network, ending in a softmax).  Choosing the layer gives
  the layer-wise decomposition used for stitching (Theorem 2).
* **Model zoo.**  :func:`model_zoo` trains ``MLPClassifier`` networks over
  widths and seeds, on the full image or on one of the two views;
  :func:`untrained_network` gives the same architecture at initialisation;
  :func:`pixel_representation`, :func:`pca_representation` and
  :func:`random_fourier_features` are non-learned baselines.

Determinism: the same arguments give bitwise-identical arrays on one machine.
Training runs with BLAS limited to one thread (``threadpoolctl``), so the
result does not depend on how many cores the BLAS library would use.

Cache: trained weights are stored as ``.npz`` files (``np.savez``, no pickle)
in :func:`cache_dir`; see :func:`model_zoo` for the key and the rules.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, replace
from numbers import Integral, Real
from pathlib import Path
from types import MappingProxyType

import numpy as np
import sklearn

from ._validation import as_representation

__all__ = [
    "DEPTH",
    "MLP_PARAMS",
    "SEEDS",
    "VIEWS",
    "WIDTHS",
    "ZooEntry",
    "DEEP_DEPTH",
    "DEEP_MLP_PARAMS",
    "DEEP_SEEDS",
    "DEEP_WIDTH",
    "cache_dir",
    "deep_zoo",
    "load_digits",
    "model_zoo",
    "noisy_view",
    "pca_representation",
    "pixel_representation",
    "random_fourier_features",
    "train_test_split_indices",
    "two_views",
    "untrained_network",
]

#: default hidden-layer widths of the zoo
WIDTHS = (8, 16, 32, 64, 128, 256, 512)
#: default training seeds of the zoo (``MLPClassifier(random_state=seed)``)
SEEDS = (0, 1, 2)
#: the inputs a network can be trained on: the whole image or one half of it
VIEWS = ("full", "left", "right")
#: default number of hidden layers
DEPTH = 1
#: number of input columns seen by each view
VIEW_DIMS = MappingProxyType({"full": 64, "left": 32, "right": 32})
#: number of digit classes (output units of every network)
N_CLASSES = 10
#: the fixed train/test split used by the zoo and the fitted baselines
TEST_SIZE = 0.3
SPLIT_SEED = 0

#: Training hyper-parameters shared by every zoo network (passed to
#: ``sklearn.neural_network.MLPClassifier``).  Adam for a fixed budget of 50
#: epochs with mini-batches of 200: the whole default zoo trains in about
#: 10 s on one core and every width >= 32 reaches >= 0.93 test accuracy.
#: The budget is deliberately short, so sklearn would warn that the optimiser
#: "has not converged"; that ``ConvergenceWarning`` is silenced on purpose.
MLP_PARAMS = MappingProxyType(
    {
        "activation": "relu",
        "solver": "adam",
        "alpha": 1e-4,
        "batch_size": 200,
        "learning_rate_init": 1e-3,
        "max_iter": 50,
        "tol": 1e-4,
        "n_iter_no_change": 10,
        "shuffle": True,
        "early_stopping": False,
    }
)

#: the deep zoo (:func:`deep_zoo`): hidden layers, their width, the seeds
DEEP_DEPTH = 6
DEEP_WIDTH = 64
DEEP_SEEDS = tuple(range(10))
#: training of the deep zoo: as :data:`MLP_PARAMS` but 30 epochs of batches of
#: 128 (all ten networks train in about 20 s on one core, test accuracy ~0.95-0.97)
DEEP_MLP_PARAMS = MappingProxyType({**MLP_PARAMS, "max_iter": 30, "batch_size": 128})

#: bump when anything that changes the cached arrays changes in this file
CACHE_VERSION = "1"
_CACHE_ENV = "REPALIGN_EDU_CACHE"


# --------------------------------------------------------------------------
# data and views
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def load_digits():
    """Load scikit-learn's 8x8 handwritten digits, pixels scaled to [0, 1].

    Returns
    -------
    X : ndarray, shape (1797, 64), dtype float64
        Row ``i`` is image ``i`` flattened row by row (``X[i].reshape(8, 8)``
        gives the image); intensities 0..16 divided by 16, so in [0, 1].
    y : ndarray, shape (1797,), dtype int64
        The digit shown, 0..9.

    Notes
    -----
    Source: ``sklearn.datasets.load_digits`` (the UCI optical recognition of
    handwritten digits test set), bundled with scikit-learn: no download.
    Fresh, writable copies are returned on every call.
    """
    X, y = _digits()
    return X.copy(), y.copy()


def _as_images(X, name="X"):
    """Check that X is (n, 64) pixels and return it as (n, 8, 8) float64."""
    X = np.asarray(as_representation(X, name, min_samples=1), dtype=np.float64)
    if X.shape[1] != 64:
        raise ValueError(
            f"{name} must hold flattened 8x8 digit images, shape (n, 64); got shape "
            f"{X.shape}. Pass the X returned by load_digits() (or rows of it)."
        )
    return X.reshape(-1, 8, 8)


def two_views(X):
    """Split each digit image into two modalities: its left and right halves.

    This is the paper's picture of one reality seen through two modalities
    (section 2, Figure 1): the object is the digit, modality ``m_1`` observes
    the left 4 pixel columns of the 8x8 image and modality ``m_2`` the right
    4 columns.  Neither view sees everything, they share no pixels, and
    together they are the whole image.

    Parameters
    ----------
    X : array_like, shape (n, 64)
        Flattened 8x8 images, as returned by :func:`load_digits`.

    Returns
    -------
    X_left : ndarray, shape (n, 32), dtype float64
        ``X.reshape(n, 8, 8)[:, :, :4]`` flattened row by row (pixel rows
        0..7, columns 0..3).
    X_right : ndarray, shape (n, 32), dtype float64
        ``X.reshape(n, 8, 8)[:, :, 4:]`` flattened the same way (columns 4..7).

    Raises
    ------
    ValueError
        If X is not 2-D with 64 columns, or is not finite.

    Examples
    --------
    >>> X, y = load_digits()
    >>> XL, XR = two_views(X)
    >>> XL.shape, XR.shape
    ((1797, 32), (1797, 32))
    """
    img = _as_images(X)
    n = img.shape[0]
    left = np.ascontiguousarray(img[:, :, :4]).reshape(n, 32)
    right = np.ascontiguousarray(img[:, :, 4:]).reshape(n, 32)
    return left, right


def noisy_view(X, noise=0.3, seed=0):
    """A "noisy sensor" modality: the image plus i.i.d. Gaussian pixel noise.

    A second way to observe the same object (paper section 2, Figure 1):
    modality ``m_2(x) = x + eps`` with ``eps ~ N(0, noise**2 I)``, drawn once
    from ``np.random.default_rng(seed)``.  Nothing else is done (no blur, no
    clipping, so values can leave [0, 1]); ``noise=0`` returns a copy of X.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Any finite real matrix, usually the pixels from :func:`load_digits`
        (pixels are in [0, 1], so ``noise=0.3`` is strong but readable).
    noise : float, default 0.3
        Standard deviation of the noise, >= 0.
    seed : int, default 0
        Seed of ``np.random.default_rng``; the same seed gives the same noise.

    Returns
    -------
    ndarray, shape (n, d), dtype float64
        ``X + noise * rng.standard_normal((n, d))``.

    Raises
    ------
    ValueError
        If X is not a finite 2-D array, ``noise`` is negative or not a
        number, or ``seed`` is not a non-negative integer.
    """
    X = np.asarray(as_representation(X, "X", min_samples=1), dtype=np.float64)
    if isinstance(noise, bool) or not isinstance(noise, Real) or not np.isfinite(noise):
        raise ValueError(f"noise must be a finite number >= 0 (a standard deviation); got {noise!r}.")
    if noise < 0:
        raise ValueError(f"noise must be >= 0 (a standard deviation); got {noise}. Pass abs(noise).")
    seed = _check_seed(seed)
    rng = np.random.default_rng(seed)
    return X + float(noise) * rng.standard_normal(X.shape)


def _split(test_size, seed):
    from sklearn.model_selection import train_test_split

    _, y = _digits()
    idx = np.arange(len(y), dtype=np.int64)
    tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=y)
    return np.sort(tr), np.sort(te)


@functools.lru_cache(maxsize=4)
def _split_cached(test_size, seed):
    tr, te = _split(test_size, seed)
    tr.flags.writeable = False
    te.flags.writeable = False
    return tr, te


def train_test_split_indices(test_size=TEST_SIZE, seed=SPLIT_SEED):
    """The fixed, stratified train/test split of the digits used by the zoo.

    Parameters
    ----------
    test_size : float, default 0.3
        Fraction of the 1797 images held out, strictly between 0 and 1.
    seed : int, default 0
        ``random_state`` of ``sklearn.model_selection.train_test_split``.

    Returns
    -------
    train_idx : ndarray, shape (n_train,), dtype int64
        Sorted row indices into :func:`load_digits` (1257 rows by default).
    test_idx : ndarray, shape (n_test,), dtype int64
        Sorted, disjoint from ``train_idx``; together they cover 0..1796
        (540 rows by default).

    Raises
    ------
    ValueError
        If ``test_size`` is not in (0, 1) or ``seed`` is not a non-negative
        integer.

    Notes
    -----
    ``sklearn.model_selection.train_test_split(..., stratify=y)``: every digit
    class has the same share in both parts.  The zoo and the fitted baselines
    (:func:`pca_representation`) always use the defaults.
    """
    if isinstance(test_size, bool) or not isinstance(test_size, Real) or not 0 < test_size < 1:
        raise ValueError(
            f"test_size must be a fraction strictly between 0 and 1; got {test_size!r}. "
            "The zoo uses 0.3."
        )
    seed = _check_seed(seed)
    tr, te = _split_cached(float(test_size), seed)
    return tr.copy(), te.copy()


def _view_matrix(X, view):
    """Apply a view to full (n, 64) pixel images."""
    if view == "full":
        return np.asarray(X, dtype=np.float64)
    left, right = two_views(X)
    return left if view == "left" else right


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------
def _check_seed(seed, name="seed"):
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed < 2**32:
        raise ValueError(
            f"{name} must be an integer in [0, 2**32); got {seed!r}. Pass e.g. {name}=0."
        )
    return int(seed)


def _check_int(value, name, minimum, hint=""):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.{hint}")
    return int(value)


def _check_view(view, name="view"):
    if not isinstance(view, str) or view not in VIEWS:
        raise ValueError(
            f"unknown {name} {view!r}; choose one of {', '.join(map(repr, VIEWS))} "
            "(the whole 8x8 image, or its left / right 4 columns)."
        )
    return view


def _as_tuple(values, name):
    if isinstance(values, (str, Integral)):
        values = (values,)
    try:
        values = tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence; got {values!r}.") from None
    if not values:
        raise ValueError(f"{name} is empty; pass at least one value.")
    return values


# --------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------
def _relu(A):
    return np.maximum(A, 0, out=A)


def _softmax(A):
    # the formula of sklearn.neural_network._base.softmax
    A = A - A.max(axis=1)[:, np.newaxis]
    np.exp(A, out=A)
    A /= A.sum(axis=1)[:, np.newaxis]
    return A


@dataclass(frozen=True, eq=False)
class ZooEntry:
    """One network of the zoo: its weights and how to split it as ``g o f``.

    The network is a ReLU multi-layer perceptron with ``depth`` hidden layers
    of ``width`` units and a softmax output over 10 classes, as in
    ``sklearn.neural_network.MLPClassifier``: with ``a_0 = x``,
    ``a_l = relu(a_{l-1} @ coefs[l-1] + intercepts[l-1])`` for
    ``l = 1..depth`` and ``p = softmax(a_depth @ coefs[depth] +
    intercepts[depth])``.  :meth:`representation` returns ``f(x) = a_l`` and
    :meth:`head` applies the remaining layers ``g`` (paper section 2; the
    choice of ``l`` is the layer-wise split behind stitching, Theorem 2).

    Attributes
    ----------
    view : {"full", "left", "right"}
        The input the network reads: the whole image (64 columns) or one of
        the halves of :func:`two_views` (32 columns).
    width : int
        Units per hidden layer.
    depth : int
        Number of hidden layers.
    seed : int
        ``random_state`` of the training run (untrained networks: the seed of
        ``np.random.default_rng`` used for the initialisation).
    train_idx, test_idx : ndarray of int64
        Rows of :func:`load_digits` used for training / held out
        (:func:`train_test_split_indices`).
    test_accuracy : float
        Fraction of ``test_idx`` classified correctly.
    coefs : tuple of ndarray
        ``depth + 1`` weight matrices, shapes ``(d_in, width)``,
        ``(width, width)``, ..., ``(width, 10)``; float64, read-only.
    intercepts : tuple of ndarray
        ``depth + 1`` bias vectors, shapes ``(width,)``, ..., ``(10,)``.
    trained : bool
        False for :func:`untrained_network`.
    label_noise : float
        Fraction of the training labels replaced by random classes (0 for
        every network except :func:`deep_zoo`'s random-label ones).

    Notes
    -----
    Arrays are read-only, so entries can be shared safely (build your own
    copy with ``np.array(entry.coefs[0])`` to modify weights).
    """

    view: str
    width: int
    depth: int
    seed: int
    train_idx: np.ndarray
    test_idx: np.ndarray
    test_accuracy: float
    coefs: tuple
    intercepts: tuple
    trained: bool = True
    label_noise: float = 0.0

    @property
    def n_features_in(self):
        """Number of input columns the network expects (64 or 32)."""
        return VIEW_DIMS[self.view]

    # -- checks ------------------------------------------------------------
    def _layer(self, layer):
        if layer is None:
            return self.depth
        if isinstance(layer, bool) or not isinstance(layer, Integral) or not 1 <= layer <= self.depth:
            raise ValueError(
                f"layer must be an integer from 1 to {self.depth} (1-based hidden layer of "
                f"this depth-{self.depth} network) or None for the last one; got {layer!r}."
            )
        return int(layer)

    def _input(self, X):
        X = np.asarray(as_representation(X, "X", min_samples=1), dtype=np.float64)
        d = self.n_features_in
        if X.shape[1] != d:
            hint = (
                "pass the pixels from load_digits()"
                if self.view == "full"
                else f"pass two_views(X)[{0 if self.view == 'left' else 1}] "
                f"(the {self.view} half of the images)"
            )
            raise ValueError(
                f"X has {X.shape[1]} columns but this {self.view!r}-view network expects "
                f"{d}; {hint}."
            )
        return X

    def _hidden(self, Z, layer):
        Z = np.asarray(as_representation(Z, "Z", min_samples=1), dtype=np.float64)
        if Z.shape[1] != self.width:
            raise ValueError(
                f"Z has {Z.shape[1]} columns but hidden layer {layer} has width "
                f"{self.width}; pass entry.representation(X, layer={layer}) (or a map into "
                f"a {self.width}-dimensional space, e.g. a stitching layer)."
            )
        return Z

    # -- forward pass ------------------------------------------------------
    def representation(self, X, layer=None):
        """Hidden representation ``f(x)``: ReLU activations at one layer.

        Parameters
        ----------
        X : array_like, shape (n, 64) or (n, 32)
            Input in this network's view: pixels for ``view="full"``, the
            matching half of :func:`two_views` otherwise.
        layer : int or None, default None
            1-based hidden layer (1..depth); None means the last one.

        Returns
        -------
        ndarray, shape (n, width), dtype float64
            Non-negative activations.

        Raises
        ------
        ValueError
            Wrong number of columns for the view, non-finite X, or a layer
            outside 1..depth.
        """
        layer = self._layer(layer)
        A = self._input(X)
        for W, b in zip(self.coefs[:layer], self.intercepts[:layer]):
            A = A @ W
            A += b
            _relu(A)
        return A

    def representations(self, X):
        """Every hidden layer's representation, in one forward pass.

        Parameters
        ----------
        X : array_like, shape (n, 64) or (n, 32)
            Input in this network's view.

        Returns
        -------
        list of ``depth`` ndarrays, each (n, width), float64
            Element ``l - 1`` equals ``representation(X, layer=l)``.

        Raises
        ------
        ValueError
            Wrong number of columns for the view, or non-finite X.
        """
        A = self._input(X)
        out = []
        for W, b in zip(self.coefs[:self.depth], self.intercepts[:self.depth]):
            A = A @ W
            A += b
            _relu(A)
            out.append(A.copy())
        return out

    def head_logits(self, Z, layer=None):
        """Pre-softmax output of the head ``g`` applied to a hidden representation.

        Parameters
        ----------
        Z : array_like, shape (n, width)
            Activations at hidden layer ``layer`` (e.g. from
            :meth:`representation`, or from another network through a
            stitching map).
        layer : int or None, default None
            The hidden layer Z lives at (1..depth); None means the last one.

        Returns
        -------
        ndarray, shape (n, 10), dtype float64

        Raises
        ------
        ValueError
            Z without ``width`` columns, non-finite Z, or a bad layer.
        """
        layer = self._layer(layer)
        A = self._hidden(Z, layer)
        last = len(self.coefs) - 1
        for i in range(layer, last + 1):
            A = A @ self.coefs[i]
            A += self.intercepts[i]
            if i < last:
                _relu(A)
        return A

    def head(self, Z, layer=None):
        """The trained head ``g``: class probabilities from a hidden representation.

        ``entry.head(entry.representation(X, l), l)`` equals
        ``entry.predict_proba(X)`` for every layer ``l``.

        Parameters
        ----------
        Z : array_like, shape (n, width)
            Activations at hidden layer ``layer``.
        layer : int or None, default None
            The hidden layer Z lives at (1..depth); None means the last one.

        Returns
        -------
        ndarray, shape (n, 10), dtype float64
            Softmax probabilities; rows sum to 1, column k is digit k.

        Raises
        ------
        ValueError
            As :meth:`head_logits`.
        """
        return _softmax(self.head_logits(Z, layer))

    def logits(self, X):
        """Pre-softmax output of the whole network.

        Parameters
        ----------
        X : array_like, shape (n, 64) or (n, 32)
            Input in this network's view.

        Returns
        -------
        ndarray, shape (n, 10), dtype float64

        Raises
        ------
        ValueError
            Wrong number of columns for the view, or non-finite X.
        """
        return self.head_logits(self.representation(X), self.depth)

    def predict_proba(self, X):
        """Class probabilities, as ``MLPClassifier.predict_proba``.

        Parameters
        ----------
        X : array_like, shape (n, 64) or (n, 32)
            Input in this network's view.

        Returns
        -------
        ndarray, shape (n, 10), dtype float64
            Rows sum to 1; column k is digit k.

        Raises
        ------
        ValueError
            Wrong number of columns for the view, or non-finite X.

        Notes
        -----
        Same forward pass as ``MLPClassifier.predict_proba`` (scikit-learn
        ``_forward_pass_fast``): equal to it up to floating-point rounding.
        """
        return self.head(self.representation(X), self.depth)

    def predict(self, X):
        """Predicted digit: the argmax of :meth:`predict_proba`.

        Parameters
        ----------
        X : array_like, shape (n, 64) or (n, 32)
            Input in this network's view.

        Returns
        -------
        ndarray, shape (n,), dtype int64

        Raises
        ------
        ValueError
            Wrong number of columns for the view, or non-finite X.
        """
        return np.argmax(self.logits(X), axis=1).astype(np.int64)

    def __repr__(self):
        return (
            f"ZooEntry(view={self.view!r}, width={self.width}, depth={self.depth}, "
            f"seed={self.seed}, trained={self.trained}, "
            f"test_accuracy={self.test_accuracy:.3f})"
        )


def _frozen(a):
    a = np.array(a, dtype=np.float64, order="C")
    a.flags.writeable = False
    return a


def _entry(view, width, depth, seed, coefs, intercepts, trained):
    X, y = _digits()
    tr, te = _split_cached(TEST_SIZE, SPLIT_SEED)
    entry = ZooEntry(
        view=view,
        width=width,
        depth=depth,
        seed=seed,
        train_idx=tr,
        test_idx=te,
        test_accuracy=float("nan"),
        coefs=tuple(_frozen(W) for W in coefs),
        intercepts=tuple(_frozen(b) for b in intercepts),
        trained=trained,
    )
    acc = float(np.mean(entry.predict(_view_matrix(X[te], view)) == y[te]))
    return replace(entry, test_accuracy=acc)


def _noisy_labels(y, label_noise, seed):
    """Replace a fraction ``label_noise`` of the labels by uniform random classes.

    The rows to corrupt and their new labels come from
    ``np.random.default_rng([seed, 7919])`` (independent of the training seed's
    own stream); a corrupted label may by chance equal the true one.
    """
    if label_noise == 0.0:
        return y
    rng = np.random.default_rng([seed, 7919])
    y = np.array(y)
    m = int(round(label_noise * len(y)))
    rows = rng.choice(len(y), size=m, replace=False)
    y[rows] = rng.integers(0, N_CLASSES, size=m)
    return y


def _train_mlp(view, width, depth, seed, params=None, label_noise=0.0):
    """Train one zoo network and return the fitted ``MLPClassifier``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    X, y = _digits()
    tr, _ = _split_cached(TEST_SIZE, SPLIT_SEED)
    clf = MLPClassifier(hidden_layer_sizes=(width,) * depth, random_state=seed,
                        **dict(MLP_PARAMS if params is None else params))
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        # fixed epoch budget on purpose (see MLP_PARAMS): not a real problem
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(_view_matrix(X[tr], view), _noisy_labels(y[tr], label_noise, seed))
    return clf


def untrained_network(width, seed=0, view="full", depth=DEPTH):
    """The zoo architecture at random initialisation, without any training.

    Weights and biases of every layer are Glorot-uniform exactly as in
    scikit-learn's ``MLPClassifier._init_coef`` for ReLU networks: for a layer
    with ``fan_in`` inputs and ``fan_out`` outputs, ``bound = sqrt(6 /
    (fan_in + fan_out))``, ``W ~ U(-bound, bound)`` of shape (fan_in, fan_out)
    then ``b ~ U(-bound, bound)`` of shape (fan_out,), layer by layer from
    input to output.  The draws come from ``np.random.default_rng(seed)``
    (sklearn uses the legacy ``RandomState``), so the distribution is
    sklearn's but the numbers are not those the trained zoo network with the
    same seed started from.

    Parameters
    ----------
    width : int
        Units per hidden layer, >= 1.
    seed : int, default 0
        Seed of ``np.random.default_rng``.
    view : {"full", "left", "right"}, default "full"
        Input of the network (sets the input dimension, 64 or 32).
    depth : int, default 1
        Number of hidden layers, >= 1.

    Returns
    -------
    ZooEntry
        With ``trained=False``; ``test_accuracy`` is that of the random
        network (about chance, 0.1).

    Raises
    ------
    ValueError
        For a width or depth < 1, a bad seed or an unknown view.
    """
    width = _check_int(width, "width", 1)
    seed = _check_seed(seed)
    view = _check_view(view)
    depth = _check_int(depth, "depth", 1)
    rng = np.random.default_rng(seed)
    sizes = [VIEW_DIMS[view]] + [width] * depth + [N_CLASSES]
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-bound, bound, fan_out))
    return _entry(view, width, depth, seed, coefs, intercepts, trained=False)


# --------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------
def cache_dir():
    """Directory of the on-disk model cache.

    Returns
    -------
    pathlib.Path
        ``$REPALIGN_EDU_CACHE`` if set, else ``$XDG_CACHE_HOME/repalign_edu``,
        else ``~/.cache/repalign_edu``.  It is not created here.

    Notes
    -----
    Deleting the directory is always safe: the networks are retrained on
    the next :func:`model_zoo` call.
    """
    env = os.environ.get(_CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "repalign_edu"


def _cache_key(view, width, depth, seed, params=None, label_noise=0.0):
    """Everything that determines a network's weights.

    The deep zoo's extra fields (``params``, ``label_noise``) enter only when
    they differ from the default zoo's, so the default zoo's keys are unchanged.
    """
    key = {
        "cache_version": CACHE_VERSION,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "data": "sklearn.datasets.load_digits/16",
        "split": {"test_size": TEST_SIZE, "seed": SPLIT_SEED, "stratify": True},
        "view": view,
        "width": width,
        "depth": depth,
        "seed": seed,
        "mlp_params": dict(MLP_PARAMS if params is None else params),
    }
    if label_noise:
        key["label_noise"] = float(label_noise)
    return key


def _cache_path(directory, key):
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    noise = f"_r{round(100 * key['label_noise'])}" if "label_noise" in key else ""
    name = f"mlp_{key['view']}_w{key['width']}_d{key['depth']}_s{key['seed']}{noise}_{digest}.npz"
    return directory / name


def _load_cached(path, key):
    """Return (coefs, intercepts) from ``path``, or None if missing/unusable."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if json.loads(str(f["key"])) != key:
                return None
            n = int(key["depth"]) + 1
            coefs = [f[f"coef_{i}"] for i in range(n)]
            intercepts = [f[f"intercept_{i}"] for i in range(n)]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        warnings.warn(f"ignoring unreadable cache file {path} ({exc}); retraining.", stacklevel=3)
        return None
    return coefs, intercepts


def _save_cached(path, key, coefs, intercepts):
    """Write the weights and their key atomically (see :func:`_atomic_savez`)."""
    arrays = {"key": np.array(json.dumps(key, sort_keys=True))}
    arrays.update({f"coef_{i}": W for i, W in enumerate(coefs)})
    arrays.update({f"intercept_{i}": b for i, b in enumerate(intercepts)})
    _atomic_savez(path, **arrays)


def _atomic_savez(path, **arrays):
    """``np.savez`` atomically: a temporary file in the same directory, then os.replace."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _usable_cache_dir():
    """The cache directory, created; None (with a warning) if it is not writable."""
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        warnings.warn(
            f"model cache directory {directory} is not writable ({exc}); building the "
            f"zoo without a cache. Set {_CACHE_ENV} to a writable directory to enable it.",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return directory


def _build(view, width, depth, seed, directory, params=None, label_noise=0.0):
    key = _cache_key(view, width, depth, seed, params, label_noise)
    path = _cache_path(directory, key) if directory is not None else None
    cached = _load_cached(path, key) if path is not None else None
    if cached is not None:
        coefs, intercepts = cached
    else:
        clf = _train_mlp(view, width, depth, seed, params, label_noise)
        coefs, intercepts = clf.coefs_, clf.intercepts_
        if path is not None:
            try:
                _save_cached(path, key, coefs, intercepts)
            except OSError as exc:
                warnings.warn(f"could not write cache file {path} ({exc}).", RuntimeWarning, stacklevel=3)
    return _entry(view, width, depth, seed, coefs, intercepts, trained=True)


def model_zoo(widths=WIDTHS, seeds=SEEDS, views=("full",), depth=DEPTH, cache=True):
    """Train (or load) ``MLPClassifier`` networks on the digits.

    One network per (view, width, seed): ``depth`` hidden ReLU layers of
    ``width`` units, trained with the hyper-parameters in :data:`MLP_PARAMS`
    (Adam, 50 epochs, batch 200, L2 ``alpha=1e-4``) on the training rows of
    :func:`train_test_split_indices` and scored on the test rows.  The default
    (7 widths x 3 seeds, view "full", depth 1) trains in about 10 s on one
    core; widths >= 32 reach >= 0.93 test accuracy, width 8 about 0.6-0.9.
    The half-image views are harder (left about 0.74-0.86, right about
    0.84-0.93 at widths 32-512; each half-view zoo trains in about 10 s).
    Depth 2 or 3 networks (for layer-wise stitching, Theorem 2 of the paper)
    are built only when asked for; the extra (width, width) layers make them
    slower at large width (depth 3, width 512: about 12 s each).

    Parameters
    ----------
    widths : int or sequence of int, default (8, 16, 32, 64, 128, 256, 512)
        Hidden-layer widths, each >= 1.
    seeds : int or sequence of int, default (0, 1, 2)
        ``random_state`` values (initialisation and mini-batch order).
    views : str or sequence of {"full", "left", "right"}, default ("full",)
        Inputs: the whole image (64 columns) or a half from :func:`two_views`
        (32 columns).
    depth : int, default 1
        Number of hidden layers, ``hidden_layer_sizes=(width,) * depth``.
    cache : bool, default True
        Load from / save to :func:`cache_dir`.  Each network is one ``.npz``
        file whose name ends in a hash of everything that determines it:
        view, width, depth, seed, :data:`MLP_PARAMS`, the split, the data
        scaling, ``CACHE_VERSION`` and the scikit-learn and NumPy versions
        (a file whose stored key differs is ignored).  Files are written
        atomically (temporary file + ``os.replace``), so concurrent notebooks
        cannot corrupt them.  If the directory is not writable a
        ``RuntimeWarning`` is issued and nothing is cached.  ``cache=False``
        neither reads nor writes.

    Returns
    -------
    dict
        ``{(view, width, seed): ZooEntry}`` in the order views, widths, seeds.

    Raises
    ------
    ValueError
        Unknown view, width or depth < 1, a bad seed, an empty sequence, or
        ``cache`` not a bool.

    Notes
    -----
    Training is deterministic: the same arguments give bitwise-identical
    weights on one machine (BLAS is limited to one thread while training).
    A ``ConvergenceWarning`` from the fixed 50-epoch budget is silenced on
    purpose.  Source: scikit-learn user guide, "Neural network models
    (supervised)", ``sklearn.neural_network.MLPClassifier``.

    Examples
    --------
    >>> zoo = model_zoo(widths=(32,), seeds=(0,))       # doctest: +SKIP
    >>> f = zoo["full", 32, 0].representation(X)         # doctest: +SKIP
    """
    widths = tuple(_check_int(w, "width", 1, " Pass widths like (8, 16, 32).") for w in _as_tuple(widths, "widths"))
    seeds = tuple(_check_seed(s) for s in _as_tuple(seeds, "seeds"))
    views = tuple(_check_view(v) for v in _as_tuple(views, "views"))
    depth = _check_int(depth, "depth", 1, " depth is the number of hidden layers (1, 2 or 3).")
    if not isinstance(cache, bool):
        raise ValueError(f"cache must be True or False; got {cache!r}.")
    directory = _usable_cache_dir() if cache else None
    return {
        (v, w, s): _build(v, w, depth, s, directory)
        for v in views
        for w in widths
        for s in seeds
    }


def deep_zoo(seeds=DEEP_SEEDS, label_noise=0.0, cache=True):
    """Deep ReLU networks on the digits: :data:`DEEP_DEPTH` hidden layers, one per seed.

    Each network is an ``MLPClassifier`` with ``hidden_layer_sizes=(64,) * 6``
    trained with :data:`DEEP_MLP_PARAMS` (Adam, 30 epochs, batch 128, L2
    ``alpha=1e-4``) on the training rows of :func:`train_test_split_indices`;
    only the seed (initialisation and mini-batch order) differs between
    networks.  Every layer's representation is available through
    :meth:`ZooEntry.representations` (all six at once) or
    :meth:`ZooEntry.representation` (one).  This is the zoo of lesson 06
    (Kornblith et al. 2019's layer-identification test needs several
    architecturally identical networks with several layers each).

    Parameters
    ----------
    seeds : int or sequence of int, default (0, ..., 9)
        ``random_state`` values.
    label_noise : float in [0, 1], default 0
        Fraction of the training labels replaced by uniformly random classes
        before training (the "random labels" test of ReSi, Klabunde et al.
        2024); the rows and labels are drawn from
        ``np.random.default_rng([seed, 7919])``.  1 means every label is random.
    cache : bool, default True
        As :func:`model_zoo` (same directory, same atomic ``.npz`` files; the
        key includes the deep zoo's parameters and ``label_noise``).

    Returns
    -------
    dict
        ``{seed: ZooEntry}`` in the order of ``seeds``; ``entry.depth == 6``,
        ``entry.width == 64``, ``entry.label_noise == label_noise``.

    Raises
    ------
    ValueError
        A bad seed, an empty sequence, ``label_noise`` outside [0, 1], or
        ``cache`` not a bool.

    Notes
    -----
    Deterministic (bitwise, on one machine): BLAS runs on one thread while
    training.  Cold build of the ten default networks: about 20-30 s on one
    core of a loaded machine; a warm cache loads in well under a second.
    """
    seeds = tuple(_check_seed(s) for s in _as_tuple(seeds, "seeds"))
    if (isinstance(label_noise, bool) or not isinstance(label_noise, Real)
            or not 0.0 <= label_noise <= 1.0):
        raise ValueError(f"label_noise must be a fraction in [0, 1] of the training labels to "
                         f"randomise; got {label_noise!r}.")
    if not isinstance(cache, bool):
        raise ValueError(f"cache must be True or False; got {cache!r}.")
    directory = _usable_cache_dir() if cache else None
    params = dict(DEEP_MLP_PARAMS)
    out = {}
    for s in seeds:
        entry = _build("full", DEEP_WIDTH, DEEP_DEPTH, s, directory, params, float(label_noise))
        out[s] = replace(entry, label_noise=float(label_noise))
    return out


# --------------------------------------------------------------------------
# non-learned representations
# --------------------------------------------------------------------------
def pixel_representation(X):
    """The raw pixels as a representation (the identity map).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Pixels (any view).

    Returns
    -------
    ndarray, shape (n, d), dtype float64
        A copy of X.

    Raises
    ------
    ValueError
        If X is not a finite 2-D numeric array.
    """
    return np.array(as_representation(X, "X", min_samples=1), dtype=np.float64)


@functools.lru_cache(maxsize=16)
def _fitted_pca(view, n_components):
    from sklearn.decomposition import PCA

    X, _ = _digits()
    tr, _ = _split_cached(TEST_SIZE, SPLIT_SEED)
    return PCA(n_components=n_components, svd_solver="full").fit(_view_matrix(X[tr], view))


def pca_representation(X, n_components=16, view="full"):
    """Principal-component scores, with PCA fitted on the training images.

    ``sklearn.decomposition.PCA(n_components, svd_solver="full")`` is fitted
    once on the training rows (:func:`train_test_split_indices`) of the
    chosen view and then applied to X: a fixed linear map, like a trained
    network's representation.  The exact solver involves no randomness, so
    there is no seed.

    Parameters
    ----------
    X : array_like, shape (n, 64) or (n, 32)
        Input in the given view.
    n_components : int, default 16
        Number of components, 1..64 for "full" and 1..32 for a half view.
    view : {"full", "left", "right"}, default "full"
        Which pixels the PCA is fitted on (and X must be in).

    Returns
    -------
    ndarray, shape (n, n_components), dtype float64
        Centred scores, ordered by explained variance.

    Raises
    ------
    ValueError
        Unknown view, ``n_components`` out of range, or X with the wrong
        number of columns.
    """
    view = _check_view(view)
    d = VIEW_DIMS[view]
    n_components = _check_int(n_components, "n_components", 1)
    if n_components > d:
        raise ValueError(
            f"n_components must be at most {d} (the number of pixels in view {view!r}); "
            f"got {n_components}."
        )
    X = np.asarray(as_representation(X, "X", min_samples=1), dtype=np.float64)
    if X.shape[1] != d:
        raise ValueError(
            f"X has {X.shape[1]} columns but view {view!r} has {d}; pass "
            + ("load_digits()[0]" if view == "full" else f"two_views(X)[{0 if view == 'left' else 1}]")
            + " or set view to match X."
        )
    return np.asarray(_fitted_pca(view, n_components).transform(X), dtype=np.float64)


def random_fourier_features(X, n_components=256, gamma=0.1, seed=0):
    """Random Fourier features of the Gaussian kernel (Rahimi & Recht, 2007).

    ``sklearn.kernel_approximation.RBFSampler(gamma, n_components,
    random_state=seed)``: ``z(x) = sqrt(2 / D) cos(x W + b)`` with ``W ~
    N(0, 2 gamma)`` and ``b ~ U(0, 2 pi)``, so that ``z(x) . z(x')``
    approximates ``exp(-gamma ||x - x'||^2)``.  The map depends only on the
    number of columns of X and the seed, not on the data.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Any finite input, e.g. pixels or one view.
    n_components : int, default 256
        Number of features D, >= 1.
    gamma : float, default 0.1
        Kernel parameter, > 0.  0.1 is about 1 / (median squared distance
        between two digit images), a median-heuristic bandwidth.
    seed : int, default 0
        ``random_state`` of the sampler.

    Returns
    -------
    ndarray, shape (n, n_components), dtype float64

    Raises
    ------
    ValueError
        Non-finite or non-2-D X, ``n_components`` < 1, ``gamma`` <= 0, or a
        bad seed.
    """
    from sklearn.kernel_approximation import RBFSampler

    X = np.asarray(as_representation(X, "X", min_samples=1), dtype=np.float64)
    n_components = _check_int(n_components, "n_components", 1)
    if isinstance(gamma, bool) or not isinstance(gamma, Real) or not np.isfinite(gamma) or gamma <= 0:
        raise ValueError(f"gamma must be a finite number > 0; got {gamma!r}. The default is 0.1.")
    seed = _check_seed(seed)
    sampler = RBFSampler(gamma=float(gamma), n_components=n_components, random_state=seed)
    return np.asarray(sampler.fit(X).transform(X), dtype=np.float64)

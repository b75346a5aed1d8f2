"""Activations from PyTorch models (extra ``[torch]``: ``pip install 'repalign-edu[torch]'``).

:func:`activations` runs a model over inputs and returns the outputs of the
named sub-modules as ``{layer name: ndarray (n, d)}``; :func:`save_npz`
writes them to the ``.npz`` file that ``repalign layers`` reads.  torch is
imported only when these functions run, so ``import repalign_edu`` never
needs it.

How it works: a forward hook on each chosen module copies its output (pooled
to one vector per input) while the model runs in eval mode under
``torch.no_grad()``; the hooks are removed afterwards, even when the forward
pass fails (a context manager), and the model's train/eval mode is restored.
"""
from __future__ import annotations

import contextlib
from numbers import Integral

import numpy as np

__all__ = ["POOLINGS", "activations", "save_npz"]

POOLINGS = ("mean", "flatten", "cls")


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("repalign_edu.extract needs PyTorch: pip install 'repalign-edu[torch]' "
                          "(or the CPU build: pip install torch --index-url "
                          "https://download.pytorch.org/whl/cpu).") from None
    return torch


def _pool(out, pooling, name):
    """Pool a module output (batch, ...) to (batch, d)."""
    torch = _torch()
    if isinstance(out, (tuple, list)):
        out = next((o for o in out if isinstance(o, torch.Tensor)), None)
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"layer {name!r} returned {type(out).__name__}, not a tensor; choose a module "
                         "whose output is a tensor.")
    if callable(pooling):
        z = pooling(out)
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[0] != out.shape[0]:
            raise ValueError(f"pooling callable must map the output of {name!r} (shape "
                             f"{tuple(out.shape)}) to a tensor of shape (batch, d); got "
                             f"{getattr(z, 'shape', type(z).__name__)}.")
        return z
    if out.ndim == 1:
        return out.reshape(-1, 1)
    if out.ndim == 2 or pooling == "flatten":
        return out.reshape(out.shape[0], -1)
    if pooling == "mean":
        if out.ndim == 3:           # (batch, tokens, d): average the tokens
            return out.mean(dim=1)
        return out.mean(dim=tuple(range(2, out.ndim)))  # (batch, channels, *spatial)
    # "cls"
    if out.ndim != 3:
        raise ValueError(f"pooling='cls' takes the first token of a (batch, tokens, d) output; layer "
                         f"{name!r} gives shape {tuple(out.shape)}. Use pooling='mean' or 'flatten'.")
    return out[:, 0, :]


@contextlib.contextmanager
def _recording(model, names, pooling):
    """Forward hooks on ``names`` that append pooled outputs to lists; always removed."""
    modules = dict(model.named_modules())
    store = {n: [] for n in names}
    calls = {n: 0 for n in names}

    def make_hook(name):
        def hook(module, args, output):
            calls[name] += 1
            store[name].append(_pool(output, pooling, name).detach().float().cpu())
        return hook

    handles = [modules[n].register_forward_hook(make_hook(n)) for n in names]
    try:
        yield store, calls
    finally:
        for h in handles:
            h.remove()


def _batches(inputs, batch_size, device):
    torch = _torch()
    if isinstance(inputs, np.ndarray):
        inputs = torch.from_numpy(np.ascontiguousarray(
            inputs.astype(np.float32) if inputs.dtype.kind == "f" else inputs))
    if isinstance(inputs, torch.Tensor):
        if inputs.ndim == 0 or inputs.shape[0] == 0:
            raise ValueError(f"inputs must hold at least one sample along axis 0; got shape "
                             f"{tuple(inputs.shape)}.")
        for i in range(0, inputs.shape[0], batch_size):
            yield inputs[i:i + batch_size].to(device)
        return
    try:
        iterator = iter(inputs)
    except TypeError:
        raise ValueError(f"inputs must be a tensor, a NumPy array or a DataLoader (an iterable of "
                         f"batches); got {type(inputs).__name__}.") from None
    for batch in iterator:
        if isinstance(batch, (tuple, list)):  # (x, y) pairs of a labelled data set
            batch = batch[0]
        if isinstance(batch, np.ndarray):
            batch = torch.from_numpy(batch)
        if not isinstance(batch, torch.Tensor):
            raise ValueError(f"each batch of inputs must be a tensor (or a tuple whose first item is); "
                             f"got {type(batch).__name__}.")
        yield batch.to(device)


def activations(model, inputs, layers, *, pooling="mean", batch_size=256, device="cpu") -> dict:
    """Outputs of named sub-modules of a PyTorch model, one row per input.

    Parameters
    ----------
    model : torch.nn.Module
        Any module; it is moved to ``device`` and run in eval mode under
        ``torch.no_grad()`` (its previous train/eval mode is restored).
    inputs : torch.Tensor, numpy.ndarray or iterable of batches
        n inputs along axis 0 (float arrays become float32 tensors), or a
        ``DataLoader`` (batches that are tuples contribute their first item).
    layers : str or sequence of str
        Module names as in ``model.named_modules()``, e.g. ``"features.3"``
        or ``"encoder.block1.conv"``.
    pooling : {"mean", "flatten", "cls"} or callable
        How an output of shape (batch, ...) becomes (batch, d): "mean"
        averages tokens of a (batch, tokens, d) output and the spatial axes
        of a (batch, channels, *spatial) one (e.g. a conv map -> channels);
        "flatten" keeps everything; "cls" takes the first token; a callable
        maps the output tensor to (batch, d).  2-D outputs are kept as they
        are; tuple outputs use their first tensor.
    batch_size : int >= 1
        Batch size for tensor and array inputs (a DataLoader keeps its own).
    device : str or torch.device

    Returns
    -------
    dict {layer name: ndarray, shape (n, d), float32}
        In the order of ``layers``.

    Raises
    ------
    ValueError
        An unknown layer name (the message lists the valid ones), an empty
        ``layers``, an unknown pooling, a bad ``batch_size``, inputs of the
        wrong type, a layer that did not run or ran more than once per batch,
        or a pooled output of the wrong shape.
    ImportError
        torch is not installed.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> acts = activations(net, torch.randn(10, 4), ["0", "2"])
    >>> {k: v.shape for k, v in acts.items()}
    {'0': (10, 8), '2': (10, 2)}
    """
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError("layers is empty; pass at least one module name.")
    valid = [n for n, _ in model.named_modules() if n]
    bad = [n for n in names if not isinstance(n, str) or n not in valid]
    if bad:
        raise ValueError(f"no module named {bad[0]!r} in {type(model).__name__}; valid layer names: "
                         f"{', '.join(valid)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"layers lists a module twice: {names}.")
    if not callable(pooling) and pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)} or pass a "
                         "callable (batch, ...) -> (batch, d).")
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}.")
    was_training = model.training
    model.to(device)
    model.eval()
    try:
        with _recording(model, names, pooling) as (store, calls), torch.no_grad():
            for batch in _batches(inputs, int(batch_size), device):
                before = dict(calls)
                model(batch)
                for n in names:
                    k = calls[n] - before[n]
                    if k != 1:
                        raise ValueError(
                            f"layer {n!r} ran {k} times in one forward pass; choose a module that "
                            "runs exactly once per input batch (e.g. not a shared or unused one).")
    finally:
        model.train(was_training)
    if not store[names[0]]:
        raise ValueError("inputs hold no batches.")
    return {n: torch.cat(store[n]).numpy() for n in names}


def save_npz(path, acts, *, compressed=False) -> None:
    """Write ``{layer name: array (n, d)}`` to the ``.npz`` file ``repalign layers`` reads.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (``.npz`` is appended by NumPy if missing).
    acts : dict {str: array_like, shape (n, d)}
        E.g. the output of :func:`activations`; the layer order is kept.
    compressed : bool
        Use ``numpy.savez_compressed``.

    Raises
    ------
    ValueError
        An empty dict, a non-string name, an array that is not 2-D and
        numeric, or layers with different numbers of rows.
    """
    if not isinstance(acts, dict) or not acts:
        raise ValueError("acts must be a non-empty dict {layer name: array (n, d)}.")
    arrays = {}
    for name, a in acts.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"layer names must be non-empty strings; got {name!r}.")
        a = np.asarray(a)
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.number):
            raise ValueError(f"layer {name!r} must be a numeric array of shape (n, d); got dtype "
                             f"{a.dtype} and shape {a.shape}.")
        arrays[name] = a
    ns = {a.shape[0] for a in arrays.values()}
    if len(ns) > 1:
        raise ValueError(f"layers have different numbers of rows {sorted(ns)}; every layer must hold "
                         "the same inputs.")
    (np.savez_compressed if compressed else np.savez)(path, **arrays)

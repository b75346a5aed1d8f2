"""Reading representations, layers and labels from files, and pairing their rows.

The command line (:mod:`repalign_edu.cli`) and the report functions
(:mod:`repalign_edu.report`) read users' files through this module only.
Every problem with a file is an :class:`InputError` (a ``ValueError``) whose
one-line message names the file, the column or the key, and says how to fix it.

Formats
-------
=====================  =======================================================
``.npy``               one array
``.npz``               one array, or the one named by ``key``; for layers, every array
``.csv``, ``.tsv``     the numeric columns (``csv`` module, no pandas needed)
``.parquet``           the numeric columns (needs pandas and pyarrow)
``.h5``, ``.hdf5``     the dataset named by ``key`` (needs h5py); for layers, every dataset
``.pt``, ``.pth``      a tensor or a dict of tensors (needs torch; ``weights_only`` load)
``.safetensors``       the tensor named by ``key``; for layers, every tensor (needs safetensors)
=====================  =======================================================

Arrays with more than two axes (e.g. convolutional maps, shape (n, c, h, w))
are flattened to (n, c*h*w), with a note.  Rows are paired by position, or by
an ID column (``id_column``) for tables, in which case IDs found on one side
only and IDs that occur more than once are counted (duplicated IDs are
ambiguous and are left out).  Rows holding NaN or +-inf are an error that
lists them, unless ``drop_nan=True`` drops them from both sides.
"""
from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ARRAY_FORMATS",
    "TABLE_FORMATS",
    "InputError",
    "Pairing",
    "PairedData",
    "Representation",
    "load_labels",
    "load_layers",
    "load_pair",
    "load_layer_pair",
    "load_representation",
]

TABLE_FORMATS = (".csv", ".tsv", ".parquet")
CONTAINER_FORMATS = (".npz", ".h5", ".hdf5", ".pt", ".pth", ".safetensors")
ARRAY_FORMATS = (".npy",) + CONTAINER_FORMATS
SUPPORTED = ARRAY_FORMATS + TABLE_FORMATS

#: cells of a numeric table column read as NaN (compared in lower case)
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "-nan"})

#: how many rows or IDs an error message lists before "..."
_LIST_MAX = 8


class InputError(ValueError):
    """A user's file or option cannot be used; the message names it and the fix."""


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------
def _name(src) -> str:
    return os.fspath(src) if isinstance(src, (str, os.PathLike)) else str(src)


def _list(items, max_items=_LIST_MAX) -> str:
    items = [str(i) for i in items]
    more = len(items) - max_items
    shown = ", ".join(items[:max_items])
    return shown + (f", ... ({more} more)" if more > 0 else "")


def _suffix(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in SUPPORTED:
        raise InputError(
            f"{path}: unknown file format {ext or '(no extension)'!r}; supported: "
            f"{', '.join(SUPPORTED)}."
        )
    return ext


def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file.")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory; pass a file.")


def _needs(module: str, path: str, install: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"{path}: reading this format needs {module.split('.')[0]}; install it with "
                         f"`pip install {install}`.") from None


def _as_2d(arr, path: str, what: str, notes: list) -> np.ndarray:
    """A numeric array of shape (n, d); more axes are flattened (with a note)."""
    arr = np.asarray(arr)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(f"{path}: {what} is not numeric (dtype {arr.dtype}); store a float array.")
    if np.iscomplexobj(arr):
        raise InputError(f"{path}: {what} is complex (dtype {arr.dtype}); store a real array.")
    if arr.ndim == 0:
        raise InputError(f"{path}: {what} is a scalar; store an array of shape (n_samples, n_features).")
    if arr.ndim == 1:
        raise InputError(
            f"{path}: {what} is 1-D with shape {arr.shape}; store it as (n_samples, n_features), "
            "e.g. arr.reshape(-1, 1) for one feature."
        )
    if arr.ndim > 2:
        notes.append(f"{path}: {what} of shape {arr.shape} flattened to "
                     f"({arr.shape[0]}, {int(np.prod(arr.shape[1:]))}).")
        arr = arr.reshape(arr.shape[0], -1)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return arr


# --------------------------------------------------------------------------
# containers of named arrays (npz, h5, pt, safetensors)
# --------------------------------------------------------------------------
def _read_npy(path):
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":
        raise InputError(f"{path}: not a .npy file (it lacks the NumPy header); save arrays with np.save.")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InputError(f"{path}: holds Python objects (a pickled array); save a numeric array "
                             "with np.save.") from None
        raise InputError(f"{path}: not a readable .npy file ({exc}).") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npy file ({exc}).") from None


def _read_container(path: str, ext: str) -> dict:
    """{name: array} of every array in a .npz / .h5 / .pt / .safetensors file, in file order."""
    try:
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        if ext in (".h5", ".hdf5"):
            h5py = _needs("h5py", path, "h5py")
            out = {}
            with h5py.File(path, "r") as f:
                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        out[name] = obj[()]
                f.visititems(visit)
            return out
        if ext in (".pt", ".pth"):
            torch = _needs("torch", path, "'repalign-edu[torch]'")
            obj = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(obj, torch.Tensor):
                return {"tensor": obj.detach().cpu().numpy()}
            if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
                return {str(k): v.detach().float().cpu().numpy() if v.dtype == torch.bfloat16
                        else v.detach().cpu().numpy() for k, v in obj.items()}
            raise InputError(f"{path}: holds a {type(obj).__name__}; save a tensor or a dict "
                             "{name: tensor} with torch.save.")
        if ext == ".safetensors":
            st = _needs("safetensors.numpy", path, "safetensors")
            return dict(st.load_file(path))
    except InputError:
        raise
    except Exception as exc:  # corrupt or foreign files: every reader raises its own type
        raise InputError(f"{path}: not a readable {ext} file ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}).") from None
    raise AssertionError(ext)  # pragma: no cover


def _pick(arrays: dict, path: str, key, what="array"):
    if not arrays:
        raise InputError(f"{path}: holds no arrays.")
    if key is not None:
        if key not in arrays:
            raise InputError(f"{path}: no {what} named {key!r}; it holds: {_list(arrays)}. "
                             "Pass one of these with --key.")
        return key, arrays[key]
    if len(arrays) == 1:
        return next(iter(arrays.items()))
    raise InputError(f"{path}: holds {len(arrays)} arrays ({_list(arrays)}); choose one with --key NAME.")


# --------------------------------------------------------------------------
# tables (csv, tsv, parquet)
# --------------------------------------------------------------------------
def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _read_delimited(path: str, delimiter: str):
    """(header, rows) of a CSV/TSV file as lists of stripped strings."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [[c.strip() for c in r] for r in csv.reader(fh, delimiter=delimiter) if r]
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text table; save it as UTF-8 CSV.") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable table ({exc}).") from None
    if not rows:
        raise InputError(f"{path}: is empty.")
    first = rows[0]
    if all(_is_number(c) or c.lower() in MISSING_TOKENS for c in first) and any(_is_number(c) for c in first):
        header, body = [f"col{j}" for j in range(len(first))], rows
        headerless = True
    else:
        header, body = first, rows[1:]
        headerless = False
    width = len(header)
    for i, r in enumerate(body):
        if len(r) != width:
            line = i + (1 if headerless else 2)
            raise InputError(f"{path}: line {line} has {len(r)} fields but the "
                             f"{'first line' if headerless else 'header'} has {width}; every row "
                             "needs the same columns.")
    if not body:
        raise InputError(f"{path}: has a header but no data rows.")
    return header, np.array(body, dtype=str).reshape(len(body), width), headerless


def _column_to_float(path, name, cells: np.ndarray, *, strict: bool, headerless: bool):
    """float64 column, or None for a text column (raises for a mixed one if ``strict``)."""
    low = np.char.lower(cells)
    missing = np.isin(low, list(MISSING_TOKENS))
    vals = np.where(missing, "nan", cells)
    try:
        return vals.astype(np.float64)
    except ValueError:
        pass
    ok = np.array([_is_number(c) for c in vals])
    n_text = int((~ok).sum())
    if not strict and not ok[~missing].any():
        return None  # a text column
    i = int(np.flatnonzero(~ok)[0])
    line = i + (1 if headerless else 2)
    raise InputError(
        f"{path}: column {name!r} is not numeric: line {line} holds {str(cells[i])!r} "
        f"({n_text} non-numeric cell(s)); fix those cells, or choose the feature columns with --columns."
    )


def _text_note(path, text, id_column):
    return (f"{path}: ignored non-numeric column(s) {_list(text)}"
            + ("" if id_column else "; pass --id-column NAME if one holds IDs") + ".")


#: rows read by the csv module to classify the columns before the fast numeric read
_SAMPLE_ROWS = 200


def _read_table_fast(path, delimiter, *, id_column, columns, notes):
    """The common case at C speed (``numpy.loadtxt``): None when anything is unusual.

    The columns are classified on the first rows; any surprise later (a missing
    value, a text cell, a ragged row) makes ``loadtxt`` fail, and the caller then
    reads the file with :func:`_read_delimited`, which reports the exact cell.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            sample = [[c.strip() for c in r] for _, r in zip(range(_SAMPLE_ROWS + 1), reader)]
    except (UnicodeDecodeError, csv.Error):
        return None
    if len(sample) < 2 or any(not r for r in sample):
        return None
    first = sample[0]
    headerless = all(_is_number(c) for c in first)
    if not headerless and any(_is_number(c) or c.lower() in MISSING_TOKENS for c in first):
        return None  # a header with number-like names, or a first data row with gaps: read carefully
    header = [f"col{j}" for j in range(len(first))] if headerless else first
    body = sample if headerless else sample[1:]
    if len(set(header)) != len(header) or any(len(r) != len(header) for r in body):
        return None
    index = {h: j for j, h in enumerate(header)}
    if (id_column is not None and id_column not in index) or \
            (columns is not None and any(c not in index for c in columns)):
        return None
    names = list(columns) if columns is not None else [h for h in header if h != id_column]
    used, text = [], []
    for h in names:
        kinds = {_is_number(r[index[h]]) for r in body}
        if kinds == {True}:
            used.append(h)
        elif kinds == {False} and columns is None:
            text.append(h)
        else:
            return None  # missing values or mixed cells: the careful reader reports them
    if not used:
        return None
    opts = dict(delimiter=delimiter, skiprows=0 if headerless else 1, encoding="utf-8-sig", quotechar='"',
                comments=None, ndmin=2)
    try:
        data = np.loadtxt(path, usecols=[index[h] for h in used], dtype=np.float64, **opts)
        ids = (np.loadtxt(path, usecols=[index[id_column]], dtype=str, **opts)[:, 0]
               if id_column is not None else None)
    except (ValueError, IndexError):
        return None
    if data.shape[0] == 0:
        return None
    if text:
        notes.append(_text_note(path, text, id_column))
    return data, ids, used


def _read_table(path: str, ext: str, *, id_column, columns, notes):
    """(data (n, d) float64, ids or None, feature column names)."""
    if ext == ".parquet":
        return _read_parquet(path, id_column=id_column, columns=columns, notes=notes)
    delimiter = "\t" if ext == ".tsv" else ","
    fast = _read_table_fast(path, delimiter, id_column=id_column, columns=columns, notes=notes)
    if fast is not None:
        return fast
    header, cells, headerless = _read_delimited(path, delimiter)
    index = {h: j for j, h in enumerate(header)}
    ids = None
    if id_column is not None:
        if id_column not in index:
            raise InputError(f"{path}: no column {id_column!r} for --id-column; its columns are: "
                             f"{_list(header)}.")
        ids = cells[:, index[id_column]].astype(str)
    if columns is not None:
        missing = [c for c in columns if c not in index]
        if missing:
            raise InputError(f"{path}: no column(s) {_list(missing)} (from --columns); its columns "
                             f"are: {_list(header)}.")
        names = list(columns)
        strict = True
    else:
        names = [h for h in header if h != id_column]
        strict = False
    data, used, text = [], [], []
    for h in names:
        col = _column_to_float(path, h, cells[:, index[h]], strict=strict, headerless=headerless)
        if col is None:
            text.append(h)
        else:
            data.append(col)
            used.append(h)
    if text:
        notes.append(_text_note(path, text, id_column))
    if not data:
        raise InputError(f"{path}: has no numeric columns (columns: {_list(header)}); the features "
                         "must be numbers.")
    return np.column_stack(data), ids, used


def _read_parquet(path, *, id_column, columns, notes):
    pd = _needs("pandas", path, "pandas pyarrow")
    try:
        df = pd.read_parquet(path)
    except ImportError as exc:
        raise InputError(f"{path}: reading parquet needs pyarrow: `pip install pyarrow` ({exc}).") from None
    except Exception as exc:
        raise InputError(f"{path}: not a readable parquet file ({type(exc).__name__}: {exc}).") from None
    header = [str(c) for c in df.columns]
    df.columns = header
    if df.shape[0] == 0:
        raise InputError(f"{path}: has no rows.")
    ids = None
    if id_column is not None:
        if id_column not in df.columns:
            raise InputError(f"{path}: no column {id_column!r} for --id-column; its columns are: "
                             f"{_list(header)}.")
        ids = df[id_column].astype(str).to_numpy()
    names = list(columns) if columns is not None else [h for h in header if h != id_column]
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise InputError(f"{path}: no column(s) {_list(missing)} (from --columns); its columns "
                         f"are: {_list(header)}.")
    numeric = [h for h in names if pd.api.types.is_numeric_dtype(df[h]) or pd.api.types.is_bool_dtype(df[h])]
    text = [h for h in names if h not in numeric]
    if text and columns is not None:
        raise InputError(f"{path}: column {text[0]!r} is not numeric (dtype {df[text[0]].dtype}); "
                         "choose numeric feature columns with --columns.")
    if text:
        notes.append(f"{path}: ignored non-numeric column(s) {_list(text)}"
                     + ("" if id_column else "; pass --id-column NAME if one holds IDs") + ".")
    if not numeric:
        raise InputError(f"{path}: has no numeric columns (columns: {_list(header)}); the features "
                         "must be numbers.")
    data = df[numeric].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return data, ids, numeric


# --------------------------------------------------------------------------
# public loaders
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Representation:
    """One representation read from a file (or given as an array).

    Attributes
    ----------
    data : ndarray, shape (n, d), float32 or float64
        Rows are samples; may still hold NaN (see :func:`load_pair`).
    source : str
        The file name (or ``"A"`` / ``"B"`` for arrays passed in).
    ids : ndarray of str, shape (n,), or None
        The ID column, when one was asked for.
    columns : tuple of str or None
        Feature column names of a table.
    key : str or None
        The array's name inside a container file.
    notes : tuple of str
        What was done on the way (ignored columns, flattening).
    """

    data: np.ndarray
    source: str
    ids: np.ndarray | None = None
    columns: tuple | None = None
    key: str | None = None
    notes: tuple = ()


def load_representation(path, *, key=None, id_column=None, columns=None) -> Representation:
    """Read one representation, shape (n, d), from a file.

    Parameters
    ----------
    path : str or os.PathLike
        A file in one of the formats of the module docstring.
    key : str, optional
        The array inside a ``.npz``, ``.h5``, ``.pt`` or ``.safetensors`` file
        (needed when it holds more than one).
    id_column : str, optional
        The column that holds row IDs (tables), or the 1-D array of IDs in a
        container; it is not a feature.
    columns : sequence of str, optional
        Feature columns of a table (default: every numeric column but the ID).

    Returns
    -------
    Representation

    Raises
    ------
    InputError
        A missing file, an unknown format, a missing optional reader
        (h5py, torch, safetensors, pandas), an unreadable file, a missing
        key or column, a non-numeric or 1-D array, a mixed-type column, or a
        table with no numeric columns.  The message names the file.
    """
    path = _name(path)
    _check_exists(path)
    ext = _suffix(path)
    notes: list = []
    ids = cols = None
    if ext in TABLE_FORMATS:
        if key is not None:
            raise InputError(f"{path}: --key applies to .npz/.h5/.pt/.safetensors files; a table "
                             "uses its numeric columns (choose them with --columns).")
        data, ids, cols = _read_table(path, ext, id_column=id_column, columns=columns, notes=notes)
        cols = tuple(cols)
    else:
        if columns is not None:
            raise InputError(f"{path}: --columns applies to tables (.csv/.tsv/.parquet).")
        if ext == ".npy":
            if id_column is not None:
                raise InputError(f"{path}: --id-column needs a table (.csv/.tsv/.parquet) or a "
                                 ".npz/.h5 file that holds an ID array; a .npy file has no columns.")
            if key is not None:
                raise InputError(f"{path}: --key applies to container files; a .npy file holds one array.")
            arr = _read_npy(path)
        else:
            arrays = _read_container(path, ext)
            if id_column is not None:
                if id_column not in arrays:
                    raise InputError(f"{path}: no array {id_column!r} for --id-column; it holds: "
                                     f"{_list(arrays)}.")
                ids = np.asarray(arrays.pop(id_column))
                if ids.ndim != 1:
                    raise InputError(f"{path}: the ID array {id_column!r} must be 1-D; got shape {ids.shape}.")
                ids = ids.astype(str)
            key, arr = _pick(arrays, path, key)
        arr = _as_2d(arr, path, f"array {key!r}" if key else "the array", notes)
        data = arr
    if ids is not None and len(ids) != data.shape[0]:
        raise InputError(f"{path}: the ID array has {len(ids)} entries but the data has "
                         f"{data.shape[0]} rows.")
    return Representation(data, path, ids, cols, key, tuple(notes))


def load_layers(path) -> tuple[dict, tuple]:
    """Read every layer (named array) of a ``.npz``, ``.h5``, ``.pt`` or ``.safetensors`` file.

    A ``.npy`` file or a table is one layer, named after the file (its stem).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    layers : dict {name: ndarray (n, d)}
        In file order; arrays with more than two axes are flattened, 1-D
        arrays (e.g. labels stored alongside) are skipped with a note.
    notes : tuple of str

    Raises
    ------
    InputError
        As :func:`load_representation`; also a file with no 2-D array or
        layers with different numbers of rows.
    """
    path = _name(path)
    _check_exists(path)
    ext = _suffix(path)
    if ext not in CONTAINER_FORMATS:   # .npy or a table: one layer, named after the file
        rep = load_representation(path)
        return {os.path.splitext(os.path.basename(path))[0]: rep.data}, rep.notes
    arrays = _read_container(path, ext)
    notes: list = []
    layers = {}
    skipped = []
    for name, arr in arrays.items():
        if np.asarray(arr).ndim < 2:
            skipped.append(name)
            continue
        layers[name] = _as_2d(arr, path, f"layer {name!r}", notes)
    if skipped:
        notes.append(f"{path}: skipped 1-D array(s) {_list(skipped)} (a layer has shape (n, d)).")
    if not layers:
        raise InputError(f"{path}: holds no 2-D arrays; each layer must have shape (n_samples, n_features).")
    ns = {k: v.shape[0] for k, v in layers.items()}
    if len(set(ns.values())) > 1:
        first = next(iter(ns))
        bad = next(k for k, v in ns.items() if v != ns[first])
        raise InputError(f"{path}: layers have different numbers of rows ({first!r}: {ns[first]}, "
                         f"{bad!r}: {ns[bad]}); every layer must hold the same inputs.")
    return layers, tuple(notes)


def load_labels(path, *, key=None, column=None, id_column=None):
    """Read labels or targets for ``repalign stitch``.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy``/``.npz``/... (a 1-D array, or (n, t) targets) or a table
        (``.csv``/``.tsv``/``.parquet``) with one label column (or ``column``)
        and optionally the ID column.
    key : str, optional
        Array inside a container file.
    column : str, optional
        Label column of a table (default: its only column besides the ID).
    id_column : str, optional
        ID column of a table, used to pair labels with the representations.

    Returns
    -------
    values : ndarray, shape (n,) or (n, t)
        Text labels are returned as strings (classes), numbers as floats.
    ids : ndarray of str or None

    Raises
    ------
    InputError
        As :func:`load_representation`, or no single label column.
    """
    path = _name(path)
    _check_exists(path)
    ext = _suffix(path)
    if ext in TABLE_FORMATS:
        if ext == ".parquet":
            pd = _needs("pandas", path, "pandas pyarrow")
            try:
                df = pd.read_parquet(path)
            except Exception as exc:
                raise InputError(f"{path}: not a readable parquet file ({exc}).") from None
            header = [str(c) for c in df.columns]
            get = {h: df[c].astype(str).to_numpy() for h, c in zip(header, df.columns)}
        else:
            header, cells, _ = _read_delimited(path, "\t" if ext == ".tsv" else ",")
            get = {h: cells[:, j] for j, h in enumerate(header)}
        ids = None
        if id_column is not None and id_column in get:
            ids = get[id_column].astype(str)
        rest = [h for h in header if h != id_column]
        if column is None:
            if len(rest) != 1:
                raise InputError(f"{path}: choose the label column with --labels-column; its columns "
                                 f"are: {_list(header)}.")
            column = rest[0]
        if column not in get:
            raise InputError(f"{path}: no column {column!r}; its columns are: {_list(header)}.")
        cells = np.asarray(get[column]).astype(str)
        low = np.char.lower(cells)
        if np.isin(low, list(MISSING_TOKENS)).any():
            i = int(np.flatnonzero(np.isin(low, list(MISSING_TOKENS)))[0])
            raise InputError(f"{path}: label column {column!r} has missing values (first at data row "
                             f"{i}); every row needs a label.")
        try:
            return cells.astype(np.float64), ids
        except ValueError:
            return cells, ids
    if ext == ".npy":
        arr = _read_npy(path)
    else:
        _, arr = _pick(_read_container(path, ext), path, key)
    arr = np.asarray(arr)
    if arr.dtype.kind in "US":
        return arr.astype(str), None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or arr.ndim not in (1, 2):
        raise InputError(f"{path}: labels must be a 1-D array of class labels or an (n, t) array of "
                         f"targets; got dtype {arr.dtype} and shape {arr.shape}.")
    return arr.astype(np.float64), None


# --------------------------------------------------------------------------
# pairing rows and dropping non-finite ones
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Pairing:
    """How the rows of A and B were paired.

    Attributes
    ----------
    by : {"position", "id"}
    id_column : str or None
    n_A, n_B : int
        Rows read from each file.
    matched : int
        Rows paired (before dropping NaN rows).
    missing_in_A : int
        IDs of B that A lacks.
    missing_in_B : int
        IDs of A that B lacks.
    duplicated_A, duplicated_B : int
        IDs that occur more than once in a file; their rows are left out.
    """

    by: str
    id_column: str | None
    n_A: int
    n_B: int
    matched: int
    missing_in_A: int = 0
    missing_in_B: int = 0
    duplicated_A: int = 0
    duplicated_B: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def __str__(self) -> str:
        if self.by == "position":
            return f"rows paired by position: {self.matched}"
        return (f"rows paired by ID column {self.id_column!r}: {self.matched} matched; "
                f"{self.missing_in_B} IDs of A missing in B, {self.missing_in_A} IDs of B missing "
                f"in A; duplicated IDs left out: {self.duplicated_A} in A, {self.duplicated_B} in B")


def _pair_rows(a: Representation, b: Representation, id_column):
    """(rows of A, rows of B, Pairing, matched IDs or None)."""
    nA, nB = a.data.shape[0], b.data.shape[0]
    if id_column is None:
        if nA != nB:
            raise InputError(
                f"{a.source} has {nA} rows but {b.source} has {nB}; rows are paired by position, so "
                "they must match (or pair them by an ID column with --id-column NAME)."
            )
        r = np.arange(nA)
        return r, r, Pairing("position", None, nA, nB, nA), None
    ca, cb = Counter(a.ids.tolist()), Counter(b.ids.tolist())
    dupA = {k for k, v in ca.items() if v > 1}
    dupB = {k for k, v in cb.items() if v > 1}
    posB = {k: j for j, k in enumerate(b.ids.tolist()) if k not in dupB}
    rows_a, rows_b = [], []
    for i, k in enumerate(a.ids.tolist()):
        if k in dupA or k in dupB:
            continue
        j = posB.get(k)
        if j is not None:
            rows_a.append(i)
            rows_b.append(j)
    setA, setB = set(ca), set(cb)
    pairing = Pairing("id", id_column, nA, nB, len(rows_a), missing_in_A=len(setB - setA),
                      missing_in_B=len(setA - setB), duplicated_A=len(dupA), duplicated_B=len(dupB))
    if not rows_a:
        why = ("every shared ID is duplicated" if setA & setB else "no ID occurs in both")
        raise InputError(
            f"no shared IDs in column {id_column!r}: {why} ({a.source}: {len(setA)} IDs, e.g. "
            f"{_list(sorted(setA)[:3], 3)}; {b.source}: {len(setB)} IDs, e.g. "
            f"{_list(sorted(setB)[:3], 3)}); check the column and the IDs' format."
        )
    rows_a, rows_b = np.array(rows_a), np.array(rows_b)
    return rows_a, rows_b, pairing, a.ids[rows_a]


def _nonfinite_rows(X):
    return np.flatnonzero(~np.isfinite(X).all(axis=1))


def _drop_nonfinite(arrays_a: list, arrays_b: list, src_a, src_b, rows_a, rows_b, ids, drop_nan):
    """Index of the paired rows to keep; raise InputError listing NaN rows unless ``drop_nan``."""
    n = len(rows_a)
    bad_a = np.unique(np.concatenate([_nonfinite_rows(X) for X in arrays_a]))
    bad_b = np.unique(np.concatenate([_nonfinite_rows(Y) for Y in arrays_b]))
    bad = np.union1d(bad_a, bad_b).astype(int)
    if bad.size == 0:
        return np.arange(n), 0
    if not drop_nan:
        parts = []
        for src, b, rows in ((src_a, bad_a.astype(int), rows_a), (src_b, bad_b.astype(int), rows_b)):
            if b.size:
                what = f"{b.size} row(s) {_list(rows[b])}"
                if ids is not None:
                    what += f" (IDs {_list(ids[b])})"
                parts.append(f"{src} {what}")
        raise InputError(
            f"{bad.size} of {n} paired rows hold NaN or inf: {'; '.join(parts)} (row numbers count "
            "data rows from 0); pass --drop-nan to drop them from both sides, or impute them."
        )
    keep = np.setdiff1d(np.arange(n), bad)
    if keep.size == 0:
        raise InputError(f"every one of the {n} paired rows holds NaN or inf ({src_a}, {src_b}); "
                         "nothing is left after --drop-nan.")
    return keep, int(bad.size)


@dataclass(frozen=True)
class PairedData:
    """Two representations with paired rows, ready to measure.

    Attributes
    ----------
    X, Y : ndarray, shapes (n, d_A) and (n, d_B), finite
    source_A, source_B : str
    pairing : Pairing
    dropped_nan : int
        Paired rows dropped because they held NaN or inf (``drop_nan``).
    ids : ndarray of str or None
        The IDs of the kept rows when paired by ID.
    rows_A, rows_B : ndarray of int
        Row index in each file of every kept row.
    columns_A, columns_B : tuple of str or None
    notes : tuple of str
    """

    X: np.ndarray
    Y: np.ndarray
    source_A: str
    source_B: str
    pairing: Pairing
    dropped_nan: int = 0
    ids: np.ndarray | None = None
    rows_A: np.ndarray | None = None
    rows_B: np.ndarray | None = None
    columns_A: tuple | None = None
    columns_B: tuple | None = None
    notes: tuple = field(default=())


def _as_rep(src, default_name, *, key, id_column, columns):
    if isinstance(src, Representation):
        return src
    if isinstance(src, (str, os.PathLike)):
        return load_representation(src, key=key, id_column=id_column, columns=columns)
    if id_column is not None:
        raise InputError(f"id_column applies to files; {default_name} is an array (pair its rows yourself).")
    notes = []
    return Representation(_as_2d(src, default_name, "the array", notes), default_name, notes=tuple(notes))


def load_pair(A, B, *, key_A=None, key_B=None, id_column=None, columns_A=None, columns_B=None,
              drop_nan=False) -> PairedData:
    """Read two representations and pair their rows.

    Parameters
    ----------
    A, B : str, os.PathLike, array_like (n, d) or Representation
        Files (see the module docstring) or arrays.
    key_A, key_B : str, optional
        Array name inside container files.
    id_column : str, optional
        Pair rows by this ID column (present in both files) instead of by position.
    columns_A, columns_B : sequence of str, optional
        Feature columns of tables.
    drop_nan : bool, default False
        Drop paired rows that hold NaN or inf on either side, instead of raising.

    Returns
    -------
    PairedData

    Raises
    ------
    InputError
        As :func:`load_representation`; also different row counts without
        ``id_column``, no shared IDs, and NaN/inf rows without ``drop_nan``
        (the message gives their number, row indices and IDs).
    """
    a = _as_rep(A, "A", key=key_A, id_column=id_column, columns=columns_A)
    b = _as_rep(B, "B", key=key_B, id_column=id_column, columns=columns_B)
    rows_a, rows_b, pairing, ids = _pair_rows(a, b, id_column)
    X, Y = a.data[rows_a], b.data[rows_b]
    keep, dropped = _drop_nonfinite([X], [Y], a.source, b.source, rows_a, rows_b, ids, drop_nan)
    notes = list(a.notes) + list(b.notes)
    if dropped:
        notes.append(f"dropped {dropped} paired row(s) holding NaN or inf (--drop-nan).")
    if dropped:
        X, Y, rows_a, rows_b = X[keep], Y[keep], rows_a[keep], rows_b[keep]
        ids = ids[keep] if ids is not None else None
    return PairedData(np.ascontiguousarray(X), np.ascontiguousarray(Y), a.source, b.source, pairing,
                      dropped, ids, rows_a, rows_b, a.columns, b.columns, tuple(notes))


def load_layer_pair(A, B, *, drop_nan=False):
    """Read two files of layers, rows paired by position.

    Parameters
    ----------
    A, B : str, os.PathLike, or dict {name: array (n, d)}
    drop_nan : bool, default False
        Drop rows that hold NaN or inf in any layer of either side.

    Returns
    -------
    layers_A, layers_B : dict {name: ndarray (n, d)}
    info : dict
        ``source_A``, ``source_B``, ``n``, ``dropped_nan``, ``notes``.

    Raises
    ------
    InputError
        As :func:`load_layers`; also different row counts, NaN rows without
        ``drop_nan``.
    """
    def get(src, default):
        if isinstance(src, (str, os.PathLike)):
            layers, notes = load_layers(src)
            return layers, _name(src), list(notes)
        if isinstance(src, dict):
            if not src:
                raise InputError(f"{default}: no layers given.")
            notes = []
            return {str(k): _as_2d(v, default, f"layer {k!r}", notes) for k, v in src.items()}, default, notes
        raise InputError(f"{default} must be a file of layers or a dict {{name: array}}; got "
                         f"{type(src).__name__}.")

    la, sa, na = get(A, "A")
    lb, sb, nb = get(B, "B")
    nA, nB = next(iter(la.values())).shape[0], next(iter(lb.values())).shape[0]
    if nA != nB:
        raise InputError(f"{sa} has {nA} rows per layer but {sb} has {nB}; the layers must hold the "
                         "same inputs in the same order.")
    r = np.arange(nA)
    keep, dropped = _drop_nonfinite(list(la.values()), list(lb.values()), sa, sb, r, r, None, drop_nan)
    if dropped:
        la = {k: v[keep] for k, v in la.items()}
        lb = {k: v[keep] for k, v in lb.items()}
        na.append(f"dropped {dropped} row(s) holding NaN or inf (--drop-nan).")
    return la, lb, {"source_A": sa, "source_B": sb, "n": int(len(keep)), "dropped_nan": dropped,
                    "notes": tuple(na + nb)}

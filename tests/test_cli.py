"""The `repalign` command line, end to end, on temporary files.

A few runs go through a real subprocess (``python -m repalign_edu``, and the
``repalign`` console script when it is installed) to test the wiring: exit
codes, stdout/stderr, no traceback.  The many input formats and bad-input
paths run through ``cli.main(argv)`` in-process: the same code path without
paying a Python + Numba start-up per case.  Every subprocess shares one Numba
cache directory, so the kernels compile once.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu import cli, report

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    e.setdefault("NUMBA_CACHE_DIR", str(tmp_path_factory.mktemp("numba_cache")))
    e.setdefault("OPENBLAS_NUM_THREADS", "1")
    e["PYTHONWARNINGS"] = "ignore"
    return e


def run(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "repalign_edu", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    Y = np.tanh(X @ rng.normal(size=(5, 4))) + 0.3 * rng.normal(size=(60, 4))
    np.save(d / "a.npy", X)
    np.save(d / "b.npy", Y)
    return d, X, Y


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w") as fh:
        fh.write(delimiter.join(header) + "\n")
        for r in rows:
            fh.write(delimiter.join(str(c) for c in r) + "\n")


def textbook_cka(X, Y):
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    return np.linalg.norm(X.T @ Y) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))


def main(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code, err, *needles):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("repalign")
    for n in needles:
        assert n in lines[0], (n, lines[0])


# --------------------------------------------------------------------------
# subprocess: the real command line
# --------------------------------------------------------------------------
def test_subprocess_compare_json_matches_api(data, env):
    d, X, Y = data
    p = run(["compare", "a.npy", "b.npy", "--measures", "cka,cka-rbf,mutual-knn:k=5", "--json"], env, d)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    out = json.loads(p.stdout)
    assert (out["n"], out["d_A"], out["d_B"]) == (60, 5, 4)
    assert out["files"] == {"A": "a.npy", "B": "b.npy"}
    m = out["measures"]
    assert m["cka"]["value"] == pytest.approx(textbook_cka(X, Y), rel=1e-10)
    assert m["cka-rbf"]["value"] == pytest.approx(ra.cka(X, Y, kernel="rbf"), rel=1e-10)
    assert m["mutual-knn:k=5"]["value"] == pytest.approx(ra.mutual_knn(X, Y, k=5), abs=1e-12)
    assert m["mutual-knn:k=5"]["kwargs"] == {"k": 5}
    api = report.compare(X, Y, measures=["cka", "cka-rbf", "mutual-knn:k=5"])
    for r in api.rows:
        assert m[r.label]["value"] == pytest.approx(r.value, rel=1e-12)


def test_subprocess_user_errors_exit_2_one_line(data, env):
    d, X, Y = data
    np.save(d / "short.npy", Y[:50])
    p = run(["compare", "a.npy", "short.npy"], env, d)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert "a.npy has 60 rows but short.npy has 50" in lines[0]
    assert p.stdout == ""
    p = run(["compare", "a.npy", "b.npy", "--permutations", "-3"], env, d)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "--permutations" in p.stderr


SCRIPT = shutil.which("repalign", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                         os.environ.get("PATH", "")]))


@pytest.mark.skipif(SCRIPT is None, reason="the repalign console script is not installed in this environment "
                    "(pip install -e . installs it)")
def test_console_script(data, env):
    d, _, _ = data
    p = subprocess.run([SCRIPT, "compare", "a.npy", "b.npy", "--measures", "cka", "--json"],
                       capture_output=True, text=True, env=env, cwd=d, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["measures"]["cka"]["value"] > 0


def test_subprocess_layers_report_png(data, env):
    d, X, Y = data
    np.savez(d / "la.npz", first=X, second=X ** 2, third=X[:, :2])
    np.savez(d / "lb.npz", u=Y, v=np.sin(Y))
    p = run(["layers", "la.npz", "lb.npz", "--json", "--report", "l.html", "--png", "l.png"], env, d)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    M = np.array(out["matrix"])
    assert M.shape == (3, 2)
    assert out["layers_A"] == ["first", "second", "third"] and out["layers_B"] == ["u", "v"]
    assert M[0, 0] == pytest.approx(textbook_cka(X, Y), rel=1e-10)
    assert M[2, 1] == pytest.approx(textbook_cka(X[:, :2], np.sin(Y)), rel=1e-10)
    best = {b["layer"]: b["best"] for b in out["best_for_A"]}
    assert best == {a: ["u", "v"][int(np.argmax(M[i]))] for i, a in enumerate(out["layers_A"])}
    assert (d / "l.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = HTMLCheck.parse((d / "l.html").read_text())
    assert page.images and all(s.startswith("data:image/png;base64,") for s in page.images)
    assert f"{M[0].max():.4g}" in page.text


def test_layers_single_array_files_are_one_layer(data, capsys):
    d, X, Y = data
    write_csv(d / "one.csv", [f"b{j}" for j in range(4)], Y.tolist())
    np.savez(d / "lx.npz", first=X, second=X[:, :2])
    code, out, err = main(["layers", d / "lx.npz", d / "one.csv", "--json"], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["layers_A"] == ["first", "second"] and res["layers_B"] == ["one"]
    assert np.array(res["matrix"])[:, 0] == pytest.approx([textbook_cka(X, Y), textbook_cka(X[:, :2], Y)], rel=1e-9)
    code, out, err = main(["layers", d / "a.npy", d / "b.npy", "--json"], capsys)
    assert code == 0 and json.loads(out)["layers_A"] == ["a"]


# --------------------------------------------------------------------------
# in-process: every input format gives the same numbers
# --------------------------------------------------------------------------
def _formats(d, X, Y):
    """(path A, path B, extra argv) per format."""
    out = {}
    np.savez(d / "fa.npz", X)
    np.savez(d / "fb.npz", emb=Y, other=Y[:, :1])
    out["npz"] = (d / "fa.npz", d / "fb.npz", ["--key-b", "emb"])
    hdr_a = [f"a{j}" for j in range(X.shape[1])]
    hdr_b = [f"b{j}" for j in range(Y.shape[1])]
    write_csv(d / "fa.csv", hdr_a, X.tolist())
    write_csv(d / "fb.csv", hdr_b, Y.tolist())
    out["csv"] = (d / "fa.csv", d / "fb.csv", [])
    write_csv(d / "fa.tsv", hdr_a, X.tolist(), "\t")
    write_csv(d / "fb.tsv", hdr_b, Y.tolist(), "\t")
    out["tsv"] = (d / "fa.tsv", d / "fb.tsv", [])
    return out


@pytest.mark.parametrize("fmt", ["npz", "csv", "tsv", "parquet", "h5", "pt", "safetensors", "mixed"])
def test_every_format_same_numbers(fmt, data, capsys):
    d, X, Y = data
    want = textbook_cka(X, Y)
    if fmt in ("npz", "csv", "tsv"):
        a, b, extra = _formats(d, X, Y)[fmt]
    elif fmt == "parquet":
        pd = pytest.importorskip("pandas")
        pytest.importorskip("pyarrow")
        pd.DataFrame(X, columns=[f"a{j}" for j in range(5)]).assign(name="x").to_parquet(d / "fa.parquet")
        pd.DataFrame(Y, columns=[f"b{j}" for j in range(4)]).to_parquet(d / "fb.parquet")
        a, b, extra = d / "fa.parquet", d / "fb.parquet", []
    elif fmt == "h5":
        h5py = pytest.importorskip("h5py")
        with h5py.File(d / "fa.h5", "w") as f:
            f["grp/emb"] = X
            f["other"] = X[:, :2]
        with h5py.File(d / "fb.h5", "w") as f:
            f["emb"] = Y
        a, b, extra = d / "fa.h5", d / "fb.h5", ["--key-a", "grp/emb"]
    elif fmt == "pt":
        torch = pytest.importorskip("torch")
        torch.save(torch.from_numpy(X), d / "fa.pt")
        torch.save({"emb": torch.from_numpy(Y)}, d / "fb.pt")
        a, b, extra = d / "fa.pt", d / "fb.pt", []
    elif fmt == "safetensors":
        st = pytest.importorskip("safetensors.numpy")
        st.save_file({"emb": X}, str(d / "fa.safetensors"))
        st.save_file({"emb": Y, "x": Y[:, :1].copy()}, str(d / "fb.safetensors"))
        a, b, extra = d / "fa.safetensors", d / "fb.safetensors", ["--key", "emb"]
    else:  # npy against csv
        _formats(d, X, Y)
        a, b, extra = d / "a.npy", d / "fb.csv", []
    code, out, err = main(["compare", a, b, "--measures", "cka", "--json", *extra], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["measures"]["cka"]["value"] == pytest.approx(want, rel=1e-9)
    assert (res["n"], res["d_A"], res["d_B"]) == (60, 5, 4)
    if fmt == "parquet":
        assert "ignored non-numeric column(s) name" in err


@pytest.mark.parametrize("id_column", [None, "part"])
def test_fast_and_careful_csv_readers_agree(id_column, data, monkeypatch):
    from repalign_edu import io as rio

    d, X, _ = data
    rows = [[f"p{i}", "txt", *X[i].tolist()] for i in range(60)]
    write_csv(d / "fc.csv", ["part", "kind", *[f"x{j}" for j in range(5)]], rows)
    write_csv(d / "fh.csv", [f"{v}" for v in X[0].tolist()], X[1:].tolist())   # headerless
    for f in ("fc.csv", "fh.csv"):
        idc = id_column if f == "fc.csv" else None
        fast = rio.load_representation(d / f, id_column=idc)
        with monkeypatch.context() as m:
            m.setattr(rio, "_read_table_fast", lambda *a, **k: None)
            slow = rio.load_representation(d / f, id_column=idc)
        np.testing.assert_array_equal(fast.data, slow.data)
        assert fast.columns == slow.columns and fast.notes == slow.notes
        assert (fast.ids is None and slow.ids is None) or list(fast.ids) == list(slow.ids)
    np.testing.assert_array_equal(rio.load_representation(d / "fh.csv").data, X)


def test_id_column_pairing_counts(data, capsys):
    d, X, Y = data
    ids = [f"p{i}" for i in range(60)]
    # A: rows 0..54 plus a duplicated ID; B: shuffled rows 5..59 plus one unknown ID
    rows_a = [[ids[i], *X[i].tolist()] for i in range(55)] + [[ids[3], *X[3].tolist()]]
    order = np.random.default_rng(1).permutation(np.arange(5, 60))
    rows_b = [[ids[i], "label", *Y[i].tolist()] for i in order] + [["zzz", "label", *Y[0].tolist()]]
    write_csv(d / "ia.csv", ["part_id", *[f"a{j}" for j in range(5)]], rows_a)
    write_csv(d / "ib.csv", ["part_id", "kind", *[f"b{j}" for j in range(4)]], rows_b)
    code, out, err = main(["compare", d / "ia.csv", d / "ib.csv", "--id-column", "part_id", "--measures",
                           "cka", "--json"], capsys)
    assert code == 0, err
    res = json.loads(out)
    p = res["pairing"]
    # shared IDs p5..p54 minus the duplicated p3 (not shared anyway): 50 matched
    assert p["matched"] == 50 and res["n"] == 50
    assert p["missing_in_B"] == 5          # p0..p4 of A absent from B
    assert p["missing_in_A"] == 6          # p55..p59 and zzz of B absent from A
    assert (p["duplicated_A"], p["duplicated_B"]) == (1, 0)
    keep = np.arange(5, 55)
    assert res["measures"]["cka"]["value"] == pytest.approx(textbook_cka(X[keep], Y[keep]), rel=1e-9)
    assert "ignored non-numeric column(s) kind" in err
    code, out, err = main(["compare", d / "ia.csv", d / "ib.csv", "--id-column", "part_id",
                           "--measures", "cka"], capsys)
    assert code == 0
    assert "50 matched" in out and "5 IDs of A missing in B" in out and "6 IDs of B missing in A" in out


# --------------------------------------------------------------------------
# in-process: every bad-input path exits 2 with one line
# --------------------------------------------------------------------------
def _bad_cases(d, X, Y):
    write_csv(d / "text.csv", ["name", "kind"], [["a", "b"]] * 60)
    write_csv(d / "mixed.csv", ["x", "y"], [[1.0, 2.0]] * 10 + [[1.0, "oops"]] + [[3.0, 4.0]] * 49)
    write_csv(d / "ragged.csv", ["x", "y"], [[1.0, 2.0]] * 5 + [[1.0]])
    Xn = X.copy()
    Xn[[4, 17], 1] = np.nan
    np.save(d / "nan.npy", Xn)
    np.save(d / "obj.npy", np.array(["a", "b"]))
    np.save(d / "vec.npy", X[:, 0])
    np.save(d / "const.npy", np.ones((60, 3)))
    np.savez(d / "two.npz", p=X, q=X)
    np.savez(d / "short.npz", p=X[:50])
    (d / "junk.npy").write_bytes(b"not a numpy file")
    (d / "x.xyz").write_text("1,2\n")
    ids = [[f"p{i}", *X[i].tolist()] for i in range(60)]
    write_csv(d / "ida.csv", ["id", *"abcde"], ids)
    write_csv(d / "ida50.csv", ["id", *"abcde"], ids[:50])
    np.save(d / "y50.npy", np.arange(50) % 3)
    write_csv(d / "idb.csv", ["id", *"fghi"], [[f"q{i}", *Y[i].tolist()] for i in range(60)])
    a, b = d / "a.npy", d / "b.npy"
    return {
        "mismatched rows": (["compare", a, d / "vec.npy"], ["vec.npy", "1-D"]),
        "row counts": (["compare", d / "ida50.csv", a, "--measures", "cka"], ["ida50.csv has 50 rows", "a.npy has 60", "--id-column"]),
        "no shared IDs": (["compare", d / "ida.csv", d / "idb.csv", "--id-column", "id"], ["no shared IDs", "'id'"]),
        "unknown id column": (["compare", d / "ida.csv", d / "idb.csv", "--id-column", "nope"], ["nope", "ida.csv"]),
        "non-numeric file": (["compare", d / "text.csv", b], ["text.csv", "no numeric columns"]),
        "non-numeric cell": (["compare", d / "mixed.csv", b], ["mixed.csv", "'y'", "oops", "line 12"]),
        "non-numeric --columns": (["compare", d / "text.csv", b, "--columns", "name"], ["'name'", "not numeric"]),
        "ragged": (["compare", d / "ragged.csv", b], ["ragged.csv", "line 7"]),
        "nan rows": (["compare", d / "nan.npy", b], ["2 of 60", "nan.npy", "4, 17", "--drop-nan"]),
        "object array": (["compare", d / "obj.npy", b], ["obj.npy"]),
        "constant": (["compare", d / "const.npy", b, "--measures", "cka"], []),
        "missing file": (["compare", d / "nofile.npy", b], ["nofile.npy", "no such file"]),
        "unknown format": (["compare", d / "x.xyz", b], ["x.xyz", "unknown file format"]),
        "corrupt": (["compare", d / "junk.npy", b], ["junk.npy"]),
        "npz needs key": (["compare", d / "two.npz", b], ["two.npz", "--key"]),
        "npz wrong key": (["compare", d / "two.npz", b, "--key-a", "zz"], ["'zz'", "p, q"]),
        "unknown measure": (["compare", a, b, "--measures", "cka,foo"], ["'foo'", "mutual-knn"]),
        "bad measure option": (["compare", a, b, "--measures", "mutual-knn:kk=3"], ["'kk'", "k"]),
        "bad k": (["compare", a, b, "--measures", "mutual-knn:k=500"], ["k"]),
        "bad ci": (["compare", a, b, "--ci", "1.5"], ["--ci"]),
        "bad resamples": (["compare", a, b, "--ci", "0.9", "--resamples", "0"], ["--resamples", ">= 1"]),
        "bad seed": (["compare", a, b, "--seed", "-1"], ["--seed"]),
        "bad ridge": (["stitch", a, b, "--labels", d / "vec.npy", "--ridge", "-1"], ["ridge", ">= 0"]),
        "bad backend": (["compare", a, b, "--backend", "tpu"], ["--backend"]),
        "id column on npy": (["compare", a, b, "--id-column", "id"], ["a.npy", "--id-column"]),
        "no command": (["compare"], []),
        "layers on text csv": (["layers", d / "text.csv", d / "two.npz"], ["text.csv", "no numeric columns"]),
        "layers unknown measure": (["layers", d / "two.npz", d / "two.npz", "--measure", "nope"], ["nope"]),
        "layers rows": (["layers", d / "two.npz", d / "short.npz"], ["two.npz", "short.npz", "60", "50"]),
        "stitch labels length": (["stitch", a, b, "--labels", d / "y50.npy"], ["y50.npy", "50 labels", "60 rows"]),
        "stitch missing labels": (["stitch", a, b], ["--labels"]),
        "stitch bad fraction": (["stitch", a, b, "--labels", d / "vec.npy", "--test-fraction", "1"], ["--test-fraction"]),
        "report unwritable": (["compare", a, b, "--measures", "cka", "--report", d / "no" / "dir" / "r.html"], ["r.html"]),
    }


CASES = ["mismatched rows", "row counts", "no shared IDs", "unknown id column", "non-numeric file",
         "non-numeric cell", "non-numeric --columns", "ragged", "nan rows", "object array", "constant",
         "missing file", "unknown format", "corrupt", "npz needs key", "npz wrong key", "unknown measure",
         "bad measure option", "bad k", "bad ci", "bad resamples", "bad seed", "bad ridge", "bad backend", "id column on npy", "no command",
         "layers on text csv", "layers unknown measure", "layers rows", "stitch labels length", "stitch missing labels",
         "stitch bad fraction", "report unwritable"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exit_2_one_line(case, data, capsys):
    d, X, Y = data
    argv, needles = _bad_cases(d, X, Y)[case]
    code, out, err = main(argv, capsys)
    if case == "no command":
        assert code == 2 and "Traceback" not in err
        return
    assert_user_error(code, err, *needles)
    assert out == ""


@pytest.mark.parametrize("ext, module", [(".h5", "h5py"), (".parquet", "pandas"), (".pt", "torch"),
                                         (".safetensors", "safetensors")])
def test_missing_optional_reader_is_one_line(ext, module, data, capsys, monkeypatch):
    d, _, _ = data
    f = d / f"x{ext}"
    f.write_bytes(b"")
    monkeypatch.setitem(sys.modules, module, None)        # `import module` now raises ImportError
    if module == "safetensors":
        monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    code, out, err = main(["compare", f, d / "a.npy"], capsys)
    assert_user_error(code, err, f"x{ext}", f"needs {module}", "pip install")


def test_drop_nan_drops_from_both_sides(data, capsys):
    d, X, Y = data
    _bad_cases(d, X, Y)
    Yn = Y.copy()
    Yn[30, 0] = np.inf
    np.save(d / "binf.npy", Yn)
    code, out, err = main(["compare", d / "nan.npy", d / "binf.npy", "--drop-nan", "--measures", "cka",
                           "--json"], capsys)
    assert code == 0, err
    res = json.loads(out)
    keep = np.setdiff1d(np.arange(60), [4, 17, 30])
    assert res["n"] == 57 and res["dropped_nan"] == 3
    assert res["measures"]["cka"]["value"] == pytest.approx(textbook_cka(X[keep], Y[keep]), rel=1e-9)
    assert "dropped 3" in err
    code, out, err = main(["compare", d / "nan.npy", d / "binf.npy", "--measures", "cka"], capsys)
    assert_user_error(code, err, "3 of 60", "nan.npy 2 row(s) 4, 17", "binf.npy 1 row(s) 30")


def test_layers_nan_rows_error_and_drop(data, capsys):
    d, X, Y = data
    Xn = X.copy()
    Xn[[2, 9], 0] = np.nan
    np.savez(d / "nl.npz", good=X, bad=Xn)
    np.savez(d / "ml.npz", u=Y)
    code, out, err = main(["layers", d / "nl.npz", d / "ml.npz"], capsys)
    assert_user_error(code, err, "2 of 60", "nl.npz 2 row(s) 2, 9", "--drop-nan")
    code, out, err = main(["layers", d / "nl.npz", d / "ml.npz", "--drop-nan", "--json"], capsys)
    assert code == 0, err
    res = json.loads(out)
    keep = np.setdiff1d(np.arange(60), [2, 9])
    assert res["n"] == 58 and res["dropped_nan"] == 2
    assert res["matrix"][0][0] == pytest.approx(textbook_cka(X[keep], Y[keep]), rel=1e-9)


def test_id_pairing_nan_message_names_ids(data, capsys):
    d, X, Y = data
    write_csv(d / "na.csv", ["id", "x", "y"], [[f"p{i}", i, "" if i == 7 else 2 * i + 1] for i in range(20)])
    write_csv(d / "nb.csv", ["id", "z"], [[f"p{i}", (i * 7) % 5] for i in range(20)])
    code, out, err = main(["compare", d / "na.csv", d / "nb.csv", "--id-column", "id", "--measures", "cka"],
                          capsys)
    assert_user_error(code, err, "1 of 20", "IDs p7")


# --------------------------------------------------------------------------
# progress, stitch and the inference flags
# --------------------------------------------------------------------------
def test_progress_on_stderr_only_when_asked(data, capsys):
    d, _, _ = data
    code, out, err = main(["compare", d / "a.npy", d / "b.npy", "--measures", "cka,ka", "--progress"], capsys)
    assert code == 0 and "measures" in err and "%" in err
    code, out, err = main(["compare", d / "a.npy", d / "b.npy", "--measures", "cka,ka"], capsys)
    assert code == 0 and err == ""          # stderr is not a terminal under pytest
    code, out, err = main(["compare", d / "a.npy", d / "b.npy", "--measures", "cka,ka", "--progress", "-q"],
                          capsys)
    assert code == 0 and err == ""


def test_stitch_json_matches_api(data, capsys):
    d, X, Y = data
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0)
    np.save(d / "y.npy", y)
    code, out, err = main(["stitch", d / "a.npy", d / "b.npy", "--labels", d / "y.npy", "--json", "--seed", "3",
                           "--report", d / "s.html"], capsys)
    assert code == 0, err
    res = json.loads(out)
    api = report.stitch(X, Y, y, seed=3)
    for k in ("misalignment", "risk_B", "risk_stitched", "bound", "ka", "cka", "accuracy_stitched"):
        assert res[k] == pytest.approx(getattr(api, k), rel=1e-10), k
    assert res["n_train"] + res["n_test"] == 60 and res["n_test"] == 18
    assert res["risk_stitched"] <= res["bound"] + 1e-12
    page = HTMLCheck.parse((d / "s.html").read_text())
    assert f"{res['bound']:.4g}" in page.text and f"{res['misalignment']:.4g}" in page.text


def _has_inference():
    try:
        from repalign_edu import inference  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _has_inference(), reason="repalign_edu.inference (issue 10) is not in this build")
def test_compare_permutations_and_ci_match_inference(data, capsys):
    from repalign_edu import inference as inf

    d, X, Y = data
    code, out, err = main(["compare", d / "a.npy", d / "b.npy", "--measures", "cka", "--permutations", "99",
                           "--ci", "0.9", "--resamples", "99", "--seed", "5", "--json"], capsys)
    assert code == 0, err
    m = json.loads(out)["measures"]["cka"]
    pt = inf.permutation_test(X, Y, "cka", n_permutations=99, seed=5)
    bs = inf.bootstrap_ci(X, Y, "cka", n_resamples=99, level=0.9, seed=5, method="basic")
    assert m["pvalue"] == pytest.approx(pt.pvalue, abs=0) and m["threshold"] == pytest.approx(pt.threshold)
    assert m["calibrated"] == pytest.approx(pt.calibrated)
    assert m["ci"]["method"] == "basic"                 # --ci-method auto: basic for CKA
    assert (m["ci"]["low"], m["ci"]["high"]) == (pytest.approx(bs.low), pytest.approx(bs.high))
    assert 0 < m["pvalue"] <= 1 and m["ci"]["low"] < m["ci"]["high"]
    code, out, err = main(["compare", d / "a.npy", d / "b.npy", "--measures", "mutual-knn", "--ci", "0.9",
                           "--json"], capsys)
    assert code == 0, err
    m = json.loads(out)["measures"]["mutual-knn"]
    jk = inf.bootstrap_ci(X, Y, "mutual_knn", level=0.9, method="jackknife")
    assert m["ci"]["method"] == "jackknife" and m["ci"]["low"] <= m["value"] <= m["ci"]["high"]
    assert (m["ci"]["low"], m["ci"]["high"]) == (pytest.approx(jk.low), pytest.approx(jk.high))
    code, out, err = main(["compare", d / "a.npy", d / "b.npy", "--measures", "cka", "--ci", "0.9",
                           "--ci-method", "percentile", "--resamples", "20", "--seed", "1", "--json"], capsys)
    assert code == 0 and json.loads(out)["measures"]["cka"]["ci"]["method"] == "percentile"


@pytest.mark.skipif(not _has_inference(), reason="repalign_edu.inference (issue 10) is not in this build")
def test_layers_permutations_match_calibrate_layers(data, capsys):
    from repalign_edu import inference as inf

    d, X, Y = data
    np.savez(d / "pa.npz", s=X, t=X[:, :3])
    np.savez(d / "pb.npz", u=Y, v=Y ** 2, w=Y[:, :1])
    code, out, err = main(["layers", d / "pa.npz", d / "pb.npz", "--permutations", "49", "--seed", "2",
                           "--json"], capsys)
    assert code == 0, err
    c = json.loads(out)["calibration"]
    ref = inf.calibrate_layers([X, X[:, :3]], [Y, Y ** 2, Y[:, :1]], "cka", n_permutations=49, seed=2)
    assert c["pvalue"] == pytest.approx(ref.pvalue) and c["statistic"] == pytest.approx(ref.statistic)
    assert c["calibrated"] == pytest.approx(ref.calibrated)


# --------------------------------------------------------------------------
# HTML checking
# --------------------------------------------------------------------------
class HTMLCheck(HTMLParser):
    """Collects text, image sources and external references; fails on unbalanced tags."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.text_parts, self.images, self.external = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag in ("script", "link") and (a.get("src") or a.get("href")):
            self.external.append(a.get("src") or a.get("href"))
        if tag == "img" and not a.get("src", "").startswith("data:"):
            self.external.append(a.get("src"))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self):
        return " ".join(self.text_parts)

    @classmethod
    def parse(cls, page):
        p = cls()
        p.feed(page)
        p.close()
        assert page.lstrip().startswith("<!DOCTYPE html>")
        assert not p.stack, p.stack
        assert not p.external, p.external
        return p


def test_compare_report_holds_numbers(data, capsys):
    d, X, Y = data
    code, out, err = main(["compare", d / "a.npy", d / "b.npy", "--measures", "cka,mutual-knn:k=5", "--report",
                           d / "c.html"], capsys)
    assert code == 0, err
    page = HTMLCheck.parse((d / "c.html").read_text())
    assert f"{textbook_cka(X, Y):.4g}" in page.text
    assert f"{ra.mutual_knn(X, Y, k=5):.4g}" in page.text
    assert len(page.images) == 1 and page.images[0].startswith("data:image/png;base64,")
    assert "lesson 04" in page.text


def test_subprocess_broken_pipe_is_quiet(data, env):
    """`repalign ... | head -c 1`: the reader goes away; no traceback, exit 0."""
    d, X, Y = data
    p = subprocess.Popen([sys.executable, "-m", "repalign_edu", "compare", "a.npy", "b.npy",
                          "--measures", "cka,cka-rbf,mutual-knn:k=5"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=d)
    p.stdout.close()                                   # nobody reads the output
    err = p.stderr.read().decode()
    assert p.wait(timeout=300) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_jackknife_interval_reports_its_leave_one_out_values():
    X = np.random.default_rng(3).normal(size=(40, 4))
    Y = X + np.random.default_rng(4).normal(size=(40, 4))
    row = report.compare(X, Y, measures=["mutual-knn:k=3"], ci=0.9, n_resamples=50, seed=0).rows[0]
    ci = row.to_dict()["ci"]
    assert ci["method"] == "jackknife" and ci["n_resamples"] == 0 and ci["n_replicates"] == 40
    row = report.compare(X, Y, measures=["cka"], ci=0.9, n_resamples=50, seed=0).rows[0]
    assert row.to_dict()["ci"]["n_resamples"] == 50 == row.to_dict()["ci"]["n_replicates"]

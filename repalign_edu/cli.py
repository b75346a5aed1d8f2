"""The ``repalign`` command line (also ``python -m repalign_edu``).

Argument parsing only: each sub-command calls :mod:`repalign_edu.report`
(``compare``, ``layers``, ``stitch``) and prints the result, as a readable
table or (``--json``) as one JSON object on stdout.

Exit codes: 0 on success; 2 on bad input (files, columns, options), with one
line on stderr that names the file, column or argument, and no traceback;
130 on Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import sys

EXAMPLES = """\
examples:
  repalign compare image_features.csv sensor_features.csv --id-column part_id
  repalign compare a.npy b.npy --measures cka,cka-rbf,mutual-knn:k=20 --permutations 1000 --ci 0.95 --seed 0 --report report.html
  repalign layers net_a.npz net_b.npz --measure cka --png layers.png --report layers.html
  repalign stitch a.npy b.npy --labels y.npy --test-fraction 0.3 --seed 0 --json
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit code 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _csv_list(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def _add_input(p, *, tables=True):
    p.add_argument("A", help="representation A: .npy, .npz, .csv, .tsv, .parquet, .h5/.hdf5, .pt, .safetensors")
    p.add_argument("B", help="representation B (same formats), rows paired with A")
    p.add_argument("--key", help="array name inside .npz/.h5/.pt/.safetensors files (both A and B)")
    p.add_argument("--key-a", help="array name inside A (overrides --key)")
    p.add_argument("--key-b", help="array name inside B (overrides --key)")
    if tables:
        p.add_argument("--id-column", help="pair the rows of two tables by this ID column")
        p.add_argument("--columns", type=_csv_list, help="feature columns of both tables (comma-separated)")
        p.add_argument("--columns-a", type=_csv_list, help="feature columns of table A")
        p.add_argument("--columns-b", type=_csv_list, help="feature columns of table B")


def _add_common(p, *, report=True):
    p.add_argument("--drop-nan", action="store_true", help="drop rows with NaN or inf from both sides")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    if report:
        p.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars, no notes on stderr")
    p.add_argument("--progress", action="store_true",
                   help="show progress bars even when stderr is not a terminal")


def _nonneg_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {v}")
    return v


def _pos_int(text):
    v = _nonneg_int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {v}")
    return v


def _level(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1) such as 0.95; got {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1 (e.g. 0.95); got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``repalign`` (sub-commands compare, layers, stitch)."""
    from . import __version__
    from .report import ALIASES, DEFAULT_MEASURES

    parser = _Parser(prog="repalign", formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="How aligned are two representations of the same objects? "
                                 "Alignment measures, layer x layer comparisons and stitching "
                                 "(Insulla, Huang & Rosasco, ICLR 2025).",
                     epilog=EXAMPLES)
    parser.add_argument("--version", action="version", version=f"repalign-edu {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{compare,layers,stitch}", parser_class=_Parser)

    c = sub.add_parser("compare", help="alignment measures between two representations",
                       description="Alignment measures between two representations with paired rows, "
                                   "optionally with permutation p-values, calibrated scores and "
                                   "bootstrap intervals.")
    _add_input(c)
    c.add_argument("--measures", type=_csv_list, default=list(DEFAULT_MEASURES),
                   help=f"comma-separated measures (default {','.join(DEFAULT_MEASURES)}); shortcuts: "
                        f"{', '.join(ALIASES)}; or any registered name; options as name:key=value")
    c.add_argument("--permutations", type=_nonneg_int, default=0, metavar="N",
                   help="permutation test with N permutations: p-value and calibrated score")
    c.add_argument("--ci", type=_level, metavar="LEVEL", help="bootstrap interval at this level, e.g. 0.95")
    c.add_argument("--ci-method", choices=("auto", "percentile", "basic", "bca", "jackknife"),
                   default="auto", help="interval method for --ci (default auto: jackknife for "
                   "the k-NN measures, basic otherwise)")
    c.add_argument("--resamples", type=_pos_int, default=1000, metavar="N",
                   help="bootstrap resamples for --ci (default 1000)")
    c.add_argument("--seed", type=_nonneg_int, help="seed of permutations and resamples")
    c.add_argument("--backend", default="auto", choices=["auto", "numpy", "cpu", "cuda"])
    _add_common(c)

    l = sub.add_parser("layers", help="every layer of A against every layer of B",  # noqa: E741
                       description="Compare every array (layer) of A with every array of B: the "
                                   "layer x layer heat map and the best match of each layer. A and B are "
                                   ".npz/.h5/.pt/.safetensors files of named arrays (one per layer); a .npy "
                                   "file or a table counts as one layer named after the file.")
    _add_input(l, tables=False)
    l.add_argument("--measure", default="cka", help="one measure (default cka)")
    l.add_argument("--permutations", type=_nonneg_int, default=0, metavar="N",
                   help="calibrate the maximum over layer pairs with N permutations")
    l.add_argument("--seed", type=_nonneg_int)
    l.add_argument("--backend", default="auto", choices=["auto", "numpy", "cpu", "cuda"])
    l.add_argument("--png", metavar="FILE.png", help="write the heat map as a PNG")
    _add_common(l)

    s = sub.add_parser("stitch", help="can B's model use A's data? (linear stitching, Theorem 1)",
                       description="Fit a linear stitcher from A to B and a linear head on B on a "
                                   "training split; report the stitching misalignment, the risks, "
                                   "the Theorem 1 bound, KA and CKA on the held-out split.")
    _add_input(s)
    s.add_argument("--labels", required=True, metavar="FILE",
                   help="labels (class labels or targets), one per row of A, or a table with the ID column")
    s.add_argument("--labels-key", help="array name inside a labels container file")
    s.add_argument("--labels-column", help="label column of a labels table")
    s.add_argument("--test-fraction", type=_level, default=0.3, metavar="F")
    s.add_argument("--seed", type=_nonneg_int, default=0)
    s.add_argument("--ridge", type=float, default=0.0, help="ridge parameter of the stitcher (default 0)")
    _add_common(s)
    return parser


def _progress(args):
    if args.quiet:
        return False
    return True if args.progress else None


def _keys(args):
    return (args.key_a or args.key, args.key_b or args.key)


def _columns(args):
    return (args.columns_a or args.columns, args.columns_b or args.columns)


def _run(args):
    from . import report

    ka, kb = _keys(args)
    if args.command == "compare":
        ca, cb = _columns(args)
        return report.compare(args.A, args.B, measures=args.measures, permutations=args.permutations,
                              ci=args.ci, n_resamples=args.resamples, ci_method=args.ci_method, seed=args.seed,
                              backend=args.backend, key_A=ka, key_B=kb, id_column=args.id_column,
                              columns_A=ca, columns_B=cb, drop_nan=args.drop_nan,
                              progress=_progress(args))
    if args.command == "layers":
        if ka or kb:
            raise ValueError("--key does not apply to layers: every array of A and B is a layer.")
        res = report.layers(args.A, args.B, measure=args.measure, permutations=args.permutations,
                            seed=args.seed, backend=args.backend, drop_nan=args.drop_nan,
                            progress=_progress(args))
        if args.png:
            res.save_png(args.png)
        return res
    ca, cb = _columns(args)
    return report.stitch(args.A, args.B, args.labels, test_fraction=args.test_fraction, seed=args.seed,
                         ridge=args.ridge, key_A=ka, key_B=kb, key_labels=args.labels_key,
                         labels_column=args.labels_column, id_column=args.id_column, columns_A=ca,
                         columns_B=cb, drop_nan=args.drop_nan, progress=_progress(args))


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv=None) -> int:
    """Run ``repalign`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a parse error (already printed)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    prog = f"repalign {args.command}"
    try:
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _run(args)
            if args.report:
                result.save_html(args.report)
    except ValueError as exc:  # bad input: repalign_edu.io.InputError and the measures' checks
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    if not args.quiet:
        for note in result.notes:
            print(f"{prog}: note: {_one_line(note)}", file=sys.stderr)
        for w in {str(w.message) for w in caught}:
            print(f"{prog}: warning: {_one_line(w)}", file=sys.stderr)
    try:
        if args.json:
            print(json.dumps(result.to_dict(), allow_nan=False, default=_json_default))
        else:
            print(result)
            if args.report:
                print(f"\nreport written to {args.report}")
            if getattr(args, "png", None):
                print(f"heat map written to {args.png}")
        sys.stdout.flush()
    except BrokenPipeError:   # the reader went away (e.g. "| head"): stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def console_main() -> None:  # pragma: no cover - the console-script entry point
    """Entry point of the ``repalign`` console script."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    console_main()

"""The `codesign paper` verb: regenerate the paper's tables and figures (experiments/run_all.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codesign.errors import CodesignError

#: The source checkout holding experiments/ (an editable install runs codesign from there).
_REPO_ROOT = Path(__file__).resolve().parents[1]


def cmd_paper(args: argparse.Namespace) -> None:
    """Run experiments/run_all.py into `args.out` (default experiments/results), all outputs or none.

    Raises CodesignError when the experiments package is not importable (an installed wheel has no
    experiments/: run from a source checkout).
    """
    if (_REPO_ROOT / "experiments" / "run_all.py").is_file() and str(_REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(_REPO_ROOT))
    try:
        from experiments.run_all import run_all
    except ImportError as exc:  # experiments/ lives in the source tree, not in an installed wheel
        raise CodesignError(
            f"cannot import the experiments package ({exc}); run from a source checkout: "
            "python -m experiments.run_all"
        ) from None
    from codesign.atomic import atomic_dir

    out = Path(args.out) if args.out else _REPO_ROOT / "experiments" / "results"
    with atomic_dir(out, merge=True) as staging:  # the tables and figures appear together or not at all
        run_all(staging, quick=args.quick, verbose=not args.quiet, quiet=args.quiet)
    if not args.quiet:
        print(f"outputs moved into {out}")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `paper` subparser."""
    p = sub.add_parser("paper", help="regenerate the paper's tables and figures (experiments/results)")
    p.add_argument("--quick", action="store_true", help="reduced models and sweeps (a quick check)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: experiments/results); "
                   "the files are written to a temporary sibling and moved in when all are done")  # fmt: skip
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress or summary lines (progress is shown only on a terminal)",
    )
    p.set_defaults(func=cmd_paper)

"""Sweep the named hostile inputs of issue 16 (tests/hostile_cases.py) through `codesign` and count
the outcomes by class: one clear line, traceback, several lines, hang, accepted, partial output.

Each case runs in a forked child (codesign and torch imported once, in the parent) with a wall-clock
limit and an address-space limit, so a hang or a runaway allocation is measured, not suffered.

    python experiments/hostile_sweep.py [--timeout 120] [--mem-gb 6] [--json out.json]

Needs root for the full-disk and read-only cases (it mounts 64 KiB tmpfs filesystems).
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import torch  # noqa: E402,F401
from hostile_cases import CASES, Case, corrupt_cache, leftovers, prepared  # noqa: E402

import codesign.cli  # noqa: E402,F401  (imported before forking)


def _child(case: Case, argv: list[str], d: Path, mem_gb: float, out_path: Path) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (int(mem_gb * 2**30), int(mem_gb * 2**30)))
    os.environ["CODESIGN_CACHE_DIR"] = str(d / "cache")
    os.environ["CODESIGN_LOG_DIR"] = str(d / "logs")
    os.chdir(d)
    from codesign.cli import main

    if case.special == "cache":
        with open(os.devnull, "w") as null:
            sys.stdout = sys.stderr = null
            main(argv)
        corrupt_cache(d / "cache")
    out, err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc(file=err)
        code = 1
    out_path.write_text(
        json.dumps({"code": code, "stdout": out.getvalue()[-2000:], "stderr": err.getvalue()[-4000:]})
    )
    os._exit(0)


def classify(case: Case, res: dict[str, Any] | None, left: list[str]) -> str:
    """The outcome class of one case from its child's result (None: it hung) and the files it left behind."""
    if res is None:
        return "hang"
    if res.get("killed"):
        return "killed (memory)"
    err = res["stderr"]
    if "Traceback (most recent call last)" in err:
        return "traceback"
    if left:
        return "partial output"
    lines = [ln for ln in err.strip().splitlines() if ln]
    if case.exit == 0:
        return "ok" if res["code"] == 0 else "refused a valid input"
    if res["code"] == 0:
        return "accepted silently"
    if len(lines) != 1 or not lines[0].startswith("codesign: error: "):
        return "not one line"
    if res["code"] == 1:
        return "internal-error line"  # one line naming the crash log: still a bug to fix
    if res["code"] != case.exit:
        return "one line, other status"
    return "one clear line"


def run_case(case: Case, timeout: float, mem_gb: float) -> dict[str, Any]:
    """Run one case in a forked child under a `timeout` (s, wall clock) and `mem_gb` (GiB address space)
    limit; returns its id, group, outcome class, exit status, wall seconds, leftovers and stderr tail."""
    with tempfile.TemporaryDirectory(prefix=f"hostile-{case.id}-") as tmp:
        d = Path(tmp)
        with prepared(case, d) as argv:
            before = {str(p.relative_to(d)) for p in d.rglob("*")}
            result_file = Path(tempfile.mkstemp(prefix="res-")[1])
            t0 = time.time()
            pid = os.fork()
            if pid == 0:
                try:
                    _child(case, argv, d, mem_gb, result_file)
                finally:
                    os._exit(99)
            res: dict[str, Any] | None = None
            while time.time() - t0 < timeout:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    text = result_file.read_text()
                    res = json.loads(text) if text else {"killed": True, "status": status}
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            result_file.unlink(missing_ok=True)
            wall = time.time() - t0
            left = leftovers(case, d, before) if res is not None else []
    outcome = classify(case, res, left)
    return {
        "id": case.id,
        "group": case.group,
        "outcome": outcome,
        "expected_exit": case.exit,
        "code": None if res is None else res.get("code"),
        "wall_s": round(wall, 1),
        "left": left,
        "stderr": (res or {}).get("stderr", "")[-600:],
    }


def main() -> None:
    """Run every case (or --only those matching), print one line each and the outcome table by class."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--mem-gb", type=float, default=6.0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--only", default=None, help="substring of case ids")
    args = ap.parse_args()
    rows = []
    for case in CASES:
        if args.only and args.only not in case.id:
            continue
        r = run_case(case, args.timeout, args.mem_gb)
        rows.append(r)
        print(
            f"{r['id']:32s} {r['outcome']:22s} exit={r['code']} ({r['wall_s']} s) "
            f"{r['stderr'].strip().splitlines()[-1][:150] if r['stderr'].strip() else ''}",
            flush=True,
        )
    by: collections.defaultdict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in rows:
        by[r["group"]][r["outcome"]] += 1
    print("\n| class | cases | " + " | ".join(sorted({r["outcome"] for r in rows})) + " |")
    outcomes = sorted({r["outcome"] for r in rows})
    for g, c in by.items():
        print(f"| {g} | {sum(c.values())} | " + " | ".join(str(c.get(o, 0)) for o in outcomes) + " |")
    total = collections.Counter(r["outcome"] for r in rows)
    print(f"| all | {len(rows)} | " + " | ".join(str(total.get(o, 0)) for o in outcomes) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""Waiting on events, not on time: the tests' only clock is a hang guard far above any slow machine."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

HANG_GUARD = 1200  # seconds; only for a hang, never for a slow machine


def wait_for(predicate: Callable[[], bool], proc: subprocess.Popen, what: str) -> None:
    """Poll until `predicate()` holds; fail if `proc` died first (with its stderr tail) or after HANG_GUARD s."""
    start = time.monotonic()
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(
                f"process exited ({proc.returncode}) before {what}: {proc.stderr.read().decode()[-500:]}"
            )
        if time.monotonic() - start > HANG_GUARD:
            raise AssertionError(f"hang guard: no {what} after {HANG_GUARD} s")


def run_until_then_kill(
    argv: list[str], cwd: str | os.PathLike[str], predicate: Callable[[], bool], what: str
) -> None:
    """Start `argv`, wait (`wait_for`) until `predicate()` holds, then SIGKILL it: a kill at an event, not a time."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(predicate, proc, what)
    finally:
        if proc.poll() is None:  # else it already exited: let wait_for's error (with its stderr) through
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

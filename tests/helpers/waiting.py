"""Waiting on events, not on time: the tests' only clock is a hang guard far above any slow machine."""

from __future__ import annotations

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

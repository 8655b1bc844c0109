"""Progress lines with elapsed time for commands that take more than a few seconds.

One line per step on standard error, ``codesign paper: [2/4] per_layer ... done in 3.1 s (12.4 s elapsed)``,
so standard output stays clean for results. Quiet when asked (`--quiet`) or when standard error is not a
terminal (a log file or CI gets no chatter). Elapsed times are wall-clock seconds (what a waiting user
sees), from `time.monotonic`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Announces numbered steps of one command on `stream` (default: standard error)."""

    def __init__(self, command: str, total: int, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.command = command
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = not quiet and bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.done = 0

    def _say(self, text: str) -> None:
        if self.enabled:
            print(f"{self.command}: {text}", file=self.stream, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Announce step `name`, run the body, then report its time and the total elapsed."""
        self.done += 1
        label = f"[{self.done}/{self.total}] {name}"
        self._say(f"{label} ...")
        t0 = time.monotonic()
        yield
        now = time.monotonic()
        self._say(f"{label} done in {now - t0:.1f} s ({now - self.start:.1f} s elapsed)")

    def elapsed(self) -> float:
        """Wall-clock seconds since the command started."""
        return time.monotonic() - self.start

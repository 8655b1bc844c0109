"""Progress lines for long CLI steps (`codesign hls`, `codesign fit --plan`): '[  12.3 s] step ...' on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def progress_printer(quiet: bool) -> Callable[[str], None] | None:
    """A progress callback writing '[  12.3 s] step' lines to stderr (seconds since this call); None when
    quiet or stderr is no TTY, so piped and JSON output stay clean."""
    if quiet or not sys.stderr.isatty():
        return None
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f} s] {msg} ...", file=sys.stderr, flush=True)

    return say

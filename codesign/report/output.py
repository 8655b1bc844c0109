"""Where a verb's text goes: standard output, or a file written atomically (`codesign.atomic`, the one
writer for every output; its names are re-exported here for old imports)."""

from __future__ import annotations

import sys

from codesign.atomic import atomic_dir, write_bytes_atomic, write_text_atomic

__all__ = ["atomic_dir", "emit", "write_bytes_atomic", "write_text_atomic"]


def emit(text: str, out: str | None) -> None:
    """Write `text` to the file `out` (atomically; 'wrote PATH' on stderr) or, when `out` is None, to stdout.

    Raises what `write_text_atomic` raises (CodesignError subclasses for unwritable paths)."""
    if out:
        path = write_text_atomic(out, text)
        print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)

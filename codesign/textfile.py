"""Read a text file the user named: regular files only, bounded size, UTF-8 (a BOM is accepted), and
every failure as one line naming the file, the problem and the fix.

A FIFO or a device (``--hw /dev/zero``) would block or never end, so only regular files are read;
files over `MAX_BYTES` are refused before reading. Other encodings are named when recognisable by
their byte-order mark (UTF-16/32) and refused with the fix (save as UTF-8).
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

from codesign.errors import CodesignError, InputError, os_error

#: Largest input text file read (16 MiB): hardware/design/dataflow YAML, cfg and CSV files are a few KiB.
MAX_BYTES = 16 * 2**20

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_text_file(
    path: str | os.PathLike[str],
    what: str = "file",
    error: type[CodesignError] = InputError,
    max_bytes: int = MAX_BYTES,
) -> str:
    """The text of `path` decoded as UTF-8 (a leading BOM dropped).

    `what` names the file in messages ("hardware file", "design file"); `error` is the class raised
    for a bad file (default InputError, exit 4). Raises `error` for a missing file, a directory, a
    FIFO/device, a file over `max_bytes`, or bytes that are not UTF-8; EnvironmentFailure (exit 5) for
    a permission or I/O failure.
    """
    p = Path(os.fsdecode(path))
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"no such {what} {p}; check the path") from None
    except OSError as exc:
        raise os_error(exc, "read", p) from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{what} {p} is a directory; give a file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {p} is not a regular file (a device, FIFO or socket); give a file")
    if st.st_size > max_bytes:
        raise error(f"{what} {p} is {st.st_size:,} bytes, over the {max_bytes:,}-byte limit for a text input")
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise os_error(exc, "read", p) from None
    if len(data) > max_bytes:
        raise error(f"{what} {p} is over the {max_bytes:,}-byte limit for a text input")
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise error(f"{what} {p} is {name} text; save it as UTF-8 and try again")
    nul = data.find(b"\0", 0, 8192)
    if nul >= 0:
        raise error(
            f"{what} {p} has NUL bytes (the first at offset {nul}): binary, or UTF-16 without a byte-order "
            "mark; give a UTF-8 text file"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"{what} {p}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None

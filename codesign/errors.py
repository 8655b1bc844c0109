"""User-facing errors and the exit status of each class.

Each error carries one line that names the problem, where it is and the fix
(`<what>, <where>; <fix>`); the CLI prints it as `codesign: error: ...` and exits with the class's
status, without a traceback. Anything else that escapes a verb is a bug: `codesign.cli.main` writes
its traceback to a log file and says so.

Exit statuses (the table in the README; BSD sysexits.h has the same split, with other numbers):

====  ================  ===================================================================
0     success
1     internal error    a bug in codesign: the traceback goes to a log file
2     usage             a bad command line: unknown verb/option/name, a value out of range,
                        an output path that is a directory or a device, options that clash
3     does not fit      a valid request the design cannot meet: an FPGA part too small, a layer
                        the PE array cannot map, an input too small for the network, a model
                        over --max-memory
4     bad input file    a file the user named is missing, unreadable, not text in its encoding,
                        not valid YAML/CSV/INI, or holds values out of range
5     environment       the machine refused: disk full, read-only filesystem, permission denied,
                        out of memory, a tool (compiler, HLS) missing
130   interrupted       Ctrl-C (SIGINT)
====  ================  ===================================================================
"""

from __future__ import annotations

import errno
import os

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_DOES_NOT_FIT = 3
EXIT_INPUT = 4
EXIT_ENVIRONMENT = 5
EXIT_INTERRUPTED = 130

#: (status, class name, meaning) rows, the table printed in the README.
EXIT_CODES: tuple[tuple[int, str, str], ...] = (
    (EXIT_OK, "success", ""),
    (EXIT_INTERNAL, "internal error", "a bug in codesign; the traceback is in the log file named"),
    (EXIT_USAGE, "usage", "bad command line: unknown verb/option/name, value out of range, bad output path"),
    (
        EXIT_DOES_NOT_FIT,
        "does not fit",
        "FPGA part too small, unmappable layer, input too small, over --max-memory",
    ),
    (
        EXIT_INPUT,
        "bad input file",
        "a named file missing, unreadable, wrongly encoded, malformed or out of range",
    ),
    (
        EXIT_ENVIRONMENT,
        "environment",
        "disk full, read-only filesystem, permission denied, out of memory, tool missing",
    ),
    (EXIT_INTERRUPTED, "interrupted", "Ctrl-C"),
)


class CodesignError(Exception):
    """Base class for every error a user can cause (bad name, bad file, unmappable layer, no fit).

    The message is one line. `exit_code` is the class's status (2, usage, unless a subclass says otherwise).
    """

    exit_code = EXIT_USAGE


class UsageError(CodesignError):
    """A bad command line: an unknown option, a value of the wrong type or out of range, clashing options."""


class InputError(CodesignError):
    """A file the user named that cannot be read, decoded or parsed, or that holds invalid values (exit 4)."""

    exit_code = EXIT_INPUT


class DoesNotFitError(CodesignError):
    """A valid request the design cannot meet: too small an input, too much memory, too small a part (exit 3)."""

    exit_code = EXIT_DOES_NOT_FIT


class EnvironmentFailure(CodesignError):
    """The machine refused: disk full, read-only filesystem, permission denied, no memory, tool missing (exit 5)."""

    exit_code = EXIT_ENVIRONMENT


class UnknownModelError(CodesignError):
    """A model name not in the zoo."""


class UnsupportedOpError(CodesignError):
    """A torch op or module the IR (or a backend) cannot represent."""


class HardwareConfigError(InputError):
    """A malformed or out-of-range hardware description (or a hardware name that names no file)."""


class MappingError(DoesNotFitError):
    """A layer the simulator cannot map onto the chosen hardware (exit 3: the layer does not fit)."""


class FitError(DoesNotFitError):
    """A design that does not fit the chosen FPGA part (exit 3, so scripts can tell it from bad input)."""


class OutputExistsError(CodesignError):
    """An output directory that would be overwritten without --force."""


class CompressionError(CodesignError):
    """A bad compression request: density out of range, unknown rounding mode, unknown layer, ..."""


# ---- message helpers ----------------------------------------------------------------------------------

#: What to do about an OS error, by errno.
_OS_FIXES: dict[int, str] = {
    errno.ENOSPC: "free space there or choose another location",
    errno.EDQUOT: "free space (disk quota exceeded) or choose another location",
    errno.EROFS: "the filesystem is read-only; choose a writable location",
    errno.EACCES: "check the permissions or choose another location",
    errno.EPERM: "check the permissions or choose another location",
    errno.EISDIR: "it is a directory; give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a directory; fix the path",
    errno.ENOENT: "check the path (a directory on it does not exist)",
    errno.ENAMETOOLONG: "use a shorter path",
    errno.ELOOP: "the path has a symbolic-link loop; fix the link",
    errno.EEXIST: "remove it or choose another name",
    errno.EMFILE: "too many open files; raise `ulimit -n`",
    errno.ENOMEM: "not enough memory; close other programs or use a smaller input",
    errno.EIO: "the device reported an I/O error; check the disk",
    errno.EXDEV: "choose a location on the same filesystem",
}

#: errnos that are the user's path, not the machine (usage/input rather than environment).
_PATH_ERRNOS = {errno.EISDIR, errno.ENOTDIR, errno.ENOENT, errno.ENAMETOOLONG, errno.ELOOP, errno.EEXIST}


def excerpt(value: object, limit: int = 60) -> str:
    """`repr`-like text of a user value, on one line and at most `limit` characters (then '...')."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: max(0, limit - 3)] + "..."
    return repr(text) if isinstance(value, str) else text


def os_error(
    exc: OSError, action: str = "write", path: str | os.PathLike[str] | None = None
) -> CodesignError:
    """A one-line CodesignError for an OSError on a path: `cannot <action> <path>: <reason> (ENAME); <fix>`.

    Path problems (a directory where a file should be, a missing directory) are usage errors (2) on
    outputs and input errors (4) on inputs; a full disk, a read-only filesystem, a permission refusal are
    environment errors (5).
    """
    where = path if path is not None else (exc.filename or "")
    reason = exc.strerror or str(exc) or type(exc).__name__
    name = errno.errorcode.get(exc.errno or 0, "")
    fix = _OS_FIXES.get(exc.errno or -1, "check the path and the disk")
    message = f"cannot {action} {os.fsdecode(where) if where else 'a file'}: {reason}"
    message += f" ({name}); {fix}" if name else f"; {fix}"
    message = " ".join(message.split())
    if exc.errno in _PATH_ERRNOS:
        return (InputError if action == "read" else UsageError)(message)
    return EnvironmentFailure(message)

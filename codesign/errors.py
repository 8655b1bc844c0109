"""User-facing errors. Each carries one line that names the problem and the fix; the CLI prints it
as `codesign: error: ...` and exits non-zero without a traceback."""

from __future__ import annotations


class CodesignError(Exception):
    """Base class for every error a user can cause (bad name, bad file, unmappable layer, no fit)."""

    exit_code = 2


class UnknownModelError(CodesignError):
    """A model name not in the zoo."""


class UnsupportedOpError(CodesignError):
    """A torch op or module the IR (or a backend) cannot represent."""


class HardwareConfigError(CodesignError):
    """A malformed or out-of-range hardware description."""


class MappingError(CodesignError):
    """A layer the simulator cannot map onto the chosen hardware."""


class FitError(CodesignError):
    """A design that does not fit the chosen FPGA part (exit 3, so scripts can tell it from bad input)."""

    exit_code = 3


class OutputExistsError(CodesignError):
    """An output directory that would be overwritten without --force."""


class CompressionError(CodesignError):
    """A bad compression request: density out of range, unknown rounding mode, unknown layer, ..."""

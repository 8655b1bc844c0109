"""Where the shipped data files are: the one place that knows the package layout.

A wheel carries `hw_models/` as `codesign/hw_models/` and `tests/data/fpga_reports/` as
`codesign/fpga_reports/` (copied there by the build hook in setup.py); a source checkout or editable
install has them in the repository.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def hw_models_dir() -> Path:
    """The directory of the shipped hardware descriptions (`<name>.yaml`, `energy/`, `fpga/`).

    Read with importlib.resources from the installed package; in a source tree (editable install,
    where the build hook does not run) the repository's top-level `hw_models/`.
    """
    packaged = Path(str(files("codesign") / "hw_models"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "hw_models"


def fpga_reports_dir() -> Path:
    """The stored hls4ml synthesis reports and their manifest (`manifest.yaml`, `codesign fit --validate`).

    A wheel carries them as `codesign/fpga_reports/` (setup.py's build hook); a source tree (editable
    install) has them at `tests/data/fpga_reports/`, where the tests read them too.
    """
    packaged = Path(str(files("codesign") / "fpga_reports"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "tests" / "data" / "fpga_reports"

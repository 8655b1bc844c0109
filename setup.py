"""Build hook: ship the top-level `hw_models/` inside the wheel as `codesign/hw_models/`, and the stored
synthesis reports `tests/data/fpga_reports/` (test data and `codesign fit --validate`'s input) as
`codesign/fpga_reports/`.

The project layout keeps hardware descriptions at the top level (`hw_models/`, edited by users and
documented in `hw_models/README.md`); a wheel must still carry them. `codesign.resources.hw_models_dir`
(and `fpga_reports_dir`) read the packaged copy with importlib.resources and fall back to the source tree
for editable installs.
Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HW_MODELS = Path(__file__).resolve().parent / "hw_models"
FPGA_REPORTS = Path(__file__).resolve().parent / "tests" / "data" / "fpga_reports"


class BuildPyWithHardware(build_py):
    """`build_py` that also copies hw_models/**/*.yaml and README.md into build_lib/codesign/hw_models and the
    stored synthesis reports into build_lib/codesign/fpga_reports."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the source tree's hw_models/
        target = Path(self.build_lib) / "codesign" / "hw_models"
        for source in sorted(HW_MODELS.rglob("*")):
            if source.is_file() and source.suffix in (".yaml", ".md"):
                dest = target / source.relative_to(HW_MODELS)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)
        reports = Path(self.build_lib) / "codesign" / "fpga_reports"
        for source in sorted(FPGA_REPORTS.rglob("*")):
            if source.is_file() and source.suffix in (".yaml", ".rpt", ".json", ".txt"):
                dest = reports / source.relative_to(FPGA_REPORTS)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)


setup(cmdclass={"build_py": BuildPyWithHardware})

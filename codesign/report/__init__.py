"""Tables and figures: one place that turns results into text and images."""

from codesign.report.tables import FORMATS, Column, render

__all__ = ["FORMATS", "Column", "render"]

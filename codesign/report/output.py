"""Kept for old imports: the atomic writer lives in `codesign.atomic` (one writer for every output)."""

from __future__ import annotations

from codesign.atomic import atomic_dir, write_bytes_atomic, write_text_atomic

__all__ = ["atomic_dir", "write_bytes_atomic", "write_text_atomic"]

"""Test-wide settings: keep the traced-graph cache in a temporary directory, never the user's home."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("CODESIGN_CACHE_DIR", tempfile.mkdtemp(prefix="codesign-test-cache-"))

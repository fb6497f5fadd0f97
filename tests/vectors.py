"""Where the known-answer vectors live, and what happens when they are missing.

The vectors are read from ``../shared/vectors`` beside the project (never copied
into it). A clone elsewhere skips those tests with a clear reason; under CI
(``CI=true``) a missing folder is a failure, so the known-answer tests cannot
silently stop running.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VECTORS = Path(os.environ.get("ALERTNET_VECTORS", PROJECT_ROOT.parent / "shared" / "vectors"))


def vectors_dir(*parts: str) -> Path:
    """Return a folder of the shared vectors, skipping (or failing under CI) if absent."""
    path = VECTORS.joinpath(*parts)
    if not path.exists():
        message = f"known-answer vectors not found at {path} (expected ../shared/vectors)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def load_json(*parts: str) -> Any:
    path = vectors_dir(*parts[:-1]) / parts[-1]
    return json.loads(path.read_text())

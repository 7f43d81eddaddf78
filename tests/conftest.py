from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so that CI passes or
# fails on the code alone; CALSTATION_HYPOTHESIS=explore draws new ones each
# run to look for what those miss (keep what it finds as an @example).
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("CALSTATION_HYPOTHESIS", "ci"))

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def calstation_cmd() -> list[str]:
    """The installed console script, as a user runs it."""
    exe = Path(sys.executable).parent / ("calstation.exe" if os.name == "nt" else "calstation")
    return [str(exe)]

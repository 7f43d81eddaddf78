from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def calstation_cmd() -> list[str]:
    """The installed console script, as a user runs it."""
    exe = Path(sys.executable).parent / ("calstation.exe" if os.name == "nt" else "calstation")
    return [str(exe)]

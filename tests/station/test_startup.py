"""The light commands start without the heavy libraries (the time itself is
measured by benchmarks/startup.py, not here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("numpy", "h5py", "GTC", "PyQt6", "reportlab", "pyvisa", "serial", "scipy")

_PROBE = """
import json, sys
from station.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["run", "--help"], ["demo", "--help"],
                                  ["verify", "--help"], ["certificate", "--help"], ["inspect", "--help"]])
def test_light_commands_import_no_heavy_library(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    loaded = {m.split(".")[0] for m in report["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_probe_sees_heavy_imports_when_a_command_needs_them(tmp_path) -> None:
    """The check above can fail: `inspect` of a run file does load h5py."""
    done = subprocess.run([sys.executable, "-c", _PROBE, "inspect", str(tmp_path / "none.h5")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 1
    assert "h5py" in {m.split(".")[0] for m in report["modules"]}

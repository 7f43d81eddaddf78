"""The direction of imports is the architecture (DESIGN.md): gui -> station ->
drivers; station never imports a concrete driver; nothing imports gui;
drivers never import station; library code never prints or sleeps. No
allow-list: the exceptions the core once needed are registries now."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The modules of `drivers` that are not a model's: what the core may use.
GENERIC = {
    "drivers", "drivers.roles", "drivers.datasheet", "drivers.registry", "drivers.errors", "drivers.clock",
    "drivers.transport", "drivers.base", "drivers.sim", "drivers.sim.bench", "drivers.sim.base",
    "drivers.sim.serve", "drivers.sim.faults",
}


def _imports(package: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def test_station_imports_no_concrete_driver_simulator_procedure_or_gui() -> None:
    """station gets instruments by capability through the registry, the
    simulated bench from topology data, procedures and the GUI through
    entry points: it imports none of them."""
    for path, names in _imports("station").items():
        drivers = sorted(n for n in names if n.startswith("drivers") and n not in GENERIC)
        assert not drivers, f"{path} imports {drivers}"
        upward = sorted(n for n in names if n.split(".")[0] in ("gui", "procedures"))
        assert not upward, f"{path} imports {upward}"


def test_procedures_use_only_the_station_and_capabilities() -> None:
    for path, names in _imports("procedures").items():
        bad = sorted(n for n in names if n.startswith(("drivers", "gui")) and n != "drivers.roles")
        assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("package", ["station", "drivers", "procedures"])
def test_nothing_imports_gui(package: str) -> None:
    for path, names in _imports(package).items():
        assert not any(n == "gui" or n.startswith("gui.") for n in names), path


def test_generic_driver_modules_import_no_model() -> None:
    """The registry, the datasheet loader and the simulated bench name
    models as data (strings, files), never by import."""
    for path, names in _imports("drivers").items():
        module = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        if module in GENERIC:
            bad = sorted(n for n in names if n.startswith("drivers") and n not in GENERIC)
            assert not bad, f"{path} imports {bad}"


def test_drivers_never_import_station() -> None:
    for path, names in _imports("drivers").items():
        assert not any(n == "station" or n.startswith("station.") for n in names), path


def test_station_imports_no_qt() -> None:
    for path, names in _imports("station").items():
        assert not any(n.startswith(("PyQt6", "pyqtgraph")) for n in names), path


@pytest.mark.parametrize("package", ["station", "drivers", "procedures", "gui"])
def test_library_code_never_prints_reads_stdin_or_sleeps(package: str) -> None:
    # the terminal front end; the bench's clock
    allowed = {"station/cli.py", "station/cli_register.py", "station/cli_discover.py", "drivers/clock.py"}
    for path in (ROOT / package).rglob("*.py"):
        rel = str(path.relative_to(ROOT))
        if rel in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
                assert name not in ("print", "input"), f"{rel}:{node.lineno} calls {name}()"
                assert (owner, name) != ("time", "sleep"), f"{rel}:{node.lineno} calls time.sleep()"

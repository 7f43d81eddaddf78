"""Finds procedures without importing them by name: a registry.

Procedures come from the packages registered under the entry point group
``calstation.procedures`` (calstation registers its own ``procedures``
package; a lab's package registers itself the same way), from the folders
listed in the ``CALSTATION_PROCEDURES`` environment variable (a lab's own
procedures, one ``.py`` file each, no editing of the core), or from a
file path given on the command line."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from drivers.datasheet import INTERVALS
from station.errors import ProcedureError
from station.metrology.budget import MODELS
from station.procedure import Procedure, Role

_REQUIRED = ("name", "version", "title", "method", "roles")
#: The entry point group procedure packages register under.
GROUP = "calstation.procedures"
#: Folders of a lab's own procedures (os.pathsep-separated).
FOLDERS_VARIABLE = "CALSTATION_PROCEDURES"


def _procedures_in(module: ModuleType, abstract: bool = False) -> list[type[Procedure]]:
    """The procedure classes a module defines (``abstract``: also those
    that leave a method unwritten, to be refused by `validate`)."""
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Procedure) and obj is not Procedure
        and obj.__module__ == module.__name__ and (abstract or not inspect.isabstract(obj))
    ]


def available() -> dict[str, type[Procedure]]:
    """Every procedure in the library, by name: the registered packages'
    and the procedure folders'."""
    out: dict[str, type[Procedure]] = {}
    for ep in importlib.metadata.entry_points(group=GROUP):
        try:
            package = importlib.import_module(ep.value)
        except Exception as e:
            raise ProcedureError(f"procedure package {ep.value} (entry point {ep.name}) does not load "
                                 f"({type(e).__name__}: {e}); fix or uninstall it") from None
        modules = (pkgutil.iter_modules(package.__path__, package.__name__ + ".")
                   if hasattr(package, "__path__") else [])
        for info in modules:
            for cls in _procedures_in(importlib.import_module(info.name)):
                out[cls.name] = cls
        for cls in _procedures_in(package):
            out[cls.name] = cls
    for folder in folders():
        for path in sorted(folder.glob("*.py")):
            if not path.name.startswith("_"):
                cls = _load_file(path)
                out[cls.name] = cls
    return out


def folders() -> list[Path]:
    """The folders of a lab's own procedures (`FOLDERS_VARIABLE`)."""
    text = os.environ.get(FOLDERS_VARIABLE, "")
    out = []
    for part in text.split(os.pathsep):
        if part.strip():
            folder = Path(part.strip())
            if not folder.is_dir():
                raise ProcedureError(f"{FOLDERS_VARIABLE} names {folder}, which is not a folder; fix the variable")
            out.append(folder)
    return out


def validate(cls: type[Procedure], where: str) -> None:
    missing = [a for a in _REQUIRED if not hasattr(cls, a)] + sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise ProcedureError(f"{where}: procedure {cls.__name__} lacks {', '.join(missing)}; start from a "
                             "template of station/templates.py, see docs/procedures.md")
    for role, need in cls.roles.items():
        try:
            caps = Role.of(need).needs
        except Exception:
            caps = ()
        if not caps or not all(isinstance(c, type) for c in caps):
            raise ProcedureError(f"{where}: role {role!r} of {cls.__name__} must name capabilities from "
                                 "drivers.roles (a Role, a capability or a tuple of them)")
    for what, role in (("dut_role", cls.dut_role), ("standard_role", cls.standard_role)):
        if role not in cls.roles:
            raise ProcedureError(f"{where}: {cls.__name__}.{what} names role {role!r}, which is not one of "
                                 f"its roles ({', '.join(cls.roles)}); fix the procedure")
    if cls.measurement not in MODELS:
        raise ProcedureError(f"{where}: {cls.__name__}.measurement {cls.measurement!r} is not one of "
                             f"{', '.join(MODELS)}")
    if cls.dut_interval not in INTERVALS:
        raise ProcedureError(f"{where}: {cls.__name__}.dut_interval {cls.dut_interval!r} is not one of "
                             f"{', '.join(INTERVALS)}")


def _load_file(path: Path) -> type[Procedure]:
    if not path.is_file():
        raise ProcedureError(f"{path}: no such procedure file")
    name = f"calstation_user_procedure_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ProcedureError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise ProcedureError(f"{path}: the procedure does not load ({type(e).__name__}: {e}); fix it") from None
    found = _procedures_in(module) or _procedures_in(module, abstract=True)
    if len(found) != 1:
        raise ProcedureError(f"{path}: expected one Procedure subclass, found {len(found)}")
    return found[0]


def load(spec: str, **options: Any) -> Procedure:
    """A procedure instance from a library name or a path to a ``.py`` file."""
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        cls = _load_file(Path(spec))
        where = spec
    else:
        procs = available()
        if spec not in procs:
            raise ProcedureError(
                f"unknown procedure {spec!r}; available: {', '.join(sorted(procs))} "
                "(or give the path to a .py file)"
            )
        cls = procs[spec]
        where = f"procedure {spec}"
    validate(cls, where)
    try:
        procedure = cls(**options)
    except TypeError as e:
        raise ProcedureError(f"{where}: bad options {options} ({e})") from None
    procedure.points()  # a malformed points table is refused before anything is opened
    return procedure

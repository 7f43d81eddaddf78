"""Finds procedures: by name in the `procedures` package, or by file path."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from station.errors import ProcedureError
from station.procedure import Procedure, SpecRef

_REQUIRED = ("name", "version", "title", "method", "roles", "dut_spec")


def _procedures_in(module: ModuleType) -> list[type[Procedure]]:
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Procedure) and obj is not Procedure
        and obj.__module__ == module.__name__ and not inspect.isabstract(obj)
    ]


def available() -> dict[str, type[Procedure]]:
    """Every procedure in the library, by name."""
    import procedures

    out: dict[str, type[Procedure]] = {}
    for info in pkgutil.iter_modules(procedures.__path__, "procedures."):
        for cls in _procedures_in(importlib.import_module(info.name)):
            out[cls.name] = cls
    return out


def validate(cls: type[Procedure], where: str) -> None:
    missing = [a for a in _REQUIRED if not hasattr(cls, a)]
    if missing:
        raise ProcedureError(f"{where}: procedure {cls.__name__} lacks {', '.join(missing)}; "
                             "see docs/procedures.md")
    if not isinstance(cls.dut_spec, SpecRef):
        raise ProcedureError(f"{where}: {cls.__name__}.dut_spec must be a SpecRef")
    for role in (cls.dut_role, cls.standard_role):
        if role not in cls.roles:
            raise ProcedureError(f"{where}: {cls.__name__} names role {role!r} but its roles are "
                                 f"{sorted(cls.roles)}")


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
    found = _procedures_in(module)
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
        return cls(**options)
    except TypeError as e:
        raise ProcedureError(f"{where}: bad options {options} ({e})") from None

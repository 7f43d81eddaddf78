"""What an instrument costs in lines, per file kind: driver, simulator,
datasheet, procedure, tests, and the topology of its simulated bench.

    .venv/bin/python benchmarks/family_cost.py

"code" counts lines that are not blank, not comments and not docstrings
(Python), or not blank and not comments (TOML); "lines" is ``wc -l``. The
baseline is the 34401A, the first family the station had.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: model -> files by kind (paths from the repository root)
MODELS: dict[str, dict[str, list[str]]] = {
    "Keysight 34401A (baseline, 5 functions)": {
        "driver": ["drivers/keysight/k34401a.py"], "simulator": ["drivers/keysight/k34401a_sim.py"],
        "datasheet": ["drivers/keysight/k34401a.toml"],
        "procedure": ["procedures/keysight_34401a_dcv.py", "procedures/keysight_34401a_basic.py"],
        "tests": ["tests/drivers/keysight/test_34401a.py"], "topology": ["drivers/sim/benches/dmm-calibrator.toml"]},
    "Keysight 3458A (new family)": {
        "driver": ["drivers/keysight/k3458a.py"], "simulator": ["drivers/keysight/k3458a_sim.py"],
        "datasheet": ["drivers/keysight/k3458a.toml"], "procedure": ["procedures/fluke_5522a_dcv.py"],
        "tests": ["tests/drivers/keysight/test_3458a.py"],
        "topology": ["drivers/sim/benches/calibrator-3458a.toml"]},
    "Fluke 9142 (new family)": {
        "driver": ["drivers/fluke/f9142.py"], "simulator": ["drivers/fluke/f9142_sim.py"],
        "datasheet": ["drivers/fluke/f9142.toml"], "procedure": ["procedures/temperature_indicator_drywell.py"],
        "tests": ["tests/drivers/fluke/test_9142.py"],
        "topology": ["drivers/sim/benches/drywell-comparison.toml"]},
    "Keysight 34461A (new model, 34401A family)": {
        "driver": ["drivers/keysight/k34461a.py"], "simulator": ["drivers/keysight/k34461a_sim.py"],
        "datasheet": ["drivers/keysight/k34461a.toml"], "procedure": [],
        "tests": ["tests/drivers/keysight/test_34461a.py"], "topology": []},
}
KINDS = ("driver", "simulator", "datasheet", "procedure", "tests", "topology")


def count(path: Path) -> tuple[int, int]:
    """(code lines, all lines) of a file; (0, 0) if it does not exist."""
    if not path.exists():
        return 0, 0
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    skip: set[int] = set()
    if path.suffix == ".py":
        for node in ast.walk(ast.parse(text)):
            body = getattr(node, "body", None)
            if (isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body
                    and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                skip.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    code = sum(1 for i, ln in enumerate(lines, 1) if ln.strip() and not ln.strip().startswith("#") and i not in skip)
    return code, len(lines)


def main() -> int:
    print(f"{'model':<44}" + "".join(f"{k:>14}" for k in KINDS) + f"{'driver+sim':>12}")
    print(f"{'':<44}" + "".join(f"{'code/lines':>14}" for _ in KINDS) + f"{'code':>12}")
    for model, files in MODELS.items():
        cells = []
        totals: dict[str, int] = {}
        for kind in KINDS:
            code = lines = 0
            for f in files[kind]:
                c, n = count(ROOT / f)
                code, lines = code + c, lines + n
            totals[kind] = code
            cells.append(f"{code:>7}/{lines:<6}")
        print(f"{model:<44}" + "".join(f"{c:>14}" for c in cells) + f"{totals['driver'] + totals['simulator']:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long the light commands take to start, against a bare interpreter.

Runs ``calstation --version``, ``calstation --help`` and ``calstation run
--help`` (the installed console script, as a user types it) and a bare
``python -c pass`` ``--repeat`` times each, and prints the best time of
each, the time the command adds to the bare interpreter, and the ratio.
Target: --version and --help under 0.15 s.

    .venv/bin/python benchmarks/startup.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def best(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    exe = str(Path(sys.executable).parent / ("calstation.exe" if os.name == "nt" else "calstation"))
    bare = best([sys.executable, "-c", "pass"], args.repeat)
    print(f"bare interpreter (python -c pass): {bare * 1e3:6.1f} ms, best of {args.repeat}")
    for extra in (["--version"], ["--help"], ["run", "--help"]):
        t = best([exe, *extra], args.repeat)
        print(f"calstation {' '.join(extra):<11} {t * 1e3:6.1f} ms  (adds {(t - bare) * 1e3:5.1f} ms, "
              f"ratio {t / bare:4.2f}; target < 150 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

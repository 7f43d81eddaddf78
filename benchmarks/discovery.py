"""Discovery: how long `calstation discover` takes to probe a bench.

The simulated DMM bench (a 5522A, a 34401A, a 1620A) is served on TCP
ports of 127.0.0.1 in real time, with ``--silent`` more ports that accept
a connection and never answer (an instrument switched off behind a LAN
adapter, the worst case: every identification query waits its timeout).
Printed beside two baselines measured in the same run:

- bare: one ``*IDN?`` over a plain socket to each answering instrument,
  one after the other (what a probe costs at least);
- slowest: the slowest single resource probed alone; probing in parallel
  should take about this long whatever the number of resources.

    python benchmarks/discovery.py [--silent N] [--timeout S] [--repeat N]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.clock import SystemClock  # noqa: E402
from drivers.sim.bench import SimBench  # noqa: E402
from station import discovery  # noqa: E402


class Silent:
    """A TCP port that accepts and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.1)
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        self.resource = f"TCPIP::127.0.0.1::{self.sock.getsockname()[1]}::SOCKET"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


def bare_idn(resource: str) -> float:
    host, port = resource.split("::")[1:3]
    t = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=2) as s:
        s.sendall(b"*IDN?\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--silent", type=int, default=5, help="ports that never answer (default 5)")
    ap.add_argument("--timeout", type=float, default=discovery.PROBE_TIMEOUT_S, help="probe timeout, s")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    silent = [Silent() for _ in range(args.silent)]
    try:
        with SimBench("dmm-calibrator", clock=SystemClock()) as bench:
            served = list(bench.serve_tcp().values())
            resources = served + [s.resource for s in silent]
            discovery.discover(served, timeout_s=args.timeout)  # warm: imports, VISA resource manager
            bare, slowest, whole = [], [], []
            for _ in range(args.repeat):
                bare.append(sum(bare_idn(r) for r in served))
                alone = []
                for r in resources:
                    t = time.perf_counter()
                    discovery.probe(r, timeout_s=args.timeout)
                    alone.append(time.perf_counter() - t)
                slowest.append(max(alone))
                t = time.perf_counter()
                found = discovery.discover(resources, timeout_s=args.timeout)
                whole.append(time.perf_counter() - t)
                assert sum(1 for f in found if f.driver) == len(served)
    finally:
        for s in silent:
            s.close()
    b, s1, w = statistics.median(bare), statistics.median(slowest), statistics.median(whole)
    print(f"resources: {len(served)} answering + {args.silent} silent; probe timeout {args.timeout:g} s; "
          f"median of {args.repeat}")
    print(f"bare *IDN? over a socket, the {len(served)} answering one after the other: {b * 1000:.1f} ms")
    print(f"slowest single resource probed alone: {s1 * 1000:.0f} ms")
    print(f"discover, all {len(resources)} at once: {w * 1000:.0f} ms  "
          f"(ratio to the slowest single: {w / s1:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

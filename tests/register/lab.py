"""A lab's register set up the way its people do it: through the CLI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from station.cli import main

TODAY = dt.date.today()


@dataclass
class Lab:
    db: str
    tmp: Path
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: str, db: bool = True) -> tuple[int, str, str]:
        self.capsys.readouterr()
        argv = [*args, "--db", self.db] if db else list(args)
        code = main(argv)
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def ok(self, *args: str) -> str:
        code, out, err = self.cli(*args)
        assert code == 0, (args, out, err)
        return out

    @property
    def key(self) -> Path:
        return self.tmp / "keys" / "sun.pem"

    def set_up(self, overdue_by: int = 0) -> Lab:
        """The lab's users, customer, DUT and the simulated bench's
        standards; with ``overdue_by`` days, the calibrator's only record
        ran out that many days ago."""
        self.ok("register", "user", "add", "ada", "--role", "administrator", "--full-name", "Ada Admin")
        self.ok("register", "user", "add", "li", "--role", "technician", "--full-name", "Li Lei (李雷)",
                "--user", "ada")
        self.ok("register", "user", "add", "sun", "--role", "signatory", "--full-name", "Sun Qian (孙倩)",
                "--key-out", str(self.key), "--user", "ada")
        self.ok("register", "customer", "ACME", "--name", "ACME Instruments (艾克米仪器)", "--address",
                "8 Test Road, Suzhou", "--user", "li")
        self.ok("register", "add", "dut", "DUT-1", "--manufacturer", "Keysight", "--model", "34401A",
                "--serial", "MY123", "--owner", "ACME", "--user", "li")
        for asset, model in (("SIM-STD-5522A", "5522A"), ("SIM-AMB-1620A", "1620A")):
            self.ok("register", "add", "standard", asset, "--manufacturer", "Fluke", "--model", model,
                    "--serial", f"S-{model}", "--user", "li")
            if overdue_by and asset == "SIM-STD-5522A":
                self.calibrate(asset, TODAY - dt.timedelta(days=330),
                               TODAY - dt.timedelta(days=overdue_by), "OLD-1")
            else:
                self.calibrate(asset, TODAY - dt.timedelta(days=30), TODAY + dt.timedelta(days=335))
        return self

    def calibrate(self, asset: str, on: dt.date, due: dt.date, certificate: str = "") -> None:
        self.ok("register", "calibration", asset, "--certificate", certificate or f"NIM-{asset}-{on:%Y%m%d}",
                "--lab", "National Institute of Metrology, China", "--date", on.isoformat(),
                "--due", due.isoformat(), "--traceability", "NIM, China (SI)", "--user", "sun")

    def run(self, name: str = "run.h5", *extra: str, user: str = "li", readings: str = "2") -> tuple[int, Path]:
        path = self.tmp / name
        code, _out, err = self.cli("run", "keysight-34401a-dcv", "--simulated", "--yes", "--readings", readings,
                                   "--user", user, "--dut", "DUT-1", "--customer", "ACME", "--out", str(path),
                                   *extra)
        self.last_err = err
        return code, path

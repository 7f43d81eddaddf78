"""``calstation discover``: the instruments that answer, and a bench file from them.

    calstation discover                                  # what VISA and the serial ports have
    calstation discover --probe TCPIP::192.168.0.12::INSTR --no-visa
    calstation discover --procedure keysight-34401a-basic --dut DMM-0007 -o bench.toml

Each resource is listed with what answered, the driver chosen and the
register's asset of that model and serial number. With ``--procedure`` the
procedure's roles are given instruments (`station.discovery.propose`); with
``-o`` the bench is written as a bench file for ``calstation run --bench``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from station.cli_register import add_db, existing_register
from station.errors import ConfigError
from station.exitcodes import EXIT_OK


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.05 <= value <= 60:
        raise argparse.ArgumentTypeError(f"{text}: give between 0.05 and 60 seconds")
    return value


def add_parser(sub: Any) -> None:
    d = sub.add_parser("discover", help="find the instruments that answer (VISA, serial ports, named addresses), "
                       "match them to drivers and the register, and write a bench file")
    d.add_argument("--probe", action="append", default=[], metavar="RESOURCE",
                   help="also ask this resource (a LAN instrument at a fixed address, a serial port); repeatable")
    d.add_argument("--no-visa", action="store_true",
                   help="do not ask VISA for its resources (with pyvisa-py that includes a LAN broadcast)")
    d.add_argument("--no-serial", action="store_true", help="do not probe the serial ports the system has")
    d.add_argument("--visa-library", default="@py", metavar="LIB",
                   help="VISA implementation: @py (pyvisa-py, default), FILE.yaml@sim, or a vendor VISA's path")
    d.add_argument("--timeout", type=_timeout, default=0.5, metavar="S",
                   help="seconds to wait for each identification reply (default 0.5)")
    d.add_argument("--baudrate", type=int, default=9600, help="serial lines' baud rate (default 9600)")
    d.add_argument("--procedure", metavar="NAME", help="give this procedure's roles an instrument each")
    d.add_argument("--dut", metavar="ASSET", help="the item to calibrate: its asset id in the register")
    d.add_argument("-o", "--output", metavar="FILE", help="write the bench file (needs --procedure); an "
                   "existing file is not overwritten")
    add_db(d)
    d.set_defaults(func=cmd_discover)


def cmd_discover(args: argparse.Namespace) -> int:
    from station import discovery, library

    if args.output and not args.procedure:
        raise ConfigError("-o writes a bench for a procedure: name it with --procedure NAME")
    if args.output and Path(args.output).exists():
        raise ConfigError(f"{args.output} exists; choose another name or remove it first")
    if args.dut and not args.procedure:
        raise ConfigError("--dut needs --procedure NAME (the roles the item and the standards play)")
    procedure = library.load(args.procedure) if args.procedure else None
    reg = existing_register(args)
    try:
        dut = None
        if args.dut:
            if reg is None:
                raise ConfigError(f"--dut {args.dut}: no register; name it with --db URL or CALSTATION_DB")
            dut = reg.asset(args.dut)
            if dut is None:
                raise ConfigError(f"--dut {args.dut}: no such asset in the register at {reg.where}")
        surveyed = discovery.survey(args.probe, visa_list=None if args.no_visa else args.visa_library,
                                    serial_ports=not args.no_serial, visa_library=args.visa_library,
                                    assets=reg.assets() if reg is not None else [],
                                    procedure=type(procedure) if procedure is not None else None, dut=dut,
                                    timeout_s=args.timeout, baudrate=args.baudrate)
        for note in surveyed.notes:
            print(f"note: {note}")
        if not surveyed.resources:
            raise ConfigError("nothing to probe: VISA and the system list no instrument; name one with "
                              "--probe RESOURCE")
        for line in discovery.summary(surveyed.found, {m.found.resource: m for m in surveyed.matches}):
            print(line)
        print(f"{surveyed.answered} of {len(surveyed.found)} resource(s) answered as an instrument calstation "
              "has a driver for")
        if not surveyed.answered:
            raise ConfigError(f"no instrument answered on the {len(surveyed.found)} resource(s) probed; check "
                              "that they are switched on and connected, or name their addresses with --probe "
                              "RESOURCE")
        proposal = surveyed.proposal
        if procedure is None or proposal is None:
            return EXIT_OK
        for role, m in proposal.roles.items():
            asset = f" (asset {m.asset_id})" if m.asset_id else ""
            print(f"role {role}: {m.found.resource}: {m.found.describe()}{asset}")
        if not proposal.complete:
            role, why = next(iter(proposal.missing.items()))
            raise ConfigError(f"role {role!r} of {procedure.name} has no instrument: {why}")
        if args.output:
            discovery.save_bench_file(Path(args.output), proposal.bench_file(f"bench discovered for {procedure.name}"))
            print(f"bench file: {args.output} (use: calstation run {procedure.name} --bench {args.output} "
                  "--user NAME ...)")
        return EXIT_OK
    finally:
        if reg is not None:
            reg.close()

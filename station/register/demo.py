"""The demonstration register: its users (an administrator, a technician
and a signatory with a key pair), the customer, the DUT and the simulated
bench's standards with their calibration records. Made once; running the
demonstration again reuses it (and adds a fresh calibration record to a
standard whose record has run out)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from drivers import registry
from station import signing
from station.bench import BenchConfig, Job
from station.register.core import RECORD_VALUES, Asset, Calibration, Customer, Register

ADMIN = "admin"
TECHNICIAN = "wang.fang"
SIGNATORY = "chen.jie"
CUSTOMER = "DEMO-CUST"


@dataclass(frozen=True)
class DemoUsers:
    technician: str
    technician_name: str
    signatory: str
    key: Path


def seed(reg: Register, bench: BenchConfig, job: Job, dut_role: str, keys: Path,
         today: dt.date) -> DemoUsers:
    users = {u.name for u in reg.users()}
    key = keys / f"{SIGNATORY}.pem"
    if ADMIN not in users:
        reg.add_user(None, ADMIN, "Demonstration administrator", "administrator")
        reg.set_setting(ADMIN, "certificate_prefix", "DEMO")
    if TECHNICIAN not in users:
        reg.add_user(ADMIN, TECHNICIAN, "Wang Fang (王芳)", "technician")
    if SIGNATORY not in users or not key.exists():
        private = signing.generate()
        if key.exists():
            key.unlink()  # a demonstration key only: the register names the new one
        signing.save_private_key(private, key)
        public = signing.public_text(private.public_key())
        if SIGNATORY not in users:
            reg.add_user(ADMIN, SIGNATORY, "Chen Jie (陈杰)", "signatory", public)
        else:
            reg.set_key(ADMIN, SIGNATORY, public, "demonstration key file was missing; a new one was made")
    if reg.customer(CUSTOMER) is None:
        reg.add_customer(ADMIN, Customer(CUSTOMER, job.customer_name, job.customer_address,
                                         "calibration@example.com"))
    if job.dut_asset_id and reg.asset(job.dut_asset_id) is None:
        reg.add_asset(ADMIN, Asset(job.dut_asset_id, "dut", job.dut_manufacturer, job.dut_model,
                                   job.dut_serial, job.dut_description, CUSTOMER, "bench 1"))
    for role, cfg in bench.instruments.items():
        if role == dut_role or not cfg.asset_id:
            continue
        if reg.asset(cfg.asset_id) is None:
            sheet = registry.datasheet(cfg.driver)
            reg.add_asset(ADMIN, Asset(cfg.asset_id, "standard", sheet.manufacturer, sheet.models[0],
                                       _simulated_serial(cfg.driver, cfg.asset_id), cfg.description or f"simulated {cfg.driver}",
                                       "", "bench 1"))
        latest = reg.latest_calibration(cfg.asset_id)
        if latest is None or dt.date.fromisoformat(latest.due) < today + dt.timedelta(days=1):
            values = {k: getattr(cfg, k) for k in RECORD_VALUES if getattr(cfg, k) not in ("", 0.0)}
            reg.add_calibration(ADMIN, Calibration(
                cfg.asset_id, cfg.certificate or f"DEMO-{cfg.asset_id}", cfg.traceability or "demonstration",
                cfg.calibrated_on or (today - dt.timedelta(days=30)).isoformat(),
                cfg.calibration_due or (today + dt.timedelta(days=335)).isoformat(),
                cfg.traceability, values))
    return DemoUsers(TECHNICIAN, "Wang Fang (王芳)", SIGNATORY, key)


def _simulated_serial(driver: str, asset_id: str) -> str:
    """The serial number the simulated instrument answers to ``*IDN?``, so
    that a bench discovered from the served simulators finds it in the
    register (`station.discovery`); ``SIM-<asset id>`` where it reports none."""
    idn = str(getattr(registry.load_simulator(driver), "idn", ""))
    parts = idn.split(",")
    serial = parts[2].strip() if len(parts) == 4 else ""
    return serial if serial not in ("", "0") else f"SIM-{asset_id}"

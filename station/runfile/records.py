"""The value types of a run file's header: instruments, plan rows, the header."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class InstrumentRecord:
    """An instrument as the run used it: identity, where it was, its standing."""

    role: str
    kind: str  # "dut" or "standard" (every other role: standards and measuring equipment)
    driver: str
    resource: str
    manufacturer: str
    model: str
    serial: str
    firmware: str
    idn: str
    asset_id: str = ""
    description: str = ""
    calibration_due: str = ""  # ISO date; empty for a DUT
    certificate: str = ""  # the standard's own calibration certificate
    traceability: str = ""
    specification: str = ""  # which specification the run used for it
    distribution: str = ""
    capabilities: str = ""  # what its driver can do, comma-separated (drivers.roles)
    probe_certificate: str = ""  # a reference thermometer's probe: its own calibration certificate


@dataclass(frozen=True)
class PlanRow:
    index: int
    function: str
    range: float
    nominal: float
    unit: str
    readings: int
    settle_s: float
    phase: str
    label: str
    nplc: float
    planned_tur: float
    frequency: float = 0.0
    tolerance: float = 0.0  # the DUT's specification limit (+/-) at the point
    spec: str = ""  # which specification judges the point


@dataclass(frozen=True)
class RunHeader:
    run_id: str
    created: str  # ISO 8601, UTC
    software: str
    procedure_name: str
    procedure_version: str
    procedure_title: str
    procedure_method: str
    procedure_sha256: str
    procedure_source: str
    decision_rule: str
    decision_statement: str
    job: Mapping[str, str]
    instruments: tuple[InstrumentRecord, ...]
    plan: tuple[PlanRow, ...]
    extra: Mapping[str, str] = field(default_factory=dict)

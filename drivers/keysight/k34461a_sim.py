"""Simulated Keysight 34461A Truevolt multimeter: the simulated 34401A
(`drivers.keysight.k34401a_sim.Sim34401A`, read its docstring for the
commands, the physics and the faults) with what differs on a 34461A.

- ``*IDN?``: ``Keysight Technologies,34461A,MY53000001,A.02.14-02.40-02.14-00.49-01-01``
  (the serial and firmware are made up, in the shape Truevolt meters use).
- Its own datasheet (``k34461a.toml``): ranges (DC current 100 uA .. 3 A),
  digits, ``CONF?`` resolutions; readings are quantised and overloaded by it.
- The AC filter is ``[SENSe:]VOLTage:AC:BANDwidth[?]`` (UNVERIFIED, see
  `drivers.keysight.k34461a`); ``DETector:BANDwidth`` is an undefined
  header here.
- Calibration: the factory security code is the driver's
  (`Keysight34461A.calibration_code`, ``AT34461``, UNVERIFIED); ``CAL?`` is
  ``CALibration[:ALL]?``; new constants are kept only once stored with
  ``CALibration:STORe`` (until then a power cycle loses them), as the
  Truevolt command reference lists it (UNVERIFIED, see the driver).
- Its default errors (`DUT_ERRORS`) are inside the 34461A's 1-year
  specification: a DC current offset of 2 nA instead of the simulated
  34401A's 0.1 uA, which would fail the 100 uA range (limit 75 nA at full
  scale).

What it still shares with the simulated 34401A and has not been compared
with a real 34461A (UNVERIFIED): the reading, ``CONF?`` and error formats,
the ``*RST`` state, and that it takes ``SYSTem:REMote``/``SYSTem:LOCal``.
"""

from __future__ import annotations

from typing import ClassVar

from drivers.keysight.k34401a_sim import DutErrors, Sim34401A
from drivers.keysight.k34461a import Keysight34461A

#: A 34461A well inside its 1-year specification on every range it drives.
DUT_ERRORS = DutErrors(dci_offset=2e-9)


class Sim34461A(Sim34401A):
    """Simulated 34461A: DC voltage, DC current (100 uA .. 3 A), AC voltage,
    2- and 4-wire resistance; ``Sim34461A(name, clock, rng, errors=DUT_ERRORS,
    lead_resistance=0.01, security_code=None)``, faults and calibration as
    `Sim34401A`, constants kept by ``CAL:STOR``."""

    idn = "Keysight Technologies,34461A,MY53000001,A.02.14-02.40-02.14-00.49-01-01"
    datasheet_file: ClassVar[str] = Keysight34461A.datasheet_file
    ac_filter_header: ClassVar[str] = "[SENSe:]VOLTage:AC:BANDwidth"
    default_errors: ClassVar[DutErrors] = DUT_ERRORS
    default_security_code: ClassVar[str] = Keysight34461A.calibration_code
    calibrate_header: ClassVar[str] = "CALibration[:ALL]?"
    store_header: ClassVar[str] = "CALibration:STORe"

"""Keysight (Agilent) 34461A 6.5-digit Truevolt multimeter: DC voltage, DC
current, AC voltage, 2-wire and 4-wire resistance.

A model of the 34401A's family: Keysight sells it as the 34401A's
SCPI-compatible replacement (data sheet 5991-1983EN), so this driver is
`drivers.keysight.k34401a.Keysight34401A` with what differs, and every
command, reply format, strict check and the one-exchange `confirm_state` of
that module apply here unchanged (read its docstring). What differs:

- Identity: ``*IDN?`` answers ``Keysight Technologies,34461A,<serial>,
  <firmware>`` (older units: ``Agilent Technologies``, UNVERIFIED); a
  34401A's ``HEWLETT-PACKARD,34401A,...`` is not this model, nor is this
  model a 34401A (`drivers.roles.Identity.matches`).
- Interfaces: USB and LAN only, no RS-232 (data sheet), so `initialize`
  never sends ``SYST:REM``.
- Figures: its own datasheet, ``k34461a.toml`` (5991-1983EN): DC current
  from 100 uA (ranges 100 uA, 1 mA, 10 mA, 100 mA, 1 A, 3 A on the 3 A
  terminal; the 10 A terminal is not driven), a 2-year accuracy column,
  its own DC current rows. Integration times (0.02, 0.2, 1, 10, 100 PLC),
  digits and the resolution ``CONF?`` reports per integration time are the
  34401A's (QCoDeS's 34461A table agrees; UNVERIFIED in 5991-1983EN).
- AC filter: ``VOLT:AC:BAND 20`` (``[SENSe:]VOLTage:AC:BANDwidth``, the
  Truevolt command), and ``VOLT:AC:BAND?`` in the compound state query
  ``*ESR?;CONF?;:VOLT:AC:BAND?;:SYST:ERR?``. UNVERIFIED: the command is
  from memory of the Truevolt SCPI reference, not a stored copy; whether a
  34461A also takes the 34401A's ``DET:BAND`` was not checked.

- Calibration adjustment (`Keysight34401A.adjust`, role `Adjustable`): the
  same ``CAL:SEC:STAT``, ``CAL:VAL`` and ``CAL?`` (``CALibration[:ALL]?``),
  then ``CAL:STOR`` before securing again: a Truevolt meter keeps new
  constants in volatile memory until ``CALibration:STORe`` (the Truevolt
  Command Quick Reference, 34465A help file, lists ``CALibration[:ALL]?``,
  ``CALibration:STORe``, ``CALibration:SECure:STATe {OFF|ON} [, <code>]``,
  ``CALibration:VALue <value>``, ``CALibration:COUNt?``). Factory security
  code ``AT34461`` (`calibration_code`). UNVERIFIED: the factory code and
  that constants are lost without ``CAL:STOR`` are from memory of the
  Truevolt Service Guide, not a stored copy; the replies are held to the
  34401A's formats.

UNVERIFIED as well (no Truevolt manual was at hand to compare): that the
34461A's reading (``SD.DDDDDDDDESDD``), ``CONF?``
(``"VOLT +1.000000E+01,+1.000000E-05"``), ``SYST:ERR?`` and ``*ESR?``
formats, its overload value ``+9.90000000E+37`` and its 20-entry error
queue are the 34401A's; the driver holds the meter to them strictly, so a
difference shows as `GarbledReply`, never as a wrong value. The driver
still reads blocks of at most 512 readings (the 34401A's memory; the
34461A holds more, which only costs exchanges).
"""

from __future__ import annotations

from typing import ClassVar

from drivers.keysight.k34401a import Keysight34401A


class Keysight34461A(Keysight34401A):
    """34461A digital multimeter (roles: `Meter`, `SelfChecking`,
    `Adjustable`; DCV, DCI, ACV, R2W, R4W): the 34401A driver with the
    34461A's identity, interfaces, datasheet, AC filter command and
    calibration security code, and ``CAL:STOR`` after an adjustment (see
    the module).

    ``Keysight34461A(transport, clock)`` over USB or LAN (VISA ``USB0::...``
    or ``TCPIP0::...``). Terminations: LF.
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("KEYSIGHT", "AGILENT")
    models: ClassVar[tuple[str, ...]] = ("34461A",)
    datasheet_file: ClassVar[str] = "k34461a.toml"
    ac_filter_command: ClassVar[str] = "VOLT:AC:BAND"
    error_help: ClassVar[str] = "see the Keysight Truevolt Series Operating and Service Guide (SCPI error messages)"
    #: Factory calibration security code of a 34461A (UNVERIFIED, see the module).
    calibration_code: str = "AT34461"
    #: ``CALibration:STORe``: keeps the constants of an adjustment through a power cycle.
    calibration_store_command: ClassVar[str] = "CAL:STOR"

    def initialize(self) -> None:
        """``*CLS`` then ``SYST:ERR?`` until ``+0,"No error"``. No
        ``SYST:REM``: the 34461A has no RS-232 port, and needs no remote
        command on USB or LAN."""
        self.transport.write("*CLS")
        self.check_errors("*CLS")

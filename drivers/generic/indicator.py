"""A generic digital temperature indicator: the DUT of a comparison.

Any indicator that speaks the simple serial language of the older Hart
handheld readouts (1521 and 1522 Handheld Thermometer Readout User's
Guides, 8.1 and 8.2 "Communication Command List"): RS-232 at 2400 or
9600 baud, 8 data bits, no parity, 1 stop bit, no flow control; a command
ends with CR or LF; every reply ends with CR LF. Two commands are used:

- ``*IDN?``: ``MAKER,MODEL,SERIAL,FIRMWARE`` (as the Hart readouts answer
  it, e.g. ``HART,1502A,6A1202,1.10``, 1502A User's Guide 7.3.6.1);
- ``fetch?`` ("read measurement, simple format"): ``t: 25.587 C``, the
  label ``t:``, blanks, the value with its decimals, a blank and the unit
  letter (C, F, K, O for ohms, R for a ratio; 1502A User's Guide 7.3.1.1:
  fewer digits are padded with leading blanks).

Strict replies: a reading is accepted only as ``t:`` + blanks + an
optionally signed decimal number + one blank + the unit letter
(`READING_FORMAT`); anything else raises `GarbledReply`. A reading in
another unit than C raises `InstrumentError` (set the indicator to
Celsius at its front panel). An indicator with no valid measurement (an
open probe) is modelled as answering ``OL`` in place of the value, the
word Fluke's 1551A uses for "no valid measurement" (UNVERIFIED for any
given indicator): `read` raises `InstrumentError` saying so.

What this driver cannot do: these indicators have no error queue, no
status register and no remote settings, so there is nothing to confirm
after a point (no `confirm_state`: a power cycle of the indicator cannot
be seen from the wire) and nothing to initialize but checking it answers.
"""

from __future__ import annotations

import re
from typing import ClassVar

from drivers.base import MessageInstrument
from drivers.clock import Clock
from drivers.datasheet import beside, load
from drivers.errors import InstrumentError
from drivers.roles import Function
from drivers.transport import Transport

#: The placeholder datasheet of a generic indicator (its accuracy is
#: overridden by the procedure; see the file).
DATASHEET = load(beside(__file__, "indicator.toml"))
TEMP_SHEET = DATASHEET.function(Function.TEMP)

#: ``fetch?``: ``t: 25.587 C`` (value: optional minus, digits, a point, 1 to 4 decimals).
READING_FORMAT = re.compile(r"t: +(-?\d{1,4}\.(\d{1,4})) ([CFKOR])", re.ASCII)
#: ``fetch?`` with no valid measurement: ``t: OL C`` (UNVERIFIED, see the module docstring).
NO_READING_FORMAT = re.compile(r"t: +OL ([CFKOR])", re.ASCII)
#: What the unit letters mean (1521 User's Guide, 8.2).
UNITS = {"C": "degrees Celsius", "F": "degrees Fahrenheit", "K": "kelvin", "O": "ohms", "R": "a resistance ratio"}


class TemperatureIndicator(MessageInstrument):
    """A generic serial temperature indicator (capability: `Indicator`;
    function TEMP). Any maker, any model (``"*"``).

    ``TemperatureIndicator(transport, clock, serial=None)``; open the
    transport with ``read_termination="\\r\\n"``.

    It has no ``confirm_state`` (not `SelfChecking`): such indicators keep
    no error queue and no status register, so a power cycle or a changed
    setting cannot be seen from the wire. Each reading's strict format
    and the engine's spread check are what guard its readings.
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("*",)
    models: ClassVar[tuple[str, ...]] = ("*",)
    functions: ClassVar[tuple[Function, ...]] = (Function.TEMP,)
    write_termination: ClassVar[str] = "\n"
    read_termination: ClassVar[str] = "\r\n"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        #: Decimals of the last reading (None: no reading yet).
        self._decimals: int | None = None

    def initialize(self) -> None:
        """``*IDN?``, its reply checked: the indicator answers. There is no
        remote mode, setting or error queue to put in a known state."""
        self.identify()

    def read(self) -> float:
        """``fetch?``: the indicator's present reading, in C.

        Raises `GarbledReply` unless the reply is ``t: <value> <unit>``
        exactly, and `InstrumentError` for a reading in another unit or
        no valid measurement (``OL``)."""
        reply = self._query("fetch?")
        match = READING_FORMAT.fullmatch(reply)
        if match is None:
            missing = NO_READING_FORMAT.fullmatch(reply)
            if missing is not None:
                raise InstrumentError(self.name, "fetch?", "the indicator shows OL: no valid measurement",
                                      "check its probe and the probe's connector")
            raise self._garbled("fetch?", reply, "a reading such as 't: 25.587 C'")
        unit = match.group(3)
        if unit != "C":
            raise InstrumentError(self.name, "fetch?", f"the indicator reads in {UNITS[unit]}, not in degrees C",
                                  "set the indicator to Celsius at its front panel")
        self._decimals = len(match.group(2))
        return float(match.group(1))

    def resolution(self) -> float:
        """One digit of the last reading, in C (``t: 25.587 C``: 0.001);
        before any reading, the datasheet's resolution (0.001 C)."""
        if self._decimals is None:
            return TEMP_SHEET.fixed_resolution
        return 10.0 ** -self._decimals

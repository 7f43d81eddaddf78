"""Fluke (Hart Scientific) 1524 reference thermometer, as a PRT readout.

The 1524 reads the probe on each of its two inputs and converts it to
temperature with the probe's coefficients, held in the readout (entered
from the probe's certificate at the front panel or with the readout's
probe commands; this driver never sends coefficients). The driver reads
temperatures.

Commands from the 1523, 1524 Reference Thermometer Technical Guide
(Fluke, March 2014), chapter "Digital Communications Interface":
UNVERIFIED, the guide's command table could not be read when this was
written. The commands and formats used are those of the Hart SCPI
readouts of the same family, where they are documented (1529 Chub-E4
User's Guide, 8.4: ``FETCh? [<chn>]`` "returns the most recent
measurement for the specified channel", e.g. ``0.0127``, the plain value
in the selected unit; ``MEASure? [<chn>]`` the same; ``SYSTem:ERRor?``
``0,"No error"``; ``UNIT:TEMPerature C`` / ``UNIT:TEMPerature?`` ``C``;
``*IDN?`` ``HART,<model>,<serial>,<version>``), and a published program
for a real 1524 reads a plain number from ``MEAS? 1``:

- ``*CLS``, ``*ESR?`` (IEEE 488.2; bit 7 the power-on flag; UNVERIFIED);
- ``UNIT:TEMP C`` / ``UNIT:TEMP?``;
- ``MEAS? <channel>``: the channel's latest temperature, a decimal number
  such as ``25.003`` (held strictly; `GarbledReply` otherwise);
- ``SYST:ERR?``: ``<code>,"<text>"``.

No compound queries: whether the 1524 takes them is UNVERIFIED, so every
query is its own exchange.

Open probe: with no valid measurement on a channel the Hart SCPI
readouts answer nothing and queue error -230 "Data corrupt or stale"
(1594A/1595A User's Guide, ``FETC?``); UNVERIFIED for the 1524, modelled
so by its simulator. `read` then reads the error queue and raises
`InstrumentError` with the readout's error, naming the channel.

Terminations: LF from the host; the readout ends replies with CR LF on
RS-232, so open the transport with ``read_termination="\\r\\n"``
(`Fluke1524.read_termination`).
"""

from __future__ import annotations

import re
from typing import ClassVar

from drivers.base import ESR_PON, SCPI_ERROR_FORMAT, MessageInstrument
from drivers.clock import Clock
from drivers.datasheet import beside, load
from drivers.errors import InstrumentError, InstrumentTimeout
from drivers.roles import Function
from drivers.transport import Transport

#: The 1524's datasheet: PRT range, resolution, accuracy.
DATASHEET = load(beside(__file__, "f1524.toml"))
TEMP_SHEET = DATASHEET.function(Function.TEMP)
#: Inputs of the 1524 (front panel channels 1 and 2).
CHANNELS = 2

#: ``MEAS? <ch>``: a decimal number (the temperature, C).
READING_FORMAT = re.compile(r"[+-]?\d{1,4}\.\d{1,7}", re.ASCII)
#: ``UNIT:TEMP?``: C, F or K.
UNIT_FORMAT = re.compile(r"[CFK]", re.ASCII)
#: ``SYST:ERR?``: ``<code>,"<text>"`` (a SCPI string: "" stands for ").
SYST_ERR_FORMAT = SCPI_ERROR_FORMAT


class Fluke1524(MessageInstrument):
    """Fluke 1524 reference thermometer (capabilities: `Readout`,
    `SelfChecking`; function TEMP, PRT input).

    ``Fluke1524(transport, clock, serial=None)``; RS-232 (the transport
    must read up to CR LF).
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("HART", "FLUKE")
    models: ClassVar[tuple[str, ...]] = ("1524",)
    functions: ClassVar[tuple[Function, ...]] = (Function.TEMP,)
    error_query: ClassVar[str] = "SYST:ERR?"
    error_queue_size: ClassVar[int] = 10  # the 1529's queue holds ten; UNVERIFIED for the 1524
    error_help: ClassVar[str] = "see the 1523, 1524 Technical Guide (error messages)"
    write_termination: ClassVar[str] = "\n"
    read_termination: ClassVar[str] = "\r\n"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        self._channel = 1
        #: True once `initialize` set the unit, for `confirm_state`.
        self._unit_set = False

    def initialize(self) -> None:
        """``*CLS`` then ``UNIT:TEMP C``, checked with ``SYST:ERR?``.

        ``*CLS`` empties the error queue and clears the power-on flag, so
        that `confirm_state` judges only what happens from here on."""
        self.transport.write("*CLS")
        self._unit_set = True
        self._configure("UNIT:TEMP C")

    # -- Readout

    def select_channel(self, channel: int) -> None:
        """Read the probe on input ``channel`` (1 or 2) from now on. Sends
        nothing: the channel is the argument of each ``MEAS?``."""
        if channel not in range(1, CHANNELS + 1):
            raise InstrumentError(self.name, f"MEAS? {channel}", f"the 1524 has no channel {channel}",
                                  f"use a channel from 1 to {CHANNELS}")
        self._channel = channel

    @property
    def channel(self) -> int:
        """The channel `read` reads (1 unless `select_channel` chose another)."""
        return self._channel

    def read(self) -> float:
        """``MEAS? <channel>``: the latest temperature of the probe on the
        selected channel, in C.

        Raises `GarbledReply` unless the reply is a decimal number, and
        `InstrumentError` when the readout answers nothing but queues an
        error (no valid measurement: an open or missing probe)."""
        command = f"MEAS? {self._channel}"
        try:
            reply = self._query(command)
        except InstrumentTimeout as timeout:
            code, text = self._parse_error(self._query(self.error_query))
            if code == 0:
                raise timeout from None
            self._drain_errors((code, text), command,
                               f"no measurement on channel {self._channel}: check its probe and connector")
            raise  # not reached: _drain_errors raises with the error read
        if not READING_FORMAT.fullmatch(reply):
            raise self._garbled(command, reply, "a temperature such as 25.003")
        return float(reply)

    def resolution(self) -> float:
        """0.001 C: the 1524's temperature resolution (datasheet)."""
        return TEMP_SHEET.fixed_resolution

    # -- SelfChecking

    def confirm_state(self) -> None:
        """Raise `InstrumentError` unless the readout is still as this
        driver left it: no power cycle since (``*ESR?`` bit 7, PON, clear),
        temperatures still in Celsius (``UNIT:TEMP?``), and an empty error
        queue (``SYST:ERR?``). What it cannot see: a probe's coefficients
        changed at the front panel.

        Costs 3 exchanges (each query its own: compound queries are
        UNVERIFIED on the 1524), plus one ``SYST:ERR?`` exchange per further
        queued error when ``SYST:ERR?`` reported one. Before `initialize`
        only the error queue is read (``SYST:ERR?``): 1 exchange. Every
        reply is checked against its format before any is used
        (`GarbledReply` naming the query); the checks then come in the
        order above and the first that fails is raised."""
        cause = "an error was queued since the last command"
        if not self._unit_set:
            self.check_errors("SYST:ERR?", cause)
            return
        replies = {query: self._query(query) for query in ("*ESR?", "UNIT:TEMP?", "SYST:ERR?")}
        status = self._parse_esr(replies["*ESR?"])
        unit = replies["UNIT:TEMP?"]
        if not UNIT_FORMAT.fullmatch(unit):
            raise self._garbled("UNIT:TEMP?", unit, "C, F or K")
        error = self._parse_error(replies["SYST:ERR?"])
        hint = "the point's readings are invalid; check the readout, then initialize it again"
        if status & ESR_PON:
            raise InstrumentError(self.name, "*ESR?",
                                  "the readout was switched off and on (PON) since it was initialized", hint)
        if unit != "C":
            raise InstrumentError(self.name, "UNIT:TEMP?", f"the readout reads in {unit}, not in C", hint)
        if error[0] != 0:
            self._drain_errors(error, "SYST:ERR?", cause)

    # -- error checking

    def _error_text(self, code: int, text: str) -> str:
        return f"error {code}, {text}"


"""Fluke (Hart Scientific) 1620A "DewK" thermo-hygrometer, as the bench's
ambient sensor: the laboratory's temperature and relative humidity now.

The 1620A measures temperature and relative humidity with a sensor on each
of its two channels, once every measurement period (``TRIG:TIM``, set at
the front panel or remotely; this driver leaves it alone), and answers
queries with its most recent measurement. The driver reads one channel
(1 unless `Fluke1620A.select_channel` chose 2).

Commands, from Hart Scientific "1620, the DewK Thermo-Hygrometer User's
Guide", Rev. 4B1801 (2003), chapter 8 "Digital Communications Interface",
and Fluke Calibration "1620A DewK Thermo-hygrometer User's Guide",
chapter 8 (the 1620A keeps the 1620's command set; where only the 1620's
guide could be read the command is marked so):

- ``MEASure? [<chn>]`` (1620 guide 8.4.2.16): "a comma delimited list of
  the most recent measurements for the specified channel", e.g.
  ``MEAS? 1`` -> ``25.576,29.30`` (temperature, humidity) or, with the
  time and date stamp on, ``1,1,25.629,C,29.32,%,2003,9,16,11,2,38``:
  ``<MeasStatus>,<ChX>,<ChXTemp>,<TempUnits>,<ChXHumid>,%,<year>,<month>,
  <day>,<hour>,<minute>,<second>``; the measure status is 1 for a new
  measurement, 0 for one read before. ``FETCh?`` and ``READ?`` answer in
  the same format (8.4.2.14). A real 1620 answers ``READ?`` (no channel)
  with both channels, ``23.30,49.39,21.72,53.45`` (a published program).
- ``FORMat:TDST:STATe <bool>`` / ``FORMat:TDST:STATe?`` (8.4.2.15, .14):
  the time and date stamp of ``FETC?``, ``MEAS?``, ``READ?``; ``0`` or
  ``1``.
- ``SENSor<chn>:STATe?`` (1620A guide 8.2.4.9): ``0`` when a sensor is
  connected and reading properly, else the sum of: 1 sensor not attached,
  2 read error, 4 checksum error, 8 calibration parameter error, 16
  calibration date error, 32 invalid sensor ID, 64 invalid sensor serial
  number, 128 sensor lock enabled and the wrong sensor connected.
- ``SYSTem:ERRor?``: ``<code>,"<text>"``; the 1620A guide names errors so
  (``-222, "Data out of range"`` for a bad ``TRIG:TIM``); the exact reply
  and the no-error text ``0,"No error"`` are UNVERIFIED.
- ``*IDN?`` (a real 1620: ``HART,1620,A63,1.10``; what a 1620A names as
  maker and model is UNVERIFIED: ``HART`` or ``FLUKE``, ``1620A`` or
  ``1620`` are accepted), ``*CLS`` and ``*ESR?`` (IEEE 488.2: the 1620A's
  status byte has a standard event bit; PON, bit 7, after a power cycle is
  UNVERIFIED).

The driver reads with the time and date stamp on (`initialize` sets it):
each reading then names its channel and its temperature unit, so a reading
of the other channel or in Fahrenheit (the unit is chosen at the front
panel) is refused, never taken for Celsius. The stamp's date and time are
the instrument's clock: checked for their format, not used.

No compound queries (UNVERIFIED on the 1620A): every query is its own
exchange.

A sensor that is unplugged or fails: UNVERIFIED what ``MEAS?`` then
answers; the simulator answers nothing and queues -230 "Data corrupt or
stale", as the Hart SCPI readouts do (1594A/1595A). `conditions` then reads
the error queue and raises `InstrumentError` naming the channel;
`initialize` and `confirm_state` read ``SENS<chn>:STAT?``.

Terminations: LF from the host (the Hart instruments take CR or LF); the
instrument ends replies with CR LF on RS-232 (UNVERIFIED), so open the
transport with ``read_termination="\\r\\n"`` (`Fluke1620A.read_termination`).
The 1620A's RS-232 port runs at the baud rate set in its menu.
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

#: The 1620A's datasheet: temperature and humidity accuracy, resolution.
DATASHEET = load(beside(__file__, "f1620a.toml"))
TEMP_SHEET = DATASHEET.function(Function.TEMP)
#: Sensor channels of the 1620A.
CHANNELS = 2

_T = r"[+-]?\d{1,3}\.\d{1,3}"  # a temperature: 25.629, -3.1
_RH = r"\d{1,3}\.\d{1,2}"  # a relative humidity: 29.32
_N = r"\d{1,2}"  # month, day, hour, minute, second
#: ``MEAS? <ch>`` with the time and date stamp on:
#: ``<status>,<ch>,<temperature>,<unit>,<humidity>,%,<year>,<month>,<day>,<hour>,<minute>,<second>``.
READING_FORMAT = re.compile(
    rf"([01]),([12]),({_T}),([CF]),({_RH}),%,\d{{4}},{_N},{_N},{_N},{_N},{_N}", re.ASCII)
#: ``FORM:TDST:STAT?``: 0 (stamp off) or 1 (on).
STAMP_FORMAT = re.compile(r"[01]", re.ASCII)
#: ``SENS<ch>:STAT?``: a sum of the status bits, 0..255.
SENSOR_FORMAT = re.compile(r"\d{1,3}", re.ASCII)
#: ``SYST:ERR?``: ``<code>,"<text>"`` (a SCPI string: "" stands for ").
SYST_ERR_FORMAT = SCPI_ERROR_FORMAT

#: ``SENS<ch>:STAT?`` bits and what each means (1620A guide 8.2.4.9).
SENSOR_STATUS: dict[int, str] = {
    1: "sensor not attached", 2: "sensor read error", 4: "sensor checksum error",
    8: "sensor calibration parameter error", 16: "sensor calibration date error", 32: "invalid sensor ID",
    64: "invalid sensor serial number", 128: "sensor lock is enabled and the wrong sensor is connected",
}


def sensor_problems(status: int) -> str:
    """What a ``SENS<ch>:STAT?`` value says, in the guide's words ('' for 0)."""
    return ", ".join(text for bit, text in SENSOR_STATUS.items() if status & bit)


class Fluke1620A(MessageInstrument):
    """Fluke (Hart) 1620A "DewK" thermo-hygrometer (capabilities: `Ambient`,
    `SelfChecking`): `conditions` reads (temperature in C, relative humidity
    in %) from one sensor channel.

    ``Fluke1620A(transport, clock, serial=None)``; RS-232 (the transport
    must read up to CR LF).
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("HART", "FLUKE")
    models: ClassVar[tuple[str, ...]] = ("1620A", "1620")
    functions: ClassVar[tuple[Function, ...]] = (Function.TEMP,)
    error_query: ClassVar[str] = "SYST:ERR?"
    error_queue_size: ClassVar[int] = 10  # UNVERIFIED: the size of the 1620A's queue
    error_help: ClassVar[str] = "see the 1620A User's Guide (error messages)"
    write_termination: ClassVar[str] = "\n"
    read_termination: ClassVar[str] = "\r\n"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        self._channel = 1
        #: True once `initialize` turned the time and date stamp on, for `confirm_state`.
        self._stamp_set = False

    def initialize(self) -> None:
        """``*CLS``, ``FORM:TDST:STAT 1`` (checked with ``SYST:ERR?``), then
        ``SENS<ch>:STAT?``.

        ``*CLS`` empties the error queue and clears the power-on flag, so
        that `confirm_state` judges only what happens from here on; the
        time and date stamp makes each reading name its channel and unit.
        Raises `InstrumentError` unless the sensor of the selected channel
        is attached and reading properly."""
        self.transport.write("*CLS")
        self._stamp_set = True
        self._configure("FORM:TDST:STAT 1")
        self.check_sensor()

    # -- Ambient

    def select_channel(self, channel: int) -> None:
        """Read the sensor on ``channel`` (1 or 2) from now on. Sends
        nothing: the channel is the argument of each ``MEAS?``."""
        if channel not in range(1, CHANNELS + 1):
            raise InstrumentError(self.name, f"MEAS? {channel}", f"the 1620A has no channel {channel}",
                                  f"use a channel from 1 to {CHANNELS}")
        self._channel = channel

    @property
    def channel(self) -> int:
        """The channel `conditions` reads (1 unless `select_channel` chose 2)."""
        return self._channel

    def conditions(self) -> tuple[float, float]:
        """``MEAS? <channel>``: the most recent (temperature in C, relative
        humidity in %) of the selected channel's sensor.

        Raises `GarbledReply` unless the reply is a stamped reading of that
        channel (`READING_FORMAT`: call `initialize` first, which turns the
        stamp on), `InstrumentError` when it is in Fahrenheit (set C at
        the front panel), and `InstrumentError` when the instrument answers
        nothing but queues an error (no measurement: a sensor unplugged or
        failing)."""
        command = f"MEAS? {self._channel}"
        try:
            reply = self._query(command)
        except InstrumentTimeout as timeout:
            code, text = self._parse_error(self._query(self.error_query))
            if code == 0:
                raise timeout from None
            self._drain_errors((code, text), command,
                               f"no measurement on channel {self._channel}: check its sensor and connector")
            raise  # not reached: _drain_errors raises with the error read
        match = READING_FORMAT.fullmatch(reply)
        if match is None or int(match.group(2)) != self._channel:
            raise self._garbled(command, reply, f"a stamped reading of channel {self._channel} such as "
                                "1,1,25.629,C,29.32,%,2003,9,16,11,2,38 (initialize turns the stamp on)")
        if match.group(4) != "C":
            raise InstrumentError(self.name, command, f"the thermo-hygrometer reads in {match.group(4)}, not in C",
                                  "set the temperature unit to C at its front panel")
        return float(match.group(3)), float(match.group(5))

    def check_sensor(self) -> None:
        """``SENS<channel>:STAT?``: raise `InstrumentError`, naming what the
        instrument reports, unless the selected channel's sensor is attached
        and reading properly (``0``)."""
        command = f"SENS{self._channel}:STAT?"
        status = self._parse_sensor(self._query(command), command)
        if status:
            raise InstrumentError(self.name, command, f"channel {self._channel}: {sensor_problems(status)}",
                                  "check the sensor and its connector")

    # -- SelfChecking

    def confirm_state(self) -> None:
        """Raise `InstrumentError` unless the thermo-hygrometer is still as
        this driver left it: no power cycle since (``*ESR?`` bit 7, PON,
        clear), the time and date stamp still on (``FORM:TDST:STAT?``), the
        sensor of the selected channel attached and reading properly
        (``SENS<ch>:STAT?`` ``0``), and an empty error queue
        (``SYST:ERR?``). What it cannot see: the temperature unit changed
        at the front panel (the next reading names it, and `conditions`
        refuses Fahrenheit).

        Costs 4 exchanges (each query its own: compound queries are
        UNVERIFIED on the 1620A), plus one ``SYST:ERR?`` exchange per
        further queued error when ``SYST:ERR?`` reported one. Before
        `initialize` only the error queue is read (``SYST:ERR?``): 1
        exchange. Every reply is checked against its format before any is
        used (`GarbledReply` naming the query); the checks then come in the
        order above and the first that fails is raised."""
        cause = "an error was queued since the last command"
        if not self._stamp_set:
            self.check_errors("SYST:ERR?", cause)
            return
        sensor = f"SENS{self._channel}:STAT?"
        replies = {query: self._query(query) for query in ("*ESR?", "FORM:TDST:STAT?", sensor, "SYST:ERR?")}
        status = self._parse_esr(replies["*ESR?"])
        stamp = replies["FORM:TDST:STAT?"]
        if not STAMP_FORMAT.fullmatch(stamp):
            raise self._garbled("FORM:TDST:STAT?", stamp, "0 or 1")
        sensor_status = self._parse_sensor(replies[sensor], sensor)
        error = self._parse_error(replies["SYST:ERR?"])
        hint = "the point's readings are invalid; check the thermo-hygrometer, then initialize it again"
        if status & ESR_PON:
            raise InstrumentError(self.name, "*ESR?", "the thermo-hygrometer was switched off and on (PON) "
                                  "since it was initialized", hint)
        if stamp != "1":
            raise InstrumentError(self.name, "FORM:TDST:STAT?", "the time and date stamp of its readings is off",
                                  hint)
        if sensor_status:
            raise InstrumentError(self.name, sensor, f"channel {self._channel}: {sensor_problems(sensor_status)}",
                                  hint)
        if error[0] != 0:
            self._drain_errors(error, "SYST:ERR?", cause)

    # -- replies

    def _parse_sensor(self, reply: str, command: str) -> int:
        """A ``SENS<ch>:STAT?`` reply, strictly an integer 0..255."""
        value = int(reply) if SENSOR_FORMAT.fullmatch(reply) else -1
        if not 0 <= value <= 255:
            raise self._garbled(command, reply, "a sensor status 0..255")
        return value

    def _error_text(self, code: int, text: str) -> str:
        return f"error {code}, {text}"

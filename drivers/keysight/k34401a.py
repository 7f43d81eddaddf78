"""Keysight (HP, Agilent) 34401A 6.5-digit multimeter: DC voltage, DC
current, AC voltage, 2-wire and 4-wire resistance.

Commands from the 34401A User's Guide, chapter 4 "Remote Interface
Reference" (SCPI). Ranges, integration times, digits and the resolution
``CONF?`` reports come from the datasheet beside this module
(``k34401a.toml``, `drivers.datasheet`); nothing of the maker's is typed
here.

=====  ==========================  =======================  =================
Role   configure                   then                     ``CONF?`` names
=====  ==========================  =======================  =================
DCV    ``CONF:VOLT:DC <range>``    ``VOLT:DC:NPLC <nplc>``  ``VOLT``
DCI    ``CONF:CURR:DC <range>``    ``CURR:DC:NPLC <nplc>``  ``CURR``
ACV    ``CONF:VOLT:AC <range>``    ``DET:BAND 20``          ``VOLT:AC``
R2W    ``CONF:RES <range>``        ``RES:NPLC <nplc>``      ``RES``
R4W    ``CONF:FRES <range>``       ``FRES:NPLC <nplc>``     ``FRES``
=====  ==========================  =======================  =================

AC voltage has no integration time: `configure` accepts the ``nplc``
argument and ignores it, and selects the medium AC filter (``DET:BAND
20``: inputs of 20 Hz and above, User's Guide "AC Signal Filter"; at
1 kHz it adds no low-frequency error, data sheet). Its resolution is the
6.5 digits of every AC filter (data sheet, AC Operating Characteristics).

Number format: ranges and NPLC are sent as IEEE 488.2 NRf, exactly
(`drivers.transport.nrf`): ``CONF:VOLT:DC 10``, ``VOLT:DC:NPLC 0.2``.
Initialisation does not send ``*RST``: `configure` sets every setting a
reading depends on (function, fixed range, integration time or AC filter;
``CONF`` also resets trigger and sample count), so a reset adds nothing.

Strict replies (`drivers.base`). The User's Guide (chapter 4, "Output
Data Formats") gives one format for readings: ``SD.DDDDDDDDESDD`` (S a
sign, D a digit, E the exponent), followed by ``<nl>`` (``<cr><nl>`` on
RS-232), and ``SD.DDDDDDDDESDD,...,...`` for several readings: 15
characters each, e.g. ``+1.00000230E+01``, the overload ``+9.90000000E+37``
(an open input on a resistance range reads as overload).
A reading in any other shape (``+1.0000023`` cut short, a character more
or less, garbage) raises `GarbledReply`; it is never taken as a number.
Likewise ``SYST:ERR?`` (``+0,"No error"``, ``-113,"Undefined header"``),
``CONF?`` (``"VOLT +1.000000E+01,+1.000000E-05"``,
``"CURR +1.000000E-01,+1.000000E-07"``), ``DET:BAND?``
(``+2.00000000E+01``) and ``*ESR?``.

`confirm_state` (role `drivers.roles.SelfChecking`) checks after each
point that the meter is still as the driver configured it, in one compound
query per function: ``*ESR?;CONF?;:SYST:ERR?``, and for AC voltage
``*ESR?;CONF?;:DET:BAND?;:SYST:ERR?`` (chapter 4, the introduction to
SCPI: commands separated by ``;``, a leading ``:`` starting again from the
root; in SCPI a common command such as ``*ESR?`` leaves the path as it is),
answered in one reply with the responses separated by ``;`` (IEEE 488.2
8.4), e.g. ``+0;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error"``. Each
part is held to the format of its single query; a reply with another
number of parts raises `GarbledReply`. ``SYST:ERR?`` goes last: its
message is the only part that may hold a ``;``. The joined response is
IEEE 488.2 behaviour; not checked against an example in the User's Guide
or on a real 34401A (UNVERIFIED), nor is the resolution a real 34401A
reports in ``CONF?`` for AC voltage (UNVERIFIED: not compared).

Calibration adjustment (role `drivers.roles.Adjustable`, `Keysight34401A.adjust`),
between the as-found and the as-left points. The commands are the
CALibration subsystem of the User's Guide, chapter 4 (command summary:
``CALibration?``, ``CALibration:COUNt?``, ``CALibration:SECure:CODE``,
``CALibration:SECure:STATe {OFF|ON},<code>``, ``CALibration:SECure:STATe?``,
``CALibration:STRing``, ``CALibration:VALue <value>``), used as the Service
Guide, chapter 4 "Calibration Procedures", uses them: the meter keeps its
own offset and gain calibration constants per function and range ("Zero
Offset Verification": "functions and ranges with unique offset calibration
constants"; "Gain Verification": "... with unique gain calibration
constants"), and ``CAL?`` adjusts the present function and range with the
value of the standard given by ``CAL:VAL``. `adjust` sends, each step
checked with ``SYST:ERR?`` as every configuration command is::

    *ESR?;CONF?;:SYST:ERR?          (confirm_state: still as configured)
    CAL:SEC:STAT OFF,HP034401       (unsecure with `calibration_code`)
    CAL:VAL 10                      (the applied value, NRf exactly)
    CAL?                            (+0 passed, +1 failed)
    CAL:SEC:STAT ON,HP034401        (secure again: always attempted)

The factory security code ``HP034401`` is from a public IVI driver's
source for the 34401A ("The factory-set security code is HP034401"; the
same source gives ``AG034401`` for Agilent-branded units: set
`calibration_code` on the instance for those, or for a code the laboratory
changed). UNVERIFIED (not found in a stored copy of either guide): the
exact replies (``CAL?`` ``+0``/``+1`` with its sign, ``CAL:COUN?`` ``+12``),
how the meter chooses between its zero and its gain constant from the
value (the simulator: zero below 1 % of the range), which functions,
ranges and values it accepts (the driver sends any function it drives and
any value within the range's overrange; the meter's refusal is reported),
whether a code is case-sensitive, and how long ``CAL?`` takes (the
transport's timeout must cover it: the driver cannot lengthen it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import ClassVar

from drivers import datasheet
from drivers.base import ESR_PON, SCPI_ERROR_FORMAT, MessageInstrument, shown
from drivers.clock import Clock
from drivers.errors import GarbledReply, InstrumentError
from drivers.roles import Function
from drivers.transport import Transport, nrf

#: What the 34401A returns for an overload (SCPI's 9.9E37 "not a number").
OVERLOAD = 9.9e37
MAX_SAMPLES = 512  # readings the 34401A's memory holds (User's Guide, SAMPle:COUNt)

#: One reading: ``SD.DDDDDDDDESDD`` (User's Guide, "Output Data Formats").
READING_FORMAT = re.compile(r"[+-]\d\.\d{8}E[+-]\d{2}", re.ASCII)
#: ``SYST:ERR?``: ``<code>,"<message>"`` (a SCPI string: "" stands for ").
SYST_ERR_FORMAT = SCPI_ERROR_FORMAT
#: ``CONF?``: ``"<function> <range>,<resolution>"``, numbers as ``+1.000000E+01``.
_CONF_NUMBER = r"[+-]\d\.\d{6}E[+-]\d{2}"
CONF_FORMAT = re.compile(rf'"([A-Z:]+) ({_CONF_NUMBER}),({_CONF_NUMBER})"', re.ASCII)
#: ``DET:BAND?``: a number in the reading format (``+2.00000000E+01``).
BAND_FORMAT = READING_FORMAT
#: ``CAL?``: ``+0`` (the calibration passed) or ``+1`` (it failed), signed as
#: the 34401A signs its integers (UNVERIFIED against a real meter).
CAL_FORMAT = re.compile(r"\+[01]", re.ASCII)
#: ``CAL:COUN?``: an integer (NR1), e.g. ``+12`` (the sign UNVERIFIED).
COUNT_FORMAT = re.compile(r"\+?\d{1,10}", re.ASCII)
#: `confirm_state` compares the range and resolution ``CONF?`` reports
#: (7 significant figures) with the configured ones within this fraction.
CONF_TOLERANCE = 1e-6


@dataclass(frozen=True)
class _Mode:
    """How the 34401A is told to measure one function."""

    configure: str  # CONFigure node: CONF:VOLT:DC
    sense: str  # the function's SENSe node, for :NPLC (None for AC)
    conf_name: str  # the function as CONF? names it


#: The SCPI of each function this driver drives (User's Guide, chapter 4).
MODES: dict[Function, _Mode] = {
    Function.DCV: _Mode("CONF:VOLT:DC", "VOLT:DC", "VOLT"),
    Function.DCI: _Mode("CONF:CURR:DC", "CURR:DC", "CURR"),
    Function.ACV: _Mode("CONF:VOLT:AC", "", "VOLT:AC"),
    Function.R2W: _Mode("CONF:RES", "RES", "RES"),
    Function.R4W: _Mode("CONF:FRES", "FRES", "FRES"),
}


def sheet(name: str = "k34401a.toml") -> datasheet.Datasheet:
    """The datasheet ``name`` beside this module, by default the 34401A's
    (``k34401a.toml``; read once). A model of the family has its own."""
    return datasheet.load(datasheet.beside(__file__, name))


def ac_filter(ds: datasheet.Datasheet | None = None) -> float:
    """The AC filter `configure` selects for AC voltage, Hz: the medium
    one (datasheet ``functions.ACV.performance.filter_medium``; ``ds``,
    by default the 34401A's)."""
    return (ds or sheet()).function(Function.ACV).figure("filter_medium", 0.0)


def conf_resolution(function: Function, range_: float, nplc: float,
                    ds: datasheet.Datasheet | None = None) -> float:
    """The resolution ``CONF?`` reports for ``function`` on ``range_`` at
    ``nplc`` (the User's Guide's integration-time table, in the datasheet's
    ``performance.conf_resolution``; ``ds``, by default the 34401A's)."""
    return range_ * (ds or sheet()).function(function).figure("conf_resolution", nplc)


class Keysight34401A(MessageInstrument):
    """34401A digital multimeter (roles: `Meter`, `SelfChecking`,
    `Adjustable`; DCV, DCI, ACV, R2W, R4W).

    ``Keysight34401A(transport, clock, serial=None)``: ``serial`` says the
    transport is an RS-232 line, where the meter needs ``SYST:REM`` (None:
    decided from the transport's resource string). Terminations: LF.
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("HEWLETT-PACKARD", "AGILENT", "KEYSIGHT")
    models: ClassVar[tuple[str, ...]] = ("34401A",)
    functions: ClassVar[tuple[Function, ...]] = tuple(MODES)
    error_queue_size: ClassVar[int] = 20  # SYST:ERR?; the queue holds 20
    error_help: ClassVar[str] = "see the 34401A User's Guide, chapter 5 (error messages)"
    #: The model's datasheet, beside this module (a model of the family names its own).
    datasheet_file: ClassVar[str] = "k34401a.toml"
    #: The command that selects the AC filter (User's Guide, "AC Signal Filter").
    ac_filter_command: ClassVar[str] = "DET:BAND"
    #: The calibration security code `adjust` unsecures and secures the meter
    #: with: the factory's, ``HP034401`` (see the module). A laboratory that
    #: changed it, or an Agilent-branded unit (``AG034401``, UNVERIFIED), sets
    #: it on the class or on one instance (``dmm.calibration_code = "..."``).
    calibration_code: str = "HP034401"
    #: The command that keeps the calibration constants `adjust` made in
    #: non-volatile memory, sent after ``CAL?`` ("" on the 34401A, which
    #: stores them itself: its command summary has no ``CAL:STOR``).
    calibration_store_command: ClassVar[str] = ""
    #: The query that performs one calibration step (``CALibration?``).
    calibrate_command: ClassVar[str] = "CAL?"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        #: (function, range, nplc) configured and taken (None: not, or failed).
        self._config: tuple[Function, float, float] | None = None
        #: (function, range, nplc) last asked for by `configure`, for `confirm_state`.
        self._wanted: tuple[Function, float, float] | None = None
        self._sample_count = 1  # after *RST and CONF (User's Guide, "SAMPle:COUNt")

    def initialize(self) -> None:
        """``*CLS``, ``SYST:REM`` (RS-232 only), then ``SYST:ERR?`` until
        ``+0,"No error"``.

        ``*CLS`` comes first so that errors left from before this run do
        not count against it."""
        self.transport.write("*CLS")
        if self.serial:
            self.transport.write("SYST:REM")
        self.check_errors("SYST:REM" if self.serial else "*CLS")

    @classmethod
    def sheet(cls) -> datasheet.Datasheet:
        """The model's datasheet (`datasheet_file`; read once)."""
        return sheet(cls.datasheet_file)

    # -- Meter

    def ranges(self, function: Function) -> tuple[float, ...]:
        """The full scales of ``function``'s ranges, from the model's
        datasheet (34401A: DCV 100 mV..1000 V, DCI 10 mA..3 A, ACV
        100 mV..750 V, R2W and R4W 100 Ohm..100 MOhm; in V, A, Ohm)."""
        self._mode(function)
        return self.sheet().function(function).ranges

    def configure(self, function: Function, range_: float, nplc: float) -> None:
        """``CONF:<function> <range>`` then ``<function>:NPLC <nplc>`` (DC
        functions and resistance) or ``DET:BAND 20`` (AC voltage), each
        checked with ``SYST:ERR?``. See the module's table for the commands.

        ``range_``: full scale in the function's unit, one of `ranges`
        (fixed range, no autoranging). ``nplc``: integration time in
        power-line cycles, one of the datasheet's (0.02, 0.2, 1, 10, 100);
        for AC voltage, which has no integration time, it is accepted and
        ignored, and the medium AC filter (for inputs of 20 Hz and above,
        such as 1 kHz) is selected instead."""
        mode = self._mode(function)
        fs = self.sheet().function(function)
        command = f"{mode.configure} {nrf(range_)}"
        if not fs.has_range(range_):
            raise InstrumentError(
                self.name, command, f"{range_:g} {function.unit} is not one of its {function.description} ranges",
                "use one of " + ", ".join(f"{r:g}" for r in fs.ranges) + f" {function.unit}",
            )
        if function.is_ac:
            second = f"{self.ac_filter_command} {nrf(ac_filter(self.sheet()))}"
        else:
            second = f"{mode.sense}:NPLC {nrf(nplc)}"
            if not any(math.isclose(n, nplc, rel_tol=1e-9) for n in fs.nplc):
                raise InstrumentError(
                    self.name, second, f"{nplc:g} is not an integration time of the {self.models[0]}",
                    "use one of " + ", ".join(f"{n:g}" for n in fs.nplc) + " PLC",
                )
        self._config = None
        self._wanted = (function, float(range_), float(nplc))  # what confirm_state checks, taken or not
        self._configure(command)  # CONFigure also sets the sample count to 1
        self._sample_count = 1
        self._configure(second)
        self._config = self._wanted

    def resolution(self) -> float:
        """One least significant digit in the present configuration, in the
        unit of the configured function. Needs `configure` first."""
        if self._config is None:
            raise InstrumentError(
                self.name, "CONF?", "resolution unknown: the meter is not configured",
                "call configure() first",
            )
        return self.resolution_for(*self._config)

    def resolution_for(self, function: Function, range_: float, nplc: float) -> float:
        """One least significant digit, in the function's unit, per the
        datasheet: range x 10^-int(digits), digits by integration time
        (6.5 at NPLC >= 10: 100 nV on 100 mV, 10 uV on 10 V; 5.5 at 0.2 and
        1 PLC; 4.5 at 0.02 PLC). AC voltage: 6.5 digits whatever ``nplc``.
        Sends nothing."""
        self._mode(function)
        fs = self.sheet().function(function)
        if function.is_ac:
            return range_ * 10.0 ** -int(fs.figure("digits", 0.0))
        return fs.digit(range_, nplc)

    def read(self) -> float:
        """``READ?``: one reading in the present configuration, in the
        configured function's unit (V, A, Ohm).

        Raises `GarbledReply` unless the reply is one reading in the
        format ``SD.DDDDDDDDESDD``, and `InstrumentError` on an overload
        (``+9.90000000E+37``)."""
        if self._sample_count != 1:
            self._set_sample_count(1)
        return self._value(self._query("READ?"))

    def read_many(self, n: int) -> list[float]:
        """``SAMP:COUN n`` (when it changes) then one ``READ?``: n readings
        from one trigger, returned together as ``+1.0E+01,+1.0E+01,...``.

        One bus exchange instead of n; the 34401A holds up to 512 readings,
        so larger blocks are taken 512 at a time."""
        if n < 1:
            raise ValueError(f"cannot take {n} readings")
        values: list[float] = []
        while len(values) < n:
            count = min(n - len(values), MAX_SAMPLES)
            if self._sample_count != count:
                self._set_sample_count(count)
            fields = self._query("READ?").split(",")
            if len(fields) != count:
                raise GarbledReply(self.name, "READ?", f"{len(fields)} readings where {count} were asked for",
                                   "check the cable and the interface settings")
            values.extend(map(self._value, fields))
        return values

    # -- SelfChecking

    def confirm_state(self) -> None:
        """Raise `InstrumentError` unless the meter is still as this driver
        configured it: no power cycle since (``*ESR?`` PON clear), ``CONF?``
        reporting the configured function on the configured range with the
        resolution the configured integration time gives (the datasheet's
        ``conf_resolution``; for AC voltage the resolution is not compared
        and ``DET:BAND?`` must report the AC filter `configure` chose), and
        an empty error queue (``SYST:ERR?``).

        Costs 1 exchange: the compound query ``*ESR?;CONF?;:SYST:ERR?``
        (AC voltage: ``*ESR?;CONF?;:DET:BAND?;:SYST:ERR?``) and its one
        reply, plus one ``SYST:ERR?`` exchange per further queued error
        when it reported one. Before `configure` was ever called only the
        error queue is read (``SYST:ERR?``): 1 exchange. The whole reply is
        checked before any of it is used: `GarbledReply` (naming the
        compound command) unless it holds exactly one part per query, each
        in its query's format. The checks then come in the order above; the
        first that fails is raised (an error ``SYST:ERR?`` took from the
        queue is then not reported)."""
        cause = "an error was queued since the last command"
        if self._wanted is None:
            self.check_errors("SYST:ERR?", cause)
            return
        function, range_, nplc = self._wanted
        hint = "the point's readings are invalid; check the meter, then configure it again"
        ac = function.is_ac
        band_query = f"{self.ac_filter_command}?"
        queries = ("*ESR?", "CONF?", f":{band_query}", ":SYST:ERR?") if ac else ("*ESR?", "CONF?", ":SYST:ERR?")
        command, parts = self._query_parts(queries)
        status = self._parse_esr(parts[0], command)
        match = CONF_FORMAT.fullmatch(parts[1])
        if match is None:
            raise self._garbled(command, parts[1], '"<function> <range>,<resolution>"', "CONF?")
        band = None
        if ac:
            if not BAND_FORMAT.fullmatch(parts[2]):
                raise self._garbled(command, parts[2], "a number SD.DDDDDDDDESDD", band_query)
            band = float(parts[2])
        error = self._parse_error(parts[-1], command)
        if status & ESR_PON:
            raise InstrumentError(
                self.name, "*ESR?", "the meter was switched off and on (PON) since it was configured",
                "its configuration is lost: " + hint,
            )
        name, got_range, got_resolution = match.group(1), float(match.group(2)), float(match.group(3))
        mode = self._mode(function)
        unit = function.unit
        if ac:
            want = f"{function.description} on the {range_:g} {unit} range"
            expected = f'"{mode.conf_name} {range_:+.6E},..."'
            resolution_ok = True
        else:
            resolution = conf_resolution(function, range_, nplc, self.sheet())
            want = f"{function.description} on the {range_:g} {unit} range at {nplc:g} PLC"
            expected = f'"{mode.conf_name} {range_:+.6E},{resolution:+.6E}"'
            resolution_ok = abs(got_resolution - resolution) <= resolution * CONF_TOLERANCE
        if name != mode.conf_name or abs(got_range - range_) > range_ * CONF_TOLERANCE or not resolution_ok:
            raise InstrumentError(
                self.name, "CONF?", f"the meter is set to {parts[1]}, not to {want} ({expected})", hint,
            )
        if band is not None:
            wanted_band = ac_filter(self.sheet())
            if not math.isclose(band, wanted_band, rel_tol=CONF_TOLERANCE):
                raise InstrumentError(
                    self.name, band_query, f"the AC filter is {band:g} Hz, not {wanted_band:g} Hz as configured",
                    hint,
                )
        if error[0] != 0:
            self._drain_errors(error, "SYST:ERR?", cause)

    # -- Adjustable

    def adjust(self, function: Function, range_: float, applied: float) -> None:
        """Adjust the meter on ``function`` and ``range_``, configured
        before (`configure`), so that it reads ``applied`` (in the
        function's unit), the value the standard applies to its input now:
        near zero the meter sets its offset constant, elsewhere its gain
        constant (the meter decides; see the module).

        Sends nothing and raises `InstrumentError` (naming what is
        configured) unless the driver last configured exactly this function
        and range, or if ``applied`` is beyond the range and its overrange
        (the datasheet's). Then `confirm_state` (1 exchange) checks the meter
        itself is still so configured, with no power cycle and no queued
        error, and raises if not. Then ``CAL:SEC:STAT OFF,<code>``
        (`secure_calibration`), ``CAL:VAL <applied>``
        (`set_calibration_value`), ``CAL?`` (`calibrate`) and, on a model
        that needs it, `calibration_store_command`; these stop at the first
        that fails (a value the meter refused must not be calibrated with).
        Whatever happened, ``CAL:SEC:STAT ON,<code>`` is attempted last; the
        first failure is then raised (`InstrumentError`: the meter's error,
        or ``+1`` from ``CAL?``, "the adjustment failed"; `GarbledReply` for
        a reply not in its format). `calibration_code` is the code. The
        configuration is unchanged: `confirm_state` still passes after.

        Costs, when nothing fails: the state query (1 exchange), three
        commands each followed by a ``SYST:ERR?`` exchange, and ``CAL?``
        with its ``SYST:ERR?`` (2 exchanges): 6 exchanges and 3 writes on
        the 34401A (a model with `calibration_store_command`: one more write
        and exchange)."""
        self._mode(function)
        unit = function.unit
        value_command = f"CAL:VAL {nrf(applied)}"  # ValueError for NaN or infinity, before anything is sent
        config = self._config
        if config is None or config[0] is not function or not math.isclose(config[1], range_, rel_tol=1e-9):
            configured = ("nothing: configure() was not called or failed" if config is None
                          else f"{config[0].description} on the {config[1]:g} {config[0].unit} range")
            raise InstrumentError(
                self.name, value_command,
                f"cannot adjust {function.description} on the {range_:g} {unit} range: the meter is configured "
                f"to {configured}",
                f"configure({function}, {range_:g}, nplc) first, then adjust",
            )
        fs = self.sheet().function(function)
        if abs(applied) > range_ * fs.overrange:
            raise InstrumentError(
                self.name, value_command,
                f"{applied:g} {unit} is outside the {range_:g} {unit} range (up to {range_ * fs.overrange:g} {unit})",
                "apply a value within the range: 0 for its offset, full scale for its gain",
            )
        self.confirm_state()

        def adjustment() -> None:
            self.secure_calibration(False)
            self.set_calibration_value(applied)
            self.calibrate()
            if self.calibration_store_command:
                self._calibration_step(self.calibration_store_command, "the new constants may not be kept")

        self._every_step(adjustment, lambda: self.secure_calibration(True))

    def secure_calibration(self, secured: bool) -> None:
        """``CAL:SEC:STAT ON,<code>`` (``secured``) or ``CAL:SEC:STAT
        OFF,<code>``, with `calibration_code`, then ``SYST:ERR?``:
        `InstrumentError` if the meter refused (a wrong code)."""
        command = f"CAL:SEC:STAT {'ON' if secured else 'OFF'},{self.calibration_code}"
        cause = ("the meter may be left unsecured: secure it with the right code" if secured
                 else "the calibration stays secured: check calibration_code")
        self._calibration_step(command, cause)

    def set_calibration_value(self, value: float) -> None:
        """``CAL:VAL <value>`` (NRf, exactly: `drivers.transport.nrf`), the
        value of the standard applied now, in the configured function's
        unit; then ``SYST:ERR?``."""
        self._calibration_step(f"CAL:VAL {nrf(value)}", "the adjustment failed")

    def calibrate(self) -> None:
        """``CAL?``: the meter adjusts its present function and range with
        the ``CAL:VAL`` value, and answers ``+0`` (passed) or ``+1``
        (failed); then ``SYST:ERR?``.

        `GarbledReply` unless the reply is exactly ``+0`` or ``+1`` (whether
        the meter adjusted is then unknown: verify it). `InstrumentError`
        ("the adjustment failed") with the meter's first queued error, or
        for ``+1``."""
        command = self.calibrate_command
        reply = self._query(command)
        if not CAL_FORMAT.fullmatch(reply):
            raise self._garbled(command, reply, "+0 (passed) or +1 (failed); whether the meter adjusted is unknown")
        self.check_errors(command, "the adjustment failed")
        if reply == "+1":
            raise InstrumentError(
                self.name, command, "the meter answered +1: the adjustment failed",
                "check the standard's output, the leads, the function, range and value, then adjust again",
            )

    def calibration_count(self) -> int:
        """``CAL:COUN?``: how many calibrations the meter has made (kept
        in its non-volatile memory; each `adjust` that passed adds one).
        `GarbledReply` unless the reply is an integer (``+12``)."""
        reply = self._query("CAL:COUN?")
        if not COUNT_FORMAT.fullmatch(reply):
            raise self._garbled("CAL:COUN?", reply, "an integer such as +12")
        return int(reply)

    def _calibration_step(self, command: str, cause: str) -> None:
        """Send ``command``, then read the error queue; `InstrumentError`
        with the first error and ``cause``."""
        self.transport.write(command)
        self.check_errors(command, cause)

    def _mode(self, function: Function) -> _Mode:
        """``function``'s SCPI; `InstrumentError` for a function this driver does not drive."""
        self._check_function(function, MODES[function].configure if function in MODES else "CONF")
        return MODES[function]

    def _set_sample_count(self, count: int) -> None:
        self._configure(f"SAMP:COUN {count}")
        self._sample_count = count

    def _value(self, reply: str) -> float:
        """One reading, strictly ``SD.DDDDDDDDESDD``."""
        if not READING_FORMAT.fullmatch(reply):
            raise GarbledReply(
                self.name, "READ?", f"reply {shown(reply)} is not a number in the reading format SD.DDDDDDDDESDD",
                "check the cable, the interface settings and the terminations",
            )
        value = float(reply)
        if abs(value) >= OVERLOAD:
            raise InstrumentError(
                self.name, "READ?", f"overload ({reply}): the input exceeds the range",
                "check the range, the function and the leads",
            )
        return value

    # -- error checking

    def _error_text(self, code: int, text: str) -> str:
        return f"error {code:+d}, {text}"


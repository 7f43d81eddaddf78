"""Simulated Keysight (HP, Agilent) 3458A reference multimeter, DC voltage.

Speaks the subset of the 3458A's own language (User's Guide 03458-90014,
chapter 4; not SCPI) that a DC voltage measurement uses: ``ID?``,
``REV?``, ``RESET``, ``PRESET [NORM]``, ``END``, ``OFORMAT``, ``MEM``,
``MATH``, ``DCV [range|AUTO][,%resolution]``, ``FUNC DCV[,range]``,
``FUNC?``, ``NPLC``, ``NPLC?``, ``NDIG``, ``NDIG?``, ``AZERO``, ``AZERO?``,
``TARM``, ``TARM?``, ``TRIG``, ``TRIG?``, ``NRDGS``, ``ERRSTR?``, ``ERR?``,
``STB?``, ``CSB``, ``TEMP?``, ``ACAL``. Headers and parameters are separated
by a blank or a comma; commands in one line by ``;``. The 3458A has no
``*IDN?`` (nor any ``*`` command): they are unknown commands here too.

The physics: it reads what its ``input`` port senses (a `Stimulus`; only
``DCV`` reaches it, any other function or none reads about 0 V) through its
own errors, a gain and an offset per range drawn (seeded from ``rng``)
uniformly within ``error_fraction`` of the 24-hour specification of the
datasheet beside the driver (``k3458a.toml``), plus Gaussian noise of
``noise_fraction`` of that range's 24-hour range term (rms, at 100 PLC;
times sqrt(100/NPLC) below), quantised to range x 10^-NDIG, and formatted
as the 3458A does under ``OFORMAT ASCII`` (15 bytes, ``SD.DDDDDDDDESDD``,
the sign a blank or ``-``: `` 1.00000012E+01``), each reading followed by
CR LF. Beyond the datasheet's overrange (120 % of range) a reading is the
overload value ``±1.00000000E+38`` (UNVERIFIED, as in the driver).

Triggering: ``TARM SGL[,count]`` arms ``count`` times (then HOLD); with
``TRIG AUTO`` (or SYN) each arm takes ``NRDGS`` readings at once.
``TRIG SGL`` triggers once if the arm is AUTO (or SYN), then HOLD. With
arm and trigger AUTO (the power-on state) a real 3458A takes readings on
its own; this simulator does not (no reading is ever sent unasked).
Sample events other than AUTO, and EXT/LEVEL/LINE triggers, are not
simulated (no readings).

Errors: an error register, not a queue (User's Guide, ERR?): one entry
per kind of error, ``ERRSTR?`` returns the least significant set
(``<number>,"<message>"``) and clears it, ``0,"NO ERROR"`` when none;
``ERR?`` returns the register's bits and clears them. The numbers (100 +
the bit's position) and the texts are UNVERIFIED against the User's
Guide's table. Unknown commands, unknown or missing parameters and values
out of range set an error and change nothing; a parameter to a command
that takes none is ignored (and says so). ``STB?``: bit 3 power-on SRQ
(set by `power_cycle`, cleared by ``CSB``; whether the real meter needs
``PONSRQ`` for it is UNVERIFIED), bit 4 ready (clear during ``ACAL``),
bit 5 an error is set.

Replies to several queries in one line are sent as separate lines, each
with CR LF (what a real 3458A does with them is UNVERIFIED; the driver
never sends them). Query reply layouts (``FUNC?`` ``1, 1.00000000E+01``,
``TARM?`` ``4``, ``REV?`` ``9,2``, ``TEMP?`` in the reading format) are
UNVERIFIED, as documented in the driver.

`power_cycle` (from the base class): the power-on state (DC volts,
autorange, 10 PLC, NDIG 7: the 3458A shows 7.5 digits after power-on,
autozero on, arm and trigger AUTO, one reading per trigger, ASCII, END
OFF, no math, no reading memory), an empty error register, power-on SRQ
set. ``RESET`` gives the same settings; ``PRESET NORM`` the same with
1 PLC and TRIG SYN (UNVERIFIED details). Not simulated: the other
functions (ACV, DCI, OHM...), ``OFORMAT`` other than ASCII, reading memory,
math, ``PRESET FAST|DIG``, and the time a reading takes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from drivers.clock import Clock
from drivers.keysight.k3458a import DATASHEET
from drivers.roles import Function
from drivers.sim.base import SimulatedInstrument

SHEET = DATASHEET.function(Function.DCV)
#: What the meter sends for an overload (UNVERIFIED, see the driver).
OVERLOAD = 1.0e38

# The error register: (number, message); the bit is number - 100 (UNVERIFIED).
ERR_TRIGGER_TOO_FAST = (102, "TRIGGER TOO FAST")
ERR_SYNTAX = (103, "SYNTAX ERROR")
ERR_UNKNOWN_COMMAND = (104, "UNKNOWN COMMAND RECEIVED")
ERR_UNKNOWN_PARAMETER = (105, "UNKNOWN PARAMETER RECEIVED")
ERR_OUT_OF_RANGE = (106, "PARAMETER OUT OF RANGE")
ERR_MISSING_PARAMETER = (107, "REQUIRED PARAMETER MISSING")
ERR_PARAMETER_IGNORED = (108, "PARAMETER IGNORED")

#: Trigger and arm events and the numbers their queries answer.
EVENT_NUMBERS: dict[str, int] = {"AUTO": 1, "EXT": 2, "SGL": 3, "HOLD": 4, "SYN": 5, "LEVEL": 7, "LINE": 8}
TARM_EVENTS = ("AUTO", "EXT", "SGL", "HOLD", "SYN")
TRIG_EVENTS = ("AUTO", "EXT", "SGL", "HOLD", "SYN", "LEVEL", "LINE")
SAMPLE_EVENTS = ("AUTO", "EXT", "SYN", "TIMER", "LEVEL", "LINE")
MAX_READINGS = 16_777_215
NPLC_MAX = 1000.0
NDIG_MIN, NDIG_MAX = 3, 8
#: The integration time and digits after power-on and RESET.
POWER_ON_NPLC, POWER_ON_NDIG = 10.0, 7

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEADER = re.compile(r"([^\s,]+)[\s,]*(.*)", re.DOTALL)


def reading_text(value: float) -> str:
    """``value`` as the 3458A sends it under ``OFORMAT ASCII``: 15 bytes,
    ``SD.DDDDDDDDESDD``, the sign a blank when positive."""
    text = f"{value + 0.0:.8E}"
    return text if text.startswith("-") else " " + text


class Sim3458A(SimulatedInstrument):
    """Simulated 3458A, DC voltage function.

    ``Sim3458A(name="reference", clock=None, rng=None, error_fraction=0.1,
    noise_fraction=0.05, temperature_c=36.0, acal_time_s=120.0)``. State
    the tests read: `function`, `range` (None: autorange), `nplc`, `ndig`,
    `tarm`, `trig`, `readings`, `acal_count`; `range_errors` (gain, offset
    in V) per range.
    """

    idn = "HP3458A"  # the ID? reply
    write_termination = "\n"
    read_termination = "\r\n"
    error_queue_size = 32
    inputs = ("input",)

    def __init__(
        self,
        name: str = "reference",
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        error_fraction: float = 0.1,
        noise_fraction: float = 0.05,
        temperature_c: float = 36.0,
        acal_time_s: float = 120.0,
    ) -> None:
        super().__init__(name, clock)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        spec = SHEET.spec("24h")
        #: Per range full scale: (gain error, offset error in V), uniformly
        #: within ``error_fraction`` of the 24-hour specification.
        self.range_errors: dict[float, tuple[float, float]] = {}
        #: Per range: the rms noise at 100 PLC, in V.
        self.range_noise: dict[float, float] = {}
        for full in SHEET.ranges:
            terms = spec.row(full, full).terms
            self.range_errors[full] = (float(self.rng.uniform(-1, 1)) * terms.reading * error_fraction,
                                       float(self.rng.uniform(-1, 1)) * terms.range * full * error_fraction)
            self.range_noise[full] = noise_fraction * terms.range * full
        self.temperature_c = temperature_c
        self.acal_time_s = acal_time_s
        self.acal_count = 0
        self._busy_until = -math.inf
        self.revision = "9,2"
        self._commands: dict[str, Callable[[str], str | None]] = {
            "ID?": self._id, "REV?": self._rev, "ERRSTR?": self._errstr, "ERR?": self._err,
            "STB?": self._stb, "CSB": self._csb, "TEMP?": self._temp, "RESET": self._reset,
            "PRESET": self._preset, "END": self._end, "OFORMAT": self._oformat, "MEM": self._mem,
            "MATH": self._math, "DCV": self._dcv, "FUNC": self._func, "FUNC?": self._func_query,
            "NPLC": self._nplc, "NPLC?": self._nplc_query, "NDIG": self._ndig, "NDIG?": self._ndig_query,
            "AZERO": self._azero, "AZERO?": self._azero_query, "TARM": self._tarm,
            "TARM?": lambda a: self._event_query(a, self.tarm), "TRIG": self._trig,
            "TRIG?": lambda a: self._event_query(a, self.trig), "NRDGS": self._nrdgs, "ACAL": self._acal,
        }
        self.power_on()

    # -- state

    def reset(self) -> None:
        """``RESET``: the power-on measurement settings (the error register is kept)."""
        self.function = "DCV"
        #: Fixed range (full scale, V), or None for autorange.
        self.range: float | None = None
        self.nplc = POWER_ON_NPLC
        self.ndig = POWER_ON_NDIG
        self.azero = True
        self.tarm = "AUTO"
        self.trig = "AUTO"
        #: (count, sample event) per trigger.
        self.readings: tuple[int, str] = (1, "AUTO")
        self.oformat = "ASCII"
        self.end = "OFF"
        self.memory = "OFF"
        self.math = "OFF"

    def power_on(self) -> None:
        """Power-on state: the `reset` settings, power-on SRQ set in the status byte."""
        self.reset()
        self.power_on_srq = True
        self._busy_until = -math.inf

    # -- the physics

    def _input_voltage(self) -> float:
        s = self.sense("input")
        return s.value if s.function == Function.DCV.value else 0.0

    def present_range(self) -> float:
        """The fixed range, or the one autorange picks for the input now."""
        if self.range is not None:
            return self.range
        x = abs(self._input_voltage())
        return next((r for r in SHEET.ranges if x <= r * SHEET.overrange), SHEET.ranges[-1])

    def measure_value(self) -> float:
        """One reading in V as the meter sends it: quantised to range x
        10^-NDIG, or the signed overload value beyond the overrange."""
        x = self._input_voltage()
        full = self.present_range()
        gain, offset = self.range_errors[full]
        sigma = self.range_noise[full] * math.sqrt(100.0 / max(self.nplc, 1e-4))
        value = x * (1.0 + gain) + offset + float(self.rng.normal(0.0, sigma))
        if abs(value) > full * SHEET.overrange:
            return math.copysign(OVERLOAD, value)
        step = full * 10.0 ** -self.ndig
        return round(value / step) * step

    def _take(self, arms: int) -> str | None:
        """Readings for ``arms`` trigger arms under the present trigger
        settings, one line each (None: none taken)."""
        if self.trig not in ("AUTO", "SYN") or self.readings[1] != "AUTO" or self.function != "DCV":
            return None
        count = self.readings[0] * arms
        return "\r\n".join(reading_text(self.measure_value()) for _ in range(count))

    # -- dispatch

    def handle(self, line: str) -> str | None:
        """One program message: commands separated by ``;``, header and
        parameters by a blank or a comma; the replies of its queries each
        on its own line (CR LF between them)."""
        with self._lock:
            self.received.append(line)
            replies: list[str] = []
            for part in line.split(";"):
                part = part.strip()
                if not part:
                    continue
                match = _HEADER.fullmatch(part)
                assert match is not None  # a non-blank part always has a header
                reply = self.execute(match.group(1).upper(), match.group(2).strip())
                if reply is not None:
                    replies.append(reply)
            if self.silent or not replies:
                return None
            return "\r\n".join(replies)

    def execute(self, header: str, argument: str) -> str | None:
        handler = self._commands.get(header)
        if handler is None:
            self._error(ERR_UNKNOWN_COMMAND)
            return None
        return handler(argument)

    def _error(self, error: tuple[int, str]) -> None:
        self.push_error(*error)

    def push_error(self, code: int, text: str) -> None:
        """Set the error's bit in the error register (once, however often it happens)."""
        if all(c != code for c, _ in self.errors):
            entries = sorted([*self.errors, (code, text)])
            self.errors.clear()
            self.errors.extend(entries)

    def overflow_error(self) -> tuple[int, str]:
        return ERR_PARAMETER_IGNORED  # a register cannot overflow; never used

    def argument_not_allowed(self) -> None:
        self._error(ERR_PARAMETER_IGNORED)

    def _bare(self, argument: str) -> None:
        """A command that takes no parameter: one given is ignored (and said so)."""
        if argument:
            self.argument_not_allowed()

    def _params(self, argument: str) -> list[str]:
        return [p.strip().upper() for p in re.split(r"[\s,]+", argument.strip())] if argument.strip() else []

    def _number(self, text: str) -> float | None:
        """A numeric parameter, or None (and UNKNOWN PARAMETER) if it is not one."""
        if not _NUMBER.fullmatch(text):
            self._error(ERR_UNKNOWN_PARAMETER)
            return None
        return float(text)

    def _choice(self, argument: str, choices: tuple[str, ...], numbers: dict[str, str] | None = None) -> str | None:
        params = self._params(argument)
        if not params:
            self._error(ERR_MISSING_PARAMETER)
            return None
        word = (numbers or {}).get(params[0], params[0])
        if word not in choices:
            self._error(ERR_UNKNOWN_PARAMETER)
            return None
        if len(params) > 1:
            self._error(ERR_PARAMETER_IGNORED)
        return word

    # -- commands

    def _id(self, argument: str) -> str:
        self._bare(argument)
        return self.idn

    def _rev(self, argument: str) -> str:
        self._bare(argument)
        return self.revision

    def _errstr(self, argument: str) -> str:
        self._bare(argument)
        error = self.pop_error()
        return '0,"NO ERROR"' if error is None else f'{error[0]},"{error[1]}"'

    def _err(self, argument: str) -> str:
        self._bare(argument)
        value = sum(1 << (code - 100) for code, _ in self.errors)
        self.errors.clear()
        return str(value)

    def _stb(self, argument: str) -> str:
        self._bare(argument)
        value = (8 if self.power_on_srq else 0) | (32 if self.errors else 0)
        if self.clock.now() >= self._busy_until:
            value |= 16
        return str(value)

    def _csb(self, argument: str) -> None:
        self._bare(argument)
        self.power_on_srq = False

    def _temp(self, argument: str) -> str:
        self._bare(argument)
        return reading_text(round(self.temperature_c, 1))

    def _reset(self, argument: str) -> None:
        self._bare(argument)
        self.reset()

    def _preset(self, argument: str) -> None:
        """``PRESET [NORM]`` (FAST and DIG are not simulated: UNKNOWN PARAMETER)."""
        if self._choice(argument or "NORM", ("NORM",), {"1": "NORM"}) is None:
            return
        self.reset()
        self.nplc, self.trig = 1.0, "SYN"

    def _end(self, argument: str) -> None:
        word = self._choice(argument, ("OFF", "ON", "ALWAYS"), {"0": "OFF", "1": "ON", "2": "ALWAYS"})
        if word is not None:
            self.end = word

    def _oformat(self, argument: str) -> None:
        if self._choice(argument, ("ASCII",), {"1": "ASCII"}) is not None:
            self.oformat = "ASCII"  # the binary formats are not simulated

    def _mem(self, argument: str) -> None:
        if self._choice(argument, ("OFF",), {"0": "OFF"}) is not None:
            self.memory = "OFF"  # reading memory is not simulated

    def _math(self, argument: str) -> None:
        if self._choice(argument, ("OFF",), {"0": "OFF"}) is not None:
            self.math = "OFF"  # math is not simulated

    def _select_range(self, text: str) -> tuple[bool, float | None]:
        """A max-input parameter: (ok, range; None for AUTO)."""
        if text == "AUTO":
            return True, None
        value = self._number(text)
        if value is None:
            return False, None
        full = next((r for r in SHEET.ranges if abs(value) <= r * (1 + 1e-9)), None)
        if full is None:
            self._error(ERR_OUT_OF_RANGE)
            return False, None
        return True, full

    def _dcv(self, argument: str) -> None:
        """``DCV [max_input|AUTO][,%_resolution]``: DC volts on the smallest
        range holding ``max_input`` (fixed), or autorange. A resolution is
        checked to be a number and otherwise ignored (the integration time
        stays as NPLC set it)."""
        params = self._params(argument)
        if len(params) > 2:
            self._error(ERR_PARAMETER_IGNORED)
        ok, full = self._select_range(params[0]) if params else (True, None)
        if not ok or (len(params) > 1 and self._number(params[1]) is None):
            return
        self.function, self.range = "DCV", full

    def _func(self, argument: str) -> None:
        """``FUNC DCV|1[,max_input[,%_resolution]]`` (DCV only)."""
        params = self._params(argument)
        if not params:
            self._error(ERR_MISSING_PARAMETER)
            return
        if params[0] not in ("DCV", "1"):
            self._error(ERR_UNKNOWN_PARAMETER)  # the other functions are not simulated
            return
        self._dcv(",".join(params[1:]))

    def _func_query(self, argument: str) -> str:
        self._bare(argument)
        return f"1,{reading_text(self.present_range())}"

    def _nplc(self, argument: str) -> None:
        params = self._params(argument)
        if not params:
            self._error(ERR_MISSING_PARAMETER)
            return
        value = self._number(params[0])
        if value is None:
            return
        if not 0.0 <= value <= NPLC_MAX:
            self._error(ERR_OUT_OF_RANGE)
            return
        self.nplc = value

    def _nplc_query(self, argument: str) -> str:
        self._bare(argument)
        return reading_text(self.nplc)

    def _ndig(self, argument: str) -> None:
        params = self._params(argument)
        if not params:
            self._error(ERR_MISSING_PARAMETER)
            return
        value = self._number(params[0])
        if value is None:
            return
        digits = math.floor(value + 0.5)  # floating-point parameters are rounded
        if not NDIG_MIN <= digits <= NDIG_MAX:
            self._error(ERR_OUT_OF_RANGE)
            return
        self.ndig = digits

    def _ndig_query(self, argument: str) -> str:
        self._bare(argument)
        return str(self.ndig)

    def _azero(self, argument: str) -> None:
        word = self._choice(argument, ("OFF", "ON", "ONCE"), {"0": "OFF", "1": "ON", "2": "ONCE"})
        if word is not None:
            self.azero = word != "OFF"

    def _azero_query(self, argument: str) -> str:
        self._bare(argument)
        return "1" if self.azero else "0"

    def _event_query(self, argument: str, event: str) -> str:
        self._bare(argument)
        return str(EVENT_NUMBERS[event])

    def _tarm(self, argument: str) -> str | None:
        """``TARM AUTO|EXT|SGL[,count]|HOLD|SYN``: SGL arms ``count`` times
        (default 1), takes the readings, then holds."""
        params = self._params(argument)
        numbers = {str(v): k for k, v in EVENT_NUMBERS.items()}
        word = self._choice(params[0] if params else "", TARM_EVENTS, numbers)
        if word is None:
            return None
        if word != "SGL":
            if len(params) > 1:
                self._error(ERR_PARAMETER_IGNORED)
            self.tarm = word
            return None
        arms = 1
        if len(params) > 1:
            value = self._number(params[1])
            if value is None:
                return None
            arms = math.floor(value + 0.5)
            if not 1 <= arms <= MAX_READINGS:
                self._error(ERR_OUT_OF_RANGE)
                return None
        self.tarm = "HOLD"
        return self._take(arms)

    def _trig(self, argument: str) -> str | None:
        """``TRIG AUTO|EXT|SGL|HOLD|SYN|LEVEL|LINE``: SGL triggers once if
        the arm is AUTO or SYN, then holds."""
        numbers = {str(v): k for k, v in EVENT_NUMBERS.items()}
        word = self._choice(argument, TRIG_EVENTS, numbers)
        if word is None:
            return None
        if word != "SGL":
            self.trig = word
            return None
        self.trig = "HOLD"
        if self.tarm not in ("AUTO", "SYN") or self.readings[1] != "AUTO" or self.function != "DCV":
            return None
        return "\r\n".join(reading_text(self.measure_value()) for _ in range(self.readings[0]))

    def _nrdgs(self, argument: str) -> None:
        """``NRDGS count[,AUTO|EXT|SYN|TIMER|LEVEL|LINE]``."""
        params = self._params(argument)
        if not params:
            self._error(ERR_MISSING_PARAMETER)
            return
        value = self._number(params[0])
        if value is None:
            return
        count = math.floor(value + 0.5)
        if not 1 <= count <= MAX_READINGS:
            self._error(ERR_OUT_OF_RANGE)
            return
        event = params[1] if len(params) > 1 else "AUTO"
        if event not in SAMPLE_EVENTS:
            self._error(ERR_UNKNOWN_PARAMETER)
            return
        if len(params) > 2:
            self._error(ERR_PARAMETER_IGNORED)
        self.readings = (count, event)

    def _acal(self, argument: str) -> None:
        """``ACAL [ALL|DCV|AC|OHMS]``: counted; the meter is busy for
        `acal_time_s` of bench-clock time (``STB?`` bit 4 clear)."""
        numbers = {"0": "ALL", "1": "DCV", "2": "AC", "4": "OHMS"}
        if self._choice(argument or "ALL", ("ALL", "DCV", "AC", "OHMS"), numbers) is None:
            return
        self.acal_count += 1
        self._busy_until = self.clock.now() + self.acal_time_s

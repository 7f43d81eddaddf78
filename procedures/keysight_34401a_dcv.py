"""Keysight (HP, Agilent) 34401A DC voltage, against a multifunction calibrator.

Every DCV range from 100 mV to 1000 V: zero, positive and negative full
scale, and a linearity check on the 10 V range. The DMM integrates over
10 power-line cycles (6.5 digits) with a fixed range; the calibrator
applies each nominal value and the mean of n readings is compared with it
against the 34401A's 1-year specification.
"""

from __future__ import annotations

from collections.abc import Sequence

from station.procedure import (
    Context,
    Function,
    Meter,
    Observation,
    Procedure,
    Source,
    SpecRef,
    TestPoint,
)

#: Range (V) -> nominal values (V), in the order they are taken.
POINTS: dict[float, tuple[float, ...]] = {
    0.1: (0.0, 0.1, -0.1),
    1.0: (0.0, 1.0, -1.0),
    10.0: (0.0, 1.0, 5.0, 10.0, -10.0),
    100.0: (0.0, 100.0, -100.0),
    1000.0: (0.0, 1000.0, -1000.0),
}

HAZARD_V = 30.0  # above this the terminals are dangerous to touch (IEC 61010)


class Keysight34401aDcv(Procedure):
    name = "keysight-34401a-dcv"
    version = "1.0.0"
    title = "Keysight 34401A digital multimeter, DC voltage"
    method = (
        "Direct comparison with a multifunction calibrator: the calibrator applies each nominal "
        "DC voltage to the DMM's front input; the DMM, on a fixed range at 10 NPLC, takes n "
        "readings, whose mean is the indication (calstation procedure keysight-34401a-dcv)."
    )
    roles = {"standard": Source, "dut": Meter}
    dut_spec = SpecRef("Keysight", "34401A", "1y")
    nplc = 10.0

    def __init__(self, readings: int = 10, settle_s: float = 2.0) -> None:
        self.readings = readings
        self.settle_s = settle_s
        self._configured: tuple[float, float] | None = None  # (range, nplc) the DMM is set to
        self._hazard_confirmed = False

    def points(self) -> Sequence[TestPoint]:
        return [
            TestPoint(Function.DCV, rng, nominal, self.readings, self.settle_s, nplc=self.nplc)
            for rng, nominals in POINTS.items()
            for nominal in nominals
        ]

    def setup(self, ctx: Context) -> None:
        self._configured = None
        self._hazard_confirmed = False
        ctx.prompt(
            "Connect the leads",
            "Connect the calibrator's NORMAL HI and LO outputs to the 34401A's front INPUT HI and "
            "LO (V-ohm) terminals with low-thermal leads. Set the 34401A's front/rear switch to Front.",
        )

    def measure(self, ctx: Context, point: TestPoint) -> Observation:
        if point.range > HAZARD_V and not self._hazard_confirmed:
            ctx.prompt(
                "Hazardous voltage",
                f"The next points apply up to {max(abs(v) for r, vs in POINTS.items() if r > HAZARD_V for v in vs):g} V "
                "to the leads. Keep clear of the terminals until the run ends.",
                hazard=True,
            )
            self._hazard_confirmed = True
        if (point.range, point.nplc) != self._configured:
            ctx.meter("dut").configure(point.function, point.range, point.nplc)
            self._configured = (point.range, point.nplc)
        reference = ctx.apply("standard", point.function, point.nominal, dwell_s=point.settle_s)
        return ctx.read("dut", point.readings, reference)

"""A long DCV sweep for tests that interrupt a run (kill -9, Ctrl-C)."""

from __future__ import annotations

from collections.abc import Sequence

from station.procedure import Context, Function, Observation, TestPoint
from station.templates import MeterAgainstSource


class LongDcvSweep(MeterAgainstSource):
    name = "test-long-dcv-sweep"
    version = "1.0.0"
    title = "Long DC voltage sweep on the 10 V range (test procedure)"
    method = "Test procedure: repeated points on the 10 V range."
    nplc = 1.0

    def __init__(self, readings: int = 5, settle_s: float = 0.0, points: int = 4000) -> None:
        super().__init__(readings, settle_s)
        self.n = points

    def points(self) -> Sequence[TestPoint]:
        return [
            TestPoint(Function.DCV, 10.0, round(-10.0 + 20.0 * i / (self.n - 1), 6), self.readings, self.settle_s,
                      nplc=self.nplc)
            for i in range(self.n)
        ]

    def measure(self, ctx: Context, point: TestPoint) -> Observation:
        ctx.configure("dut", point.function, point.range, point.nplc)
        ref = ctx.apply("standard", point.function, point.nominal, dwell_s=point.settle_s)
        return ctx.read("dut", point.readings, ref)
